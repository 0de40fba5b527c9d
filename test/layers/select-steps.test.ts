import { test } from "node:test";
import assert from "node:assert/strict";
import { Dense } from "../../src/layers/dense.js";
import {
  lastMaskedSteps, lastSteps, selectStepsBackward, selectStepsForward, stepsFromLengths,
} from "../../src/layers/select-steps.js";
import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from "../../src/losses/softmax-cross-entropy.js";
import { Rng } from "../../src/tensor/rng.js";
import { checkGradient, dot, randomArray } from "../helpers/gradcheck.js";

const T = 4;
const B = 3;
const F = 2;

test("selectStepsForward takes x[steps[b], b, :] from a time-major block", () => {
  // x[t, b, f] = 100 t + 10 b + f
  const x = Float32Array.from({ length: T * B * F }, (_, i) => {
    const t = Math.floor(i / (B * F));
    const b = Math.floor(i / F) % B;
    return 100 * t + 10 * b + (i % F);
  });
  assert.deepEqual([...selectStepsForward({ T, B, F, steps: lastSteps(T, B) }, x)], [300, 301, 310, 311, 320, 321]);
  const out = new Float32Array(B * F);
  const steps = stepsFromLengths([2, 4, 1], T);
  assert.deepEqual([...steps], [1, 3, 0]);
  assert.equal(selectStepsForward({ T, B, F, steps }, x, out), out);
  assert.deepEqual([...out], [100, 101, 310, 311, 20, 21]);
});

test("selectStepsBackward is the adjoint of selectStepsForward, and accumulates on request", () => {
  const rng = new Rng(1);
  const selection = { T, B, F, steps: Int32Array.from([2, 0, 3]) };
  const x = randomArray(rng, T * B * F);
  const dOut = randomArray(rng, B * F);
  const dx = selectStepsBackward(selection, dOut, new Float32Array(T * B * F).fill(9));
  // ⟨select(x), dOut⟩ = ⟨x, dx⟩ for every x, and dx is zero off the selected rows.
  assert.ok(Math.abs(dot(selectStepsForward(selection, x), dOut) - dot(x, dx)) < 1e-6);
  assert.equal(dx.filter((v) => v !== 0).length, B * F);
  const twice = selectStepsBackward(selection, dOut, dx.slice(), { accumulate: true });
  assert.deepEqual(twice, dx.map((v) => 2 * v));
});

test("lastMaskedSteps finds each sequence's last real step", () => {
  // mask (T, B): sequence 0 has 2 steps, 1 has 4, 2 has 1.
  const mask = Float32Array.from([1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 0]);
  assert.deepEqual([...lastMaskedSteps(mask, T, B)], [1, 3, 0]);
  assert.throws(() => lastMaskedSteps(Float32Array.from([1, 0, 1, 0]), 2, 2), /sequence 1 has no real step/);
});

test("Dense + cross-entropy at each sequence's last step: gradient w.r.t. the whole (T, B, F) block", () => {
  const rng = new Rng(2);
  const C = 3;
  const dense = new Dense({ inFeatures: F, outFeatures: C, rng });
  const selection = { T, B, F, steps: stepsFromLengths([3, 4, 1], T) };
  const x = randomArray(rng, T * B * F, 2);
  const targets = Int32Array.from([2, 0, 1]);
  const loss = () => {
    const logits = dense.forward(selectStepsForward(selection, x), B).out;
    return softmaxCrossEntropyForward({ logits, targets, N: B, C }).loss;
  };
  const cache = dense.forward(selectStepsForward(selection, x), B);
  const dLogits = new Float32Array(B * C);
  softmaxCrossEntropyBackward({ logits: cache.out, targets, N: B, C }, {}, dLogits);
  const dx = selectStepsBackward(selection, dense.backward(cache, dLogits), new Float32Array(T * B * F));
  checkGradient({ name: "x", f: loss, param: x, analytic: dx });
  checkGradient({ name: "dense.weight", f: loss, param: dense.weight.value, analytic: dense.weight.grad });
});

test("select-steps rejects bad arguments with RangeErrors naming them", () => {
  const x = new Float32Array(T * B * F);
  assert.throws(() => selectStepsForward({ T, B, F, steps: Int32Array.from([0, 4, 1]) }, x), /steps\[1\] must be in \[0, 4\) \(T\), got 4/);
  assert.throws(() => selectStepsForward({ T, B, F, steps: Int32Array.from([0, 1]) }, x), /steps must have shape \(B=3\) = 3 values, got 2/);
  assert.throws(() => selectStepsForward({ T, B, F, steps: lastSteps(T, B) }, x.subarray(1)), /x must have shape \(T=4, B=3, F=2\) = 24 values, got 23/);
  assert.throws(() => selectStepsForward({ T, B, F: 0, steps: lastSteps(T, B) }, x), /F \(features\) must be a positive integer/);
  assert.throws(() => selectStepsForward({ T, B, F, steps: lastSteps(T, B) }, x, new Float32Array(5)), /out must have shape \(B=3, F=2\)/);
  assert.throws(() => selectStepsBackward({ T, B, F, steps: lastSteps(T, B) }, new Float32Array(6), new Float32Array(5)), /dx must have shape/);
  assert.throws(() => stepsFromLengths([2, 5], T), /lengths\[1\] must be an integer in \[1, 4\] \(T\), got 5/);
  assert.throws(() => stepsFromLengths([0], T), /lengths\[0\]/);
  assert.throws(() => lastSteps(0, 2), /T \(time steps\) must be a positive integer/);
});
