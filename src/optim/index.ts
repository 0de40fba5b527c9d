/**
 * The optimizers by name, for configuration files and the command line:
 *   createOptimizer("adamw", model.parameters(), { lr: 3e-4 })
 * Each name maps to one class with PyTorch's update rule and defaults; see its file for the maths.
 */
import type { Parameter } from "../tensor/parameter.js";
import { Adagrad, type AdagradOptions } from "./adagrad.js";
import { Adam, AdamW, type AdamOptions } from "./adam.js";
import type { Optimizer, OptimizerKind } from "./optimizer.js";
import { RMSprop, type RMSpropOptions } from "./rmsprop.js";
import { SGD, type SGDOptions } from "./sgd.js";

export type { Hyperparameters, Optimizer, OptimizerKind, OptimizerState, ParameterState } from "./optimizer.js";
export { OptimizerBase } from "./optimizer.js";
export { SGD, type SGDOptions } from "./sgd.js";
export { Adam, AdamW, type AdamOptions } from "./adam.js";
export { RMSprop, type RMSpropOptions } from "./rmsprop.js";
export { Adagrad, type AdagradOptions } from "./adagrad.js";
export { type ClipOptions, type ClipResult, clipGradNorm, clipGradValue, clipGradients, gradNorm } from "./clip.js";

export const OPTIMIZER_NAMES: readonly OptimizerKind[] = Object.freeze(["sgd", "adam", "adamw", "rmsprop", "adagrad"]);

export interface OptimizerOptionsByName {
  sgd: SGDOptions;
  adam: AdamOptions;
  adamw: AdamOptions;
  rmsprop: RMSpropOptions;
  adagrad: AdagradOptions;
}

export function createOptimizer<K extends OptimizerKind>(
  name: K, params: readonly Parameter[], options?: OptimizerOptionsByName[K],
): Optimizer;
export function createOptimizer(name: OptimizerKind, params: readonly Parameter[], options: object = {}): Optimizer {
  switch (name) {
    case "sgd":
      return new SGD(params, options);
    case "adam":
      return new Adam(params, options);
    case "adamw":
      return new AdamW(params, options);
    case "rmsprop":
      return new RMSprop(params, options);
    case "adagrad":
      return new Adagrad(params, options);
    default:
      throw new RangeError(`unknown optimizer ${JSON.stringify(name)}: expected one of ${OPTIMIZER_NAMES.join(", ")}`);
  }
}
