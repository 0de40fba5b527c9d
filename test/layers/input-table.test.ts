/**
 * The recurrent layers' input table (cells/input-table.ts): when x is an embedding lookup and the
 * vocabulary is small against the chunk (2V ≤ T·B), the first layer projects each vocabulary row once.
 *
 * - Forward: outputs, hN and cN are bit-identical to the per-step projection, on every backend (the
 *   same products of the same rows).
 * - Backward: every parameter gradient, dh0 and dc0 agree with the per-step computation, and
 *   dInputTable[v] with Σ_{r: ids[r] = v} dx[r] (what the embedding would have scattered): in float64
 *   to 1e-12 (only the summation order differs), and on the float32 backends to float32 rounding.
 * - Not used when 2V > T·B (dx per step, no dInputTable); Embedding.backwardTable skips the padding row.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CellKind } from "../../src/cells/cell.js";
import { kernels } from "../../src/kernels/index.js";
import { Embedding } from "../../src/layers/embedding.js";
import { GRU, LSTM, RNN, type Recurrent, type RecurrentGradients } from "../../src/layers/recurrent.js";
import { Rng } from "../../src/tensor/rng.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { onBackend } from "../helpers/backend.js";
import { float64Kernels } from "../helpers/float64.js";
import { BACKENDS, assertBitIdentical } from "../kernels/conformance.js";


interface Setup {
  mode: CellKind;
  bidirectional: boolean;
  T: number;
  B: number;
  V: number;
}

const E = 5;
const H = 4;

function layerOf(s: Setup): Recurrent {
  const options = { inputSize: E, hiddenSize: H, numLayers: 2, bidirectional: s.bidirectional, seed: 3 };
  return s.mode === "lstm" ? new LSTM(options) : s.mode === "gru" ? new GRU(options) : new RNN(options);
}

interface Result {
  output: Float32Array;
  hN: Float32Array;
  cN: Float32Array | null;
  grads: Float32Array[];
  dh0: Float32Array;
  dc0: Float32Array | null;
  /** (V, E): dInputTable, or the per-step dx summed per id. */
  dTable: Float32Array;
  usedTable: boolean;
}

/** One forward and backward with a mask, per-row truncation and carried-in gradients. */
function run(s: Setup, withRows: boolean): Result {
  const { T, B, V } = s;
  const rng = new Rng(17);
  const k = kernels();
  const embedding = new Embedding({ numEmbeddings: V, embeddingDim: E, rng: rng.fork() });
  const ids = k.allocateIndices(T * B);
  for (let i = 0; i < ids.length; i++) ids[i] = rng.int(V);
  const x = embedding.forward(ids, T * B).out;
  const layer = layerOf(s);
  const D = s.bidirectional ? 2 : 1;
  const mask = new Tensor(k.allocate(T * B).fill(1), [T, B]);
  mask.data[(T - 1) * B + 0] = 0; // row 0 ends one step early
  const random = (n: number): Float32Array => k.allocate(n).map(() => rng.uniform(-1, 1));
  const state = [2 * D, B, H];
  const h0 = new Tensor(random(2 * D * B * H), state);
  const c0 = s.mode === "lstm" ? new Tensor(random(2 * D * B * H), state) : null;
  const out = layer.forward(new Tensor(x, [T, B, E]), { h0, c0, mask, inputRows: withRows ? { ids, V } : null });
  const firstStep = s.bidirectional ? 0 : Int32Array.from({ length: B }, (_, b) => b % 2);
  const grads: RecurrentGradients = layer.backward(out.cache, {
    dOutput: new Tensor(random(T * B * D * H), [T, B, D * H]),
    dhN: new Tensor(random(2 * D * B * H), state),
    dcN: s.mode === "lstm" ? new Tensor(random(2 * D * B * H), state) : null,
    firstStep,
  });
  let dTable: Float32Array;
  if (grads.dInputTable) dTable = grads.dInputTable.data.slice();
  else {
    dTable = new Float64Array(V * E) as unknown as Float32Array; // summed without rounding
    const dx = grads.dx.data;
    for (let r = 0; r < T * B; r++) for (let j = 0; j < E; j++) dTable[ids[r]! * E + j]! += dx[r * E + j]!;
  }
  return {
    output: Float32Array.from(out.output.data),
    hN: Float32Array.from(out.hN.data),
    cN: out.cN ? Float32Array.from(out.cN.data) : null,
    grads: layer.parameters().map((p) => Float32Array.from(p.grad)),
    dh0: Float32Array.from(grads.dh0.data),
    dc0: grads.dc0 ? Float32Array.from(grads.dc0.data) : null,
    dTable,
    usedTable: grads.dInputTable !== null,
  };
}

function assertNear(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= atol + rtol * Math.abs(b[i]!))) assert.fail(`${what}[${i}]: ${a[i]} against ${b[i]}`);
  }
}

// V = 16: every backend's GEMM sums each element in an order that depends only on K. (wasm-simd's
// small-M product, for fewer than 16 rows, sums in another: there the forward agrees to rounding.)
const SETUPS: Setup[] = [];
for (const mode of ["rnn_tanh", "lstm", "gru"] as const) {
  for (const bidirectional of [false, true]) SETUPS.push({ mode, bidirectional, T: 8, B: 4, V: 16 });
}

describe("the recurrent layers' input table", () => {
  for (const backend of [float64Kernels, ...BACKENDS]) {
    const float64 = backend === float64Kernels;
    it(`${backend.name}: forward bit-identical, gradients equal${float64 ? " to 1e-12" : " to float32 rounding"} (RNN, LSTM, GRU; uni- and bidirectional)`, () => {
      onBackend(backend, () => {
        for (const s of SETUPS) {
          const what = `${s.mode}${s.bidirectional ? " bidirectional" : ""}`;
          const direct = run(s, false);
          const table = run(s, true);
          assert.ok(table.usedTable && !direct.usedTable, `${what}: the table was used only when asked`);
          assertBitIdentical(table.output, direct.output, `${what} output`);
          assertBitIdentical(table.hN, direct.hN, `${what} hN`);
          if (direct.cN) assertBitIdentical(table.cN!, direct.cN, `${what} cN`);
          const [rtol, atol] = float64 ? [1e-12, 1e-14] : [1e-5, 1e-6];
          table.grads.forEach((g, i) => assertNear(g, direct.grads[i]!, rtol, atol, `${what} parameter ${i} grad`));
          assertNear(table.dTable, direct.dTable, rtol, atol, `${what} dInputTable`);
          assertNear(table.dh0, direct.dh0, rtol, atol, `${what} dh0`);
          if (direct.dc0) assertNear(table.dc0!, direct.dc0, rtol, atol, `${what} dc0`);
        }
      });
    });
  }

  it("a table of fewer than 16 rows: the forward agrees to float32 rounding on every backend", () => {
    for (const backend of BACKENDS) {
      onBackend(backend, () => {
        const s: Setup = { mode: "lstm", bidirectional: false, T: 7, B: 3, V: 4 };
        const direct = run(s, false);
        const table = run(s, true);
        assert.ok(table.usedTable);
        assertNear(table.output, direct.output, 1e-5, 1e-6, `${backend.name} output`);
        assertNear(table.dTable, direct.dTable, 1e-5, 1e-6, `${backend.name} dInputTable`);
      });
    }
  });

  it("is not used when the vocabulary is large against the chunk (2V > T·B): dx per step", () => {
    const result = run({ mode: "lstm", bidirectional: false, T: 3, B: 2, V: 4 }, true);
    assert.equal(result.usedTable, false);
  });

  it("a bad id is a RangeError naming inputRows", () => {
    const layer = layerOf({ mode: "gru", bidirectional: false, T: 4, B: 2, V: 2 });
    const ids = kernels().allocateIndices(8).fill(1);
    ids[5] = 7;
    assert.throws(() => layer.forward(Tensor.zeros([4, 2, E]), { inputRows: { ids, V: 2 } }), /inputRows\.ids\[5\] = 7 is out of range/);
    assert.throws(() => layer.forward(Tensor.zeros([4, 2, E]), { inputRows: { ids: ids.subarray(0, 5), V: 2 } }), /inputRows\.ids must have T·B = 8 values, got 5/);
  });

  it("Embedding.backwardTable adds every row's gradient but the padding row's", () => {
    const embedding = new Embedding({ numEmbeddings: 3, embeddingDim: 2, paddingIdx: 1, rng: new Rng(1) });
    const dTable = Float32Array.from([1, 2, 3, 4, 5, 6]);
    embedding.backwardTable(dTable);
    embedding.backwardTable(dTable);
    assert.deepEqual([...embedding.weight.grad], [2, 4, 0, 0, 10, 12]);
    assert.throws(() => embedding.backwardTable(new Float32Array(5)), /dTable must have shape \(V=3, D=2\) = 6 values, got 5/);
  });
});
