/**
 * Gradient clipping, as PyTorch's `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`.
 * Call it between the backward passes and `optimizer.step()`.
 *
 *   clipGradNorm:   n = ‖ all gradients as one vector ‖_p   (p = normType; ∞: max |g|)
 *                   c = maxNorm / (n + 1e-6);   every g = c · g  when c < 1
 *                   returns n, the norm BEFORE clipping (log it: it is the signal of exploding gradients)
 *   clipGradValue:  every g = min(max(g, −clipValue), clipValue); returns whether any g changed
 *   clipGradients:  clipGradNorm then clipGradValue, as the trainer applies them before each update
 *
 * Scaling only when c < 1 is PyTorch's clamp(c, max = 1): it scales when n > maxNorm − 1e-6.
 * A non-finite norm (a NaN or ±∞ in some gradient) is returned as it is and nothing is scaled,
 * where PyTorch would multiply every gradient by NaN or 0: check the returned norm and skip the
 * step (PyTorch's error_if_nonfinite, or an AMP-style skip) rather than train on garbage.
 * Norms are accumulated in float64.
 */
import { kernels } from "../kernels/index.js";
import type { Parameter } from "../tensor/parameter.js";
import { requireNumber } from "./optimizer.js";

/**
 * Scales all gradients together so that their joint p-norm is at most maxNorm; returns the norm
 * before clipping. normType: the p of the p-norm, any number > 0, or Infinity for max |g|.
 */
export function clipGradNorm(params: readonly Parameter[], maxNorm: number, normType = 2): number {
  requireNumber(maxNorm, "maxNorm", { min: 0 });
  if (typeof normType !== "number" || !(normType > 0)) {
    throw new RangeError(`normType must be a number > 0 or Infinity, got ${normType}`);
  }
  const norm = gradNorm(params, normType);
  if (!Number.isFinite(norm)) return norm;
  const coefficient = maxNorm / (norm + 1e-6);
  if (coefficient < 1) {
    for (const p of params) {
      const g = p.grad;
      for (let j = 0; j < g.length; j++) g[j]! *= coefficient;
    }
  }
  return norm;
}

/** ‖ all gradients as one vector ‖_p, without modifying them. */
export function gradNorm(params: readonly Parameter[], normType = 2): number {
  if (normType === Infinity) {
    let max = 0;
    for (const p of params) {
      const g = p.grad;
      for (let j = 0; j < g.length; j++) {
        const a = Math.abs(g[j]!);
        if (a > max) max = a;
        else if (Number.isNaN(a)) return NaN;
      }
    }
    return max;
  }
  let sum = 0;
  if (normType === 2) {
    // Per parameter on the kernels (float64 sums), then across parameters in order.
    const k = kernels();
    for (const p of params) sum += k.sumSquares(p.grad.length, p.grad, 0, null, 0);
    return Math.sqrt(sum);
  }
  for (const p of params) {
    const g = p.grad;
    for (let j = 0; j < g.length; j++) sum += Math.abs(g[j]!) ** normType;
  }
  return sum ** (1 / normType);
}

/** Clamps every gradient element to [−clipValue, clipValue]; NaN stays NaN. Returns whether any element changed. */
export function clipGradValue(params: readonly Parameter[], clipValue: number): boolean {
  requireNumber(clipValue, "clipValue", { min: 0 });
  let clipped = false;
  for (const p of params) {
    const g = p.grad;
    for (let j = 0; j < g.length; j++) {
      const v = g[j]!;
      if (v > clipValue) {
        g[j] = clipValue;
        clipped = true;
      } else if (v < -clipValue) {
        g[j] = -clipValue;
        clipped = true;
      }
    }
  }
  return clipped;
}

export interface ClipOptions {
  /** Clip the global L2 norm to this value. */
  clipNorm?: number;
  /** Then clip every element to [−clipValue, clipValue]. */
  clipValue?: number;
}

export interface ClipResult {
  /** The global L2 norm of the gradient before clipping. */
  norm: number;
  /** Whether clipping changed the gradient: the norm exceeded clipNorm, or some element exceeded clipValue. */
  clipped: boolean;
}

/** Clips by global norm, then by value (each only when given); one pass over the gradients for each. */
export function clipGradients(params: readonly Parameter[], options: ClipOptions): ClipResult {
  const { clipNorm, clipValue } = options;
  const norm = clipNorm !== undefined ? clipGradNorm(params, clipNorm) : gradNorm(params);
  let clipped = clipNorm !== undefined && norm > clipNorm;
  if (clipValue !== undefined && clipGradValue(params, clipValue)) clipped = true;
  return { norm, clipped };
}
