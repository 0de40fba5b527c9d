/**
 * Loads and stores of n ≤ 4 float32 lanes, so that the row tails of the elementwise kernels (H not a
 * multiple of 4) run through exactly the same vector arithmetic as the full vectors.
 */

/** Lanes 0…n−1 from p (n = 1…4), the others 0. */
// @ts-ignore: decorator
@inline export function loadLanes(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores lanes 0…n−1 of v at p (n = 1…4). */
// @ts-ignore: decorator
@inline export function storeLanes(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
    return;
  }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** 1 − x² as (1 − x)(1 + x): exact-ish where x² ≈ 1 (tanh′ near saturation), as the float64 reference. */
// @ts-ignore: decorator
@inline export function oneMinusSquare(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.mul(f32x4.sub(one, x), f32x4.add(one, x));
}

/** mask == 0 (no mask) or mask[b] ≠ 0: row b is a real step. */
// @ts-ignore: decorator
@inline export function rowValid(mask: usize, b: i32): bool {
  return mask == 0 || load<f32>(mask + (<usize>b << 2)) != 0;
}
