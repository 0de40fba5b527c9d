/**
 * The saved activations of one chunk that every cell has, plus scratch space for its backward pass.
 * Each cell declares its own cache in its file, extending this one with the buffers of its maths
 * (the LSTM's gates and c, the GRU's hidden gates, the RNN's pre-activations). By time index t:
 *
 *   hPrev (T, B, H)  the state entering step t (the forward direction's h_{t−1}, the reverse's h_{t+1})
 *   out   (T, B, H)  the outputs, 0 at masked steps
 *   hN    (B, H)     the final state
 *
 * and, for backward, dh (B, H) carrying dL/dh from step to step and dx (T, B, I).
 *
 * With packed rows (ChunkInput.batchSizes) every (T, B, ·) array holds only the running rows: (N, ·),
 * step t's rows at [offsets[t], offsets[t + 1]).
 */
import { ReusableBuffer } from "../tensor/buffers.js";
import type { InputRows } from "./chunk.js";
import { InputTableBuffers } from "./input-table.js";

export class ChunkCache {
  T = 0;
  B = 0;
  /** (T, B, I) the chunk's input, by reference. */
  x: Float32Array = new Float32Array(0);
  /** (T, B) by reference, or null (every step real). */
  mask: Float32Array | null = null;
  /** (T) the rows running at each step (packed, by reference), or null: all B. */
  batchSizes: Int32Array | null = null;
  /** (T + 1) step t's rows are [offsets[t], offsets[t + 1]): t·B, or the sums of batchSizes. */
  offsets: Int32Array = new Int32Array(0);
  /** N = offsets[T]: the rows of every per-step array. */
  rows = 0;
  inputRows: InputRows | null = null;
  /** Whether forward projected the inputs through the table (input-table.ts), so backward must too. */
  usesInputTable = false;

  readonly hPrev = new ReusableBuffer();
  readonly out = new ReusableBuffer();
  readonly hN = new ReusableBuffer();
  /** (B, H) dL/dh carried from step to step, initialised to dhN. */
  readonly dh = new ReusableBuffer();
  /** (T, B, I) dL/dx. */
  readonly dx = new ReusableBuffer();
  /** (B, H) zeros, the dOut of every step of a chunk no loss reads (never written). */
  readonly zeros = new ReusableBuffer();
  /** (T, B) the mask of a backward pass truncated per row (validate.ts). */
  readonly backwardMask = new ReusableBuffer();
  /** The input-table path's buffers, used when forward was given inputRows and the table pays. */
  readonly inputTable = new InputTableBuffers();
  private offsetStorage = new Int32Array(0);

  /** Records the chunk's layout: T steps of B rows, or of batchSizes[t] rows (packed); sets offsets and rows. */
  setLayout(T: number, B: number, batchSizes: Int32Array | null): void {
    this.T = T;
    this.B = B;
    this.batchSizes = batchSizes;
    if (this.offsetStorage.length < T + 1) {
      this.offsetStorage = new Int32Array(Math.max(T + 1, 2 * this.offsetStorage.length));
    }
    const offsets = this.offsetStorage;
    offsets[0] = 0;
    for (let t = 0; t < T; t++) offsets[t + 1] = offsets[t]! + (batchSizes ? batchSizes[t]! : B);
    this.offsets = offsets;
    this.rows = offsets[T]!;
  }

  /** The rows running at time step t. */
  rowsAt(t: number): number {
    return this.offsets[t + 1]! - this.offsets[t]!;
  }
}
