// A trainable tensor of raw (unconstrained) f64 values, with its gradient and
// optional constraint. Models read `value()`; optimisers move `raw` using
// `grad`, which is always with respect to raw values.

import type { Constraint } from "../constraints/Interval";
import { ArgumentError, ShapeError } from "../errors";

/** A number or nested arrays of numbers (a tensor as plain arrays). */
export type NestedNumbers = number | NestedNumbers[];

/**
 * A learnable parameter: raw (unconstrained) values that optimisers move, the constraint that maps them
 * to the values models read, and the accumulated gradient (GPyTorch's raw_* parameters with their constraints).
 */
export class Parameter {
  /** Raw values, flattened. shape: [size] */
  readonly raw: Float64Array;
  /** d(objective)/d(raw), accumulated by backward passes. shape: like raw */
  readonly grad: Float64Array;
  /** Number of entries (product of `shape`). */
  readonly size: number;

  /**
   * @param shape GPyTorch's shape, e.g. [1, 3] for an ARD lengthscale, [] for a scalar.
   * @param constraint maps raw to constrained values (null: identity).
   * @param initialValue constrained value(s) to start at (raw = 0 when omitted, like GPyTorch).
   */
  constructor(
    readonly shape: readonly number[],
    readonly constraint: Constraint | null = null,
    initialValue?: number | ArrayLike<number>,
    /** Share these buffers instead of allocating (batch-member views, see member()). */
    storage?: { raw: Float64Array; grad: Float64Array },
  ) {
    this.size = shape.reduce((a, b) => a * b, 1);
    this.raw = storage ? storage.raw : new Float64Array(this.size);
    this.grad = storage ? storage.grad : new Float64Array(this.size);
    if (this.raw.length !== this.size || this.grad.length !== this.size) throw new ShapeError(`parameter storage has ${this.raw.length} values for shape [${shape}]`);
    if (initialValue !== undefined) this.setValue(initialValue);
  }

  /**
   * Batch member q of a parameter of shape [b, ...rest]: a Parameter of shape
   * rest whose raw values and grads are views into this one's, so a batched
   * module's member q reads and trains slice q of the batched tensor.
   */
  member(q: number): Parameter {
    if (this.shape.length === 0 || !Number.isInteger(q) || q < 0 || q >= this.shape[0]) {
      throw new ShapeError(`batch member ${q} does not exist in a parameter of shape [${this.shape}]`);
    }
    const inner = this.size / this.shape[0];
    const at = (a: Float64Array) => a.subarray(q * inner, (q + 1) * inner);
    return new Parameter(this.shape.slice(1), this.constraint, undefined, { raw: at(this.raw), grad: at(this.grad) });
  }

  /** The same constraint and values, repeated over leading batch dimensions. shape: [...batchShape, ...shape] */
  batched(batchShape: readonly number[]): Parameter {
    const out = new Parameter([...batchShape, ...this.shape], this.constraint);
    for (let o = 0; o < out.size; o += this.size) out.raw.set(this.raw, o);
    return out;
  }

  /** Constrained values. shape: [size] */
  value(): Float64Array {
    const c = this.constraint;
    return c ? this.raw.map((r) => c.transform(r)) : this.raw.slice();
  }

  /** The constrained value of entry i. */
  valueAt(i: number): number {
    return this.constraint ? this.constraint.transform(this.raw[i]) : this.raw[i];
  }

  /** Sets constrained values; a single number broadcasts. */
  setValue(v: number | ArrayLike<number>): void {
    const vals = this.broadcast(v, "value");
    for (let i = 0; i < this.size; i++) this.raw[i] = this.constraint ? this.constraint.inverseTransform(vals[i]) : vals[i];
  }

  /** Sets raw values; a single number broadcasts; throws ArgumentError for non-finite values. */
  setRaw(v: number | ArrayLike<number>): void {
    const vals = this.broadcast(v, "raw value");
    for (let i = 0; i < this.size; i++) {
      if (!Number.isFinite(vals[i])) throw new ArgumentError(`raw value ${vals[i]} is not finite`);
      this.raw[i] = vals[i];
    }
  }

  /** grad[i] += g * dvalue/draw: turns a gradient w.r.t. value i into one w.r.t. raw i. */
  addValueGrad(i: number, g: number): void {
    this.grad[i] += this.constraint ? g * this.constraint.derivative(this.raw[i]) : g;
  }

  /** Sets the gradient to zero. */
  zeroGrad(): void {
    this.grad.fill(0);
  }

  /** Raw values nested to GPyTorch's shape (a number for shape []). */
  rawNested(): NestedNumbers {
    return nest(Array.from(this.raw), this.shape);
  }

  private broadcast(v: number | ArrayLike<number>, what: string): ArrayLike<number> {
    if (typeof v === "number") return new Float64Array(this.size).fill(v);
    const flat = flatten(v as NestedNumbers);
    if (flat.length === 1) return new Float64Array(this.size).fill(flat[0]);
    if (flat.length !== this.size) {
      throw new ShapeError(`parameter of shape [${this.shape}] takes ${this.size} values, got ${flat.length} ${what}s`);
    }
    return flat;
  }
}

export function flatten(v: NestedNumbers | ArrayLike<number>): number[] {
  if (typeof v === "number") return [v];
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) out.push(...flatten(v[i] as NestedNumbers));
  return out;
}

function nest(flat: number[], shape: readonly number[]): NestedNumbers {
  if (shape.length === 0) return flat[0];
  if (shape.length === 1) return flat.slice(0, shape[0]);
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(flat.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}
