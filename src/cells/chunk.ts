/**
 * The data a cell's forward, backward and step take and give (the contract is in cell.ts): the chunk,
 * the gradients, the state sizes, the weight copies, the gates of each kind. Imports nothing, so that
 * every file of the cells can use them.
 */
export type CellKind = "rnn_tanh" | "rnn_relu" | "lstm" | "gru";

/** G, the gate blocks of each kind, in PyTorch's order: RNN 1, LSTM 4 (i, f, g, o), GRU 3 (r, z, n). */
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
  /**
   * LSTM only: P, the size of a recurrent projection of the output (Sak et al. 2014; PyTorch's
   * `proj_size`), 1 ≤ P < H: h_t = W_hr·(o_t ⊙ tanh c_t) has P values, and so have the recurrent
   * input of W_hh and the cell's output. Omitted or 0: none.
   */
  projSize?: number;
  /** LSTM only: peephole connections, the gates reading the cell state through diagonal weights. Default false. */
  peephole?: boolean;
}

/**
 * The sizes of the state a cell carries from step to step, per row: h, which is also the cell's
 * output (H, or P for an LSTM with a projection), and c, the LSTM's cell state (H; 0 for a cell
 * without one). Nothing outside a cell's file asks which kind of cell it is to know its state: it
 * reads these.
 */
export interface StateSizes {
  readonly h: number;
  readonly c: number;
}

export interface ChunkInput {
  /**
   * (T, B, I) time-major input, or (N, I) packed rows (batchSizes). Kept by reference in the cache until
   * backward: do not modify it in between.
   */
  x: Float32Array;
  T: number;
  B: number;
  /** (B, H) initial state; zeros when omitted. */
  h0?: Float32Array | null;
  /** (B, H) initial cell state (LSTM only); zeros when omitted. */
  c0?: Float32Array | null;
  /** (T, B) 1 where step t of sequence b is real, 0 where it is padding. Kept by reference. Not with batchSizes. */
  mask?: Float32Array | null;
  /**
   * Packed rows, as cuDNN's packed layout and PyTorch's `PackedSequence.batch_sizes`: (T) the rows running
   * at each time step, B ≥ batchSizes[t] ≥ batchSizes[t+1] ≥ 1. Step t runs rows [0, batchSizes[t]) only,
   * so the rows are ordered by decreasing length, and every per-step array holds only the running rows,
   * time-major: x (N, I), the outputs (N, H) and what the cache saves, step t's rows starting at row
   * Σ_{t'<t} batchSizes[t'] (N = Σ_t batchSizes[t]). A row's final state (hN, cN) is its state after its
   * own last step; the reverse direction starts each row at its own last step, from h0. Every packed row
   * is real: no mask. Kept by reference. Omitted: all B rows run every step (N = T·B).
   */
  batchSizes?: Int32Array | null;
  /**
   * When x is an embedding lookup, x[r] = table[ids[r]]: the cell may then project the distinct table
   * rows instead of the T·B steps (input-table.ts; the same outputs, bit for bit) and return the input
   * gradient per table row (dInputTable) instead of per step. Kept by reference until backward.
   */
  inputRows?: InputRows | null;
}

/** The table rows behind the rows of x: x[r] = table[ids[r]] for each row r of x (T·B, or N packed), ids in [0, V). */
export interface InputRows {
  /** (T·B), or (N) packed */
  ids: Int32Array;
  /** V: the table's rows. */
  V: number;
}

export interface BackwardInput {
  /** (T, B, H) dL/d out_t, or (N, H) packed; null means no loss reads this chunk's outputs. */
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
 * Copies of a cell's parameters as the forward pass of a chunk saw them. Backward needs the matrices
 * (and the LSTM's projection and peepholes); the biases are kept so that the forward pass can be
 * recomputed (checkpoints). The LSTM variants' tensors are null (or absent) for the other cells.
 */
export interface CellWeights {
  weightIh: Float32Array;
  weightHh: Float32Array;
  biasIh: Float32Array | null;
  biasHh: Float32Array | null;
  /** (P, H) weight_hr, the LSTM's projection. */
  weightHr?: Float32Array | null;
  /** (3H) weight_peephole, the LSTM's peephole weights p_i, p_f, p_o. */
  peephole?: Float32Array | null;
}

export interface BackwardOutput {
  /**
   * (T, B, I) dL/dx ((N, I) packed), owned by the cache: valid until the cache's next backward or forward. Empty
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

/**
 * Where `step` finds the state of B rows and leaves the next one: h (B, H) at hOffset and, for a
 * cell with a cell state, c (B, H) at cOffset. Made once by the caller and reused at every step.
 */
export interface StepState {
  h: Float32Array;
  hOffset: number;
  c: Float32Array | null;
  cOffset: number;
}

/**
 * The tangents of one step of B rows, for `tangent` (forward mode: a Jacobian–vector product with
 * the weights held fixed). Each array is (B, ·) from offset 0; the caller owns them.
 */
export interface TangentStep {
  /** (B, R) ḣ_{t−1}: the tangent of the state entering the step (R = P for an LSTM with a projection, else H). */
  h: Float32Array;
  /** (B, H) ċ_{t−1} for a cell with a cell state (the LSTM), else null. */
  c: Float32Array | null;
  /** (B, I) ẋ_t: the tangent of the step's input, or null for zero (an input that is data). */
  x: Float32Array | null;
  /** (B, R) ḣ_t, written. */
  hOut: Float32Array;
  /** (B, H) ċ_t (LSTM), written; else null. */
  cOut: Float32Array | null;
}
