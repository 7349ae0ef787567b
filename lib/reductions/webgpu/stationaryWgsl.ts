// WGSL source of the fused stationary K @ V and diagonal kernels. One module
// per (profile, D, T); sizes arrive in a uniform so one pipeline serves every
// n and m. f32 throughout, the exponential too (exp2 on pre-scaled features,
// see featureScale). Buffer layouts are those of stationaryPlan.ts.

import { type StationaryPlan, type WebgpuProfile, WORKGROUP_SIZE } from "./stationaryPlan";

/** Invocations per workgroup of the diagonal kernel. */
export const DIAGONAL_WORKGROUP = 64;
/** The uniform block both kernels read; u32 words in this order. */
export const PARAM_WORDS = ["tiles", "tilesPerSplit", "rowsPad", "n"] as const;

const LANE = ["x", "y", "z", "w"];

/** Component k of features held in vec4 locals `${base}0`, `${base}1`, ... */
function comp(base: string, k: number): string {
  return `${base}${Math.floor(k / 4)}.${LANE[k % 4]}`;
}

/** Statements turning the pre-scaled squared distance `s` into `k` (see featureScale). */
export function profileWgsl(profile: WebgpuProfile, s: string, k: string): string {
  const LOG2E = "1.4426950408889634";
  switch (profile) {
    case "rbf": return `let ${k} = exp2(-${s});`;
    case "matern12": return `let ${k} = exp2(-${LOG2E} * sqrt(${s}));`;
    case "matern32": return `let ${k}a = sqrt(${s}); let ${k} = (1.0 + ${k}a) * exp2(-${LOG2E} * ${k}a);`;
    // a^2 / 3 = s / 3 with a = sqrt(5 r^2) folded into the features.
    case "matern52": return `let ${k}a = sqrt(${s}); let ${k} = (1.0 + ${k}a + ${s} * 0.3333333333333333) * exp2(-${LOG2E} * ${k}a);`;
  }
}

/** Squared distance `s` of x (vec4 locals `${x}0`, `${x}1`, ...) and column c (locals c0, c1, ...). */
function sqdistWgsl(dims: number, x: string, s: string): string {
  const lines: string[] = [];
  for (let k = 0; k < dims; k++) {
    lines.push(`let ${s}d${k} = ${comp(x, k)} - ${comp("c", k)};`);
    lines.push(k === 0 ? `var ${s} = ${s}d0 * ${s}d0;` : `${s} = fma(${s}d${k}, ${s}d${k}, ${s});`);
  }
  return lines.join(" ");
}

const PARAMS_STRUCT = `struct Params { ${PARAM_WORDS.map((w) => `${w}: u32`).join(", ")} }`;

/**
 * K @ V. Bindings: 0 X [rowsPad, xVec4] vec4, 1 YV [tiles * tile, colVec4]
 * vec4, 2 OUT [splits, rowsPad, T] f32, 3 Params. Workgroup (g, s) owns rows
 * g * groupRows .. + groupRows - 1 (invocation l: rows l, l + 256, ...) and
 * tiles s * tilesPerSplit .. of the columns. Each tile's contribution is
 * summed separately before it joins the row total, so f32 rounding grows with
 * tile + tiles, not with m. Every index is in bounds by construction (the
 * plan sizes X, YV and OUT), which is why Dawn's bounds clamps may be off.
 */
export function stationaryMatmulWgsl(
  plan: Pick<StationaryPlan, "profile" | "dims" | "rhs" | "xVec4" | "colVec4" | "tile" | "rowsPerInvocation" | "unroll">,
): string {
  const { profile, dims: D, rhs: T, xVec4, colVec4: Q, tile, rowsPerInvocation: R, unroll: U } = plan;
  const W = WORKGROUP_SIZE;
  const rows = Array.from({ length: R }, (_, r) => r);
  const rhs = Array.from({ length: T }, (_, t) => t);
  const body: string[] = [];
  for (let u = 0; u < U; u++) {
    body.push(`      { ${Array.from({ length: Q }, (_, q) => `let c${q} = tile[(j + ${u}u) * ${Q}u + ${q}u];`).join(" ")}`);
    for (const r of rows) {
      body.push(`        ${sqdistWgsl(D, `x${r}_`, `s${r}`)}`);
      body.push(`        ${profileWgsl(profile, `s${r}`, `k${r}`)}`);
      body.push(`        ${rhs.map((t) => `p${r}_${t} = fma(k${r}, ${comp("c", D + t)}, p${r}_${t});`).join(" ")}`);
    }
    body.push("      }");
  }
  const perRow = (f: (r: number) => string) => rows.map(f).join("\n");
  const perAcc = (f: (r: number, t: number) => string) => rows.flatMap((r) => rhs.map((t) => f(r, t))).join("\n");
  return `// gplab: fused stationary K @ V, profile ${profile}, D = ${D}, T = ${T}, tile ${tile}, ${R} row(s) per invocation, unroll ${U}.
${PARAMS_STRUCT}
@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> YV: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;
var<workgroup> tile: array<vec4<f32>, ${tile * Q}>;

@compute @workgroup_size(${W})
fn matmul(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let row0 = wg.x * ${W * R}u + lid;
${perRow((r) => Array.from({ length: xVec4 }, (_, q) => `  let x${r}_${q} = X[(row0 + ${r * W}u) * ${xVec4}u + ${q}u];`).join("\n"))}
${perAcc((r, t) => `  var a${r}_${t} = 0.0;`)}
  let t0 = wg.y * P.tilesPerSplit;
  let t1 = min(P.tiles, t0 + P.tilesPerSplit);
  for (var t = t0; t < t1; t++) {
    // Everyone is done with the previous tile before it is overwritten.
    workgroupBarrier();
    for (var e = lid; e < ${tile * Q}u; e += ${W}u) { tile[e] = YV[t * ${tile * Q}u + e]; }
    workgroupBarrier();
${perAcc((r, t) => `    var p${r}_${t} = 0.0;`)}
    for (var j = 0u; j < ${tile}u; j += ${U}u) {
${body.join("\n")}
    }
${perAcc((r, t) => `    a${r}_${t} += p${r}_${t};`)}
  }
${perRow((r) => `  let o${r} = (wg.y * P.rowsPad + row0 + ${r * W}u) * ${T}u;`)}
${perAcc((r, t) => `  OUT[o${r} + ${t}u] = a${r}_${t};`)}
}
`;
}

/**
 * Diagonal k(x_i, y_i) for n = m (coefficient applied on the host).
 * Bindings: 0 X, 1 YV (as for K @ V), 2 OUT [rowsPad] f32, 3 Params.
 */
export function stationaryDiagonalWgsl(plan: Pick<StationaryPlan, "profile" | "dims" | "xVec4" | "colVec4">): string {
  const { profile, dims: D, xVec4, colVec4: Q } = plan;
  return `// gplab: stationary kernel diagonal, profile ${profile}, D = ${D}.
${PARAMS_STRUCT}
@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> YV: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

@compute @workgroup_size(${DIAGONAL_WORKGROUP})
fn diagonal(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= P.n) { return; }
${Array.from({ length: xVec4 }, (_, q) => `  let x${q} = X[row * ${xVec4}u + ${q}u];`).join("\n")}
${Array.from({ length: Q }, (_, q) => `  let c${q} = YV[row * ${Q}u + ${q}u];`).join("\n")}
  ${sqdistWgsl(D, "x", "s")}
  ${profileWgsl(profile, "s", "k")}
  OUT[row] = k;
}
`;
}
