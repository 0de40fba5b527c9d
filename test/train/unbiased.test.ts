/**
 * What this file proves: UORO and ARTBP are unbiased. For a fixed model (weights and initial state)
 * and a fixed batch, in float64, each run of a mode over the batch without applying any update gives
 * an estimate ĝ = Σ over its updates of the gradient it applies; ĝ is random (UORO's signs, ARTBP's
 * truncation points) and its mean must be the exact gradient g of Σ ℓ over the batch (full BPTT).
 *
 * The test: N independent estimates (one generator, a fixed seed), for every parameter element j the
 * standard error se_j = sd_j / √N measured from the estimates themselves, and
 *
 *   z_j = (mean_j − g_j) / se_j,   max_j |z_j| < Z_MAX = 5
 *
 * (with a few hundred elements, an unbiased estimator exceeds 5 with probability < 1e-3 under the
 * normal approximation). It is shown to fail when what makes the estimator unbiased is removed:
 * UORO without its random signs (ν = 1) or without its compensation (θ̃ without the 1/ρ factors),
 * ARTBP without its compensation factors; each then misses by far more than Z_MAX standard errors.
 * The same holds on a padded batch whose rows come out of order (packed and sorted by the trainer,
 * layout.ts), with the loss at each row's last step or at every step.
 * Each estimate is made by the same loop as the trainer's (layout, chunks, losses, the mode's window),
 * with the weights held fixed; checks tie it to the Trainer itself (SGD with lr 0: the same numbers),
 * on a padded batch too, where ARTBP with k1 = ∞ must not take TBPTT(∞, k2)'s shortcut.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { type Batch, rowLengths } from "../../src/train/batch.js";
import { ChunkLoss } from "../../src/train/chunk-loss.js";
import { BatchLayout } from "../../src/train/layout.js";
import type { LossPlacement } from "../../src/train/loss-positions.js";
import { type ModelConfig, SequenceModel } from "../../src/train/model.js";
import { ArtbpWindow } from "../../src/train/modes/artbp.js";
import type { ModeWindow } from "../../src/train/modes/index.js";
import { UoroWindow } from "../../src/train/modes/uoro.js";
import { Trainer, type TrainerOptions } from "../../src/train/trainer.js";
import { inFloat64 } from "../helpers/float64.js";
import { maskOf, startsOf } from "../helpers/tbptt-reference.js";

const Z_MAX = 5;

/** All the parameters' grad, concatenated. */
function gradients(model: SequenceModel): Float64Array {
  return Float64Array.from(model.parameters().flatMap((p) => Array.from(p.grad)));
}

/** One estimate: the trainer's loop over the batch (its layout, chunks, losses), every chunk's gradient summed, no update. */
function estimate(
  model: SequenceModel, window: ModeWindow, batch: Batch, k1: number, lossAt: LossPlacement = "every-step",
): Float64Array {
  for (const p of model.parameters()) p.zeroGrad();
  const loss = new ChunkLoss(model);
  const { T, B } = batch;
  const layout = new BatchLayout().arrange(batch, rowLengths(batch.mask, T, B));
  const rowEnds = new Int32Array(B);
  const dFinal = model.createState(B);
  window.allocate(B);
  window.reset();
  for (let chunkStart = 0, chunkEnd = 0; chunkStart < layout.T; chunkStart = chunkEnd) {
    chunkEnd = window.chunkEnd?.(chunkStart, T) ?? Math.min(chunkStart + k1, T);
    const start = chunkStart;
    const end = Math.min(chunkEnd, layout.T);
    window.prune(-Infinity);
    const first = window.segments.length;
    window.forwardChunk(batch, layout, start, end, 0);
    const chunk = window.newest(first);
    const options = { lossAt, everyChunk: false, scale: 1 } as const;
    const value = loss.forward(batch, layout, chunk, start, end, options);
    if (value.terms === 0) continue;
    const final = loss.backward(chunk, dFinal) ? dFinal : null;
    for (let j = 0; j < B; j++) rowEnds[j] = Math.min(end, layout.lengths[j]!);
    window.backward(rowEnds, Infinity, 0, null, final);
  }
  return gradients(model);
}

/** The exact gradient of Σ ℓ over the batch: full BPTT, one update with lr 0. */
function exactGradient(model: SequenceModel, batch: Batch, lossAt: LossPlacement): Float64Array {
  let g: Float64Array | null = null;
  const trainer = new Trainer(model, createOptimizer("sgd", model.parameters(), { lr: 0 }), {
    mode: "full", lossScale: "sum", lossAt, beforeStep: () => { g = gradients(model); },
  });
  trainer.trainBatch(batch);
  return g!;
}

interface Verdict {
  /** max_j |z_j| over the elements that vary. */
  maxZ: number;
  /** The mean of z_j² over them: about 1 when unbiased. */
  meanZ2: number;
  /** The element where it is reached, for messages. */
  worst: string;
}

/** z-scores of the mean of `runs` estimates against the exact gradient (see the file header). */
function zTest(
  model: SequenceModel, batch: Batch, runs: number, makeWindow: (run: number) => ModeWindow, k1: number,
  lossAt: LossPlacement = "every-step",
): Verdict {
  return inFloat64(() => {
    const exact = exactGradient(model, batch, lossAt);
    const P = exact.length;
    const sum = new Float64Array(P);
    const sumSq = new Float64Array(P);
    for (let run = 0; run < runs; run++) {
      const g = estimate(model, makeWindow(run), batch, k1, lossAt);
      for (let j = 0; j < P; j++) {
        sum[j] += g[j]!;
        sumSq[j] += g[j]! * g[j]!;
      }
    }
    let maxZ = 0;
    let worst = "none";
    let sumZ2 = 0;
    let varying = 0;
    for (let j = 0; j < P; j++) {
      const mean = sum[j]! / runs;
      const variance = Math.max(0, (sumSq[j]! - runs * mean * mean) / (runs - 1));
      const se = Math.sqrt(variance / runs);
      const miss = Math.abs(mean - exact[j]!);
      // An element every estimate gets exactly (the head's, unused embedding rows) must be exact.
      const varies = se > 1e-12 * (Math.abs(exact[j]!) + 1e-12);
      const z = varies ? miss / se : miss <= 1e-9 * (Math.abs(exact[j]!) + 1e-9) ? 0 : Infinity;
      if (varies) {
        sumZ2 += z * z;
        varying++;
      }
      if (z > maxZ) {
        maxZ = z;
        const e = exact[j]!.toExponential(4);
        worst = `element ${j}: mean ${mean.toExponential(4)}, exact ${e}, se ${se.toExponential(2)}`;
      }
    }
    return { maxZ, meanZ2: sumZ2 / varying, worst };
  });
}

const V = 4;
const rng = new Rng(77);
const ints = (n: number, below: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(below));
const uniforms = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));

interface Case {
  name: string;
  model: ModelConfig;
  batch: Batch;
}

const T = 8;
const B = 2;
const cases: Case[] = [
  {
    name: "tanh RNN, 2 layers",
    model: {
      cell: "rnn", vocabSize: V, embeddingDim: 2, hiddenSize: 3, numLayers: 2, outputSize: V, objective: "classes",
      seed: 11,
    },
    batch: { T, B, ids: ints(T * B, V), stepTargets: ints(T * B, V) },
  },
  {
    name: "LSTM",
    model: { cell: "lstm", vocabSize: V, embeddingDim: 2, hiddenSize: 3, outputSize: V, objective: "classes",
      seed: 12 },
    batch: { T, B, ids: ints(T * B, V), stepTargets: ints(T * B, V) },
  },
  {
    name: "GRU, features, regression",
    model: { cell: "gru", inputSize: 2, hiddenSize: 3, outputSize: 1, objective: "regression", seed: 13 },
    batch: { T, B, features: uniforms(T * B * 2), stepTargets: uniforms(T * B) },
  },
];

const RUNS = 1500;

const message = (v: Verdict): string => `max |z| = ${v.maxZ.toFixed(2)} at ${v.worst}; mean z² ${v.meanZ2.toFixed(2)}`;
/** Every run its own seed: independent estimates. */
const seedOf = (run: number): number => 1000 + run;

function modelOf(c: Case): SequenceModel {
  return inFloat64(() => new SequenceModel(c.model));
}

describe("UORO is unbiased: the mean of independent estimates converges to the exact gradient", () => {
  for (const c of cases) {
    it(`${c.name}: max |z| < ${Z_MAX} over ${RUNS} estimates (k1 = 1, an update per step)`, () => {
      const model = modelOf(c);
      const verdict = zTest(model, c.batch, RUNS, (run) => new UoroWindow(model, { seed: seedOf(run) }), 1);
      assert.ok(verdict.maxZ < Z_MAX, message(verdict));
    });
  }
  for (const ablation of ["random-signs", "compensation"] as const) {
    const removed = ablation === "random-signs" ? "random signs (ν = 1)" : "compensation (θ̃ without 1/ρ)";
    it(`the test fails without the ${removed}`, () => {
      const c = cases[0]!;
      const model = modelOf(c);
      const verdict = zTest(model, c.batch, RUNS, (run) => new UoroWindow(model, { seed: seedOf(run), ablation }), 1);
      assert.ok(verdict.maxZ > 2 * Z_MAX, `without the ${ablation}, max |z| is only ${verdict.maxZ.toFixed(2)}`);
    });
  }
});

describe("ARTBP is unbiased: the mean of independent estimates converges to the exact gradient", () => {
  const artbp = (model: SequenceModel, run: number, ablation: "compensation" | null = null) =>
    new ArtbpWindow(model, { meanTruncation: 2, k1: null, seed: seedOf(run), ablation });
  for (const c of cases) {
    it(`${c.name}: max |z| < ${Z_MAX} over ${RUNS} estimates (mean truncation 2, ${T} steps, updates at cuts)`, () => {
      const model = modelOf(c);
      const verdict = zTest(model, c.batch, RUNS, (run) => artbp(model, run), T);
      assert.ok(verdict.maxZ < Z_MAX, message(verdict));
    });
  }
  it("with updates every k1 = 3 steps across the random cuts", () => {
    const c = cases[1]!;
    const model = modelOf(c);
    const window = (run: number) => new ArtbpWindow(model, { meanTruncation: 3, k1: 3, seed: seedOf(run) });
    const verdict = zTest(model, c.batch, RUNS, window, 3);
    assert.ok(verdict.maxZ < Z_MAX, message(verdict));
  });
  it("the test fails without the compensation factors", () => {
    const c = cases[1]!;
    const model = modelOf(c);
    const verdict = zTest(model, c.batch, RUNS, (run) => artbp(model, run, "compensation"), T);
    assert.ok(verdict.maxZ > 2 * Z_MAX, `without compensation, max |z| is only ${verdict.maxZ.toFixed(2)}`);
  });
});

describe("on packed rows: a padded batch out of order (the trainer sorts it by length), unbiased", () => {
  // Lengths 3/8/5/8. A loss at each row's last step reaches the modes as dL/d(the state the chunk
  // leaves): ARTBP carries a row that has ended back to its last step through no cut or factor of the
  // steps after it, and past a cut inside the chunk to the rows that ended before it (artbp.ts). Both
  // can fail, checked by hand: the factors applied to every row give max |z| = 31 (updates at the
  // cuts), and stopping at the first cut inside the chunk 43 (k1 = 3).
  const model: ModelConfig = {
    cell: "lstm", vocabSize: V, embeddingDim: 2, hiddenSize: 3, outputSize: V, objective: "classes", seed: 14,
  };
  const ragged = { T, B: 4, ids: ints(T * 4, V), mask: maskOf(T, [3, 8, 5, 8]) };
  const lastStep: Batch = { ...ragged, sequenceTargets: ints(4, V) };
  const everyStep: Batch = { ...ragged, stepTargets: ints(T * 4, V), starts: startsOf(T, 4, [[2, 1], [4, 3]]) };
  const last = "last-step";
  it(`UORO, a loss at each row's last step, k1 = 1: max |z| < ${Z_MAX}`, () => {
    const m = modelOf({ name: "", model, batch: lastStep });
    const verdict = zTest(m, lastStep, RUNS, (run) => new UoroWindow(m, { seed: seedOf(run) }), 1, last);
    assert.ok(verdict.maxZ < Z_MAX, message(verdict));
  });
  it(`ARTBP, a loss at each row's last step, updates at the cuts (mean truncation 2): max |z| < ${Z_MAX}`, () => {
    const m = modelOf({ name: "", model, batch: lastStep });
    const window = (run: number) => new ArtbpWindow(m, { meanTruncation: 2, k1: null, seed: seedOf(run) });
    const verdict = zTest(m, lastStep, RUNS, window, T, last);
    assert.ok(verdict.maxZ < Z_MAX, message(verdict));
  });
  it(`ARTBP, a loss at each row's last step, updates every k1 = 3 steps, cuts inside chunks: max |z| < ${Z_MAX}`, () => {
    const m = modelOf({ name: "", model, batch: lastStep });
    const window = (run: number) => new ArtbpWindow(m, { meanTruncation: 2, k1: 3, seed: seedOf(run) });
    const verdict = zTest(m, lastStep, RUNS, window, 3, last);
    assert.ok(verdict.maxZ < Z_MAX, message(verdict));
  });
  it(`ARTBP, losses at every step, restarts inside rows: max |z| < ${Z_MAX}`, () => {
    const m = modelOf({ name: "", model, batch: everyStep });
    const window = (run: number) => new ArtbpWindow(m, { meanTruncation: 2, k1: null, seed: seedOf(run) });
    const verdict = zTest(m, everyStep, RUNS, window, T);
    assert.ok(verdict.maxZ < Z_MAX, message(verdict));
  });
});

describe("the estimates are the trainer's", () => {
  const c = cases[1]!;
  const viaTrainer = (options: TrainerOptions, batch = c.batch): Float64Array => inFloat64(() => {
    const model = new SequenceModel(c.model);
    const sum = new Float64Array(model.parameterCount);
    const trainer = new Trainer(model, createOptimizer("sgd", model.parameters(), { lr: 0 }), {
      lossScale: "sum", seed: 5, ...options,
      beforeStep: () => gradients(model).forEach((g, j) => { sum[j] += g; }),
    });
    trainer.trainBatch(batch);
    return sum;
  });
  const viaLoop = (
    make: (model: SequenceModel) => ModeWindow, k1: number, batch = c.batch, lossAt: LossPlacement = "every-step",
  ): Float64Array => inFloat64(() => {
    const model = new SequenceModel(c.model);
    return estimate(model, make(model), batch, k1, lossAt);
  });
  it('Trainer({ mode: "uoro", seed }) with lr 0 sums to the loop\'s estimate with the same seed', () => {
    const a = viaTrainer({ mode: "uoro" });
    const b = viaLoop((model) => new UoroWindow(model, { seed: 5 }), 1);
    a.forEach((v, j) => assert.ok(Math.abs(v - b[j]!) <= 1e-12 * (1 + Math.abs(v)), `element ${j}: ${v} vs ${b[j]}`));
  });
  it('Trainer({ mode: "artbp", k2: 2, seed }) likewise', () => {
    const a = viaTrainer({ mode: "artbp", k2: 2 });
    const b = viaLoop((model) => new ArtbpWindow(model, { meanTruncation: 2, k1: null, seed: 5 }), T);
    a.forEach((v, j) => assert.ok(Math.abs(v - b[j]!) <= 1e-12 * (1 + Math.abs(v)), `element ${j}: ${v} vs ${b[j]}`));
  });
  it("on a padded batch with the loss at the last step: UORO, and ARTBP with k1 = ∞ (no heads skipped)", () => {
    // TBPTT(∞, k2) runs each row's steps before its last k2 keeping nothing (trainer.ts); ARTBP's k2
    // is its truncations' mean, and they reach further back: the trainer must keep the whole batch.
    const batch: Batch = { T, B: 4, ids: ints(T * 4, V), mask: maskOf(T, [3, 8, 5, 8]), sequenceTargets: ints(4, V) };
    const runs: Array<[TrainerOptions, (model: SequenceModel) => ModeWindow, number]> = [
      [{ mode: "uoro" }, (model) => new UoroWindow(model, { seed: 5 }), 1],
      [{ mode: "artbp", k1: Infinity, k2: 2 }, (model) => new ArtbpWindow(model, { meanTruncation: 2, k1: Infinity, seed: 5 }), Infinity],
    ];
    for (const [options, make, k1] of runs) {
      const a = viaTrainer({ ...options, lossAt: "last-step" }, batch);
      const b = viaLoop(make, k1, batch, "last-step");
      a.forEach((v, j) => assert.ok(Math.abs(v - b[j]!) <= 1e-12 * (1 + Math.abs(v)), `${options.mode}, element ${j}: ${v} vs ${b[j]}`));
    }
  });
});

describe("the LSTM's variants: UORO's tangents through a projection and peepholes, unbiased", () => {
  // The state's layout differs here (h of P values, c of H): read with c at h's offsets, checked by hand,
  // the estimates miss by max |z| = 38.5. The tangents themselves are checked exactly in tangent.test.ts.
  // A generator of its own, so that the cases above draw what they drew before.
  const own = new Rng(78);
  const batch: Batch = {
    T, B, ids: Int32Array.from({ length: T * B }, () => own.int(V)), stepTargets: Int32Array.from({ length: T * B }, () => own.int(V)),
  };
  const c: Case = {
    name: "LSTM with a projection (P = 2, H = 3) and peepholes, 2 layers",
    model: {
      cell: "lstm", vocabSize: V, embeddingDim: 2, hiddenSize: 3, projSize: 2, peephole: true, numLayers: 2,
      outputSize: V, objective: "classes", seed: 15,
    },
    batch,
  };
  it(`${c.name}: UORO, max |z| < ${Z_MAX} over ${RUNS} estimates (k1 = 1)`, () => {
    const model = modelOf(c);
    const verdict = zTest(model, c.batch, RUNS, (run) => new UoroWindow(model, { seed: seedOf(run) }), 1);
    assert.ok(verdict.maxZ < Z_MAX, message(verdict));
  });
});
