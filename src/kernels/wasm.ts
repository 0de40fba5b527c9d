/**
 * The WebAssembly SIMD backend ("wasm-simd"): the kernels of `kernels.ts` compiled from the
 * AssemblyScript sources in wasm/ (register-blocked f32x4 GEMM, fused cell steps), embedded in
 * `wasm-binary.ts` by scripts/build-wasm.mjs, so that it loads the same way in Node.js and browsers
 * (no fetch, no file system).
 *
 * Arrays: `allocate` hands out views of the module's linear memory (see wasm-memory.ts), and every
 * kernel addresses them there directly. An argument that is not in that memory — a plain
 * Float32Array from user code, or an array allocated before this backend was selected — is copied in
 * and, if written, out again around the call; an argument that is not a Float32Array at all (the
 * float64 test backend's arrays) runs the reference kernel for that call. Offsets and extents are
 * checked before any pointer reaches the module, so a bad call throws a RangeError instead of
 * touching another array.
 *
 * Numerics against the reference (float64 arithmetic, one rounding): GEMM sums in float32 in a
 * different order (error within the usual bound (K + 2)·u·Σ|a||b|, u = 2⁻²⁴); σ and tanh are
 * accurate to 2.5 ulp (wasm/activations.ts); the step kernels' other arithmetic is float32; softmax
 * cross-entropy uses exp4 with float64 sums (wasm/softmax.ts) and Adam is float64 per element, bit-identical
 * to the reference (wasm/adam.ts); class targets must come from `allocateIndices`. The
 * conformance tests (test/kernels/) hold both backends to the same tolerances. Results are
 * bit-identical from run to run, and the same whether or not the arrays had to be copied.
 *
 * Loading: `createWasmKernels()` compiles asynchronously (fine everywhere); `createWasmKernelsSync()`
 * compiles synchronously, which Node.js allows for any size but browsers refuse on the main thread for
 * modules over 4 KB (it then throws, and `useBestKernels()` in index.ts is the way).
 */
import type { Kernels } from "./kernels.js";
import { WASM_BASE64, WASM_MEMORY_FLAGS_OFFSET } from "./wasm-binary.js";
import { Marshal, type WasmExports, address, requireCount, slowPaths } from "./wasm-marshal.js";
import { referenceKernels } from "./reference.js";
import { requireIds, requireTargets } from "./targets.js";
import { KernelMemory, type MemoryOptions, type WasmApi, type WasmInstance, type WasmModule, webAssembly } from "./wasm-memory.js";
import { GemmThreads, type ThreadOptions } from "./threads/gemm-threads.js";

export type { MemoryOptions } from "./wasm-memory.js";
export type { ThreadOptions } from "./threads/gemm-threads.js";

/** The backend, with a little introspection beyond the Kernels interface. */
export interface WasmKernels extends Kernels {
  readonly name: "wasm-simd";
  /** e.g. "wasm-simd (shared memory, up to 4096 MiB; 2 threads)". */
  readonly description: string;
  /** Bytes of linear memory handed out so far. */
  memoryInUse(): number;
  /** Whether `array` lives in this backend's memory (no copies when passed to a kernel). */
  owns(array: ArrayBufferView): boolean;
  /**
   * Threads that large GEMMs run on now, the calling one included (workers still starting are not
   * counted: see `threadsReady`). Results are bit-identical for any count (threads/split.ts).
   */
  readonly threads: number;
  /** Runs large GEMMs on `threads` threads from now on (1: none but the caller). */
  setThreads(threads: number): void;
  /** Resolves with `threads` once every worker thread has started (or failed to). */
  threadsReady(): Promise<number>;
  /** Why fewer threads run than requested, or "". */
  readonly threadsNote: string;
  /** GEMM calls split across threads so far. */
  splitCalls(): number;
  /** Blocks of those calls, and how many worker threads computed (a busy machine leaves them to the caller). */
  splitBlocks(): { blocks: number; onWorkers: number };
  /**
   * Kernel calls so far that had arguments outside the module's memory and so ran on copies, or on the
   * reference (a Float64Array, an in-place update of copied arrays). In a training loop both should
   * stay at 0 after the first chunk: a growing count names an array worth allocating with `allocate`.
   */
  slowCalls(): { copied: number; reference: number };
  /** The raw module exports, for the accuracy tests. */
  readonly exports: WasmExports;
}

export interface WasmKernelOptions extends MemoryOptions, ThreadOptions {}

/** Compiles and instantiates the backend asynchronously. Rejects where WebAssembly SIMD is unavailable. */
export async function createWasmKernels(options: WasmKernelOptions = {}): Promise<WasmKernels> {
  const api = requireWebAssembly();
  const memory = KernelMemory.create(api, options);
  const module = await api.compile(moduleBytes(memory.shared));
  return wrap(await api.instantiate(module, { env: { memory: memory.memory } }), module, memory, options);
}

/** The same, synchronously (Node.js; browsers allow it off the main thread or for tiny modules only). */
export function createWasmKernelsSync(options: WasmKernelOptions = {}): WasmKernels {
  const api = requireWebAssembly();
  const memory = KernelMemory.create(api, options);
  const module: WasmModule = new api.Module(moduleBytes(memory.shared));
  return wrap(new api.Instance(module, { env: { memory: memory.memory } }), module, memory, options);
}

/** Whether this JavaScript engine can run the module (WebAssembly with SIMD). */
export function wasmSimdSupported(): boolean {
  const api = webAssembly();
  if (api === null) return false;
  try {
    return api.validate(moduleBytes(false));
  } catch {
    return false;
  }
}

function requireWebAssembly(): WasmApi {
  const api = webAssembly();
  if (api === null) throw new Error("bptt wasm-simd: this JavaScript engine has no WebAssembly");
  if (!api.validate(moduleBytes(false))) throw new Error("bptt wasm-simd: this engine's WebAssembly lacks SIMD (v128)");
  return api;
}

let decoded: Uint8Array | null = null;

/** The module's bytes; the embedded module imports a shared memory, the unshared copy differs in one flag. */
function moduleBytes(shared: boolean): Uint8Array {
  decoded ??= decodeBase64(WASM_BASE64);
  if (shared) return decoded;
  const copy = decoded.slice();
  // Memory import limits: 0x03 = shared with a maximum, 0x01 = unshared with a maximum.
  if (copy[WASM_MEMORY_FLAGS_OFFSET] !== 0x03) throw new Error("bptt wasm-simd: unexpected memory import in the embedded module");
  copy[WASM_MEMORY_FLAGS_OFFSET] = 0x01;
  return copy;
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// The backend.

function wrap(instance: WasmInstance, module: WasmModule, memory: KernelMemory, options: WasmKernelOptions): WasmKernels {
  const w = instance.exports as unknown as WasmExports;
  memory.reserveStatic(w.heapBase());
  const work = memory.reserve(w.GEMM_WORKSPACE_BYTES.value);
  const threads = new GemmThreads(w, module, memory, options);
  const memoryDescription = memory.shared
    ? `shared memory, up to ${memory.maximumBytes / 1048576} MiB`
    : `fixed memory of ${memory.maximumBytes / 1048576} MiB: no SharedArrayBuffer`;
  const describeThreads = (): string => {
    const n = threads.threads;
    const starting = threads.requested > n && threads.note === "" ? `, ${threads.requested - n} starting` : "";
    return `${n} thread${n === 1 ? "" : "s"}${starting}${threads.note ? ` (${threads.note})` : ""}`;
  };
  const at = (kernel: string, name: string, array: Float32Array | null, offset: number, length: number): number =>
    address(memory, kernel, name, array, offset, 1, length, length);

  const marshal = new Marshal(memory);
  const slow = slowPaths(w, marshal, work);

  // Every kernel: validate the sizes, take each argument's address (bounds-checked, no allocation) and
  // call the module directly when all arguments are in its memory; otherwise take the slow path.
  const kernels: WasmKernels = {
    name: "wasm-simd",
    get description() {
      return `wasm-simd (${memoryDescription}; ${describeThreads()})`;
    },
    get threads() {
      return threads.threads;
    },
    get threadsNote() {
      return threads.note;
    },
    setThreads: (n) => threads.set(n),
    threadsReady: () => threads.ready(),
    splitCalls: () => threads.splitCalls,
    splitBlocks: () => threads.blockCounts,
    exports: w,

    memoryInUse: () => memory.usedBytes,
    owns: (array) => memory.contains(array),
    slowCalls: () => ({ copied: marshal.copied, reference: marshal.onReference }),

    allocate(length) {
      return memory.allocate(length);
    },

    allocateIndices(length) {
      return memory.allocateIndices(length);
    },

    gemm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, accumulate, C, cOff, ldc) {
      requireCount("gemm", "M", M);
      requireCount("gemm", "N", N);
      requireCount("gemm", "K", K);
      if (M === 0 || N === 0) return;
      const aRows = transA ? K : M;
      const aCols = transA ? M : K;
      const bRows = transB ? N : K;
      const bCols = transB ? K : N;
      const a = address(memory, "gemm", "A", A, aOff, aRows, aCols, lda);
      const b = address(memory, "gemm", "B", B, bOff, bRows, bCols, ldb);
      const c = address(memory, "gemm", "C", C, cOff, M, N, ldc);
      if (a > 0 && b > 0 && c > 0) {
        if (threads.splits(M, N, K)) {
          threads.gemm(transA, transB, M, N, K, a, lda, b, ldb, accumulate, c, ldc, work);
          return;
        }
        w.gemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, a, lda, b, ldb, accumulate ? 1 : 0, c, ldc, work);
        return;
      }
      slow.gemm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, accumulate, C, cOff, ldc);
    },

    addRowVector(M, N, C, cOff, bias, biasOff) {
      const K = "addRowVector";
      requireCount(K, "M", M);
      requireCount(K, "N", N);
      if (M === 0 || N === 0) return;
      const c = at(K, "C", C, cOff, M * N);
      const b = at(K, "bias", bias, biasOff, N);
      if (c > 0 && b > 0) {
        w.addRowVector(M, N, c, b);
        return;
      }
      slow.addRowVector(M, N, C, cOff, bias, biasOff);
    },

    sumSquares(n, a, aOff, b, bOff) {
      const K = "sumSquares";
      requireCount(K, "n", n);
      if (n === 0) return 0;
      const pa = at(K, "a", a, aOff, n);
      const pb = at(K, "b", b, bOff, n);
      if (pa > 0 && pb >= 0) return w.sumSquares(n, pa, pb);
      return slow.sumSquares(n, a, aOff, b, bOff);
    },

    sumRowsInto(M, N, A, aOff, out, outOff) {
      const K = "sumRowsInto";
      requireCount(K, "M", M);
      requireCount(K, "N", N);
      if (M === 0 || N === 0) return;
      const a = at(K, "A", A, aOff, M * N);
      const o = at(K, "out", out, outOff, N);
      if (a > 0 && o > 0) {
        w.sumRowsInto(M, N, a, o);
        return;
      }
      slow.sumRowsInto(M, N, A, aOff, out, outOff);
    },

    rnnStepForward(B, H, relu, pre, preOff, hPrev, hPrevOff, mask, maskOff, h, hOff, out, outOff) {
      const K = "rnnStepForward";
      if (empty(K, B, H)) return;
      const BH = B * H;
      const p0 = at(K, "pre", pre, preOff, BH);
      const p1 = at(K, "hPrev", hPrev, hPrevOff, BH);
      const p2 = at(K, "mask", mask, maskOff, B);
      const p3 = at(K, "h", h, hOff, BH);
      const p4 = at(K, "out", out, outOff, BH);
      if (p0 > 0 && p1 > 0 && p2 >= 0 && p3 > 0 && p4 > 0) {
        w.rnnStepForward(B, H, relu ? 1 : 0, p0, p1, p2, p3, p4);
        return;
      }
      slow.rnnStepForward(B, H, relu, pre, preOff, hPrev, hPrevOff, mask, maskOff, h, hOff, out, outOff);
    },

    rnnStepBackward(B, H, relu, h, hOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dPre, dPreOff) {
      const K = "rnnStepBackward";
      if (empty(K, B, H)) return;
      const BH = B * H;
      const p0 = at(K, "h", h, hOff, BH);
      const p1 = at(K, "dOut", dOut, dOutOff, BH);
      const p2 = at(K, "mask", mask, maskOff, B);
      const p3 = at(K, "dh", dh, dhOff, BH);
      const p4 = at(K, "dPre", dPre, dPreOff, BH);
      if (p0 > 0 && p1 > 0 && p2 >= 0 && p3 > 0 && p4 > 0) {
        w.rnnStepBackward(B, H, relu ? 1 : 0, p0, p1, p2, p3, p4);
        return;
      }
      slow.rnnStepBackward(B, H, relu, h, hOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dPre, dPreOff);
    },

    lstmStepForward(B, H, gates, gOff, cPrev, cPrevOff, hPrev, hPrevOff, mask, maskOff, c, cOff, h, hOff, out, outOff) {
      const K = "lstmStepForward";
      if (empty(K, B, H)) return;
      const BH = B * H;
      const p0 = at(K, "gates", gates, gOff, 4 * BH);
      const p1 = at(K, "cPrev", cPrev, cPrevOff, BH);
      const p2 = at(K, "hPrev", hPrev, hPrevOff, BH);
      const p3 = at(K, "mask", mask, maskOff, B);
      const p4 = at(K, "c", c, cOff, BH);
      const p5 = at(K, "h", h, hOff, BH);
      const p6 = at(K, "out", out, outOff, BH);
      if (p0 > 0 && p1 > 0 && p2 > 0 && p3 >= 0 && p4 > 0 && p5 > 0 && p6 > 0) {
        w.lstmStepForward(B, H, p0, p1, p2, p3, p4, p5, p6);
        return;
      }
      slow.lstmStepForward(B, H, gates, gOff, cPrev, cPrevOff, hPrev, hPrevOff, mask, maskOff, c, cOff, h, hOff, out, outOff);
    },

    lstmStepBackward(B, H, gates, gOff, cPrev, cPrevOff, c, cOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dc, dcOff, dGates, dgOff) {
      const K = "lstmStepBackward";
      if (empty(K, B, H)) return;
      const BH = B * H;
      const p0 = at(K, "gates", gates, gOff, 4 * BH);
      const p1 = at(K, "cPrev", cPrev, cPrevOff, BH);
      const p2 = at(K, "c", c, cOff, BH);
      const p3 = at(K, "dOut", dOut, dOutOff, BH);
      const p4 = at(K, "mask", mask, maskOff, B);
      const p5 = at(K, "dh", dh, dhOff, BH);
      const p6 = at(K, "dc", dc, dcOff, BH);
      const p7 = at(K, "dGates", dGates, dgOff, 4 * BH);
      if (p0 > 0 && p1 > 0 && p2 > 0 && p3 > 0 && p4 >= 0 && p5 > 0 && p6 > 0 && p7 > 0) {
        w.lstmStepBackward(B, H, p0, p1, p2, p3, p4, p5, p6, p7);
        return;
      }
      slow.lstmStepBackward(B, H, gates, gOff, cPrev, cPrevOff, c, cOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dc, dcOff, dGates, dgOff);
    },

    gruStepForward(B, H, xGates, xOff, hGates, hgOff, hPrev, hPrevOff, mask, maskOff, h, hOff, out, outOff) {
      const K = "gruStepForward";
      if (empty(K, B, H)) return;
      const BH = B * H;
      const p0 = at(K, "xGates", xGates, xOff, 3 * BH);
      const p1 = at(K, "hGates", hGates, hgOff, 3 * BH);
      const p2 = at(K, "hPrev", hPrev, hPrevOff, BH);
      const p3 = at(K, "mask", mask, maskOff, B);
      const p4 = at(K, "h", h, hOff, BH);
      const p5 = at(K, "out", out, outOff, BH);
      if (p0 > 0 && p1 > 0 && p2 > 0 && p3 >= 0 && p4 > 0 && p5 > 0) {
        w.gruStepForward(B, H, p0, p1, p2, p3, p4, p5);
        return;
      }
      slow.gruStepForward(B, H, xGates, xOff, hGates, hgOff, hPrev, hPrevOff, mask, maskOff, h, hOff, out, outOff);
    },

    gruStepBackward(B, H, gates, gOff, hGates, hgOff, hPrev, hPrevOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dXGates, dxOff, dHGates, dhgOff) {
      const K = "gruStepBackward";
      if (empty(K, B, H)) return;
      const BH = B * H;
      const p0 = at(K, "gates", gates, gOff, 3 * BH);
      const p1 = at(K, "hGates", hGates, hgOff, 3 * BH);
      const p2 = at(K, "hPrev", hPrev, hPrevOff, BH);
      const p3 = at(K, "dOut", dOut, dOutOff, BH);
      const p4 = at(K, "mask", mask, maskOff, B);
      const p5 = at(K, "dh", dh, dhOff, BH);
      const p6 = at(K, "dXGates", dXGates, dxOff, 3 * BH);
      const p7 = at(K, "dHGates", dHGates, dhgOff, 3 * BH);
      if (p0 > 0 && p1 > 0 && p2 > 0 && p3 > 0 && p4 >= 0 && p5 > 0 && p6 > 0 && p7 > 0) {
        w.gruStepBackward(B, H, p0, p1, p2, p3, p4, p5, p6, p7);
        return;
      }
      slow.gruStepBackward(B, H, gates, gOff, hGates, hgOff, hPrev, hPrevOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dXGates, dxOff, dHGates, dhgOff);
    },

    gatherRows(N, D, V, table, tableOff, ids, idsOff, out, outOff) {
      const K = "gatherRows";
      if (noRows(K, N, D, V, ids, idsOff)) return;
      const pt = at(K, "table", table, tableOff, V * D);
      const po = at(K, "out", out, outOff, N * D);
      if (pt > 0 && po > 0 && memory.contains(ids)) {
        w.gatherRows(N, D, pt, ids.byteOffset + idsOff * 4, po);
        return;
      }
      marshal.onReference++;
      referenceKernels.gatherRows(N, D, V, table, tableOff, ids, idsOff, out, outOff);
    },

    scatterAddRows(N, D, V, src, srcOff, ids, idsOff, skipId, table, tableOff) {
      const K = "scatterAddRows";
      if (noRows(K, N, D, V, ids, idsOff)) return;
      const ps = at(K, "src", src, srcOff, N * D);
      const pt = at(K, "table", table, tableOff, V * D);
      if (ps > 0 && pt > 0 && memory.contains(ids) && Number.isInteger(skipId) && Math.abs(skipId) < 2 ** 31) {
        w.scatterAddRows(N, D, ps, ids.byteOffset + idsOff * 4, skipId, pt);
        return;
      }
      marshal.onReference++;
      referenceKernels.scatterAddRows(N, D, V, src, srcOff, ids, idsOff, skipId, table, tableOff);
    },

    softmaxCrossEntropy(N, C, logits, lOff, targets, tOff, weights, wOff, ignoreIndex, scale, dLogits, dOff) {
      const K = "softmaxCrossEntropy";
      requireCount(K, "N", N);
      requireCount(K, "C", C);
      requireTargets(K, N, C, targets, tOff, ignoreIndex);
      if (N === 0) return { loss: 0, hits: 0 };
      const pz = at(K, "logits", logits, lOff, N * C);
      const pw = at(K, "weights", weights, wOff, N);
      const pd = at(K, "dLogits", dLogits, dOff, N * C);
      const inMemory = memory.contains(targets) && Number.isInteger(ignoreIndex) && Math.abs(ignoreIndex) < 2 ** 31;
      if (pz > 0 && pw >= 0 && pd >= 0 && inMemory) {
        const loss = w.softmaxCrossEntropy(N, C, pz, targets.byteOffset + tOff * 4, pw, ignoreIndex, scale, pd);
        return { loss, hits: w.softmaxHits.value };
      }
      // Arrays from elsewhere (user code, a Float64Array): rare, and the reference is as fast as copies would be.
      marshal.onReference++;
      return referenceKernels.softmaxCrossEntropy(N, C, logits, lOff, targets, tOff, weights, wOff, ignoreIndex, scale, dLogits, dOff);
    },

    adamStep(n, theta, thetaOff, grad, gOff, m, mOff, v, vOff, vMax, vMaxOff, beta1, beta2, eps, stepSize, biasCorrection2Sqrt, l2, shrink) {
      const K = "adamStep";
      requireCount(K, "n", n);
      if (n === 0) return;
      const p0 = at(K, "theta", theta, thetaOff, n);
      const p1 = at(K, "grad", grad, gOff, n);
      const p2 = at(K, "m", m, mOff, n);
      const p3 = at(K, "v", v, vOff, n);
      const p4 = at(K, "vMax", vMax, vMaxOff, n);
      if (p0 > 0 && p1 > 0 && p2 > 0 && p3 > 0 && p4 >= 0) {
        w.adamStep(n, p0, p1, p2, p3, p4, beta1, beta2, eps, stepSize, biasCorrection2Sqrt, l2, shrink);
        return;
      }
      // The reference gives the same bits (wasm/adam.ts), on the arrays where they are.
      marshal.onReference++;
      referenceKernels.adamStep(n, theta, thetaOff, grad, gOff, m, mOff, v, vOff, vMax, vMaxOff, beta1, beta2, eps, stepSize, biasCorrection2Sqrt, l2, shrink);
    },
  };
  return kernels;
}

/** Validates the sizes and every id of a row kernel; true when there is nothing to compute. */
function noRows(kernel: string, N: number, D: number, V: number, ids: Int32Array, idsOff: number): boolean {
  requireCount(kernel, "N", N);
  requireCount(kernel, "D", D);
  requireCount(kernel, "V", V);
  requireIds(kernel, N, V, ids, idsOff);
  return N === 0 || D === 0;
}

/** Validates (B, H); true when there is nothing to compute. */
function empty(kernel: string, B: number, H: number): boolean {
  requireCount(kernel, "B", B);
  requireCount(kernel, "H", H);
  return B === 0 || H === 0;
}
