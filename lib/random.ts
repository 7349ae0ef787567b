// Seeded pseudo-random numbers so that every probe vector and initialisation
// repeats with the same seed (gp.setSeed). xoshiro128** generator, Box-Muller
// for normals.

/** A seeded pseudo-random generator (xoshiro128**, Box–Muller normals): the same seed gives the same draws. */
export class RandomSource {
  private s = new Uint32Array(4);
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.reseed(seed);
  }

  /** Restarts the sequence from `seed`. */
  reseed(seed: number): void {
    // splitmix32 expands one 32-bit seed into the 128-bit state.
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (t ^ (t >>> 16)) >>> 0;
    }
    this.spareNormal = null;
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result / 4294967296;
  }

  /** One standard normal draw. */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A fresh array of standard normals. */
  normals(count: number): Float64Array {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.normal();
    return out;
  }

  /** +1 / -1 with equal probability. */
  rademacher(count: number): Float64Array {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.uniform() < 0.5 ? -1 : 1;
    return out;
  }

  /** Fisher-Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The library-wide generator; gp.setSeed reseeds it. */
export const globalRandom = new RandomSource(0x5eed);

/** Make every later random draw (probes, initialisations, shuffles) repeatable. */
export function setSeed(seed: number): void {
  globalRandom.reseed(seed);
}
