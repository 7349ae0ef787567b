// The diagonal of an operator as something a chart can hold: every point when
// the diagonal is short, else a min / mean / max envelope over equal index
// buckets, so a single outlier among a million entries still shows.

export interface DiagonalStats {
  length: number;
  /** Over the finite entries. */
  min: number;
  mean: number;
  max: number;
  /** Entries that are NaN or infinite (left out of min / mean / max). */
  nonFinite: number;
}

export interface DiagonalPoint {
  i: number;
  value: number;
}

/** Entries start <= i < end. */
export interface DiagonalBucket {
  start: number;
  end: number;
  min: number;
  mean: number;
  max: number;
}

export type DiagonalSeries =
  | { mode: "exact"; points: DiagonalPoint[] }
  | { mode: "envelope"; bucketSize: number; buckets: DiagonalBucket[] };

/** min / mean / max of a diagonal. shape: diag [n] */
export function diagonalStats(diag: Float64Array): DiagonalStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let finite = 0;
  for (let i = 0; i < diag.length; i++) {
    const v = diag[i];
    if (!Number.isFinite(v)) continue;
    finite++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return finite === 0
    ? { length: diag.length, min: Number.NaN, mean: Number.NaN, max: Number.NaN, nonFinite: diag.length }
    : { length: diag.length, min, mean: sum / finite, max, nonFinite: diag.length - finite };
}

/**
 * Every entry when diag.length <= maxPoints, else ceil(n / bucketSize) <= maxPoints
 * buckets of bucketSize consecutive entries. shape: diag [n]
 */
export function diagonalSeries(diag: Float64Array, maxPoints = 1000): DiagonalSeries {
  const n = diag.length;
  if (n <= maxPoints) return { mode: "exact", points: Array.from(diag, (value, i) => ({ i, value })) };
  const bucketSize = Math.ceil(n / maxPoints);
  const buckets: DiagonalBucket[] = [];
  for (let start = 0; start < n; start += bucketSize) {
    const end = Math.min(n, start + bucketSize);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let count = 0;
    for (let i = start; i < end; i++) {
      const v = diag[i];
      if (!Number.isFinite(v)) continue;
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    // An all-NaN bucket is a gap in the chart, not a zero.
    buckets.push(count ? { start, end, min, mean: sum / count, max } : { start, end, min: Number.NaN, mean: Number.NaN, max: Number.NaN });
  }
  return { mode: "envelope", bucketSize, buckets };
}
