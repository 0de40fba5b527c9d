/**
 * The recurrent layers on a fast backend (wasm-simd, native), run by recurrent-on-wasm.test.ts and
 * test/native/recurrent-on-native.test.ts:
 * 1. PyTorch parity: every case of test/fixtures/recurrent.json (RNN tanh/relu, LSTM, GRU; single,
 *    stacked bidirectional, packed, no bias; the LSTM with a projection and peepholes) run on the backend and compared with the fixture at the
 *    float32 tolerances of test/layers/pytorch-parity.test.ts (rtol 1e-4, atol 1e-5).
 * 2. the backend against the reference, both float32, on stacks with H = 35 (not a multiple of 4),
 *    2 layers, bidirectional, ragged masks: outputs, final states, every parameter gradient, dx, dh0
 *    and dc0 agree to rtol 1e-5 plus atol 1e-5 × the tensor's largest magnitude (values that cancel
 *    to near 0 get the tensor's scale, not their own). Every cell, and the LSTM with a projection, with
 *    peepholes and with both.
 * 3. Finite differences of the the backend forward pass agree with its backward pass (float32 check).
 * 4. The same run twice on the backend gives bit-identical results.
 * 5. A layer created on one backend keeps working after a switch to the other (its arrays are then
 *    outside the new backend's memory and are copied around each call).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CellKind } from "../../src/cells/cell.js";
import { type Kernels, referenceKernels } from "../../src/kernels/index.js";
import { GRU, LSTM, RNN, type Recurrent } from "../../src/layers/recurrent.js";
import { loadStateDict } from "../../src/tensor/parameter.js";
import { Rng } from "../../src/tensor/rng.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { assertClose } from "../helpers/check.js";
import { checkGradient, dot } from "../helpers/gradcheck.js";
import { assertBitIdentical } from "./conformance.js";
import { onBackend } from "../helpers/backend.js";
import {
  type FixtureCase, type FixtureTensor, fixtureLayerOptions, loadRecurrentFixture,
} from "../helpers/recurrent-fixture.js";


interface LayerOptions {
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  bias: boolean;
  projSize?: number;
  peephole?: boolean;
}

function build(mode: CellKind, options: LayerOptions): Recurrent {
  const o = { ...options, seed: 7 };
  switch (mode) {
    case "rnn_tanh": return new RNN({ ...o, nonlinearity: "tanh" });
    case "rnn_relu": return new RNN({ ...o, nonlinearity: "relu" });
    case "lstm": return new LSTM(o);
    case "gru": return new GRU(o);
  }
}

/** Everything a forward + backward pass produces, by name. */
type Results = Map<string, Float32Array>;

interface Problem {
  mode: CellKind;
  options: LayerOptions;
  T: number;
  B: number;
  weights: Map<string, Tensor>;
  x: number[];
  h0: number[];
  c0: number[] | null;
  mask: number[] | null;
  dOut: number[];
  dhN: number[];
  dcN: number[] | null;
}

/**
 * Builds the layer on backend `k` (or on `created`), loads the weights, runs forward and backward on
 * `k`; copies the results out.
 */
function runOn(k: Kernels, p: Problem, created: Kernels = k): Results {
  const layer = onBackend(created, () => build(p.mode, p.options));
  return onBackend(k, () => {
    loadStateDict(layer, p.weights);
    for (const param of layer.parameters()) param.zeroGrad();
    const D = p.options.bidirectional ? 2 : 1;
    const L = p.options.numLayers;
    const H = p.options.projSize || p.options.hiddenSize;
    const tensor = (values: number[] | null, shape: number[]): Tensor | null => {
      if (values === null) return null;
      const data = k.allocate(values.length);
      data.set(values);
      return new Tensor(data, shape);
    };
    const state = [L * D, p.B, H];
    const cellState = [L * D, p.B, p.options.hiddenSize];
    const { output, hN, cN, cache } = layer.forward(tensor(p.x, [p.T, p.B, p.options.inputSize])!, {
      h0: tensor(p.h0, state), c0: tensor(p.c0, cellState), mask: tensor(p.mask, [p.T, p.B]),
    });
    const results: Results = new Map();
    results.set("output", output.data.slice());
    results.set("hN", hN.data.slice());
    if (cN) results.set("cN", cN.data.slice());
    const grads = layer.backward(cache, {
      dOutput: tensor(p.dOut, [p.T, p.B, D * H]), dhN: tensor(p.dhN, state), dcN: tensor(p.dcN, cellState),
    });
    for (const param of layer.parameters()) results.set(`grad ${param.name}`, param.grad.slice());
    results.set("dx", grads.dx.data.slice());
    results.set("dh0", grads.dh0.data.slice());
    if (grads.dc0) results.set("dc0", grads.dc0.data.slice());
    return results;
  });
}

function randomProblem(cell: TestCell, rng: Rng): Problem {
  const { mode, projSize, peephole } = cell;
  const options = { inputSize: 10, hiddenSize: 35, numLayers: 2, bidirectional: true, bias: true, projSize, peephole };
  const T = 9;
  const B = 6;
  const H = options.hiddenSize;
  const R = projSize || H;
  const weights = new Map<string, Tensor>();
  onBackend(referenceKernels, () => {
    for (const param of build(mode, options).parameters()) {
      weights.set(param.name, new Tensor(Float32Array.from(param.value, () => rng.uniform(-0.4, 0.4)), param.shape));
    }
  });
  const uniform = (n: number): number[] => Array.from({ length: n }, () => Math.fround(rng.uniform(-1, 1)));
  const lengths = [T, 1, 4, T - 1, 6, 2];
  const mask = Array.from({ length: T * B }, (_, i) => (Math.floor(i / B) < lengths[i % B]! ? 1 : 0));
  const state = 2 * 2 * B * R;
  const cellState = 2 * 2 * B * H;
  const lstm = mode === "lstm";
  return {
    mode, options, T, B, weights, mask,
    x: uniform(T * B * options.inputSize), h0: uniform(state), c0: lstm ? uniform(cellState) : null,
    dOut: uniform(T * B * 2 * R), dhN: uniform(state), dcN: lstm ? uniform(cellState) : null,
  };
}

const fixture = loadRecurrentFixture();

function fixtureProblem(c: FixtureCase): Problem {
  const weights = new Map<string, Tensor>();
  for (const [name, t] of Object.entries(c.stateDict)) weights.set(name, new Tensor(Float32Array.from(t.data), t.shape));
  const o = c.options;
  return {
    mode: o.mode, T: o.T, B: o.B, weights,
    options: fixtureLayerOptions(c),
    x: c.x.data, h0: c.h0.data, c0: c.c0?.data ?? null, mask: c.mask?.data ?? null,
    dOut: c.gOut.data, dhN: c.gH.data, dcN: c.gC?.data ?? null,
  };
}

/** |a − b| ≤ rtol·|b| + atol·max|b| elementwise; returns the worst ratio to the allowance. */
function assertScaledClose(a: Float32Array, b: Float32Array, what: string, rtol: number, atol: number): number {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const ratio = Math.abs(a[i]! - b[i]!) / (rtol * Math.abs(b[i]!) + atol * scale + 1e-30);
    if (!(ratio <= 1)) assert.fail(`${what}: element ${i} is ${a[i]}, reference ${b[i]} (scale ${scale})`);
    worst = Math.max(worst, ratio);
  }
  return worst;
}

const MODES: CellKind[] = ["rnn_tanh", "rnn_relu", "lstm", "gru"];

/** A cell under test: a kind, and for the LSTM its variants. */
interface TestCell {
  name: string;
  mode: CellKind;
  projSize?: number;
  peephole?: boolean;
}

const CELLS: TestCell[] = [
  ...MODES.map((mode) => ({ name: mode, mode })),
  { name: "lstm (projection)", mode: "lstm", projSize: 13 },
  { name: "lstm (peepholes)", mode: "lstm", peephole: true },
  { name: "lstm (projection, peepholes)", mode: "lstm", projSize: 3, peephole: true },
];

/**
 * Float32 central differences: the loss's own rounding noise (~1e-7 relative, divided by 2·eps)
 * dominates at eps 1e-3, and the fast backends' activations round a little more than the reference's, so
 * eps 1e-2 (truncation error O(eps²) ≈ 1e-4 relative) with rtol 1e-2, atol 1e-4 — except for the
 * ReLU RNN, whose kinks a step of 1e-2 crosses: 1e-3 there.
 */
const fd = (mode: CellKind) => ({ eps: mode === "rnn_relu" ? 1e-3 : 1e-2, rtol: 1e-2, atol: 1e-4, samples: 16 });

export function recurrentSuite(backend: Kernels): void {
describe(`recurrent layers on ${backend.name}`, () => {
  describe("PyTorch parity (fixture, float32 tolerances)", () => {
    for (const c of fixture.cases) {
      it(c.name, () => {
        const got = runOn(backend, fixtureProblem(c));
        const expected: [string, FixtureTensor | null][] = [
          ["output", c.output], ["hN", c.hN], ["cN", c.cN], ["dx", c.dx], ["dh0", c.dh0], ["dc0", c.dc0],
          ...Object.entries(c.grads).map(([name, t]): [string, FixtureTensor] => [`grad ${name}`, t]),
        ];
        for (const [name, t] of expected) {
          if (t === null) continue;
          assertClose(got.get(name)!, t.data, `${c.name} ${name}`, 1e-4, 1e-5);
        }
      });
    }
  });

  for (const cell of CELLS) {
    const mode = cell.name;
    it(`${mode}: ${backend.name} equals the reference (2 layers, bidirectional, H = 35, ragged mask)`, (t) => {
      const problem = randomProblem(cell, new Rng(51));
      const fast = runOn(backend, problem);
      const ref = runOn(referenceKernels, problem);
      assert.deepEqual([...fast.keys()], [...ref.keys()]);
      let worst = 0;
      for (const [name, values] of ref) worst = Math.max(worst, assertScaledClose(fast.get(name)!, values, `${mode} ${name}`, 1e-5, 1e-5));
      t.diagnostic(`worst |backend − reference| / (1e-5·|ref| + 1e-5·max|ref|): ${worst.toFixed(3)}`);
    });
  }

  for (const { name, mode, projSize, peephole } of CELLS) {
    it(`${name}: finite differences of the ${backend.name} forward agree with its backward`, () => {
      onBackend(backend, () => {
        const rng = new Rng(52);
        // H = 5: a projection of 3.
        const options = { inputSize: 3, hiddenSize: 5, numLayers: 2, bidirectional: true, bias: true, peephole };
        const layer = build(mode, { ...options, projSize: projSize ? 3 : 0 });
        const T = 4;
        const B = 2;
        const F = 2 * layer.stateSizes.h;
        const x = new Tensor(backend.allocate(T * B * 3).map(() => rng.uniform(-1, 1)), [T, B, 3]);
        const g = new Float32Array(T * B * F).map(() => rng.uniform(-1, 1));
        const loss = (): number => dot(layer.forward(x).output.data, g);
        const { cache } = layer.forward(x);
        for (const param of layer.parameters()) param.zeroGrad();
        const dOutput = new Tensor(backend.allocate(g.length), [T, B, F]);
        dOutput.data.set(g);
        const { dx } = layer.backward(cache, { dOutput });
        const dxCopy = dx.data.slice();
        for (const param of layer.parameters()) {
          checkGradient({ f: loss, param: param.value, analytic: param.grad.slice(), name: `${mode} ${param.name}`, ...fd(mode) });
        }
        checkGradient({ f: loss, param: x.data, analytic: dxCopy, name: `${mode} x`, ...fd(mode) });
      });
    });
  }

  it("a layer created on one backend runs on the other after a switch", () => {
    for (const cell of CELLS) {
      const mode = cell.name;
      const problem = randomProblem(cell, new Rng(54));
      const fast = runOn(backend, problem);
      const ref = runOn(referenceKernels, problem);
      const fastOnReferenceArrays = runOn(backend, problem, referenceKernels);
      const referenceOnFastArrays = runOn(referenceKernels, problem, backend);
      for (const [name, values] of fast) assertBitIdentical(fastOnReferenceArrays.get(name)!, values, `${mode} ${name} (${backend.name} on reference arrays)`);
      for (const [name, values] of ref) assertBitIdentical(referenceOnFastArrays.get(name)!, values, `${mode} ${name} (reference on ${backend.name} arrays)`);
    }
  });

  it("bit-identical from run to run", () => {
    for (const cell of CELLS) {
      const mode = cell.name;
      const problem = randomProblem(cell, new Rng(53));
      const first = runOn(backend, problem);
      const again = runOn(backend, problem);
      for (const [name, values] of first) assertBitIdentical(again.get(name)!, values, `${mode} ${name}`);
    }
  });
});
}
