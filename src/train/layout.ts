/**
 * Where a batch's real steps go: which rows the model runs at each step, in which order, from which
 * step of the batch. A batch is time-major and right-padded (its mask gives each row's length); the
 * model runs packed rows (ModelInput.batchSizes), as cuDNN and PyTorch's pack_padded_sequence do:
 *
 *   the rows are ordered by decreasing length (a stable sort: equal lengths keep the batch's order),
 *   so the rows running at layout step u are the first n_u; the batch shrinks as rows end, and a
 *   chunk's arrays hold its real steps only: N = Σ_u n_u rows, the real tokens, not T·B.
 *
 * Layout row j is batch row order[j], and its layout step u is batch step u + shift[j]: shift is 0,
 * except in the tails of TBPTT(∞, k2) (`window`: each row's last k2 steps, trainer.ts). Everything
 * read from the batch goes through gridIndex(u, j) = (u + shift[j])·B + order[j].
 *
 * A batch without padding (every row the same length), whole or from one step on, is `direct`: its
 * layout is the batch itself, and its inputs are views of the batch's arrays, nothing copied — the
 * path of every equal-length batch (language-model strips, fixed-length windows).
 */
import type { Batch } from "./batch.js";
import type { ModelInput } from "./model.js";

export interface ArrangeOptions {
  /**
   * Pack padded rows (default). false keeps a padded batch's rows in their order with its mask, for a
   * stream whose state continues into the next batch row by row (evaluate).
   */
  pack?: boolean;
}

export class BatchLayout {
  /** Layout steps (the longest row's) and rows. */
  T = 0;
  B = 0;
  /** Whether the layout is the batch's own grid: rows in order, every row from layout step 0 to T (see the header). */
  direct = true;
  /** A direct layout: the batch step of layout step 0 (the same for every row). */
  timeBase = 0;
  /** A direct layout of a padded batch, whose mask goes to the model (ArrangeOptions.pack false). */
  masked = false;
  /** (B) layout row j is batch row order[j]. */
  order = new Int32Array(0);
  /** (B) each layout row's length in steps (non-increasing unless direct). */
  lengths = new Int32Array(0);
  /** (B) the batch step of row j's layout step 0. */
  shift = new Int32Array(0);
  /** (T) rows running at each layout step (packed), or null when every row runs every step. */
  batchSizes: Int32Array | null = null;
  /** (T + 1) layout step u's rows are [offsets[u], offsets[u + 1]) of the packed arrays (u·B when direct). */
  offsets = new Int32Array(1);
  private sizes = new Int32Array(0);
  private gatheredIds = new Int32Array(0);
  private gatheredFeatures = new Float32Array(0);
  private readonly byLength: number[] = [];

  /** N: the rows of the whole layout. */
  get rows(): number {
    return this.offsets[this.T]!;
  }

  /** The rows running at layout step u. */
  rowsAt(u: number): number {
    return this.offsets[u + 1]! - this.offsets[u]!;
  }

  /** The index t·B + b into the batch's (T, B) grid of layout step u of row j. */
  gridIndex(u: number, j: number): number {
    return (u + this.shift[j]!) * this.B + this.order[j]!;
  }

  /** The layout of a whole batch whose rows have these real lengths (B of them, from rowLengths). */
  arrange(batch: Batch, lengths: Int32Array, options: ArrangeOptions = {}): this {
    const { B } = batch;
    this.resize(B);
    let equal = true;
    for (let b = 1; b < B; b++) equal &&= lengths[b] === lengths[0];
    this.timeBase = 0;
    this.masked = false;
    this.shift.fill(0);
    if (equal || options.pack === false) {
      for (let b = 0; b < B; b++) this.order[b] = b;
      this.lengths.set(lengths);
      this.masked = !equal;
      return this.finish(equal ? lengths[0]! : batch.T, true);
    }
    // Decreasing length, stable.
    const byLength = this.byLength;
    byLength.length = 0;
    for (let b = 0; b < B; b++) byLength.push(b);
    byLength.sort((a, b) => lengths[b]! - lengths[a]! || a - b);
    for (let j = 0; j < B; j++) {
      this.order[j] = byLength[j]!;
      this.lengths[j] = lengths[byLength[j]!]!;
    }
    return this.finish(this.lengths[0]!, false);
  }

  /**
   * Part of another layout's rows, in its order: "tail", each row's last `keep` steps (all of a shorter
   * row), or "head", the steps before them (none of a row of at most `keep` steps).
   */
  window(source: BatchLayout, keep: number, part: "head" | "tail"): this {
    const B = source.B;
    this.resize(B);
    this.order.set(source.order);
    this.masked = false;
    for (let j = 0; j < B; j++) {
      const length = source.lengths[j]!;
      const tail = Math.min(length, keep);
      this.lengths[j] = part === "tail" ? tail : length - tail;
      this.shift[j] = source.shift[j]! + (part === "tail" ? length - tail : 0);
    }
    let equal = true;
    for (let j = 1; j < B; j++) equal &&= this.lengths[j] === this.lengths[0];
    const direct = source.direct && !source.masked && equal;
    this.timeBase = direct ? this.shift[0]! : 0;
    return this.finish(this.lengths[0]!, direct);
  }

  /**
   * The model's input for layout steps [s0, s1): views of the batch when direct, else the running
   * rows gathered (owned by the layout: valid until the next call; the model copies what it keeps).
   */
  input(batch: Batch, s0: number, s1: number, I: number): ModelInput {
    const { B } = this;
    if (this.direct) {
      const t0 = s0 + this.timeBase;
      const t1 = s1 + this.timeBase;
      return {
        T: s1 - s0, B,
        ids: batch.ids ? batch.ids.subarray(t0 * B, t1 * B) : null,
        features: batch.features ? batch.features.subarray(t0 * B * I, t1 * B * I) : null,
        mask: this.masked ? batch.mask!.subarray(t0 * B, t1 * B) : null,
      };
    }
    const r0 = this.offsets[s0]!;
    const rows = this.offsets[s1]! - r0;
    let ids: Int32Array | null = null;
    let features: Float32Array | null = null;
    if (batch.ids) {
      if (this.gatheredIds.length < rows) {
        this.gatheredIds = new Int32Array(Math.max(rows, 2 * this.gatheredIds.length));
      }
      ids = this.gatheredIds.subarray(0, rows);
      for (let u = s0; u < s1; u++) {
        const at = this.offsets[u]! - r0;
        for (let j = 0; j < this.rowsAt(u); j++) ids[at + j] = batch.ids[this.gridIndex(u, j)]!;
      }
    }
    if (batch.features) {
      if (this.gatheredFeatures.length < rows * I) {
        this.gatheredFeatures = new Float32Array(Math.max(rows * I, 2 * this.gatheredFeatures.length));
      }
      features = this.gatheredFeatures.subarray(0, rows * I);
      for (let u = s0; u < s1; u++) {
        const at = this.offsets[u]! - r0;
        for (let j = 0; j < this.rowsAt(u); j++) {
          // An element loop: set(subarray(…)) would make a view per row.
          const from = this.gridIndex(u, j) * I;
          const to = (at + j) * I;
          for (let i = 0; i < I; i++) features[to + i] = batch.features[from + i]!;
        }
      }
    }
    return { T: s1 - s0, B, ids, features, batchSizes: this.batchSizes!.subarray(s0, s1) };
  }

  /** Whether a running row starts a new sequence at layout step u (batch.starts). */
  startsAt(batch: Batch, u: number): boolean {
    if (!batch.starts) return false;
    for (let j = 0; j < this.rowsAt(u); j++) if (batch.starts[this.gridIndex(u, j)]) return true;
    return false;
  }

  /** The running rows that start a new sequence at layout step u, into `rows` (cleared first). */
  resetRows(batch: Batch, u: number, rows: number[]): number[] {
    rows.length = 0;
    if (batch.starts) for (let j = 0; j < this.rowsAt(u); j++) if (batch.starts[this.gridIndex(u, j)]) rows.push(j);
    return rows;
  }

  /** The first layout step after s0, up to `limit`, where a running row starts a new sequence (else limit). */
  nextStart(batch: Batch, s0: number, limit: number): number {
    let s1 = s0 + 1;
    while (s1 < limit && !this.startsAt(batch, s1)) s1++;
    return s1;
  }

  private resize(B: number): void {
    this.B = B;
    if (this.order.length !== B) {
      this.order = new Int32Array(B);
      this.lengths = new Int32Array(B);
      this.shift = new Int32Array(B);
    }
  }

  /** T, direct, the batch sizes and the offsets, from the lengths. */
  private finish(T: number, direct: boolean): this {
    this.T = T;
    this.direct = direct;
    if (this.offsets.length < T + 1) this.offsets = new Int32Array(Math.max(T + 1, 2 * this.offsets.length));
    if (direct) {
      this.batchSizes = null;
      for (let u = 0; u <= T; u++) this.offsets[u] = u * this.B;
      return this;
    }
    if (this.sizes.length < T) this.sizes = new Int32Array(Math.max(T, 2 * this.sizes.length));
    this.batchSizes = this.sizes.subarray(0, T);
    // n_u = #{j : lengths[j] > u}: the lengths are non-increasing.
    let running = this.B;
    this.offsets[0] = 0;
    for (let u = 0; u < T; u++) {
      while (running > 0 && this.lengths[running - 1]! <= u) running--;
      this.batchSizes[u] = running;
      this.offsets[u + 1] = this.offsets[u]! + running;
    }
    return this;
  }
}
