/**
 * Finite-difference gradient checks, shared by every backward pass's test (cs231n's
 * `gradient_check.py`, adapted to float32 values).
 *
 * Recipe: make the scalar f = Σ out ⊙ G (`dot(out, upstream)`) with a random upstream gradient G, so
 * that every output element matters with a different weight; run backward with dOut = G to get the
 * analytic gradient of a parameter or input; then
 *
 *   checkGradient({ f: () => dot(forward(), G), param: weight.value, analytic: weight.grad });
 *
 * For each checked entry i it sets x_i to x_i ± eps in place (stored as float32), evaluates f, and
 * compares the central difference (f(x⁺) − f(x⁻)) / (x⁺ − x⁻) — divided by the step actually stored,
 * not by 2·eps, since float32 rounds x ± eps — with the analytic value:
 *
 *   |numeric − analytic| ≤ atol + rtol · max(|numeric|, |analytic|)
 *
 * The entry is restored bit-exactly afterwards. Large tensors are sampled (`samples` entries, chosen
 * by a seeded generator, always including the first and last). On failure it throws an
 * AssertionError listing the worst entries. Write f in float64 (sum with JS numbers) so that only
 * the forward's own float32 rounding limits the accuracy.
 *
 * Defaults (eps 1e-3, rtol 1e-2, atol 1e-4) suit O(1) values and gradients computed through float32
 * activations; a wrong sign or a missing term misses by far more.
 */
import { AssertionError } from "node:assert";
import { Rng } from "../../src/tensor/rng.js";

export interface GradientCheckOptions {
  /** The scalar loss as a function of the current contents of `param` (float64 arithmetic where possible). */
  f: () => number;
  /** The values to perturb, in place, one entry at a time. */
  param: Float32Array;
  /** dL/dparam from the backward pass under test; same length as `param`. */
  analytic: ArrayLike<number>;
  /** Entries to check: all of them when `param` has no more, else a sample of this many. Default 40. */
  samples?: number;
  /** Half-width of the central difference. Default 1e-3. */
  eps?: number;
  /** Relative tolerance. Default 1e-2. */
  rtol?: number;
  /** Absolute tolerance. Default 1e-4. */
  atol?: number;
  /** What is being checked, for the failure message (e.g. "dense.weight"). */
  name?: string;
  /** Seed of the entry sample. Default 1. */
  seed?: number;
}

export interface GradientCheckResult {
  /** How many entries were compared. */
  checked: number;
  /** The largest |numeric − analytic|. */
  maxAbsError: number;
  /** The largest |numeric − analytic| / max(|numeric|, |analytic|) (0 where both are 0). */
  maxRelError: number;
}

interface Mismatch {
  index: number;
  numeric: number;
  analytic: number;
  excess: number;
}

/** Compares `analytic` with central differences of `f`; throws an AssertionError naming the worst entries. */
export function checkGradient(options: GradientCheckOptions): GradientCheckResult {
  const { f, param, analytic } = options;
  const eps = options.eps ?? 1e-3;
  const rtol = options.rtol ?? 1e-2;
  const atol = options.atol ?? 1e-4;
  const name = options.name ?? "gradient";
  if (analytic.length !== param.length) {
    throw new RangeError(`${name}: analytic has ${analytic.length} values, param has ${param.length}`);
  }
  const indices = sampleIndices(param.length, options.samples ?? 40, options.seed ?? 1);
  const mismatches: Mismatch[] = [];
  let maxAbsError = 0;
  let maxRelError = 0;
  for (const i of indices) {
    const original = param[i]!;
    param[i] = original + eps;
    const xPlus = param[i]!;
    const fPlus = f();
    param[i] = original - eps;
    const xMinus = param[i]!;
    const fMinus = f();
    param[i] = original;
    const numeric = (fPlus - fMinus) / (xPlus - xMinus);
    const a = analytic[i]!;
    const error = Math.abs(numeric - a);
    const scale = Math.max(Math.abs(numeric), Math.abs(a));
    maxAbsError = Math.max(maxAbsError, error);
    if (scale > 0) maxRelError = Math.max(maxRelError, error / scale);
    const allowed = atol + rtol * scale;
    // `!(error <= allowed)` also fails on NaN.
    if (!(error <= allowed)) mismatches.push({ index: i, numeric, analytic: a, excess: error / allowed });
  }
  if (mismatches.length > 0) {
    mismatches.sort((x, y) => y.excess - x.excess);
    const worst = mismatches
      .slice(0, 5)
      .map((m) => `  ${name}[${m.index}]: numeric ${m.numeric.toPrecision(6)}, analytic ${m.analytic.toPrecision(6)}`)
      .join("\n");
    throw new AssertionError({
      message: `${name}: ${mismatches.length} of ${indices.length} entries differ from central differences `
        + `(eps ${eps}, rtol ${rtol}, atol ${atol}):\n${worst}`,
    });
  }
  return { checked: indices.length, maxAbsError, maxRelError };
}

/** n values uniform in [−scale, scale), from `rng`. */
export function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return rng.fillUniform(new Float32Array(n), -scale, scale);
}

/** Σ a_i · b_i in float64: contracts an output with an upstream gradient into a scalar loss. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`dot: lengths ${a.length} and ${b.length} differ`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

/** All indices when n ≤ samples, else `samples` distinct ones including 0 and n − 1, sorted. */
function sampleIndices(n: number, samples: number, seed: number): number[] {
  if (n <= samples) return Array.from({ length: n }, (_, i) => i);
  const chosen = new Set<number>([0, n - 1]);
  const rng = new Rng(seed);
  while (chosen.size < samples) chosen.add(rng.int(n));
  return [...chosen].sort((a, b) => a - b);
}
