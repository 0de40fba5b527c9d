/**
 * The small reductions and broadcasts: bias rows, bias gradients, squared norms.
 * Pointers are byte addresses of the first element (the caller adds the offsets).
 */
import { loadLanes, storeLanes } from "./vector";

/** C[m, :] += bias[:] for m < M; C is (M, N) with contiguous rows. */
export function addRowVector(M: i32, N: i32, c: usize, bias: usize): void {
  for (let m = 0; m < M; m++) {
    const row = c + (<usize>(m * N) << 2);
    for (let j = 0; j < N; j += 4) {
      const n = min(4, N - j);
      const off = <usize>j << 2;
      storeLanes(row + off, f32x4.add(loadLanes(row + off, n), loadLanes(bias + off, n)), n);
    }
  }
}

/** out[n] += Σ_m A[m, n]; A is (M, N) with contiguous rows. Sums 8 columns at a time down the rows. */
export function sumRowsInto(M: i32, N: i32, a: usize, out: usize): void {
  const rowBytes = <usize>N << 2;
  for (let j = 0; j < N; j += 8) {
    const n0 = min(4, N - j);
    const n1 = min(4, N - j - 4);
    const off = <usize>j << 2;
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    let p = a + off;
    for (let m = 0; m < M; m++) {
      s0 = f32x4.add(s0, loadLanes(p, n0));
      if (n1 > 0) s1 = f32x4.add(s1, loadLanes(p + 16, n1));
      p += rowBytes;
    }
    storeLanes(out + off, f32x4.add(loadLanes(out + off, n0), s0), n0);
    if (n1 > 0) storeLanes(out + off + 16, f32x4.add(loadLanes(out + off + 16, n1), s1), n1);
  }
}

/** Σ_i (a[i] + b[i])² over n elements (b = 0: no b), in float64 as the reference. */
export function sumSquares(n: i32, a: usize, b: usize): f64 {
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  for (let i = 0; i < n; i += 4) {
    const k = min(4, n - i);
    const off = <usize>i << 2;
    const x = loadLanes(a + off, k);
    let lo = f64x2.promote_low_f32x4(x);
    let hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3));
    if (b != 0) {
      const y = loadLanes(b + off, k);
      lo = f64x2.add(lo, f64x2.promote_low_f32x4(y));
      hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(y, y, 2, 3, 2, 3)));
    }
    s0 = f64x2.add(s0, f64x2.mul(lo, lo));
    s1 = f64x2.add(s1, f64x2.mul(hi, hi));
  }
  const s = f64x2.add(s0, s1);
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}
