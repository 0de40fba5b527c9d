/**
 * Selecting one time step per sequence from a time-major block, so that a layer (e.g. `Dense`) or a
 * loss applies at chosen steps only: the last step of every sequence, or, for variable-length
 * sequences, each sequence's own last real step.
 *
 *   forward:   out[b, :] = x[steps[b], b, :]            x: (T, B, F)  →  out: (B, F)
 *   backward:  dx[steps[b], b, :] += dOut[b, :]          dOut: (B, F) →  dx: (T, B, F)
 *              every other row of dx receives no gradient (it is zeroed unless accumulating).
 *
 * T = time steps, B = sequences, F = features; steps: (B), each in [0, T).
 */
import { kernels } from "../kernels/index.js";

/** Which step to take from each of the B sequences of a (T, B, F) block. */
export interface StepSelection {
  T: number;
  B: number;
  F: number;
  /** (B) the step of each sequence, in [0, T). */
  steps: Int32Array;
}

export interface SelectStepsBackwardOptions {
  /** Add into dx instead of overwriting it (default false: dx is zeroed first). */
  accumulate?: boolean;
}

/** out: (B, F) = x[steps[b], b, :]. Writes into `out` when given (no allocation), else into a new array. */
export function selectStepsForward(selection: StepSelection, x: Float32Array, out?: Float32Array): Float32Array {
  const { T, B, F, steps } = validateSelection(selection);
  requireLength(x, T * B * F, `x must have shape (T=${T}, B=${B}, F=${F})`);
  const result = out ?? kernels().allocate(B * F);
  requireLength(result, B * F, `out must have shape (B=${B}, F=${F})`);
  for (let b = 0; b < B; b++) {
    const src = (steps[b]! * B + b) * F;
    result.set(x.subarray(src, src + F), b * F);
  }
  return result;
}

/** dx[steps[b], b, :] += dOut[b, :]; dOut: (B, F), dx: (T, B, F), zeroed first unless `accumulate`. Returns dx. */
export function selectStepsBackward(
  selection: StepSelection, dOut: Float32Array, dx: Float32Array, options: SelectStepsBackwardOptions = {},
): Float32Array {
  const { T, B, F, steps } = validateSelection(selection);
  requireLength(dOut, B * F, `dOut must have shape (B=${B}, F=${F})`);
  requireLength(dx, T * B * F, `dx must have shape (T=${T}, B=${B}, F=${F})`);
  if (!options.accumulate) dx.fill(0);
  for (let b = 0; b < B; b++) {
    const dst = (steps[b]! * B + b) * F;
    const src = b * F;
    for (let j = 0; j < F; j++) dx[dst + j]! += dOut[src + j]!;
  }
  return dx;
}

/** (B) steps all equal to T − 1: the last step of every sequence. */
export function lastSteps(T: number, B: number): Int32Array {
  requirePositiveInteger(T, "T (time steps)");
  requirePositiveInteger(B, "B (batch size)");
  return new Int32Array(B).fill(T - 1);
}

/** (B) steps lengths[b] − 1: the last real step of sequences of the given lengths, each in [1, T]. */
export function stepsFromLengths(lengths: ArrayLike<number>, T: number): Int32Array {
  requirePositiveInteger(T, "T (time steps)");
  const steps = new Int32Array(lengths.length);
  for (let b = 0; b < lengths.length; b++) {
    const n = lengths[b]!;
    if (!Number.isInteger(n) || n < 1 || n > T) {
      throw new RangeError(`lengths[${b}] must be an integer in [1, ${T}] (T), got ${n}`);
    }
    steps[b] = n - 1;
  }
  return steps;
}

/**
 * (B) the last step t with mask[t, b] ≠ 0 for each sequence; mask: (T, B) as the cells take it.
 * A sequence with no real step has nothing to select: that is an error naming it.
 */
export function lastMaskedSteps(mask: Float32Array, T: number, B: number): Int32Array {
  requirePositiveInteger(T, "T (time steps)");
  requirePositiveInteger(B, "B (batch size)");
  requireLength(mask, T * B, `mask must have shape (T=${T}, B=${B})`);
  const steps = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let t = T - 1;
    while (t >= 0 && mask[t * B + b] === 0) t--;
    if (t < 0) throw new RangeError(`mask: sequence ${b} has no real step (its mask is 0 at every step)`);
    steps[b] = t;
  }
  return steps;
}

function validateSelection(selection: StepSelection): StepSelection {
  const { T, B, F, steps } = selection;
  requirePositiveInteger(T, "T (time steps)");
  requirePositiveInteger(B, "B (batch size)");
  requirePositiveInteger(F, "F (features)");
  requireLength(steps, B, `steps must have shape (B=${B})`);
  for (let b = 0; b < B; b++) {
    const t = steps[b]!;
    if (t < 0 || t >= T) throw new RangeError(`steps[${b}] must be in [0, ${T}) (T), got ${t}`);
  }
  return selection;
}

function requireLength(array: ArrayLike<number>, length: number, what: string): void {
  if (array.length !== length) throw new RangeError(`${what} = ${length} values, got ${array.length}`);
}

function requirePositiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}
