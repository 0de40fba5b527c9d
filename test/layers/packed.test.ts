/**
 * Packed rows (batchSizes) against the masked layout, in float64: for every cell, stacked and
 * bidirectional, the same sequences run once right-padded with a mask (T·B rows) and once packed (N
 * rows, step t running only its first batchSizes[t] rows) give the same outputs at the real steps, the
 * same final states (each row's state after its own last step), and the same gradients — parameters,
 * dx at the real steps, dh0, dc0 — to 1e-12, including a row that never runs (batchSizes[0] < B) and a
 * per-row truncation (firstStep); the LSTM also with a projection and peepholes. Then: a chunk of more than BLOCK_ROWS rows (backward's weight
 * gradients in several blocks) against finite differences; the packed path computes only N rows (the
 * kernels are counted); and malformed batchSizes are refused with a message naming them.
 *
 * And in float32: PyTorch's pack_padded_sequence (test/fixtures/recurrent.json, its "packed" cases, rows
 * given out of order and sorted here) to its tolerances; and the fast backends (wasm-simd, native when
 * built) run packed rows as the reference runs the masked layout, to float32 rounding.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BLOCK_ROWS } from "../../src/cells/base.js";
import type { CellKind } from "../../src/cells/cell.js";
import { type Kernels, kernels, referenceKernels } from "../../src/kernels/index.js";
import { Recurrent, type RecurrentBackwardOptions } from "../../src/layers/recurrent.js";
import { loadStateDict } from "../../src/tensor/parameter.js";
import { Rng } from "../../src/tensor/rng.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { onBackend } from "../helpers/backend.js";
import { type FixtureCase, fixtureLayerOptions, loadRecurrentFixture } from "../helpers/recurrent-fixture.js";
import { nativeKernels, wasmKernels } from "../kernels/conformance.js";
import { assertClose, fillRandom, numericDerivative, probeIndices } from "../helpers/check.js";
import { inFloat64 } from "../helpers/float64.js";
import type { LayerRunResult } from "../helpers/layer-run.js";

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
  /** LSTM variants: P (h has P values), peepholes. */
  projSize?: number;
  peephole?: boolean;
}

/** n zeros from the active backend (float64 under inFloat64). */
const zeros = (n: number): Float32Array => kernels().allocate(n);

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
  const mask = zeros(T * B);
  c.lengths.forEach((n, b) => {
    for (let t = 0; t < n; t++) mask[t * B + b] = 1;
  });
  return { T, B, N: offsets[T]!, D: c.bidirectional ? 2 : 1, offsets, batchSizes, mask };
}

/** (T, B, W) padded values (zeros at padding) → (N, W) packed rows, or back. */
function pack(p: Problem, padded: Float32Array, W: number): Float32Array {
  const out = zeros(p.N * W);
  for (let t = 0; t < p.T; t++) {
    for (let b = 0; b < p.batchSizes[t]!; b++) {
      for (let j = 0; j < W; j++) out[(p.offsets[t]! + b) * W + j] = padded[(t * p.B + b) * W + j]!;
    }
  }
  return out;
}

function run(c: Case, packed: boolean, seed: number): LayerRunResult {
  return inFloat64(() => runOn(c, packed, seed));
}

/** One forward and backward of the seeded problem on the active backend, packed or masked. */
function runOn(c: Case, packed: boolean, seed: number): LayerRunResult {
  const p = problemOf(c);
  const rng = new Rng(seed);
  const { mode, I: inputSize, H: hiddenSize, L: numLayers, bidirectional } = c;
  const variants = { projSize: c.projSize ?? 0, peephole: c.peephole ?? false };
  const layer = new Recurrent(mode, { inputSize, hiddenSize, numLayers, bidirectional, seed: 3, ...variants });
  for (const param of layer.parameters()) fillRandom(param.value, rng, 0.6);
  const R = c.projSize || c.H;
  const S = c.L * p.D * p.B * R;
  const SC = c.L * p.D * p.B * c.H;
  const x = pack(p, fillRandom(zeros(p.T * p.B * c.I), rng), c.I); // padding ignored: packed, then unpacked below
  const h0 = new Tensor(fillRandom(zeros(S), rng, 0.5), [c.L * p.D, p.B, R]);
  const c0 = c.mode === "lstm" ? new Tensor(fillRandom(zeros(SC), rng, 0.5), [c.L * p.D, p.B, c.H]) : null;
  const dOut = fillRandom(zeros(p.N * p.D * R), rng);
  const dhN = new Tensor(fillRandom(zeros(S), rng), h0.shape);
  const dcN = c0 ? new Tensor(fillRandom(zeros(SC), rng), c0.shape) : null;
  const input = packed ? new Tensor(x, [p.N, c.I]) : new Tensor(unpack(p, x, c.I), [p.T, p.B, c.I]);
  const { output, hN, cN, cache } = layer.forward(input, {
    h0, c0, ...(packed ? { batchSizes: p.batchSizes } : { mask: new Tensor(p.mask, [p.T, p.B]) }),
  });
  const F = p.D * R;
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
}

function unpack(p: Problem, packedValues: Float32Array, W: number): Float32Array {
  const out = zeros(p.T * p.B * W);
  for (let t = 0; t < p.T; t++) {
    for (let b = 0; b < p.batchSizes[t]!; b++) {
      for (let j = 0; j < W; j++) out[(t * p.B + b) * W + j] = packedValues[(p.offsets[t]! + b) * W + j]!;
    }
  }
  return out;
}

function describeCase(c: Case): string {
  const firstStep = c.firstStep ? ` firstStep ${c.firstStep.join("/")}` : "";
  const variants = `${c.projSize ? ` P=${c.projSize}` : ""}${c.peephole ? " peephole" : ""}`;
  return `${c.mode}${variants} L=${c.L}${c.bidirectional ? " bidirectional" : ""} lengths ${c.lengths.join("/")}${firstStep}`;
}

function checkPackedEqualsMasked(c: Case, seed: number): void {
  const masked = run(c, false, seed);
  const packed = run(c, true, seed);
  const what = describeCase(c);
  const tight = (a: ArrayLike<number>, e: ArrayLike<number>, name: string): void =>
    assertClose(a, e, `${what}: ${name}`, 1e-12, 1e-12);
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
/** The plain cells, and the LSTM with a projection and peepholes. */
const cells: Array<{ name: string; mode: CellKind; projSize?: number; peephole?: boolean }> = [
  ...modes.map((mode) => ({ name: mode, mode })),
  { name: "lstm (projection, peepholes)", mode: "lstm", projSize: 2, peephole: true },
];

describe("packed rows equal the masked layout (float64)", () => {
  for (const { name, ...cell } of cells) {
    it(`${name}: one layer, rows ending at different steps, one row that never runs`, () => {
      checkPackedEqualsMasked({ ...cell, L: 1, bidirectional: false, lengths: [7, 7, 5, 2, 2, 1, 0], I: 3, H: 4 }, 1);
    });
    it(`${name}: stacked and bidirectional (the reverse direction starts each row at its own end)`, () => {
      checkPackedEqualsMasked({ ...cell, L: 2, bidirectional: true, lengths: [6, 4, 4, 1], I: 2, H: 3 }, 2);
    });
    it(`${name}: stacked, with a per-row truncation (firstStep)`, () => {
      const firstStep = [5, 0, 2, 3];
      checkPackedEqualsMasked({ ...cell, L: 2, bidirectional: false, lengths: [8, 6, 3, 3], I: 2, H: 3, firstStep }, 3);
    });
  }
});

describe("packed rows: backward in blocks, the work done, the refusals", () => {
  for (const variant of [{}, { projSize: 1, peephole: true }]) {
    const name = "projSize" in variant ? "an LSTM with a projection and peepholes" : "an LSTM";
    it(`${name}: a chunk of more than BLOCK_ROWS = ${BLOCK_ROWS} rows agrees with finite differences`, () => {
      inFloat64(() => {
        const lengths = [700, 700, 650, 600, 600, 500, 400, 300, 200, 100];
        const c: Case = { mode: "lstm", L: 1, bidirectional: false, lengths, I: 2, H: 2 };
        const p = problemOf(c);
        assert.ok(p.N > BLOCK_ROWS + 100, "the chunk needs several blocks");
        const rng = new Rng(9);
        const layer = new Recurrent("lstm", { inputSize: 2, hiddenSize: 2, seed: 1, ...variant });
        const R = layer.stateSizes.h;
        for (const param of layer.parameters()) fillRandom(param.value, rng, 0.5);
        const x = new Tensor(fillRandom(zeros(p.N * 2), rng), [p.N, 2]);
        const dOut = fillRandom(zeros(p.N * R), rng);
        const loss = (): number => {
          const out = layer.forward(x, { batchSizes: p.batchSizes }).output.data;
          let s = 0;
          for (let i = 0; i < out.length; i++) s += dOut[i]! * out[i]!;
          return s;
        };
        for (const param of layer.parameters()) param.zeroGrad();
        const { cache } = layer.forward(x, { batchSizes: p.batchSizes });
        const g = layer.backward(cache, { dOutput: new Tensor(dOut, [p.N, R]) });
        for (const param of layer.parameters()) {
          const idx = probeIndices(param.size, rng, 6);
          const numeric = idx.map((i) => numericDerivative(param.value, i, loss));
          assertClose(idx.map((i) => param.grad[i]!), numeric, `d${param.name}`, 1e-5, 1e-7);
        }
        const idx = [0, 1, 2 * (BLOCK_ROWS - 3), 2 * (p.N - 1) + 1];
        assertClose(idx.map((i) => g.dx.data[i]!), idx.map((i) => numericDerivative(x.data, i, loss)), "dx", 1e-5, 1e-7);
      });
    });
  }

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
      () => layer.forward(Tensor.zeros([6, 2]), { batchSizes: sizes([2, 3, 1]) }),
      /batchSizes\[1\] = 3: expected an integer in \[1, 2\]/,
    );
    assert.throws(() => layer.forward(Tensor.zeros([3, 2]), { batchSizes: sizes([2, 0, 1]) }), /batchSizes\[1\] = 0/);
    assert.throws(
      () => layer.forward(Tensor.zeros([5, 2]), { batchSizes: sizes([3, 1]) }),
      /x must have shape \(N=4 packed rows, 2\), got \[5, 2\]/,
    );
    assert.throws(
      () => layer.forward(Tensor.zeros([3, 2]), { batchSizes: sizes([2, 1]), mask: Tensor.zeros([2, 2]) }),
      /mask and batchSizes/,
    );
    const { cache } = layer.forward(Tensor.zeros([3, 2]), { batchSizes: sizes([2, 1]) });
    assert.throws(() => layer.backward(cache, { dOutput: Tensor.zeros([2, 2, 3]) }), /dOutput must have shape \[3, 3\]/);
  });
});

/**
 * The fixture case's rows sorted by decreasing length (stable), packed: x (N, I), h0 and c0 with their
 * rows in that order; `unpack` maps a packed (N, W) result back to the fixture's (T, B, W) positions
 * (0 at padding, as pad_packed_sequence gives), `rowsBack` a (L·D, B, W) state back to the fixture's rows.
 */
function packFixture(c: FixtureCase) {
  const { T, B, inputSize: I } = c.options;
  const lengths = c.options.lengths!;
  const order = Array.from({ length: B }, (_, b) => b).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const batchSizes = Int32Array.from({ length: Math.max(...lengths) }, (_, t) => lengths.filter((n) => n > t).length);
  const offsets = [0];
  for (const n of batchSizes) offsets.push(offsets.at(-1)! + n);
  const N = offsets.at(-1)!;
  /** Calls copy(packed row, padded row) for every real step. */
  const eachRow = (copy: (packedRow: number, paddedRow: number) => void): void => {
    batchSizes.forEach((n, t) => {
      for (let j = 0; j < n; j++) copy(offsets[t]! + j, t * B + order[j]!);
    });
  };
  const pack = (values: number[], W: number): Float32Array => {
    const out = new Float32Array(N * W);
    eachRow((r, q) => out.set(values.slice(q * W, (q + 1) * W), r * W));
    return out;
  };
  const unpack = (values: Float32Array, W: number): Float32Array => {
    const out = new Float32Array(T * B * W);
    eachRow((r, q) => out.set(values.subarray(r * W, (r + 1) * W), q * W));
    return out;
  };
  const rowsTo = (values: ArrayLike<number>, W: number, back: boolean): Float32Array => {
    const out = new Float32Array(values.length);
    for (let i = 0; i < values.length / (B * W); i++) {
      for (let j = 0; j < B; j++) {
        for (let w = 0; w < W; w++) {
          const sorted = (i * B + j) * W + w;
          const original = (i * B + order[j]!) * W + w;
          if (back) out[original] = values[sorted]!;
          else out[sorted] = values[original]!;
        }
      }
    }
    return out;
  };
  return { N, I, batchSizes, pack, unpack, rowsTo };
}

describe("packed rows against PyTorch's pack_padded_sequence (float32 tolerances)", () => {
  for (const c of loadRecurrentFixture().cases.filter((x) => x.options.lengths !== null)) {
    it(c.name, () => {
      const o = c.options;
      const D = o.bidirectional ? 2 : 1;
      const H = o.hiddenSize;
      const R = o.projSize || H;
      const p = packFixture(c);
      const layer = new Recurrent(o.mode, fixtureLayerOptions(c));
      const weights = new Map<string, Tensor>();
      for (const [name, t] of Object.entries(c.stateDict)) weights.set(name, new Tensor(Float32Array.from(t.data), t.shape));
      loadStateDict(layer, weights);
      const state = [o.numLayers * D, o.B, R];
      const cellState = [o.numLayers * D, o.B, H];
      const h0 = new Tensor(p.rowsTo(c.h0.data, R, false), state);
      const c0 = c.c0 ? new Tensor(p.rowsTo(c.c0.data, H, false), cellState) : null;
      const x = new Tensor(p.pack(c.x.data, p.I), [p.N, p.I]);
      const { output, hN, cN, cache } = layer.forward(x, { h0, c0, batchSizes: p.batchSizes });
      const g = layer.backward(cache, {
        dOutput: new Tensor(p.pack(c.gOut.data, D * R), [p.N, D * R]),
        dhN: new Tensor(p.rowsTo(c.gH.data, R, false), state),
        dcN: c.gC ? new Tensor(p.rowsTo(c.gC.data, H, false), cellState) : null,
      });
      const close = (actual: ArrayLike<number>, expected: number[], what: string): void =>
        assertClose(actual, expected, `${c.name} ${what}`, 1e-4, 1e-5);
      close(p.unpack(output.data, D * R), c.output.data, "output");
      close(p.rowsTo(hN.data, R, true), c.hN.data, "hN");
      if (c.cN) close(p.rowsTo(cN!.data, H, true), c.cN.data, "cN");
      close(p.unpack(g.dx.data, p.I), c.dx.data, "dx");
      close(p.rowsTo(g.dh0.data, R, true), c.dh0.data, "dh0");
      if (c.dc0) close(p.rowsTo(g.dc0!.data, H, true), c.dc0.data, "dc0");
      for (const param of layer.parameters()) close(param.grad, c.grads[param.name]!.data, `grad ${param.name}`);
    });
  }
});

describe("packed rows on the fast backends equal the reference's masked layout (float32)", () => {
  const backends = [wasmKernels, ...(nativeKernels ? [nativeKernels] : [])];
  const c: Case = { mode: "lstm", L: 2, bidirectional: true, lengths: [9, 8, 6, 4, 1, 1], I: 5, H: 35 };
  for (const backend of backends) {
    for (const { name, ...cell } of [...cells, { name: "lstm (projection)", mode: "lstm" as const, projSize: 13 }]) {
      it(`${name} on ${backend.name}: 2 layers, bidirectional, H = 35`, () => {
        const problem = { ...c, ...cell };
        const fast = onBackend(backend, () => runOn(problem, true, 7));
        const reference = onBackend(referenceKernels, () => runOn(problem, false, 7));
        type Pair = [string, ArrayLike<number>, ArrayLike<number>];
        const pairs: Pair[] = [
          ["output", fast.output, reference.output], ["hN", fast.hN, reference.hN], ["dx", fast.dx, reference.dx],
          ["dh0", fast.dh0, reference.dh0], ...reference.grads.map((g, i): Pair => [`grad ${i}`, fast.grads[i]!, g]),
        ];
        if (reference.cN) pairs.push(["cN", fast.cN!, reference.cN], ["dc0", fast.dc0!, reference.dc0!]);
        for (const [what, a, e] of pairs) assertScaledClose(a, e, `${name} on ${backend.name}: ${what}`);
      });
    }
  }
});

/** |a − e| ≤ 1e-5·|e| + 1e-5·max|e| elementwise (values cancelling to near 0 get the tensor's scale). */
function assertScaledClose(a: ArrayLike<number>, e: ArrayLike<number>, what: string): void {
  let scale = 0;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]!));
  for (let i = 0; i < e.length; i++) {
    const allowed = 1e-5 * Math.abs(e[i]!) + 1e-5 * scale;
    if (!(Math.abs(a[i]! - e[i]!) <= allowed)) assert.fail(`${what}[${i}] = ${a[i]}, reference ${e[i]}`);
  }
}
