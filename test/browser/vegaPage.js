// Browser test page: renders MIME bundles with JupyterLab's own rendermime
// registry and its Vega 5 / Vega-Lite extension, exactly as a JupyterLab 4
// output area would. Bundled by esbuild in test/display-browser.test.ts.
import { RenderMimeRegistry, standardRendererFactories } from "@jupyterlab/rendermime";
import { rendererFactory as vegaRendererFactory } from "@jupyterlab/vega5-extension";
import { Widget } from "@lumino/widgets";

// JupyterLab registers the Vega extension at its declared rank, 57 (lower wins; text/html is 50).
const registry = new RenderMimeRegistry({ initialFactories: standardRendererFactories });
registry.addFactory(vegaRendererFactory, 57);

/** The MIME type JupyterLab's output area would render for this bundle. */
window.preferredMimeType = (bundle) => registry.preferredMimeType(bundle, "any");

/** Leaf scenegraph items (points, rects, path segments) under a vega scenegraph node. */
function countItems(node) {
  if (!node || !node.items) return 0;
  let n = 0;
  for (const item of node.items) {
    if (item.items) n += countItems(item);
    else if (node.marktype && node.marktype !== "group") n += 1;
  }
  return n;
}

/** Mark counts by type, e.g. { rect: 4096, area: 1, line: 1 } (area and line count as one item per series). */
function countByType(node, out = {}) {
  if (!node || !node.items) return out;
  if (node.marktype && node.marktype !== "group" && node.role === "mark") out[node.marktype] = (out[node.marktype] || 0) + node.items.length;
  for (const item of node.items) if (item.items) countByType(item, out);
  return out;
}

/**
 * Renders `bundle` into a new output cell titled `title` and reports what the
 * renderer drew: the MIME type it chose, mark counts, the canvas size and
 * whether the canvas has non-white pixels.
 */
window.renderBundle = async (bundle, title) => {
  const host = document.createElement("section");
  host.innerHTML = `<h3>${title}</h3>`;
  document.body.appendChild(host);
  const mimeType = registry.preferredMimeType(bundle, "any");
  const renderer = registry.createRenderer(mimeType);
  const model = registry.createModel({ data: bundle, trusted: true });
  await renderer.renderModel(model);
  Widget.attach(renderer, host);
  const view = renderer._result && renderer._result.view;
  const marks = view ? countByType(view.scenegraph().root) : {};
  const items = view ? countItems(view.scenegraph().root) : 0;
  const canvas = renderer.node.querySelector("canvas");
  let inked = 0;
  if (canvas) {
    const ctx = canvas.getContext("2d");
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    for (let p = 0; p < data.length; p += 4) if (data[p] < 240 || data[p + 1] < 240 || data[p + 2] < 240) inked++;
  }
  return {
    mimeType,
    marks,
    items,
    canvas: canvas ? { width: canvas.width, height: canvas.height, inkedPixels: inked } : null,
    pngAdded: typeof model.data["image/png"] === "string",
  };
};
window.pageReady = true;
