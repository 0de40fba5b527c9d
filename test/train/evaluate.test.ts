/**
 * `evaluate` and `Stepper.feed` on rows of different lengths, which they run packed and in chunks that
 * keep no activations (forward-only.ts), give in float64 what each sequence gives on its own (a batch
 * of one row, no padding) to 1e-12: losses every step or at the last, stacked and bidirectional, rows
 * given out of order, longer than a chunk (CHUNK_ROWS), and a stream whose rows continue into the
 * next batch after a padded one (each row's state comes back in its own row).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Stepper } from "../../src/inference/stepper.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";
import { type Evaluation, evaluate } from "../../src/train/evaluate.js";
import { CHUNK_ROWS } from "../../src/train/forward-only.js";
import type { LossPlacement } from "../../src/train/loss-positions.js";
import { type ModelConfig, SequenceModel } from "../../src/train/model.js";
import { assertClose } from "../helpers/check.js";
import { inFloat64 } from "../helpers/float64.js";

const V = 7;
const rng = new Rng(5);

interface Text {
  ids: number[];
  /** One class per step (every-step) and one per text (last-step). */
  steps: number[];
  label: number;
}

function text(length: number): Text {
  return {
    ids: Array.from({ length }, () => rng.int(V)),
    steps: Array.from({ length }, () => rng.int(V)),
    label: rng.int(V),
  };
}

/** The texts as one right-padded batch (row b = texts[b]). */
function batchOf(texts: Text[], continues = false): Batch {
  const B = texts.length;
  const T = Math.max(...texts.map((t) => t.ids.length));
  const ids = new Int32Array(T * B);
  const mask = new Float32Array(T * B);
  const stepTargets = new Int32Array(T * B).fill(-100);
  texts.forEach((t, b) => {
    t.ids.forEach((id, s) => {
      ids[s * B + b] = id;
      mask[s * B + b] = 1;
      stepTargets[s * B + b] = t.steps[s]!;
    });
  });
  const equal = texts.every((t) => t.ids.length === T);
  return { T, B, ids, ...(equal ? {} : { mask }), stepTargets, sequenceTargets: Int32Array.from(texts, (t) => t.label), continues };
}

function sameEvaluation(actual: Evaluation, expected: Evaluation, what: string): void {
  assert.equal(actual.terms, expected.terms, `${what}: terms`);
  assertClose([actual.loss, actual.accuracy!], [expected.loss, expected.accuracy!], `${what}: loss and accuracy`, 1e-12, 1e-12);
  assert.deepEqual(actual.perClass, expected.perClass, `${what}: per class`);
}

const models: Array<[string, ModelConfig]> = [
  ["2-layer LSTM", { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 4, numLayers: 2, outputSize: V, objective: "classes" }],
  ["bidirectional GRU", { cell: "gru", vocabSize: V, embeddingDim: 3, hiddenSize: 3, bidirectional: true, outputSize: V, objective: "classes" }],
];

describe("evaluate on rows of different lengths", () => {
  // Out of order, one longer than a chunk of CHUNK_ROWS rows.
  const texts = [text(5), text(CHUNK_ROWS + 300), text(1), text(40), text(40), text(700)];
  for (const [name, config] of models) {
    for (const lossAt of ["every-step", "last-step"] as LossPlacement[]) {
      it(`${name}, ${lossAt}: the padded batch gives what each text gives alone`, () => {
        inFloat64(() => {
          const model = new SequenceModel(config);
          const together = evaluate(model, [batchOf(texts)], { lossAt });
          const alone = evaluate(model, texts.map((t) => batchOf([t])), { lossAt });
          sameEvaluation(together, alone, `${name}, ${lossAt}`);
        });
      });
    }
  }

  it("a stream whose rows continue after a padded batch carries each row's own state", () => {
    inFloat64(() => {
      const model = new SequenceModel(models[0]![1]);
      const first = [text(9), text(3), text(12)];
      const second = [text(4), text(4), text(4)];
      const together = evaluate(model, [batchOf(first), batchOf(second, true)]);
      // Row b alone: its real steps, then the second batch's, as one continuing stream.
      const alone = evaluate(model, first.flatMap((t, b) => [batchOf([t]), batchOf([second[b]!], true)]));
      sameEvaluation(together, alone, "continuing rows");
    });
  });
});

describe("Stepper.feed over more than a chunk", () => {
  it(`feeding ${CHUNK_ROWS + 500} tokens at once gives the logits of feeding them in pieces`, () => {
    inFloat64(() => {
      const model = new SequenceModel(models[0]![1]);
      const ids = Int32Array.from(text(CHUNK_ROWS + 500).ids);
      const whole = new Stepper(model).feed(ids, true).slice();
      const stepper = new Stepper(model);
      const cuts = [ids.subarray(0, 1000), ids.subarray(1000, 2100), ids.subarray(2100)];
      const pieces = cuts.map((piece) => stepper.feed(piece, true).slice());
      const joined = Float64Array.from(pieces.flatMap((p) => [...p]));
      assertClose(whole, joined, "logits", 1e-12, 1e-12);
      const last = new Stepper(model).feed(ids, false);
      assertClose(last, whole.subarray((ids.length - 1) * V), "the last step's logits", 1e-12, 1e-12);
    });
  });
});
