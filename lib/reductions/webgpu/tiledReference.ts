// The WGSL K @ V kernel's algorithm, step for step, in JavaScript with f32
// rounding (Math.fround): same packed buffers, same tiles and column splits,
// same per-tile partial sums. Tests compare it with the f64 fused executor on
// machines without a GPU, so the layout and the f32 accumulation scheme are
// checked even where the shader itself cannot run.

import type { PackedStationary, StationaryPlan } from "./stationaryPlan";

const f = Math.fround;

/** k of the pre-scaled squared distance s, as profileWgsl computes it. */
export function profileF32(profile: StationaryPlan["profile"], s: number): number {
  switch (profile) {
    case "rbf": return f(2 ** -s);
    case "matern12": return f(2 ** f(-Math.LOG2E * f(Math.sqrt(s))));
    case "matern32": {
      const a = f(Math.sqrt(s));
      return f(f(1 + a) * f(2 ** f(-Math.LOG2E * a)));
    }
    case "matern52": {
      const a = f(Math.sqrt(s));
      return f(f(f(1 + a) + f(s / 3)) * f(2 ** f(-Math.LOG2E * a)));
    }
  }
}

/** The shader's OUT buffer for these inputs. shape: [splits, rowsPad, T] */
export function emulateMatmul(plan: StationaryPlan, packed: PackedStationary): Float32Array {
  const { dims: D, rhs: T, tile } = plan;
  const xs = plan.xVec4 * 4, cs = plan.colVec4 * 4;
  const out = new Float32Array(plan.splits * plan.rowsPad * T);
  const acc = new Float32Array(T), part = new Float32Array(T);
  for (let split = 0; split < plan.splits; split++) {
    const t0 = split * plan.tilesPerSplit, t1 = Math.min(plan.tiles, t0 + plan.tilesPerSplit);
    // Padded rows are computed like real ones by the shader; their values are never read.
    for (let row = 0; row < plan.n; row++) {
      acc.fill(0);
      for (let t = t0; t < t1; t++) {
        part.fill(0);
        for (let j = t * tile; j < (t + 1) * tile; j++) {
          let s = 0;
          for (let k = 0; k < D; k++) {
            const d = f(packed.X[row * xs + k] - packed.YV[j * cs + k]);
            s = f(d * d + s);
          }
          const kv = profileF32(plan.profile, s);
          for (let r = 0; r < T; r++) part[r] = f(kv * packed.YV[j * cs + D + r] + part[r]);
        }
        for (let r = 0; r < T; r++) acc[r] = f(acc[r] + part[r]);
      }
      out.set(acc, (split * plan.rowsPad + row) * T);
    }
  }
  return out;
}

