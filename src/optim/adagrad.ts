/**
 * Adagrad, as PyTorch's `torch.optim.Adagrad`. Per element, at step t:
 *
 *   g = grad + weightDecay · θ
 *   clr = lr / (1 + (t − 1) · lrDecay)
 *   s = s + g²                                (sum, starting at initialAccumulatorValue)
 *   θ = θ − clr · g / (√s + eps)
 *
 * Defaults: lr 1e-2, lrDecay 0, weightDecay 0, initialAccumulatorValue 0, eps 1e-10.
 */
import type { Parameter } from "../tensor/parameter.js";
import {
  type Hyperparameters, OptimizerBase, checkOptionNames, requireNumber,
} from "./optimizer.js";

export interface AdagradOptions {
  lr?: number;
  /** The learning rate at step t is lr / (1 + (t − 1) · lrDecay). */
  lrDecay?: number;
  weightDecay?: number;
  /** Starting value of the sum of squared gradients. */
  initialAccumulatorValue?: number;
  eps?: number;
}

const OPTION_NAMES = ["lr", "lrDecay", "weightDecay", "initialAccumulatorValue", "eps"] as const;

interface AdagradHyperparameters {
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
}

export class Adagrad extends OptimizerBase {
  readonly kind = "adagrad" as const;
  private options: AdagradHyperparameters;
  private readonly sums: Float32Array[];

  constructor(params: readonly Parameter[], options: AdagradOptions = {}) {
    checkOptionNames(options, OPTION_NAMES, "Adagrad");
    super(params, options.lr ?? 1e-2);
    this.options = resolve({
      lrDecay: options.lrDecay ?? 0,
      weightDecay: options.weightDecay ?? 0,
      initialAccumulatorValue: options.initialAccumulatorValue ?? 0,
      eps: options.eps ?? 1e-10,
    });
    this.sums = this.allocateBuffer("sum", this.options.initialAccumulatorValue);
  }

  step(): void {
    const { lrDecay, weightDecay, eps } = this.options;
    const t = ++this.stepCount;
    const clr = this.lr / (1 + (t - 1) * lrDecay);
    for (let i = 0; i < this.params.length; i++) {
      const { value: theta, grad } = this.params[i]!;
      const s = this.sums[i]!;
      for (let j = 0; j < theta.length; j++) {
        const g = grad[j]! + weightDecay * theta[j]!;
        const sj = s[j]! + g * g;
        s[j] = sj;
        theta[j]! -= (clr * g) / (Math.sqrt(sj) + eps);
      }
    }
  }

  protected hyperparameters(): Hyperparameters {
    return { ...this.options };
  }

  protected setHyperparameters(values: Hyperparameters): void {
    checkOptionNames(values, OPTION_NAMES, "Adagrad state");
    this.options = resolve(values as unknown as AdagradHyperparameters);
  }
}

function resolve(h: AdagradHyperparameters): AdagradHyperparameters {
  return {
    lrDecay: requireNumber(h.lrDecay, "lrDecay", { min: 0 }),
    weightDecay: requireNumber(h.weightDecay, "weightDecay", { min: 0 }),
    initialAccumulatorValue: requireNumber(h.initialAccumulatorValue, "initialAccumulatorValue", { min: 0 }),
    eps: requireNumber(h.eps, "eps", { min: 0 }),
  };
}
