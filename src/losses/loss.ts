/**
 * What the losses share: the reduction, the per-row mask, the value they return, and the checks.
 *
 * Every loss works on N rows (e.g. N = T·B time-major steps) and sums in float64:
 *   sum   = Σ_r w_r · ℓ_r          (ℓ_r the row's loss, w_r its mask weight, 1 without a mask)
 *   count = Σ_r w_r · (elements per row)   over the rows that count
 *   loss  = sum / count  ('mean', PyTorch's default)   or   sum  ('sum')
 * so a caller that accumulates several chunks can add up `sum` and `count` and divide once.
 *
 * A mean over nothing (count = 0, e.g. a chunk made only of padding) is 0 with zero gradient,
 * where PyTorch returns NaN: a fully padded chunk should not poison training.
 */
export type Reduction = "mean" | "sum";

export interface LossOptions {
  /** 'mean' (default, as PyTorch) divides by `count`; 'sum' does not. Also scales the gradient. */
  reduction?: Reduction;
  /**
   * (N) per-row weights, typically 0/1 (a padding mask, as the cells take it, flattened (T·B)).
   * Non-negative and finite; the row's loss and gradient are multiplied by its weight.
   */
  mask?: Float32Array | null;
}

export interface LossValue {
  /** The reduced loss: sum / count for 'mean' (0 when count is 0), sum for 'sum'. */
  loss: number;
  /** Σ over counted rows of weight · row loss. */
  sum: number;
  /** The (weighted) number of elements that count. */
  count: number;
}

export function resolveReduction(reduction: Reduction | undefined): Reduction {
  const r = reduction ?? "mean";
  if (r !== "mean" && r !== "sum") throw new RangeError(`reduction must be "mean" or "sum", got ${JSON.stringify(r)}`);
  return r;
}

export function lossValue(sum: number, count: number, reduction: Reduction): LossValue {
  const loss = reduction === "sum" ? sum : count > 0 ? sum / count : 0;
  return { loss, sum, count };
}

/** The factor every element's gradient is multiplied by: dLoss / count for 'mean', dLoss for 'sum'. */
export function gradientScale(count: number, reduction: Reduction, dLoss: number): number {
  if (!Number.isFinite(dLoss)) throw new RangeError(`dLoss must be a finite number, got ${dLoss}`);
  if (reduction === "sum") return dLoss;
  return count > 0 ? dLoss / count : 0;
}

/** Checks N and the mask, whose entries must be finite and ≥ 0. */
export function validateRows(N: number, mask: Float32Array | null | undefined): void {
  if (!Number.isInteger(N) || N < 1) throw new RangeError(`N (rows) must be a positive integer, got ${N}`);
  if (!mask) return;
  if (mask.length !== N) throw new RangeError(`mask must have shape (N=${N}) = ${N} values, got ${mask.length}`);
  for (let r = 0; r < N; r++) {
    const w = mask[r]!;
    if (!(w >= 0 && w < Infinity)) throw new RangeError(`mask[${r}] must be a finite weight ≥ 0, got ${w}`);
  }
}

export function requirePositiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

export function requireLength(array: ArrayLike<number>, length: number, what: string): void {
  if (array.length !== length) throw new RangeError(`${what} = ${length} values, got ${array.length}`);
}
