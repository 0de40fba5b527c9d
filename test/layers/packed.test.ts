/**
 * Packed rows (batchSizes) against the masked layout, in float64: for every cell, stacked and
 * bidirectional, the same sequences run once right-padded with a mask (T·B rows) and once packed (N
 * rows, step t running only its first batchSizes[t] rows) give the same outputs at the real steps, the
 * same final states (each row's state after its own last step), and the same gradients — parameters,
 * dx at the real steps, dh0, dc0 — to 1e-12, including a row that never runs (batchSizes[0] < B) and a
 * per-row truncation (firstStep). Then: a chunk of more than BLOCK_ROWS rows (backward's weight
 * gradients in several blocks) against finite differences; the packed path computes only N rows (the
 * kernels are counted); and malformed batchSizes are refused with a message naming them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BLOCK_ROWS } from "../../src/cells/base.js";
import type { CellKind } from "../../src/cells/cell.js";
import { type Kernels, referenceKernels } from "../../src/kernels/index.js";
import { Recurrent, type RecurrentBackwardOptions } from "../../src/layers/recurrent.js";
import { Rng } from "../../src/tensor/rng.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { onBackend } from "../helpers/backend.js";
import { assertClose, fillRandom, numericDerivative, probeIndices } from "../helpers/check.js";
import { f64, inFloat64 } from "../helpers/float64.js";

interface Case {
  mode: CellKind;
  L: number;
  bidirectional: boolean;
  /** Per row, non-increasing; 0: the row never runs. */
  lengths: number[];
  I: number;
  H: number;
  /** Per-row first back-propagated step (unidirectional only). */
  firstStep?: number[];
}

interface Problem {
  T: number;
  B: number;
  N: number;
  D: number;
  /** (T + 1) packed row offsets. */
  offsets: number[];
  batchSizes: Int32Array;
  mask: Float32Array;
}

function problemOf(c: Case): Problem {
  const B = c.lengths.length;
  const T = Math.max(...c.lengths);
  const batchSizes = new Int32Array(T);
  const offsets = [0];
  for (let t = 0; t < T; t++) {
    batchSizes[t] = c.lengths.filter((n) => n > t).length;
    offsets.push(offsets[t]! + batchSizes[t]!);
  }
  const mask = f64(T * B);
  c.lengths.forEach((n, b) => {
    for (let t = 0; t < n; t++) mask[t * B + b] = 1;
  });
  return { T, B, N: offsets[T]!, D: c.bidirectional ? 2 : 1, offsets, batchSizes, mask };
}

/** (T, B, W) padded values (zeros at padding) → (N, W) packed rows, or back. */
function pack(p: Problem, padded: Float32Array, W: number): Float32Array {
  const out = f64(p.N * W);
  for (let t = 0; t < p.T; t++) {
    for (let b = 0; b < p.batchSizes[t]!; b++) {
      for (let j = 0; j < W; j++) out[(p.offsets[t]! + b) * W + j] = padded[(t * p.B + b) * W + j]!;
    }
  }
  return out;
}

interface Results {
  output: Float32Array;
  hN: Float32Array;
  cN: Float32Array | null;
  grads: Float32Array[];
  dx: Float32Array;
  dh0: Float32Array;
  dc0: Float32Array | null;
}

function run(c: Case, packed: boolean, seed: number): Results {
  return inFloat64(() => {
    const p = problemOf(c);
    const rng = new Rng(seed);
    const layer = new Recurrent(c.mode, { inputSize: c.I, hiddenSize: c.H, numLayers: c.L, bidirectional: c.bidirectional, seed: 3 });
    for (const param of layer.parameters()) fillRandom(param.value, rng, 0.6);
    const S = c.L * p.D * p.B * c.H;
    const x = pack(p, fillRandom(f64(p.T * p.B * c.I), rng), c.I); // padding ignored: packed, then unpacked below
    const h0 = new Tensor(fillRandom(f64(S), rng, 0.5), [c.L * p.D, p.B, c.H]);
    const c0 = c.mode === "lstm" ? new Tensor(fillRandom(f64(S), rng, 0.5), h0.shape) : null;
    const dOut = fillRandom(f64(p.N * p.D * c.H), rng);
    const dhN = new Tensor(fillRandom(f64(S), rng), h0.shape);
    const dcN = c0 ? new Tensor(fillRandom(f64(S), rng), h0.shape) : null;
    const input = packed ? new Tensor(x, [p.N, c.I]) : new Tensor(unpack(p, x, c.I), [p.T, p.B, c.I]);
    const { output, hN, cN, cache } = layer.forward(input, {
      h0, c0, ...(packed ? { batchSizes: p.batchSizes } : { mask: new Tensor(p.mask, [p.T, p.B]) }),
    });
    const F = p.D * c.H;
    const grads: RecurrentBackwardOptions = {
      dOutput: packed ? new Tensor(dOut, [p.N, F]) : new Tensor(unpack(p, dOut, F), [p.T, p.B, F]),
      dhN, dcN, ...(c.firstStep ? { firstStep: Int32Array.from(c.firstStep) } : {}),
    };
    const g = layer.backward(cache, grads);
    return {
      output: packed ? output.data.slice() : pack(p, output.data, F),
      hN: hN.data.slice(), cN: cN ? cN.data.slice() : null,
      grads: layer.parameters().map((param) => param.grad.slice()),
      dx: packed ? g.dx.data.slice() : pack(p, g.dx.data, c.I),
      dh0: g.dh0.data.slice(), dc0: g.dc0 ? g.dc0.data.slice() : null,
    };
  });
}

function unpack(p: Problem, packedValues: Float32Array, W: number): Float32Array {
  const out = f64(p.T * p.B * W);
  for (let t = 0; t < p.T; t++) {
    for (let b = 0; b < p.batchSizes[t]!; b++) {
      for (let j = 0; j < W; j++) out[(t * p.B + b) * W + j] = packedValues[(p.offsets[t]! + b) * W + j]!;
    }
  }
  return out;
}

function describeCase(c: Case): string {
  const firstStep = c.firstStep ? ` firstStep ${c.firstStep.join("/")}` : "";
  return `${c.mode} L=${c.L}${c.bidirectional ? " bidirectional" : ""} lengths ${c.lengths.join("/")}${firstStep}`;
}

function checkPackedEqualsMasked(c: Case, seed: number): void {
  const masked = run(c, false, seed);
  const packed = run(c, true, seed);
  const what = describeCase(c);
  const tight = (a: ArrayLike<number>, e: ArrayLike<number>, name: string): void => assertClose(a, e, `${what}: ${name}`, 1e-12, 1e-12);
  tight(packed.output, masked.output, "output");
  tight(packed.hN, masked.hN, "hN");
  if (masked.cN) tight(packed.cN!, masked.cN, "cN");
  masked.grads.forEach((g, i) => tight(packed.grads[i]!, g, `parameter ${i} gradient`));
  tight(packed.dx, masked.dx, "dx");
  tight(packed.dh0, masked.dh0, "dh0");
  if (masked.dc0) tight(packed.dc0!, masked.dc0, "dc0");
  assert.ok(masked.grads.some((g) => g.some((v) => Math.abs(v) > 1e-3)), `${what}: the gradients are all near zero`);
}

const modes: CellKind[] = ["rnn_tanh", "rnn_relu", "lstm", "gru"];

describe("packed rows equal the masked layout (float64)", () => {
  for (const mode of modes) {
    it(`${mode}: one layer, rows ending at different steps, one row that never runs`, () => {
      checkPackedEqualsMasked({ mode, L: 1, bidirectional: false, lengths: [7, 7, 5, 2, 2, 1, 0], I: 3, H: 4 }, 1);
    });
    it(`${mode}: stacked and bidirectional (the reverse direction starts each row at its own end)`, () => {
      checkPackedEqualsMasked({ mode, L: 2, bidirectional: true, lengths: [6, 4, 4, 1], I: 2, H: 3 }, 2);
    });
    it(`${mode}: stacked, with a per-row truncation (firstStep)`, () => {
      checkPackedEqualsMasked({ mode, L: 2, bidirectional: false, lengths: [8, 6, 3, 3], I: 2, H: 3, firstStep: [5, 0, 2, 3] }, 3);
    });
  }
});

describe("packed rows: backward in blocks, the work done, the refusals", () => {
  it(`an LSTM chunk of more than BLOCK_ROWS = ${BLOCK_ROWS} rows agrees with finite differences`, () => {
    inFloat64(() => {
      const lengths = [700, 700, 650, 600, 600, 500, 400, 300, 200, 100];
      const c: Case = { mode: "lstm", L: 1, bidirectional: false, lengths, I: 2, H: 2 };
      const p = problemOf(c);
      assert.ok(p.N > BLOCK_ROWS + 100, "the chunk needs several blocks");
      const rng = new Rng(9);
      const layer = new Recurrent("lstm", { inputSize: 2, hiddenSize: 2, seed: 1 });
      for (const param of layer.parameters()) fillRandom(param.value, rng, 0.5);
      const x = new Tensor(fillRandom(f64(p.N * 2), rng), [p.N, 2]);
      const dOut = fillRandom(f64(p.N * 2), rng);
      const loss = (): number => {
        const out = layer.forward(x, { batchSizes: p.batchSizes }).output.data;
        let s = 0;
        for (let i = 0; i < out.length; i++) s += dOut[i]! * out[i]!;
        return s;
      };
      for (const param of layer.parameters()) param.zeroGrad();
      const { cache } = layer.forward(x, { batchSizes: p.batchSizes });
      const g = layer.backward(cache, { dOutput: new Tensor(dOut, [p.N, 2]) });
      for (const param of layer.parameters()) {
        const idx = probeIndices(param.size, rng, 6);
        const numeric = idx.map((i) => numericDerivative(param.value, i, loss));
        assertClose(idx.map((i) => param.grad[i]!), numeric, `d${param.name}`, 1e-5, 1e-7);
      }
      const idx = [0, 1, 2 * (BLOCK_ROWS - 3), 2 * (p.N - 1) + 1];
      assertClose(idx.map((i) => g.dx.data[i]!), idx.map((i) => numericDerivative(x.data, i, loss)), "dx", 1e-5, 1e-7);
    });
  });

  it("computes only the packed rows: the step kernels see N rows in all, not T·B", () => {
    const lengths = [9, 5, 2, 1];
    const p = problemOf({ mode: "gru", L: 1, bidirectional: false, lengths, I: 2, H: 3 });
    let forwardRows = 0;
    let backwardRows = 0;
    const counting: Kernels = {
      ...referenceKernels,
      gruStepForward: (B, ...rest) => {
        forwardRows += B;
        referenceKernels.gruStepForward(B, ...rest);
      },
      gruStepBackward: (B, ...rest) => {
        backwardRows += B;
        referenceKernels.gruStepBackward(B, ...rest);
      },
    };
    onBackend(counting, () => {
      const layer = new Recurrent("gru", { inputSize: 2, hiddenSize: 3, bidirectional: true, seed: 1 });
      const { cache } = layer.forward(Tensor.zeros([p.N, 2]), { batchSizes: p.batchSizes });
      layer.backward(cache, { dOutput: Tensor.zeros([p.N, 6]) });
    });
    assert.equal(p.N, 17);
    assert.equal(forwardRows, 2 * p.N, "both directions, N rows each");
    assert.equal(backwardRows, 2 * p.N);
  });

  it("refuses malformed batchSizes, naming them", () => {
    const layer = new Recurrent("lstm", { inputSize: 2, hiddenSize: 3, seed: 1 });
    const sizes = (values: number[]): Int32Array => Int32Array.from(values);
    assert.throws(
      () => layer.forward(Tensor.zeros([6, 2]), { batchSizes: sizes([2, 3, 1]) }), /batchSizes\[1\] = 3: expected an integer in \[1, 2\]/,
    );
    assert.throws(() => layer.forward(Tensor.zeros([3, 2]), { batchSizes: sizes([2, 0, 1]) }), /batchSizes\[1\] = 0/);
    assert.throws(
      () => layer.forward(Tensor.zeros([5, 2]), { batchSizes: sizes([3, 1]) }), /x must have shape \(N=4 packed rows, 2\), got \[5, 2\]/,
    );
    assert.throws(
      () => layer.forward(Tensor.zeros([3, 2]), { batchSizes: sizes([2, 1]), mask: Tensor.zeros([2, 2]) }),
      /mask and batchSizes/,
    );
    const { cache } = layer.forward(Tensor.zeros([3, 2]), { batchSizes: sizes([2, 1]) });
    assert.throws(() => layer.backward(cache, { dOutput: Tensor.zeros([2, 2, 3]) }), /dOutput must have shape \[3, 3\]/);
  });
});
