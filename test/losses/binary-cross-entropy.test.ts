import { test } from "node:test";
import assert from "node:assert/strict";
import {
  binaryCrossEntropyWithLogitsBackward, binaryCrossEntropyWithLogitsForward,
} from "../../src/losses/binary-cross-entropy.js";
import type { LossOptions } from "../../src/losses/loss.js";
import { Rng } from "../../src/tensor/rng.js";
import { checkGradient, randomArray } from "../helpers/gradcheck.js";

const N = 5;
const K = 3;

function close(actual: number, expected: number, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} vs ${expected}`);
}

/** −[y log σ(x) + (1 − y) log(1 − σ(x))], the textbook way. */
function naive(x: number, y: number): number {
  const s = 1 / (1 + Math.exp(-x));
  return -(y * Math.log(s) + (1 - y) * Math.log(1 - s));
}

test("binary cross-entropy: known values and the textbook formula with a mask", () => {
  close(binaryCrossEntropyWithLogitsForward({ logits: new Float32Array(4), targets: Float32Array.from([0, 1, 0.5, 1]), N: 4 }).loss, Math.log(2));
  const rng = new Rng(1);
  const logits = randomArray(rng, N * K, 4);
  const targets = rng.fillUniform(new Float32Array(N * K), 0, 1);
  const mask = Float32Array.from([1, 0, 0.5, 1, 2]);
  let sum = 0;
  let count = 0;
  for (let r = 0; r < N; r++) {
    for (let k = 0; k < K; k++) sum += mask[r]! * naive(logits[r * K + k]!, targets[r * K + k]!);
    count += mask[r]! * K;
  }
  const value = binaryCrossEntropyWithLogitsForward({ logits, targets, N, K }, { mask });
  close(value.sum, sum);
  close(value.count, count);
  close(value.loss, sum / count);
  close(binaryCrossEntropyWithLogitsForward({ logits, targets, N, K }, { mask, reduction: "sum" }).loss, sum);
});

test("binary cross-entropy is stable for huge logits", () => {
  // exp(−200) underflows float32, so the gradients are exactly ±1 and 0.
  const input = { logits: Float32Array.from([200, -200, 200, -200]), targets: Float32Array.from([0, 1, 1, 0]), N: 4 };
  const value = binaryCrossEntropyWithLogitsForward(input, { reduction: "sum" });
  close(value.loss, 400, 1e-12);
  const dLogits = new Float32Array(4);
  binaryCrossEntropyWithLogitsBackward(input, { reduction: "sum" }, dLogits);
  assert.deepEqual([...dLogits], [1, -1, 0, 0]);
});

const gradientCases: [string, LossOptions, number][] = [
  ["mean", {}, 1],
  ["sum, upstream −0.6", { reduction: "sum" }, -0.6],
  ["mean, mask", { mask: Float32Array.from([1, 0, 0.5, 1, 2]) }, 1.4],
];

for (const [name, options, dLoss] of gradientCases) {
  test(`binary cross-entropy backward matches central differences (${name})`, () => {
    const rng = new Rng(2);
    const logits = randomArray(rng, N * K, 3);
    const targets = rng.fillUniform(new Float32Array(N * K), 0, 1);
    targets[0] = 0;
    targets[1] = 1;
    const input = { logits, targets, N, K };
    const dLogits = new Float32Array(N * K).fill(NaN);
    const value = binaryCrossEntropyWithLogitsBackward(input, options, dLogits, dLoss);
    assert.deepEqual(value, binaryCrossEntropyWithLogitsForward(input, options));
    checkGradient({ name: "dLogits", f: () => dLoss * binaryCrossEntropyWithLogitsForward(input, options).loss, param: logits, analytic: dLogits });
    if (options.mask) assert.ok(dLogits.subarray(K, 2 * K).every((g) => g === 0));
  });
}

test("binary cross-entropy rejects bad targets and arguments, naming them", () => {
  const logits = new Float32Array(6);
  assert.throws(() => binaryCrossEntropyWithLogitsForward({ logits, targets: Float32Array.from([0, 1, 0, 1.5, 0, 1]), N: 2, K: 3 }), {
    name: "RangeError",
    message: "targets at row 1, label 0 = 1.5 is out of range: expected a probability in [0, 1]",
  });
  assert.throws(() => binaryCrossEntropyWithLogitsForward({ logits, targets: Float32Array.from([0, 1, 0, 1, NaN, 1]), N: 6 }), /targets at row 4 = NaN .*\[0, 1\]/);
  assert.throws(() => binaryCrossEntropyWithLogitsForward({ logits, targets: new Float32Array(5), N: 6 }), /targets must have shape \(N=6, K=1\) = 6 values, got 5/);
  assert.throws(() => binaryCrossEntropyWithLogitsForward({ logits, targets: new Float32Array(6), N: 6, K: 0 }), /K \(labels per row\) must be a positive integer/);
  assert.throws(() => binaryCrossEntropyWithLogitsForward({ logits, targets: new Float32Array(6), N: 6 }, { mask: Float32Array.from([1, 1, 1, 1, 1, Infinity]) }), /mask\[5\] must be a finite weight/);
  assert.throws(() => binaryCrossEntropyWithLogitsBackward({ logits, targets: new Float32Array(6), N: 6 }, {}, new Float32Array(3)), /dLogits must have shape \(N=6, K=1\)/);
});
