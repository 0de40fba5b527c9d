/**
 * The skeleton every cell shares, so that each cell file holds only its own maths: the parameters,
 * the bookkeeping at the start of forward and backward (validation, the buffers of chunk-cache.ts,
 * the initial state), the input projection, the direction of the walk over time, the rows running at
 * each step, and backward's walk in blocks.
 *
 * Packed rows (ChunkInput.batchSizes: n_t rows at time t, non-increasing, ordered by decreasing
 * length). Every step computes its n_t rows only, on the same kernels (which take B = n_t and offsets),
 * so a chunk costs its N = Σ_t n_t rows. Between two steps of the walk the running rows change:
 *   forward direction, n_{t+1} < n_t: rows [n_{t+1}, n_t) have run their last step; the step writes its
 *     new state into hN (where those rows' final states stay) and the rest is copied to the next slot;
 *   reverse direction, n_{t−1} > n_t: rows [n_t, n_{t−1}) start, from h0 (c0): copied into the slot.
 * Backward needs no copies: its dh, dc (B, H) carry every row, each step touching its first n_t rows, so
 * a row that has not started yet (walking back) holds dhN, and a row that has stopped holds dh0.
 *
 * Backward's gate gradients are kept for a block of at most BLOCK_ROWS rows (at least one step) and
 * turned into weight gradients block by block: memory O(BLOCK_ROWS·G·H), not O(N·G·H). A chunk of at
 * most BLOCK_ROWS rows is one block: its products are the same single GEMMs as without blocks.
 *
 * Widths: H is the cell's hidden size (its gate blocks, the LSTM's c); h, the outputs and what W_hh
 * reads have R = stateSizes.h values (`outputSize`: H, or P for an LSTM with a projection).
 */
import { kernels } from "../kernels/index.js";
import {
  type BackwardInput, type BackwardOutput, type Cell, type CellKind, type CellOptions, type ChunkInput, NO_DX,
  type StateSizes, type StepState, type TangentStep,
} from "./cell.js";
import type { ChunkCache } from "./chunk-cache.js";
import { addBlockGradients, finishInputGradients, startInputGradients } from "./input-projection.js";
import { CellParameters } from "./parameters.js";
import { type BackwardCut, backwardMask, validateBackward, validateChunk } from "./validate.js";

/** Rows of backward's gate gradients kept at once (see the header): more than any equal-length benchmark chunk. */
export const BLOCK_ROWS = 4096;

/** Where each step's rows are: shared by the forward and backward frames. */
export interface StepRows {
  T: number;
  B: number;
  /** (T + 1) time step t's rows are [offsets[t], offsets[t + 1]) of every per-step array. */
  offsets: Int32Array;
  /** Whether the running rows change within the chunk (batchSizes given). */
  packed: boolean;
}

/** What every forward pass starts from. */
export interface ForwardFrame extends StepRows {
  x: Float32Array;
  mask: Float32Array | null;
  /** (B, H) the initial state, or null (zeros). */
  h0: Float32Array | null;
  hPrev: Float32Array;
  out: Float32Array;
  hN: Float32Array;
}

/** What every backward pass starts from. */
export interface BackwardFrame extends StepRows {
  x: Float32Array;
  /** The mask backward uses (the forward mask, and 0 before each row's first back-propagated step). */
  mask: Float32Array | null;
  /** Lowest first step over the rows: backward walks s = T−1 … firstStep. */
  firstStep: number;
  hPrev: Float32Array;
  /** (N, H) dL/d out, or (B, H) zeros read at every step when no loss reads the chunk (see dOutOffset). */
  dOut: Float32Array;
  /** Whether dOut holds every step's rows (else it is the zeros of one step). */
  dOutPerStep: boolean;
  /** (B, H) dL/dh carried from step to step, initialised to dhN. */
  dh: Float32Array;
  /** (N, I) dL/dx; empty when the inputs went through the input table. */
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
  /** R: the width of h, the outputs and W_hh's columns (H, or P for an LSTM with a projection). */
  protected readonly outputSize: number;

  protected constructor(shape: CellShape, options: CellOptions) {
    if (!shape.cellState && ((options.projSize ?? 0) !== 0 || options.peephole)) {
      throw new RangeError("projSize and peephole apply to the LSTM only (a cell with a cell state)");
    }
    this.params = new CellParameters(shape.gates, options);
    this.inputSize = options.inputSize;
    this.hiddenSize = options.hiddenSize;
    this.outputSize = this.params.weightHh.shape[1]!;
    this.stateSizes = Object.freeze({ h: this.outputSize, c: shape.cellState ? options.hiddenSize : 0 });
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
    return { h: cache.hN.reserve(cache.B * this.outputSize), c: null };
  }

  output(cache: C): Float32Array {
    return cache.out.reserve(cache.rows * this.outputSize);
  }

  projectInput(rows: number, x: Float32Array, xOffset: number, proj: Float32Array, projOffset: number): void {
    this.params.project(rows, x, xOffset, proj, projOffset, this.hiddenBiasInInput);
  }

  /** The time index of processing step s (the reverse direction walks from T−1 down to 0). */
  protected time(s: number, T: number): number {
    return this.reverse ? T - 1 - s : s;
  }

  /** The rows running at time step t. */
  protected rowsAt(frame: StepRows, t: number): number {
    return frame.offsets[t + 1]! - frame.offsets[t]!;
  }

  /** Whether some rows run their last step at processing step s < T − 1 (packed rows, forward direction). */
  private rowsStopAfter(frame: StepRows, s: number): boolean {
    return frame.packed && this.rowsAt(frame, this.time(s + 1, frame.T)) < this.rowsAt(frame, this.time(s, frame.T));
  }

  /**
   * Where step s writes its new state: the next step's hPrev slot, or hN after the last step or when
   * rows stop (see the header; buffer and offset apart, not as a tuple: this runs every step).
   */
  protected nextStateBuffer(frame: ForwardFrame, s: number): Float32Array {
    return s < frame.T - 1 && !this.rowsStopAfter(frame, s) ? frame.hPrev : frame.hN;
  }

  protected nextStateOffset(frame: ForwardFrame, s: number): number {
    if (s === frame.T - 1 || this.rowsStopAfter(frame, s)) return 0;
    return frame.offsets[this.time(s + 1, frame.T)]! * this.outputSize;
  }

  /**
   * After step s of packed rows, completes the next step's hPrev slot: from hN, where the step wrote
   * when rows stopped, or with h0 for the rows that start (see the header).
   */
  protected afterStep(frame: ForwardFrame, s: number): void {
    if (!frame.packed || s === frame.T - 1) return;
    const H = this.outputSize;
    const n = this.rowsAt(frame, this.time(s, frame.T));
    const next = this.time(s + 1, frame.T);
    const running = this.rowsAt(frame, next);
    const slot = frame.offsets[next]! * H;
    if (running < n) copyRows(frame.hN, 0, frame.hPrev, slot, running * H);
    else if (running > n) copyRowsOrZero(frame.h0, n * H, frame.hPrev, slot + n * H, (running - n) * H);
  }

  /** Whether rows start at processing step s > 0 (packed rows, reverse direction). */
  protected rowsStartAt(frame: StepRows, s: number): boolean {
    if (!frame.packed || s === 0) return false;
    return this.rowsAt(frame, this.time(s - 1, frame.T)) < this.rowsAt(frame, this.time(s, frame.T));
  }

  /**
   * For a step where rows start (rowsStartAt), the state entering it of a state saved after each step
   * (the LSTM's c): the previous step's slot for the rows already running and `initial` (B, H) for the
   * others, copied into `stage` (B, H), which it returns (to be read at offset 0).
   */
  protected stageEnteringState(
    frame: StepRows, s: number, saved: Float32Array, initial: Float32Array, stage: Float32Array,
  ): Float32Array {
    const H = this.hiddenSize;
    const previous = this.time(s - 1, frame.T);
    const running = this.rowsAt(frame, previous);
    const n = this.rowsAt(frame, this.time(s, frame.T));
    copyRows(saved, frame.offsets[previous]! * H, stage, 0, running * H);
    copyRows(initial, running * H, stage, running * H, (n - running) * H);
    return stage;
  }

  /**
   * final (B, H) = each row's slot at its own last step, of a state saved after each step (the LSTM's c)
   * of packed rows; rows that never run keep `initial`.
   */
  protected gatherFinalState(frame: StepRows, saved: Float32Array, initial: Float32Array, final: Float32Array): void {
    const { T, B, offsets } = frame;
    const H = this.hiddenSize;
    for (let s = 0; s < T; s++) {
      const t = this.time(s, T);
      const n = this.rowsAt(frame, t);
      const running = s < T - 1 ? this.rowsAt(frame, this.time(s + 1, T)) : 0;
      if (running < n) copyRows(saved, (offsets[t]! + running) * H, final, running * H, (n - running) * H);
    }
    const most = this.rowsAt(frame, 0);
    copyRows(initial, most * H, final, most * H, (B - most) * H);
  }

  /** Validates the chunk, records it in the cache and writes h0 into the first step's hPrev slot. */
  protected beginForward(input: ChunkInput, cache: C): ForwardFrame {
    validateChunk(this, input);
    const { T, B, x } = input;
    const H = this.outputSize;
    const batchSizes = input.batchSizes ?? null;
    cache.setLayout(T, B, batchSizes);
    cache.x = x;
    cache.mask = input.mask ?? null;
    cache.inputRows = input.inputRows ?? null;
    const { offsets, rows } = cache;
    const h0 = input.h0 ?? null;
    const hPrev = cache.hPrev.reserve(rows * H);
    const hN = cache.hN.reserve(B * H);
    const first = this.time(0, T);
    copyRowsOrZero(h0, 0, hPrev, offsets[first]! * H, (offsets[first + 1]! - offsets[first]!) * H);
    // Packed: the rows that never run in this chunk keep their state.
    const most = offsets[1]!;
    if (batchSizes) copyRowsOrZero(h0, most * H, hN, most * H, (B - most) * H);
    return {
      T, B, offsets, packed: batchSizes !== null, x, mask: cache.mask, h0, hPrev, out: cache.out.reserve(rows * H), hN,
    };
  }

  /** Validates the gradients and prepares the buffers every backward pass uses. */
  protected beginBackward(cache: C, grads: BackwardInput): BackwardFrame {
    const cut = validateBackward(cache, grads, this.stateSizes, this.reverse);
    const { T, B, x, offsets, rows } = cache;
    const H = this.outputSize;
    const BH = B * H;
    const dh = cache.dh.reserve(BH);
    if (grads.dhN) dh.set(grads.dhN);
    else dh.fill(0);
    return {
      T, B, x, offsets, packed: cache.batchSizes !== null, cut,
      mask: backwardMask(cache, cut),
      firstStep: cut.lowest,
      hPrev: cache.hPrev.reserve(rows * H),
      // Never written: stays zero.
      dOut: grads.dOut ?? cache.zeros.reserve(BH),
      dOutPerStep: grads.dOut != null,
      dh,
      dx: cache.usesInputTable ? NO_DX : cache.dx.reserve(rows * this.inputSize),
      weightIh: grads.weights?.weightIh ?? this.params.weightIh.value,
      weightHh: grads.weights?.weightHh ?? this.params.weightHh.value,
      norms: grads.stateGradNormSq ?? null,
    };
  }

  /** Where time step t's rows of dL/d out are in frame.dOut. */
  protected dOutOffset(frame: BackwardFrame, t: number): number {
    return frame.dOutPerStep ? frame.offsets[t]! * this.outputSize : 0;
  }

  /** The first row of the first back-propagated step (rows before it get no input gradient). */
  private firstBackwardRow(frame: BackwardFrame): number {
    if (frame.firstStep === 0) return 0;
    return this.reverse ? frame.offsets[frame.T]! : frame.offsets[frame.firstStep]!;
  }

  /**
   * The most rows a block of backward can hold (the size of the gate-gradient buffers): at most
   * BLOCK_ROWS, or one step's rows if that is more, and no more than the back-propagated rows.
   */
  protected blockCapacity(frame: BackwardFrame): number {
    const rows = frame.offsets[frame.T]! - this.firstBackwardRow(frame);
    return Math.min(rows, Math.max(BLOCK_ROWS, frame.B));
  }

  /**
   * Backward's walk over s = T−1 … firstStep, in blocks of steps of at most BLOCK_ROWS rows (at least
   * one step). `step(s, t, n, r, g)` back-propagates step s (time t, its n rows starting at row r of
   * the chunk), writing its gate gradients at row g of dXGates and dHGates (the block's buffers, of
   * blockCapacity rows); after each block, the weight and input gradients of its rows
   * (input-projection.ts), and `afterBlock(r0, rows)` when given (a cell's own weights: the LSTM's
   * projection). Returns the input gradient per table row when forward went through the input table,
   * else null (frame.dx holds dL/dx).
   */
  protected walkBackward(
    frame: BackwardFrame, cache: C, dXGates: Float32Array, dHGates: Float32Array,
    step: (s: number, t: number, n: number, r: number, g: number) => void,
    afterBlock?: (r0: number, rows: number) => void,
  ): Float32Array | null {
    const { T, offsets, firstStep } = frame;
    const I = this.inputSize;
    startInputGradients(this.params, cache);
    for (let top = T - 1; top >= firstStep; ) {
      let bottom = top;
      let rows = this.rowsAt(frame, this.time(top, T));
      while (bottom > firstStep && rows + this.rowsAt(frame, this.time(bottom - 1, T)) <= BLOCK_ROWS) {
        bottom--;
        rows += this.rowsAt(frame, this.time(bottom, T));
      }
      const r0 = offsets[Math.min(this.time(top, T), this.time(bottom, T))]!;
      for (let s = top; s >= bottom; s--) {
        const t = this.time(s, T);
        this.recordNorm(frame, t);
        step(s, t, this.rowsAt(frame, t), offsets[t]!, offsets[t]! - r0);
      }
      const { hPrev, dx, weightIh } = frame;
      addBlockGradients(this.params, cache, r0, rows, I, this.outputSize, hPrev, dXGates, dHGates, dx, weightIh);
      afterBlock?.(r0, rows);
      top = bottom - 1;
    }
    const firstRow = this.firstBackwardRow(frame);
    return finishInputGradients(this.params, cache, firstRow, offsets[T]! - firstRow, I, frame.dx, frame.weightIh);
  }

  /** Diagnostics: records ‖dL/dh_t‖² (carried gradient plus the output's) before step t is back-propagated. */
  protected recordNorm(frame: BackwardFrame, t: number): void {
    if (frame.norms) {
      const n = this.rowsAt(frame, t) * this.outputSize;
      frame.norms[t] = kernels().sumSquares(n, frame.dh, 0, frame.dOut, this.dOutOffset(frame, t));
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
    const R = this.outputSize;
    const G = this.gateSize;
    const I = this.inputSize;
    const { weightIh, weightHh } = this.params;
    if (part !== "input") k.gemm(false, true, B, G, R, step.h, 0, R, weightHh.value, 0, R, false, pre, 0, G);
    if (part === "hidden") return;
    if (step.x) k.gemm(false, true, B, G, I, step.x, 0, I, weightIh.value, 0, I, part === "both", pre, 0, G);
    else if (part === "input") pre.fill(0, 0, B * G);
  }

  /**
   * Calls `unit(b, j, n)` for every unit j < H of every row b that takes step t (n = b·H + j, the index
   * in the (B, H) tangents of c); a masked row carries its state unchanged, so its tangents are copied
   * through (carryTangentRow). The cells read step t's saved rows at (t·B + b): a chunk of packed rows
   * is refused.
   */
  protected eachTangentUnit(
    cache: C, t: number, step: TangentStep, unit: (b: number, j: number, n: number) => void,
  ): void {
    if (cache.batchSizes) {
      throw new RangeError("tangent: the chunk holds packed rows; run the rows to differentiate unpacked (train/modes/row-step.ts)");
    }
    const H = this.hiddenSize;
    for (let b = 0; b < cache.B; b++) {
      if (!this.tangentRowRuns(cache, t, b)) this.carryTangentRow(step, b);
      else for (let j = 0; j < H; j++) unit(b, j, b * H + j);
    }
  }

  /** Whether row b takes step t (else it is masked there). */
  protected tangentRowRuns(cache: C, t: number, b: number): boolean {
    return cache.mask === null || cache.mask[t * cache.B + b] !== 0;
  }

  /** A masked row carries its state: ḣ_t = ḣ_{t−1} (R values) and ċ_t = ċ_{t−1} (H). */
  protected carryTangentRow(step: TangentStep, b: number): void {
    const R = this.outputSize;
    const H = this.hiddenSize;
    for (let j = 0; j < R; j++) step.hOut[b * R + j] = step.h[b * R + j]!;
    if (step.cOut && step.c) for (let j = 0; j < H; j++) step.cOut[b * H + j] = step.c[b * H + j]!;
  }
}

/** dst[dstOffset + i] = src[srcOffset + i] for i < n (no view objects: this runs between steps). */
function copyRows(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOffset + i] = src[srcOffset + i]!;
}

/** copyRows, or zeros when there is no source (a zero initial state). */
function copyRowsOrZero(
  src: Float32Array | null, srcOffset: number, dst: Float32Array, dstOffset: number, n: number,
): void {
  if (src) copyRows(src, srcOffset, dst, dstOffset, n);
  else dst.fill(0, dstOffset, dstOffset + n);
}
