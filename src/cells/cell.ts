/**
 * What the three recurrent cells (vanilla RNN, LSTM, GRU) share: their parameters, the shape of a
 * chunk, the saved activations, and the contract of `forward` / `backward`.
 *
 * A cell runs one layer in one direction over a whole chunk of T steps for B sequences:
 *
 *   forward(x: (T, B, I), h0: (B, H), c0?: (B, H), mask?: (T, B))
 *     → out: (T, B, H) (0 at masked steps), hN: (B, H), cN: (B, H) for the LSTM
 *   backward(dOut: (T, B, H), dhN: (B, H), dcN?: (B, H))
 *     → accumulates dW_ih, dW_hh, db_ih, db_hh into the parameters' `grad` (+=, never zeroed here)
 *     → dx: (T, B, I), dh0: (B, H), dc0: (B, H)
 *
 * Computed as cuDNN does: the input projections of all T steps in one GEMM, only the recurrent
 * product per step, and the weight gradients of all steps in one GEMM each. Every buffer lives in
 * the cache, allocated on first use and reused when the same cache is passed to the next chunk.
 *
 * Parameters are PyTorch's, for one layer k and direction (suffix "" or "_reverse"), with G gates:
 *   weight_ih_l{k}: (G·H, I)   weight_hh_l{k}: (G·H, H)   bias_ih_l{k}, bias_hh_l{k}: (G·H)
 */
import { kernels } from "../kernels/index.js";
import { Buffers } from "../tensor/buffers.js";
import { inputTablePays, projectThroughTable, tableGradients } from "./input-table.js";
import { Parameter } from "../tensor/parameter.js";

export type CellKind = "rnn_tanh" | "rnn_relu" | "lstm" | "gru";

/** Gate blocks per cell kind, in PyTorch's order: RNN 1, LSTM 4 (i, f, g, o), GRU 3 (r, z, n). */
export function gateCount(kind: CellKind): number {
  return kind === "lstm" ? 4 : kind === "gru" ? 3 : 1;
}

export interface CellOptions {
  inputSize: number;
  hiddenSize: number;
  /** Whether the cell has bias_ih and bias_hh (PyTorch's `bias`). Default true. */
  bias?: boolean;
  /** Layer index k and direction, used only to name the parameters as PyTorch does. */
  layer?: number;
  reverse?: boolean;
}

export interface ChunkInput {
  /** (T, B, I) time-major input. Kept by reference in the cache until backward: do not modify it in between. */
  x: Float32Array;
  T: number;
  B: number;
  /** (B, H) initial state; zeros when omitted. */
  h0?: Float32Array | null;
  /** (B, H) initial cell state (LSTM only); zeros when omitted. */
  c0?: Float32Array | null;
  /** (T, B) 1 where step t of sequence b is real, 0 where it is padding. Kept by reference. */
  mask?: Float32Array | null;
  /**
   * When x is an embedding lookup, x[r] = table[ids[r]]: the cell may then project the distinct table
   * rows instead of the T·B steps (input-table.ts; the same outputs, bit for bit) and return the input
   * gradient per table row (dInputTable) instead of per step. Kept by reference until backward.
   */
  inputRows?: InputRows | null;
}

/** The table rows behind the rows of x: x[r] = table[ids[r]] for r < T·B, every id in [0, V). */
export interface InputRows {
  /** (T·B) */
  ids: Int32Array;
  /** V: the table's rows. */
  V: number;
}

export interface BackwardInput {
  /** (T, B, H) dL/d out_t; null means no loss reads this chunk's outputs. */
  dOut: Float32Array | null;
  /** (B, H) dL/dh_T arriving from later chunks; null means zero. */
  dhN?: Float32Array | null;
  /** (B, H) dL/dc_T (LSTM); null means zero. */
  dcN?: Float32Array | null;
  /**
   * Truncation: back-propagate through steps [firstStep, T) only (forward direction). The state
   * entering step firstStep is treated as a constant, dh0/dc0 are the gradients with respect to it,
   * and dx is zero before firstStep. An Int32Array (B) gives each row its own first step in [0, T]
   * (T: none of the row's steps), and dh0/dc0 row b is then the gradient at the state entering that
   * row's first step. Default 0 (the whole chunk). Used by truncated BPTT.
   */
  firstStep?: number | Int32Array;
  /**
   * The weights the forward pass of this chunk used, when they have been updated since (truncated
   * BPTT with k2 > k1 back-propagates through chunks computed before the last update). The Jacobians
   * are then those of the forward pass actually run. Default: the parameters' current values.
   */
  weights?: CellWeights | null;
  /**
   * Diagnostics: when given (length ≥ T), entry t receives ‖dL/dh_t‖² summed over the batch for every
   * back-propagated step t (the total gradient at the state: from later steps and from out_t).
   */
  stateGradNormSq?: Float64Array | null;
}

/**
 * Copies of a cell's parameters as the forward pass of a chunk saw them. Backward needs only the two
 * matrices; the biases are kept so that the forward pass can be recomputed (checkpoints).
 */
export interface CellWeights {
  weightIh: Float32Array;
  weightHh: Float32Array;
  biasIh: Float32Array | null;
  biasHh: Float32Array | null;
}

export interface BackwardOutput {
  /**
   * (T, B, I) dL/dx, owned by the cache: valid until the cache's next backward or forward. Empty
   * (length 0) when the forward pass projected through the input table: see dInputTable.
   */
  dx: Float32Array;
  /** (V, I) dL/d(table row) = Σ over the rows r with ids[r] = v of dL/dx[r], when the input table was used; else null. */
  dInputTable: Float32Array | null;
  /** (B, H) dL/d(state entering the first back-propagated step). Owned by the cache. */
  dh0: Float32Array;
  /** (B, H) the same for the LSTM cell state; null for the others. */
  dc0: Float32Array | null;
}

/** BackwardOutput.dx when the input gradient went through the input table instead. */
export const NO_DX = new Float32Array(0);

/** The saved activations of one chunk, plus scratch space for its backward pass. */
export class ChunkCache {
  T = 0;
  B = 0;
  x: Float32Array = new Float32Array(0);
  mask: Float32Array | null = null;
  inputRows: InputRows | null = null;
  /** Whether forward projected the inputs through the table (input-table.ts), so backward must too. */
  inputTable = false;
  private readonly buffers = new Buffers();

  /** A buffer of `length` elements, reused across chunks of the same or smaller size. */
  buffer(name: string, length: number): Float32Array {
    return this.buffers.get(name, length);
  }

  /** Total floats held, for memory accounting. */
  get floatsHeld(): number {
    return this.buffers.floatsHeld;
  }
}

/** The parameters of one layer and direction, named as in PyTorch's state_dict. */
export class CellParameters {
  readonly weightIh: Parameter;
  readonly weightHh: Parameter;
  readonly biasIh: Parameter | null;
  readonly biasHh: Parameter | null;

  constructor(kind: CellKind, options: CellOptions) {
    const { inputSize: I, hiddenSize: H } = options;
    requirePositiveInteger(I, "inputSize");
    requirePositiveInteger(H, "hiddenSize");
    const G = gateCount(kind) * H;
    const suffix = `_l${options.layer ?? 0}${options.reverse ? "_reverse" : ""}`;
    this.weightIh = new Parameter(`weight_ih${suffix}`, [G, I]);
    this.weightHh = new Parameter(`weight_hh${suffix}`, [G, H]);
    const bias = options.bias ?? true;
    this.biasIh = bias ? new Parameter(`bias_ih${suffix}`, [G]) : null;
    this.biasHh = bias ? new Parameter(`bias_hh${suffix}`, [G]) : null;
  }

  /** In PyTorch's state_dict order. */
  list(): Parameter[] {
    const out = [this.weightIh, this.weightHh];
    if (this.biasIh) out.push(this.biasIh);
    if (this.biasHh) out.push(this.biasHh);
    return out;
  }
}

/** The interface the layers and the trainer see; one implementation per cell file. */
export interface Cell {
  readonly kind: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly reverse: boolean;
  readonly params: CellParameters;
  /** A fresh cache; pass it to `forward` to reuse its buffers for later chunks. */
  createCache(): ChunkCache;
  /** Runs the chunk, saving activations in `cache` (a new one when omitted), and returns it. */
  forward(input: ChunkInput, cache?: ChunkCache): ChunkCache;
  /** Back-propagates through the chunk saved in `cache`. May be called more than once per cache. */
  backward(cache: ChunkCache, grads: BackwardInput): BackwardOutput;
  /** (B, H) final state hN of the chunk in `cache` (owned by the cache). */
  finalState(cache: ChunkCache): { h: Float32Array; c: Float32Array | null };
  /** (T, B, H) outputs of the chunk in `cache` (owned by the cache). */
  output(cache: ChunkCache): Float32Array;
}

export function requirePositiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

/** Checks the chunk's array lengths against (T, B, I, H); names the argument and the expected shape. */
export function validateChunk(cell: Cell, input: ChunkInput): void {
  const { T, B, x } = input;
  const I = cell.inputSize;
  const H = cell.hiddenSize;
  requirePositiveInteger(T, "T (time steps)");
  requirePositiveInteger(B, "B (batch size)");
  if (x.length !== T * B * I) {
    throw new RangeError(`x must have shape (T=${T}, B=${B}, I=${I}) = ${T * B * I} values, got ${x.length}`);
  }
  if (input.h0 && input.h0.length !== B * H) {
    throw new RangeError(`h0 must have shape (B=${B}, H=${H}) = ${B * H} values, got ${input.h0.length}`);
  }
  if (input.c0 && input.c0.length !== B * H) {
    throw new RangeError(`c0 must have shape (B=${B}, H=${H}) = ${B * H} values, got ${input.c0.length}`);
  }
  if (input.c0 && cell.kind !== "lstm") throw new RangeError(`c0 is only for the LSTM, not ${cell.kind}`);
  if (input.mask && input.mask.length !== T * B) {
    throw new RangeError(`mask must have shape (T=${T}, B=${B}) = ${T * B} values, got ${input.mask.length}`);
  }
  if (input.inputRows) {
    const { ids, V } = input.inputRows;
    requirePositiveInteger(V, "inputRows.V");
    if (ids.length !== T * B) throw new RangeError(`inputRows.ids must have T·B = ${T * B} values, got ${ids.length}`);
  }
}

/** Where backward stops: the lowest first step over the rows, and the per-row steps if they differ. */
export interface BackwardCut {
  lowest: number;
  /** (B) per-row first steps, or null when all rows start at `lowest`. */
  rows: Int32Array | null;
}

export function validateBackward(cache: ChunkCache, grads: BackwardInput, H: number, reverse: boolean): BackwardCut {
  const { T, B } = cache;
  if (T === 0) throw new RangeError("backward: the cache holds no forward pass");
  if (grads.dOut && grads.dOut.length !== T * B * H) {
    throw new RangeError(`dOut must have shape (T=${T}, B=${B}, H=${H}) = ${T * B * H} values, got ${grads.dOut.length}`);
  }
  if (grads.dhN && grads.dhN.length !== B * H) {
    throw new RangeError(`dhN must have shape (B=${B}, H=${H}), got ${grads.dhN.length} values`);
  }
  if (grads.dcN && grads.dcN.length !== B * H) {
    throw new RangeError(`dcN must have shape (B=${B}, H=${H}), got ${grads.dcN.length} values`);
  }
  const firstStep = grads.firstStep ?? 0;
  if (typeof firstStep === "number") {
    if (!Number.isInteger(firstStep) || firstStep < 0 || firstStep >= T) {
      throw new RangeError(`firstStep must be an integer in [0, ${T}), got ${firstStep}`);
    }
    if (firstStep > 0 && reverse) throw new RangeError("firstStep applies to the forward direction only");
    return { lowest: firstStep, rows: null };
  }
  if (firstStep.length !== B) throw new RangeError(`firstStep per row must have B=${B} values, got ${firstStep.length}`);
  let lowest = T;
  let uniform = true;
  for (let b = 0; b < B; b++) {
    const f = firstStep[b]!;
    if (!Number.isInteger(f) || f < 0 || f > T) throw new RangeError(`firstStep[${b}] must be an integer in [0, ${T}], got ${f}`);
    lowest = Math.min(lowest, f);
    uniform &&= f === firstStep[0];
  }
  if (reverse && lowest < T && firstStep.some((f) => f > 0)) throw new RangeError("firstStep applies to the forward direction only");
  return { lowest, rows: uniform ? null : firstStep };
}

/**
 * The mask backward uses: the forward mask, and 0 at the steps before each row's first step, so that
 * those rows carry their gradient unchanged (to dh0) and receive none of those steps' losses.
 */
export function backwardMask(cache: ChunkCache, cut: BackwardCut): Float32Array | null {
  if (!cut.rows) return cache.mask;
  const { T, B, mask } = cache;
  const out = cache.buffer("backwardMask", T * B);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) out[t * B + b] = t < cut.rows[b]! ? 0 : mask ? mask[t * B + b]! : 1;
  }
  return out;
}

/**
 * The input projection of a whole chunk in one GEMM:
 *   proj: (T·B, G·H) = x: (T·B, I) · W_ihᵀ  [+ b_ih] [+ b_hh]
 */
export function projectInputs(
  params: CellParameters, x: Float32Array, rows: number, I: number, GH: number,
  proj: Float32Array, addHiddenBias: boolean,
): void {
  const k = kernels();
  k.gemm(false, true, rows, GH, I, x, 0, I, params.weightIh.value, 0, I, false, proj, 0, GH);
  if (params.biasIh) k.addRowVector(rows, GH, proj, 0, params.biasIh.value, 0);
  if (addHiddenBias && params.biasHh) k.addRowVector(rows, GH, proj, 0, params.biasHh.value, 0);
}

/**
 * The input projection of the chunk in `cache` (its x, T, B), through the input table when the
 * forward pass was given inputRows and the table is the cheaper way (input-table.ts), else one GEMM.
 * Records the choice in the cache for backward.
 */
export function projectChunkInputs(
  params: CellParameters, cache: ChunkCache, I: number, GH: number, proj: Float32Array, addHiddenBias: boolean,
): void {
  const rows = cache.T * cache.B;
  cache.inputTable = cache.inputRows !== null && inputTablePays(rows, cache.inputRows.V);
  if (cache.inputTable) projectThroughTable(params, cache, I, GH, proj, addHiddenBias);
  else projectInputs(params, cache.x, rows, I, GH, proj, addHiddenBias);
}

/**
 * The weight and input gradients of the chunk in `cache`, three GEMMs over steps [t0, T):
 *   dW_ih += dXGatesᵀ · x,  dW_hh += dHGatesᵀ · hPrev,  dx = dXGates · W_ih,  db_ih += Σ dXGates,  db_hh += Σ dHGates
 * For the RNN and LSTM dHGates is dXGates; for the GRU they differ in the n block. When forward
 * projected through the input table, dW_ih and the input gradient go through it too and the latter
 * is returned per table row (dx is left alone); else returns null.
 */
export function accumulateChunkGradients(
  params: CellParameters, cache: ChunkCache, t0: number, I: number, H: number, GH: number,
  hPrev: Float32Array, dXGates: Float32Array, dHGates: Float32Array, dx: Float32Array, weightIh: Float32Array,
): Float32Array | null {
  const k = kernels();
  const { T, B, x } = cache;
  const rows = (T - t0) * B;
  const xo = t0 * B * I;
  const go = t0 * B * GH;
  const ho = t0 * B * H;
  k.gemm(true, false, GH, H, rows, dHGates, go, GH, hPrev, ho, H, true, params.weightHh.grad, 0, H);
  if (params.biasIh) k.sumRowsInto(rows, GH, dXGates, go, params.biasIh.grad, 0);
  if (params.biasHh) k.sumRowsInto(rows, GH, dHGates, go, params.biasHh.grad, 0);
  if (cache.inputTable) return tableGradients(params, cache, t0, I, GH, dXGates, weightIh);
  k.gemm(true, false, GH, I, rows, dXGates, go, GH, x, xo, I, true, params.weightIh.grad, 0, I);
  if (t0 > 0) dx.fill(0, 0, xo);
  k.gemm(false, false, rows, I, GH, dXGates, go, GH, weightIh, 0, I, false, dx, xo, I);
  return null;
}

/** The time index of processing step s (the reverse direction walks from T−1 down to 0). */
export function timeAt(s: number, T: number, reverse: boolean): number {
  return reverse ? T - 1 - s : s;
}
