/**
 * Conformance of the fused loss and optimizer kernels, every backend (reference, wasm-simd on 1 and 2
 * threads, native) against the reference:
 *
 * - softmaxCrossEntropy, against the reference run in float64 on Float64Array copies. The fast backends
 *   compute z − m and exp in float32 (exp ≤ 1 ulp), Σ exp and the loss in float64, and scale by
 *   scale·w/s rounded to float32, so each dLogits element is within a few roundings of the exact one,
 *   and the target's element loses up to one ulp of scale·w to cancellation:
 *     dLogits:  |err| ≤ 8u·|scale·w| + 8u·|exact|      (u = 2⁻²⁴)
 *     loss:     |err| ≤ 1e-6·N·(17 + log C)   (|ℓ_r| ≤ 16 + log C for logits in [−8, 8], weights ≤ 2)
 *   and the hits equal exactly. Sizes: C = 1…1000 (every tail length of 4 and 16 lanes), rows ignored,
 *   weighted (some 0), with and without dLogits, and rows holding ±∞ and NaN (which must follow the
 *   reference's logsumexp = m). Guard values around every array catch writes out of bounds.
 * - adamStep: the same float64 operations on every backend, so bit-identical to the reference, for
 *   Adam and AdamW, with and without amsgrad, at every tail length.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Kernels, referenceKernels } from "../../src/kernels/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { BACKENDS, U, assertBitIdentical, assertWithin } from "./conformance.js";

const GUARD = -12345.5;

/** `values` at `offset` in an array from `make`, with 3 guard values after. */
function placed<T extends Float32Array | Float64Array | Int32Array>(make: (n: number) => T, values: ArrayLike<number>, offset: number): T {
  const a = make(offset + values.length + 3);
  a.fill(GUARD);
  a.set(values, offset);
  return a;
}

function assertGuards(a: ArrayLike<number>, offset: number, n: number, what: string): void {
  for (let i = 0; i < a.length; i++) {
    if (i >= offset && i < offset + n) continue;
    if (a[i] !== GUARD) assert.fail(`${what}: element ${i} outside the block was written (${a[i]})`);
  }
}

interface SoftmaxCase {
  N: number;
  C: number;
  logits: number[];
  targets: number[];
  weights: number[] | null;
  ignoreIndex: number;
  scale: number;
}

function randomCase(rng: Rng, N: number, C: number, options: { weights: boolean; special: boolean }): SoftmaxCase {
  const logits: number[] = [];
  for (let i = 0; i < N * C; i++) logits.push(Math.fround(rng.uniform(-8, 8)));
  const ignoreIndex = -100;
  const targets: number[] = [];
  for (let r = 0; r < N; r++) targets.push(rng.next() < 0.15 ? ignoreIndex : rng.int(C));
  const weights = options.weights ? Array.from({ length: N }, () => (rng.next() < 0.2 ? 0 : Math.fround(rng.uniform(0, 2)))) : null;
  if (options.special && N >= 4) {
    logits[0 * C + rng.int(C)] = Infinity; // row 0: a +∞ (logsumexp = +∞)
    logits[1 * C + rng.int(C)] = NaN; // row 1: a NaN (everything NaN)
    for (let j = 0; j < C; j++) logits[2 * C + j] = -Infinity; // row 2: all −∞
    logits[3 * C + rng.int(C)] = -Infinity; // row 3: one −∞ (exp 0, finite loss)
    for (let r = 0; r < 4; r++) if (targets[r] === ignoreIndex) targets[r] = 0;
    if (weights) for (let r = 0; r < 4; r++) weights[r] = 1;
  }
  return { N, C, logits, targets, weights, ignoreIndex, scale: Math.fround(rng.uniform(0.1, 2)) };
}

function runSoftmax(k: Kernels, c: SoftmaxCase, offset: number, make: (n: number) => Float32Array, withGradient: boolean) {
  const logits = placed(make, c.logits, offset);
  const targets = placed((n) => k.allocateIndices(n), c.targets, offset);
  const weights = c.weights ? placed(make, c.weights, offset) : null;
  const dLogits = withGradient ? placed(make, new Array<number>(c.N * c.C).fill(7), offset) : null;
  const result = k.softmaxCrossEntropy(c.N, c.C, logits, offset, targets, offset, weights, offset, c.ignoreIndex, c.scale, dLogits, offset);
  return { logits, targets, weights, dLogits, result };
}

/** NaN-aware: both NaN, or within the tolerance. */
function assertClose(a: Float32Array | Float64Array, e: Float32Array | Float64Array, offset: number, n: number, atol: number, what: string): void {
  for (let i = offset; i < offset + n; i++) {
    if (Number.isNaN(e[i]!) || !Number.isFinite(e[i]!)) {
      assert.ok(Object.is(a[i], e[i]) || (Number.isNaN(a[i]!) && Number.isNaN(e[i]!)), `${what}: element ${i - offset} is ${a[i]}, exact ${e[i]}`);
    }
  }
  const finiteA = Float64Array.from(a, (x, i) => (Number.isFinite(e[i]!) ? x : 0));
  const finiteE = Float64Array.from(e, (x) => (Number.isFinite(x) ? x : 0));
  assertWithin(finiteA, finiteE, offset, n, { rtol: 8 * U, atol }, what);
}

describe("fused kernels conformance", () => {
  it("softmaxCrossEntropy: loss, hits and dLogits on every backend, C = 1…1000, ignored and weighted rows, ±∞ and NaN rows", () => {
    const rng = new Rng(31);
    const sizes: [number, number][] = [[1, 1], [3, 2], [5, 3], [4, 4], [6, 5], [4, 15], [5, 16], [7, 17], [4, 33], [9, 100], [4, 1000]];
    for (const [N, C] of sizes) {
      for (const weights of [false, true]) {
        for (const withGradient of [true, false]) {
          const c = randomCase(rng, N, C, { weights, special: C > 1 });
          const offset = 1 + rng.int(5);
          const exact = runSoftmax(referenceKernels, c, offset, (n) => new Float64Array(n) as unknown as Float32Array, withGradient);
          const maxRowLoss = 16 + Math.log(C); // |ℓ| ≤ log C + 16 for logits in [−8, 8]
          for (const k of BACKENDS) {
            const what = `softmaxCrossEntropy N=${N} C=${C}${weights ? " weighted" : ""}${withGradient ? "" : " loss only"} on ${k.name}`;
            const got = runSoftmax(k, c, offset, (n) => k.allocate(n), withGradient);
            assert.equal(got.result.hits, exact.result.hits, `${what}: hits`);
            const e = exact.result.loss;
            if (Number.isFinite(e) || Number.isNaN(e)) {
              if (Number.isNaN(e)) assert.ok(Number.isNaN(got.result.loss), `${what}: loss ${got.result.loss}, exact NaN`);
              else assert.ok(Math.abs(got.result.loss - e) <= 1e-6 * N * (1 + maxRowLoss), `${what}: loss ${got.result.loss}, exact ${e}`);
            } else {
              assert.equal(got.result.loss, e, `${what}: loss`);
            }
            if (withGradient) {
              let maxWs = 0;
              for (let r = 0; r < N; r++) maxWs = Math.max(maxWs, Math.abs(c.scale * (c.weights ? c.weights[r]! : 1)));
              assertClose(got.dLogits!, exact.dLogits!, offset, N * C, 8 * U * maxWs, `${what}: dLogits`);
              assertGuards(got.dLogits!, offset, N * C, `${what}: dLogits`);
            }
            // Inputs unchanged, guards intact.
            assertBitIdentical(got.logits.subarray(offset, offset + N * C), Float32Array.from(c.logits), `${what}: logits changed`);
            assertGuards(got.logits, offset, N * C, `${what}: logits`);
            assert.deepEqual(Array.from(got.targets.subarray(offset, offset + N)), c.targets, `${what}: targets changed`);
          }
        }
      }
    }
  });

  it("softmaxCrossEntropy: a target out of range is a RangeError on every backend, before anything is written", () => {
    for (const k of BACKENDS) {
      const logits = k.allocate(6);
      const dLogits = k.allocate(6).fill(3);
      for (const bad of [3, -1, 2 ** 30]) {
        const targets = k.allocateIndices(2);
        targets.set([0, bad]);
        assert.throws(() => k.softmaxCrossEntropy(2, 3, logits, 0, targets, 0, null, 0, -100, 1, dLogits, 0), RangeError, `${k.name}: target ${bad}`);
        assert.deepEqual(Array.from(dLogits), [3, 3, 3, 3, 3, 3], `${k.name}: dLogits written`);
      }
      const short = k.allocateIndices(1);
      assert.throws(() => k.softmaxCrossEntropy(2, 3, logits, 0, short, 0, null, 0, -100, 1, dLogits, 0), RangeError, `${k.name}: short targets`);
      // The reference is plain TypeScript (a read past the end gives NaN, not another array's memory): it does not check.
      if (k !== referenceKernels) {
        assert.throws(() => k.softmaxCrossEntropy(2, 4, logits, 0, k.allocateIndices(2), 0, null, 0, -100, 1, dLogits, 0), RangeError, `${k.name}: short logits`);
      }
    }
  });

  it("adamStep: bit-identical to the reference on every backend (Adam, AdamW, amsgrad; every tail length)", () => {
    const rng = new Rng(32);
    for (const n of [1, 2, 3, 5, 16, 17, 33, 1001]) {
      for (const [l2, shrink, amsgrad] of [[0, 1, false], [0.01, 1, true], [0, 1 - 1e-3 * 0.01, false], [0, 0.999, true]] as const) {
        const values = (scale: number) => Array.from({ length: n }, () => Math.fround(rng.uniform(-scale, scale)));
        const init = { theta: values(1), grad: values(0.1), m: values(0.01), v: values(1e-4).map(Math.abs), vMax: values(1e-4).map(Math.abs) };
        const hyper = [0.9, 0.999, 1e-8, 1e-3 / (1 - 0.9 ** 3), Math.sqrt(1 - 0.999 ** 3), l2, shrink] as const;
        const offset = 1 + rng.int(5);
        const run = (k: Kernels) => {
          const a = {
            theta: placed((len) => k.allocate(len), init.theta, offset), grad: placed((len) => k.allocate(len), init.grad, offset),
            m: placed((len) => k.allocate(len), init.m, offset), v: placed((len) => k.allocate(len), init.v, offset),
            vMax: amsgrad ? placed((len) => k.allocate(len), init.vMax, offset) : null,
          };
          for (let step = 0; step < 3; step++) k.adamStep(n, a.theta, offset, a.grad, offset, a.m, offset, a.v, offset, a.vMax, offset, ...hyper);
          return a;
        };
        const expected = run(referenceKernels);
        for (const k of BACKENDS) {
          const got = run(k);
          const what = `adamStep n=${n} l2=${l2} shrink=${shrink}${amsgrad ? " amsgrad" : ""} on ${k.name}`;
          for (const name of ["theta", "grad", "m", "v", "vMax"] as const) {
            if (got[name] === null) continue;
            assertBitIdentical(got[name]!, expected[name]!, `${what}: ${name}`);
          }
          assert.notDeepEqual(Array.from(got.theta.subarray(offset, offset + n)), init.theta, `${what}: theta unchanged`);
        }
      }
    }
  });
});
