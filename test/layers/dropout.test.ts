import { test } from "node:test";
import assert from "node:assert/strict";
import { Dropout } from "../../src/layers/dropout.js";
import { Rng } from "../../src/tensor/rng.js";
import { checkGradient, dot, randomArray } from "../helpers/gradcheck.js";

test("Dropout in eval mode, or with p = 0, passes x and dOut through", () => {
  const x = randomArray(new Rng(1), 50);
  const dOut = randomArray(new Rng(2), 50);
  const dropout = new Dropout({ rng: new Rng(3) });
  for (const options of [{ p: 0.5, training: false }, { p: 0, training: true }]) {
    const cache = dropout.forward(x, options);
    assert.deepEqual(cache.out, x);
    assert.notEqual(cache.out, x, "out is the cache's own copy");
    assert.equal(cache.mask, null);
    assert.deepEqual(dropout.backward(cache, dOut), dOut);
  }
});

test("Dropout drops a fraction p and scales the rest by 1/(1 − p)", () => {
  const n = 20000;
  const p = 0.3;
  const x = randomArray(new Rng(4), n).map((v) => v + 2); // all positive
  const cache = new Dropout({ rng: new Rng(5) }).forward(x, { p, training: true });
  const mask = cache.mask!;
  const scale = Math.fround(1 / (1 - p));
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i] === 0) {
      dropped++;
      assert.equal(cache.out[i], 0);
    } else {
      assert.equal(mask[i], scale);
      assert.equal(cache.out[i], Math.fround(x[i]! * scale));
    }
  }
  // 4 standard deviations of a Binomial(n, p) fraction: 4·√(p(1−p)/n) ≈ 0.013.
  assert.ok(Math.abs(dropped / n - p) < 0.013, `dropped ${dropped / n}`);
});

test("Dropout with p = 1 zeros everything", () => {
  const x = randomArray(new Rng(6), 20);
  const dropout = new Dropout({ rng: new Rng(7) });
  const cache = dropout.forward(x, { p: 1, training: true });
  assert.ok(cache.out.every((v) => v === 0));
  assert.ok(dropout.backward(cache, randomArray(new Rng(8), 20)).every((v) => v === 0));
});

test("Dropout masks are reproducible from the seed and differ between calls", () => {
  const x = new Float32Array(100).fill(1);
  const a = new Dropout({ rng: new Rng(9) });
  const b = new Dropout({ rng: new Rng(9) });
  const first = a.forward(x, { p: 0.5, training: true }).mask!.slice();
  assert.deepEqual(b.forward(x, { p: 0.5, training: true }).mask, first);
  assert.notDeepEqual(a.forward(x, { p: 0.5, training: true }).mask, first);
});

test("Dropout.backward matches central differences for a fixed mask", () => {
  const rng = new Rng(10);
  const n = 60;
  const x = randomArray(rng, n);
  const dOut = randomArray(rng, n);
  const maskRng = new Rng(11);
  const dropout = new Dropout({ rng: maskRng });
  const saved = maskRng.getState();
  const cache = dropout.forward(x, { p: 0.4, training: true });
  const dx = dropout.backward(cache, dOut).slice();
  const f = () => {
    maskRng.setState(saved); // draw the same mask every time
    return dot(dropout.forward(x, { p: 0.4, training: true }, cache).out, dOut);
  };
  checkGradient({ name: "dropout x", f, param: x, analytic: dx });
  assert.ok(dx.some((v) => v === 0) && dx.some((v) => v !== 0));
});

test("Dropout rejects bad arguments with RangeErrors naming them", () => {
  const dropout = new Dropout({ rng: new Rng(12) });
  const x = new Float32Array(4);
  for (const p of [-0.1, 1.5, NaN]) {
    assert.throws(() => dropout.forward(x, { p, training: true }), /p must be a probability in \[0, 1\]/);
  }
  const cache = dropout.forward(x, { p: 0.5, training: true });
  assert.throws(() => dropout.backward(cache, new Float32Array(3)), /dOut must have 4 values/);
});
