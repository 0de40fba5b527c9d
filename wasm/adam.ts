/**
 * One Adam/AdamW update (kernels.ts states the maths, reference.ts is the specification), in float64
 * per element exactly as the reference: the same operations in the same order, each correctly
 * rounded (f64x2 lanes, wasm's f64 max propagating NaN as Math.max does), and one rounding to float32
 * per stored value. So the result is bit-identical to the reference.
 * Pointers are byte addresses of each block's first element; vMax = 0: no amsgrad maximum.
 */

export function adamStep(
  n: i32, theta: usize, grad: usize, m: usize, v: usize, vMax: usize,
  beta1: f64, beta2: f64, eps: f64, stepSize: f64, biasCorrection2Sqrt: f64, l2: f64, shrink: f64,
): void {
  const b1 = f64x2.splat(beta1);
  const b2 = f64x2.splat(beta2);
  const c1 = f64x2.splat(1 - beta1);
  const c2 = f64x2.splat(1 - beta2);
  const e = f64x2.splat(eps);
  const step = f64x2.splat(stepSize);
  const bc2 = f64x2.splat(biasCorrection2Sqrt);
  const decay = f64x2.splat(l2);
  const sh = f64x2.splat(shrink);
  const full = n & ~1;
  for (let j = 0; j < full; j += 2) {
    const off = <usize>j << 2;
    const p = f64x2.mul(widen(theta + off), sh);
    const g = f64x2.add(widen(grad + off), f64x2.mul(decay, p));
    const mj = f64x2.add(f64x2.mul(b1, widen(m + off)), f64x2.mul(c1, g));
    const vj = f64x2.add(f64x2.mul(b2, widen(v + off)), f64x2.mul(f64x2.mul(c2, g), g));
    narrow(m + off, mj);
    narrow(v + off, vj);
    let vHat = vj;
    if (vMax != 0) {
      vHat = f64x2.max(widen(vMax + off), vj);
      narrow(vMax + off, vHat);
    }
    narrow(theta + off, f64x2.sub(p, f64x2.div(f64x2.mul(step, mj), f64x2.add(f64x2.div(f64x2.sqrt(vHat), bc2), e))));
  }
  for (let j = full; j < n; j++) {
    const off = <usize>j << 2;
    const p = <f64>load<f32>(theta + off) * shrink;
    const g = <f64>load<f32>(grad + off) + l2 * p;
    const mj = beta1 * <f64>load<f32>(m + off) + (1 - beta1) * g;
    const vj = beta2 * <f64>load<f32>(v + off) + (1 - beta2) * g * g;
    store<f32>(m + off, <f32>mj);
    store<f32>(v + off, <f32>vj);
    let vHat = vj;
    if (vMax != 0) {
      vHat = max<f64>(<f64>load<f32>(vMax + off), vj);
      store<f32>(vMax + off, <f32>vHat);
    }
    store<f32>(theta + off, <f32>(p - (stepSize * mj) / (Math.sqrt(vHat) / biasCorrection2Sqrt + eps)));
  }
}

/** Two float32 at p as two float64 lanes. */
// @ts-ignore: decorator
@inline function widen(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** The two float64 lanes of x rounded to float32 and stored at p. */
// @ts-ignore: decorator
@inline function narrow(p: usize, x: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(x), 0);
}
