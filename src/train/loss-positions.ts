/**
 * Where the losses are: which (step, row) pairs of a chunk carry a loss, and their targets.
 *
 *   every-step   every real step with a target (language models, framewise labelling)
 *   last-step    the last real step of each row (many-to-one classification or regression)
 *   + everyChunk the last real step of each row within every k1-chunk too, scored against the
 *                row's sequence target (a classifier asked for its answer every K tokens)
 *
 * Positions are flat indices t·B + b into the batch's (T, B) grid, in increasing order. The result is
 * written into a reusable `LossPositions`, whose buffers grow once and are then reused chunk after chunk.
 */
import { kernels } from "../kernels/index.js";
import { type Batch, IGNORE_INDEX } from "./batch.js";
import type { Objective } from "./model.js";

export type LossPlacement = "every-step" | "last-step";

export class LossPositions {
  /** N: positions found. */
  count = 0;
  /** (N) flat indices t·B + b, increasing (valid up to count). */
  positions = new Int32Array(0);
  /** Class ids (classes) or (N, O) values (binary: O = 1; regression), valid up to count rows. */
  classTargets: Int32Array<ArrayBufferLike> = new Int32Array(0);
  valueTargets = new Float32Array(0);
  /** Whether position n takes the row's sequence target rather than its step target. */
  private fromSequence = new Uint8Array(0);

  /** The targets of the first `count` positions, for the objective. */
  targets(objective: Objective, O: number): Int32Array | Float32Array {
    return objective === "classes" ? this.classTargets.subarray(0, this.count) : this.valueTargets.subarray(0, this.count * (objective === "regression" ? O : 1));
  }

  /** Room for n positions (and their targets, `width` values each). */
  reserve(n: number, width: number): void {
    if (this.positions.length < n) {
      const capacity = Math.max(n, 2 * this.positions.length);
      this.positions = new Int32Array(capacity);
      this.fromSequence = new Uint8Array(capacity);
      // In kernel memory: the softmax cross-entropy kernel reads them in place (wasm-simd).
      this.classTargets = kernels().allocateIndices(capacity);
    }
    if (this.valueTargets.length < n * width) this.valueTargets = new Float32Array(Math.max(n * width, 2 * this.valueTargets.length));
  }

  private push(i: number, fromSequence: boolean): void {
    this.positions[this.count] = i;
    this.fromSequence[this.count] = fromSequence ? 1 : 0;
    this.count++;
  }

  /** Finds the loss positions of steps [start, end) of the batch. `lengths` are the rows' real lengths. */
  find(
    batch: Batch, lengths: Int32Array, start: number, end: number,
    placement: LossPlacement, everyChunk: boolean, objective: Objective, O: number,
  ): this {
    const { B } = batch;
    const width = objective === "regression" ? O : 1;
    this.count = 0;
    if (placement === "every-step") {
      this.reserve((end - start) * B, width);
      const step = batch.stepTargets!;
      for (let t = start; t < end; t++) {
        for (let b = 0; b < B; b++) {
          if (t >= lengths[b]!) continue;
          const i = t * B + b;
          if (objective === "classes" ? step[i] === IGNORE_INDEX : Number.isNaN(step[i * width]!)) continue;
          this.push(i, false);
        }
      }
    } else {
      // One position per row at most: its last real step if it falls in [start, end), else (with
      // everyChunk) the chunk's last step while the row is still running. Rows are visited in order
      // and a row's position is in one of two steps, so sort the few positions by insertion.
      this.reserve(B, width);
      for (let b = 0; b < B; b++) {
        const last = lengths[b]! - 1;
        if (last >= start && last < end) this.insertSorted(last * B + b, batch.sequenceTargets !== undefined);
        else if (everyChunk && last >= end) this.insertSorted((end - 1) * B + b, true);
      }
    }
    for (let n = 0; n < this.count; n++) {
      const i = this.positions[n]!;
      const fromSequence = this.fromSequence[n] === 1;
      const source = fromSequence ? batch.sequenceTargets! : batch.stepTargets!;
      const at = fromSequence ? i % B : i;
      if (objective === "classes") this.classTargets[n] = source[at]!;
      else for (let j = 0; j < width; j++) this.valueTargets[n * width + j] = source[at * width + j]!;
    }
    return this;
  }

  private insertSorted(i: number, fromSequence: boolean): void {
    let n = this.count;
    while (n > 0 && this.positions[n - 1]! > i) {
      this.positions[n] = this.positions[n - 1]!;
      this.fromSequence[n] = this.fromSequence[n - 1]!;
      n--;
    }
    this.positions[n] = i;
    this.fromSequence[n] = fromSequence ? 1 : 0;
    this.count++;
  }
}
