import type { Mat } from "../algorithms/matrix";
import { ArgumentError } from "../errors";
import { ModuleList } from "../module/ModuleList";
import { Kernel, kernelAlgebra } from "./Kernel";
import type { KernelFormula } from "./KernelFormula";

/** k1 + k2 + ...: the terms of every kernel's formula, side by side. */
export class AdditiveKernel extends Kernel {
  /** The summands. */
  readonly kernels: readonly Kernel[];

  constructor(...kernels: Kernel[]) {
    super();
    if (kernels.length < 1) throw new ArgumentError("AdditiveKernel needs at least one kernel");
    this.kernels = this.registerModule("kernels", new ModuleList(kernels)).items;
  }

  override get name(): string {
    return `AdditiveKernel(${this.kernels.map((k) => k.name).join(", ")})`;
  }

  override inputDims(): number | null {
    return combinedInputDims(this.kernels);
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    return this.kernels.map((k) => k.buildFormula(x1, x2)).reduce((a, b) => a.sum(b));
  }
}

export function combinedInputDims(kernels: readonly Kernel[]): number | null {
  const dims = kernels.map((k) => k.inputDims()).filter((d): d is number => d !== null);
  return dims.length ? Math.max(...dims) : null;
}

kernelAlgebra.Additive = AdditiveKernel;
