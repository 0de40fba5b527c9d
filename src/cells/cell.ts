/**
 * The contract of the three recurrent cells (vanilla RNN, LSTM, GRU): the shape of a chunk, the state
 * a cell carries, and what `forward`, `backward` and the one-token `step` take and give.
 *
 * A cell runs one layer in one direction over a whole chunk of T steps for B sequences:
 *
 *   forward(x: (T, B, I), h0: (B, H), c0?: (B, H), mask?: (T, B))
 *     → out: (T, B, H) (0 at masked steps), hN: (B, H), cN: (B, H) for the LSTM
 *   backward(dOut: (T, B, H), dhN: (B, H), dcN?: (B, H))
 *     → accumulates dW_ih, dW_hh, db_ih, db_hh into the parameters' `grad` (+=, never zeroed here)
 *     → dx: (T, B, I), dh0: (B, H), dc0: (B, H)
 *   tangent(step t, ḣ_{t−1}, ċ_{t−1}, ẋ_t) → ḣ_t, ċ_t      (forward mode, the weights fixed)
 *
 * Computed as cuDNN does: the input projections of all T steps in one GEMM, only the recurrent
 * product per step, and the weight gradients of all steps in one GEMM each. Every buffer lives in
 * the cell's own typed cache (declared in the cell's file, on top of chunk-cache.ts), allocated on
 * first use and reused when the same cache is passed to the next chunk.
 *
 * Parameters are PyTorch's, for one layer k and direction (suffix "" or "_reverse"), with G gates:
 *   weight_ih_l{k}: (G·H, I)   weight_hh_l{k}: (G·H, H)   bias_ih_l{k}, bias_hh_l{k}: (G·H)
 * and the LSTM's variants (parameters.ts): weight_hr_l{k}: (P, H), a projection of the output (then
 * h, the outputs and W_hh's columns have P values where H is written above), weight_peephole_l{k}: (3H).
 */
import type { ChunkCache } from "./chunk-cache.js";
import type {
  BackwardInput, BackwardOutput, CellKind, ChunkInput, StateSizes, StepState, TangentStep,
} from "./chunk.js";
import type { CellParameters } from "./parameters.js";

export {
  type CellKind, type CellOptions, type StateSizes, type ChunkInput, type InputRows, type BackwardInput,
  type CellWeights, type BackwardOutput, NO_DX, type StepState, type TangentStep, gateCount,
} from "./chunk.js";
export type { CellParameters } from "./parameters.js";
export type { ChunkCache } from "./chunk-cache.js";

/** The interface the layers and the model see; one implementation per cell file. */
export interface Cell<C extends ChunkCache = ChunkCache> {
  readonly kind: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** What the cell carries from step to step (h, and c for the LSTM). */
  readonly stateSizes: StateSizes;
  /** G·H: the gate blocks stacked, the rows of W_ih and W_hh and the width of the input projection. */
  readonly gateSize: number;
  readonly reverse: boolean;
  readonly params: CellParameters;
  /** A fresh cache; pass it to `forward` to reuse its buffers for later chunks. */
  createCache(): C;
  /** Runs the chunk, saving activations in `cache` (a new one when omitted), and returns it. */
  forward(input: ChunkInput, cache?: C): C;
  /** Back-propagates through the chunk saved in `cache`. May be called more than once per cache. */
  backward(cache: C, grads: BackwardInput): BackwardOutput;
  /** (B, H) final state of the chunk in `cache` (owned by the cache): h, and c for the LSTM. */
  finalState(cache: C): { h: Float32Array; c: Float32Array | null };
  /** (T, B, H) outputs of the chunk in `cache` (owned by the cache). */
  output(cache: C): Float32Array;
  /**
   * The input projection of `rows` rows: proj (rows, G·H) at projOffset = x (rows, I) at xOffset · W_ihᵀ
   * + b_ih, plus b_hh where the cell adds it outside the recurrence (all but the GRU). What `step` expects.
   */
  projectInput(rows: number, x: Float32Array, xOffset: number, proj: Float32Array, projOffset: number): void;
  /**
   * One step of B rows for inference (no mask, nothing saved for backward): from the input
   * projection in `proj` (B, G·H), overwritten, advances `state` in place and writes the new h into
   * out (B, H). `scratch` is a cache of this cell used only for stepping. Allocates nothing.
   */
  step(B: number, proj: Float32Array, state: StepState, out: Float32Array, scratch: C): void;
  /**
   * The forward-mode derivative of step t (a time index) of the chunk in `cache`, with the current
   * weights held fixed: from the tangents of the state entering the step and of its input, the
   * tangents of the state it leaves (a Jacobian–vector product, J·v). A masked row carries its
   * tangent unchanged; a chunk of packed rows is refused. Used by the online trainer modes (UORO,
   * on each row's step recomputed alone); its own scratch is in the cache.
   */
  tangent(cache: C, t: number, step: TangentStep): void;
}
