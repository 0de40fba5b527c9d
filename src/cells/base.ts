/**
 * The skeleton every cell shares, so that each cell file holds only its own maths: the parameters,
 * the bookkeeping at the start of forward and backward (validation, the buffers of chunk-cache.ts,
 * the initial state), the input projection and the direction of the walk over time.
 */
import { kernels } from "../kernels/index.js";
import type {
  BackwardInput, BackwardOutput, Cell, CellKind, CellOptions, ChunkInput, StateSizes, StepState, TangentStep,
} from "./cell.js";
import type { ChunkCache } from "./chunk-cache.js";
import { CellParameters } from "./parameters.js";
import { type BackwardCut, backwardMask, validateBackward, validateChunk } from "./validate.js";

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

export interface CellShape {
  /** G: the gate blocks (RNN 1, GRU 3, LSTM 4). */
  gates: number;
  /** Whether the cell carries a cell state c besides h (the LSTM). */
  cellState: boolean;
  /**
   * Whether b_hh is added to the input projection, outside the recurrence (RNN, LSTM), or kept with
   * W_hh·h (the GRU, whose reset gate multiplies W_hn·h + b_hn).
   */
  hiddenBiasInInput: boolean;
}

export abstract class BaseCell<C extends ChunkCache> implements Cell<C> {
  abstract readonly kind: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly stateSizes: StateSizes;
  readonly gateSize: number;
  readonly reverse: boolean;
  readonly params: CellParameters;
  protected readonly hiddenBiasInInput: boolean;

  protected constructor(shape: CellShape, options: CellOptions) {
    this.params = new CellParameters(shape.gates, options);
    this.inputSize = options.inputSize;
    this.hiddenSize = options.hiddenSize;
    this.stateSizes = Object.freeze({ h: options.hiddenSize, c: shape.cellState ? options.hiddenSize : 0 });
    this.gateSize = shape.gates * options.hiddenSize;
    this.reverse = options.reverse ?? false;
    this.hiddenBiasInInput = shape.hiddenBiasInInput;
  }

  abstract createCache(): C;
  abstract forward(input: ChunkInput, cache?: C): C;
  abstract backward(cache: C, grads: BackwardInput): BackwardOutput;
  abstract step(B: number, proj: Float32Array, state: StepState, out: Float32Array, scratch: C): void;
  abstract tangent(cache: C, t: number, step: TangentStep): void;

  finalState(cache: C): { h: Float32Array; c: Float32Array | null } {
    return { h: cache.hN.reserve(cache.B * this.hiddenSize), c: null };
  }

  output(cache: C): Float32Array {
    return cache.out.reserve(cache.T * cache.B * this.hiddenSize);
  }

  projectInput(rows: number, x: Float32Array, xOffset: number, proj: Float32Array, projOffset: number): void {
    this.params.project(rows, x, xOffset, proj, projOffset, this.hiddenBiasInInput);
  }

  /** The time index of processing step s (the reverse direction walks from T−1 down to 0). */
  protected time(s: number, T: number): number {
    return this.reverse ? T - 1 - s : s;
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
  protected beginForward(input: ChunkInput, cache: C): ForwardFrame {
    validateChunk(this, input);
    const { T, B, x } = input;
    const BH = B * this.hiddenSize;
    cache.T = T;
    cache.B = B;
    cache.x = x;
    cache.mask = input.mask ?? null;
    cache.inputRows = input.inputRows ?? null;
    const hPrev = cache.hPrev.reserve(T * BH);
    const first = this.time(0, T) * BH;
    if (input.h0) hPrev.set(input.h0, first);
    else hPrev.fill(0, first, first + BH);
    return { T, B, x, mask: cache.mask, hPrev, out: cache.out.reserve(T * BH), hN: cache.hN.reserve(BH) };
  }

  /** Validates the gradients and prepares the buffers every backward pass uses. */
  protected beginBackward(cache: C, grads: BackwardInput): BackwardFrame {
    const cut = validateBackward(cache, grads, this.hiddenSize, this.reverse);
    const { T, B, x } = cache;
    const BH = B * this.hiddenSize;
    const dh = cache.dh.reserve(BH);
    if (grads.dhN) dh.set(grads.dhN);
    else dh.fill(0);
    return {
      T, B, x, cut,
      mask: backwardMask(cache, cut),
      firstStep: cut.lowest,
      hPrev: cache.hPrev.reserve(T * BH),
      // Never written: stays zero.
      dOut: grads.dOut ?? cache.zeros.reserve(T * BH),
      dh,
      dx: cache.dx.reserve(T * B * this.inputSize),
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

  /**
   * The tangent of the gate pre-activations of step t for B rows: pre (B, G·H) = ḣ_{t−1}·W_hhᵀ
   * (+ ẋ_t·W_ihᵀ when the input has a tangent), with the current weights. `part` selects what a cell
   * keeps apart (the GRU's input and hidden sides): "both" sums them.
   */
  protected tangentPreActivations(
    B: number, step: TangentStep, pre: Float32Array, part: "both" | "hidden" | "input",
  ): void {
    const k = kernels();
    const H = this.hiddenSize;
    const G = this.gateSize;
    const I = this.inputSize;
    const { weightIh, weightHh } = this.params;
    if (part !== "input") k.gemm(false, true, B, G, H, step.h, 0, H, weightHh.value, 0, H, false, pre, 0, G);
    if (part === "hidden") return;
    if (step.x) k.gemm(false, true, B, G, I, step.x, 0, I, weightIh.value, 0, I, part === "both", pre, 0, G);
    else if (part === "input") pre.fill(0, 0, B * G);
  }

  /**
   * Calls `unit(b, j, n)` for every unit j of every row b that takes step t (n = b·H + j, the index in the
   * (B, H) tangents); a masked row carries its state unchanged, so its tangents are copied through.
   */
  protected eachTangentUnit(
    cache: C, t: number, step: TangentStep, unit: (b: number, j: number, n: number) => void,
  ): void {
    const H = this.hiddenSize;
    for (let b = 0; b < cache.B; b++) {
      const real = cache.mask === null || cache.mask[t * cache.B + b] !== 0;
      for (let j = 0; j < H; j++) {
        const n = b * H + j;
        if (real) {
          unit(b, j, n);
        } else {
          step.hOut[n] = step.h[n]!;
          if (step.cOut && step.c) step.cOut[n] = step.c[n]!;
        }
      }
    }
  }
}
