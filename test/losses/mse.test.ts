import { test } from "node:test";
import assert from "node:assert/strict";
import type { LossOptions } from "../../src/losses/loss.js";
import { mseBackward, mseForward } from "../../src/losses/mse.js";
import { Rng } from "../../src/tensor/rng.js";
import { checkGradient, randomArray } from "../helpers/gradcheck.js";

const N = 5;
const K = 2;

test("MSE: known values, mean over all elements as PyTorch, and a mask", () => {
  const input = { predictions: Float32Array.from([1, 2, 3, 4]), targets: Float32Array.from([0, 2, 5, 4]), N: 2, K: 2 };
  assert.deepEqual(mseForward(input), { loss: 5 / 4, sum: 5, count: 4 });
  assert.deepEqual(mseForward(input, { reduction: "sum" }), { loss: 5, sum: 5, count: 4 });
  // Row 0 weighs 0, row 1 weighs 1: (2² + 0²) / 2.
  assert.deepEqual(mseForward(input, { mask: Float32Array.from([0, 1]) }), { loss: 2, sum: 4, count: 2 });
});

const gradientCases: [string, LossOptions, number][] = [
  ["mean", {}, 1],
  ["sum, upstream 0.3", { reduction: "sum" }, 0.3],
  ["mean, mask", { mask: Float32Array.from([1, 0, 0.5, 1, 3]) }, -2],
];

for (const [name, options, dLoss] of gradientCases) {
  test(`MSE backward matches central differences (${name})`, () => {
    const rng = new Rng(1);
    const predictions = randomArray(rng, N * K, 2);
    const targets = randomArray(rng, N * K, 2);
    const input = { predictions, targets, N, K };
    const dPredictions = new Float32Array(N * K).fill(NaN);
    const value = mseBackward(input, options, dPredictions, dLoss);
    assert.deepEqual(value, mseForward(input, options));
    checkGradient({ name: "dPredictions", f: () => dLoss * mseForward(input, options).loss, param: predictions, analytic: dPredictions });
    if (options.mask) assert.ok(dPredictions.subarray(K, 2 * K).every((g) => g === 0));
  });
}

test("MSE rejects bad targets and arguments, naming them", () => {
  const predictions = new Float32Array(4);
  assert.throws(() => mseForward({ predictions, targets: Float32Array.from([0, 0, Infinity, 0]), N: 2, K: 2 }), {
    name: "RangeError",
    message: "targets at row 1, value 0 = Infinity is out of range: expected a finite number",
  });
  assert.throws(() => mseForward({ predictions, targets: new Float32Array(3), N: 4 }), /targets must have shape \(N=4, K=1\) = 4 values, got 3/);
  assert.throws(() => mseForward({ predictions: new Float32Array(3), targets: new Float32Array(4), N: 4 }), /predictions must have shape/);
  assert.throws(() => mseBackward({ predictions, targets: new Float32Array(4), N: 4 }, {}, new Float32Array(2)), /dPredictions must have shape \(N=4, K=1\)/);
});
