/** Assertions shared by the numeric tests. */
import assert from "node:assert/strict";
import { Rng } from "../../src/tensor/rng.js";

/** |a − b| ≤ atol + rtol·|b| elementwise, reporting the worst element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-6, atol = 1e-9): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Values ~ U(−scale, scale) written into `out` (any typed array). */
export function fillRandom<A extends { length: number; [i: number]: number }>(out: A, rng: Rng, scale = 1): A {
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-scale, scale);
  return out;
}

/** Indices to probe in a tensor of `n` elements: all of them when small, else a seeded sample. */
export function probeIndices(n: number, rng: Rng, max = 24): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < max) picked.add(rng.int(n));
  return [...picked];
}

/**
 * Central-difference derivative of `loss` with respect to `values[index]`, restoring the value.
 * Use with float64 arrays (see float64.ts) for tight tolerances.
 */
export function numericDerivative(values: { [i: number]: number }, index: number, loss: () => number, eps = 1e-6): number {
  const saved = values[index]!;
  values[index] = saved + eps;
  const plus = loss();
  values[index] = saved - eps;
  const minus = loss();
  values[index] = saved;
  return (plus - minus) / (2 * eps);
}
