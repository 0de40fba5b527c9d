/**
 * The conformance harness every backend runs: a kernel is called on random arrays placed at an offset
 * inside larger arrays of the backend (guard values around them), and every array afterwards — inputs
 * must be unchanged, outputs written, the guards untouched — is compared with the reference kernel
 * run in float64 on Float64Array copies (the specification computed without float32 rounding).
 *
 * Both backends are held to the same tolerances, |x − exact| ≤ atol + rtol·|exact|; each test file
 * states and justifies its own.
 */
import assert from "node:assert/strict";
import { nodeThreadSpawner } from "../../src/io/worker-threads.js";
import { type Kernels, createWasmKernelsSync, referenceKernels } from "../../src/kernels/index.js";
import { type NativeKernels, createNativeKernels } from "../../src/native/index.js";
import { Rng } from "../../src/tensor/rng.js";

/** One wasm backend per test process (its memory holds the arrays it allocated), on one thread. */
export const wasmKernels = createWasmKernelsSync({ threads: 1 });

/**
 * wasm-simd on 2 threads, every GEMM split (no size threshold), so that each conformance test also
 * runs the split products; named apart from the one-thread backend in the results.
 */
const threaded = createWasmKernelsSync({ threads: 2, spawner: nodeThreadSpawner, minSplitFlops: 0 });
if ((await threaded.threadsReady()) !== 2) throw new Error(`the 2-thread wasm backend did not start: ${threaded.threadsNote}`);
export const threadedWasmKernels: Kernels = { ...threaded, name: "wasm-simd ×2" };

/**
 * The native backend, or null where its addon is not built: CI builds it, so test/native/ fails when it
 * is missing unless BPTT_EXPECT_NATIVE=0 says a machine has no compiler.
 */
export const nativeKernels: NativeKernels | null = (() => {
  try {
    return createNativeKernels();
  } catch {
    return null;
  }
})();

/** The backends under test: the reference (float32 arrays), wasm-simd on 1 and 2 threads, and native (when built). */
export const BACKENDS: readonly Kernels[] = [referenceKernels, wasmKernels, threadedWasmKernels, ...(nativeKernels ? [nativeKernels] : [])];

/** float32 unit roundoff 2⁻²⁴. */
export const U = 2 ** -24;

/** Guard value written around every array; a kernel that writes out of bounds changes it. */
const GUARD = -12345.5;
const GUARDS = 3;

export type Values = Float32Array | Float64Array;

export interface ArraySpec {
  name: string;
  length: number;
  /** Values ~ U(−scale, scale); "mask" gives 0/1 values with ~30% zeros. */
  fill: number | "mask" | "null";
}

export interface KernelCall {
  /** Runs the kernel on `arrays` (each at `offset`); may return a number (sumSquares). */
  (k: Kernels, arrays: Record<string, Float32Array | null>, offset: number): number | void;
}

export interface Tolerance {
  rtol: number;
  atol: number;
}

/** Random initial contents for each spec (null for "null"). */
export function randomInputs(specs: readonly ArraySpec[], rng: Rng): Record<string, Float64Array | null> {
  const out: Record<string, Float64Array | null> = {};
  for (const spec of specs) {
    if (spec.fill === "null") {
      out[spec.name] = null;
      continue;
    }
    const v = new Float64Array(spec.length);
    for (let i = 0; i < v.length; i++) {
      // Values rounded to float32, so that every backend starts from the same numbers.
      v[i] = spec.fill === "mask" ? (rng.next() < 0.3 ? 0 : 1) : Math.fround(rng.uniform(-spec.fill, spec.fill));
    }
    out[spec.name] = v;
  }
  return out;
}

/** `values` placed at `offset` in an array of `make` (guards before and after). */
export function place(make: (n: number) => Values, values: Float64Array, offset: number): Values {
  const a = make(offset + values.length + GUARDS);
  a.fill(GUARD);
  a.set(values, offset);
  return a;
}

/**
 * Runs `call` in float64 (reference kernels on Float64Array: the exact result) and on each backend;
 * asserts every array within `tol` of the exact result and the guards intact. Returns the results
 * per backend name for further checks.
 */
export function checkKernel(
  what: string, specs: readonly ArraySpec[], call: KernelCall, tol: Tolerance | ((name: string) => Tolerance), rng: Rng,
  backends: readonly Kernels[] = BACKENDS,
): Map<string, Record<string, Float32Array | null>> & { margin: Map<string, number> } {
  const inputs = randomInputs(specs, rng);
  const offset = 1 + rng.int(5);
  const exact = run(referenceKernels, inputs, offset, (n) => new Float64Array(n), call);
  const results = Object.assign(new Map<string, Record<string, Float32Array | null>>(), { margin: new Map<string, number>() });
  for (const k of backends) {
    const got = run(k, inputs, offset, (n) => k.allocate(n), call);
    for (const spec of specs) {
      const a = got.arrays[spec.name];
      const e = exact.arrays[spec.name];
      if (a === null || e === null || a === undefined || e === undefined) continue;
      const t = typeof tol === "function" ? tol(spec.name) : tol;
      assertWithin(a, e, offset, spec.length, t, `${what} on ${k.name}: ${spec.name}`);
      const m = excess(a.subarray(offset, offset + spec.length), e.subarray(offset, offset + spec.length), t);
      results.margin.set(k.name, Math.max(results.margin.get(k.name) ?? 0, m));
      for (let i = 0; i < a.length; i++) {
        if (i >= offset && i < offset + spec.length) continue;
        if (a[i] !== GUARD) assert.fail(`${what} on ${k.name}: ${spec.name}[${i}] outside the block was written (${a[i]})`);
      }
    }
    if (exact.result !== undefined) {
      const t = typeof tol === "function" ? tol("result") : tol;
      const r = got.result as number;
      assert.ok(Math.abs(r - exact.result) <= t.atol + t.rtol * Math.abs(exact.result), `${what} on ${k.name}: result ${r}, exact ${exact.result}`);
    }
    results.set(k.name, got.arrays as Record<string, Float32Array | null>);
  }
  return results;
}

function run(
  k: Kernels, inputs: Record<string, Float64Array | null>, offset: number, make: (n: number) => Values, call: KernelCall,
): { arrays: Record<string, Values | null>; result: number | undefined } {
  const arrays: Record<string, Values | null> = {};
  for (const [name, values] of Object.entries(inputs)) arrays[name] = values === null ? null : place(make, values, offset);
  const result = call(k, arrays as Record<string, Float32Array | null>, offset);
  return { arrays, result: typeof result === "number" ? result : undefined };
}

/** |a[offset + i] − e[offset + i]| ≤ atol + rtol·|e| for i < n, naming the worst element. */
export function assertWithin(a: ArrayLike<number>, e: ArrayLike<number>, offset: number, n: number, t: Tolerance, what: string): void {
  let worst = -1;
  let worstRatio = 0;
  for (let i = offset; i < offset + n; i++) {
    const allowed = t.atol + t.rtol * Math.abs(e[i]!);
    const ratio = Math.abs(a[i]! - e[i]!) / allowed;
    if (!(ratio <= 1) && (worst < 0 || ratio > worstRatio || Number.isNaN(ratio))) {
      worst = i;
      worstRatio = ratio;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst - offset} is ${a[worst]}, exact ${e[worst]} (rtol ${t.rtol}, atol ${t.atol})`);
  }
}

/** The largest |a − e| / (atol + rtol·|e|) over the block: ≤ 1 passes (for reporting margins). */
export function excess(a: ArrayLike<number>, e: ArrayLike<number>, t: Tolerance): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / (t.atol + t.rtol * Math.abs(e[i]!)));
  return worst;
}

/** Bit patterns equal (NaN-safe, distinguishes −0). */
export function assertBitIdentical(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) assert.fail(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
  }
}
