// The checker must pass a correct gradient and fail a wrong one, or every gradient test is hollow.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/tensor/rng.js";
import { checkGradient, dot, randomArray } from "./gradcheck.js";

// f(x) = Σ_i c_i sin(x_i) + 0.3 x_i²,  df/dx_i = c_i cos(x_i) + 0.6 x_i
function setup(n: number) {
  const rng = new Rng(7);
  const x = randomArray(rng, n, 2);
  const c = randomArray(rng, n, 1);
  const f = () => {
    let s = 0;
    for (let i = 0; i < n; i++) s += c[i]! * Math.sin(x[i]!) + 0.3 * x[i]! * x[i]!;
    return s;
  };
  const grad = Float32Array.from(x, (xi, i) => c[i]! * Math.cos(xi) + 0.6 * xi);
  return { x, c, f, grad };
}

test("checkGradient passes a correct gradient and restores the values bit-exactly", () => {
  const { x, f, grad } = setup(30);
  const before = x.slice();
  const result = checkGradient({ f, param: x, analytic: grad });
  assert.equal(result.checked, 30);
  assert.ok(result.maxRelError < 1e-3, `max relative error ${result.maxRelError}`);
  assert.deepEqual(x, before);
});

test("checkGradient fails a gradient with the wrong sign", () => {
  const { x, f, grad } = setup(30);
  const wrong = grad.map((g) => -g);
  assert.throws(() => checkGradient({ f, param: x, analytic: wrong, name: "x" }), (e: Error) => {
    assert.equal(e.name, "AssertionError");
    assert.match(e.message, /^x: \d+ of 30 entries differ/);
    assert.match(e.message, /x\[\d+\]: numeric/);
    return true;
  });
});

test("checkGradient fails a gradient with a missing term", () => {
  const { x, c, f } = setup(30);
  const missing = Float32Array.from(x, (xi, i) => c[i]! * Math.cos(xi)); // forgot 0.6 x
  assert.throws(() => checkGradient({ f, param: x, analytic: missing }), /differ from central differences/);
});

test("checkGradient fails a gradient off by 5% and a NaN", () => {
  const { x, f, grad } = setup(30);
  assert.throws(() => checkGradient({ f, param: x, analytic: grad.map((g) => g * 1.05 + 0.01) }));
  const nan = grad.slice();
  nan[3] = NaN;
  assert.throws(() => checkGradient({ f, param: x, analytic: nan }), /\[3\]: numeric/);
});

test("checkGradient samples large tensors, always including the first and last entry", () => {
  const { x, f, grad } = setup(5000);
  const wrongEnds = grad.slice();
  wrongEnds[4999] = -wrongEnds[4999]! + 1;
  assert.equal(checkGradient({ f, param: x, analytic: grad, samples: 25 }).checked, 25);
  assert.throws(() => checkGradient({ f, param: x, analytic: wrongEnds, samples: 25 }), /\[4999\]/);
});

test("dot and randomArray", () => {
  assert.equal(dot([1, 2, 3], [4, 5, 6]), 32);
  assert.throws(() => dot([1], [1, 2]), RangeError);
  const a = randomArray(new Rng(1), 1000, 0.5);
  assert.equal(a.length, 1000);
  assert.ok(a.every((v) => v >= -0.5 && v < 0.5));
  assert.deepEqual(randomArray(new Rng(1), 1000, 0.5), a);
});
