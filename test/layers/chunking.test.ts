/**
 * Chunked back-propagation is exact: running a sequence as two chunks, carrying the state (hN, cN)
 * forward and the state gradient (dh0, dc0 of the later chunk as dhN, dcN of the earlier one) back,
 * gives the same outputs, parameter gradients and dx as one pass over the concatenated sequence.
 * And truncation: backward with firstStep = k equals the gradient of a run split at k whose state
 * entering step k is a constant.
 *
 * Float64 (reference kernels on Float64Array): rtol 1e-12 — only the summation order of the weight
 * gradients differs. Float32: rtol 1e-4, atol 1e-5.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CellKind } from "../../src/cells/cell.js";
import { Recurrent, type RecurrentOptions } from "../../src/layers/recurrent.js";
import { Rng } from "../../src/tensor/rng.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { assertClose, fillRandom } from "../helpers/check.js";
import { f64, inFloat64 } from "../helpers/float64.js";
import type { LayerRunResult } from "../helpers/layer-run.js";

interface Precision {
  label: string;
  rtol: number;
  atol: number;
  run<T>(body: () => T): T;
  zeros(n: number): Float32Array;
}

const FLOAT64: Precision = { label: "float64", rtol: 1e-12, atol: 1e-14, run: inFloat64, zeros: (n) => f64(n) };
const FLOAT32: Precision = { label: "float32", rtol: 1e-4, atol: 1e-5, run: (body) => body(), zeros: (n) => new Float32Array(n) };

const modes: CellKind[] = ["rnn_tanh", "rnn_relu", "lstm", "gru"];

interface Problem {
  layer: Recurrent;
  T: number;
  B: number;
  I: number;
  H: number;
  S: number; // L·B·H, the size of a state
  x: Float32Array;
  h0: Float32Array;
  c0: Float32Array | null;
  mask: Float32Array | null;
  dOut: Float32Array;
  dhN: Float32Array;
  dcN: Float32Array | null;
}

/**
 * A 2-layer unidirectional layer with random weights, inputs and loss weights. The mask (when asked
 * for) has sequences ending inside the first chunk, exactly at its end, inside the second, and not at all.
 */
function makeProblem(mode: CellKind, T: number, T1: number, masked: boolean, p: Precision, seed: number): Problem {
  const rng = new Rng(seed);
  const B = 4, I = 3, H = 4, L = 2;
  const options: RecurrentOptions = { inputSize: I, hiddenSize: H, numLayers: L, seed };
  const layer = new Recurrent(mode, options);
  for (const param of layer.parameters()) fillRandom(param.value, rng, 0.6);
  const S = L * B * H;
  const x = fillRandom(p.zeros(T * B * I), rng);
  const h0 = fillRandom(p.zeros(S), rng, 0.5);
  const c0 = mode === "lstm" ? fillRandom(p.zeros(S), rng, 0.5) : null;
  let mask: Float32Array | null = null;
  if (masked) {
    mask = p.zeros(T * B);
    const lengths = [Math.max(1, T1 - 2), T1, T1 + 1, T];
    for (let b = 0; b < B; b++) for (let t = 0; t < lengths[b]!; t++) mask[t * B + b] = 1;
  }
  const dOut = fillRandom(p.zeros(T * B * H), rng);
  const dhN = fillRandom(p.zeros(S), rng);
  const dcN = mode === "lstm" ? fillRandom(p.zeros(S), rng) : null;
  return { layer, T, B, I, H, S, x, h0, c0, mask, dOut, dhN, dcN };
}

/** Rows [t0, t1) of a time-major (T, B, …) array, as a copy. */
function steps(a: Float32Array, t0: number, t1: number, rowSize: number): Float32Array {
  return a.slice(t0 * rowSize, t1 * rowSize);
}

function concat(p: Precision, ...parts: Float32Array[]): Float32Array {
  const out = p.zeros(parts.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of parts) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

function zeroGrads(layer: Recurrent): void {
  for (const param of layer.parameters()) param.zeroGrad();
}

function gradsOf(layer: Recurrent): Float32Array[] {
  return layer.parameters().map((param) => param.grad.slice());
}

function stateShape(q: Problem): number[] {
  return [q.layer.numLayers, q.B, q.H];
}

/** One forward and backward over all T steps. */
function runWhole(q: Problem, firstStep = 0): LayerRunResult {
  const { layer, T, B, I, H } = q;
  zeroGrads(layer);
  const fwd = layer.forward(new Tensor(q.x, [T, B, I]), {
    h0: new Tensor(q.h0, stateShape(q)),
    c0: q.c0 ? new Tensor(q.c0, stateShape(q)) : null,
    mask: q.mask ? new Tensor(q.mask, [T, B]) : null,
  });
  const output = fwd.output.data.slice();
  const hN = fwd.hN.data.slice();
  const cN = fwd.cN ? fwd.cN.data.slice() : null;
  const g = layer.backward(fwd.cache, {
    dOutput: new Tensor(q.dOut, [T, B, H]),
    dhN: new Tensor(q.dhN, stateShape(q)),
    dcN: q.dcN ? new Tensor(q.dcN, stateShape(q)) : null,
    firstStep,
  });
  return {
    output, hN, cN, grads: gradsOf(layer),
    dx: g.dx.data.slice(), dh0: g.dh0.data.slice(), dc0: g.dc0 ? g.dc0.data.slice() : null,
  };
}

/**
 * Steps [0, T1) then [T1, T) as two chunks with the state carried. With `backThroughFirst` false the
 * first chunk is not back-propagated (its output is a constant to the second): truncation at T1.
 */
function runChunked(q: Problem, T1: number, p: Precision, backThroughFirst: boolean): LayerRunResult {
  const { layer, T, B, I, H } = q;
  const T2 = T - T1;
  const shape = stateShape(q);
  const chunk = (t0: number, t1: number, h0: Float32Array, c0: Float32Array | null) =>
    layer.forward(new Tensor(steps(q.x, t0, t1, B * I), [t1 - t0, B, I]), {
      h0: new Tensor(h0, shape),
      c0: c0 ? new Tensor(c0, shape) : null,
      mask: q.mask ? new Tensor(steps(q.mask, t0, t1, B), [t1 - t0, B]) : null,
    });
  zeroGrads(layer);
  const first = chunk(0, T1, q.h0, q.c0);
  const out1 = first.output.data.slice();
  const h1 = first.hN.data.slice();
  const c1 = first.cN ? first.cN.data.slice() : null;
  const second = chunk(T1, T, h1, c1);
  const out2 = second.output.data.slice();
  const hN = second.hN.data.slice();
  const cN = second.cN ? second.cN.data.slice() : null;

  const g2 = layer.backward(second.cache, {
    dOutput: new Tensor(steps(q.dOut, T1, T, B * H), [T2, B, H]),
    dhN: new Tensor(q.dhN, shape),
    dcN: q.dcN ? new Tensor(q.dcN, shape) : null,
  });
  const dx2 = g2.dx.data.slice();
  const dh1 = g2.dh0.data.slice();
  const dc1 = g2.dc0 ? g2.dc0.data.slice() : null;
  if (!backThroughFirst) {
    return {
      output: concat(p, out1, out2), hN, cN, grads: gradsOf(layer),
      dx: concat(p, p.zeros(T1 * B * I), dx2), dh0: dh1, dc0: dc1,
    };
  }
  const g1 = layer.backward(first.cache, {
    dOutput: new Tensor(steps(q.dOut, 0, T1, B * H), [T1, B, H]),
    dhN: new Tensor(dh1, shape),
    dcN: dc1 ? new Tensor(dc1, shape) : null,
  });
  return {
    output: concat(p, out1, out2), hN, cN, grads: gradsOf(layer),
    dx: concat(p, g1.dx.data.slice(), dx2), dh0: g1.dh0.data.slice(), dc0: g1.dc0 ? g1.dc0.data.slice() : null,
  };
}

function compare(actual: LayerRunResult, expected: LayerRunResult, q: Problem, what: string, p: Precision, skip: { outputs?: boolean } = {}): void {
  const tol = (name: string): [string, number, number] => [`${what} [${p.label}] ${name}`, p.rtol, p.atol];
  if (!skip.outputs) {
    assertClose(actual.output, expected.output, ...tol("output"));
    assertClose(actual.hN, expected.hN, ...tol("hN"));
    if (expected.cN) assertClose(actual.cN!, expected.cN, ...tol("cN"));
  }
  const params = q.layer.parameters();
  params.forEach((param, i) => assertClose(actual.grads[i]!, expected.grads[i]!, ...tol(`grad ${param.name}`)));
  assertClose(actual.dx, expected.dx, ...tol("dx"));
  assertClose(actual.dh0, expected.dh0, ...tol("dh0"));
  if (expected.dc0) assertClose(actual.dc0!, expected.dc0, ...tol("dc0"));
  // Guard against vacuous equality: the gradients compared must not be all zero.
  const nonzero = expected.grads.reduce((n, g) => n + g.filter((v) => Math.abs(v) > 1e-6).length, 0);
  const total = expected.grads.reduce((n, g) => n + g.length, 0);
  assert.ok(nonzero >= total / 3, `${what}: only ${nonzero} of ${total} parameter gradients are non-zero`);
}

describe("chunked backward through the state equals one pass over the whole sequence", () => {
  const T1 = 3;
  const T2 = 4;
  for (const mode of modes) {
    for (const masked of [false, true]) {
      for (const p of [FLOAT64, FLOAT32]) {
        it(`${mode}, 2 layers, ${masked ? "masked" : "unmasked"}, T = ${T1} + ${T2} (${p.label})`, () => {
          p.run(() => {
            const q = makeProblem(mode, T1 + T2, T1, masked, p, 11 + modes.indexOf(mode) + (masked ? 100 : 0));
            const whole = runWhole(q);
            const chunked = runChunked(q, T1, p, true);
            compare(chunked, whole, q, `${mode}${masked ? " masked" : ""} chunked`, p);
          });
        });
      }
    }
  }

  it("the comparison is sensitive: dropping the carried dhN of the second chunk is caught", () => {
    FLOAT64.run(() => {
      const q = makeProblem("lstm", T1 + T2, T1, false, FLOAT64, 5);
      const whole = runWhole(q);
      const truncated = runChunked(q, T1, FLOAT64, false); // no backward through chunk 1 at all
      assert.throws(() => compare(truncated, whole, q, "truncated", FLOAT64, { outputs: true }), assert.AssertionError);
    });
  });
});

describe("backward with firstStep (truncation) treats the state entering firstStep as a constant", () => {
  const T = 7;
  for (const mode of modes) {
    for (const masked of [false, true]) {
      for (const firstStep of [1, 4]) {
        it(`${mode}, 2 layers, ${masked ? "masked" : "unmasked"}, firstStep ${firstStep} of ${T} (float64)`, () => {
          FLOAT64.run(() => {
            const q = makeProblem(mode, T, firstStep, masked, FLOAT64, 31 + modes.indexOf(mode) + firstStep);
            const truncated = runWhole(q, firstStep);
            // Reference: the run split at firstStep, back-propagating through the second part only.
            const split = runChunked(q, firstStep, FLOAT64, false);
            compare(truncated, split, q, `${mode} firstStep=${firstStep}`, FLOAT64);
            // dx before firstStep is exactly zero.
            assert.ok(truncated.dx.subarray(0, firstStep * q.B * q.I).every((v) => v === 0), "dx before firstStep must be 0");
            // And it is not the untruncated gradient.
            const whole = runWhole(q);
            assert.throws(() => compare(truncated, whole, q, "untruncated", FLOAT64, { outputs: true }), assert.AssertionError);
          });
        });
      }
    }
  }

  it("firstStep in float32 agrees with the split run", () => {
    FLOAT32.run(() => {
      for (const mode of modes) {
        const q = makeProblem(mode, T, 3, true, FLOAT32, 77 + modes.indexOf(mode));
        compare(runWhole(q, 3), runChunked(q, 3, FLOAT32, false), q, `${mode} firstStep=3`, FLOAT32);
      }
    });
  });
});
