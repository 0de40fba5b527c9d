/**
 * A synthetic stand-in for framewise phoneme classification (Graves & Schmidhuber 2005, TIMIT):
 * every "phoneme" k of K classes has a prototype feature vector p_k ∈ R^I; an utterance is a chain
 * of phonemes drawn from a bigram model, each held for a random number of frames, and every frame is
 * its phoneme's prototype plus Gaussian noise:
 *
 *   k_1 ~ U{0 … K−1},   k_{j+1} ~ P(· | k_j)  (each phoneme has a few likely successors)
 *   duration_j ~ U{minDuration … maxDuration}
 *   x_t = p_{k(t)} + σ·ε_t,   ε_t ~ N(0, I_I),   label_t = k(t)
 *
 * With σ large, a frame alone is ambiguous (the nearest prototype is often wrong); the neighbouring
 * frames of the same phoneme and the bigram from the previous phoneme disambiguate it, so a model that
 * uses context beats a frame-by-frame classifier. `nearestPrototypeError` measures the frame-alone
 * error on a data set, the baseline the report compares against.
 *
 * Shapes: features (T·I) per utterance, time-major; labels (T).
 */
import type { EncodedLabelling, LabelledSequence } from "../data/sequence-labelling.js";
import type { Rng } from "../tensor/rng.js";

export interface PhonemeSourceOptions {
  /** K: phoneme classes (61 as in TIMIT). */
  classes: number;
  /** I: features per frame. */
  featureSize: number;
  /** σ: standard deviation of the frame noise (the prototypes' entries are N(0, 1)). */
  noise: number;
  /** Frames a phoneme is held: uniform in [minDuration, maxDuration]. */
  minDuration: number;
  maxDuration: number;
  /** Successors each phoneme can have, with probabilities ∝ 1/rank (a sharp bigram for small values). */
  successors: number;
}

/** The fixed "language": prototypes and bigram. Draw it once; draw utterances from it. */
export interface PhonemeSource {
  options: Readonly<PhonemeSourceOptions>;
  /** (K, I) prototype of each class. */
  prototypes: Float32Array;
  /** next[k]: the possible successors of k, most likely first. */
  next: Int32Array[];
  /** cumulative[k]: cumulative probabilities over next[k] (last entry 1). */
  cumulative: Float64Array[];
}

export function phonemeSource(rng: Rng, options: PhonemeSourceOptions): PhonemeSource {
  const { classes: K, featureSize: I, noise, minDuration, maxDuration, successors } = options;
  for (const [name, v, min] of [["classes", K, 2], ["featureSize", I, 1], ["minDuration", minDuration, 1], ["successors", successors, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`phonemes: ${name} must be an integer ≥ ${min}, got ${v}`);
  }
  if (!Number.isInteger(maxDuration) || maxDuration < minDuration) {
    throw new RangeError(`phonemes: maxDuration must be an integer ≥ minDuration (${minDuration}), got ${maxDuration}`);
  }
  if (successors > K - 1) throw new RangeError(`phonemes: successors must be at most classes − 1 = ${K - 1}, got ${successors}`);
  if (!(noise >= 0 && noise < Infinity)) throw new RangeError(`phonemes: noise must be a finite number ≥ 0, got ${noise}`);
  const prototypes = rng.fillNormal(new Float32Array(K * I));
  const next: Int32Array[] = [];
  const cumulative: Float64Array[] = [];
  const weights = Array.from({ length: successors }, (_, r) => 1 / (r + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  for (let k = 0; k < K; k++) {
    const others = rng.shuffle(Array.from({ length: K }, (_, j) => j).filter((j) => j !== k));
    next.push(Int32Array.from(others.slice(0, successors)));
    let sum = 0;
    cumulative.push(Float64Array.from(weights, (w, r) => (r === successors - 1 ? 1 : (sum += w / total))));
  }
  return { options: Object.freeze({ ...options }), prototypes, next, cumulative };
}

/** `count` utterances of `frames` frames each, as an EncodedLabelling for `labellingBatches`. */
export function phonemeUtterances(source: PhonemeSource, rng: Rng, count: number, frames: number): EncodedLabelling {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`phonemes: count must be a positive integer, got ${count}`);
  if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`phonemes: frames must be a positive integer, got ${frames}`);
  const { classes: K, featureSize: I, noise, minDuration, maxDuration } = source.options;
  const sequences: LabelledSequence[] = [];
  for (let n = 0; n < count; n++) {
    const features = new Float32Array(frames * I);
    const targets = new Int32Array(frames);
    let k = rng.int(K);
    let left = minDuration + rng.int(maxDuration - minDuration + 1);
    for (let t = 0; t < frames; t++) {
      if (left === 0) {
        k = successorOf(source, k, rng.next());
        left = minDuration + rng.int(maxDuration - minDuration + 1);
      }
      left--;
      targets[t] = k;
      for (let i = 0; i < I; i++) features[t * I + i] = source.prototypes[k * I + i]! + noise * rng.normal();
    }
    sequences.push({ features, targets, line: n + 1 });
  }
  return { input: "features", inputSize: I, sequences };
}

function successorOf(source: PhonemeSource, k: number, u: number): number {
  const cumulative = source.cumulative[k]!;
  let r = 0;
  while (u >= cumulative[r]!) r++;
  return source.next[k]![r]!;
}

/** Frame error rate of the frame-alone classifier: each frame labelled with its nearest prototype. */
export function nearestPrototypeError(source: PhonemeSource, data: EncodedLabelling): number {
  const { classes: K, featureSize: I } = source.options;
  let errors = 0;
  let frames = 0;
  for (const { features, targets } of data.sequences) {
    for (let t = 0; t < targets.length; t++) {
      let best = 0;
      let bestDistance = Infinity;
      for (let k = 0; k < K; k++) {
        let d = 0;
        for (let i = 0; i < I; i++) d += (features![t * I + i]! - source.prototypes[k * I + i]!) ** 2;
        if (d < bestDistance) {
          bestDistance = d;
          best = k;
        }
      }
      if (best !== targets[t]) errors++;
      frames++;
    }
  }
  return errors / frames;
}
