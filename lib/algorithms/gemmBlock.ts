// One rectangular piece of C += alpha A B, as the calling thread runs it:
// the WebAssembly kernel on the columns in whole 4-column strips, k in
// chunks of KC terms, and plain JS on the fringe columns. The main thread
// and the GEMM worker threads (gemmWorker.ts) both run pieces through this,
// each with its own packing strip. Offsets and strides are in f64 elements
// of `mem`, the arena view that starts `base` bytes into the memory.

/** The WebAssembly kernel's entry: sizes in elements, addresses and strides in bytes (see wasmGemm.ts). */
export type GemmRun = (n: number, m: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, pack: number, keep: number) => void;

/** Rows of B per kernel call: a packed [KC, 4] strip (8 KiB) and 4 rows of A (8 KiB) stay in L1. */
export const KC = 256;
/** Bytes of one thread's packing strip. */
export const PACK_BYTES = KC * 4 * 8;

/**
 * C[0:n, 0:m] += alpha A B (or := with `overwrite`, the same bits as zeroing
 * C first) with the kernel `run` on whole strips and JS on the last m mod 4
 * columns (k <= 0: nothing, or zeros with `overwrite`).
 * shapes: A [n, k] at a, B [k, m] at b, C [n, m] at c
 */
export function gemmBlock(
  run: GemmRun, mem: Float64Array, base: number, pack: number,
  n: number, m: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, overwrite = false,
): void {
  if (n <= 0 || m <= 0) return;
  if (k <= 0) {
    if (overwrite) for (let i = 0; i < n; i++) mem.fill(0, c + i * ldc, c + i * ldc + m);
    return;
  }
  const at = (off: number) => base + off * 8;
  const m4 = m & ~3;
  if (m4 > 0) {
    // Only the first chunk of k overwrites; the others add to it.
    for (let p0 = 0; p0 < k; p0 += KC) {
      run(n, m4, Math.min(KC, k - p0), at(a + p0), lda * 8, at(b + p0 * ldb), ldb * 8, at(c), ldc * 8, alpha, pack, overwrite && p0 === 0 ? 0 : 1);
    }
  }
  if (m4 < m) gemmJs(mem, n, m, k, a, lda, b, ldb, c, ldc, alpha, m4, overwrite);
}

/** Columns [j0, m) of C += alpha A B (:= with `overwrite`) in plain JS, the same summation order as the WebAssembly kernel. */
export function gemmJs(
  mem: Float64Array, n: number, m: number, k: number,
  a: number, lda: number, b: number, ldb: number, c: number, ldc: number, alpha: number, j0: number, overwrite = false,
): void {
  for (let i = 0; i < n; i++) {
    const ai = a + i * lda, ci = c + i * ldc;
    for (let j = j0; j < m; j++) {
      let s = 0;
      for (let p = 0, bp = b + j; p < k; p++, bp += ldb) s += mem[ai + p] * mem[bp];
      // (0 + x, not x: the bits zeroing C first would give, -0 included.)
      mem[ci + j] = (overwrite ? 0 : mem[ci + j]) + alpha * s;
    }
  }
}
