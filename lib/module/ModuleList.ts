import { Module } from "./Module";

/** Children named "0", "1", ... (GPyTorch's ModuleList: keys like "kernels.0.rawOutputscale"). */
export class ModuleList<M extends Module> extends Module {
  readonly items: readonly M[];
  constructor(items: M[]) {
    super();
    this.items = [...items];
    this.items.forEach((m, i) => this.registerModule(String(i), m));
  }
}
