/**
 * Turning logits into tokens: softmax, argmax, and a seeded sampler with temperature and top-k.
 * Isomorphic; `bptt generate` and the char-rnn experiment draw their text with it.
 */
import { PAD_ID } from "../data/vocabulary.js";
import type { Rng } from "../tensor/rng.js";

/** Softmax of n logits from `offset`, in float64 (sums to 1 up to rounding). */
export function softmax(logits: Float32Array, offset: number, n: number, out: Float64Array = new Float64Array(n)): Float64Array {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, logits[offset + j]!);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(logits[offset + j]! - max);
    out[j] = e;
    sum += e;
  }
  for (let j = 0; j < n; j++) out[j]! /= sum;
  return out;
}

/** The index of the largest of n values from `offset` (the first one on ties). */
export function argmaxOf(values: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}

export interface SamplerOptions {
  /** Logits are divided by it (> 0): below 1 sharper, above 1 flatter. */
  temperature: number;
  /** Keep the k largest logits (0: all). */
  topK: number;
  rng: Rng;
  /** Ids never drawn (e.g. <pad>, which a language model never sees as a target). */
  excluded?: readonly number[];
}

/**
 * Draws an id from softmax(logits / temperature) restricted to the top k, one uniform number per
 * draw from the seeded generator. Its buffers are allocated once, for V logits.
 */
export class Sampler {
  private readonly V: number;
  private readonly temperature: number;
  private readonly topK: number;
  private readonly rng: Rng;
  private readonly excluded: Uint8Array;
  private readonly allowed: number;
  private readonly weights: Float64Array;
  private readonly scratch: Float64Array;

  constructor(V: number, options: SamplerOptions) {
    if (!(options.temperature > 0 && Number.isFinite(options.temperature))) throw new RangeError(`temperature must be > 0, got ${options.temperature}`);
    if (!Number.isInteger(options.topK) || options.topK < 0) throw new RangeError(`top-k must be an integer ≥ 0, got ${options.topK}`);
    this.V = V;
    this.temperature = options.temperature;
    this.rng = options.rng;
    this.excluded = new Uint8Array(V);
    for (const id of options.excluded ?? []) if (id >= 0 && id < V) this.excluded[id] = 1;
    this.allowed = V - this.excluded.reduce((n, e) => n + e, 0);
    if (this.allowed < 1) throw new RangeError("nothing to sample: every id is excluded");
    this.topK = options.topK === 0 || options.topK >= this.allowed ? 0 : options.topK;
    this.weights = new Float64Array(V);
    this.scratch = new Float64Array(V);
  }

  sample(logits: Float32Array): number {
    const { V, weights, excluded } = this;
    const inverse = 1 / this.temperature;
    let max = -Infinity;
    for (let j = 0; j < V; j++) {
      const s = excluded[j] ? -Infinity : logits[j]! * inverse;
      weights[j] = s;
      if (s > max) max = s;
    }
    if (this.topK > 0) this.keepTop(this.topK);
    let sum = 0;
    for (let j = 0; j < V; j++) {
      const e = weights[j] === -Infinity ? 0 : Math.exp(weights[j]! - max);
      weights[j] = e;
      sum += e;
    }
    let u = this.rng.next() * sum;
    let last = -1;
    for (let j = 0; j < V; j++) {
      const w = weights[j]!;
      if (w === 0) continue;
      last = j;
      u -= w;
      if (u < 0) return j;
    }
    return last; // rounding left u ≥ 0 after the last term
  }

  /** Sets all but the k largest weights to −∞ (ties at the threshold: the lowest ids first). */
  private keepTop(k: number): void {
    const { V, weights, scratch } = this;
    let n = 0;
    for (let j = 0; j < V; j++) if (weights[j] !== -Infinity) scratch[n++] = weights[j]!;
    const threshold = kthLargest(scratch, n, k);
    let above = 0;
    for (let j = 0; j < V; j++) if (weights[j]! > threshold) above++;
    let ties = k - above;
    for (let j = 0; j < V; j++) {
      const w = weights[j]!;
      if (w > threshold) continue;
      if (w === threshold && ties > 0) ties--;
      else weights[j] = -Infinity;
    }
  }
}

/** The k-th largest of a[0 … n) (1-based k ≤ n), by quickselect with a three-way partition; reorders a. */
export function kthLargest(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  let target = k - 1; // index in descending order
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const pivot = median3(a[lo]!, a[mid]!, a[hi]!);
    // a[lo … lt) > pivot, a[lt … i) == pivot, a(gt … hi] < pivot
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = a[i]!;
      if (v > pivot) {
        a[i] = a[lt]!;
        a[lt] = v;
        lt++;
        i++;
      } else if (v < pivot) {
        a[i] = a[gt]!;
        a[gt] = v;
        gt--;
      } else {
        i++;
      }
    }
    if (lo + target < lt) {
      hi = lt - 1;
    } else if (lo + target <= gt) {
      return pivot;
    } else {
      target -= gt + 1 - lo;
      lo = gt + 1;
    }
  }
  return a[lo]!;
}

function median3(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}

/** The ids a language model may produce: all but <pad>, which it never saw as a target. */
export const NEVER_SAMPLED: readonly number[] = Object.freeze([PAD_ID]);
