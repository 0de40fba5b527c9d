/**
 * Softmax cross-entropy on integer class targets, as PyTorch's `F.cross_entropy(logits, targets)`.
 *
 *   forward:   ℓ_r = logsumexp(z_r) − z_r[t_r],   logsumexp(z) = m + log Σ_j exp(z_j − m),  m = max_j z_j
 *              sum = Σ_r w_r ℓ_r,   count = Σ_r w_r   over rows whose target is not ignoreIndex
 *   backward:  dz_r[j] = s · w_r · (softmax(z_r)[j] − [j = t_r]),   s = dLoss / count ('mean') or dLoss ('sum')
 *              rows with target ignoreIndex (or weight 0) get dz_r = 0
 *
 * Shapes: logits z and dLogits (N, C), targets t (N), mask w (N); N rows (e.g. T·B), C classes.
 * Subtracting the row maximum keeps exp from overflowing; sums are in float64.
 * Backward overwrites dLogits (it is an output, not an accumulator) and returns the same value as
 * forward, so a training step can call backward alone.
 */
import {
  type LossOptions, type LossValue, gradientScale, lossValue, requireLength, requirePositiveInteger, resolveReduction,
  validateRows,
} from "./loss.js";

export interface SoftmaxCrossEntropyInput {
  /** (N, C) unnormalised class scores. */
  logits: Float32Array;
  /** (N) class indices in [0, C), or ignoreIndex. */
  targets: Int32Array;
  N: number;
  C: number;
}

export interface SoftmaxCrossEntropyOptions extends LossOptions {
  /** Rows with this target count for nothing (PyTorch's ignore_index). Default −100. */
  ignoreIndex?: number;
}

/** The loss of N rows of logits against their targets. */
export function softmaxCrossEntropyForward(
  input: SoftmaxCrossEntropyInput, options: SoftmaxCrossEntropyOptions = {},
): LossValue {
  const { logits, targets, N, C } = input;
  const { ignoreIndex, reduction, mask } = validate(input, options);
  let sum = 0;
  let count = 0;
  for (let r = 0; r < N; r++) {
    const t = targets[r]!;
    const w = mask ? mask[r]! : 1;
    if (t === ignoreIndex || w === 0) continue;
    const row = r * C;
    sum += w * (logSumExp(logits, row, C) - logits[row + t]!);
    count += w;
  }
  return lossValue(sum, count, reduction);
}

/** Writes dLogits: (N, C) = dL/dlogits scaled by dLoss (the upstream gradient, default 1); returns the loss. */
export function softmaxCrossEntropyBackward(
  input: SoftmaxCrossEntropyInput, options: SoftmaxCrossEntropyOptions, dLogits: Float32Array, dLoss = 1,
): LossValue {
  const { logits, targets, N, C } = input;
  const { ignoreIndex, reduction, mask } = validate(input, options);
  requireLength(dLogits, N * C, `dLogits must have shape (N=${N}, C=${C})`);
  let count = 0;
  for (let r = 0; r < N; r++) {
    if (targets[r] !== ignoreIndex) count += mask ? mask[r]! : 1;
  }
  const s = gradientScale(count, reduction, dLoss);
  let sum = 0;
  for (let r = 0; r < N; r++) {
    const t = targets[r]!;
    const w = mask ? mask[r]! : 1;
    const row = r * C;
    if (t === ignoreIndex || w === 0) {
      dLogits.fill(0, row, row + C);
      continue;
    }
    const lse = logSumExp(logits, row, C);
    sum += w * (lse - logits[row + t]!);
    // softmax_j = exp(z_j − lse)
    const ws = w * s;
    for (let j = 0; j < C; j++) dLogits[row + j] = ws * Math.exp(logits[row + j]! - lse);
    dLogits[row + t]! -= ws;
  }
  return lossValue(sum, count, reduction);
}

/** log Σ_j exp(z[offset + j]) for j < C, stable. */
function logSumExp(z: Float32Array, offset: number, C: number): number {
  let m = -Infinity;
  for (let j = 0; j < C; j++) m = Math.max(m, z[offset + j]!);
  if (!Number.isFinite(m)) return m; // all −∞ gives −∞; +∞ or NaN propagate
  let s = 0;
  for (let j = 0; j < C; j++) s += Math.exp(z[offset + j]! - m);
  return m + Math.log(s);
}

function validate(input: SoftmaxCrossEntropyInput, options: SoftmaxCrossEntropyOptions) {
  const { logits, targets, N, C } = input;
  const ignoreIndex = options.ignoreIndex ?? -100;
  const reduction = resolveReduction(options.reduction);
  const mask = options.mask ?? null;
  validateRows(N, mask);
  requirePositiveInteger(C, "C (classes)");
  if (!Number.isInteger(ignoreIndex)) throw new RangeError(`ignoreIndex must be an integer, got ${ignoreIndex}`);
  requireLength(logits, N * C, `logits must have shape (N=${N}, C=${C})`);
  requireLength(targets, N, `targets must have shape (N=${N})`);
  for (let r = 0; r < N; r++) {
    const t = targets[r]!;
    if ((t < 0 || t >= C) && t !== ignoreIndex) {
      throw new RangeError(`targets[${r}] = ${t} is out of range: expected a class in [0, ${C}) or ignoreIndex (${ignoreIndex})`);
    }
  }
  return { ignoreIndex, reduction, mask };
}
