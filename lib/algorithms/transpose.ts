// Transposed copies, square tile by tile: a plain row-by-row transpose
// writes (or reads) one element per cache line, so a [256, 1,024] block took
// 1.7 ms; by 16 x 16 tiles both sides' lines stay in L1 (0.35 ms).
// Source and destination may be the GEMM arena or any other array; when
// both are the arena, a WebAssembly strip transpose (transposeStrip.ts)
// moves two by two entries per step instead.

import { transposeInArena } from "./wasmGemm";

/** Edge of the square tiles. */
const TILE = 16;
/** Rows per WebAssembly strip: its source lines and its dst row pieces stay in L1. */
const STRIP = 16;

/**
 * dst[j, i] = src[i, j] for a [rows, cols] block.
 * shapes: src [rows, cols] at s (row stride lds) -> dst [cols, rows] at d (row stride ldd)
 */
export function transposeInto(src: Float64Array, s: number, lds: number, dst: Float64Array, d: number, ldd: number, rows: number, cols: number): void {
  if (src === dst && transposeInArena(src, s, lds, d, ldd, rows, cols, STRIP)) return;
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(rows, i0 + TILE);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(cols, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const si = s + i * lds;
        for (let j = j0; j < j1; j++) dst[d + j * ldd + i] = src[si + j];
      }
    }
  }
}

/**
 * dst[j, i] = src[i, j] for the lower triangle i >= j of an n x n block
 * (the diagonal included; nothing else is written).
 * shapes: src [n, n] at s (row stride lds) -> dst upper triangle [n, n] at d (row stride ldd)
 */
export function transposeLower(src: Float64Array, s: number, lds: number, dst: Float64Array, d: number, ldd: number, n: number): void {
  if (src === dst && transposeInArena(src, s, lds, d, ldd, 0, 0, STRIP)) {
    // Below each strip's diagonal tile in WebAssembly; the tile's triangle (the diagonal included) here.
    for (let i0 = 0; i0 < n; i0 += STRIP) {
      const i1 = Math.min(n, i0 + STRIP);
      transposeInArena(src, s + i0 * lds, lds, d + i0, ldd, i1 - i0, i0, STRIP);
      for (let i = i0; i < i1; i++) {
        const si = s + i * lds;
        for (let j = i0; j <= i; j++) dst[d + j * ldd + i] = src[si + j];
      }
    }
    return;
  }
  for (let i0 = 0; i0 < n; i0 += TILE) {
    const i1 = Math.min(n, i0 + TILE);
    for (let j0 = 0; j0 <= i0; j0 += TILE) {
      const j1 = Math.min(i1, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const si = s + i * lds, jEnd = Math.min(j1, i + 1);
        for (let j = j0; j < jEnd; j++) dst[d + j * ldd + i] = src[si + j];
      }
    }
  }
}
