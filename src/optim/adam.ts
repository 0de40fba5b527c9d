/**
 * Adam and AdamW, as PyTorch's `torch.optim.Adam` and `torch.optim.AdamW`. Per element, at step t:
 *
 *   Adam  (L2 penalty, coupled):    g = grad + weightDecay · θ
 *   AdamW (decoupled decay):        g = grad,   θ = θ · (1 − lr · weightDecay)
 *   m = β1 · m + (1 − β1) · g                  (exp_avg)
 *   v = β2 · v + (1 − β2) · g²                 (exp_avg_sq)
 *   v̂ = max(v̂, v) with amsgrad (max_exp_avg_sq), else v̂ = v
 *   θ = θ − (lr / (1 − β1ᵗ)) · m / (√v̂ / √(1 − β2ᵗ) + eps)
 *
 * eps is added after the bias correction of √v̂, as PyTorch does (not the "ε̂" of the paper's
 * efficient form, which adds it to √v̂ itself). Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8,
 * weightDecay 0 for Adam and 1e-2 for AdamW, amsgrad false.
 *
 * The per-element loop is the kernel `adamStep` (kernels.ts), in float64 per element on every backend,
 * so the update is bit-identical whichever backend runs it.
 */
import { kernels } from "../kernels/index.js";
import type { Parameter } from "../tensor/parameter.js";
import {
  type Hyperparameters, OptimizerBase, checkOptionNames, requireBoolean, requireNumber,
} from "./optimizer.js";

export interface AdamOptions {
  lr?: number;
  /** (β1, β2), each in [0, 1): decay rates of the first and second moment estimates. */
  betas?: readonly [number, number];
  /** Added to the denominator for numerical stability. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient. AdamW: decoupled decay rate (θ shrinks by lr · weightDecay). */
  weightDecay?: number;
  /** Use the maximum of past second moments (Reddi et al. 2018). */
  amsgrad?: boolean;
}

const OPTION_NAMES = ["lr", "betas", "eps", "weightDecay", "amsgrad"] as const;

interface AdamHyperparameters {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

/** The shared update of Adam and AdamW; they differ only in how weight decay enters. */
abstract class AdamFamily extends OptimizerBase {
  private options: AdamHyperparameters;
  private readonly decoupledWeightDecay: boolean;
  private readonly expAvg: Float32Array[];
  private readonly expAvgSq: Float32Array[];
  private readonly maxExpAvgSq: Float32Array[] | null;

  protected constructor(
    params: readonly Parameter[], options: AdamOptions,
    variant: { name: string; decoupledWeightDecay: boolean; defaultWeightDecay: number },
  ) {
    checkOptionNames(options, OPTION_NAMES, variant.name);
    super(params, options.lr ?? 1e-3);
    this.decoupledWeightDecay = variant.decoupledWeightDecay;
    this.options = resolve({
      betas: [...(options.betas ?? [0.9, 0.999])] as [number, number],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? variant.defaultWeightDecay,
      amsgrad: options.amsgrad ?? false,
    });
    this.expAvg = this.allocateBuffer("exp_avg");
    this.expAvgSq = this.allocateBuffer("exp_avg_sq");
    this.maxExpAvgSq = this.options.amsgrad ? this.allocateBuffer("max_exp_avg_sq") : null;
  }

  step(): void {
    const { betas, eps, weightDecay, amsgrad } = this.options;
    const beta1 = betas[0];
    const beta2 = betas[1];
    const lr = this.lr;
    const t = ++this.stepCount;
    const stepSize = lr / (1 - beta1 ** t);
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** t);
    // Coupled: the penalty enters the gradient. Decoupled: θ shrinks before the update.
    const l2 = this.decoupledWeightDecay ? 0 : weightDecay;
    const shrink = this.decoupledWeightDecay ? 1 - lr * weightDecay : 1;
    const k = kernels();
    for (let i = 0; i < this.params.length; i++) {
      const { value: theta, grad } = this.params[i]!;
      const vMax = amsgrad ? this.maxExpAvgSq![i]! : null;
      k.adamStep(theta.length, theta, 0, grad, 0, this.expAvg[i]!, 0, this.expAvgSq[i]!, 0, vMax, 0, beta1, beta2, eps, stepSize, biasCorrection2Sqrt, l2, shrink);
    }
  }

  protected hyperparameters(): Hyperparameters {
    return { ...this.options, betas: [...this.options.betas] };
  }

  protected setHyperparameters(values: Hyperparameters): void {
    checkOptionNames(values, OPTION_NAMES, `${this.kind} state`);
    this.options = resolve(values as unknown as AdamHyperparameters);
  }
}

/** Adam with L2 regularisation in the gradient (torch.optim.Adam). */
export class Adam extends AdamFamily {
  readonly kind = "adam" as const;

  constructor(params: readonly Parameter[], options: AdamOptions = {}) {
    super(params, options, { name: "Adam", decoupledWeightDecay: false, defaultWeightDecay: 0 });
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter 2019; torch.optim.AdamW). */
export class AdamW extends AdamFamily {
  readonly kind = "adamw" as const;

  constructor(params: readonly Parameter[], options: AdamOptions = {}) {
    super(params, options, { name: "AdamW", decoupledWeightDecay: true, defaultWeightDecay: 1e-2 });
  }
}

function resolve(h: AdamHyperparameters): AdamHyperparameters {
  const betas = h.betas;
  if (!Array.isArray(betas) || betas.length !== 2) {
    throw new RangeError(`betas must be a pair [beta1, beta2], got ${JSON.stringify(betas)}`);
  }
  return {
    betas: [requireNumber(betas[0], "betas[0]", { min: 0, below: 1 }), requireNumber(betas[1], "betas[1]", { min: 0, below: 1 })],
    eps: requireNumber(h.eps, "eps", { min: 0 }),
    weightDecay: requireNumber(h.weightDecay, "weightDecay", { min: 0 }),
    amsgrad: requireBoolean(h.amsgrad, "amsgrad"),
  };
}
