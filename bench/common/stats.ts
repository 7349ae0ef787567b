// Summary statistics shared by the benchmarks (a subfolder, so the bench
// runner does not list it as a benchmark).

/** Median of the values (mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
