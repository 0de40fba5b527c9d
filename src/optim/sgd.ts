/**
 * Stochastic gradient descent with momentum, as PyTorch's `torch.optim.SGD`. Per element, at step t:
 *
 *   g = grad + weightDecay · θ
 *   momentum ≠ 0:   b = g                                  (t = 1: the buffer starts as the gradient)
 *                   b = momentum · b + (1 − dampening) · g (t > 1)
 *                   g = g + momentum · b   (Nesterov)   or   g = b
 *   θ = θ − lr · g
 *
 * State: momentum_buffer (one per parameter, only when momentum ≠ 0).
 * Nesterov needs momentum > 0 and dampening = 0, as in PyTorch.
 */
import type { Parameter } from "../tensor/parameter.js";
import {
  type Hyperparameters, OptimizerBase, checkOptionNames, requireBoolean, requireNumber,
} from "./optimizer.js";

export interface SGDOptions {
  /** Learning rate, default 1e-3 (PyTorch ≥ 2.2's default; 1.13 required it). */
  lr?: number;
  /** Default 0 (plain gradient descent). */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** Default false. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient, default 0. */
  weightDecay?: number;
}

const OPTION_NAMES = ["lr", "momentum", "dampening", "nesterov", "weightDecay"] as const;

interface SGDHyperparameters {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

export class SGD extends OptimizerBase {
  readonly kind = "sgd" as const;
  private options: SGDHyperparameters;
  private readonly momentumBuffers: Float32Array[] | null;

  constructor(params: readonly Parameter[], options: SGDOptions = {}) {
    checkOptionNames(options, OPTION_NAMES, "SGD");
    super(params, options.lr ?? 1e-3);
    this.options = resolve({
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      nesterov: options.nesterov ?? false,
      weightDecay: options.weightDecay ?? 0,
    });
    this.momentumBuffers = this.options.momentum !== 0 ? this.allocateBuffer("momentum_buffer") : null;
  }

  step(): void {
    const { momentum, dampening, nesterov, weightDecay } = this.options;
    const lr = this.lr;
    const first = this.stepCount === 0;
    this.stepCount++;
    for (let i = 0; i < this.params.length; i++) {
      const { value: theta, grad } = this.params[i]!;
      const buf = this.momentumBuffers ? this.momentumBuffers[i]! : null;
      for (let j = 0; j < theta.length; j++) {
        let g = grad[j]! + weightDecay * theta[j]!;
        if (buf !== null) {
          const b = first ? g : momentum * buf[j]! + (1 - dampening) * g;
          buf[j] = b;
          g = nesterov ? g + momentum * b : b;
        }
        theta[j]! -= lr * g;
      }
    }
  }

  protected hyperparameters(): Hyperparameters {
    return { ...this.options };
  }

  protected setHyperparameters(values: Hyperparameters): void {
    checkOptionNames(values, OPTION_NAMES, "SGD state");
    this.options = resolve(values as unknown as SGDHyperparameters);
  }
}

function resolve(h: SGDHyperparameters): SGDHyperparameters {
  const momentum = requireNumber(h.momentum, "momentum", { min: 0 });
  const dampening = requireNumber(h.dampening, "dampening");
  const nesterov = requireBoolean(h.nesterov, "nesterov");
  const weightDecay = requireNumber(h.weightDecay, "weightDecay", { min: 0 });
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw new RangeError(`nesterov requires momentum > 0 and dampening = 0, got momentum ${momentum}, dampening ${dampening}`);
  }
  return { momentum, dampening, nesterov, weightDecay };
}
