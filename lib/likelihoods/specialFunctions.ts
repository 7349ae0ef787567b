// Scalar special functions in f64 for the non-Gaussian likelihoods: the
// normal CDF, GPyTorch's approximate log normal CDF (with the exact
// derivative of that approximation), log Gamma and digamma.

const SQRT2 = Math.SQRT2;
const SQRT_PI = Math.sqrt(Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const LOG2 = Math.LN2;

/**
 * erf(x) for |x| <= 6 by the all-positive series
 * erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1 3 5 ... (2n+1)),
 * which has no cancellation (relative error ~1e-16); +-1 beyond.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  let term = a, sum = a;
  const x2 = a * a;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.sign(x) * (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/** erfc(x): 1 - erf(x) below 2, a continued fraction (modified Lentz) above, so the tail keeps its relative accuracy. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 2) return 1 - erf(x);
  // erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))).
  const tiny = 1e-300;
  let f = x, C = x, D = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    D = x + a * D;
    D = Math.abs(D) < tiny ? tiny : D;
    C = x + a / C;
    C = Math.abs(C) < tiny ? tiny : C;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (SQRT_PI * f);
}

/** Standard normal CDF Phi(z), accurate in both tails. */
export function normalCdf(z: number): number {
  return z < 0 ? 0.5 * erfc(-z / SQRT2) : 0.5 * (1 + erf(z / SQRT2));
}

/** Standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / SQRT_2PI;
}

// GPyTorch's log_normal_cdf coefficients (gpytorch.functions.log_normal_cdf).
const NEAR_ZERO_C = [
  0.00048204, -0.00142906, 0.0013200243174, 0.0009461589032, -0.0045563339802, 0.00556964649138, 0.00125993961762116,
  -0.01621575378835404, 0.02629651521057465, -0.001829764677455021, 2 * (1 - Math.PI / 3), (4 - Math.PI) / 3, 1, 1,
];
const TAIL_R = [1.2753666447299659525, 5.019049726784267463450, 6.1602098531096305441, 7.409740605964741794425, 2.9788656263939928886];
const TAIL_Q = [2.260528520767326969592, 9.3960340162350541504, 12.048951927855129036034, 17.081440747466004316, 9.608965327192787870698, 3.3690752069827527677];

/**
 * GPyTorch's approximate log Phi(z) and the exact derivative of that
 * approximation (so values and gradients agree under finite differences):
 *   z^2 < 0.04: a series in z;  z < -1: a rational tail approximation
 *   (abs error up to 1.9e-3 just below -1);  otherwise log Phi(z) from erf,
 * the three branches GPyTorch uses, so expected log likelihoods match it.
 * (GPyTorch's own backward uses the approximate ratio phi/Phi instead; the
 * two differ by the approximation error.)
 */
export function gpytorchLogNormalCdf(z: number): { value: number; derivative: number } {
  if (z * z < 0.04) {
    // f <- lpf (c_i + f) over the coefficients, value = -2 f - log 2.
    const lpf = -z / SQRT_2PI, dlpf = -1 / SQRT_2PI;
    let f = 0, df = 0;
    for (const c of NEAR_ZERO_C) {
      const nf = lpf * (c + f);
      df = dlpf * (c + f) + lpf * df;
      f = nf;
    }
    return { value: -2 * f - LOG2, derivative: -2 * df };
  }
  if (z < -1) {
    const s = -z / SQRT2, ds = -1 / SQRT2;
    let num = 0.5641895835477550741, dnum = 0;
    for (const r of TAIL_R) {
      const nn = s * num + r;
      dnum = ds * num + s * dnum;
      num = nn;
    }
    let den = 1, dden = 0;
    for (const q of TAIL_Q) {
      const nd = s * den + q;
      dden = ds * den + s * dden;
      den = nd;
    }
    const e = num / den;
    return { value: Math.log(e / 2) - (z * z) / 2, derivative: dnum / num - dden / den - z };
  }
  // torch: log(0.5 (1 + erf(z / sqrt 2))) for the ordinary range z >= -1.
  const phi = 0.5 * (1 + erf(z / SQRT2));
  return { value: Math.log(phi), derivative: normalPdf(z) / phi };
}

// Lanczos approximation (g = 7, 9 terms), relative error ~1e-15.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Gamma(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const xm = x - 1;
  let a = LANCZOS[0];
  const t = xm + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (xm + i);
  return 0.5 * Math.log(2 * Math.PI) + (xm + 0.5) * Math.log(t) - t + Math.log(a);
}

/** digamma psi(x) = d log Gamma / dx for x > 0: recurrence up to 10, then the asymptotic series. */
export function digamma(x: number): number {
  let shift = 0;
  while (x < 10) {
    shift -= 1 / x;
    x += 1;
  }
  const inv2 = 1 / (x * x);
  const series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - inv2 * (691 / 32760))))));
  return shift + Math.log(x) - 0.5 / x - series;
}
