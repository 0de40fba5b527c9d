/**
 * The state a recurrent stack carries from chunk to chunk, and the gradient with respect to it (the
 * same shapes), for L·D cells (layers × directions) and B rows:
 *
 *   h: (L·D, B, H)   c: (L·D, B, H) for a cell with a cell state (the LSTM), else null
 *
 * Which parts exist, and their sizes, is the cell's to say (Cell.stateSizes): nothing here or in its
 * users asks which kind of cell it is. The arrays come from the active backend (kernels().allocate),
 * so the state has the backend's precision (float64 in the gradient checks).
 */
import type { StateSizes } from "../cells/cell.js";
import { kernels } from "../kernels/index.js";
import { Tensor } from "../tensor/tensor.js";

export class RecurrentState {
  readonly h: Tensor;
  readonly c: Tensor | null;

  constructor(h: Tensor, c: Tensor | null) {
    this.h = h;
    this.c = c;
  }

  /** A zero state for `cells` = L·D cells of the given state sizes and B rows. */
  static zeros(cells: number, B: number, sizes: StateSizes): RecurrentState {
    const part = (size: number): Tensor => new Tensor(kernels().allocate(cells * B * size), [cells, B, size]);
    return new RecurrentState(part(sizes.h), sizes.c > 0 ? part(sizes.c) : null);
  }

  /** B: the rows. */
  get batchSize(): number {
    return this.h.shape[1]!;
  }

  /** Back to zero. */
  reset(): void {
    this.h.data.fill(0);
    this.c?.data.fill(0);
  }

  /** Copies h and c (when this state has one) from tensors of the same shapes. */
  assign(h: Tensor, c: Tensor | null): void {
    this.h.data.set(h.data);
    if (this.c && c) this.c.data.set(c.data);
  }

  /**
   * Puts rows back in their order after a run whose rows were reordered (packed rows, sorted by length):
   * row j moves to row order[j], in every cell's block.
   */
  restoreRowOrder(order: Int32Array): void {
    for (const part of [this.h, this.c]) {
      if (!part) continue;
      const [cells, B, size] = part.shape as [number, number, number];
      const scratch = part.data.slice(0, B * size);
      for (let i = 0; i < cells; i++) {
        const block = part.data.subarray(i * B * size, (i + 1) * B * size);
        scratch.set(block);
        for (let j = 0; j < B; j++) block.set(scratch.subarray(j * size, (j + 1) * size), order[j]! * size);
      }
    }
  }

  /** Zeroes row b of every cell's block, for each b in `rows`: those rows start again from zero. */
  zeroRows(rows: readonly number[]): void {
    if (rows.length === 0) return;
    zeroStateRows(this.h, rows);
    if (this.c) zeroStateRows(this.c, rows);
  }
}

/** Zeroes row b of every (layer, direction) block of a (L·D, B, H) state, for each b in `rows`. */
export function zeroStateRows(state: Tensor, rows: readonly number[]): void {
  const [LD, B, H] = state.shape as [number, number, number];
  for (let i = 0; i < LD; i++) for (const b of rows) state.data.fill(0, (i * B + b) * H, (i * B + b + 1) * H);
}
