/**
 * Mean squared error, as PyTorch's `F.mse_loss(predictions, targets)`.
 *
 *   forward:   ℓ_rk = (p_rk − y_rk)²,   sum = Σ_r w_r Σ_k ℓ_rk,   count = K · Σ_r w_r
 *   backward:  dp_rk = s · w_r · 2 (p_rk − y_rk),   s = dLoss / count ('mean') or dLoss ('sum')
 *
 * Shapes: predictions p, targets y and dPredictions (N, K); mask w (N), one weight per row.
 * With 'mean' and no mask this is the mean over all N·K elements, as PyTorch's default.
 * Backward overwrites dPredictions and returns the same value as forward.
 */
import {
  type LossOptions, type LossValue, gradientScale, lossValue, requireLength, requirePositiveInteger, resolveReduction,
  validateRows,
} from "./loss.js";

export interface RegressionInput {
  /** (N, K) predicted values. */
  predictions: Float32Array;
  /** (N, K) target values, finite. */
  targets: Float32Array;
  N: number;
  /** Values per row. Default 1. */
  K?: number;
}

export function mseForward(input: RegressionInput, options: LossOptions = {}): LossValue {
  const { predictions, targets, N } = input;
  const { K, reduction, mask } = validate(input, options);
  let sum = 0;
  let count = 0;
  for (let r = 0; r < N; r++) {
    const w = mask ? mask[r]! : 1;
    if (w === 0) continue;
    let rowSum = 0;
    for (let i = r * K; i < (r + 1) * K; i++) {
      const d = predictions[i]! - targets[i]!;
      rowSum += d * d;
    }
    sum += w * rowSum;
    count += w * K;
  }
  return lossValue(sum, count, reduction);
}

/** Writes dPredictions: (N, K) = dL/dpredictions scaled by dLoss (default 1); returns the loss. */
export function mseBackward(
  input: RegressionInput, options: LossOptions, dPredictions: Float32Array, dLoss = 1,
): LossValue {
  const { predictions, targets, N } = input;
  const { K, reduction, mask } = validate(input, options);
  requireLength(dPredictions, N * K, `dPredictions must have shape (N=${N}, K=${K})`);
  let count = 0;
  for (let r = 0; r < N; r++) count += (mask ? mask[r]! : 1) * K;
  const s = gradientScale(count, reduction, dLoss);
  let sum = 0;
  for (let r = 0; r < N; r++) {
    const w = mask ? mask[r]! : 1;
    let rowSum = 0;
    for (let i = r * K; i < (r + 1) * K; i++) {
      if (w === 0) {
        dPredictions[i] = 0;
        continue;
      }
      const d = predictions[i]! - targets[i]!;
      rowSum += d * d;
      dPredictions[i] = 2 * s * w * d;
    }
    sum += w * rowSum;
  }
  return lossValue(sum, count, reduction);
}

function validate(input: RegressionInput, options: LossOptions) {
  const { predictions, targets, N } = input;
  const K = input.K ?? 1;
  const reduction = resolveReduction(options.reduction);
  const mask = options.mask ?? null;
  validateRows(N, mask);
  requirePositiveInteger(K, "K (values per row)");
  requireLength(predictions, N * K, `predictions must have shape (N=${N}, K=${K})`);
  requireLength(targets, N * K, `targets must have shape (N=${N}, K=${K})`);
  for (let i = 0; i < N * K; i++) {
    const y = targets[i]!;
    if (!Number.isFinite(y)) {
      const where = K === 1 ? `row ${i}` : `row ${Math.floor(i / K)}, value ${i % K}`;
      throw new RangeError(`targets at ${where} = ${y} is out of range: expected a finite number`);
    }
  }
  return { K, reduction, mask };
}
