// Constraints map a raw (unconstrained) parameter to its value, like
// GPyTorch's Interval / GreaterThan / Positive. Optimisers move raw values;
// models read constrained ones. The derivative dvalue/draw turns value
// gradients into raw gradients.

import { ArgumentError } from "../errors";

/** softplus(r) = log(1 + e^r), stable for large |r|. */
export function softplus(r: number): number {
  return r > 0 ? r + Math.log1p(Math.exp(-r)) : Math.log1p(Math.exp(r));
}

/** The inverse of softplus: log(e^v - 1), for v > 0. */
export function inverseSoftplus(v: number): number {
  return v + Math.log(-Math.expm1(-v));
}

export function sigmoid(r: number): number {
  return r >= 0 ? 1 / (1 + Math.exp(-r)) : Math.exp(r) / (1 + Math.exp(r));
}

/**
 * Maps a raw (unconstrained) parameter to its value and back (GPyTorch's Interval family);
 * optimisers move raw values, models read constrained ones.
 */
export abstract class Constraint {
  /** Lower bound of the constrained value (exclusive). */
  abstract readonly lowerBound: number;
  /** Upper bound of the constrained value (exclusive). */
  abstract readonly upperBound: number;
  /** raw -> value */
  abstract transform(raw: number): number;
  /** value -> raw; throws for values outside the bounds. */
  abstract inverseTransform(value: number): number;
  /** dvalue / draw at raw. */
  abstract derivative(raw: number): number;
  /** e.g. "Positive()", "GreaterThan(1.000E-04)". */
  abstract toString(): string;

  /** Throws ArgumentError when `value` is outside (lowerBound, upperBound). */
  protected check(value: number): void {
    if (!(value > this.lowerBound && value < this.upperBound) || Number.isNaN(value)) {
      throw new ArgumentError(`value ${value} violates the constraint ${this.toString()} (it must lie strictly between ${this.lowerBound} and ${this.upperBound})`);
    }
  }
}

/** lower + (upper - lower) * sigmoid(raw) (GPyTorch's Interval). */
export class Interval extends Constraint {
  constructor(readonly lowerBound: number, readonly upperBound: number) {
    super();
    if (!(lowerBound < upperBound)) throw new ArgumentError(`Interval needs lower < upper, got ${lowerBound}, ${upperBound}`);
  }
  transform(raw: number): number {
    return this.lowerBound + (this.upperBound - this.lowerBound) * sigmoid(raw);
  }
  inverseTransform(value: number): number {
    this.check(value);
    const p = (value - this.lowerBound) / (this.upperBound - this.lowerBound);
    return Math.log(p) - Math.log1p(-p);
  }
  derivative(raw: number): number {
    const s = sigmoid(raw);
    return (this.upperBound - this.lowerBound) * s * (1 - s);
  }
  toString(): string {
    return `Interval(${fmt(this.lowerBound)}, ${fmt(this.upperBound)})`;
  }
}

/** lower + softplus(raw) (GPyTorch's GreaterThan). */
export class GreaterThan extends Constraint {
  readonly upperBound = Number.POSITIVE_INFINITY;
  constructor(readonly lowerBound: number) {
    super();
    if (!Number.isFinite(lowerBound)) throw new ArgumentError(`GreaterThan needs a finite lower bound, got ${lowerBound}`);
  }
  transform(raw: number): number {
    return this.lowerBound + softplus(raw);
  }
  inverseTransform(value: number): number {
    this.check(value);
    return inverseSoftplus(value - this.lowerBound);
  }
  derivative(raw: number): number {
    return sigmoid(raw);
  }
  toString(): string {
    return `GreaterThan(${fmt(this.lowerBound)})`;
  }
}

/** softplus(raw) > 0 (GPyTorch's Positive). */
export class Positive extends GreaterThan {
  constructor() {
    super(0);
  }
  override toString(): string {
    return "Positive()";
  }
}

/** upper - softplus(raw) (GPyTorch's LessThan). */
export class LessThan extends Constraint {
  readonly lowerBound = Number.NEGATIVE_INFINITY;
  constructor(readonly upperBound: number) {
    super();
  }
  transform(raw: number): number {
    return this.upperBound - softplus(raw);
  }
  inverseTransform(value: number): number {
    this.check(value);
    return inverseSoftplus(this.upperBound - value);
  }
  derivative(raw: number): number {
    return -sigmoid(raw);
  }
  toString(): string {
    return `LessThan(${fmt(this.upperBound)})`;
  }
}

function fmt(v: number): string {
  return Math.abs(v) < 1e-2 && v !== 0 ? v.toExponential(3).toUpperCase().replace(/E([+-])(\d)$/, "E$10$2") : String(v);
}
