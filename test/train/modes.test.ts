/**
 * The modes beyond truncation refuse what they cannot do, before any work, with a one-line message
 * that says why and what it would cost; and their settings are resolved as documented.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { type ModelConfig, SequenceModel } from "../../src/train/model.js";
import { TruncationLaw } from "../../src/train/modes/artbp.js";
import { describeSchedule, resolveSchedule } from "../../src/train/schedule.js";
import { Trainer, type TrainerOptions } from "../../src/train/trainer.js";

const V = 5;
const model = (over: Partial<ModelConfig> = {}): SequenceModel => new SequenceModel({
  cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 4, outputSize: V, objective: "classes", seed: 1, ...over,
});

function trainer(options: TrainerOptions, m = model()): Trainer {
  return new Trainer(m, createOptimizer("sgd", m.parameters(), { lr: 0.1 }), options);
}

const refuses = (make: () => unknown, pattern: RegExp): void => assert.throws(make, (e: unknown) => {
  assert.ok(e instanceof RangeError, `expected a RangeError, got ${String(e)}`);
  assert.doesNotMatch(e.message, /\n/, "one line");
  assert.match(e.message, pattern);
  return true;
});

describe("refusals", () => {
  it("RTRL on a large hidden size names its memory and time per step", () => {
    refuses(() => trainer({ mode: "rtrl" }, model({ hiddenSize: 128, numLayers: 2 })),
      new RegExp('mode "rtrl" with hiddenSize 128, 2 layers \\(state n = 512, p = [\\d,]+ parameters\\) ' +
        '.*MiB in float32\\) ' +
        'and needs [\\d.]+[MG]? multiply-adds per step, over the limit .*use mode "uoro"'));
  });
  it("RTRL that fits one sequence but not the batch is refused at the first batch, before any work", () => {
    const m = model({ hiddenSize: 24, embeddingDim: 8 });
    const t = trainer({ mode: "rtrl" }, m);
    const before = m.parameters().map((p) => p.value.slice());
    const T = 2, B = 512;
    const rng = new Rng(1);
    const tokens = (): Int32Array => Int32Array.from({ length: T * B }, () => rng.int(V));
    const batch = { T, B, ids: tokens(), stepTargets: tokens() };
    refuses(() => t.trainBatch(batch), /for B = 512 sequences/);
    m.parameters().forEach((p, i) => assert.deepEqual(p.value, before[i]));
  });
  it("a bidirectional model: every mode beyond TBPTT, with the cost of the alternative", () => {
    const bi = (): SequenceModel => model({ bidirectional: true });
    const modes: TrainerOptions[] = [
      { mode: "rtrl" }, { mode: "uoro" }, { mode: "artbp", k2: 4 }, { k1: 4, k2: "adaptive" },
    ];
    for (const options of modes) {
      refuses(() => trainer(options, bi()), /reads each sequence from its end: .*O\(T\) memory .*"full"/);
    }
  });
  it("dropout between layers and diagnostics in the online modes", () => {
    const dropout = model({ numLayers: 2, dropout: 0.2 });
    refuses(() => trainer({ mode: "rtrl" }, dropout), /without dropout: set dropout to 0/);
    refuses(() => trainer({ mode: "uoro", diagnostics: true }), /"uoro" carries sensitivities forward/);
  });
  it("settings that do not belong to a mode", () => {
    refuses(() => trainer({ mode: "rtrl", k2: 10 }), /mode "rtrl" computes the exact gradient .*: drop k2/);
    refuses(() => trainer({ mode: "uoro", k1: 0 }), /k1 .* must be an integer ≥ 1/);
    refuses(() => trainer({ mode: "artbp" }), /mode "artbp" needs k2, the mean truncation length: an integer ≥ 2/);
    refuses(() => trainer({ mode: "artbp", k2: 1 }), /an integer ≥ 2, got 1/);
    refuses(() => trainer({ k2: "adaptive" }), /k2 "adaptive" needs a finite k1/);
    refuses(() => trainer({ mode: "full", k2: "adaptive" }), /not of mode "full": drop the mode/);
    refuses(() => trainer({ k1: 4, k2: "adaptive", biasTolerance: 1.5 }), /biasTolerance .* in \(0, 1\), got 1.5/);
    refuses(() => trainer({ k1: 4, k2: 8, biasTolerance: 0.1 }), /settings of k2 "adaptive"/);
    refuses(() => trainer({ mode: "uoro", maxK2: 8 }), /settings of k2 "adaptive", not of mode "uoro"/);
  });
});

describe("resolved settings", () => {
  it("each mode's schedule and its description", () => {
    const cases: Array<[TrainerOptions, object, string]> = [
      [{ mode: "rtrl" }, { k1: 1, k2: Infinity, method: "rtrl" }, "RTRL(k1=1)"],
      [{ mode: "uoro", k1: 5 }, { k1: 5, k2: Infinity, method: "uoro" }, "UORO(k1=5)"],
      [
        { mode: "artbp", k2: 20 }, { k1: 20, k2: 20, method: "artbp", updateAtCuts: true },
        "ARTBP(mean truncation 20, an update at each truncation)",
      ],
      [{ mode: "artbp", k1: 5, k2: 20 }, { k1: 5, k2: 20, method: "artbp" }, "ARTBP(mean truncation 20, k1=5)"],
      [{ k1: 5, k2: "adaptive" }, { k1: 5, k2: 40, biasTolerance: 0.1 }, "TBPTT(k1=5, k2 adaptive ≤ 40, bias ≤ 0.1)"],
      [
        { k1: 2, k2: "adaptive", biasTolerance: 0.05 }, { k1: 2, k2: 32, biasTolerance: 0.05 },
        "TBPTT(k1=2, k2 adaptive ≤ 32, bias ≤ 0.05)",
      ],
    ];
    for (const [options, schedule, description] of cases) {
      assert.deepEqual(resolveSchedule(options), schedule);
      assert.equal(describeSchedule(resolveSchedule(options)), description);
    }
  });
  it("ARTBP's law of truncation lengths has the mean asked for, and w = S(a)/S(a + 1)", () => {
    for (const mean of [2, 10, 50]) {
      const law = new TruncationLaw(mean);
      let expected = 0;
      for (let l = 1; l < 1e6; l++) expected += law.survival(l);
      assert.ok(Math.abs(expected - mean) < 0.01 * mean, `mean ${mean}: Σ S(ℓ) = ${expected}`);
      for (const a of [1, 5, 30]) {
        assert.ok(Math.abs(law.compensation(a) - law.survival(a) / law.survival(a + 1)) < 1e-12);
      }
      const rng = new Rng(mean);
      let sum = 0;
      const draws = 20000;
      for (let i = 0; i < draws; i++) sum += law.draw(rng);
      // The tail (α = 3) has a finite variance: the sample mean is within a few percent.
      assert.ok(Math.abs(sum / draws - mean) < 0.05 * mean, `mean ${mean}: sample mean ${sum / draws}`);
    }
  });
});
