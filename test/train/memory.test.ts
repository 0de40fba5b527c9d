/**
 * What the trainer and evaluate keep for a batch of rows of very different lengths, counted as the
 * floats and indices the kernel backend hands out (every activation buffer comes from it):
 *   - evaluate keeps no activations: the same allocation for a longest row of 2,000 or 16,000 steps;
 *   - TBPTT(∞, k2) with the loss at the end keeps each row's last k2 steps: the same too;
 *   - full BPTT keeps the real tokens: about E + 7H floats each (x, the gates, c, h_{t−1}, the
 *     output) plus a block of gate gradients — far below the padded T·B.
 * (Peak memory of the real configurations is measured by the benchmark: bench/ ragged, ragged-k30,
 * ragged-eval.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Kernels, referenceKernels } from "../../src/kernels/index.js";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";
import { evaluate } from "../../src/train/evaluate.js";
import { SequenceModel } from "../../src/train/model.js";
import { Trainer, type TrainerOptions } from "../../src/train/trainer.js";
import { onBackend } from "../helpers/backend.js";

const E = 4;
const H = 4;
const B = 8;

/** B rows: one of `longest` tokens, the others of 5 to 40. */
function batch(longest: number): Batch {
  const rng = new Rng(longest);
  const lengths = [longest, ...Array.from({ length: B - 1 }, () => 5 + rng.int(36))];
  const T = longest;
  const ids = new Int32Array(T * B);
  const mask = new Float32Array(T * B);
  lengths.forEach((n, b) => {
    for (let t = 0; t < n; t++) {
      ids[t * B + b] = rng.int(50);
      mask[t * B + b] = 1;
    }
  });
  return { T, B, ids, mask, sequenceTargets: Int32Array.from({ length: B }, (_, b) => b % 2) };
}

function realTokens(b: Batch): number {
  return b.mask!.reduce((n, m) => n + m, 0);
}

/** Elements allocated by the kernel backend while `body` runs. */
function allocated(body: () => void): number {
  let total = 0;
  const counting: Kernels = {
    ...referenceKernels,
    allocate: (length) => {
      total += length;
      return referenceKernels.allocate(length);
    },
    allocateIndices: (length) => {
      total += length;
      return referenceKernels.allocateIndices(length);
    },
  };
  onBackend(counting, body);
  return total;
}

const model = (): SequenceModel =>
  new SequenceModel({ cell: "lstm", vocabSize: 50, embeddingDim: E, hiddenSize: H, outputSize: 2, objective: "classes", seed: 1 });

/** Allocation of one training batch on a fresh trainer (model and optimizer made outside the count). */
function trainingAllocation(options: TrainerOptions, b: Batch): number {
  return onBackend(referenceKernels, () => {
    const m = model();
    const optimizer = createOptimizer("sgd", m.parameters(), { lr: 0.1 });
    const trainer = new Trainer(m, optimizer, { ...options, lossAt: "last-step" });
    return allocated(() => trainer.trainBatch(b));
  });
}

describe("memory for rows of very different lengths", () => {
  const short = batch(2000);
  const long = batch(16_000);

  // Keeping the long batch's real tokens would take this many elements.
  const kept = (E + 7 * H) * realTokens(long);

  it("evaluate keeps no activations: about the same allocation whatever the longest row", () => {
    const m = onBackend(referenceKernels, model);
    const alloc = (b: Batch): number => allocated(() => evaluate(m, [b], { lossAt: "last-step" }));
    const [a, b] = [alloc(short), alloc(long)];
    assert.ok(b < 1.1 * a && b < kept / 4, `${a} elements for a longest row of 2,000 steps, ${b} for 16,000`);
  });

  it("TBPTT(∞, 20), loss at the end: about the same allocation whatever the longest row", () => {
    const options = { k1: Infinity, k2: 20 };
    const [a, b] = [trainingAllocation(options, short), trainingAllocation(options, long)];
    assert.ok(b < 1.1 * a && b < kept / 4, `${a} elements for a longest row of 2,000 steps, ${b} for 16,000`);
  });

  it("full BPTT keeps the real tokens, not the padded T·B", () => {
    const floats = trainingAllocation({ mode: "full" }, long);
    assert.ok(floats > kept && floats < 1.5 * kept, `${floats} elements for ${kept} elements of real tokens`);
    assert.ok(4 * floats < (E + 7 * H) * long.T * B, "padding would need ×7.9");
  });
});
