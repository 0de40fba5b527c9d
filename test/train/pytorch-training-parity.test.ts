/**
 * The whole training loop against PyTorch: test/fixtures/training.json (written by
 * test/fixtures/make_training_fixture.py, torch 1.13, float32) trains nn.Embedding → nn.LSTM / nn.GRU /
 * nn.RNN → nn.Linear with cross-entropy at the last step only, clip_grad_norm_ and Adam, for 25
 * updates on delayed-recall batches — the loop of the vanishing-gradients experiment, small. Here the
 * same initial state_dict and batches go through SequenceModel + Trainer (full BPTT, lossAt
 * "last-step", clipNorm, Adam), and every update's loss and gradient norm, and the final weights, must
 * match: rtol 1e-4, atol 1e-5 (float32 on both sides; 25 updates of Adam amplify rounding a little).
 * Layer parity (pytorch-parity.test.ts) checks one forward/backward; this checks what sits around it:
 * the embedding's gradient, the last-step loss path, the scaling by the batch, clipping, Adam's state.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Adam } from "../../src/optim/adam.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { type CellName, SequenceModel } from "../../src/train/model.js";
import { Trainer } from "../../src/train/trainer.js";
import { assertClose } from "../helpers/check.js";

interface FixtureTensor {
  shape: number[];
  data: number[];
}

interface FixtureCase {
  name: string;
  cell: CellName;
  forgetGateBias: number | null;
  initial: Record<string, FixtureTensor>;
  batches: Array<{ ids: number[]; targets: number[] }>;
  losses: number[];
  gradNorms: number[];
  final: Record<string, FixtureTensor>;
}

interface Fixture {
  torch: string;
  task: { delay: number; batchSize: number };
  model: { vocabSize: number; embeddingDim: number; hiddenSize: number; outputSize: number };
  lr: number;
  clipNorm: number;
  cases: FixtureCase[];
}

// From dist/test/train/ (where this file runs, compiled) back to the repository's test/fixtures/.
const fixture = JSON.parse(readFileSync(new URL("../../../test/fixtures/training.json", import.meta.url), "utf8")) as Fixture;
const RTOL = 1e-4;
const ATOL = 1e-5;

function stateOf(values: Record<string, FixtureTensor>): Map<string, Tensor> {
  return new Map(Object.entries(values).map(([name, t]) => [name, new Tensor(Float32Array.from(t.data), t.shape)]));
}

/** Trains the case's model from its initial weights on its batches; `edit` may change the weights first. */
function train(c: FixtureCase, edit?: (model: SequenceModel) => void) {
  const model = new SequenceModel({ cell: c.cell, ...fixture.model, objective: "classes", seed: 1 });
  model.loadStateDict(stateOf(c.initial));
  edit?.(model);
  const losses: number[] = [];
  const gradNorms: number[] = [];
  const trainer = new Trainer(model, new Adam(model.parameters(), { lr: fixture.lr }), {
    mode: "full", lossAt: "last-step", clipNorm: fixture.clipNorm,
    onUpdate: (info) => {
      losses.push(info.lossSum / info.lossTerms);
      gradNorms.push(info.gradNorm);
    },
  });
  const T = fixture.task.delay + 1;
  const B = fixture.task.batchSize;
  for (const batch of c.batches) {
    trainer.trainBatch({ T, B, ids: Int32Array.from(batch.ids), sequenceTargets: Int32Array.from(batch.targets) });
  }
  return { model, losses, gradNorms };
}

describe(`training loop parity with PyTorch (fixture from torch ${fixture.torch})`, () => {
  it("the fixture has an LSTM with a forget-gate bias, a GRU and a tanh RNN", () => {
    assert.deepEqual(fixture.cases.map((c) => c.cell), ["lstm", "gru", "rnn"]);
    assert.equal(fixture.cases[0]!.forgetGateBias, 1);
    // Clipping must be exercised: some updates have a gradient norm above clipNorm, some below.
    const norms = fixture.cases.flatMap((c) => c.gradNorms);
    assert.ok(norms.some((n) => n > fixture.clipNorm) && norms.some((n) => n < fixture.clipNorm));
  });

  for (const c of fixture.cases) {
    it(`${c.name}: ${c.losses.length} updates give PyTorch's losses, gradient norms and final weights`, () => {
      const { model, losses, gradNorms } = train(c);
      assertClose(losses, c.losses, `${c.name}: loss per update`, RTOL, ATOL);
      assertClose(gradNorms, c.gradNorms, `${c.name}: gradient norm per update`, RTOL, ATOL);
      for (const [name, value] of model.stateDict()) assertClose(value.data, c.final[name]!.data, `${c.name}: final ${name}`, RTOL, ATOL);
    });
  }

  it("negative control: the forget-gate bias on both biases (b_ih and b_hh) is caught", () => {
    const lstm = fixture.cases[0]!;
    const H = fixture.model.hiddenSize;
    assert.throws(
      () => {
        const { losses } = train(lstm, (model) => {
          const biasHh = model.rnn.parameters().find((p) => p.name === "bias_hh_l0")!;
          biasHh.value.fill(lstm.forgetGateBias!, H, 2 * H);
        });
        assertClose(losses, lstm.losses, "losses", RTOL, ATOL);
      },
      (e: unknown) => e instanceof assert.AssertionError,
    );
  });
});
