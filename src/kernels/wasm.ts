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
 * touching another array. That glue, one wrapper per kernel, is generated from the kernel table
 * (kernels.ts) into wasm-calls.generated.ts; this file adds the memory, the threads and the two
 * exports whose form differs from the table's.
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
import { type WasmKernelTargets, wasmKernelCalls } from "./wasm-calls.generated.js";
import { Marshal, type WasmExports } from "./wasm-marshal.js";
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
  const marshal = new Marshal(memory);
  // The module's kernels as the generated glue calls them: the exports themselves, but for the GEMM
  // (split across threads when large, with the caller's workspace) and the loss (its second result).
  const targets: WasmKernelTargets = {
    ...w,
    gemm(transA, transB, M, N, K, a, lda, b, ldb, accumulate, c, ldc) {
      if (!threads.splits(M, N, K)) w.gemm(transA, transB, M, N, K, a, lda, b, ldb, accumulate, c, ldc, work);
      else threads.gemm(transA === 1, transB === 1, M, N, K, a, lda, b, ldb, accumulate === 1, c, ldc, work);
    },
    softmaxCrossEntropy(N, C, logits, targets, weights, ignoreIndex, scale, dLogits) {
      const loss = w.softmaxCrossEntropy(N, C, logits, targets, weights, ignoreIndex, scale, dLogits);
      return { loss, hits: w.softmaxHits.value };
    },
  };

  return {
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

    // Every kernel: sizes validated, each argument's address taken (bounds-checked, no allocation) and
    // the module called directly when all arguments are in its memory; otherwise the slow path.
    ...wasmKernelCalls(targets, memory, marshal),
  };
}
