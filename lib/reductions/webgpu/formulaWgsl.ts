// WGSL for any formula of the IR (formula.ts): sums of products of factors,
// each factor a statistic (sqdist, dot, sinsq, table) mapped through a
// profile. This file is the WGSL target of the formula compiler, as
// fusedCodegen.ts is the JavaScript one and wasm/ the WebAssembly one: a new
// profile needs its WGSL here once and every reduction kernel gets it.
//
// f32 storage and arithmetic. Buffer layouts are those of formulaPlan.ts.

import { type Formula, type GradientLayout, gradientLayout } from "../formula";
import type { FormulaPlan } from "./formulaPlan";

/** WGSL of one profile: statements, then expressions for k, dk/ds and dk/dparam. */
interface ProfileCode {
  prelude: string;
  value: string;
  dValue: string;
  dParams: string[];
}

const PI = "3.141592653589793";

/**
 * sin and cos accurate to ~1e-7 absolute in f32. Vulkan allows the built-ins
 * an absolute error of 2^-11 (5e-4) even inside [-pi, pi], which would be
 * the periodic and cosine kernels' error. Cody-Waite reduction by pi, then
 * the Taylor series to r^11 on [-pi/2, pi/2] (remainder < 6e-8).
 */
export const TRIG_WGSL = `
fn gsin(x: f32) -> f32 {
  let q = round(x * 0.3183098861837907);
  let r = (x - q * 3.140625) - q * 9.67653589793e-4;
  let r2 = r * r;
  let p = r + r * r2 * (-0.16666666666666666 + r2 * (0.008333333333333333 + r2 * (-1.984126984126984e-4 + r2 * (2.755731922398589e-6 + r2 * -2.505210838544172e-8))));
  return select(p, -p, (i32(q) & 1) == 1);
}
fn gcos(x: f32) -> f32 { return gsin(x + 1.5707963267948966); }
`;

/** An integer power by multiplications: WGSL's pow is undefined for negative bases. */
function intPow(b: string, power: number): string {
  return power === 0 ? "1.0" : Array.from({ length: power }, () => b).join(" * ");
}

/**
 * The profiles the WGSL target implements, by Profile.name; s is the
 * statistic, p the parameter locals, t a prefix for temporaries. A formula
 * with any other profile (a user's own) runs on the CPU executors.
 */
export function profileWgsl(name: string, s: string, p: string[], t: string): ProfileCode | null {
  // s -> dk/ds of a profile, which input gradients evaluate as a formula of its own
  // (kernels/inputGradient.ts names it "<profile>/ds"): the profile's dValue as the value.
  // Its own derivatives are never evaluated: NaN, so any use would show.
  const derivativeOf = /^(.+)\/ds$/.exec(name);
  if (derivativeOf) {
    const base = profileWgsl(derivativeOf[1], s, p, t);
    const nan = "bitcast<f32>(0x7fc00000u)";
    return base && { prelude: base.prelude, value: base.dValue, dValue: nan, dParams: p.map(() => nan) };
  }
  switch (name) {
    case "rbf":
      return { prelude: `let ${t}k = exp(-0.5 * ${s});`, value: `${t}k`, dValue: `(-0.5 * ${t}k)`, dParams: [] };
    case "matern12":
      return {
        prelude: `let ${t}r = sqrt(${s}); let ${t}k = exp(-${t}r);`,
        value: `${t}k`,
        // At r = 0 every ds/dtheta is 0, so 0 is the right product (as in profiles.ts).
        dValue: `select(0.0, -${t}k / (2.0 * ${t}r), ${t}r > 0.0)`,
        dParams: [],
      };
    case "matern32":
      return {
        prelude: `let ${t}a = sqrt(3.0 * ${s}); let ${t}e = exp(-${t}a);`,
        value: `((1.0 + ${t}a) * ${t}e)`,
        dValue: `(-1.5 * ${t}e)`,
        dParams: [],
      };
    case "matern52":
      return {
        prelude: `let ${t}a = sqrt(5.0 * ${s}); let ${t}e = exp(-${t}a);`,
        value: `((1.0 + ${t}a + ${t}a * ${t}a / 3.0) * ${t}e)`,
        dValue: `(-(5.0 / 6.0) * (1.0 + ${t}a) * ${t}e)`,
        dParams: [],
      };
    case "rq":
      return {
        prelude: `let ${t}b = 1.0 + ${s} / (2.0 * ${p[0]}); let ${t}k = pow(${t}b, -${p[0]});`,
        value: `${t}k`,
        dValue: `(-0.5 * ${t}k / ${t}b)`,
        dParams: [`(${t}k * (-log(${t}b) + ${s} / (2.0 * ${p[0]} * ${t}b)))`],
      };
    case "periodic":
      return { prelude: `let ${t}k = exp(-2.0 * ${s});`, value: `${t}k`, dValue: `(-2.0 * ${t}k)`, dParams: [] };
    case "cosine":
      return {
        prelude: `let ${t}r = sqrt(max(${s}, 0.0));`,
        value: `gcos(${PI} * ${t}r)`,
        dValue: `select(-${PI} * ${PI} / 2.0, -${PI} * gsin(${PI} * ${t}r) / (2.0 * ${t}r), ${t}r > 0.0)`,
        dParams: [],
      };
    case "identity":
      return { prelude: "", value: s, dValue: "1.0", dParams: [] };
    default: {
      const poly = /^poly(\d+)$/.exec(name);
      if (!poly) return null;
      const power = Number(poly[1]);
      const d = power === 1 ? "1.0" : `(${power}.0 * ${intPow(`${t}b`, power - 1)})`;
      return { prelude: `let ${t}b = ${s} + ${p[0]};`, value: `(${intPow(`${t}b`, power)})`, dValue: d, dParams: [d] };
    }
  }
}

/** Whether every factor's profile has WGSL. */
export function formulaHasWgsl(formula: Formula): boolean {
  return formula.factors.every((f) => profileWgsl(f.profile.name, "s", Array.from({ length: f.profile.numParams }, () => "p"), "t") !== null);
}

/** How the pair code reads column features: component k of factor fi's y. */
type ColumnRead = (fi: number, k: number) => string;

/** Statements declaring params (from PR) and the hoisted row features x{fi}_{k} of row `row`. */
function rowPrelude(plan: FormulaPlan, row: string): string[] {
  const out: string[] = [];
  for (const name of plan.paramNames) out.push(`let ${name.local} = PR[${name.index}u];`);
  plan.factors.forEach((f, fi) => {
    for (let k = 0; k < f.width; k++) out.push(`let x${fi}_${k} = X[${row} * ${plan.xWidth}u + ${f.xOffset + k}u];`);
  });
  return out;
}

/** Statements computing s{fi}, k{fi}, t{ti} and kij for one pair (locals of rowPrelude in scope). */
function pairStatements(formula: Formula, plan: FormulaPlan, y: ColumnRead): string[] {
  const out: string[] = [];
  formula.factors.forEach((f, fi) => {
    const fp = plan.factors[fi];
    if (f.statistic === "table") {
      out.push(`let s${fi} = PR[${fp.tableOffset}u + u32(x${fi}_0) * ${f.tableSize}u + u32(${y(fi, 0)})];`);
    } else if (f.statistic === "dot") {
      out.push(`var s${fi} = 0.0;`);
      for (let k = 0; k < f.dims; k++) out.push(`s${fi} = fma(x${fi}_${k}, ${y(fi, k)}, s${fi});`);
    } else {
      out.push(`var s${fi} = 0.0;`);
      for (let k = 0; k < f.dims; k++) {
        out.push(`let d${fi}_${k} = x${fi}_${k} - ${y(fi, k)};`);
        if (f.statistic === "sqdist") out.push(`s${fi} = fma(d${fi}_${k}, d${fi}_${k}, s${fi});`);
        else out.push(`let sn${fi}_${k} = gsin(d${fi}_${k}); s${fi} = fma(w${fi}_${k} * sn${fi}_${k}, sn${fi}_${k}, s${fi});`);
      }
    }
    const code = profileWgsl(f.profile.name, `s${fi}`, fp.paramLocals, `q${fi}_`)!;
    if (code.prelude) out.push(code.prelude);
    out.push(`let k${fi} = ${code.value};`);
  });
  formula.terms.forEach((t, ti) => out.push(`let t${ti} = ${t.factors.map((fi) => `k${fi}`).join(" * ") || "1.0"};`));
  out.push(`let kij = ${formula.terms.map((_, ti) => `c${ti} * t${ti}`).join(" + ") || "0.0"};`);
  return out;
}

/**
 * Statements adding weight * d(kij)/d(theta) into the slot partials g_<slot>
 * (gradientLayout order). The table slot's index is dynamic, so the slots
 * live in a function-scope array `gp`.
 */
function gradientStatements(formula: Formula, plan: FormulaPlan, layout: GradientLayout, weight: string, y: ColumnRead): string[] {
  const out: string[] = [];
  formula.terms.forEach((_, ti) => out.push(`gp[${layout.termOffset[ti]}] += ${weight} * t${ti};`));
  formula.factors.forEach((f, fi) => {
    const slots = layout.factorSlots[fi];
    const fp = plan.factors[fi];
    const others = formula.terms
      .map((t, ti) => (t.factors.includes(fi) ? `c${ti} * ${t.factors.filter((g) => g !== fi).map((g) => `k${g}`).join(" * ") || "1.0"}` : null))
      .filter((s): s is string => s !== null);
    if (others.length === 0) return;
    out.push(`{ let g = ${weight} * (${others.join(" + ")});`);
    const code = profileWgsl(f.profile.name, `s${fi}`, fp.paramLocals, `q${fi}_`)!;
    if (slots.perDim >= 0) {
      out.push(`let gd = g * ${code.dValue};`);
      for (let k = 0; k < f.dims; k++) {
        if (f.statistic === "sqdist") out.push(`gp[${slots.perDim + k}] += gd * d${fi}_${k} * d${fi}_${k};`);
        else {
          out.push(`gp[${slots.perDim + k}] += gd * w${fi}_${k} * gsin(2.0 * d${fi}_${k}) * d${fi}_${k};`);
          out.push(`gp[${slots.perDimWeight + k}] += gd * sn${fi}_${k} * sn${fi}_${k};`);
        }
      }
    }
    code.dParams.forEach((expr, q) => out.push(`gp[${slots.params + q}] += g * ${expr};`));
    if (slots.table >= 0) out.push(`gp[${slots.table}u + u32(x${fi}_0) * ${f.tableSize}u + u32(${y(fi, 0)})] += g;`);
    out.push("}");
  });
  return out;
}

/** The uniform block every kernel reads; u32 words in this order. */
export const FORMULA_PARAM_WORDS = ["n", "m", "rowsPad", "aux"] as const;
const PARAMS_STRUCT = `struct Params { ${FORMULA_PARAM_WORDS.map((w) => `${w}: u32`).join(", ")} }`;

/** Invocations per workgroup of the streaming kernels (one output row each). */
export const STREAM_WORKGROUP = 256;
/** Invocations per workgroup of the element kernels (rows, entries). */
export const ELEMENT_WORKGROUP = 64;

export type StreamMode = "matmul" | "bilinearLowRank" | "bilinearDense";

/**
 * A streaming kernel: invocation i owns row i; workgroup (g, s) walks the
 * columns RANGES[2s] .. RANGES[2s + 1] a tile at a time through workgroup
 * memory (y features, then V or W), summing each tile separately before it
 * joins the row's total, and writes OUT[s, i, slot] (the host adds the
 * column ranges' partials in f64).
 *  - matmul: slot t = sum_j k_ij V[j, t] (column-block sums: V = 1, one range per block).
 *  - bilinearLowRank: slots of gradientLayout, weight (U_i . W_j).
 *  - bilinearDense: the same with weight M[i, j].
 * Bindings: 0 X [n, xWidth], 1 Y [m, yWidth], 2 V [m, T] (W, or unused),
 * 3 OUT, 4 Params, 5 PR params, 6 RANGES [2 splits] u32, 7 U [n, T] or M [n, m].
 */
export function streamKernelWgsl(formula: Formula, plan: FormulaPlan, mode: StreamMode): string {
  const T = mode === "matmul" || mode === "bilinearLowRank" ? plan.rhs : 0;
  const CW = plan.yWidth + T;
  const tile = plan.tile;
  const W = STREAM_WORKGROUP;
  const layout = gradientLayout(formula);
  const bilinear = mode === "bilinearLowRank" || mode === "bilinearDense";
  const slots = bilinear ? layout.size : mode === "matmul" ? T : 1;
  const yRead: ColumnRead = (fi, k) => `tile[cb + ${plan.factors[fi].yOffset + k}u]`;
  const pair = pairStatements(formula, plan, yRead);
  const body: string[] = [...pair];
  if (mode === "matmul") for (let t = 0; t < T; t++) body.push(`p${t} = fma(kij, tile[cb + ${plan.yWidth + t}u], p${t});`);
  else {
    const weight = mode === "bilinearLowRank"
      ? Array.from({ length: T }, (_, t) => `u${t} * tile[cb + ${plan.yWidth + t}u]`).join(" + ")
      : `RW[xi * P.m + j0 + jj]`;
    body.push(`let wij = ${weight};`);
    body.push(...gradientStatements(formula, plan, layout, "wij", yRead));
  }
  const accDecl = bilinear
    ? [`var acc: array<f32, ${slots}>;`]
    : Array.from({ length: slots }, (_, t) => `var a${t} = 0.0;`);
  const partDecl = bilinear
    ? [`var gp: array<f32, ${slots}>;`]
    : Array.from({ length: slots }, (_, t) => `var p${t} = 0.0;`);
  const partAdd = bilinear
    ? [`for (var q = 0u; q < ${slots}u; q++) { acc[q] += gp[q]; }`]
    : Array.from({ length: slots }, (_, t) => `a${t} += p${t};`);
  const store = bilinear
    ? [`for (var q = 0u; q < ${slots}u; q++) { OUT[o + q] = acc[q]; }`]
    : Array.from({ length: slots }, (_, t) => `OUT[o + ${t}u] = a${t};`);
  const uRows = mode === "bilinearLowRank" ? Array.from({ length: T }, (_, t) => `let u${t} = RW[xi * ${T}u + ${t}u];`) : [];
  const usesV = T > 0;
  const usesRW = bilinear;
  return `// gplab: ${mode} of ${formula.name} (${plan.key}), tile ${tile}, ${slots} slot(s).
${PARAMS_STRUCT}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
${usesV ? "@group(0) @binding(2) var<storage, read> V: array<f32>;" : ""}
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;
@group(0) @binding(5) var<storage, read> PR: array<f32>;
@group(0) @binding(6) var<storage, read> RANGES: array<u32>;
${usesRW ? "@group(0) @binding(7) var<storage, read> RW: array<f32>;" : ""}
var<workgroup> tile: array<f32, ${tile * CW}>;
${TRIG_WGSL}
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let i = wg.x * ${W}u + lid;
  // Rows past n compute on row n - 1 (in bounds) and store nothing.
  let xi = min(i, P.n - 1u);
  ${rowPrelude(plan, "xi").join("\n  ")}
  ${uRows.join("\n  ")}
  ${accDecl.join("\n  ")}
  let col0 = RANGES[2u * wg.y];
  let col1 = RANGES[2u * wg.y + 1u];
  for (var j0 = col0; j0 < col1; j0 += ${tile}u) {
    let count = min(${tile}u, col1 - j0);
    // Everyone is done with the previous tile before it is overwritten.
    workgroupBarrier();
    for (var e = lid; e < count * ${CW}u; e += ${W}u) {
      let jj = e / ${CW}u;
      let q = e - jj * ${CW}u;
      ${usesV ? `if (q < ${plan.yWidth}u) { tile[e] = Y[(j0 + jj) * ${plan.yWidth}u + q]; } else { tile[e] = V[(j0 + jj) * ${T}u + q - ${plan.yWidth}u]; }` : `tile[e] = Y[(j0 + jj) * ${plan.yWidth}u + q];`}
    }
    workgroupBarrier();
    ${partDecl.join("\n    ")}
    for (var jj = 0u; jj < count; jj++) {
      let cb = jj * ${CW}u;
      ${body.join("\n      ")}
    }
    ${partAdd.join("\n    ")}
  }
  if (i < P.n) {
    let o = (wg.y * P.rowsPad + i) * ${slots}u;
    ${store.join("\n    ")}
  }
}
`;
}

/**
 * Element kernels: one invocation per output.
 *  - rows: OUT[a, j] = k(X_a, Y_j) with X the gathered rows; workgroups (x: column groups, y: rows).
 *  - entries: OUT[p] = k(X_p, Y_p) with both gathered; P.aux = workgroups per dispatch row.
 * Bindings: 0 X, 1 Y, 3 OUT, 4 Params, 5 PR.
 */
export function elementKernelWgsl(formula: Formula, plan: FormulaPlan, mode: "rows" | "entries"): string {
  const yRow = mode === "rows" ? "j" : "p";
  const yRead: ColumnRead = (fi, k) => `Y[${yRow} * ${plan.yWidth}u + ${plan.factors[fi].yOffset + k}u]`;
  const index = mode === "rows"
    ? [`let j = wg.x * ${ELEMENT_WORKGROUP}u + lid;`, "let a = wg.y;", "if (j >= P.m) { return; }", "let row = a;", "let out = a * P.m + j;"]
    : [`let p = (wg.y * P.aux + wg.x) * ${ELEMENT_WORKGROUP}u + lid;`, "if (p >= P.n) { return; }", "let row = p;", "let out = p;"];
  return `// gplab: ${mode} of ${formula.name} (${plan.key}).
${PARAMS_STRUCT}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;
@group(0) @binding(5) var<storage, read> PR: array<f32>;
${TRIG_WGSL}
@compute @workgroup_size(${ELEMENT_WORKGROUP})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  ${index.join("\n  ")}
  ${rowPrelude(plan, "row").join("\n  ")}
  ${pairStatements(formula, plan, yRead).join("\n  ")}
  OUT[out] = kij;
}
`;
}
