/**
 * Float64 arithmetic for gradient checks. The reference kernels are written for any typed array, so
 * a backend whose `allocate` returns Float64Array runs the very same cell code in double precision.
 * Finite differences then have ~1e-9 relative error instead of ~1e-3, and the checks can be tight
 * enough to catch any missing term.
 */
import { type Kernels, referenceKernels } from "../../src/kernels/index.js";
import { onBackend } from "./backend.js";

export const float64Kernels: Kernels = {
  ...referenceKernels,
  name: "reference-float64",
  allocate: (length: number) => new Float64Array(length) as unknown as Float32Array,
};

/** A Float64Array typed as the Float32Array the library's signatures name. */
export function f64(values: ArrayLike<number> | number): Float32Array {
  return (typeof values === "number" ? new Float64Array(values) : Float64Array.from(values)) as unknown as Float32Array;
}

/** Runs `body` with the float64 backend active (everything it creates is float64). */
export function inFloat64<T>(body: () => T): T {
  return onBackend(float64Kernels, body);
}
