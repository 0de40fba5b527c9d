/**
 * Checks a batch against the model and the loss placement before any work is done, so that a bad
 * batch fails with a message naming the field and what was expected, and leaves no state half-updated.
 * `validateTrainingBatch` adds what a trainer needs: that a continuing batch fits the stream it
 * continues, and that a bidirectional model sees one sequence per row.
 */
import { type Batch, IGNORE_INDEX, rowLengths } from "./batch.js";
import type { LossPlacement } from "./loss-positions.js";
import type { SequenceModel } from "./model.js";

export function validateBatch(model: SequenceModel, batch: Batch, lossAt: LossPlacement, everyChunk: boolean): void {
  const { T, B } = batch;
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`batch.T must be a positive integer, got ${T}`);
  if (!Number.isInteger(B) || B < 1) throw new RangeError(`batch.B must be a positive integer, got ${B}`);
  const I = model.inputSize;
  const O = model.outputSize;
  const objective = model.config.objective;
  if (model.embedding) {
    if (!batch.ids) throw new RangeError("batch.ids is required: this model reads tokens (it has an embedding)");
    checkLength(batch.ids, T * B, "batch.ids", `(T=${T}, B=${B})`);
    const V = model.embedding.numEmbeddings;
    for (let i = 0; i < batch.ids.length; i++) {
      const id = batch.ids[i]!;
      if (!(id >= 0 && id < V)) throw new RangeError(`batch.ids: id ${id} at step ${Math.floor(i / B)}, row ${i % B} is outside the vocabulary [0, ${V})`);
    }
  } else {
    if (!batch.features) throw new RangeError(`batch.features is required: this model reads ${I} features per step`);
    checkLength(batch.features, T * B * I, "batch.features", `(T=${T}, B=${B}, I=${I})`);
    checkFinite(batch.features, "batch.features");
  }
  if (batch.mask) {
    checkLength(batch.mask, T * B, "batch.mask", `(T=${T}, B=${B})`);
    const lengths = rowLengths(batch.mask, T, B);
    const empty = lengths.indexOf(0);
    if (empty >= 0) throw new RangeError(`batch.mask: row ${empty} has no real step (every row needs at least one)`);
  }
  if (batch.starts) {
    checkLength(batch.starts, T * B, "batch.starts", `(T=${T}, B=${B})`);
    if (lossAt === "last-step" && batch.sequenceTargets) {
      throw new RangeError("batch.starts packs several sequences per row, so batch.sequenceTargets (one per row) is ambiguous: give stepTargets at each sequence's last step");
    }
  }
  const width = objective === "regression" ? O : 1;
  if (lossAt === "every-step" || (lossAt === "last-step" && !batch.sequenceTargets)) {
    if (!batch.stepTargets) {
      throw new RangeError(
        lossAt === "every-step"
          ? 'batch.stepTargets is required: lossAt "every-step" needs a target per step (or use lossAt "last-step" with sequenceTargets)'
          : 'batch.sequenceTargets (one per row) or batch.stepTargets is required for lossAt "last-step"',
      );
    }
    checkLength(batch.stepTargets, T * B * width, "batch.stepTargets", width === 1 ? `(T=${T}, B=${B})` : `(T=${T}, B=${B}, O=${O})`);
    checkTargets(batch.stepTargets, objective, O, "batch.stepTargets");
  }
  if (batch.sequenceTargets) {
    checkLength(batch.sequenceTargets, B * width, "batch.sequenceTargets", width === 1 ? `(B=${B})` : `(B=${B}, O=${O})`);
    checkTargets(batch.sequenceTargets, objective, O, "batch.sequenceTargets");
  }
  if (everyChunk && !batch.sequenceTargets) {
    throw new RangeError("lossEveryChunk scores every chunk against the sequence's label: batch.sequenceTargets is required");
  }
}

/** The stream a continuing batch would continue: the previous batch's rows and whether it was masked. */
export interface CarriedStream {
  batchSize: number;
  lastBatchMasked: boolean;
}

/** validateBatch, plus the checks of a training batch against the stream it may continue. */
export function validateTrainingBatch(
  model: SequenceModel, batch: Batch, lossAt: LossPlacement, everyChunk: boolean, k2: number, carried: CarriedStream,
): void {
  validateBatch(model, batch, lossAt, everyChunk);
  const { T, B } = batch;
  if (batch.continues) {
    if (k2 === Infinity) {
      throw new RangeError("k2 = Infinity back-propagates to the start of the stream, but this stream continues across batches: choose a finite k2");
    }
    if (carried.batchSize !== B) throw new RangeError(`batch.continues: the previous batch had ${carried.batchSize} rows, this one ${B}`);
    if (batch.mask || carried.lastBatchMasked) {
      throw new RangeError("batch.continues: a stream carried across batches has no padding (all rows advance together): drop batch.mask");
    }
  }
  if (model.rnn.bidirectional && batch.starts) {
    for (let i = B; i < T * B; i++) {
      if (batch.starts[i]) {
        throw new RangeError(
          `batch.starts: row ${i % B} starts a new sequence at step ${Math.floor(i / B)}, but a bidirectional model reads each row ` +
            "backwards from its end as one sequence: put one sequence per row (right-padded, with a mask)",
        );
      }
    }
  }
}

function checkLength(array: ArrayLike<number>, length: number, name: string, shape: string): void {
  if (array.length !== length) throw new RangeError(`${name} must have shape ${shape} = ${length} values, got ${array.length}`);
}

function checkFinite(array: ArrayLike<number>, name: string): void {
  for (let i = 0; i < array.length; i++) {
    if (!Number.isFinite(array[i]!)) throw new RangeError(`${name} must be finite, got ${array[i]} at index ${i}`);
  }
}

function checkTargets(targets: Int32Array | Float32Array, objective: string, O: number, name: string): void {
  for (let i = 0; i < targets.length; i++) {
    const y = targets[i]!;
    if (objective === "classes") {
      if (!(Number.isInteger(y) && ((y >= 0 && y < O) || y === IGNORE_INDEX))) {
        throw new RangeError(`${name}[${i}] = ${y}: expected a class id in [0, ${O}) or ${IGNORE_INDEX} (no loss)`);
      }
    } else if (objective === "binary") {
      if (!(y === 0 || y === 1 || Number.isNaN(y))) throw new RangeError(`${name}[${i}] = ${y}: expected 0 or 1 (NaN for no loss)`);
    } else if (!Number.isFinite(y) && !Number.isNaN(y)) {
      throw new RangeError(`${name}[${i}] = ${y}: expected a finite value (NaN for no loss)`);
    }
  }
}
