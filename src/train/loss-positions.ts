/**
 * Where the losses are: which (step, row) pairs of a chunk carry a loss, and their targets.
 *
 *   every-step   every real step with a target (language models, framewise labelling)
 *   last-step    the last real step of each row (many-to-one classification or regression)
 *   + everyChunk the last real step of each row within every k1-chunk too, scored against the
 *                row's sequence target (a classifier asked for its answer every K tokens)
 *
 * Positions are rows of the layout (layout.ts): offsets[u] + j for layout step u of layout row j, in
 * increasing order — for a batch without padding, the flat index t·B + b into its (T, B) grid. Each has
 * its step and where its target is. The result is written into a reusable `LossPositions`, whose
 * buffers grow once and are then reused chunk after chunk.
 */
import { kernels } from "../kernels/index.js";
import { type Batch, IGNORE_INDEX } from "./batch.js";
import type { BatchLayout } from "./layout.js";
import type { Objective } from "./model.js";

export type LossPlacement = "every-step" | "last-step";

export class LossPositions {
  /** N: positions found. */
  count = 0;
  /** (N) layout rows, increasing (valid up to count). */
  positions = new Int32Array(0);
  /** (N) the layout step of each position. */
  steps = new Int32Array(0);
  /** Class ids (classes) or (N, O) values (binary: O = 1; regression), valid up to count rows. */
  classTargets: Int32Array<ArrayBufferLike> = new Int32Array(0);
  valueTargets = new Float32Array(0);
  /** Whether position n takes the row's sequence target rather than its step target. */
  private fromSequence = new Uint8Array(0);
  /** Where position n's target is: its (t, b) grid index into stepTargets, or its batch row b. */
  private sources = new Int32Array(0);

  /** The targets of the first `count` positions, for the objective. */
  targets(objective: Objective, O: number): Int32Array | Float32Array {
    return objective === "classes" ? this.classTargets.subarray(0, this.count) : this.valueTargets.subarray(0, this.count * (objective === "regression" ? O : 1));
  }

  /** Room for n positions (and their targets, `width` values each). */
  reserve(n: number, width: number): void {
    if (this.positions.length < n) {
      const capacity = Math.max(n, 2 * this.positions.length);
      this.positions = new Int32Array(capacity);
      this.steps = new Int32Array(capacity);
      this.sources = new Int32Array(capacity);
      this.fromSequence = new Uint8Array(capacity);
      // In kernel memory: the softmax cross-entropy kernel reads them in place (wasm-simd).
      this.classTargets = kernels().allocateIndices(capacity);
    }
    if (this.valueTargets.length < n * width) this.valueTargets = new Float32Array(Math.max(n * width, 2 * this.valueTargets.length));
  }

  private push(position: number, step: number, fromSequence: boolean, source: number): void {
    const n = this.count++;
    this.positions[n] = position;
    this.steps[n] = step;
    this.fromSequence[n] = fromSequence ? 1 : 0;
    this.sources[n] = source;
  }

  /** Finds the loss positions of layout steps [start, end) of the batch. */
  find(
    batch: Batch, layout: BatchLayout, start: number, end: number,
    placement: LossPlacement, everyChunk: boolean, objective: Objective, O: number,
  ): this {
    const { B } = batch;
    const width = objective === "regression" ? O : 1;
    const { lengths, offsets } = layout;
    this.count = 0;
    if (placement === "every-step") {
      this.reserve(offsets[end]! - offsets[start]!, width);
      const step = batch.stepTargets!;
      for (let u = start; u < end; u++) {
        const running = layout.rowsAt(u);
        for (let j = 0; j < running; j++) {
          if (u >= lengths[j]!) continue;
          const i = layout.gridIndex(u, j);
          if (objective === "classes" ? step[i] === IGNORE_INDEX : Number.isNaN(step[i * width]!)) continue;
          this.push(offsets[u]! + j, u, false, i);
        }
      }
    } else {
      // One position per row at most: its last real step if it falls in [start, end), else (with
      // everyChunk) the chunk's last step while the row is still running. Rows are visited in order
      // and a row's position is in one of two steps, so sort the few positions by insertion.
      this.reserve(B, width);
      const fromSequence = batch.sequenceTargets !== undefined;
      for (let j = 0; j < B; j++) {
        const last = lengths[j]! - 1;
        if (last >= start && last < end) {
          const source = fromSequence ? layout.order[j]! : layout.gridIndex(last, j);
          this.insertSorted(offsets[last]! + j, last, fromSequence, source);
        } else if (everyChunk && last >= end) {
          this.insertSorted(offsets[end - 1]! + j, end - 1, true, layout.order[j]!);
        }
      }
    }
    for (let n = 0; n < this.count; n++) {
      const at = this.sources[n]!;
      const source = this.fromSequence[n] === 1 ? batch.sequenceTargets! : batch.stepTargets!;
      if (objective === "classes") this.classTargets[n] = source[at]!;
      else for (let j = 0; j < width; j++) this.valueTargets[n * width + j] = source[at * width + j]!;
    }
    return this;
  }

  private insertSorted(position: number, step: number, fromSequence: boolean, source: number): void {
    let n = this.count;
    while (n > 0 && this.positions[n - 1]! > position) {
      this.positions[n] = this.positions[n - 1]!;
      this.steps[n] = this.steps[n - 1]!;
      this.fromSequence[n] = this.fromSequence[n - 1]!;
      this.sources[n] = this.sources[n - 1]!;
      n--;
    }
    this.positions[n] = position;
    this.steps[n] = step;
    this.fromSequence[n] = fromSequence ? 1 : 0;
    this.sources[n] = source;
    this.count++;
  }
}
