/**
 * Behaviour of the Trainer beyond the exact gradient (which tbptt-bruteforce.test.ts proves):
 * refusals with messages that say what to change, clipping, gradient-flow diagnostics, determinism,
 * bounded memory on a long stream, and that a small model actually learns.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";
import { type ModelConfig, SequenceModel } from "../../src/train/model.js";
import { Trainer, type TrainerOptions, type UpdateInfo } from "../../src/train/trainer.js";

const V = 5;
const lm = (over: Partial<ModelConfig> = {}): SequenceModel =>
  new SequenceModel({ cell: "lstm", vocabSize: V, embeddingDim: 4, hiddenSize: 4, outputSize: V, objective: "classes", seed: 1, ...over });

function trainer(options: TrainerOptions, model = lm(), lr = 0.1): Trainer {
  return new Trainer(model, createOptimizer("sgd", model.parameters(), { lr }), options);
}

/** A language-model batch of random tokens: targets are the next tokens. */
function tokens(T: number, B: number, rng: Rng, extra: Partial<Batch> = {}): Batch {
  const ids = Int32Array.from({ length: T * B }, () => rng.int(V));
  const stepTargets = Int32Array.from({ length: T * B }, () => rng.int(V));
  return { T, B, ids, stepTargets, ...extra };
}

function weights(model: SequenceModel): Float32Array[] {
  return model.parameters().map((p) => p.value.slice());
}

describe("Trainer: refusals say what to change", () => {
  const refuses = (make: () => unknown, pattern: RegExp): void => assert.throws(make, (e: unknown) => {
    assert.ok(e instanceof RangeError, `expected a RangeError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });

  it("k1 = 0 and k2 = 0", () => {
    refuses(() => trainer({ k1: 0 }), /k1 \(the number of steps between updates\) must be an integer ≥ 1 or Infinity, got 0/);
    refuses(() => trainer({ k1: 3, k2: 0 }), /k2 \(the number of steps the gradient flows back\) must be an integer ≥ 1 or Infinity, got 0/);
    refuses(() => trainer({ k1: 2.5 }), /k1 .* got 2\.5/);
    refuses(() => trainer({}), /needs k1/);
  });

  it("an unknown mode", () => {
    refuses(() => trainer({ mode: "bogus" as never }), /mode must be "full", "online", "truncated", "rtrl", "uoro" or "artbp", got "bogus"/);
    refuses(() => trainer({ mode: "truncated" }), /mode "truncated" needs k1/);
  });

  it("lossEveryChunk without lossAt last-step", () => {
    refuses(() => trainer({ k1: 3, lossEveryChunk: true }), /lossEveryChunk .* set lossAt to "last-step"/);
  });

  it("a bidirectional model with a finite k1 or k2", () => {
    const bi = (): SequenceModel => lm({ bidirectional: true });
    refuses(() => trainer({ k1: 4 }, bi()), /bidirectional .* use mode "full"/);
    refuses(() => trainer({ k1: Infinity, k2: 3 }, bi()), /bidirectional/);
    assert.doesNotThrow(() => trainer({ mode: "full" }, bi()));
  });

  it("k2 = Infinity with a continuing batch, and a continuing batch of another size", () => {
    const rng = new Rng(1);
    const t = trainer({ mode: "online" });
    t.trainBatch(tokens(3, 2, rng));
    refuses(() => t.trainBatch(tokens(3, 2, rng, { continues: true })), /k2 = Infinity .* choose a finite k2/);
    const u = trainer({ k1: 2, k2: 4 });
    u.trainBatch(tokens(3, 2, rng));
    refuses(() => u.trainBatch(tokens(3, 3, rng, { continues: true })), /previous batch had 2 rows, this one 3/);
  });

  it("missing stepTargets, ids outside the vocabulary, a mask with a gap", () => {
    const rng = new Rng(2);
    const t = trainer({ k1: 2 });
    const { stepTargets: _, ...noTargets } = tokens(4, 2, rng);
    refuses(() => t.trainBatch(noTargets), /batch\.stepTargets is required/);
    const bad = tokens(4, 2, rng);
    bad.ids![3] = V + 2;
    refuses(() => t.trainBatch(bad), /batch\.ids: id 7 at step 1, row 1 is outside the vocabulary \[0, 5\)/);
    const gap = Float32Array.from([1, 1, 1, 0, 1, 0, 0, 1]); // row 1: 1 0 0 1, row 0: 1 1 1 0 → fine
    refuses(() => t.trainBatch(tokens(4, 2, rng, { mask: gap })), /batch\.mask row 1: padding must come after the real steps/);
    refuses(() => t.trainBatch(tokens(4, 2, rng, { mask: new Float32Array(8).fill(1).fill(0, 1, 8) })), /row 1 has no real step/);
  });

  it("clipNorm ≤ 0 (and clipValue)", () => {
    refuses(() => trainer({ k1: 2, clipNorm: 0 }), /clipNorm must be a positive finite number, got 0/);
    refuses(() => trainer({ k1: 2, clipNorm: -1 }), /clipNorm must be a positive finite number, got -1/);
    refuses(() => trainer({ k1: 2, clipValue: Infinity }), /clipValue must be a positive finite number/);
  });

  it("a refused batch changes nothing: no update, same weights", () => {
    const rng = new Rng(3);
    const t = trainer({ k1: 2 });
    t.trainBatch(tokens(4, 2, rng));
    const before = weights(t.model);
    const updates = t.updateCount;
    const bad = tokens(4, 2, rng);
    bad.ids![7] = -1;
    assert.throws(() => t.trainBatch(bad), RangeError);
    assert.equal(t.updateCount, updates);
    assert.deepEqual(weights(t.model), before);
  });
});

describe("Trainer: clipping", () => {
  const gradNorm = (model: SequenceModel): number => {
    let s = 0;
    for (const p of model.parameters()) for (const g of p.grad) s += g * g;
    return Math.sqrt(s);
  };

  it("caps the applied gradient norm and reports the norm before clipping", () => {
    const run = (clipNorm?: number): { applied: number[]; infos: UpdateInfo[]; grads: Float32Array[][] } => {
      const rng = new Rng(4);
      const applied: number[] = [];
      const infos: UpdateInfo[] = [];
      const grads: Float32Array[][] = [];
      const model = lm();
      const t = trainer({
        k1: 3, k2: 5, lossScale: "sum", ...(clipNorm === undefined ? {} : { clipNorm }),
        beforeStep: (info) => {
          applied.push(gradNorm(model));
          infos.push(info);
          grads.push(model.parameters().map((p) => p.grad.slice()));
        },
      }, model);
      t.trainBatch(tokens(6, 2, rng));
      return { applied, infos, grads };
    };
    const free = run();
    const clipped = run(0.05);
    assert.ok(free.applied[0]! > 0.5, "the unclipped gradient is larger than the cap");
    clipped.applied.forEach((n, i) => {
      assert.ok(n <= 0.05 * (1 + 1e-6), `update ${i + 1}: applied norm ${n} > 0.05`);
      assert.equal(clipped.infos[i]!.clipped, true);
    });
    // First update: same state, so the same raw gradient; the report is its norm, the applied one is parallel.
    assert.ok(Math.abs(clipped.infos[0]!.gradNorm - free.applied[0]!) <= 1e-5 * free.applied[0]!);
    assert.ok(Math.abs(free.infos[0]!.gradNorm - free.applied[0]!) <= 1e-5 * free.applied[0]!);
    assert.equal(free.infos[0]!.clipped, false);
    const c = 0.05 / clipped.infos[0]!.gradNorm;
    free.grads[0]!.forEach((g, k) => g.forEach((v, j) => assert.ok(Math.abs(clipped.grads[0]![k]![j]! - c * v) <= 1e-6 * (Math.abs(c * v) + 1e-6))));
  });

  it("clipValue bounds every element", () => {
    const rng = new Rng(5);
    const model = lm();
    let worst = 0;
    const t = trainer({
      k1: 3, lossScale: "sum", clipValue: 0.01,
      beforeStep: () => { for (const p of model.parameters()) for (const g of p.grad) worst = Math.max(worst, Math.abs(g)); },
    }, model);
    t.trainBatch(tokens(6, 2, rng));
    assert.ok(worst <= 0.01 && worst > 0.009, `largest element ${worst}`);
  });
});

describe("Trainer: gradient-flow diagnostics", () => {
  it("diagnostics: true reports norms for lags 0…k2−1 of every layer, and a grad norm per update", () => {
    const rng = new Rng(6);
    const k2 = 5;
    const t = trainer({ k1: 3, k2, diagnostics: true }, lm({ numLayers: 2 }));
    // A stream of 4 continuing batches of 7 steps: updates at steps 3, 6, 7 of each.
    for (let i = 0; i < 4; i++) assert.equal(t.trainBatch(tokens(7, 2, rng, { continues: i > 0 })).updates, 3);
    assert.ok(t.gradientFlow);
    const report = t.gradientFlow.report();
    assert.equal(report.norms.length, 2);
    for (let l = 0; l < 2; l++) {
      assert.equal(report.norms[l]!.length, k2, `layer ${l}: lags 0…${k2 - 1}`);
      report.norms[l]!.forEach((n, lag) => assert.ok(Number.isFinite(n) && n > 0, `layer ${l}, lag ${lag}: ${n}`));
      assert.ok(report.counts[l]!.every((c) => c >= 1));
      // Lag 0 is reached by every update.
      assert.equal(report.counts[l]![0], 12);
    }
    assert.equal(report.gradNorms.length, 12);
    assert.ok(report.gradNorms.every((n) => Number.isFinite(n) && n > 0));
    assert.match(t.gradientFlow.toCSV(), /^layer,lag,mean_grad_norm,updates\n0,0,/);
  });

  it("with diagnostics off, gradientFlow is null", () => {
    assert.equal(trainer({ k1: 3 }).gradientFlow, null);
    assert.equal(trainer({ k1: 3, diagnostics: false }).gradientFlow, null);
  });
});

describe("Trainer: determinism", () => {
  const trained = (seed: number): Float32Array[] => {
    const model = lm({ seed, numLayers: 2, dropout: 0.3 });
    const t = new Trainer(model, createOptimizer("adam", model.parameters(), { lr: 0.01 }), { k1: 3, k2: 5 });
    const rng = new Rng(7);
    for (let i = 0; i < 3; i++) t.trainBatch(tokens(7, 3, rng, { continues: i > 0 }));
    return weights(model);
  };

  it("the same seed gives bit-identical weights, another seed different ones", () => {
    const a = trained(11);
    const b = trained(11);
    a.forEach((w, i) => assert.deepEqual(Buffer.from(w.buffer, w.byteOffset, w.byteLength), Buffer.from(b[i]!.buffer, b[i]!.byteOffset, b[i]!.byteLength)));
    const c = trained(12);
    assert.ok(a.some((w, i) => w.some((v, j) => v !== c[i]![j])));
  });
});

describe("Trainer: memory is O(k2) on a long stream", () => {
  interface SegmentView { start: number; T: number }
  it("the kept window stays bounded over 200 continuing batches (with resets)", () => {
    const rng = new Rng(8);
    const k1 = 3, k2 = 7;
    const t = trainer({ k1, k2 }, lm({ cell: "gru" }));
    const internals = (t as unknown as { window: { segments: SegmentView[]; spare: SegmentView[] } }).window;
    let maxSteps = 0;
    let maxSegments = 0;
    for (let i = 0; i < 200; i++) {
      const T = 4 + (i % 5);
      const starts = new Uint8Array(T * 2);
      if (i % 3 === 0) starts[2 * 2 + 1] = 1; // row 1 restarts at step 2: more segments
      t.trainBatch(tokens(T, 2, rng, { continues: i > 0, starts }));
      const steps = internals.segments.reduce((n, s) => n + s.T, 0);
      maxSteps = Math.max(maxSteps, steps);
      maxSegments = Math.max(maxSegments, internals.segments.length + internals.spare.length);
      // Kept segments are contiguous and end at the current stream time.
      for (let j = 1; j < internals.segments.length; j++) {
        assert.equal(internals.segments[j]!.start, internals.segments[j - 1]!.start + internals.segments[j - 1]!.T);
      }
    }
    assert.ok(maxSteps <= k1 + k2, `the window held ${maxSteps} steps (k1 + k2 = ${k1 + k2})`);
    assert.ok(maxSegments <= 2 * (k1 + k2), `${maxSegments} segment objects allocated`);
  });
});

describe("Trainer: a small model learns", () => {
  it("an LSTM learns to output the previous token (loss falls clearly)", () => {
    const rng = new Rng(9);
    const model = new SequenceModel({ cell: "lstm", vocabSize: 4, embeddingDim: 4, hiddenSize: 8, outputSize: 4, objective: "classes", seed: 3 });
    let first: UpdateInfo | null = null;
    const t = new Trainer(model, createOptimizer("adam", model.parameters(), { lr: 0.03 }), {
      k1: 5, k2: 5, onUpdate: (info) => (first ??= info),
    });
    const T = 20, B = 8;
    const batch = (): Batch => {
      const ids = Int32Array.from({ length: T * B }, () => rng.int(4));
      const stepTargets = new Int32Array(T * B).fill(-100);
      for (let s = 1; s < T; s++) for (let b = 0; b < B; b++) stepTargets[s * B + b] = ids[(s - 1) * B + b]!;
      return { T, B, ids, stepTargets };
    };
    const meanLoss = (n: number): { loss: number; accuracy: number } => {
      const r = t.trainEpoch(Array.from({ length: n }, batch));
      return { loss: r.lossSum / r.lossTerms, accuracy: r.correct / r.lossTerms };
    };
    meanLoss(65);
    const end = meanLoss(5);
    // The first update's loss was computed before any update: chance level.
    const start = first!.lossSum / first!.lossTerms;
    assert.ok(start > 1.2, `initial loss ${start} (chance: ln 4 ≈ 1.39)`);
    assert.ok(end.loss < 0.3, `final loss ${end.loss}`);
    assert.ok(end.accuracy > 0.95, `final accuracy ${end.accuracy}`);
  });
});
