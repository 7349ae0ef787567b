// After an interrupt, code the cell started must not keep running in the
// background: every `await` in compiled cell code is wrapped so that, when
// it resumes, it throws InterruptedError if an interrupt arrived meanwhile.
import * as path from "node:path";
import type * as tsfork from "@tslab/typescript-for-tslab";

const tslabDir = path.dirname(require.resolve("tslab/package.json"));
const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] })) as typeof tsfork;

/** The global function the rewritten awaits call. */
export const CHECKPOINT_NAME = "__gplabAfterAwait";

export function addAwaitCheckpoints(javascript: string): string {
  if (!javascript.includes("await")) return javascript;
  const source = ts.createSourceFile("cell.js", javascript, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const insertions: Array<{ at: number; text: string }> = [];
  const visit = (node: tsfork.Node): void => {
    if (ts.isAwaitExpression(node)) {
      insertions.push({ at: node.getStart(source), text: `${CHECKPOINT_NAME}(` }, { at: node.end, text: ")" });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  // Insert from the back so earlier offsets stay valid.
  insertions.sort((a, b) => b.at - a.at);
  let rewritten = javascript;
  for (const { at, text } of insertions) rewritten = rewritten.slice(0, at) + text + rewritten.slice(at);
  return rewritten;
}
