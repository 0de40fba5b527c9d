/**
 * Softmax cross-entropy on integer class targets, as PyTorch's `F.cross_entropy(logits, targets)`.
 *
 *   forward:   ℓ_r = logsumexp(z_r) − z_r[t_r],   logsumexp(z) = m + log Σ_j exp(z_j − m),  m = max_j z_j
 *              sum = Σ_r w_r ℓ_r,   count = Σ_r w_r   over rows whose target is not ignoreIndex
 *   backward:  dz_r[j] = s · w_r · (softmax(z_r)[j] − [j = t_r]),   s = dLoss / count ('mean') or dLoss ('sum')
 *              rows with target ignoreIndex (or weight 0) get dz_r = 0
 *
 * Shapes: logits z and dLogits (N, C), targets t (N), mask w (N); N rows (e.g. T·B), C classes.
 * Subtracting the row maximum keeps exp from overflowing; sums are in float64. The loops run in the
 * kernel backend (`softmaxCrossEntropy` in kernels.ts), one pass per row for loss and gradient; with
 * wasm-simd, targets from `kernels().allocateIndices` avoid a fallback to the reference.
 * Backward overwrites dLogits (it is an output, not an accumulator) and returns the same value as
 * forward, so a training step can call backward alone.
 */
import { kernels } from "../kernels/index.js";
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
  return softmaxCrossEntropyWithHits(input, options, null).value;
}

/** Writes dLogits: (N, C) = dL/dlogits scaled by dLoss (the upstream gradient, default 1); returns the loss. */
export function softmaxCrossEntropyBackward(
  input: SoftmaxCrossEntropyInput, options: SoftmaxCrossEntropyOptions, dLogits: Float32Array, dLoss = 1,
): LossValue {
  return softmaxCrossEntropyWithHits(input, options, dLogits, dLoss).value;
}

/**
 * Forward (dLogits null) or backward as above, and the accuracy's numerator from the same pass over
 * the logits: hits = rows counted in the loss whose largest logit is their target (first maximum wins).
 */
export function softmaxCrossEntropyWithHits(
  input: SoftmaxCrossEntropyInput, options: SoftmaxCrossEntropyOptions, dLogits: Float32Array | null, dLoss = 1,
): { value: LossValue; hits: number } {
  const { logits, targets, N, C } = input;
  const { ignoreIndex, reduction, mask } = validate(input, options);
  if (dLogits !== null) requireLength(dLogits, N * C, `dLogits must have shape (N=${N}, C=${C})`);
  const count = weightCount(targets, mask, N, ignoreIndex);
  const s = gradientScale(count, reduction, dLoss);
  // One kernel pass per row: max, Σ exp, the row's loss and dLogits = s·w·(softmax − onehot).
  const { loss, hits } = kernels().softmaxCrossEntropy(N, C, logits, 0, targets, 0, mask, 0, ignoreIndex, s, dLogits, 0);
  return { value: lossValue(loss, count, reduction), hits };
}

/** Σ_r w_r over the rows whose target is not ignoreIndex. */
function weightCount(targets: Int32Array, mask: Float32Array | null, N: number, ignoreIndex: number): number {
  let count = 0;
  for (let r = 0; r < N; r++) {
    if (targets[r] !== ignoreIndex) count += mask ? mask[r]! : 1;
  }
  return count;
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
