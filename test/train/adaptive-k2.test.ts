/**
 * What this file proves: k2 "adaptive" keeps the measured truncation bias under its tolerance on a
 * task where a fixed small k2 does not.
 *
 * The task: an LSTM with forget-gate bias 2 (f ≈ 0.88: the gradient fades slowly with the lag) on
 * one batch of 64 steps, an update every k1 = 4 steps, in float64 with the weights held fixed (SGD,
 * lr 0), so that every schedule sees the same computation. The measured bias of a schedule is
 *
 *   bias = ‖G − G∞‖ / ‖G∞‖,   G: the recurrent parameters' gradients of all the batch's updates, stacked
 *
 * against TBPTT(4, ∞) (no truncation). The adaptive trainer probes the 16 updates of a first batch
 * and chooses k2; its bias is then measured on a second, fresh batch. Fixed k2 = 4 misses the tolerance, the
 * chosen k2 meets it, and it is shorter than maxK2: the adaptation truncates, it does not just keep
 * everything. Also checked: the extrapolation of the gradient beyond the probe's window (measuredTail).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";
import { type ModelConfig, SequenceModel } from "../../src/train/model.js";
import { PROBE_UPDATES, measuredTail } from "../../src/train/modes/adaptive-k2.js";
import { Trainer, type TrainerOptions } from "../../src/train/trainer.js";
import { assertClose } from "../helpers/check.js";
import { inFloat64 } from "../helpers/float64.js";

const V = 6;
const T = 64;
const B = 4;
const TOLERANCE = 0.1;
const config: ModelConfig = {
  cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 4, outputSize: V, objective: "classes", seed: 3,
  init: { forgetGateBias: 2 },
};
const rng = new Rng(5);
const tokens = (): Int32Array => Int32Array.from({ length: T * B }, () => rng.int(V));
const randomBatch = (): Batch => ({ T, B, ids: tokens(), stepTargets: tokens() });
/** The adaptive trainer probes on the first, the biases are measured on the second. */
const probed = randomBatch();
const measured = randomBatch();

interface Pass {
  /** The recurrent parameters' gradient of every update of the last batch, stacked. */
  gradients: number[];
  k2: number;
}

/** Trains on the batches with lr 0 and returns the last batch's gradients. */
function run(options: TrainerOptions, batches: Batch[]): Pass {
  return inFloat64(() => {
    const model = new SequenceModel(config);
    const recurrent = model.parameters().filter((p) => !model.head.parameters().includes(p));
    let gradients: number[] = [];
    const trainer = new Trainer(model, createOptimizer("sgd", model.parameters(), { lr: 0 }), {
      ...options, beforeStep: () => { for (const p of recurrent) gradients.push(...p.grad); },
    });
    for (const batch of batches) {
      gradients = [];
      trainer.trainBatch(batch);
    }
    return { gradients, k2: trainer.currentK2 };
  });
}

function relativeBias(g: number[], exact: number[]): number {
  let error = 0;
  let norm = 0;
  exact.forEach((e, i) => {
    error += (g[i]! - e) ** 2;
    norm += e * e;
  });
  return Math.sqrt(error / norm);
}

describe('k2 "adaptive" keeps the truncation bias under its tolerance', () => {
  it(`LSTM, forget bias 2, TBPTT(4, ·), ${T} steps: fixed k2 = 4 misses ${TOLERANCE}, the adaptive k2 meets it`, () => {
    const exact = run({ k1: 4, k2: Infinity }, [measured]).gradients;
    const fixed = run({ k1: 4, k2: 4 }, [measured]);
    const adaptive = run({ k1: 4, k2: "adaptive", biasTolerance: TOLERANCE, maxK2: T }, [probed, measured]);
    const fixedBias = relativeBias(fixed.gradients, exact);
    const adaptiveBias = relativeBias(adaptive.gradients, exact);
    assert.ok(fixedBias > TOLERANCE, `fixed k2 = 4 has bias ${fixedBias.toFixed(3)}: the task shows no problem`);
    const chosen = `adaptive k2 = ${adaptive.k2}`;
    assert.ok(adaptiveBias <= TOLERANCE, `${chosen}: bias ${adaptiveBias.toFixed(3)} > ${TOLERANCE}`);
    assert.ok(adaptive.k2 > 4 && adaptive.k2 < T, `adaptive k2 = ${adaptive.k2} should lie between 4 and maxK2 = ${T}`);
  });
});

describe("on packed rows: each update applies TBPTT's gradient at the k2 of its time", () => {
  // A padded batch out of order (the trainer sorts it by length), a loss at each row's last step and
  // one every chunk (they reach the window as dL/d(the state a chunk leaves), chunk-loss.ts): the
  // probe's 16 updates apply TBPTT(2, ∞)'s gradient (maxK2 is the whole batch), those after it
  // TBPTT(2, k2)'s with the k2 chosen, in this batch and in a fresh one. lr 0: the same computations.
  const lengths = [20, 40, 33, 12];
  const TP = 40;
  const ragged = (): Batch => {
    const mask = new Float32Array(TP * B);
    lengths.forEach((n, b) => { for (let t = 0; t < n; t++) mask[t * B + b] = 1; });
    const ids = Int32Array.from({ length: TP * B }, () => rng.int(V));
    return { T: TP, B, ids, mask, sequenceTargets: Int32Array.from({ length: B }, () => rng.int(V)) };
  };
  const batches = [ragged(), ragged()];
  const common: TrainerOptions = { k1: 2, lossAt: "last-step", lossEveryChunk: true, lossScale: "sum" };
  /** Every update's gradient (every parameter), and the k2 in force at the end. */
  const updates = (options: TrainerOptions): { applied: Float64Array[]; k2: number } => inFloat64(() => {
    const model = new SequenceModel(config);
    const applied: Float64Array[] = [];
    const trainer = new Trainer(model, createOptimizer("sgd", model.parameters(), { lr: 0 }), {
      ...common, ...options,
      beforeStep: () => { applied.push(Float64Array.from(model.parameters().flatMap((p) => Array.from(p.grad)))); },
    });
    for (const batch of batches) trainer.trainBatch(batch);
    return { applied, k2: trainer.currentK2 };
  });
  it("lengths 20/40/33/12, k1 = 2, maxK2 = 40", () => {
    const adaptive = updates({ k2: "adaptive", biasTolerance: TOLERANCE, maxK2: TP });
    const full = updates({ k2: Infinity }).applied;
    const chosen = updates({ k2: adaptive.k2 }).applied;
    assert.equal(adaptive.applied.length, 40, "20 updates per batch");
    assert.ok(adaptive.k2 < TP, `k2 = ${adaptive.k2}: the probe chose no truncation, the check would not tell`);
    adaptive.applied.forEach((g, u) => {
      const expected = u < PROBE_UPDATES ? full[u]! : chosen[u]!;
      assertClose(g, expected, `update ${u + 1} (${u < PROBE_UPDATES ? "probe" : `k2 = ${adaptive.k2}`})`, 1e-10, 1e-14);
    });
    // The truncation matters after the probe: the untruncated gradient differs there.
    assert.throws(() => assertClose(adaptive.applied[TP - 1]!, full[TP - 1]!, "last update", 1e-10, 1e-14));
  });
});

describe("the tail beyond the probe's window, from the measured ‖∂L/∂s_{t−ℓ}‖", () => {
  it("none when the probe reached the sequence's start", () => {
    assert.equal(measuredTail([Array.from({ length: 10 }, (_, l) => 0.8 ** l)], false).tail, 0);
  });
  it("geometric norms cut by the window: the extrapolated share Σ_{ℓ ≥ 10} 0.8^ℓ / Σ_ℓ 0.8^ℓ = 0.8^10", () => {
    const { tail } = measuredTail([Array.from({ length: 10 }, (_, l) => 0.8 ** l)], true);
    assert.ok(Math.abs(tail - 0.8 ** 10) < 1e-9, `tail ${tail}`);
  });
  it("norms that do not decay: the whole gradient may lie beyond (no truncation is safe)", () => {
    assert.equal(measuredTail([Array.from({ length: 10 }, () => 1)], true).tail, 1);
  });
  it("layers combine as one state: φ_ℓ = √(Σ_l φ_{l,ℓ}²)", () => {
    assert.deepEqual(measuredTail([[3, 0], [4, 1]], false).norms, [5, 1]);
  });
});
