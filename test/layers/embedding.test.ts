import { test } from "node:test";
import assert from "node:assert/strict";
import { Embedding } from "../../src/layers/embedding.js";
import { Rng } from "../../src/tensor/rng.js";
import { checkGradient, dot, randomArray } from "../helpers/gradcheck.js";

const V = 7;
const D = 5;

test("Embedding initialises N(0, 1) with the padding row at 0, as PyTorch", () => {
  const big = new Embedding({ numEmbeddings: 400, embeddingDim: 10, paddingIdx: 3, rng: new Rng(1) });
  const w = big.weight.value;
  assert.deepEqual(big.weight.shape, [400, 10]);
  assert.equal(big.weight.name, "weight");
  assert.deepEqual(big.parameters(), [big.weight]);
  assert.ok(w.subarray(30, 40).every((v) => v === 0));
  let sum = 0;
  let sq = 0;
  for (const v of w) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / (w.length - 10);
  const std = Math.sqrt(sq / (w.length - 10) - mean * mean);
  assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
  assert.ok(Math.abs(std - 1) < 0.05, `std ${std}`);
});

test("Embedding.forward gathers rows, reusing the cache's buffer", () => {
  const emb = new Embedding({ numEmbeddings: V, embeddingDim: D, rng: new Rng(2) });
  const ids = Int32Array.from([3, 0, 6, 3]);
  const cache = emb.forward(ids, 4);
  assert.equal(cache.out.length, 4 * D);
  ids.forEach((id, r) => assert.deepEqual(cache.out.subarray(r * D, (r + 1) * D), emb.weight.value.subarray(id * D, (id + 1) * D)));
  const again = emb.forward(Int32Array.from([5]), 1, cache);
  assert.equal(again, cache);
  assert.equal(cache.out.length, D);
  assert.deepEqual(cache.out, emb.weight.value.subarray(5 * D, 6 * D));
});

test("Embedding.backward matches central differences (repeated ids accumulate)", () => {
  const rng = new Rng(3);
  const emb = new Embedding({ numEmbeddings: V, embeddingDim: D, rng });
  const ids = Int32Array.from([3, 0, 6, 3, 1, 3, 2]);
  const dOut = randomArray(rng, ids.length * D);
  emb.backward(emb.forward(ids, ids.length), dOut);
  const cache = emb.createCache();
  checkGradient({
    name: "embedding.weight",
    f: () => dot(emb.forward(ids, ids.length, cache).out, dOut),
    param: emb.weight.value,
    analytic: emb.weight.grad,
  });
  // Rows never looked up (id 4, 5) get exactly zero.
  assert.ok(emb.weight.grad.subarray(4 * D, 6 * D).every((g) => g === 0));
});

test("Embedding.backward skips paddingIdx (negative values count from the end) and accumulates", () => {
  const rng = new Rng(4);
  const ids = Int32Array.from([6, 2, 6, 0]);
  const dOut = randomArray(rng, ids.length * D);
  const plain = new Embedding({ numEmbeddings: V, embeddingDim: D, rng: new Rng(5) });
  const padded = new Embedding({ numEmbeddings: V, embeddingDim: D, paddingIdx: -1, rng: new Rng(5) });
  assert.equal(padded.paddingIdx, V - 1);
  assert.ok(padded.weight.value.subarray((V - 1) * D).every((v) => v === 0));
  plain.backward(plain.forward(ids, 4), dOut);
  padded.backward(padded.forward(ids, 4), dOut);
  assert.ok(padded.weight.grad.subarray((V - 1) * D).every((g) => g === 0));
  assert.ok(plain.weight.grad.subarray((V - 1) * D).some((g) => g !== 0));
  assert.deepEqual(padded.weight.grad.subarray(0, (V - 1) * D), plain.weight.grad.subarray(0, (V - 1) * D));
  const once = padded.weight.grad.slice();
  padded.backward(padded.forward(ids, 4), dOut);
  assert.deepEqual(padded.weight.grad, once.map((g) => g * 2));
});

test("Embedding rejects out-of-range ids, naming the id, its position and the range", () => {
  const emb = new Embedding({ numEmbeddings: V, embeddingDim: D, rng: new Rng(6) });
  assert.throws(() => emb.forward(Int32Array.from([1, 2, 7]), 3), {
    name: "RangeError",
    message: "Embedding: id 7 at position 2 is out of range: expected an id in [0, 7)",
  });
  assert.throws(() => emb.forward(Int32Array.from([-1]), 1), /id -1 at position 0 .*\[0, 7\)/);
});

test("Embedding rejects bad arguments with RangeErrors naming them", () => {
  const rng = new Rng(7);
  assert.throws(() => new Embedding({ numEmbeddings: 0, embeddingDim: D, rng }), /numEmbeddings must be a positive integer, got 0/);
  assert.throws(() => new Embedding({ numEmbeddings: V, embeddingDim: 2.5, rng }), /embeddingDim must be a positive integer/);
  assert.throws(() => new Embedding({ numEmbeddings: V, embeddingDim: D, paddingIdx: 7, rng }), /paddingIdx must be an integer in \[-7, 7\)/);
  const emb = new Embedding({ numEmbeddings: V, embeddingDim: D, rng });
  assert.throws(() => emb.forward(Int32Array.from([1, 2]), 3), /ids must have 3 values \(rows\), got 2/);
  assert.throws(() => emb.forward(new Int32Array(0), 0), /rows must be a positive integer/);
  assert.throws(() => emb.backward(emb.createCache(), new Float32Array(D)), /holds no forward pass/);
  const cache = emb.forward(Int32Array.from([1, 2]), 2);
  assert.throws(() => emb.backward(cache, new Float32Array(D)), /dOut must have shape \(N=2, D=5\) = 10 values, got 5/);
});
