// The six priors of issue 14 with torch's log densities (GPyTorch 1.12 on
// torch 1.13). Gamma and Normal skip validation (GPyTorch builds them with
// validate_args=False); LogNormal, Uniform and HalfCauchy validate and raise.

import { ArgumentError } from "../errors";
import { ElementwisePrior, Prior, type PriorInput, flatValues, fmt, logGamma, requireFinite, requirePositive } from "./Prior";

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Gamma(concentration a, rate b): (a - 1) log x + a log b - b x - lgamma(a),
 * mean a / b. No validation, as in GPyTorch: x < 0 gives NaN, x = 0 gives
 * -Infinity for a > 1.
 */
export class GammaPrior extends ElementwisePrior {
  constructor(
    /** The shape a (> 0). */ readonly concentration: number,
    /** The rate b (> 0); the mean is a / b. */ readonly rate: number,
  ) {
    super();
    requirePositive("GammaPrior", "concentration", concentration);
    requirePositive("GammaPrior", "rate", rate);
  }
  toString(): string {
    return `GammaPrior(concentration=${fmt(this.concentration)}, rate=${fmt(this.rate)})`;
  }
  logDensity(x: number): number {
    const a = this.concentration, b = this.rate;
    // torch.xlogy: 0 when the factor is 0, whatever x is.
    const xlogy = a === 1 ? 0 : (a - 1) * Math.log(x);
    return xlogy + a * Math.log(b) - b * x - logGamma(a);
  }
  dLogDensity(x: number): number {
    return (this.concentration - 1) / x - this.rate;
  }
}

/** Normal(loc, scale) on the whole real line. */
export class NormalPrior extends ElementwisePrior {
  constructor(
    /** The mean. */ readonly loc: number,
    /** The standard deviation (> 0). */ readonly scale: number,
  ) {
    super();
    requireFinite("NormalPrior", "loc", loc);
    requirePositive("NormalPrior", "scale", scale);
  }
  toString(): string {
    return `NormalPrior(loc=${fmt(this.loc)}, scale=${fmt(this.scale)})`;
  }
  logDensity(x: number): number {
    const z = x - this.loc;
    return -(z * z) / (2 * this.scale * this.scale) - Math.log(this.scale) - LOG_SQRT_2PI;
  }
  dLogDensity(x: number): number {
    return -(x - this.loc) / (this.scale * this.scale);
  }
}

/** LogNormal(loc, scale): log x ~ Normal(loc, scale). x <= 0 is a PriorSupportError (GPyTorch raises). */
export class LogNormalPrior extends ElementwisePrior {
  constructor(
    /** The mean of log x. */ readonly loc: number,
    /** The standard deviation of log x (> 0). */ readonly scale: number,
  ) {
    super();
    requireFinite("LogNormalPrior", "loc", loc);
    requirePositive("LogNormalPrior", "scale", scale);
  }
  toString(): string {
    return `LogNormalPrior(loc=${fmt(this.loc)}, scale=${fmt(this.scale)})`;
  }
  logDensity(x: number): number {
    if (!(x > 0)) this.outside(x, "x > 0");
    const lx = Math.log(x);
    const z = lx - this.loc;
    return -(z * z) / (2 * this.scale * this.scale) - Math.log(this.scale) - LOG_SQRT_2PI - lx;
  }
  dLogDensity(x: number): number {
    return -1 / x - (Math.log(x) - this.loc) / (this.scale * this.scale * x);
  }
}

/**
 * Uniform(a, b): -log(b - a) on [a, b). torch's support check accepts the
 * closed interval, and its density gives -Infinity at x = b; outside [a, b]
 * is a PriorSupportError (GPyTorch raises).
 */
export class UniformPrior extends ElementwisePrior {
  constructor(
    /** The lower end of the support. */ readonly a: number,
    /** The upper end of the support (log p = -Infinity there, as in torch). */ readonly b: number,
  ) {
    super();
    requireFinite("UniformPrior", "a", a);
    requireFinite("UniformPrior", "b", b);
    if (!(a < b)) throw new ArgumentError(`UniformPrior: needs a < b, got a = ${a}, b = ${b}`);
  }
  toString(): string {
    return `UniformPrior(a=${fmt(this.a)}, b=${fmt(this.b)})`;
  }
  logDensity(x: number): number {
    if (!(x >= this.a && x <= this.b)) this.outside(x, `${fmt(this.a)} <= x <= ${fmt(this.b)}`);
    return x < this.b ? -Math.log(this.b - this.a) : -Infinity;
  }
  dLogDensity(): number {
    return 0;
  }
}

/** HalfCauchy(scale): log(2 / (pi scale)) - log1p((x / scale)^2) for x >= 0; x < 0 is a PriorSupportError. */
export class HalfCauchyPrior extends ElementwisePrior {
  constructor(
    /** The scale (> 0). */
    readonly scale: number,
  ) {
    super();
    requirePositive("HalfCauchyPrior", "scale", scale);
  }
  toString(): string {
    return `HalfCauchyPrior(scale=${fmt(this.scale)})`;
  }
  logDensity(x: number): number {
    if (!(x >= 0)) this.outside(x, "x >= 0");
    const z = x / this.scale;
    return Math.log(2 / (Math.PI * this.scale)) - Math.log1p(z * z);
  }
  dLogDensity(x: number): number {
    return (-2 * x) / (this.scale * this.scale + x * x);
  }
}

/**
 * GPyTorch's smoothed box on [a, b] with Gaussian tails of width sigma
 * (default 0.01): with d = the distance from x to [a, b],
 * log p = -d^2 / (2 sigma^2) - log(sigma sqrt(2 pi) + b - a). Defined on all
 * reals. Like GPyTorch, logProb of several points returns their SUM.
 */
export class SmoothedBoxPrior extends Prior {
  constructor(
    /** The lower end of the box. */ readonly a: number,
    /** The upper end of the box. */ readonly b: number,
    /** The width of the Gaussian tails (default 0.01). */ readonly sigma = 0.01,
  ) {
    super();
    requireFinite("SmoothedBoxPrior", "a", a);
    requireFinite("SmoothedBoxPrior", "b", b);
    requirePositive("SmoothedBoxPrior", "sigma", sigma);
    if (!(a < b)) throw new ArgumentError(`SmoothedBoxPrior: needs a < b, got a = ${a}, b = ${b}`);
  }
  toString(): string {
    return `SmoothedBoxPrior(a=${fmt(this.a)}, b=${fmt(this.b)}, sigma=${fmt(this.sigma)})`;
  }
  logProb(x: PriorInput): number {
    return flatValues(x).reduce((s, v) => s + this.logDensity(v), 0);
  }
  private distance(x: number): number {
    return Math.max(Math.abs(x - (this.a + this.b) / 2) - (this.b - this.a) / 2, 0);
  }
  logDensity(x: number): number {
    const d = this.distance(x);
    const s = this.sigma;
    // GPyTorch: NormalLogPdf(d; 0, sigma) - log(1 + (b - a) / (sqrt(2 pi) sigma)).
    return -(d * d) / (2 * s * s) - Math.log(s) - LOG_SQRT_2PI - Math.log1p((this.b - this.a) / (Math.sqrt(2 * Math.PI) * s));
  }
  dLogDensity(x: number): number {
    const d = this.distance(x);
    return d === 0 ? 0 : (-d / (this.sigma * this.sigma)) * Math.sign(x - (this.a + this.b) / 2);
  }
}
