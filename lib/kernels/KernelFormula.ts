// A kernel's formula plus the map from its derivative accumulators back to
// the kernel's parameters. Kernels build one of these; sums, products and
// scales combine them (products of sums distribute into sum-of-products
// terms), and the result becomes the reduction engine's Formula. One
// definition therefore serves both executors and the gradients.

import type { Factor, Formula, GradientLayout } from "../reductions/formula";
import type { Parameter } from "../module/Parameter";

/** The accumulator slots of one factor (see reductions.gradientLayout). */
export type FactorSlots = GradientLayout["factorSlots"][number];

/** Adds d(objective)/d(parameters) of one factor, given its accumulator slots. */
export type FactorBackward = (acc: Float64Array, slots: FactorSlots) => void;

/** One scalar parameter entry that multiplies a term (an outputscale, a variance). */
export interface ScaleRef {
  /** The parameter holding the scale. */
  readonly param: Parameter;
  /** Which entry of it (0 unless batched or ARD). */
  readonly index: number;
}

/** One factor of a kernel formula with the function that turns its derivative accumulators into parameter gradients. */
export interface FormulaFactor {
  /** What the reduction engine evaluates (statistic, profile, scaled inputs). */
  readonly factor: Factor;
  /** Adds d(objective)/d(parameters) from this factor's accumulators. */
  readonly backward: FactorBackward;
}

/** coef = constant * prod(scales); factors index into KernelFormula.factors. */
export interface FormulaTerm {
  /** Constant coefficient of the term. */
  readonly constant: number;
  /** Scalar parameters multiplying the term (coefficient = constant x their product). */
  readonly scales: readonly ScaleRef[];
  /** Indices into `KernelFormula.factors` whose product is the term. */
  readonly factors: readonly number[];
}

/**
 * A kernel written as Σ_terms coef · Π_factors k_f(x_i, y_j): what `Kernel.formulaFor` returns and the
 * reduction engine evaluates without forming the matrix. Build a custom kernel's formula with `KernelFormula.of`
 * (one factor) and combine with `add`, `mul` and `scale`; see notebook 06.
 */
export class KernelFormula {
  constructor(
    /** Rows (points of x1). */
    readonly n: number,
    /** Columns (points of x2). */
    readonly m: number,
    /** The distinct factors. */
    readonly factors: readonly FormulaFactor[],
    /** The terms, each a product of factors times a coefficient. */
    readonly terms: readonly FormulaTerm[],
  ) {}

  /** A single-factor kernel k = k_f. */
  static of(n: number, m: number, factor: Factor, backward: FactorBackward): KernelFormula {
    return new KernelFormula(n, m, [{ factor, backward }], [{ constant: 1, scales: [], factors: [0] }]);
  }

  /** k1 + k2: the terms of both. */
  sum(other: KernelFormula): KernelFormula {
    const shift = this.factors.length;
    return new KernelFormula(this.n, this.m, [...this.factors, ...other.factors], [
      ...this.terms,
      ...other.terms.map((t) => ({ ...t, factors: t.factors.map((f) => f + shift) })),
    ]);
  }

  /** k1 * k2: every term of k1 times every term of k2. */
  product(other: KernelFormula): KernelFormula {
    const shift = this.factors.length;
    const terms: FormulaTerm[] = [];
    for (const a of this.terms) {
      for (const b of other.terms) {
        terms.push({ constant: a.constant * b.constant, scales: [...a.scales, ...b.scales], factors: [...a.factors, ...b.factors.map((f) => f + shift)] });
      }
    }
    return new KernelFormula(this.n, this.m, [...this.factors, ...other.factors], terms);
  }

  /** c * k for a scalar parameter c. */
  scaled(ref: ScaleRef): KernelFormula {
    return new KernelFormula(this.n, this.m, this.factors, this.terms.map((t) => ({ ...t, scales: [...t.scales, ref] })));
  }

  /** The engine's formula, coefficients evaluated at the current parameter values. */
  toFormula(name: string): Formula {
    return {
      name,
      n: this.n,
      m: this.m,
      factors: this.factors.map((f) => f.factor),
      terms: this.terms.map((t) => ({ coef: t.scales.reduce((c, s) => c * s.param.valueAt(s.index), t.constant), factors: [...t.factors] })),
    };
  }

  /** Pushes derivative accumulators (laid out by `layout`) into the parameters' grads. */
  backward(acc: Float64Array, layout: GradientLayout): void {
    this.terms.forEach((t, ti) => {
      const g = acc[layout.termOffset[ti]];
      t.scales.forEach((s, k) => {
        // d coef / d s = constant * product of the other scales.
        let others = t.constant;
        t.scales.forEach((o, k2) => {
          if (k2 !== k) others *= o.param.valueAt(o.index);
        });
        s.param.addValueGrad(s.index, g * others);
      });
    });
    this.factors.forEach((f, fi) => f.backward(acc, layout.factorSlots[fi]));
  }
}
