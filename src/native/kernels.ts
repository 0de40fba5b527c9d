/**
 * The native backend ("native"): the kernels of `kernels.ts` in C (native/src/), called through N-API.
 * Node.js only.
 *
 * - GEMM: register-blocked micro-kernels, AVX-512 (8×32 tile) or AVX2/FMA (6×16) chosen at run time
 *   from the CPU's features, else portable C; split over a thread pool by output blocks.
 * - Step kernels: σ and tanh on vectors of the instruction set's width (16, 8 or 4 lanes) with the
 *   WebAssembly backend's algorithms (≤ 2.5 ulp).
 * - Softmax cross-entropy (exp on vectors, sums in float64 over 16 lanes in a fixed order) and the
 *   Adam step (float64 per element, bit-identical to the reference): native/src/fused_impl.h. Class
 *   targets are ordinary Int32Arrays.
 * - Arrays are ordinary Float32Arrays (any will do: the addon reads them in place); every offset and
 *   extent is checked in C before a pointer is formed, and a bad call throws a RangeError.
 *
 * Determinism: results are bit-identical from run to run, for any thread count, and — every path
 * summing with fused multiply-adds in the same order, the elementwise code without contraction —
 * between the AVX-512, AVX2 and generic paths (test/native/ checks all three).
 *
 * Configuration: BPTT_THREADS = threads (default: the cores available), BPTT_NATIVE_ISA = avx512 |
 * avx2 | generic | auto (default auto: the best the CPU runs), or the options of createNativeKernels.
 */
import { availableParallelism } from "node:os";
import type { Kernels } from "../kernels/kernels.js";
import { threadsFromEnvironment as coreThreadsFromEnvironment } from "../kernels/threads/settings.js";
import { type NativeAddon, type NativeInfo, loadAddon } from "./addon.js";

export interface NativeKernels extends Kernels {
  readonly name: "native";
  /** e.g. "native (avx512 8x32 GEMM, 2 threads)". */
  readonly description: string;
  /** Threads the GEMM runs on. */
  readonly threads: number;
  /** Runs the GEMM on `n` threads from now on (results do not depend on it). */
  setThreads(n: number): void;
  /** The addon's own account: instruction set, CPU features, threads. */
  info(): NativeInfo;
  /** The raw addon, for the accuracy tests. */
  readonly addon: NativeAddon;
}

export interface NativeKernelOptions {
  /** Threads for the GEMM (≥ 1); default BPTT_THREADS, else the cores available. */
  threads?: number;
  /** "avx512", "avx2", "generic" or "auto"; default BPTT_NATIVE_ISA, else "auto". */
  isa?: string;
}

const ISAS = ["auto", "avx512", "avx2", "generic"];

/**
 * The native backend, configured by `options` (the addon is one per process: a second call
 * reconfigures the same one). Throws where the addon is not built or cannot load, saying why.
 */
export function createNativeKernels(options: NativeKernelOptions = {}): NativeKernels {
  const loaded = loadAddon();
  if (loaded.addon === null) throw new Error(loaded.reason);
  const addon = loaded.addon;
  const threads = options.threads ?? threadsFromEnvironment();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const isa = (options.isa ?? process.env["BPTT_NATIVE_ISA"] ?? "auto").trim().toLowerCase() || "auto";
  if (!ISAS.includes(isa)) throw new RangeError(`BPTT_NATIVE_ISA must be one of ${ISAS.join(", ")}, got "${isa}"`);
  const isaArgument = isa === "auto" ? null : isa;
  let state = addon.configure(threads, isaArgument);
  return {
    name: "native",
    get description() {
      return `native (${state.isa} ${state.tile} GEMM, ${state.threads} thread${state.threads === 1 ? "" : "s"})`;
    },
    get threads() {
      return state.threads;
    },
    setThreads(n: number): void {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`threads must be a positive integer, got ${n}`);
      state = addon.configure(n, isaArgument);
    },
    info: () => addon.info(),
    profileCounters: (enable) => addon.profileCounters(enable),
    addon,
    allocate: (length) => allocateAligned(addon, length),
    allocateIndices: (length) => new Int32Array(length),
    // The addon's functions take the Kernels arguments in the same order: no wrapper in between.
    ...addon.kernels,
  };
}

/**
 * A zero-filled Float32Array whose first element sits on a 64-byte boundary (a cache line, one AVX-512
 * vector), so that the vector loads of the kernels do not straddle lines: a view into a slightly larger
 * buffer (ArrayBuffer storage never moves).
 */
function allocateAligned(addon: NativeAddon, length: number): Float32Array {
  if (length === 0) return new Float32Array(0);
  const buffer = new ArrayBuffer(length * 4 + 64);
  const misalignment = addon.byteMisalignment(new Float32Array(buffer, 0, 1));
  return new Float32Array(buffer, (64 - misalignment) & 63, length);
}

/** BPTT_THREADS (a positive integer), else (unset or "auto") the cores this process may use. */
export function threadsFromEnvironment(): number {
  return coreThreadsFromEnvironment() ?? availableParallelism();
}
