import { test } from "node:test";
import assert from "node:assert/strict";
import { Dense } from "../../src/layers/dense.js";
import { Rng } from "../../src/tensor/rng.js";
import { checkGradient, dot, randomArray } from "../helpers/gradcheck.js";

const I = 5;
const O = 4;
const N = 6;

/** out[n, o] = Σ_i x[n, i] W[o, i] + b[o], in float64. */
function naive(x: Float32Array, W: Float32Array, b: Float32Array | null, rows: number): number[] {
  const out: number[] = [];
  for (let n = 0; n < rows; n++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < I; i++) s += x[n * I + i]! * W[o * I + i]!;
      out.push(s);
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test("Dense initialises U(±1/√in) with nn.Linear's shapes and names", () => {
  const dense = new Dense({ inFeatures: 16, outFeatures: 30, rng: new Rng(1) });
  assert.deepEqual(dense.weight.shape, [30, 16]);
  assert.deepEqual(dense.bias!.shape, [30]);
  assert.deepEqual(dense.parameters().map((p) => p.name), ["weight", "bias"]);
  for (const p of dense.parameters()) {
    assert.ok(p.value.every((v) => Math.abs(v) <= 0.25), `${p.name} within ±1/√16`);
    assert.ok(Math.max(...p.value) > 0.2 && Math.min(...p.value) < -0.2, `${p.name} spans the range`);
  }
  const noBias = new Dense({ inFeatures: 3, outFeatures: 2, bias: false, rng: new Rng(1) });
  assert.equal(noBias.bias, null);
  assert.deepEqual(noBias.parameters().map((p) => p.name), ["weight"]);
});

test("Dense.forward computes x·Wᵀ + b, with and without bias", () => {
  const rng = new Rng(2);
  const x = randomArray(rng, N * I);
  for (const bias of [true, false]) {
    const dense = new Dense({ inFeatures: I, outFeatures: O, bias, rng });
    const cache = dense.forward(x, N);
    assertClose(cache.out, naive(x, dense.weight.value, dense.bias?.value ?? null, N));
    // A shorter batch reuses the same cache.
    dense.forward(x.subarray(0, 2 * I), 2, cache);
    assertClose(cache.out, naive(x, dense.weight.value, dense.bias?.value ?? null, 2));
  }
});

test("Dense.backward matches central differences for weight, bias and x", () => {
  const rng = new Rng(3);
  const dense = new Dense({ inFeatures: I, outFeatures: O, rng });
  const x = randomArray(rng, N * I);
  const dOut = randomArray(rng, N * O);
  const dx = dense.backward(dense.forward(x, N), dOut).slice();
  const cache = dense.createCache();
  const f = () => dot(dense.forward(x, N, cache).out, dOut);
  checkGradient({ name: "dense.weight", f, param: dense.weight.value, analytic: dense.weight.grad });
  checkGradient({ name: "dense.bias", f, param: dense.bias!.value, analytic: dense.bias!.grad });
  checkGradient({ name: "dense x", f, param: x, analytic: dx });
});

test("Dense.backward accumulates parameter gradients and overwrites dx", () => {
  const rng = new Rng(4);
  const dense = new Dense({ inFeatures: I, outFeatures: O, rng });
  const x = randomArray(rng, N * I);
  const dOut = randomArray(rng, N * O);
  const cache = dense.forward(x, N);
  const dx1 = dense.backward(cache, dOut).slice();
  const w1 = dense.weight.grad.slice();
  const b1 = dense.bias!.grad.slice();
  const dx2 = dense.backward(cache, dOut);
  assert.deepEqual(dx2, dx1);
  assertClose(dense.weight.grad, w1.map((g) => 2 * g), 1e-6);
  assertClose(dense.bias!.grad, b1.map((g) => 2 * g), 1e-6);
});

test("Dense rejects bad arguments with RangeErrors naming them", () => {
  const rng = new Rng(5);
  assert.throws(() => new Dense({ inFeatures: 0, outFeatures: O, rng }), /inFeatures must be a positive integer, got 0/);
  assert.throws(() => new Dense({ inFeatures: I, outFeatures: -1, rng }), /outFeatures must be a positive integer/);
  const dense = new Dense({ inFeatures: I, outFeatures: O, rng });
  assert.throws(() => dense.forward(new Float32Array(N * I - 1), N), /x must have shape \(N=6, I=5\) = 30 values, got 29/);
  assert.throws(() => dense.forward(new Float32Array(0), 0), /rows must be a positive integer/);
  assert.throws(() => dense.backward(dense.createCache(), new Float32Array(O)), /holds no forward pass/);
  const cache = dense.forward(new Float32Array(N * I), N);
  assert.throws(() => dense.backward(cache, new Float32Array(O)), /dOut must have shape \(N=6, O=4\) = 24 values, got 4/);
});

test("Dense.backward writes dx into dxInto when given, and rejects one of the wrong length", () => {
  const layer = new Dense({ inFeatures: 3, outFeatures: 2, rng: new Rng(4) });
  const x = randomArray(new Rng(5), 5 * 3);
  const dOut = randomArray(new Rng(6), 5 * 2);
  const own = layer.backward(layer.forward(x, 5), dOut).slice();
  const into = new Float32Array(5 * 3).fill(7);
  const returned = layer.backward(layer.forward(x, 5), dOut, into);
  assert.equal(returned, into);
  assert.deepEqual([...into], [...own]);
  assert.throws(() => layer.backward(layer.forward(x, 5), dOut, new Float32Array(14)), /dxInto must have room for \(N=5, I=3\) = 15 values, got 14/);
});
