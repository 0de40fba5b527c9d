/**
 * The unshared (one weight set per step) recurrent layer: finite-difference checks of its backward in
 * float64 for every cell kind and both alignments, and its refusal of sequences longer than its weights.
 * L = Σ dOut⊙output + Σ wh⊙hN (+ Σ wc⊙cN), so backward(dOutput = dOut, dhN = wh, dcN = wc) is its gradient.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CellKind } from "../../src/cells/cell.js";
import { UnsharedRecurrent } from "../../src/experiments/unshared-recurrent.js";
import { Rng } from "../../src/tensor/rng.js";
import { assertClose, fillRandom, numericDerivative, probeIndices } from "../helpers/check.js";
import { f64, inFloat64 } from "../helpers/float64.js";

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function check(kind: CellKind, steps: number, T: number, firstCell: number): void {
  inFloat64(() => {
    const B = 2;
    const I = 3;
    const H = 4;
    const rng = new Rng(11);
    const layer = new UnsharedRecurrent({ kind, inputSize: I, hiddenSize: H, steps, seed: 3 });
    for (const p of layer.parameters()) fillRandom(p.value, rng, 0.6);
    const x = fillRandom(f64(T * B * I), rng);
    const dOut = fillRandom(f64(T * B * H), rng);
    const wh = fillRandom(f64(B * H), rng);
    const wc = fillRandom(f64(B * H), rng);
    const loss = (): number => {
      const c = layer.forward(x, T, B, firstCell);
      return dot(dOut, c.output) + dot(wh, c.hN) + (c.cN ? dot(wc, c.cN) : 0);
    };
    for (const p of layer.parameters()) p.zeroGrad();
    const cache = layer.forward(x, T, B, firstCell);
    const { dx } = layer.backward(cache, dOut, wh, kind === "lstm" ? wc : null);
    const probe = new Rng(5);
    const numericDx = probeIndices(x.length, probe).map((i) => [i, numericDerivative(x, i, loss)] as const);
    assertClose(numericDx.map(([i]) => dx[i]!), numericDx.map(([, v]) => v), `${kind} dx`, 1e-5, 1e-7);
    layer.cells.forEach((cell, s) => {
      const used = s >= firstCell && s < firstCell + T;
      for (const p of cell.params.list()) {
        const indices = probeIndices(p.size, probe, 8);
        const numeric = indices.map((i) => numericDerivative(p.value, i, loss));
        assertClose(indices.map((i) => p.grad[i]!), numeric, `${kind} step ${s} ${p.name}`, 1e-5, 1e-7);
        if (!used) assert.ok(p.grad.every((g) => g === 0), `step ${s} is not used but has a gradient`);
      }
    });
  });
}

describe("UnsharedRecurrent", () => {
  for (const kind of ["rnn_tanh", "gru", "lstm"] as const) {
    it(`${kind}: backward matches central differences (all weight sets)`, () => check(kind, 4, 4, 0));
    it(`${kind}: backward matches central differences on a shorter sequence (first and last weight sets)`, () => {
      check(kind, 5, 3, 0);
      check(kind, 5, 3, 2);
    });
  }

  it("has one weight set per step and refuses a sequence longer than its weights", () => {
    const layer = new UnsharedRecurrent({ kind: "gru", inputSize: 3, hiddenSize: 4, steps: 5, seed: 1 });
    assert.equal(layer.parameters().length, 5 * 4);
    assert.equal(layer.parameters().reduce((n, p) => n + p.size, 0), 5 * (3 * 4 * (3 + 4) + 2 * 3 * 4));
    assert.throws(() => layer.forward(new Float32Array(6 * 2 * 3), 6, 2), (e: Error) => e instanceof RangeError && /weights for positions 0 … 4 only/.test(e.message));
    assert.throws(() => layer.forward(new Float32Array(3 * 2 * 3), 3, 2, 3), RangeError);
  });
});
