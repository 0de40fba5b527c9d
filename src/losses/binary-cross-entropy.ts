/**
 * Binary cross-entropy on logits, as PyTorch's `F.binary_cross_entropy_with_logits` (sigmoid and
 * BCE in one, stable form).
 *
 *   forward:   ℓ = −[y log σ(x) + (1 − y) log(1 − σ(x))] = max(x, 0) − x·y + log(1 + exp(−|x|))
 *              sum = Σ_r w_r Σ_k ℓ_rk,   count = K · Σ_r w_r
 *   backward:  dx_rk = s · w_r · (σ(x_rk) − y_rk),   s = dLoss / count ('mean') or dLoss ('sum')
 *
 * Shapes: logits x, targets y and dLogits (N, K); mask w (N), one weight per row. K = 1 for a single
 * binary label per row, K > 1 for independent labels (multi-label). Targets are probabilities in
 * [0, 1] (soft labels allowed). The stable form never evaluates exp of a positive number.
 * Backward overwrites dLogits and returns the same value as forward.
 */
import {
  type LossOptions, type LossValue, gradientScale, lossValue, requireLength, requirePositiveInteger, resolveReduction,
  validateRows,
} from "./loss.js";

export interface BinaryCrossEntropyInput {
  /** (N, K) unnormalised scores: σ(logit) is the predicted probability. */
  logits: Float32Array;
  /** (N, K) target probabilities in [0, 1]. */
  targets: Float32Array;
  N: number;
  /** Labels per row. Default 1. */
  K?: number;
}

export function binaryCrossEntropyWithLogitsForward(
  input: BinaryCrossEntropyInput, options: LossOptions = {},
): LossValue {
  const { logits, targets, N } = input;
  const { K, reduction, mask } = validate(input, options);
  let sum = 0;
  let count = 0;
  for (let r = 0; r < N; r++) {
    const w = mask ? mask[r]! : 1;
    if (w === 0) continue;
    let rowSum = 0;
    for (let i = r * K; i < (r + 1) * K; i++) {
      const x = logits[i]!;
      rowSum += Math.max(x, 0) - x * targets[i]! + Math.log1p(Math.exp(-Math.abs(x)));
    }
    sum += w * rowSum;
    count += w * K;
  }
  return lossValue(sum, count, reduction);
}

/** Writes dLogits: (N, K) = dL/dlogits scaled by dLoss (default 1); returns the loss. */
export function binaryCrossEntropyWithLogitsBackward(
  input: BinaryCrossEntropyInput, options: LossOptions, dLogits: Float32Array, dLoss = 1,
): LossValue {
  const { logits, targets, N } = input;
  const { K, reduction, mask } = validate(input, options);
  requireLength(dLogits, N * K, `dLogits must have shape (N=${N}, K=${K})`);
  let count = 0;
  for (let r = 0; r < N; r++) count += (mask ? mask[r]! : 1) * K;
  const s = gradientScale(count, reduction, dLoss);
  let sum = 0;
  for (let r = 0; r < N; r++) {
    const w = mask ? mask[r]! : 1;
    if (w === 0) {
      dLogits.fill(0, r * K, (r + 1) * K);
      continue;
    }
    let rowSum = 0;
    for (let i = r * K; i < (r + 1) * K; i++) {
      const x = logits[i]!;
      const y = targets[i]!;
      // e = exp(−|x|) ≤ 1;  σ(x) = 1/(1 + e) for x ≥ 0, e/(1 + e) for x < 0
      const e = Math.exp(-Math.abs(x));
      const sigmoid = x >= 0 ? 1 / (1 + e) : e / (1 + e);
      rowSum += Math.max(x, 0) - x * y + Math.log1p(e);
      dLogits[i] = s * w * (sigmoid - y);
    }
    sum += w * rowSum;
  }
  return lossValue(sum, count, reduction);
}

function validate(input: BinaryCrossEntropyInput, options: LossOptions) {
  const { logits, targets, N } = input;
  const K = input.K ?? 1;
  const reduction = resolveReduction(options.reduction);
  const mask = options.mask ?? null;
  validateRows(N, mask);
  requirePositiveInteger(K, "K (labels per row)");
  requireLength(logits, N * K, `logits must have shape (N=${N}, K=${K})`);
  requireLength(targets, N * K, `targets must have shape (N=${N}, K=${K})`);
  for (let i = 0; i < N * K; i++) {
    const y = targets[i]!;
    if (!(y >= 0 && y <= 1)) {
      const where = K === 1 ? `row ${i}` : `row ${Math.floor(i / K)}, label ${i % K}`;
      throw new RangeError(`targets at ${where} = ${y} is out of range: expected a probability in [0, 1]`);
    }
  }
  return { K, reduction, mask };
}
