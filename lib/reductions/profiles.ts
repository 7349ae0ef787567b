// Profiles: k as a function of one pairwise statistic s, with dk/ds and
// dk/dparam, as JS source (fused executor) and as tfjs ops (tiles).
// Stationary profiles take s = squared distance of lengthscale-scaled inputs.

import type { Profile, ProfileVars } from "./formula";

const SQRT3 = Math.sqrt(3);
const SQRT5 = Math.sqrt(5);

/** exp(-s / 2): RBF / squared exponential. */
export const rbfProfile: Profile = {
  name: "rbf",
  numParams: 0,
  prelude: (v) => `const ${v.tmp}k = Math.exp(-0.5 * ${v.s});`,
  value: (v) => `${v.tmp}k`,
  dValue: (v) => `(-0.5 * ${v.tmp}k)`,
  dParams: () => [],
  tf: (tf, s) => tf.exp(tf.mul(s, -0.5)),
};

/** Matern nu = 1/2: exp(-r), r = sqrt(s). */
export const matern12Profile: Profile = {
  name: "matern12",
  numParams: 0,
  prelude: (v) => `const ${v.tmp}r = Math.sqrt(${v.s}); const ${v.tmp}k = Math.exp(-${v.tmp}r);`,
  value: (v) => `${v.tmp}k`,
  // dk/ds = -exp(-r) / (2r); at r = 0 every ds/dtheta is 0, so 0 is the right product.
  dValue: (v) => `(${v.tmp}r > 0 ? -${v.tmp}k / (2 * ${v.tmp}r) : 0)`,
  dParams: () => [],
  tf: (tf, s) => tf.exp(tf.neg(tf.sqrt(tf.maximum(s, 1e-30)))),
};

/** Matern nu = 3/2: (1 + a) exp(-a), a = sqrt(3 s). */
export const matern32Profile: Profile = {
  name: "matern32",
  numParams: 0,
  prelude: (v) => `const ${v.tmp}a = Math.sqrt(3 * ${v.s}); const ${v.tmp}e = Math.exp(-${v.tmp}a);`,
  value: (v) => `((1 + ${v.tmp}a) * ${v.tmp}e)`,
  dValue: (v) => `(-1.5 * ${v.tmp}e)`,
  dParams: () => [],
  tf: (tf, s) => {
    const a = tf.mul(tf.sqrt(tf.maximum(s, 1e-30)), SQRT3);
    return tf.mul(tf.add(a, 1), tf.exp(tf.neg(a)));
  },
};

/** Matern nu = 5/2: (1 + a + a^2/3) exp(-a), a = sqrt(5 s). */
export const matern52Profile: Profile = {
  name: "matern52",
  numParams: 0,
  prelude: (v) => `const ${v.tmp}a = Math.sqrt(5 * ${v.s}); const ${v.tmp}e = Math.exp(-${v.tmp}a);`,
  value: (v) => `((1 + ${v.tmp}a + ${v.tmp}a * ${v.tmp}a / 3) * ${v.tmp}e)`,
  dValue: (v) => `(-(5 / 6) * (1 + ${v.tmp}a) * ${v.tmp}e)`,
  dParams: () => [],
  tf: (tf, s) => {
    const a = tf.mul(tf.sqrt(tf.maximum(s, 1e-30)), SQRT5);
    return tf.mul(tf.add(tf.add(a, 1), tf.div(tf.square(a), 3)), tf.exp(tf.neg(a)));
  },
};

/** Rational quadratic: (1 + s / (2 alpha))^(-alpha); param 0 is alpha. */
export const rationalQuadraticProfile: Profile = {
  name: "rq",
  numParams: 1,
  prelude: (v) =>
    `const ${v.tmp}b = 1 + ${v.s} / (2 * ${v.p[0]}); const ${v.tmp}k = Math.pow(${v.tmp}b, -${v.p[0]});`,
  value: (v) => `${v.tmp}k`,
  dValue: (v) => `(-0.5 * ${v.tmp}k / ${v.tmp}b)`,
  dParams: (v) => [`(${v.tmp}k * (-Math.log(${v.tmp}b) + ${v.s} / (2 * ${v.p[0]} * ${v.tmp}b)))`],
  tf: (tf, s, [alpha]) => tf.pow(tf.add(tf.div(s, tf.mul(alpha, 2)), 1), tf.neg(alpha)),
};

/** exp(-2 s), s = sum_k sin^2(pi dx_k / p_k) / l_k (GPyTorch's periodic kernel). */
export const periodicProfile: Profile = {
  name: "periodic",
  numParams: 0,
  prelude: (v) => `const ${v.tmp}k = Math.exp(-2 * ${v.s});`,
  value: (v) => `${v.tmp}k`,
  dValue: (v) => `(-2 * ${v.tmp}k)`,
  dParams: () => [],
  tf: (tf, s) => tf.exp(tf.mul(s, -2)),
};

/** cos(pi r), r = sqrt(s) of inputs divided by the period (GPyTorch's cosine kernel). */
export const cosineProfile: Profile = {
  name: "cosine",
  numParams: 0,
  prelude: (v) => `const ${v.tmp}r = Math.sqrt(${v.s});`,
  value: (v) => `Math.cos(Math.PI * ${v.tmp}r)`,
  // d cos(pi sqrt s)/ds = -pi sin(pi r) / (2 r) -> -pi^2 / 2 as r -> 0.
  dValue: (v) => `(${v.tmp}r > 0 ? -Math.PI * Math.sin(Math.PI * ${v.tmp}r) / (2 * ${v.tmp}r) : -Math.PI * Math.PI / 2)`,
  dParams: () => [],
  tf: (tf, s) => tf.cos(tf.mul(tf.sqrt(tf.maximum(s, 0)), Math.PI)),
};

/** k = s: the statistic itself (a dot product for the linear kernel, a table entry). */
export const identityProfile: Profile = {
  name: "identity",
  numParams: 0,
  prelude: () => "",
  value: (v) => v.s,
  dValue: () => "1",
  dParams: () => [],
  tf: (_tf, s) => s,
};

/** (s + offset)^power with s a dot product; param 0 is the offset. */
export function polynomialProfile(power: number): Profile {
  if (!Number.isInteger(power) || power < 1) throw new RangeError(`polynomial power must be a positive integer, got ${power}`);
  return {
    name: `poly${power}`,
    numParams: 1,
    prelude: (v: ProfileVars) => `const ${v.tmp}b = ${v.s} + ${v.p[0]};`,
    value: (v: ProfileVars) => `Math.pow(${v.tmp}b, ${power})`,
    dValue: (v: ProfileVars) => (power === 1 ? "1" : `(${power} * Math.pow(${v.tmp}b, ${power - 1}))`),
    dParams: (v: ProfileVars) => [power === 1 ? "1" : `(${power} * Math.pow(${v.tmp}b, ${power - 1}))`],
    tf: (tf, s, [offset]) => tf.pow(tf.add(s, offset), power),
  };
}

/**
 * One dimension of GPyTorch's spectral mixture kernel:
 * k(s) = sum_q w_q exp(-a_q s) cos(b_q r), r = sqrt(s), s = (x_d - x'_d)^2
 * of raw (unscaled) one-column features. Params, in this order: the Q weights
 * w_q, the Q decays a_q = 2 pi^2 scale_qd^2, the Q angular frequencies
 * b_q = 2 pi mean_qd. The kernel multiplies one such factor per dimension.
 */
export function spectralMixtureProfile(numMixtures: number): Profile {
  const Q = numMixtures;
  if (!Number.isInteger(Q) || Q < 1) throw new RangeError(`spectral mixture needs a positive integer number of mixtures, got ${Q}`);
  const w = (v: ProfileVars, q: number) => v.p[q];
  const a = (v: ProfileVars, q: number) => v.p[Q + q];
  const b = (v: ProfileVars, q: number) => v.p[2 * Q + q];
  const qs = Array.from({ length: Q }, (_, q) => q);
  return {
    name: `spectralMixture${Q}`,
    numParams: 3 * Q,
    prelude: (v) =>
      [`const ${v.tmp}r = Math.sqrt(${v.s});`, ...qs.map((q) => `const ${v.tmp}e${q} = Math.exp(-${a(v, q)} * ${v.s}), ${v.tmp}c${q} = Math.cos(${b(v, q)} * ${v.tmp}r);`)].join(" "),
    value: (v) => `(${qs.map((q) => `${w(v, q)} * ${v.tmp}e${q} * ${v.tmp}c${q}`).join(" + ")})`,
    // d/ds cos(b r) = -b sin(b r) / (2 r) -> -b^2 / 2 as r -> 0.
    dValue: (v) =>
      `(${qs
        .map((q) => `${w(v, q)} * ${v.tmp}e${q} * (-${a(v, q)} * ${v.tmp}c${q} - (${v.tmp}r > 0 ? ${b(v, q)} * Math.sin(${b(v, q)} * ${v.tmp}r) / (2 * ${v.tmp}r) : ${b(v, q)} * ${b(v, q)} / 2))`)
        .join(" + ")})`,
    dParams: (v) => [
      ...qs.map((q) => `(${v.tmp}e${q} * ${v.tmp}c${q})`),
      ...qs.map((q) => `(-${w(v, q)} * ${v.s} * ${v.tmp}e${q} * ${v.tmp}c${q})`),
      ...qs.map((q) => `(-${w(v, q)} * ${v.tmp}r * ${v.tmp}e${q} * Math.sin(${b(v, q)} * ${v.tmp}r))`),
    ],
    tf: (tf, s, params) => {
      // r from a floored s keeps d cos(b r)/ds finite at s = 0 for tf.grads.
      const r = tf.sqrt(tf.maximum(s, 1e-30));
      let k: ReturnType<typeof tf.mul> | null = null;
      for (let q = 0; q < Q; q++) {
        const term = tf.mul(params[q], tf.mul(tf.exp(tf.neg(tf.mul(s, params[Q + q]))), tf.cos(tf.mul(r, params[2 * Q + q]))));
        k = k ? tf.add(k, term) : term;
      }
      return k as ReturnType<typeof tf.mul>;
    },
  };
}
