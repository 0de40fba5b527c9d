/**
 * RMSprop, as PyTorch's `torch.optim.RMSprop`. Per element, at each step:
 *
 *   g = grad + weightDecay · θ
 *   s = α · s + (1 − α) · g²                          (square_avg)
 *   centered:  ḡ = α · ḡ + (1 − α) · g   (grad_avg),   d = √(s − ḡ²) + eps
 *   otherwise:                                        d = √s + eps
 *   momentum > 0:  b = momentum · b + g / d  (momentum_buffer),   θ = θ − lr · b
 *   otherwise:     θ = θ − lr · g / d
 *
 * eps is added outside the square root, as PyTorch does (TensorFlow adds it inside).
 * Defaults: lr 1e-2, alpha 0.99, eps 1e-8, weightDecay 0, momentum 0, centered false.
 */
import type { Parameter } from "../tensor/parameter.js";
import {
  type Hyperparameters, OptimizerBase, checkOptionNames, requireBoolean, requireNumber,
} from "./optimizer.js";

export interface RMSpropOptions {
  lr?: number;
  /** Smoothing constant α of the running averages. */
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  /** Normalise by an estimate of the gradient's variance instead of its second moment. */
  centered?: boolean;
}

const OPTION_NAMES = ["lr", "alpha", "eps", "weightDecay", "momentum", "centered"] as const;

interface RMSpropHyperparameters {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

export class RMSprop extends OptimizerBase {
  readonly kind = "rmsprop" as const;
  private options: RMSpropHyperparameters;
  private readonly squareAvg: Float32Array[];
  private readonly gradAvg: Float32Array[] | null;
  private readonly momentumBuffers: Float32Array[] | null;

  constructor(params: readonly Parameter[], options: RMSpropOptions = {}) {
    checkOptionNames(options, OPTION_NAMES, "RMSprop");
    super(params, options.lr ?? 1e-2);
    this.options = resolve({
      alpha: options.alpha ?? 0.99,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      momentum: options.momentum ?? 0,
      centered: options.centered ?? false,
    });
    this.squareAvg = this.allocateBuffer("square_avg");
    this.momentumBuffers = this.options.momentum > 0 ? this.allocateBuffer("momentum_buffer") : null;
    this.gradAvg = this.options.centered ? this.allocateBuffer("grad_avg") : null;
  }

  step(): void {
    const { alpha, eps, weightDecay, momentum } = this.options;
    const lr = this.lr;
    this.stepCount++;
    for (let i = 0; i < this.params.length; i++) {
      const { value: theta, grad } = this.params[i]!;
      const s = this.squareAvg[i]!;
      const gAvg = this.gradAvg ? this.gradAvg[i]! : null;
      const buf = this.momentumBuffers ? this.momentumBuffers[i]! : null;
      for (let j = 0; j < theta.length; j++) {
        const g = grad[j]! + weightDecay * theta[j]!;
        const sj = alpha * s[j]! + (1 - alpha) * g * g;
        s[j] = sj;
        let variance = sj;
        if (gAvg !== null) {
          const gj = alpha * gAvg[j]! + (1 - alpha) * g;
          gAvg[j] = gj;
          variance = sj - gj * gj;
        }
        const d = Math.sqrt(variance) + eps;
        if (buf !== null) {
          const b = momentum * buf[j]! + g / d;
          buf[j] = b;
          theta[j]! -= lr * b;
        } else {
          theta[j]! -= (lr * g) / d;
        }
      }
    }
  }

  protected hyperparameters(): Hyperparameters {
    return { ...this.options };
  }

  protected setHyperparameters(values: Hyperparameters): void {
    checkOptionNames(values, OPTION_NAMES, "RMSprop state");
    this.options = resolve(values as unknown as RMSpropHyperparameters);
  }
}

function resolve(h: RMSpropHyperparameters): RMSpropHyperparameters {
  return {
    alpha: requireNumber(h.alpha, "alpha", { min: 0 }),
    eps: requireNumber(h.eps, "eps", { min: 0 }),
    weightDecay: requireNumber(h.weightDecay, "weightDecay", { min: 0 }),
    momentum: requireNumber(h.momentum, "momentum", { min: 0 }),
    centered: requireBoolean(h.centered, "centered"),
  };
}
