import type { Mat } from "../algorithms/matrix";
import { ArgumentError } from "../errors";
import { ModuleList } from "../module/ModuleList";
import { combinedInputDims } from "./AdditiveKernel";
import { Kernel, kernelAlgebra } from "./Kernel";
import type { KernelFormula } from "./KernelFormula";

/** k1 * k2 * ... elementwise; products of sums distribute into sum-of-products terms. */
export class ProductKernel extends Kernel {
  /** The factors. */
  readonly kernels: readonly Kernel[];

  constructor(...kernels: Kernel[]) {
    super();
    if (kernels.length < 1) throw new ArgumentError("ProductKernel needs at least one kernel");
    this.kernels = this.registerModule("kernels", new ModuleList(kernels)).items;
  }

  override get name(): string {
    return `ProductKernel(${this.kernels.map((k) => k.name).join(", ")})`;
  }

  override inputDims(): number | null {
    return combinedInputDims(this.kernels);
  }

  protected formulaFor(x1: Mat, x2: Mat): KernelFormula {
    return this.kernels.map((k) => k.buildFormula(x1, x2)).reduce((a, b) => a.product(b));
  }
}

kernelAlgebra.Product = ProductKernel;
