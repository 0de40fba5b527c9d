/**
 * Initialisation of the recurrent layers (src/cells/init.ts), checked through the public layers:
 * orthogonal W_hh gate blocks, the IRNN identity, the LSTM forget-gate bias, PyTorch's default
 * U(−1/√H, 1/√H), and seeding (same seed → bit-identical parameters, another seed → different ones).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CellKind } from "../../src/cells/cell.js";
import { GRU, LSTM, RNN, Recurrent, type RecurrentOptions } from "../../src/layers/recurrent.js";
import type { Parameter } from "../../src/tensor/parameter.js";
import { Rng } from "../../src/tensor/rng.js";

const modes: CellKind[] = ["rnn_tanh", "rnn_relu", "lstm", "gru"];
const gatesOf: Record<CellKind, number> = { rnn_tanh: 1, rnn_relu: 1, lstm: 4, gru: 3 };

function byName(layer: Recurrent): Map<string, Parameter> {
  return new Map(layer.parameters().map((p) => [p.name, p]));
}

/** Gate block g (rows g·H … (g+1)·H − 1) of a (G·H, H) recurrent weight, as an H×H row-major array. */
function block(w: Float32Array, g: number, H: number): Float32Array {
  return w.subarray(g * H * H, (g + 1) * H * H);
}

/** max |W·Wᵀ − I| and max |Wᵀ·W − I| of an H×H block. */
function orthogonalityError(w: Float32Array, H: number): number {
  let worst = 0;
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < H; j++) {
      let rows = 0;
      let cols = 0;
      for (let k = 0; k < H; k++) {
        rows += w[i * H + k]! * w[j * H + k]!;
        cols += w[k * H + i]! * w[k * H + j]!;
      }
      const id = i === j ? 1 : 0;
      worst = Math.max(worst, Math.abs(rows - id), Math.abs(cols - id));
    }
  }
  return worst;
}

function snapshot(layer: Recurrent): Float32Array[] {
  return layer.parameters().map((p) => p.value.slice());
}

function bitIdentical(a: Float32Array[], b: Float32Array[]): boolean {
  return a.length === b.length && a.every((x, i) => {
    const y = b[i]!;
    if (x.length !== y.length) return false;
    const xb = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const yb = new Uint32Array(y.buffer, y.byteOffset, y.length);
    return xb.every((v, k) => v === yb[k]);
  });
}

describe("init: orthogonal recurrent weights", () => {
  for (const mode of modes) {
    it(`${mode}: every W_hh gate block satisfies W·Wᵀ = I (1e-5), blocks differ`, () => {
      const H = 7;
      const layer = new Recurrent(mode, {
        inputSize: 3, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 5, init: { recurrent: "orthogonal" },
      });
      const bound = 1 / Math.sqrt(H);
      const blocks: Float32Array[] = [];
      for (const p of layer.parameters()) {
        if (!p.name.startsWith("weight_hh")) {
          // W_ih and the biases keep the uniform default.
          assert.ok(p.value.every((v) => Math.abs(v) <= bound), `${p.name} outside ±1/√H`);
          continue;
        }
        assert.deepEqual(p.shape, [gatesOf[mode] * H, H]);
        for (let g = 0; g < gatesOf[mode]; g++) {
          const w = block(p.value, g, H);
          const err = orthogonalityError(w, H);
          assert.ok(err < 1e-5, `${p.name} gate ${g}: |W·Wᵀ − I| = ${err}`);
          blocks.push(w);
        }
      }
      assert.equal(blocks.length, 4 * gatesOf[mode]);
      for (let i = 0; i < blocks.length; i++) {
        for (let j = 0; j < i; j++) {
          assert.ok(blocks[i]!.some((v, k) => v !== blocks[j]![k]), `orthogonal blocks ${i} and ${j} are equal`);
        }
      }
    });
  }

  it("works for H = 1 (a block is ±1)", () => {
    const layer = new GRU({ inputSize: 2, hiddenSize: 1, seed: 3, init: { recurrent: "orthogonal" } });
    const w = byName(layer).get("weight_hh_l0")!.value;
    assert.ok(Array.from(w).every((v) => Math.abs(Math.abs(v) - 1) < 1e-6), `got ${Array.from(w)}`);
  });
});

describe("init: identity (IRNN)", () => {
  it("W_hh = scale·I per gate block, biases 0, small W_ih", () => {
    for (const [mode, scale] of [["rnn_relu", 0.5], ["rnn_tanh", undefined], ["gru", 0.9]] as const) {
      const H = 5;
      const init = scale === undefined ? { recurrent: "identity" as const } : { recurrent: "identity" as const, identityScale: scale };
      const layer = new Recurrent(mode, { inputSize: 4, hiddenSize: H, numLayers: 2, seed: 9, init });
      const expectedScale = scale ?? 1;
      for (const p of layer.parameters()) {
        if (p.name.startsWith("weight_hh")) {
          for (let g = 0; g < gatesOf[mode]; g++) {
            const w = block(p.value, g, H);
            for (let i = 0; i < H; i++) {
              for (let j = 0; j < H; j++) {
                assert.equal(w[i * H + j], i === j ? Math.fround(expectedScale) : 0, `${mode} ${p.name} gate ${g} [${i}, ${j}]`);
              }
            }
          }
        } else if (p.name.startsWith("bias")) {
          assert.ok(p.value.every((v) => v === 0), `${mode} ${p.name} must be 0`);
        } else {
          // W_ih ~ N(0, 0.001²): small, not all zero, not all equal.
          assert.ok(p.value.every((v) => Math.abs(v) < 0.01), `${mode} ${p.name} must be small`);
          assert.ok(new Set(p.value).size > p.size / 2, `${mode} ${p.name} must be random`);
        }
      }
    }
  });
});

describe("init: LSTM forget-gate bias", () => {
  it("sets b_if = value and b_hf = 0, other gate biases untouched", () => {
    const H = 6;
    const options: RecurrentOptions = { inputSize: 3, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 4 };
    const plain = byName(new LSTM(options));
    const layer = byName(new LSTM({ ...options, init: { forgetGateBias: 1.5 } }));
    for (const [name, p] of layer) {
      const reference = plain.get(name)!.value;
      if (name.startsWith("bias_ih") || name.startsWith("bias_hh")) {
        const forget = name.startsWith("bias_ih") ? 1.5 : 0;
        for (let j = 0; j < 4 * H; j++) {
          if (j >= H && j < 2 * H) assert.equal(p.value[j], forget, `${name}[${j}] (forget gate)`);
          else assert.equal(p.value[j], reference[j], `${name}[${j}] must keep its default`);
        }
      } else {
        assert.deepEqual(p.value, reference, `${name} must not change`);
      }
    }
  });

  it("is refused for the GRU, the RNN and an LSTM without biases", () => {
    assert.throws(() => new GRU({ inputSize: 2, hiddenSize: 3, init: { forgetGateBias: 1 } }),
      (e: unknown) => e instanceof RangeError && /forgetGateBias applies to the LSTM only, not gru/.test(e.message));
    assert.throws(() => new RNN({ inputSize: 2, hiddenSize: 3, init: { forgetGateBias: 1 } }),
      (e: unknown) => e instanceof RangeError && /forgetGateBias applies to the LSTM only, not rnn_tanh/.test(e.message));
    assert.throws(() => new LSTM({ inputSize: 2, hiddenSize: 3, bias: false, init: { forgetGateBias: 1 } }),
      (e: unknown) => e instanceof RangeError && /forgetGateBias needs a cell with biases/.test(e.message));
    assert.throws(() => new LSTM({ inputSize: 2, hiddenSize: 3, init: { forgetGateBias: Number.NaN } }),
      (e: unknown) => e instanceof RangeError && /forgetGateBias must be a finite number/.test(e.message));
  });
});

describe("init: default uniform", () => {
  for (const mode of modes) {
    it(`${mode}: every parameter within ±1/√H, spread over the range, not all equal`, () => {
      const H = 16;
      const layer = new Recurrent(mode, { inputSize: 5, hiddenSize: H, numLayers: 2, bidirectional: true, seed: 2 });
      const bound = 1 / Math.sqrt(H);
      let n = 0;
      let sum = 0;
      let sumSq = 0;
      let lowest = Infinity;
      let highest = -Infinity;
      for (const p of layer.parameters()) {
        let min = Infinity;
        let max = -Infinity;
        for (const v of p.value) {
          min = Math.min(min, v);
          max = Math.max(max, v);
          n++;
          sum += v;
          sumSq += v * v;
        }
        lowest = Math.min(lowest, min);
        highest = Math.max(highest, max);
        assert.ok(min >= -bound && max <= bound, `${p.name}: [${min}, ${max}] outside ±${bound}`);
        assert.ok(min < 0 && max > 0, `${p.name}: [${min}, ${max}] not centred on 0`);
        assert.ok(new Set(p.value).size === p.size, `${p.name}: repeated values`);
      }
      // Pooled (thousands of values): the extremes reach the bounds, mean ≈ 0, variance ≈ bound²/3.
      assert.ok(lowest < -0.98 * bound && highest > 0.98 * bound, `[${lowest}, ${highest}] does not fill ±${bound}`);
      const mean = sum / n;
      const variance = sumSq / n - mean * mean;
      assert.ok(Math.abs(mean) < 0.05 * bound, `mean ${mean}`);
      assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.1, `variance ${variance}, expected ${bound * bound / 3}`);
      // Parameters are drawn independently: no two are equal.
      const params = layer.parameters();
      for (let i = 0; i < params.length; i++) {
        for (let j = 0; j < i; j++) {
          const n = Math.min(params[i]!.size, params[j]!.size);
          assert.ok(params[i]!.value.subarray(0, n).some((v, k) => v !== params[j]!.value[k]), `${params[i]!.name} ≡ ${params[j]!.name}`);
        }
      }
    });
  }
});

describe("init: seeding", () => {
  const inits = [{}, { recurrent: "orthogonal" as const }, { recurrent: "identity" as const }, { forgetGateBias: 1 }];
  for (const mode of modes) {
    it(`${mode}: same seed → bit-identical parameters, different seed → different`, () => {
      for (const init of inits) {
        if ("forgetGateBias" in init && mode !== "lstm") continue;
        const options = { inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, init };
        const a = snapshot(new Recurrent(mode, { ...options, seed: 42 }));
        const b = snapshot(new Recurrent(mode, { ...options, seed: 42 }));
        const c = snapshot(new Recurrent(mode, { ...options, seed: 43 }));
        const viaRng = snapshot(new Recurrent(mode, { ...options, seed: new Rng(42) }));
        assert.ok(bitIdentical(a, b), `${mode} ${JSON.stringify(init)}: seed 42 twice differs`);
        assert.ok(bitIdentical(a, viaRng), `${mode} ${JSON.stringify(init)}: seed 42 vs new Rng(42) differs`);
        assert.ok(!bitIdentical(a, c), `${mode} ${JSON.stringify(init)}: seeds 42 and 43 give the same parameters`);
        // Not merely one element: every random parameter differs between the seeds.
        a.forEach((values, i) => {
          if (values.every((v) => v === 0 || v === 1)) return; // deterministic (identity W_hh, zero biases)
          assert.ok(values.some((v, k) => v !== c[i]![k]), `${mode} ${JSON.stringify(init)}: parameter ${i} equal across seeds`);
        });
      }
    });
  }

  it("the default seed is 0 (no seed = seed 0)", () => {
    const a = snapshot(new LSTM({ inputSize: 3, hiddenSize: 4 }));
    const b = snapshot(new LSTM({ inputSize: 3, hiddenSize: 4, seed: 0 }));
    assert.ok(bitIdentical(a, b));
  });
});
