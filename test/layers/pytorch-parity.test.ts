/**
 * Parity with PyTorch: test/fixtures/recurrent.json (written by test/fixtures/make_fixtures.py with
 * torch 1.13 in float64) holds nn.RNN (tanh, relu), nn.LSTM and nn.GRU models, the LSTM with a
 * projection (nn.LSTM's proj_size) and with peepholes (PeepholeLSTM in scripts/peephole_lstm.py,
 * autograd on the documented equations), their inputs, outputs and the gradients of
 * loss = Σ output·gOut + Σ h_n·gH (+ Σ c_n·gC). Each case is rebuilt here with
 * the same options, the PyTorch state_dict is loaded unchanged with `loadStateDict` (so names,
 * shapes, layouts and gate orders must match), and forward + backward are compared:
 *   float64 backend: rtol 1e-9, atol 1e-11 (the fixture's results are rounded to 10 significant digits;
 *                    its inputs are exact);
 *   float32 backend: rtol 1e-4, atol 1e-5.
 * Packed cases (pack_padded_sequence, enforce_sorted=False) run here with the equivalent (T, B) mask.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Recurrent } from "../../src/layers/recurrent.js";
import { loadStateDict, stateDict } from "../../src/tensor/parameter.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { assertClose } from "../helpers/check.js";
import {
  type FixtureCase, type FixtureTensor, fixtureLayerOptions, loadRecurrentFixture,
} from "../helpers/recurrent-fixture.js";
import { f64, inFloat64 } from "../helpers/float64.js";

const fixture = loadRecurrentFixture();

interface Precision {
  label: string;
  rtol: number;
  atol: number;
  run<T>(body: () => T): T;
  array(values: number[]): Float32Array;
}

const FLOAT64: Precision = { label: "float64", rtol: 1e-9, atol: 1e-11, run: inFloat64, array: (v) => f64(v) };
const FLOAT32: Precision = { label: "float32", rtol: 1e-4, atol: 1e-5, run: (body) => body(), array: (v) => Float32Array.from(v) };

function buildLayer(c: FixtureCase): Recurrent {
  return new Recurrent(c.options.mode, fixtureLayerOptions(c));
}

/** Loads the fixture's weights; `perturb` adds to one element of one parameter (for the negative control). */
function loadWeights(layer: Recurrent, c: FixtureCase, p: Precision, perturb?: { name: string; index: number; delta: number }): void {
  const values = new Map<string, Tensor>();
  for (const [name, t] of Object.entries(c.stateDict)) {
    const data = p.array(t.data);
    if (perturb && perturb.name === name) data[perturb.index]! += perturb.delta;
    values.set(name, new Tensor(data, t.shape));
  }
  loadStateDict(layer, values);
}

function tensorOf(t: FixtureTensor | null, p: Precision): Tensor | null {
  return t ? new Tensor(p.array(t.data), t.shape) : null;
}

/** Forward + backward of one fixture case; throws (via assertClose) on the first mismatch. */
function checkCase(c: FixtureCase, p: Precision, perturb?: { name: string; index: number; delta: number }): void {
  p.run(() => {
    const layer = buildLayer(c);
    // Same names in the same (state_dict) order, before anything is loaded.
    assert.deepEqual([...stateDict(layer).keys()], Object.keys(c.stateDict), `${c.name}: parameter names/order`);
    loadWeights(layer, c, p, perturb);
    for (const param of layer.parameters()) param.zeroGrad();

    const x = tensorOf(c.x, p)!;
    const h0 = tensorOf(c.h0, p)!;
    const c0 = tensorOf(c.c0, p);
    const mask = tensorOf(c.mask, p);
    const { output, hN, cN, cache } = layer.forward(x, { h0, c0, mask });
    const what = (name: string): string => `${c.name} [${p.label}] ${name}`;
    assert.deepEqual(output.shape, c.output.shape, what("output shape"));
    assertClose(output.data, c.output.data, what("output"), p.rtol, p.atol);
    assertClose(hN.data, c.hN.data, what("h_n"), p.rtol, p.atol);
    if (c.cN) assertClose(cN!.data, c.cN.data, what("c_n"), p.rtol, p.atol);
    else assert.equal(cN, null, what("c_n is null"));

    const grads = layer.backward(cache, {
      dOutput: tensorOf(c.gOut, p),
      dhN: tensorOf(c.gH, p),
      dcN: tensorOf(c.gC, p),
    });
    for (const param of layer.parameters()) {
      const expected = c.grads[param.name];
      assert.ok(expected, what(`gradient of ${param.name} in the fixture`));
      assertClose(param.grad, expected.data, what(`grad ${param.name}`), p.rtol, p.atol);
    }
    assertClose(grads.dx.data, c.dx.data, what("dx"), p.rtol, p.atol);
    assertClose(grads.dh0.data, c.dh0.data, what("dh0"), p.rtol, p.atol);
    if (c.dc0) assertClose(grads.dc0!.data, c.dc0.data, what("dc0"), p.rtol, p.atol);
    else assert.equal(grads.dc0, null, what("dc0 is null"));
  });
}

describe(`PyTorch parity (fixture from torch ${fixture.torch}, ${fixture.dtype})`, () => {
  it("the fixture covers every mode and case kind, and the LSTM's variants", () => {
    assert.equal(fixture.cases.length, 27);
    for (const mode of ["rnn_tanh", "rnn_relu", "lstm", "gru"]) {
      for (const kind of ["single", "stacked_bi", "packed", "packed_uni", "nobias"]) {
        assert.ok(fixture.cases.some((c) => c.name === `${mode}_${kind}`), `${mode}_${kind} missing`);
      }
    }
    const variants = [
      "proj_single", "proj_stacked_bi", "proj_packed", "peephole_single", "peephole_stacked_bi", "peephole_packed",
      "peephole_proj_packed",
    ];
    for (const kind of variants) assert.ok(fixture.cases.some((c) => c.name === `lstm_${kind}`), `lstm_${kind} missing`);
    const proj = fixture.cases.find((c) => c.name === "lstm_proj_stacked_bi")!;
    assert.deepEqual(proj.stateDict["weight_hr_l1_reverse"]!.shape, [2, 4], "PyTorch's weight_hr: (P, H)");
    assert.deepEqual(proj.hN.shape, [4, 2, 2], "PyTorch's h_n: (L·D, B, P)");
    assert.deepEqual(proj.cN!.shape, [4, 2, 4], "PyTorch's c_n: (L·D, B, H)");
  });

  for (const c of fixture.cases) {
    const o = c.options;
    const variants = `${o.projSize ? ` P=${o.projSize}` : ""}${o.peephole ? " peephole" : ""}`;
    const label = `${c.name}: L=${o.numLayers}${o.bidirectional ? " bi" : ""}${o.bias ? "" : " no bias"}${variants}` +
      `${o.lengths ? ` lengths [${o.lengths.join(", ")}] of T=${o.T}` : ""}`;
    it(`${label} (float64)`, () => checkCase(c, FLOAT64));
    it(`${label} (float32)`, () => checkCase(c, FLOAT32));
  }

  it("negative control: a perturbed weight (1e-6 on one element) is caught", () => {
    for (const name of ["lstm_packed", "gru_stacked_bi", "lstm_proj_packed", "lstm_peephole_packed"]) {
      const c = fixture.cases.find((k) => k.name === name)!;
      const extra = c.options.projSize ? "weight_hr_l0_reverse" : c.options.peephole ? "weight_peephole_l1" : "bias_ih_l1";
      for (const param of ["weight_hh_l0_reverse", extra]) {
        assert.throws(
          () => checkCase(c, FLOAT64, { name: param, index: 2, delta: 1e-6 }),
          (e: unknown) => e instanceof assert.AssertionError,
          `${name}: perturbing ${param} went unnoticed`,
        );
      }
    }
  });
});
