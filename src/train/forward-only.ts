/**
 * A model run forward over a batch's layout (layout.ts) keeping nothing for backward: what `evaluate`,
 * the `Stepper` and the heads of TBPTT(∞, k2) (trainer.ts) need. The steps go through the model in
 * chunks of about CHUNK_ROWS rows — split, too, where a row starts a new sequence (its state zeroed
 * first) — one reused cache for all of them, the state carried from chunk to chunk. So the memory is
 * O(CHUNK_ROWS) rows of activations plus the state (B rows), whatever the length of the rows; each
 * chunk's outputs are handed to the caller before the next overwrites them.
 *
 * A bidirectional model reads each row backwards from its end, so it runs the whole layout as one chunk.
 */
import type { RecurrentState } from "../layers/recurrent-state.js";
import type { Batch } from "./batch.js";
import type { BatchLayout } from "./layout.js";
import type { ModelForwardOptions, SequenceCache, SequenceModel } from "./model.js";

/** Rows per chunk, at least (a chunk ends on the step that reaches it). */
export const CHUNK_ROWS = 2048;

/** Called after each chunk of layout steps [start, end) with its outputs: rows offsets[start]…offsets[end], D·H each. */
export type ChunkOutputs = (output: Float32Array, start: number, end: number) => void;

export class ForwardOnly {
  readonly model: SequenceModel;
  private readonly cache: SequenceCache;
  private readonly resetRows: number[] = [];

  constructor(model: SequenceModel) {
    this.model = model;
    this.cache = model.createCache();
  }

  /** Runs layout steps [0, layout.T) of `batch` from `state`, which it advances; see the header. */
  run(
    batch: Batch, layout: BatchLayout, state: RecurrentState, options: ModelForwardOptions, onChunk?: ChunkOutputs,
  ): void {
    const whole = this.model.rnn.bidirectional;
    const I = this.model.inputSize;
    for (let start = 0; start < layout.T; ) {
      let end = layout.nextStart(batch, start, layout.T);
      if (!whole) {
        // Cut at CHUNK_ROWS rows (the steps up to a start are all in one piece already).
        let rows = layout.rowsAt(start);
        let cut = start + 1;
        while (cut < end && rows < CHUNK_ROWS) rows += layout.rowsAt(cut++);
        end = cut;
      }
      state.zeroRows(layout.resetRows(batch, start, this.resetRows));
      const output = this.model.forward(layout.input(batch, start, end, I), state, this.cache, options);
      onChunk?.(output, start, end);
      start = end;
    }
  }
}
