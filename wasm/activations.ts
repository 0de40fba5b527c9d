/**
 * σ, tanh and exp on four float32 lanes at once, accurate to a few ulp (Cephes' single-precision
 * polynomials). The reference computes in float64 and rounds once; the worst errors measured against
 * float64 over dense sweeps (test/kernels/activations.test.ts) are
 *   exp ≤ 1 ulp,  σ ≤ 2.5 ulp,  tanh ≤ 1.5 ulp   (1 ulp = the float32 spacing at the result)
 * and the conformance tests' tolerances are built on them. NaN propagates; ±∞ and large arguments
 * saturate as in float64 (σ → 0 or 1, tanh → ±1), tanh(±0) = ±0.
 *
 * The constants live in a table in memory, one 4-lane vector each: V8 materialises a v128 constant
 * with three instructions and repeats them in every loop iteration, while a load from the table is
 * one instruction (or none, folded into the arithmetic).
 */

// exp(x) = 2ⁿ · e^r with n = round(x / ln 2), r = x − n·ln 2 (ln 2 split in two for an exact product).
// x is clamped to [−87.34, 88.38] so that 2ⁿ stays a normal float (n ∈ [−126, 127]); σ and tanh
// need no more. n is rounded with the 1.5·2²³ trick, which also leaves n in the low bits of t.
const TABLE: usize = memory.data<f32>([
  88.3762626647949, 88.3762626647949, 88.3762626647949, 88.3762626647949, //       0: EXP_HI
  -87.3365447505531, -87.3365447505531, -87.3365447505531, -87.3365447505531, //  16: EXP_LO
  1.44269504088896341, 1.44269504088896341, 1.44269504088896341, 1.44269504088896341, // 32: log₂e
  12582912, 12582912, 12582912, 12582912, //                                      48: 1.5·2²³
  0.693359375, 0.693359375, 0.693359375, 0.693359375, //                          64: ln 2 (high part)
  -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, //              80: ln 2 (low part)
  1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, //          96: e^r polynomial …
  1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, //         112
  8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, //         128
  4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, //         144
  1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, //         160
  5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, //         176
  1, 1, 1, 1, //                                                                 192: 1
  2, 2, 2, 2, //                                                                 208: 2
  0.625, 0.625, 0.625, 0.625, //                                                 224: tanh's small/large threshold
  -5.70498872745e-3, -5.70498872745e-3, -5.70498872745e-3, -5.70498872745e-3, // 240: tanh polynomial …
  2.06390887954e-2, 2.06390887954e-2, 2.06390887954e-2, 2.06390887954e-2, //     256
  -5.37397155531e-2, -5.37397155531e-2, -5.37397155531e-2, -5.37397155531e-2, // 272
  1.33314422036e-1, 1.33314422036e-1, 1.33314422036e-1, 1.33314422036e-1, //     288
  -3.33332819422e-1, -3.33332819422e-1, -3.33332819422e-1, -3.33332819422e-1, // 304
  -0.0, -0.0, -0.0, -0.0, //                                                     320: sign bits
], 16);

const EXP_HI = 0;
const EXP_LO = 16;
const LOG2E = 32;
const ROUND = 48;
const LN2_HI = 64;
const LN2_LO = 80;
const P0 = 96;
const ONE = 192;
const TWO = 208;
const TANH_SMALL = 224;
const Q0 = 240;
const SIGN = 320;

// @ts-ignore: decorator
@inline function c(offset: i32): v128 {
  return v128.load(TABLE + <usize>offset);
}

/** e^x per lane; clamped to [e^−87.34, e^88.38]; NaN stays NaN. */
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  // pmin/pmax with x first keep a NaN lane (its comparisons are false).
  x = f32x4.pmax(f32x4.pmin(x, c(EXP_HI)), c(EXP_LO));
  const t = f32x4.add(f32x4.mul(x, c(LOG2E)), c(ROUND)); // bits of t: 0x4B400000 + n
  const n = f32x4.sub(t, c(ROUND));
  let r = f32x4.sub(x, f32x4.mul(n, c(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, c(LN2_LO)));
  // e^r on |r| ≤ ln2/2: 1 + r + r²·P(r), P of degree 5 evaluated by Estrin's scheme (pairs, then
  // powers of r²) rather than Horner's: half the dependent steps, which is what limits throughput.
  const r2 = f32x4.mul(r, r);
  const r4 = f32x4.mul(r2, r2);
  const p01 = f32x4.add(f32x4.mul(c(P0), r), c(P0 + 16));
  const p23 = f32x4.add(f32x4.mul(c(P0 + 32), r), c(P0 + 48));
  const p45 = f32x4.add(f32x4.mul(c(P0 + 64), r), c(P0 + 80));
  const p = f32x4.add(f32x4.add(f32x4.mul(p23, r2), p45), f32x4.mul(p01, r4));
  const er = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), c(ONE));
  // 2ⁿ: (0x4B400000 + n + 127) << 23 — the 0x4B4… part shifts out of the word.
  const scale = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  return f32x4.mul(er, scale);
}

/** σ(x) = 1 / (1 + e^−x) per lane. */
// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  const one = c(ONE);
  return f32x4.div(one, f32x4.add(one, exp4(v128.xor(x, c(SIGN)))));
}

/**
 * tanh(x) per lane, computed on |x| and given x's sign (tanh is odd, so tanh(−0) = −0): an odd
 * polynomial for |x| < 0.625 (no cancellation near 0), else 1 − 2 / (e^{2|x|} + 1).
 */
// @ts-ignore: decorator
@inline export function tanh4(x: v128): v128 {
  const ax = v128.andnot(x, c(SIGN));
  const one = c(ONE);
  const e = exp4(f32x4.add(ax, ax));
  const large = f32x4.sub(one, f32x4.div(c(TWO), f32x4.add(e, one)));
  // |x| + |x|³·Q(x²) (Cephes tanhf).
  const z = f32x4.mul(ax, ax);
  let q = c(Q0);
  q = f32x4.add(f32x4.mul(q, z), c(Q0 + 16));
  q = f32x4.add(f32x4.mul(q, z), c(Q0 + 32));
  q = f32x4.add(f32x4.mul(q, z), c(Q0 + 48));
  q = f32x4.add(f32x4.mul(q, z), c(Q0 + 64));
  const small = f32x4.add(f32x4.mul(f32x4.mul(q, z), ax), ax);
  const magnitude = v128.bitselect(small, large, f32x4.lt(ax, c(TANH_SMALL)));
  return v128.or(magnitude, v128.and(x, c(SIGN)));
}

/** Exported for the accuracy test: out[i] = f(x[i]) for f = 0 exp, 1 σ, 2 tanh; n a multiple of 4. */
export function activate(kind: i32, n: i32, x: usize, out: usize): void {
  for (let i = 0; i < n; i += 4) {
    const off = <usize>i << 2;
    const v = v128.load(x + off);
    v128.store(out + off, kind == 0 ? exp4(v) : kind == 1 ? sigmoid4(v) : tanh4(v));
  }
}
