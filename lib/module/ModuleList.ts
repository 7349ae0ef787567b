import { Module } from "./Module";

/** Children named "0", "1", ... (GPyTorch's ModuleList: keys like "kernels.0.rawOutputscale"). */
export class ModuleList<M extends Module> extends Module {
  /** The modules, in order; child i has the path prefix "i.". */
  readonly items: readonly M[];
  constructor(items: M[]) {
    super();
    this.items = [...items];
    this.items.forEach((m, i) => this.registerModule(String(i), m));
  }
}
