/**
 * Softmax cross-entropy over N rows of C logits, loss and gradient together (kernels.ts states the
 * maths, reference.ts is the specification). Per row, three passes over its C values while they sit
 * in the cache:
 *   1. m = max z (4 lanes; a NaN is skipped here and propagates through the sum instead), and the
 *      first index reaching it (the prediction, for the accuracy);
 *   2. e_j = exp(z_j − m) (exp4, ≤ 1 ulp), s = Σ e_j in float64; e_j is parked in dLogits;
 *   3. dLogits_j = e_j · (scale·w / s) in float64, rounded once, minus scale·w at the target.
 * loss += w·(m + log s − z_t) in float64. A row whose maximum is ±∞ takes the reference's float64
 * path (logsumexp = m). Pointers are byte addresses of the first element; weights = 0: no weights,
 * dLogits = 0: loss only.
 */
import { exp4 } from "./activations";
import { loadLanes as loadTail, storeLanes as storeTail } from "./vector";

/** Rows whose prediction was their target, in the last call (read by the wrapper: a second result). */
export let softmaxHits: i32 = 0;

// @ts-ignore: decorator
@inline function laneMask(n: i32): v128 {
  return i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(n));
}

export function softmaxCrossEntropy(
  N: i32, C: i32, logits: usize, targets: usize, weights: usize, ignoreIndex: i32, scale: f64, dLogits: usize,
): f64 {
  let loss: f64 = 0;
  let hits = 0;
  const rowBytes = <usize>C << 2;
  const full = C & ~3;
  for (let r = 0; r < N; r++) {
    const t = load<i32>(targets + (<usize>r << 2));
    const w: f64 = weights == 0 ? 1 : <f64>load<f32>(weights + (<usize>r << 2));
    const z = logits + <usize>r * rowBytes;
    const d = dLogits + <usize>r * rowBytes;
    if (t == ignoreIndex || w == 0) {
      if (dLogits != 0) memory.fill(d, 0, rowBytes);
      continue;
    }
    // 1. the maximum, 4 lanes then the tail
    let mv = f32x4.splat(-Infinity);
    for (let j = 0; j < full; j += 4) mv = f32x4.pmax(mv, v128.load(z + (<usize>j << 2)));
    let m = max4(mv);
    for (let j = full; j < C; j++) {
      const x = load<f32>(z + (<usize>j << 2));
      if (x > m) m = x;
    }
    const zt: f64 = <f64>load<f32>(z + (<usize>t << 2));
    if (isFinite(m)) {
      if (argmaxOf(z, C, m) == t) hits++;
      // 2. e_j = exp(z_j − m), Σ in float64
      const mm = f32x4.splat(m);
      let s0 = f64x2.splat(0);
      let s1 = f64x2.splat(0);
      for (let j = 0; j < C; j += 4) {
        const n = min(4, C - j);
        const off = <usize>j << 2;
        let e = exp4(f32x4.sub(loadTail(z + off, n), mm));
        if (n < 4) e = v128.and(e, laneMask(n));
        if (dLogits != 0) storeTail(d + off, e, n);
        s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
        s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 2, 3)));
      }
      const sv = f64x2.add(s0, s1);
      const s = f64x2.extract_lane(sv, 0) + f64x2.extract_lane(sv, 1);
      loss += w * (<f64>m + Math.log(s) - zt);
      if (dLogits == 0) continue;
      // 3. dLogits = e · scale·w / s, minus scale·w at the target
      // In float64, rounded once to float32 (as the reference): e·(scale·w/s).
      const ws = w * scale;
      const factor = f64x2.splat(ws / s);
      for (let j = 0; j < C; j += 4) {
        const n = min(4, C - j);
        const off = <usize>j << 2;
        const e = loadTail(d + off, n);
        const lo = f64x2.mul(f64x2.promote_low_f32x4(e), factor);
        const hi = f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 2, 3)), factor);
        const both = v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
        storeTail(d + off, both, n);
      }
      const dt = d + (<usize>t << 2);
      store<f32>(dt, <f32>(<f64>load<f32>(dt) - ws));
    } else {
      // m = ±∞ (or every value NaN or −∞): as the reference, logsumexp = m, which the maximum over
      // all values, NaN included, gives.
      let lse: f64 = <f64>load<f32>(z);
      let best = 0;
      for (let j = 1; j < C; j++) {
        const x = <f64>load<f32>(z + (<usize>j << 2));
        if (x > <f64>load<f32>(z + (<usize>best << 2))) best = j;
        lse = Math.max(lse, x);
      }
      if (best == t) hits++;
      loss += w * (lse - zt);
      if (dLogits == 0) continue;
      const ws = w * scale;
      for (let j = 0; j < C; j++) {
        const x = <f64>load<f32>(z + (<usize>j << 2));
        store<f32>(d + (<usize>j << 2), <f32>(ws * Math.exp(x - lse)));
      }
      const dt = d + (<usize>t << 2);
      store<f32>(dt, <f32>(<f64>load<f32>(dt) - ws));
    }
  }
  softmaxHits = hits;
  return loss;
}

/** The largest lane (NaN lanes skipped). */
// @ts-ignore: decorator
@inline function max4(v: v128): f32 {
  let m = f32x4.extract_lane(v, 0);
  const a = f32x4.extract_lane(v, 1);
  const b = f32x4.extract_lane(v, 2);
  const c = f32x4.extract_lane(v, 3);
  if (a > m) m = a;
  if (b > m) m = b;
  if (c > m) m = c;
  return m;
}

/**
 * The reference's argmax (the first j with z_j > every earlier value): the first index holding the
 * maximum m of the non-NaN values, except that a NaN at index 0 is never beaten.
 */
function argmaxOf(z: usize, C: i32, m: f32): i32 {
  if (isNaN(load<f32>(z))) return 0;
  const mm = f32x4.splat(m);
  const full = C & ~3;
  for (let j = 0; j < full; j += 4) {
    if (v128.any_true(f32x4.eq(v128.load(z + (<usize>j << 2)), mm))) {
      for (let k = j; ; k++) if (load<f32>(z + (<usize>k << 2)) == m) return k;
    }
  }
  for (let j = full; j < C; j++) if (load<f32>(z + (<usize>j << 2)) == m) return j;
  return 0;
}
