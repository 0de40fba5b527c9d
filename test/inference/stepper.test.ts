/**
 * The Stepper's one-token fast path (a precomputed first-layer projection per token, then each layer
 * stepped on the kernels) computes the same logits as running the model over the whole sequence as
 * one chunk, for every cell kind, stacked.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Stepper } from "../../src/inference/stepper.js";
import { type CellName, SequenceModel } from "../../src/train/model.js";

const cases: Array<{ cell: CellName; layers: number }> = [
  { cell: "lstm", layers: 2 },
  { cell: "gru", layers: 2 },
  { cell: "rnn", layers: 1 },
  { cell: "rnn_relu", layers: 2 },
  { cell: "lstm", layers: 1 },
];

describe("Stepper.stepToken", () => {
  for (const { cell, layers } of cases) {
    it(`${cell}, ${layers} layer(s): token by token equals one chunk`, () => {
      const V = 11;
      const model = new SequenceModel({
        cell, vocabSize: V, embeddingDim: 6, hiddenSize: 9, numLayers: layers,
        outputSize: V, objective: "classes", seed: 3,
      });
      const ids = Int32Array.from([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]);
      const chunk = new Stepper(model).feed(ids, true).slice();
      const stepper = new Stepper(model);
      let worst = 0;
      ids.forEach((id, t) => {
        const logits = stepper.stepToken(id);
        for (let j = 0; j < V; j++) worst = Math.max(worst, Math.abs(logits[j]! - chunk[t * V + j]!));
      });
      assert.ok(worst < 1e-5, `largest difference ${worst}`);
      // reset() starts again from the zero state
      stepper.reset();
      const first = stepper.stepToken(ids[0]!);
      for (let j = 0; j < V; j++) assert.ok(Math.abs(first[j]! - chunk[j]!) < 1e-5);
    });
  }
});
