/**
 * Stacked, optionally bidirectional recurrent layers: bptt's `RNN`, `LSTM` and `GRU`, shaped like
 * PyTorch's `nn.RNN`, `nn.LSTM` and `nn.GRU` (time-major, `batch_first=False`).
 *
 *   x: (T, B, I)  →  output: (T, B, D·H),  hN: (L·D, B, H),  cN: (L·D, B, H) for the LSTM
 *
 * or packed rows (option batchSizes, as PyTorch's PackedSequence): x: (N, I) → output: (N, D·H), step t
 * running only its first batchSizes[t] rows (see ChunkInput.batchSizes in cells/chunk.ts).
 *
 * L = numLayers, D = 2 when bidirectional else 1. Layer l > 0 reads the concatenated outputs of
 * layer l − 1 (forward direction first), with dropout between layers while training. Parameters are
 * named and laid out exactly as PyTorch's state_dict, so `loadStateDict` takes a PyTorch model's
 * weights unchanged.
 *
 * @example
 * ```ts
 * import { LSTM, Tensor } from "bptt";
 * const lstm = new LSTM({ inputSize: 8, hiddenSize: 16, numLayers: 2, seed: 1 });
 * const x = Tensor.zeros([5, 3, 8]);                 // T = 5 steps, B = 3 sequences
 * const { output, hN, cN, cache } = lstm.forward(x);  // output: [5, 3, 16], hN and cN: [2, 3, 16]
 * const { dx } = lstm.backward(cache, { dOutput: output });  // accumulates into each parameter's grad
 * ```
 */
import type { BackwardOutput, Cell, CellKind, CellWeights, InputRows, StateSizes } from "../cells/cell.js";
import type { ChunkCache } from "../cells/chunk-cache.js";
import { createCell } from "../cells/index.js";
import { type InitOptions, initializeCell } from "../cells/init.js";
import { requirePositiveInteger } from "../cells/parameters.js";
import { validateBatchSizes } from "../cells/validate.js";
import { ReusableBuffer } from "../tensor/buffers.js";
import { Dropout, type DropoutCache } from "./dropout.js";
import { RecurrentState } from "./recurrent-state.js";
import type { Module, Parameter } from "../tensor/parameter.js";
import { Rng } from "../tensor/rng.js";
import { Tensor, formatShape } from "../tensor/tensor.js";

export interface RecurrentOptions {
  inputSize: number;
  hiddenSize: number;
  /** Stacked layers L. Default 1. */
  numLayers?: number;
  /** Whether cells have bias_ih and bias_hh. Default true. */
  bias?: boolean;
  /** D = 2: a second stack reads the sequence backwards; outputs are concatenated. Default false. */
  bidirectional?: boolean;
  /** Dropout probability on the outputs of every layer but the last, while training. Default 0. */
  dropout?: number;
  /** Seed for initialisation and dropout (a bptt `Rng` may be given instead). Default 0. */
  seed?: number | Rng;
  init?: InitOptions;
}

export interface RecurrentForwardOptions {
  /** (L·D, B, H) initial hidden states; zeros when omitted. */
  h0?: Tensor | null;
  /** (L·D, B, H) initial cell states (LSTM); zeros when omitted. */
  c0?: Tensor | null;
  /** (T, B) 1 for real steps, 0 for padding: ended sequences keep their last state and output 0. */
  mask?: Tensor | null;
  /**
   * Packed rows instead of a mask: (T) the rows running at each step, non-increasing (rows ordered by
   * decreasing length); x is then (N, I), N = Σ batchSizes, and the output (N, D·H); B is h0's rows (or
   * batchSizes[0] without h0). Each row's final state is its state after its own last step. Kept by
   * reference until backward.
   */
  batchSizes?: Int32Array | null;
  /** Dropout between layers is active only while training. Default false. */
  training?: boolean;
  /** A cache from an earlier call, whose buffers are reused (its previous contents are overwritten). */
  cache?: RecurrentCache;
  /**
   * x is an embedding lookup, x[t·B + b] = table[ids[t·B + b]] for a table of V rows (the caller
   * vouches for it): the first layer may then project the V table rows instead of the T·B steps, with
   * the same outputs bit for bit, and backward returns the input gradient per table row
   * (`dInputTable`) instead of per step. Kept by reference until backward. See cells/input-table.ts.
   */
  inputRows?: InputRows | null;
  /**
   * The caller vouches that the values are finite, so only shapes are checked, not every value (an
   * O(T·B·I) scan per call). The Trainer sets it: it validates each batch's features itself, and all
   * else it passes (embeddings, carried states, gradients) is its own computation. Default false.
   */
  finiteChecked?: boolean;
}

export interface RecurrentOutput {
  /** (T, B, D·H), or (N, D·H) packed; shares memory with the cache. */
  output: Tensor;
  /** (L·D, B, H) final hidden states, layer-major then direction, as PyTorch's h_n. */
  hN: Tensor;
  /** (L·D, B, H) final cell states (LSTM), else null. */
  cN: Tensor | null;
  /** Everything backward needs. */
  cache: RecurrentCache;
}

export interface RecurrentBackwardOptions {
  /**
   * The caller vouches that the values are finite, so only shapes are checked, not every value (an
   * O(T·B·I) scan per call). The Trainer sets it: it validates each batch's features itself, and all
   * else it passes (embeddings, carried states, gradients) is its own computation. Default false.
   */
  finiteChecked?: boolean;
  /** (T, B, D·H) dL/d output ((N, D·H) packed); omitted or null when no loss reads the outputs. */
  dOutput?: Tensor | null;
  /** (L·D, B, H) dL/dh_N arriving from later chunks. */
  dhN?: Tensor | null;
  /** (L·D, B, H) dL/dc_N (LSTM). */
  dcN?: Tensor | null;
  /**
   * Truncation (unidirectional): back-propagate through steps [firstStep, T) only, for all rows or,
   * with an Int32Array (B), per row. See `BackwardInput.firstStep`. Default 0.
   */
  firstStep?: number | Int32Array;
  /**
   * The weights this chunk's forward pass used (from `snapshotWeights` at that time), when the
   * parameters have been updated since. Default: the current values.
   */
  weights?: CellWeights[] | null;
  /** Diagnostics, one entry per cell (l·D + d) or null: receives ‖dL/dh_t‖² per step (see BackwardInput). */
  stateGradNormSq?: Array<Float64Array | null> | null;
}

export interface RecurrentGradients {
  /**
   * (T, B, I) dL/dx ((N, I) packed); (0, B, I), empty, when the first layer went through the input table
   * (see dInputTable).
   */
  dx: Tensor;
  /**
   * (V, I) dL/d(table row), Σ of dL/dx over the steps that read each row, when forward was given
   * inputRows and the first layer used them; else null. An embedding adds it to its weight gradient.
   */
  dInputTable: Tensor | null;
  /** (L·D, B, H) dL/dh0 (or of the state entering firstStep). */
  dh0: Tensor;
  /** (L·D, B, H) dL/dc0 for the LSTM, else null. */
  dc0: Tensor | null;
}

/** Saved activations of one chunk through the whole stack, and the scratch of its backward pass. */
export class RecurrentCache {
  T = 0;
  B = 0;
  /** N: the rows of every per-step array (T·B, or Σ batchSizes packed). */
  rows = 0;
  /** (T) packed rows per step, by reference, or null. */
  batchSizes: Int32Array | null = null;
  /** The layer whose forward pass filled this cache. */
  owner: object | null = null;
  /** cells[l * D + d]: the per-cell caches. */
  readonly cells: ChunkCache[] = [];
  /** dropouts[l]: the dropout applied to layer l's outputs (l < L − 1, dropout > 0). */
  readonly dropouts: DropoutCache[] = [];
  /** layerOutputs[l]: (T, B, D·H) layer l's directions interleaved (bidirectional layers only). */
  readonly layerOutputs: ReusableBuffer[] = [];
  /** dLayerInputs[l]: (T, B, I_l) dL/d(input of layer l), both directions summed (bidirectional only). */
  readonly dLayerInputs: ReusableBuffer[] = [];
  /** dDirectionOutputs[d]: (T, B, H) direction d's part of dL/d(layer output) (bidirectional only). */
  readonly dDirectionOutputs: ReusableBuffer[] = [];
  /** (L·D, B, H) the final states and, after backward, the gradients at the entering ones. */
  readonly hN = new ReusableBuffer();
  readonly cN = new ReusableBuffer();
  readonly dh0 = new ReusableBuffer();
  readonly dc0 = new ReusableBuffer();
  /** (V, I) the first layer's input gradient per table row, summed over the directions. */
  readonly dInputTable = new ReusableBuffer();
}

/** list[i], made on first use. */
function reusable(list: ReusableBuffer[], i: number): ReusableBuffer {
  return (list[i] ??= new ReusableBuffer());
}

export class Recurrent implements Module {
  readonly mode: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bidirectional: boolean;
  readonly dropout: number;
  /** cells[l * D + d] for layer l and direction d (0 forward, 1 reverse). */
  readonly cells: Cell[];
  /** What each cell carries from step to step (the same for every cell of the stack). */
  readonly stateSizes: StateSizes;
  /** Draws the dropout masks; its state belongs in a checkpoint for bit-identical resumption. */
  readonly rng: Rng;
  private readonly drop: Dropout;

  constructor(mode: CellKind, options: RecurrentOptions) {
    const { inputSize, hiddenSize } = options;
    requirePositiveInteger(inputSize, "inputSize");
    requirePositiveInteger(hiddenSize, "hiddenSize");
    const numLayers = options.numLayers ?? 1;
    requirePositiveInteger(numLayers, "numLayers");
    const dropout = options.dropout ?? 0;
    if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`dropout must be in [0, 1), got ${dropout}`);
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = numLayers;
    this.bidirectional = options.bidirectional ?? false;
    this.dropout = dropout;
    this.rng = options.seed instanceof Rng ? options.seed : new Rng(options.seed ?? 0);
    this.drop = new Dropout({ rng: this.rng });
    const D = this.directions;
    this.cells = [];
    for (let l = 0; l < numLayers; l++) {
      for (let d = 0; d < D; d++) {
        const cellOptions = {
          inputSize: l === 0 ? inputSize : D * hiddenSize,
          hiddenSize,
          bias: options.bias ?? true,
          layer: l,
          reverse: d === 1,
        };
        const cell = createCell(mode, cellOptions);
        initializeCell(mode, cell.params, hiddenSize, this.rng, options.init);
        this.cells.push(cell);
      }
    }
    this.stateSizes = this.cells[0]!.stateSizes;
  }

  get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** A zero state of B rows: h (L·D, B, H), and c for the LSTM. */
  createState(B: number): RecurrentState {
    return RecurrentState.zeros(this.numLayers * this.directions, B, this.stateSizes);
  }

  /** All parameters in PyTorch's state_dict order. */
  parameters(): Parameter[] {
    return this.cells.flatMap((cell) => cell.params.list());
  }

  forward(x: Tensor, options: RecurrentForwardOptions = {}): RecurrentOutput {
    const finite = !options.finiteChecked;
    const batchSizes = options.batchSizes ?? null;
    const [T, B, rows] = batchSizes ? this.checkPacked(x, batchSizes, options, finite) : this.checkInput(x, finite);
    const H = this.hiddenSize;
    const D = this.directions;
    const L = this.numLayers;
    const BH = B * H;
    const stateShape = [L * D, B, H];
    checkState(options.h0, stateShape, "h0", finite);
    checkState(options.c0, stateShape, "c0", finite);
    if (options.c0 && this.stateSizes.c === 0) throw new RangeError(`c0 is only for the LSTM, not ${this.mode}`);
    if (options.mask && batchSizes) throw new RangeError("mask and batchSizes: packed rows are all real, give no mask");
    const mask = options.mask ? checkMask(options.mask, T, B) : null;

    const cache = options.cache ?? new RecurrentCache();
    cache.T = T;
    cache.B = B;
    cache.rows = rows;
    cache.batchSizes = batchSizes;
    cache.owner = this;
    const hN = new Tensor(cache.hN.reserve(L * D * BH), stateShape);
    const cN = this.stateSizes.c > 0 ? new Tensor(cache.cN.reserve(L * D * BH), stateShape) : null;
    let layerInput = x.data;
    let output = layerInput;
    for (let l = 0; l < L; l++) {
      output = D === 1 ? layerInput : reusable(cache.layerOutputs, l).reserve(rows * D * H);
      for (let d = 0; d < D; d++) {
        const i = l * D + d;
        const cell = this.cells[i]!;
        const cellCache = (cache.cells[i] ??= cell.createCache());
        cell.forward(
          {
            x: layerInput, T, B, mask, batchSizes,
            h0: options.h0 ? options.h0.data.subarray(i * BH, (i + 1) * BH) : null,
            c0: options.c0 ? options.c0.data.subarray(i * BH, (i + 1) * BH) : null,
            inputRows: l === 0 ? options.inputRows ?? null : null,
          },
          cellCache,
        );
        const final = cell.finalState(cellCache);
        hN.data.set(final.h, i * BH);
        if (cN && final.c) cN.data.set(final.c, i * BH);
        if (D === 1) output = cell.output(cellCache);
        else interleave(cell.output(cellCache), output, rows, H, d, D);
      }
      if (l < L - 1 && this.dropout > 0) {
        const dropCache = (cache.dropouts[l] ??= this.drop.createCache());
        layerInput = this.drop.forward(output, { p: this.dropout, training: options.training === true }, dropCache).out;
      } else {
        layerInput = output;
      }
    }
    return { output: new Tensor(output, batchSizes ? [rows, D * H] : [T, B, D * H]), hN, cN, cache };
  }

  backward(cache: RecurrentCache, options: RecurrentBackwardOptions = {}): RecurrentGradients {
    const { T, B, rows } = cache;
    if (T === 0 || cache.owner !== this || cache.cells.length !== this.cells.length) {
      throw new RangeError("backward: the cache holds no forward pass of this layer");
    }
    const H = this.hiddenSize;
    const D = this.directions;
    const L = this.numLayers;
    const BH = B * H;
    const stateShape = [L * D, B, H];
    const finite = !options.finiteChecked;
    checkState(options.dOutput, cache.batchSizes ? [rows, D * H] : [T, B, D * H], "dOutput", finite);
    checkState(options.dhN, stateShape, "dhN", finite);
    checkState(options.dcN, stateShape, "dcN", finite);
    const firstStep = options.firstStep ?? 0;
    if (D === 2 && (typeof firstStep === "number" ? firstStep > 0 : firstStep.some((f) => f > 0))) {
      throw new RangeError("firstStep (truncation) needs a unidirectional layer: a bidirectional one sees the whole chunk");
    }
    const dh0 = new Tensor(cache.dh0.reserve(L * D * BH), stateShape);
    const dc0 = this.stateSizes.c > 0 ? new Tensor(cache.dc0.reserve(L * D * BH), stateShape) : null;

    let dLayerOutput: Float32Array | null = options.dOutput ? options.dOutput.data : null;
    let dInput: Float32Array = new Float32Array(0);
    let dInputTable: Float32Array | null = null;
    for (let l = L - 1; l >= 0; l--) {
      const inSize = l === 0 ? this.inputSize : D * H;
      // One direction: its cell's dx is the layer's input gradient, used in place (the cache owns it).
      if (D === 2) dInput = reusable(cache.dLayerInputs, l).reserve(rows * inSize);
      for (let d = 0; d < D; d++) {
        const i = l * D + d;
        const cell = this.cells[i]!;
        let dOut: Float32Array | null = dLayerOutput;
        if (dLayerOutput && D === 2) {
          dOut = reusable(cache.dDirectionOutputs, d).reserve(rows * H);
          deinterleave(dLayerOutput, dOut, rows, H, d, D);
        }
        const grads: BackwardOutput = cell.backward(cache.cells[i]!, {
          dOut,
          dhN: options.dhN ? options.dhN.data.subarray(i * BH, (i + 1) * BH) : null,
          dcN: options.dcN ? options.dcN.data.subarray(i * BH, (i + 1) * BH) : null,
          firstStep,
          weights: options.weights ? options.weights[i] : null,
          stateGradNormSq: options.stateGradNormSq ? options.stateGradNormSq[i] : null,
        });
        if (grads.dInputTable) {
          // Layer 0 through the input table (both directions decide alike: same T, B and V).
          if (dInputTable === null) dInputTable = cache.dInputTable.reserve(grads.dInputTable.length).fill(0);
          for (let j = 0; j < dInputTable.length; j++) dInputTable[j]! += grads.dInputTable[j]!;
        } else if (D === 1) dInput = grads.dx;
        else if (d === 0) dInput.set(grads.dx);
        else for (let j = 0; j < dInput.length; j++) dInput[j]! += grads.dx[j]!;
        dh0.data.set(grads.dh0, i * BH);
        if (dc0 && grads.dc0) dc0.data.set(grads.dc0, i * BH);
      }
      if (l > 0) {
        const dropCache = cache.dropouts[l - 1];
        dLayerOutput = dropCache ? this.drop.backward(dropCache, dInput) : dInput;
      }
    }
    if (dInputTable) {
      const V = dInputTable.length / this.inputSize;
      return { dx: new Tensor(new Float32Array(0), [0, B, this.inputSize]), dInputTable: new Tensor(dInputTable, [V, this.inputSize]), dh0, dc0 };
    }
    const dxShape = cache.batchSizes ? [rows, this.inputSize] : [T, B, this.inputSize];
    return { dx: new Tensor(dInput, dxShape), dInputTable: null, dh0, dc0 };
  }

  /**
   * Copies of every cell's parameters (one entry per cell, layer-major then direction), written into
   * `into` when given so that snapshots can be reused without allocating.
   */
  snapshotWeights(into?: CellWeights[]): CellWeights[] {
    return this.cells.map((cell, i) => cell.params.snapshot(into?.[i]));
  }

  /** Sets every cell's parameters from a snapshot (see `snapshotWeights`). */
  loadWeights(weights: readonly CellWeights[]): void {
    if (weights.length !== this.cells.length) throw new RangeError(`loadWeights: expected ${this.cells.length} cells, got ${weights.length}`);
    this.cells.forEach((cell, i) => cell.params.load(weights[i]!));
  }

  /** [T, B, N] of a (T, B, I) input. */
  private checkInput(x: Tensor, finite: boolean): [number, number, number] {
    if (x.rank !== 3 || x.shape[2] !== this.inputSize || x.shape[0]! < 1 || x.shape[1]! < 1) {
      throw new RangeError(`x must have shape (T, B, ${this.inputSize}) with T, B ≥ 1, got ${formatShape(x.shape)}`);
    }
    if (finite) requireFinite(x.data, "x");
    return [x.shape[0]!, x.shape[1]!, x.shape[0]! * x.shape[1]!];
  }

  /** [T, B, N] of packed rows: x (N, I), B from h0 (or c0, or batchSizes[0]). */
  private checkPacked(
    x: Tensor, batchSizes: Int32Array, options: RecurrentForwardOptions, finite: boolean,
  ): [number, number, number] {
    const T = batchSizes.length;
    const state = options.h0 ?? options.c0;
    const B = state && state.rank === 3 ? state.shape[1]! : batchSizes[0]!;
    if (T < 1) throw new RangeError("batchSizes must have at least one step");
    const N = validateBatchSizes(batchSizes, T, B);
    if (x.rank !== 2 || x.shape[0] !== N || x.shape[1] !== this.inputSize) {
      throw new RangeError(`x must have shape (N=${N} packed rows, ${this.inputSize}), got ${formatShape(x.shape)}`);
    }
    if (finite) requireFinite(x.data, "x");
    return [T, B, N];
  }
}

/** Vanilla RNN stack, as `nn.RNN` (nonlinearity "tanh" or "relu"). */
export class RNN extends Recurrent {
  constructor(options: RecurrentOptions & { nonlinearity?: "tanh" | "relu" }) {
    const nonlinearity = options.nonlinearity ?? "tanh";
    if (nonlinearity !== "tanh" && nonlinearity !== "relu") {
      throw new RangeError(`nonlinearity must be "tanh" or "relu", got ${JSON.stringify(nonlinearity)}`);
    }
    super(nonlinearity === "relu" ? "rnn_relu" : "rnn_tanh", options);
  }
}

/** LSTM stack, as `nn.LSTM`. */
export class LSTM extends Recurrent {
  constructor(options: RecurrentOptions) {
    super("lstm", options);
  }
}

/** GRU stack, as `nn.GRU`. */
export class GRU extends Recurrent {
  constructor(options: RecurrentOptions) {
    super("gru", options);
  }
}

// out[r, d·H : (d+1)·H] = src[r, :] for each of `rows` rows.
function interleave(src: Float32Array, out: Float32Array, rows: number, H: number, d: number, D: number): void {
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * H, (r + 1) * H), (r * D + d) * H);
}

function deinterleave(src: Float32Array, out: Float32Array, rows: number, H: number, d: number, D: number): void {
  for (let r = 0; r < rows; r++) out.set(src.subarray((r * D + d) * H, (r * D + d + 1) * H), r * H);
}

function checkState(t: Tensor | null | undefined, shape: number[], name: string, finite: boolean): void {
  if (!t) return;
  if (t.rank !== shape.length || t.shape.some((n, i) => n !== shape[i])) {
    throw new RangeError(`${name} must have shape ${formatShape(shape)}, got ${formatShape(t.shape)}`);
  }
  if (finite) requireFinite(t.data, name);
}

function checkMask(mask: Tensor, T: number, B: number): Float32Array {
  if (mask.rank !== 2 || mask.shape[0] !== T || mask.shape[1] !== B) {
    throw new RangeError(`mask must have shape [${T}, ${B}] (T, B), got ${formatShape(mask.shape)}`);
  }
  for (let i = 0; i < mask.data.length; i++) {
    const m = mask.data[i];
    if (m !== 0 && m !== 1) throw new RangeError(`mask must hold only 0 and 1, got ${m} at index ${i}`);
  }
  return mask.data;
}

function requireFinite(data: Float32Array, name: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new RangeError(`${name} must be finite, got ${data[i]} at flat index ${i}`);
  }
}
