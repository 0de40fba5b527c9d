/**
 * Dense (fully connected) layer, as PyTorch's `nn.Linear`: y = x·Wᵀ + b.
 *
 *   forward:   out = x · Wᵀ + b                 out: (N, O) = x: (N, I) · weight: (O, I)ᵀ
 *   backward:  dweight += dOutᵀ · x             (O, I) = dOut: (N, O)ᵀ · x: (N, I)
 *              dbias   += Σ_rows dOut           (O)
 *              dx       = dOut · W              (N, I) = dOut: (N, O) · weight: (O, I)
 *
 * N = rows, I = inFeatures, O = outFeatures. On a time-major (T, B, F) block, every step at once is
 * simply N = T·B rows; to apply the layer at chosen steps only (the last step, or each sequence's own
 * last step), gather those rows first with `select-steps.ts`.
 *
 * Initialisation as PyTorch: weight and bias ~ U(−1/√I, 1/√I), drawn in that order.
 * Backward adds into `weight.grad` and `bias.grad`; it never zeroes them.
 */
import { kernels } from "../kernels/index.js";
import { type Module, Parameter } from "../tensor/parameter.js";
import type { Rng } from "../tensor/rng.js";

export interface DenseOptions {
  /** I: features per input row. */
  inFeatures: number;
  /** O: features per output row. */
  outFeatures: number;
  /** Whether the layer adds a learned bias. Default true. */
  bias?: boolean;
  /** Draws the initial weights. */
  rng: Rng;
}

/** What forward saves for backward, with buffers reused by later calls on the same cache. */
export class DenseCache {
  /** N: rows of the last forward. */
  rows = 0;
  /** (N, I) the input of the last forward, kept by reference: do not modify it before backward. */
  x: Float32Array = new Float32Array(0);
  /** (N, O) the output of the last forward. */
  out: Float32Array = new Float32Array(0);
  /** (N, I) dL/dx from the last backward. */
  dx: Float32Array = new Float32Array(0);
  private outStorage: Float32Array = new Float32Array(0);
  private dxStorage: Float32Array = new Float32Array(0);

  reserveOut(length: number): Float32Array {
    if (this.outStorage.length < length) this.outStorage = kernels().allocate(length);
    this.out = this.outStorage.length === length ? this.outStorage : this.outStorage.subarray(0, length);
    return this.out;
  }

  reserveDx(length: number): Float32Array {
    if (this.dxStorage.length < length) this.dxStorage = kernels().allocate(length);
    this.dx = this.dxStorage.length === length ? this.dxStorage : this.dxStorage.subarray(0, length);
    return this.dx;
  }
}

export class Dense implements Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** (O, I) */
  readonly weight: Parameter;
  /** (O), or null without bias. */
  readonly bias: Parameter | null;

  constructor(options: DenseOptions) {
    const { inFeatures: I, outFeatures: O } = options;
    requirePositiveInteger(I, "inFeatures");
    requirePositiveInteger(O, "outFeatures");
    this.inFeatures = I;
    this.outFeatures = O;
    this.weight = new Parameter("weight", [O, I]);
    this.bias = (options.bias ?? true) ? new Parameter("bias", [O]) : null;
    // nn.Linear: kaiming_uniform_(a=√5) on the weight gives bound 1/√I; the bias uses 1/√fan_in too.
    const bound = 1 / Math.sqrt(I);
    options.rng.fillUniform(this.weight.value, -bound, bound);
    if (this.bias) options.rng.fillUniform(this.bias.value, -bound, bound);
  }

  /** In PyTorch's state_dict order: weight, bias. */
  parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }

  createCache(): DenseCache {
    return new DenseCache();
  }

  /** out: (N, O) = x: (N, I) · Wᵀ + b, N = rows. Returns the cache, whose `out` holds the result. */
  forward(x: Float32Array, rows: number, cache: DenseCache = this.createCache()): DenseCache {
    const I = this.inFeatures;
    const O = this.outFeatures;
    requirePositiveInteger(rows, "rows");
    if (x.length !== rows * I) {
      throw new RangeError(`x must have shape (N=${rows}, I=${I}) = ${rows * I} values, got ${x.length}`);
    }
    const k = kernels();
    const out = cache.reserveOut(rows * O);
    k.gemm(false, true, rows, O, I, x, 0, I, this.weight.value, 0, I, false, out, 0, O);
    if (this.bias) k.addRowVector(rows, O, out, 0, this.bias.value, 0);
    cache.rows = rows;
    cache.x = x;
    return cache;
  }

  /**
   * Accumulates dweight += dOutᵀ·x and dbias += Σ_rows dOut; returns dx: (N, I) = dOut · W, owned by
   * the cache (valid until its next backward), or written into `dxInto` (N·I values) when given.
   * dOut: (N, O).
   */
  backward(cache: DenseCache, dOut: Float32Array, dxInto?: Float32Array): Float32Array {
    const { rows, x } = cache;
    const I = this.inFeatures;
    const O = this.outFeatures;
    if (rows === 0) throw new RangeError("Dense.backward: the cache holds no forward pass");
    if (dOut.length !== rows * O) {
      throw new RangeError(`dOut must have shape (N=${rows}, O=${O}) = ${rows * O} values, got ${dOut.length}`);
    }
    const k = kernels();
    k.gemm(true, false, O, I, rows, dOut, 0, O, x, 0, I, true, this.weight.grad, 0, I);
    if (this.bias) k.sumRowsInto(rows, O, dOut, 0, this.bias.grad, 0);
    if (dxInto && dxInto.length !== rows * I) {
      throw new RangeError(`dxInto must have room for (N=${rows}, I=${I}) = ${rows * I} values, got ${dxInto.length}`);
    }
    const dx = dxInto ?? cache.reserveDx(rows * I);
    k.gemm(false, false, rows, I, O, dOut, 0, O, this.weight.value, 0, I, false, dx, 0, I);
    return dx;
  }
}

function requirePositiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}
