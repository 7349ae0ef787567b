// Which row tile a thread of a fused reduction takes next.
//
// Reductions that add into per-thread accumulators (symmetric K @ V, the
// gradient passes) deal tiles round-robin: thread t of P takes t, t + P,
// t + 2P, ..., so each accumulator sums the same tiles in the same order on
// every run, and the result is reproducible bit for bit for a given thread
// count. (Taking tiles first come, first served changed the last bits of
// every such result from run to run.) Reductions that write whole rows keep
// the shared counter: it balances load on a busy machine and cannot change
// their result.

/** Tile order of one thread: `stride` 0 takes from the shared counter control[0]. */
export class TileSchedule {
  private taken = 0;

  constructor(
    private readonly control: Int32Array,
    private readonly threadIndex: number,
    private readonly stride: number,
  ) {}

  /** The next tile index (may be past the last tile: then the thread is done). */
  next(): number {
    if (this.stride === 0) return Atomics.add(this.control, 0, 1);
    return this.threadIndex + this.stride * this.taken++;
  }
}
