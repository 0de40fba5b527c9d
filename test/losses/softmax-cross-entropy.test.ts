import { test } from "node:test";
import assert from "node:assert/strict";
import { softmaxCrossEntropyBackward, softmaxCrossEntropyForward } from "../../src/losses/softmax-cross-entropy.js";
import type { SoftmaxCrossEntropyOptions } from "../../src/losses/softmax-cross-entropy.js";
import { Rng } from "../../src/tensor/rng.js";
import { checkGradient, randomArray } from "../helpers/gradcheck.js";

const N = 6;
const C = 4;

/** −log softmax(z_r)[t], the textbook way (fine for moderate logits). */
function naiveRowLoss(logits: Float32Array, r: number, t: number): number {
  let s = 0;
  for (let j = 0; j < C; j++) s += Math.exp(logits[r * C + j]!);
  return -Math.log(Math.exp(logits[r * C + t]!) / s);
}

function close(actual: number, expected: number, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} vs ${expected}`);
}

test("softmax cross-entropy: known values", () => {
  // Uniform logits: −log(1/C) per row.
  const uniform = { logits: new Float32Array(3 * C), targets: Int32Array.from([0, 3, 1]), N: 3, C };
  close(softmaxCrossEntropyForward(uniform).loss, Math.log(C));
  close(softmaxCrossEntropyForward(uniform, { reduction: "sum" }).loss, 3 * Math.log(C));
  // softmax([0, ln 3]) = (1/4, 3/4): target 1 costs ln(4/3), target 0 costs ln 4.
  const logits = Float32Array.from([0, Math.log(3), 0, Math.log(3)]);
  const value = softmaxCrossEntropyForward({ logits, targets: Int32Array.from([1, 0]), N: 2, C: 2 });
  close(value.loss, (Math.log(4 / 3) + Math.log(4)) / 2, 1e-7);
});

test("softmax cross-entropy matches the textbook formula with ignoreIndex, mask and both reductions", () => {
  const rng = new Rng(1);
  const logits = randomArray(rng, N * C, 3);
  const targets = Int32Array.from([0, 3, 5, 2, 1, 0]); // row 2 is ignored with ignoreIndex 5
  const mask = Float32Array.from([1, 0.5, 1, 0, 2, 1]);
  let sum = 0;
  let count = 0;
  for (const r of [0, 1, 3, 4, 5]) {
    sum += mask[r]! * naiveRowLoss(logits, r, targets[r]!);
    count += mask[r]!;
  }
  const input = { logits, targets, N, C };
  const mean = softmaxCrossEntropyForward(input, { ignoreIndex: 5, mask });
  close(mean.sum, sum);
  close(mean.count, count);
  close(mean.loss, sum / count);
  close(softmaxCrossEntropyForward(input, { ignoreIndex: 5, mask, reduction: "sum" }).loss, sum);
  // Default ignoreIndex −100, no mask: PyTorch's mean over the rows that are not ignored.
  const plain = softmaxCrossEntropyForward({ logits, targets: Int32Array.from([0, 3, -100, 2, 1, 0]), N, C });
  assert.equal(plain.count, 5);
  let plainSum = 0;
  for (const [r, t] of [[0, 0], [1, 3], [3, 2], [4, 1], [5, 0]] as const) plainSum += naiveRowLoss(logits, r, t);
  close(plain.loss, plainSum / 5);
});

test("softmax cross-entropy is stable for huge logits", () => {
  const logits = Float32Array.from([1000, 0, -1000, 0, 1000, 1000]);
  const input = { logits, targets: Int32Array.from([1, 0, 1]), N: 3, C: 2 };
  const value = softmaxCrossEntropyForward(input, { reduction: "sum" });
  // Rows: 1000 − 0;  log(1 + e^−1000) + 1000 = 1000;  ln 2.
  close(value.loss, 2000 + Math.log(2));
  const dLogits = new Float32Array(6);
  softmaxCrossEntropyBackward(input, { reduction: "sum" }, dLogits);
  assert.deepEqual([...dLogits], [1, -1, -1, 1, 0.5, -0.5]);
});

const gradientCases: [string, SoftmaxCrossEntropyOptions, number][] = [
  ["mean", {}, 1],
  ["sum", { reduction: "sum" }, 1],
  ["mean, mask and ignoreIndex, upstream 0.7", { mask: Float32Array.from([1, 0.5, 1, 0, 2, 1]) }, 0.7],
  ["sum, mask, ignoreIndex 1", { mask: Float32Array.from([1, 0, 1, 1, 0.25, 1]), ignoreIndex: 1, reduction: "sum" }, -1.3],
];

for (const [name, options, dLoss] of gradientCases) {
  test(`softmax cross-entropy backward matches central differences (${name})`, () => {
    const rng = new Rng(2);
    const logits = randomArray(rng, N * C, 2);
    // Row 2 is always ignored; with ignoreIndex 1, rows 4 and 5 are too.
    const targets = Int32Array.from([0, 3, options.ignoreIndex ?? -100, 2, 1, 1]);
    const input = { logits, targets, N, C };
    const dLogits = new Float32Array(N * C).fill(NaN);
    const value = softmaxCrossEntropyBackward(input, options, dLogits, dLoss);
    assert.deepEqual(value, softmaxCrossEntropyForward(input, options));
    checkGradient({ name: "dLogits", f: () => dLoss * softmaxCrossEntropyForward(input, options).loss, param: logits, analytic: dLogits });
    // Ignored and zero-weight rows get exactly zero.
    assert.ok(dLogits.subarray(2 * C, 3 * C).every((g) => g === 0));
  });
}

test("softmax cross-entropy: zero-weight rows contribute nothing, even non-finite ones; an empty mean is 0", () => {
  const logits = Float32Array.from([NaN, 1, 0, 2]);
  const input = { logits, targets: Int32Array.from([0, 1]), N: 2, C: 2 };
  const mask = Float32Array.from([0, 1]);
  const dLogits = new Float32Array(4);
  const value = softmaxCrossEntropyBackward(input, { mask }, dLogits);
  close(value.loss, Math.log(1 + Math.exp(-2)));
  assert.ok(dLogits.every((g) => Number.isFinite(g)));
  const empty = softmaxCrossEntropyBackward(input, { mask: new Float32Array(2) }, dLogits);
  assert.deepEqual(empty, { loss: 0, sum: 0, count: 0 });
  assert.ok(dLogits.every((g) => g === 0));
});

test("softmax cross-entropy rejects bad targets and arguments, naming them", () => {
  const logits = new Float32Array(3 * C);
  assert.throws(() => softmaxCrossEntropyForward({ logits, targets: Int32Array.from([0, 1, 4]), N: 3, C }), {
    name: "RangeError",
    message: "targets[2] = 4 is out of range: expected a class in [0, 4) or ignoreIndex (-100)",
  });
  assert.throws(() => softmaxCrossEntropyForward({ logits, targets: Int32Array.from([0, -1, 0]), N: 3, C }), /targets\[1\] = -1/);
  assert.throws(() => softmaxCrossEntropyForward({ logits, targets: Int32Array.from([0, 1]), N: 3, C }), /targets must have shape \(N=3\) = 3 values, got 2/);
  assert.throws(() => softmaxCrossEntropyForward({ logits: logits.subarray(1), targets: new Int32Array(3), N: 3, C }), /logits must have shape \(N=3, C=4\) = 12 values, got 11/);
  assert.throws(() => softmaxCrossEntropyForward({ logits, targets: new Int32Array(3), N: 3, C: 0 }), /C \(classes\) must be a positive integer/);
  assert.throws(() => softmaxCrossEntropyForward({ logits, targets: new Int32Array(0), N: 0, C }), /N \(rows\) must be a positive integer/);
  const input = { logits, targets: new Int32Array(3), N: 3, C };
  assert.throws(() => softmaxCrossEntropyForward(input, { mask: new Float32Array(2) }), /mask must have shape \(N=3\)/);
  assert.throws(() => softmaxCrossEntropyForward(input, { mask: Float32Array.from([1, -1, 1]) }), /mask\[1\] must be a finite weight ≥ 0, got -1/);
  assert.throws(() => softmaxCrossEntropyForward(input, { reduction: "none" as "sum" }), /reduction must be "mean" or "sum"/);
  assert.throws(() => softmaxCrossEntropyBackward(input, {}, new Float32Array(5)), /dLogits must have shape \(N=3, C=4\)/);
  assert.throws(() => softmaxCrossEntropyBackward(input, {}, new Float32Array(12), NaN), /dLoss must be a finite number/);
});
