/**
 * The skeleton every cell shares, so that each cell file holds only its own maths: the parameters,
 * the cache bookkeeping at the start of forward and backward, the initial state and the buffers
 * common to all cells (by time index t):
 *
 *   hPrev (T, B, H)  the state entering step t (the forward direction's h_{t−1}, the reverse's h_{t+1})
 *   out   (T, B, H)  the outputs, 0 at masked steps
 *   hN    (B, H)     the final state
 *
 * and, for backward, dh (B, H) carrying dL/dh from step to step and dx (T, B, I).
 */
import { kernels } from "../kernels/index.js";
import {
  type BackwardCut, type BackwardInput, type BackwardOutput, type Cell, type CellKind, type CellOptions,
  type ChunkInput, CellParameters, ChunkCache, backwardMask, timeAt, validateBackward, validateChunk,
} from "./cell.js";

/** What every forward pass starts from. */
export interface ForwardFrame {
  T: number;
  B: number;
  x: Float32Array;
  mask: Float32Array | null;
  hPrev: Float32Array;
  out: Float32Array;
  hN: Float32Array;
}

/** What every backward pass starts from. */
export interface BackwardFrame {
  T: number;
  B: number;
  x: Float32Array;
  /** The mask backward uses (the forward mask, and 0 before each row's first back-propagated step). */
  mask: Float32Array | null;
  /** Lowest first step over the rows: backward walks s = T−1 … firstStep. */
  firstStep: number;
  hPrev: Float32Array;
  /** (T, B, H) dL/d out, zeros when no loss reads the chunk. */
  dOut: Float32Array;
  /** (B, H) dL/dh carried from step to step, initialised to dhN. */
  dh: Float32Array;
  dx: Float32Array;
  /** The weights the forward pass used (see BackwardInput.weights). */
  weightIh: Float32Array;
  weightHh: Float32Array;
  /** Diagnostics: ‖dL/dh_t‖² per step, or null. */
  norms: Float64Array | null;
  cut: BackwardCut;
}

export abstract class BaseCell implements Cell {
  abstract readonly kind: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly reverse: boolean;
  readonly params: CellParameters;

  protected constructor(kind: CellKind, options: CellOptions) {
    this.inputSize = options.inputSize;
    this.hiddenSize = options.hiddenSize;
    this.reverse = options.reverse ?? false;
    this.params = new CellParameters(kind, options);
  }

  createCache(): ChunkCache {
    return new ChunkCache();
  }

  abstract forward(input: ChunkInput, cache?: ChunkCache): ChunkCache;
  abstract backward(cache: ChunkCache, grads: BackwardInput): BackwardOutput;

  finalState(cache: ChunkCache): { h: Float32Array; c: Float32Array | null } {
    return { h: cache.buffer("hN", cache.B * this.hiddenSize), c: null };
  }

  output(cache: ChunkCache): Float32Array {
    return cache.buffer("out", cache.T * cache.B * this.hiddenSize);
  }

  /** The time index of processing step s. */
  protected time(s: number, T: number): number {
    return timeAt(s, T, this.reverse);
  }

  /**
   * Where step s writes its new state: the next step's hPrev slot, or hN after the last step
   * (buffer and offset apart, not as a tuple: this runs every step and must not allocate).
   */
  protected nextStateBuffer(frame: ForwardFrame, s: number): Float32Array {
    return s < frame.T - 1 ? frame.hPrev : frame.hN;
  }

  protected nextStateOffset(frame: ForwardFrame, s: number): number {
    return s < frame.T - 1 ? this.time(s + 1, frame.T) * frame.B * this.hiddenSize : 0;
  }

  /** Validates the chunk, records it in the cache and writes h0 into the first step's hPrev slot. */
  protected beginForward(input: ChunkInput, cache: ChunkCache): ForwardFrame {
    validateChunk(this, input);
    const { T, B, x } = input;
    const BH = B * this.hiddenSize;
    cache.T = T;
    cache.B = B;
    cache.x = x;
    cache.mask = input.mask ?? null;
    cache.inputRows = input.inputRows ?? null;
    const hPrev = cache.buffer("hPrev", T * BH);
    const first = this.time(0, T) * BH;
    if (input.h0) hPrev.set(input.h0, first);
    else hPrev.fill(0, first, first + BH);
    return { T, B, x, mask: cache.mask, hPrev, out: cache.buffer("out", T * BH), hN: cache.buffer("hN", BH) };
  }

  /** Validates the gradients and prepares the buffers every backward pass uses. */
  protected beginBackward(cache: ChunkCache, grads: BackwardInput): BackwardFrame {
    const cut = validateBackward(cache, grads, this.hiddenSize, this.reverse);
    const { T, B, x } = cache;
    const BH = B * this.hiddenSize;
    const dh = cache.buffer("dh", BH);
    if (grads.dhN) dh.set(grads.dhN);
    else dh.fill(0);
    return {
      T, B, x, cut,
      mask: backwardMask(cache, cut),
      firstStep: cut.lowest,
      hPrev: cache.buffer("hPrev", T * BH),
      // Never written: stays zero.
      dOut: grads.dOut ?? cache.buffer("zeros", T * BH),
      dh,
      dx: cache.buffer("dx", T * B * this.inputSize),
      weightIh: grads.weights?.weightIh ?? this.params.weightIh.value,
      weightHh: grads.weights?.weightHh ?? this.params.weightHh.value,
      norms: grads.stateGradNormSq ?? null,
    };
  }

  /** Diagnostics: records ‖dL/dh_t‖² (carried gradient plus the output's) before step t is back-propagated. */
  protected recordNorm(frame: BackwardFrame, t: number): void {
    if (frame.norms) {
      const BH = frame.B * this.hiddenSize;
      frame.norms[t] = kernels().sumSquares(BH, frame.dh, 0, frame.dOut, t * BH);
    }
  }
}
