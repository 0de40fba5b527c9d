/**
 * Accuracy of wasm-simd's σ, tanh and exp (wasm/activations.ts) against Math.exp / Math.tanh in
 * float64, in ulp of the float32 result, over dense sweeps (10⁶ points per range). Measured worst
 * cases (this machine, any engine gives the same: the arithmetic is IEEE float32):
 *   exp ≤ 1.0 ulp, σ ≤ 2.5 ulp, tanh ≤ 1.4 ulp.
 * Asserted: exp ≤ 1.5, σ ≤ 3, tanh ≤ 2. Also the limits: NaN propagates, ±∞ and large arguments
 * saturate (σ → 0, 1; tanh → ±1), tanh(±0) = ±0.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { wasmKernels } from "./conformance.js";

const EXP = 0;
const SIGMOID = 1;
const TANH = 2;

const w = wasmKernels.exports;
const N = 1 << 20;
const x = wasmKernels.allocate(N);
const y = wasmKernels.allocate(N);

function apply(kind: number, values: ArrayLike<number>): Float32Array {
  x.fill(0);
  x.set(values);
  w.activate(kind, Math.ceil(values.length / 4) * 4, x.byteOffset, y.byteOffset);
  return y.slice(0, values.length);
}

/** Spacing of float32 numbers at |v| (subnormal spacing below 2⁻¹²⁶). */
function ulp(v: number): number {
  const a = Math.abs(Math.fround(v));
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

function worstUlp(kind: number, f: (v: number) => number, lo: number, hi: number): { ulps: number; at: number } {
  const values = new Float32Array(N);
  for (let i = 0; i < N; i++) values[i] = lo + ((hi - lo) * i) / (N - 1);
  const got = apply(kind, values);
  let ulps = 0;
  let at = 0;
  for (let i = 0; i < N; i++) {
    const exact = f(values[i]!);
    const e = Math.abs(got[i]! - exact) / ulp(exact);
    if (!(e <= ulps)) {
      ulps = e;
      at = values[i]!;
    }
  }
  return { ulps, at };
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

describe("wasm-simd activations", () => {
  const ranges: [number, number][] = [[-30, 30], [-2, 2], [-0.7, 0.7], [-1e-3, 1e-3]];
  for (const [lo, hi] of ranges) {
    it(`σ, tanh on [${lo}, ${hi}] and exp on [max(${lo}, −87), min(${hi}, 88)]`, (t) => {
      const e = worstUlp(EXP, Math.exp, Math.max(lo, -87), Math.min(hi, 88));
      const s = worstUlp(SIGMOID, sigmoid, lo, hi);
      const h = worstUlp(TANH, Math.tanh, lo, hi);
      t.diagnostic(`worst: exp ${e.ulps.toFixed(2)} ulp at ${e.at}, σ ${s.ulps.toFixed(2)} at ${s.at}, tanh ${h.ulps.toFixed(2)} at ${h.at}`);
      assert.ok(e.ulps <= 1.5, `exp: ${e.ulps} ulp at ${e.at}`);
      assert.ok(s.ulps <= 3, `σ: ${s.ulps} ulp at ${s.at}`);
      assert.ok(h.ulps <= 2, `tanh: ${h.ulps} ulp at ${h.at}`);
    });
  }

  it("limits: NaN, ±∞, huge arguments, signed zero", () => {
    const inputs = [Number.NaN, Infinity, -Infinity, 1e30, -1e30, 100, -100, 0, -0];
    const s = apply(SIGMOID, inputs);
    const h = apply(TANH, inputs);
    assert.ok(Number.isNaN(s[0]!) && Number.isNaN(h[0]!), "NaN propagates");
    // σ of a hugely negative argument is within 1e-38 of 0 (e^x is clamped at e^88.4, not ∞).
    for (const i of [1, 3, 5]) assert.equal(s[i], 1, `σ(${inputs[i]})`);
    for (const i of [2, 4, 6]) assert.ok(s[i]! >= 0 && s[i]! < 1e-38, `σ(${inputs[i]}) = ${s[i]}`);
    assert.deepEqual([s[7], s[8]], [0.5, 0.5]);
    assert.deepEqual([...h.slice(1)], [1, -1, 1, -1, 1, -1, 0, -0]);
    assert.ok(Object.is(h[8], -0), "tanh(−0) = −0");
  });
});
