/**
 * The update profile (src/kernels/profile.ts): every kernel call of a training update is filed under
 * the category of what it does, the GEMMs' operations add up to the count of the update's products
 * worked out by hand, and with no profile recorded the wrapper and the phase markers do nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { referenceKernels } from "../../src/kernels/index.js";
import {
  CATEGORIES, KERNEL_NAMES, categoryOf, enterPhase, profileKernels, profiling, startProfile, stopProfile,
} from "../../src/kernels/profile.js";
import { createOptimizer } from "../../src/optim/index.js";
import type { Batch } from "../../src/train/batch.js";
import { SequenceModel } from "../../src/train/model.js";
import { Trainer } from "../../src/train/trainer.js";
import { onBackend } from "../helpers/backend.js";

// One LSTM layer over T·B = 12 rows of a vocabulary of 40 (no input table: 2V > T·B).
const T = 4, B = 3, E = 5, H = 6, V = 40;

function update(cell: "lstm" | "gru" | "rnn", extra: { projSize?: number; peephole?: boolean } = {}): ReturnType<typeof stopProfile> {
  const model = new SequenceModel({
    cell, vocabSize: V, embeddingDim: E, hiddenSize: H, outputSize: V, objective: "classes", seed: 3, ...extra,
  });
  const trainer = new Trainer(model, createOptimizer("adam", model.parameters(), { lr: 0.01 }), { k1: T, k2: T, clipNorm: 1 });
  const ids = Int32Array.from({ length: T * B }, (_, i) => (i * 7) % V);
  const batch: Batch = { T, B, ids, stepTargets: ids.map((v) => (v + 1) % V) };
  const backend = referenceKernels;
  return onBackend(profileKernels(backend), () => {
    startProfile(backend);
    trainer.trainBatch(batch);
    return stopProfile(backend);
  });
}

describe("profile: where an update's time goes", () => {
  it("files every kind of kernel call under its category, and counts the update's GEMM operations", () => {
    const p = update("lstm");
    for (const c of ["inputGemm", "recurrentGemm", "gatesForward", "gatesBackward", "weightGradGemm", "headLoss",
      "embedding", "clipping", "optimizer"] as const) {
      assert.ok(p.ms[c] > 0, `${c}: ${p.ms[c]} ms`);
    }
    assert.equal(p.ms.otherKernels, 0);
    assert.deepEqual(Object.keys(p.ms), [...CATEGORIES]);
    const G = 4 * H;
    // Forward: x·W_ihᵀ, then h·W_hhᵀ per step; backward: dG·W_hh per step, dW_hh, dW_ih and dx once
    // each; the head's three products (logits, dW, dx).
    const rows = T * B;
    const expected = 2 * rows * G * (E + H + H + H + E + E) + 3 * 2 * rows * H * V;
    assert.equal(p.gemmFlops, expected);
    assert.equal(p.calls.gemm, 2 * T + 1 + 3 + 3);
    assert.equal(p.calls.lstmStepForward, T);
    assert.equal(p.calls.lstmStepBackward, T);
    // Parameters: embedding, W_ih, W_hh, b_ih, b_hh, head weight and bias.
    assert.equal(p.calls.adamStep, 7);
    assert.ok(p.wallMs >= Object.values(p.ms).reduce((a, b) => a + b, 0) * 0.99, "categories exceed the wall time");
  });

  it("stays correct for the LSTM's variants, the GRU and the RNN", () => {
    const variant = update("lstm", { projSize: 4, peephole: true });
    assert.ok(variant.ms.recurrentGemm > 0 && variant.ms.gatesForward > 0 && variant.ms.gatesBackward > 0);
    // The projection adds per step m·W_hrᵀ forward and δh·W_hr backward, and dW_hr once.
    assert.equal(variant.calls.gemm, 4 * T + 1 + 3 + 1 + 3);
    for (const cell of ["gru", "rnn"] as const) {
      const p = update(cell);
      const step = cell === "gru" ? "gru" : "rnn";
      assert.equal(p.calls[`${step}StepForward`], T, cell);
      assert.equal(p.calls[`${step}StepBackward`], T, cell);
      assert.ok(p.ms.gatesForward > 0 && p.ms.gatesBackward > 0 && p.ms.recurrentGemm > 0, cell);
      assert.equal(p.ms.otherKernels, 0, cell);
    }
  });

  it("records nothing and changes no result when no profile runs", () => {
    assert.equal(profiling(), false);
    const timed = profileKernels(referenceKernels);
    assert.deepEqual(KERNEL_NAMES.filter((name) => typeof (timed as unknown as Record<string, unknown>)[name] !== "function"), []);
    const c = new Float32Array(4);
    timed.gemm(false, false, 2, 2, 1, Float32Array.of(1, 2), 0, 1, Float32Array.of(3, 4), 0, 2, false, c, 0, 2);
    assert.deepEqual([...c], [3, 4, 6, 8]);
    assert.equal(enterPhase(enterPhase("head")), "head");
    assert.equal(timed.name, "reference");
    assert.throws(() => stopProfile(referenceKernels), /no profile is being recorded/);
  });

  it("names a GEMM by the phase it runs in and a step kernel by its name", () => {
    assert.equal(categoryOf("gemm", "input"), "inputGemm");
    assert.equal(categoryOf("gemm", "recurrent"), "recurrentGemm");
    assert.equal(categoryOf("gemm", "weightGradients"), "weightGradGemm");
    assert.equal(categoryOf("gemm", "head"), "headLoss");
    assert.equal(categoryOf("gruStepBackward", "recurrent"), "gatesBackward");
    assert.equal(categoryOf("softmaxCrossEntropy", "other"), "headLoss");
    assert.equal(categoryOf("sumSquares", "clipping"), "clipping");
    assert.equal(categoryOf("scatterAddRows", "embedding"), "embedding");
  });
});
