/**
 * A dense, row-major float32 tensor with an explicit shape.
 *
 * bptt keeps tensors deliberately thin: the data is a plain `Float32Array` (so it can live in
 * WebAssembly memory or a SharedArrayBuffer), the shape is a frozen array of sizes, and all
 * arithmetic happens in kernels (`src/kernels`) that work on whole blocks.
 *
 * Recurrent tensors are time-major, as in PyTorch's default `batch_first=False`:
 *   x: (T, B, I)   T = time steps, B = batch, I = input features
 */
export type Shape = readonly number[];

export class Tensor {
  readonly data: Float32Array;
  readonly shape: Shape;

  constructor(data: Float32Array, shape: Shape) {
    const size = shapeSize(shape, "shape");
    if (data.length !== size) {
      throw new RangeError(`Tensor: data has ${data.length} elements but shape [${shape.join(", ")}] needs ${size}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
  }

  static zeros(shape: Shape): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape, "shape")), shape);
  }

  /** Copies `values` (any array-like of numbers) into a new tensor of the given shape. */
  static from(values: ArrayLike<number>, shape: Shape): Tensor {
    return new Tensor(Float32Array.from(values), shape);
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** A new tensor with its own copy of the data. */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /** The same data seen with another shape of equal size (no copy). */
  reshape(shape: Shape): Tensor {
    return new Tensor(this.data, shape);
  }

  /** Element at a multi-index, e.g. `t.at(step, batch, feature)`. Bounds-checked; for tests and glue, not hot loops. */
  at(...index: number[]): number {
    return this.data[this.offsetOf(index)]!;
  }

  /** Nested plain arrays, for printing and JSON. */
  toArray(): unknown {
    const build = (dim: number, offset: number): unknown => {
      const n = this.shape[dim]!;
      if (dim === this.shape.length - 1) return Array.from(this.data.subarray(offset, offset + n));
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: n }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return this.shape.length === 0 ? this.data[0] : build(0, 0);
  }

  private offsetOf(index: number[]): number {
    if (index.length !== this.shape.length) {
      throw new RangeError(`Tensor.at: expected ${this.shape.length} indices, got ${index.length}`);
    }
    let offset = 0;
    for (let d = 0; d < index.length; d++) {
      const i = index[d]!;
      const n = this.shape[d]!;
      if (!Number.isInteger(i) || i < 0 || i >= n) {
        throw new RangeError(`Tensor.at: index ${i} out of range [0, ${n}) in dimension ${d}`);
      }
      offset = offset * n + i;
    }
    return offset;
  }
}

/** Number of elements of a shape; every size must be a non-negative integer. */
export function shapeSize(shape: Shape, what: string): number {
  let size = 1;
  for (const n of shape) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`${what}: sizes must be non-negative integers, got [${shape.join(", ")}]`);
    }
    size *= n;
  }
  if (!Number.isSafeInteger(size)) throw new RangeError(`${what}: [${shape.join(", ")}] is too large`);
  return size;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}
