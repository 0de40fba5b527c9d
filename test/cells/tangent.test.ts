/**
 * Every cell's `tangent` (forward mode, the weights fixed) against central differences of its own
 * forward, in float64: for random tangents ḣ, ċ, ẋ of the state entering step t and of its input,
 *
 *   tangent(t; ḣ, ċ, ẋ) = (F(s + εv, x + εẋ) − F(s − εv, x − εẋ)) / 2ε,   v = (ḣ, ċ),
 *
 * at t = 0 and at t = 1 of a 2-step chunk (the saved state of an inner step), with one row masked at
 * step 1 (its tangent passes unchanged), and without an input tangent (ẋ = 0, a layer reading data);
 * the LSTM also with a projection (ḣ of P values), peepholes, and both.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Cell, CellKind, CellOptions, ChunkCache } from "../../src/cells/cell.js";
import { createCell } from "../../src/cells/index.js";
import { initializeCell } from "../../src/cells/init.js";
import { Rng } from "../../src/tensor/rng.js";
import { assertClose, fillRandom } from "../helpers/check.js";
import { f64, inFloat64 } from "../helpers/float64.js";

const T = 2;
const B = 3;
const I = 4;
const H = 5;
const EPS = 1e-5;

/** The state after one step of B rows from (h, c) with input x and the mask of step `t` of `mask`. */
function stepFrom(
  cell: Cell, h: Float32Array, c: Float32Array | null, x: Float32Array, mask: Float32Array | null,
): { h: Float32Array; c: Float32Array | null } {
  const cache = cell.forward({ x, T: 1, B, h0: h, c0: c, mask });
  const final = cell.finalState(cache);
  return { h: final.h.slice(), c: final.c ? final.c.slice() : null };
}

function axpy(a: Float32Array, s: number, v: Float32Array): Float32Array {
  const out = f64(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + s * v[i]!;
  return out;
}

function checkCell(kind: CellKind, withInputTangent: boolean, variant: Partial<CellOptions> = {}): void {
  inFloat64(() => {
    const rng = new Rng(kind.length * 31 + (withInputTangent ? 1 : 0) + (variant.projSize ?? 0) + (variant.peephole ? 7 : 0));
    const cell = createCell(kind, { inputSize: I, hiddenSize: H, ...variant });
    initializeCell(kind, cell.params, H, rng);
    for (const p of cell.params.list()) fillRandom(p.value, rng, 0.8);
    const lstm = cell.stateSizes.c > 0;
    const R = cell.stateSizes.h;
    const x = fillRandom(f64(T * B * I), rng);
    const h0 = fillRandom(f64(B * R), rng, 0.5);
    const c0 = lstm ? fillRandom(f64(B * H), rng, 0.5) : null;
    const mask = f64(T * B).fill(1);
    mask[1 * B + 2] = 0; // row 2 ends after step 0
    const cache: ChunkCache = cell.forward({ x, T, B, h0, c0, mask });
    // The states entering each step, as forward saved them.
    const hPrev = cache.hPrev.reserve(T * B * R).slice();
    const cells = cache as unknown as { c: { reserve(n: number): Float32Array } };
    const c = lstm ? cells.c.reserve(T * B * H).slice() : null;
    for (let t = 0; t < T; t++) {
      const hIn = hPrev.subarray(t * B * R, (t + 1) * B * R).slice() as Float32Array;
      const cIn = lstm ? (t === 0 ? c0! : c!.subarray(0, B * H).slice() as Float32Array) : null;
      const xt = x.subarray(t * B * I, (t + 1) * B * I).slice() as Float32Array;
      const maskT = mask.subarray(t * B, (t + 1) * B).slice() as Float32Array;
      const dh = fillRandom(f64(B * R), rng);
      const dc = lstm ? fillRandom(f64(B * H), rng) : null;
      const dx = withInputTangent ? fillRandom(f64(B * I), rng) : null;
      const step = { h: dh, c: dc, x: dx, hOut: f64(B * R), cOut: lstm ? f64(B * H) : null };
      cell.tangent(cache, t, step);
      const zeroX = f64(B * I);
      const at = (e: number) =>
        stepFrom(cell, axpy(hIn, e, dh), cIn && axpy(cIn, e, dc!), axpy(xt, e, dx ?? zeroX), maskT);
      const plus = at(EPS);
      const minus = at(-EPS);
      const numeric = (a: Float32Array, b: Float32Array) => Float64Array.from(a, (v, i) => (v - b[i]!) / (2 * EPS));
      assertClose(step.hOut, numeric(plus.h, minus.h), `${kind} ḣ at t = ${t}`, 1e-6, 1e-9);
      if (lstm) assertClose(step.cOut!, numeric(plus.c!, minus.c!), `${kind} ċ at t = ${t}`, 1e-6, 1e-9);
      if (t === 1) {
        // The masked row carries its tangent.
        assertClose(step.hOut.subarray(2 * R, 3 * R), dh.subarray(2 * R, 3 * R), `${kind} masked row`, 0, 0);
        if (lstm) assertClose(step.cOut!.subarray(2 * H, 3 * H), dc!.subarray(2 * H, 3 * H), `${kind} masked row's ċ`, 0, 0);
      }
    }
  });
}

describe("cell tangents (forward mode) against central differences of forward, float64", () => {
  for (const kind of ["rnn_tanh", "rnn_relu", "lstm", "gru"] as const) {
    it(`${kind}, with an input tangent`, () => checkCell(kind, true));
    it(`${kind}, without one (a first layer)`, () => checkCell(kind, false));
  }
  for (const [name, variant] of [
    ["a projection", { projSize: 2 }], ["peepholes", { peephole: true }], ["a projection and peepholes", { projSize: 3, peephole: true }],
  ] as const) {
    it(`lstm with ${name}, with an input tangent`, () => checkCell("lstm", true, variant));
    it(`lstm with ${name}, without one`, () => checkCell("lstm", false, variant));
  }
  it("a chunk of packed rows is refused (its saved rows are not at t·B + b)", () => {
    for (const kind of ["rnn_tanh", "lstm", "gru"] as const) {
      const cell = createCell(kind, { inputSize: I, hiddenSize: H });
      const batchSizes = Int32Array.of(3, 1);
      const cache = cell.forward({ x: new Float32Array(4 * I), T, B, batchSizes });
      const step = { h: new Float32Array(B * H), c: null, x: null, hOut: new Float32Array(B * H), cOut: null };
      if (cell.stateSizes.c > 0) Object.assign(step, { c: new Float32Array(B * H), cOut: new Float32Array(B * H) });
      assert.throws(() => cell.tangent(cache, 1, step), /tangent: the chunk holds packed rows/);
    }
  });
});
