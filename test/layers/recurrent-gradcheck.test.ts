/**
 * Finite-difference gradient checks of every cell through the stacked/bidirectional layer, in
 * float64: the loss L = Σ dOut⊙output + Σ wh⊙hN + Σ wc⊙cN with random weights dOut, wh, wc, so its
 * gradient is exactly what backward computes from (dOutput = dOut, dhN = wh, dcN = wc). The LSTM's
 * variants too: a projection (h of P < H values), peepholes, and both.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CellKind } from "../../src/cells/cell.js";
import { Recurrent, type RecurrentForwardOptions } from "../../src/layers/recurrent.js";
import { Rng } from "../../src/tensor/rng.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { assertClose, fillRandom, numericDerivative, probeIndices } from "../helpers/check.js";
import { f64, inFloat64 } from "../helpers/float64.js";

interface Case {
  mode: CellKind;
  T: number;
  B: number;
  I: number;
  H: number;
  numLayers: number;
  bidirectional: boolean;
  masked: boolean;
  dropout?: number;
  bias?: boolean;
  /** LSTM variants. */
  projSize?: number;
  peephole?: boolean;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Lengths 1…T per sequence (right-padded), as a (T, B) 0/1 mask. */
function randomMask(T: number, B: number, rng: Rng): Tensor {
  const m = f64(T * B);
  for (let b = 0; b < B; b++) {
    const length = b === 0 ? T : 1 + rng.int(T);
    for (let t = 0; t < length; t++) m[t * B + b] = 1;
  }
  return new Tensor(m, [T, B]);
}

function checkCase(c: Case, seed: number): void {
  inFloat64(() => {
    const rng = new Rng(seed);
    const layer = new Recurrent(c.mode, {
      inputSize: c.I, hiddenSize: c.H, numLayers: c.numLayers, bidirectional: c.bidirectional,
      dropout: c.dropout ?? 0, bias: c.bias ?? true, seed, projSize: c.projSize ?? 0, peephole: c.peephole ?? false,
    });
    // Larger weights than the default make every term of the gradient matter.
    for (const p of layer.parameters()) fillRandom(p.value, rng, 0.6);
    const D = c.bidirectional ? 2 : 1;
    const R = c.projSize || c.H;
    const S = c.numLayers * D * c.B * R;
    const SC = c.numLayers * D * c.B * c.H;
    const x = new Tensor(fillRandom(f64(c.T * c.B * c.I), rng), [c.T, c.B, c.I]);
    const h0 = new Tensor(fillRandom(f64(S), rng, 0.5), [c.numLayers * D, c.B, R]);
    const c0 = c.mode === "lstm" ? new Tensor(fillRandom(f64(SC), rng, 0.5), [c.numLayers * D, c.B, c.H]) : null;
    const mask = c.masked ? randomMask(c.T, c.B, rng) : null;
    const dOut = fillRandom(f64(c.T * c.B * D * R), rng);
    const wh = fillRandom(f64(S), rng);
    const wc = fillRandom(f64(SC), rng);
    const training = (c.dropout ?? 0) > 0;
    const dropoutState = layer.rng.getState();
    const options: RecurrentForwardOptions = { h0, c0, mask, training };

    const loss = (): number => {
      layer.rng.setState(dropoutState); // the same dropout mask on every evaluation
      const { output, hN, cN } = layer.forward(x, options);
      return dot(dOut, output.data) + dot(wh, hN.data) + (cN ? dot(wc, cN.data) : 0);
    };

    for (const p of layer.parameters()) p.zeroGrad();
    layer.rng.setState(dropoutState);
    const { cache } = layer.forward(x, options);
    const grads = layer.backward(cache, {
      dOutput: new Tensor(dOut, [c.T, c.B, D * R]),
      dhN: new Tensor(wh, h0.shape),
      dcN: c0 ? new Tensor(wc, c0.shape) : null,
    });

    const targets: Array<[string, Float32Array, Float32Array]> = [
      ...layer.parameters().map((p): [string, Float32Array, Float32Array] => [p.name, p.value, p.grad]),
      ["x", x.data, grads.dx.data],
      ["h0", h0.data, grads.dh0.data],
    ];
    if (c0 && grads.dc0) targets.push(["c0", c0.data, grads.dc0.data]);
    let nonzero = 0;
    let compared = 0;
    for (const [name, values, analytic] of targets) {
      const idx = probeIndices(values.length, rng, 20);
      const numeric = idx.map((i) => numericDerivative(values, i, loss));
      const picked = idx.map((i) => analytic[i]!);
      assertClose(picked, numeric, `${describeCase(c)} d${name}`, 1e-5, 1e-7);
      nonzero += picked.filter((v) => Math.abs(v) > 1e-6).length;
      compared += picked.length;
    }
    assert.ok(nonzero >= compared / 3, `${describeCase(c)}: only ${nonzero} of ${compared} compared gradients are non-zero`);
  });
}

function describeCase(c: Case): string {
  const variants = `${c.projSize ? ` P=${c.projSize}` : ""}${c.peephole ? " peephole" : ""}`;
  return `${c.mode}${variants} T=${c.T} B=${c.B} I=${c.I} H=${c.H} L=${c.numLayers}${c.bidirectional ? " bi" : ""}` +
    `${c.masked ? " masked" : ""}${c.dropout ? ` dropout=${c.dropout}` : ""}`;
}

const modes: CellKind[] = ["rnn_tanh", "rnn_relu", "lstm", "gru"];

describe("recurrent layers: finite-difference gradients (float64)", () => {
  for (const mode of modes) {
    it(`${mode}: one layer, several shapes`, () => {
      checkCase({ mode, T: 1, B: 1, I: 1, H: 1, numLayers: 1, bidirectional: false, masked: false }, 1);
      checkCase({ mode, T: 4, B: 3, I: 5, H: 4, numLayers: 1, bidirectional: false, masked: false }, 2);
      checkCase({ mode, T: 6, B: 2, I: 3, H: 7, numLayers: 1, bidirectional: false, masked: false, bias: false }, 3);
    });
    it(`${mode}: variable lengths with a mask`, () => {
      checkCase({ mode, T: 5, B: 4, I: 3, H: 4, numLayers: 1, bidirectional: false, masked: true }, 4);
    });
    it(`${mode}: stacked and bidirectional, masked`, () => {
      checkCase({ mode, T: 4, B: 3, I: 3, H: 3, numLayers: 2, bidirectional: true, masked: true }, 5);
      checkCase({ mode, T: 3, B: 2, I: 2, H: 4, numLayers: 3, bidirectional: false, masked: false }, 6);
    });
    it(`${mode}: dropout between layers`, () => {
      checkCase({ mode, T: 3, B: 2, I: 3, H: 4, numLayers: 2, bidirectional: true, masked: false, dropout: 0.4 }, 7);
    });
  }
});

/** The LSTM with a projection (P < H), with peepholes, and with both (Sak et al. 2014's LSTMP had peepholes too). */
const LSTM_VARIANTS: Array<{ name: string; projSize?: number; peephole?: boolean }> = [
  { name: "projection", projSize: 2 },
  { name: "peepholes", peephole: true },
  { name: "projection and peepholes", projSize: 3, peephole: true },
];

describe("LSTM variants: finite-difference gradients (float64)", () => {
  for (const v of LSTM_VARIANTS) {
    const lstm = { mode: "lstm" as const, projSize: v.projSize ?? 0, peephole: v.peephole ?? false };
    const one = { ...lstm, numLayers: 1, bidirectional: false };
    it(`${v.name}: one layer, several shapes`, () => {
      checkCase({ ...one, T: 1, B: 1, I: 1, H: 2, masked: false, projSize: Math.min(lstm.projSize, 1) }, 11);
      checkCase({ ...one, T: 4, B: 3, I: 5, H: 4, masked: false }, 12);
      checkCase({ ...one, T: 6, B: 2, I: 3, H: 7, masked: false, bias: false }, 13);
    });
    it(`${v.name}: variable lengths with a mask`, () => {
      checkCase({ ...one, T: 5, B: 4, I: 3, H: 4, masked: true }, 14);
    });
    it(`${v.name}: stacked and bidirectional, masked`, () => {
      checkCase({ ...lstm, T: 4, B: 3, I: 3, H: 4, numLayers: 2, bidirectional: true, masked: true }, 15);
      checkCase({ ...lstm, T: 3, B: 2, I: 2, H: 5, numLayers: 3, bidirectional: false, masked: false }, 16);
    });
    it(`${v.name}: dropout between layers`, () => {
      checkCase({ ...lstm, T: 3, B: 2, I: 3, H: 4, numLayers: 2, bidirectional: true, masked: false, dropout: 0.4 }, 17);
    });
  }
});
