/**
 * Inverted dropout, as PyTorch's `nn.Dropout` (used by the recurrent layer between stacked layers).
 *
 *   training:  mask[i] = 0 with probability p, else 1/(1 − p);   out = x ⊙ mask
 *   backward:  dx = dOut ⊙ mask
 *   eval (training false) or p = 0:  out = x, dx = dOut, and no mask is drawn.
 *   p = 1 drops everything (out = 0), as PyTorch does.
 *
 * Scaling the kept values by 1/(1 − p) at training time keeps E[out] = x, so evaluation needs no
 * rescaling. x, out, mask, dOut and dx all have the same length n (any shape, flattened).
 * The mask is drawn from the layer's own seeded `Rng`: the same seed gives the same masks.
 */
import { kernels } from "../kernels/index.js";
import type { Rng } from "../tensor/rng.js";

export interface DropoutOptions {
  /** Draws the masks. Give dropout its own generator (e.g. `rng.fork()`) to keep sequences independent. */
  rng: Rng;
}

export interface DropoutForwardOptions {
  /** Probability of zeroing each element, in [0, 1]. */
  p: number;
  /** Drop only when training; evaluation passes x through unchanged. */
  training: boolean;
}

/** What forward saves for backward, with buffers reused by later calls on the same cache. */
export class DropoutCache {
  /** n: the length of the last forward's input. */
  length = 0;
  /** (n) x ⊙ mask from the last forward. */
  out: Float32Array = new Float32Array(0);
  /** (n) 0 where dropped, 1/(1 − p) where kept; null when dropout was inactive (eval mode or p = 0). */
  mask: Float32Array | null = null;
  /** (n) dL/dx from the last backward. */
  dx: Float32Array = new Float32Array(0);
  private outStorage: Float32Array = new Float32Array(0);
  private maskStorage: Float32Array = new Float32Array(0);
  private dxStorage: Float32Array = new Float32Array(0);

  reserveOut(length: number): Float32Array {
    if (this.outStorage.length < length) this.outStorage = kernels().allocate(length);
    this.out = view(this.outStorage, length);
    return this.out;
  }

  reserveMask(length: number): Float32Array {
    if (this.maskStorage.length < length) this.maskStorage = kernels().allocate(length);
    this.mask = view(this.maskStorage, length);
    return this.mask;
  }

  reserveDx(length: number): Float32Array {
    if (this.dxStorage.length < length) this.dxStorage = kernels().allocate(length);
    this.dx = view(this.dxStorage, length);
    return this.dx;
  }
}

export class Dropout {
  private readonly rng: Rng;

  constructor(options: DropoutOptions) {
    this.rng = options.rng;
  }

  createCache(): DropoutCache {
    return new DropoutCache();
  }

  /** out: (n) = x ⊙ mask (training) or x (eval). Returns the cache, whose `out` and `mask` hold the result. */
  forward(x: Float32Array, options: DropoutForwardOptions, cache: DropoutCache = this.createCache()): DropoutCache {
    const { p, training } = options;
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new RangeError(`p must be a probability in [0, 1], got ${p}`);
    if (typeof training !== "boolean") throw new RangeError(`training must be a boolean, got ${String(training)}`);
    const n = x.length;
    const out = cache.reserveOut(n);
    cache.length = n;
    if (!training || p === 0) {
      out.set(x);
      cache.mask = null;
      return cache;
    }
    const mask = cache.reserveMask(n);
    // p = 1 keeps nothing (1/(1 − p) would be infinite). The scale is rounded to float32 as the mask
    // stores it, so that forward and backward multiply by exactly the same value.
    const scale = p === 1 ? 0 : Math.fround(1 / (1 - p));
    for (let i = 0; i < n; i++) {
      const m = this.rng.next() < p ? 0 : scale;
      mask[i] = m;
      out[i] = x[i]! * m;
    }
    return cache;
  }

  /** dx: (n) = dOut ⊙ mask (or dOut when the forward was inactive), owned by the cache. */
  backward(cache: DropoutCache, dOut: Float32Array): Float32Array {
    const n = cache.length;
    if (dOut.length !== n) throw new RangeError(`dOut must have ${n} values (the forward input's length), got ${dOut.length}`);
    const dx = cache.reserveDx(n);
    const mask = cache.mask;
    if (mask === null) {
      dx.set(dOut);
    } else {
      for (let i = 0; i < n; i++) dx[i] = dOut[i]! * mask[i]!;
    }
    return dx;
  }
}

function view(storage: Float32Array, length: number): Float32Array {
  return storage.length === length ? storage : storage.subarray(0, length);
}
