/**
 * The optimizer contract, and the bookkeeping every optimizer shares.
 *
 * An optimizer updates a fixed list of parameters from the gradients that backward passes have
 * accumulated in `param.grad`:
 *   zeroGrad()  →  forward / backward (grads += …)  →  [clip]  →  step()
 * Each update rule is PyTorch's (torch.optim, 1.13), element for element, computed in float64 and
 * stored in float32; `lr` may be changed between steps (learning-rate schedules).
 *
 * Memory: the state buffers (momentum, moment estimates, …) are allocated once, at construction,
 * as one flat array per kind with a view per parameter; `step` allocates nothing.
 *
 * Checkpoints: `stateDict()` returns plain data (numbers, booleans, arrays and Float32Array copies,
 * structured-cloneable); `loadStateDict` restores it, including the hyperparameters and `lr`, as
 * PyTorch's `load_state_dict` does. Parameters are matched by position, checked by name and size.
 */
import { kernels } from "../kernels/index.js";
import { Parameter } from "../tensor/parameter.js";

export type OptimizerKind = "sgd" | "adam" | "adamw" | "rmsprop" | "adagrad";

export type Hyperparameters = Record<string, number | boolean | number[]>;

export interface Optimizer {
  readonly kind: OptimizerKind;
  readonly params: readonly Parameter[];
  /** The learning rate of the next step: finite and ≥ 0. Set it to follow a schedule. */
  lr: number;
  /** Steps taken so far. */
  readonly steps: number;
  /** Updates every parameter from its gradient. */
  step(): void;
  /** Sets every gradient to 0 (PyTorch 2 sets them to None; here they are always allocated). */
  zeroGrad(): void;
  /** A copy of the optimizer's state, as plain data. */
  stateDict(): OptimizerState;
  /** Restores a state from `stateDict()` of an optimizer of the same kind over the same parameters. */
  loadStateDict(state: OptimizerState): void;
}

export interface OptimizerState {
  kind: OptimizerKind;
  /** Steps taken (PyTorch keeps one `step` per parameter; here they always agree). */
  steps: number;
  /** Every hyperparameter, including lr, by its option name (e.g. `weightDecay`). */
  hyperparameters: Hyperparameters;
  /** Per parameter, in order: its name and size (checked on load) and its state buffers. */
  parameters: ParameterState[];
}

export interface ParameterState {
  name: string;
  size: number;
  /** Named buffers as PyTorch names them (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, …). */
  buffers: Record<string, ArrayLike<number>>;
}

/** Shared bookkeeping: parameters, lr, step count, buffers, zeroGrad and the state round trip. */
export abstract class OptimizerBase implements Optimizer {
  abstract readonly kind: OptimizerKind;
  readonly params: readonly Parameter[];
  protected stepCount = 0;
  private learningRate = 0;
  /** Buffer name → one view per parameter. */
  private readonly buffers = new Map<string, Float32Array[]>();

  protected constructor(params: readonly Parameter[], lr: number) {
    this.params = validateParams(params);
    this.lr = lr;
  }

  get lr(): number {
    return this.learningRate;
  }

  set lr(value: number) {
    requireNumber(value, "lr", { min: 0 });
    this.learningRate = value;
  }

  get steps(): number {
    return this.stepCount;
  }

  abstract step(): void;

  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0);
  }

  stateDict(): OptimizerState {
    return {
      kind: this.kind,
      steps: this.stepCount,
      hyperparameters: { lr: this.lr, ...this.hyperparameters() },
      parameters: this.params.map((p, i) => {
        const buffers: Record<string, Float32Array> = {};
        for (const [name, views] of this.buffers) buffers[name] = views[i]!.slice();
        return { name: p.name, size: p.size, buffers };
      }),
    };
  }

  loadStateDict(state: OptimizerState): void {
    if (state.kind !== this.kind) throw new RangeError(`loadStateDict: the state is for ${state.kind}, not ${this.kind}`);
    if (!Number.isSafeInteger(state.steps) || state.steps < 0) {
      throw new RangeError(`loadStateDict: steps must be a non-negative integer, got ${state.steps}`);
    }
    if (state.parameters.length !== this.params.length) {
      throw new RangeError(`loadStateDict: the state has ${state.parameters.length} parameters, expected ${this.params.length}`);
    }
    const names = [...this.buffers.keys()].sort().join(", ");
    state.parameters.forEach((s, i) => {
      const p = this.params[i]!;
      if (s.name !== p.name || s.size !== p.size) {
        throw new RangeError(`loadStateDict: parameter ${i} is ${s.name} (${s.size} values) in the state, expected ${p.name} (${p.size} values)`);
      }
      const stateNames = Object.keys(s.buffers).sort().join(", ");
      if (stateNames !== names) {
        throw new RangeError(`loadStateDict: parameter ${i} (${p.name}) has buffers [${stateNames}], expected [${names}] (construct the optimizer with the checkpoint's options)`);
      }
      for (const [name, values] of Object.entries(s.buffers)) {
        if (values.length !== p.size) {
          throw new RangeError(`loadStateDict: buffer ${name} of ${p.name} has ${values.length} values, expected ${p.size}`);
        }
      }
    });
    // Everything is checked before anything changes: a rejected state leaves the optimizer as it was.
    const { lr, ...rest } = state.hyperparameters;
    requireNumber(lr, "hyperparameters.lr", { min: 0 });
    this.setHyperparameters(rest);
    this.lr = lr as number;
    state.parameters.forEach((s, i) => {
      for (const [name, values] of Object.entries(s.buffers)) this.buffers.get(name)![i]!.set(values);
    });
    this.stepCount = state.steps;
  }

  /** Hyperparameters other than lr, for the state. */
  protected abstract hyperparameters(): Hyperparameters;

  /** Validates and applies hyperparameters read from a state (every key but lr). */
  protected abstract setHyperparameters(values: Hyperparameters): void;

  /** One flat allocation holding a buffer per parameter, filled with `fill`; returns the per-parameter views. */
  protected allocateBuffer(name: string, fill = 0): Float32Array[] {
    const total = this.params.reduce((n, p) => n + p.size, 0);
    const flat = kernels().allocate(total);
    if (fill !== 0) flat.fill(fill);
    let offset = 0;
    const views = this.params.map((p) => {
      const v = flat.subarray(offset, offset + p.size);
      offset += p.size;
      return v;
    });
    this.buffers.set(name, views);
    return views;
  }
}

export interface NumberRange {
  min?: number;
  /** Exclusive upper bound. */
  below?: number;
}

/** Throws a RangeError naming the argument unless it is a finite number within the range. */
export function requireNumber(value: unknown, name: string, range: NumberRange = {}): number {
  const ok = typeof value === "number" && Number.isFinite(value)
    && (range.min === undefined || value >= range.min)
    && (range.below === undefined || value < range.below);
  if (!ok) {
    const bounds = range.min !== undefined && range.below !== undefined ? ` in [${range.min}, ${range.below})`
      : range.min !== undefined ? ` ≥ ${range.min}` : range.below !== undefined ? ` < ${range.below}` : "";
    throw new RangeError(`${name} must be a finite number${bounds}, got ${String(value)}`);
  }
  return value as number;
}

export function requireBoolean(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") throw new RangeError(`${name} must be true or false, got ${String(value)}`);
  return value;
}

/** Rejects option names the optimizer does not know (a typo such as `weight_decay` would otherwise be ignored). */
export function checkOptionNames(options: object, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new RangeError(`${what}: unknown option ${JSON.stringify(key)}; expected one of ${allowed.join(", ")}`);
    }
  }
}

function validateParams(params: readonly Parameter[]): readonly Parameter[] {
  if (!Array.isArray(params) || params.length === 0) {
    throw new RangeError("params must be a non-empty array of Parameter");
  }
  const seen = new Set<Parameter>();
  params.forEach((p, i) => {
    if (!(p instanceof Parameter)) throw new RangeError(`params[${i}] must be a Parameter`);
    if (seen.has(p)) throw new RangeError(`params[${i}] (${p.name}) appears more than once`);
    seen.add(p);
  });
  return Object.freeze([...params]);
}
