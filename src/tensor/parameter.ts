/**
 * A named, trainable parameter: its value and the gradient that backward passes accumulate into.
 *
 * Names follow PyTorch's `state_dict` (`weight_ih_l0`, `bias_hh_l1_reverse`, `weight`, …) so that
 * weights move between bptt and PyTorch without reshuffling. Backward passes *add* into `grad`;
 * it is zeroed once per update (`zeroGrad`), never inside a backward pass.
 */
import { kernels } from "../kernels/index.js";
import { type Shape, shapeSize, formatShape, Tensor } from "./tensor.js";

export class Parameter {
  readonly name: string;
  readonly shape: Shape;
  readonly value: Float32Array;
  readonly grad: Float32Array;

  constructor(name: string, shape: Shape) {
    this.name = name;
    this.shape = Object.freeze([...shape]);
    const size = shapeSize(shape, `parameter ${name}`);
    this.value = kernels().allocate(size);
    this.grad = kernels().allocate(size);
  }

  get size(): number {
    return this.value.length;
  }

  /** Copies values in, checking the shape (as PyTorch's `load_state_dict` does). */
  assign(source: Tensor | Float32Array, sourceName = this.name): void {
    if (source instanceof Tensor) {
      if (source.shape.length !== this.shape.length || source.shape.some((n, i) => n !== this.shape[i])) {
        throw new RangeError(`${sourceName}: expected shape ${formatShape(this.shape)}, got ${formatShape(source.shape)}`);
      }
      this.value.set(source.data);
    } else {
      if (source.length !== this.size) {
        throw new RangeError(`${sourceName}: expected ${this.size} values for shape ${formatShape(this.shape)}, got ${source.length}`);
      }
      this.value.set(source);
    }
  }

  /** A copy of the value as a tensor. */
  toTensor(): Tensor {
    return new Tensor(this.value.slice(), this.shape);
  }

  zeroGrad(): void {
    this.grad.fill(0);
  }
}

/** Anything that owns parameters, listed in `state_dict` order. */
export interface Module {
  parameters(): Parameter[];
}

/** Name → value copies, as PyTorch's `state_dict()`. Names are prefixed with `prefix` + "." when given. */
export function stateDict(module: Module, prefix = ""): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const p of module.parameters()) out.set(prefix ? `${prefix}.${p.name}` : p.name, p.toTensor());
  return out;
}

/**
 * Loads values by name, as PyTorch's `load_state_dict(strict=True)`: every parameter must be present
 * with its exact shape, and no unknown name may remain.
 */
export function loadStateDict(module: Module, values: ReadonlyMap<string, Tensor>, prefix = ""): void {
  const params = module.parameters();
  const expected = new Set(params.map((p) => (prefix ? `${prefix}.${p.name}` : p.name)));
  for (const p of params) {
    const key = prefix ? `${prefix}.${p.name}` : p.name;
    const v = values.get(key);
    if (v === undefined) throw new RangeError(`loadStateDict: missing parameter ${key}`);
    p.assign(v, key);
  }
  for (const key of values.keys()) {
    const inScope = prefix === "" || key.startsWith(`${prefix}.`);
    if (inScope && !expected.has(key)) throw new RangeError(`loadStateDict: unexpected parameter ${key}`);
  }
}

export function zeroGrads(params: readonly Parameter[]): void {
  for (const p of params) p.zeroGrad();
}
