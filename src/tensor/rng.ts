/**
 * Seeded pseudo-random numbers: xoshiro128** seeded through splitmix32.
 *
 * Everything random in bptt (initialisation, dropout, shuffling, sampling) draws from an `Rng`
 * built from the user's seed, so the same seed gives bit-identical results on the same backend.
 * Only 32-bit integer arithmetic (`Math.imul`, shifts) feeds the state, so the sequence is the
 * same on every JavaScript engine.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng: seed must be an integer, got ${seed}`);
    // splitmix32 over the low and high 32 bits of the seed fills the four state words.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000) >>> 0, 0x9e3779b9);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fills `out` with uniform values in [low, high). */
  fillUniform(out: Float32Array, low: number, high: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(low, high);
    return out;
  }

  /** Fills `out` with normal values of the given mean and standard deviation. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** An independent generator derived from this one (e.g. one per layer), advancing this one once. */
  fork(): Rng {
    return new Rng(this.nextUint32() * 0x100000 + (this.nextUint32() >>> 12));
  }

  /** The full generator state, for checkpoints: resuming from it continues the same sequence. */
  getState(into: number[] = []): number[] {
    into.length = 0;
    into.push(this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.spareNormal ?? Number.NaN);
    return into;
  }

  setState(state: readonly number[]): void {
    if (state.length !== 5 || state.slice(0, 4).some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new RangeError("Rng.setState: expected four unsigned 32-bit words and a spare normal");
    }
    [this.s0, this.s1, this.s2, this.s3] = state.slice(0, 4).map((w) => w | 0) as [number, number, number, number];
    this.spareNormal = Number.isNaN(state[4]!) ? null : state[4]!;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
