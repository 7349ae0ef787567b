// Lets lib/display attach rich renderers to objects that lower layers define
// (operators, kernels, models) without those layers importing the display
// code: the arrows point display -> models -> operators, never back.

/** A Jupyter MIME bundle: MIME type -> content; "text/plain" is always present (the fallback every viewer shows). */
export type MimeBundle = Record<string, unknown> & {
  /** The plain-text form. */
  "text/plain": string;
};

type Renderer = (value: unknown) => MimeBundle | Promise<MimeBundle>;

const renderers = new Map<string, Renderer>();

/** Called by lib/display for each kind of object it can draw. */
export function registerRenderer(kind: string, renderer: Renderer): void {
  renderers.set(kind, renderer);
}

/** The bundle for `value` of `kind`, or plain text when no renderer is registered. */
export function renderBundle(kind: string, value: unknown, fallback: () => string): MimeBundle | Promise<MimeBundle> {
  const r = renderers.get(kind);
  return r ? r(value) : { "text/plain": fallback() };
}

/** `Symbol.for("Jupyter.display")`: an object's method under this key returns its MimeBundle (or a Promise of one). */
export const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

/** A live output area that can be redrawn in place (a notebook display handle). */
export interface LiveHandle {
  /** Redraws the output area with `value`. */
  update(value: unknown): void;
}

/** Where live outputs go: the notebook kernel installs one with `setLiveDisplay`. */
export interface LiveDisplay {
  /** Shows `value` (anything with a Jupyter.display method) and returns a handle to redraw it. */
  show(value: unknown): LiveHandle;
}

let live: LiveDisplay | null = null;

/** Installed by a notebook kernel so that long runs (gp.train.fit) can update one chart in place. */
export function setLiveDisplay(display: LiveDisplay | null): void {
  live = display;
}

/** The live display installed by the kernel, or null outside a notebook. */
export function getLiveDisplay(): LiveDisplay | null {
  return live;
}
