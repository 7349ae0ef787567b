// The few WebAssembly instructions the dense strip kernels (transposeStrip.ts,
// rankOneMirrorStrip.ts) need beyond what the formula compiler's Code names:
// raw opcodes, and the lane shuffle that turns two rows' f64x2 pieces into
// two columns' pieces (the 2 x 2 transpose both kernels are built on).

import { Code } from "../reductions/wasm/binary";

/** Opcodes binary.ts's Code does not name. */
export const OP = { i32And: 0x71, i32Eqz: 0x45, i32LtU: 0x49, f64Sub: 0xa1, i8x16Shuffle: 0x0d } as const;

/** Code with raw opcodes and the f64x2 lane-pair shuffle. */
export class LaneCode extends Code {
  /** Appends raw instruction bytes. */
  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  /** i8x16.shuffle of the two v128 on the stack: lane 0 of each (`high` false) or lane 1 of each. */
  pairLanes(high: boolean): this {
    const a = high ? 8 : 0, b = high ? 24 : 16;
    const lanes = [...Array.from({ length: 8 }, (_, k) => a + k), ...Array.from({ length: 8 }, (_, k) => b + k)];
    return this.simd(OP.i8x16Shuffle, ...lanes);
  }
}
