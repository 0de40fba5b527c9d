/**
 * The active kernel backend. Everything that computes asks `kernels()` for it, so a faster
 * backend can be swapped in once, at start-up, without touching the cells.
 *
 * Selection, on the first call of `kernels()` unless `setKernels` came first:
 * - the environment variable BPTT_BACKEND (Node.js) = "reference", "wasm" or "native" forces a backend
 *   ("wasm" and "native" fail loudly where they cannot run); "auto" or unset chooses:
 * - "native" (the C addon, src/native/) where it is registered — Node.js only: `bptt/node` and the CLI
 *   register it, as the core may not load Node modules — and its build loaded;
 * - else "wasm-simd" (wasm.ts) where WebAssembly SIMD is available and the module compiles synchronously
 *   (always in Node.js; in a browser's main thread call `await useBestKernels()` instead);
 * - otherwise the TypeScript reference, the specification every backend is tested against.
 * `kernels().name` says which runs, `kernelsInfo().reason` why.
 *
 * Threads (wasm-simd and native): large GEMMs run on `threads` threads — `setThreads(n)` or
 * useBestKernels({ threads }), else BPTT_THREADS, else every core; one where worker threads cannot
 * start (see threads/). `kernelsInfo().threads` says how many run. Results do not depend on it.
 *
 * Arrays allocated by one backend keep working after a switch: the wasm backend copies arguments
 * that are not in its memory, and the reference computes on any Float32Array.
 */
import type { Kernels } from "./kernels.js";
import { referenceKernels } from "./reference.js";
import { requireThreads, threadsFromEnvironment } from "./threads/settings.js";
import { createWasmKernels, createWasmKernelsSync, type WasmKernels } from "./wasm.js";

export type { Kernels } from "./kernels.js";
export { referenceKernels } from "./reference.js";
export { createWasmKernels, createWasmKernelsSync, wasmSimdSupported, type WasmKernels, type WasmKernelOptions } from "./wasm.js";
export { setThreadSpawner, threadSpawner, type ThreadSpawner, type ThreadHandle } from "./threads/spawner.js";
export type { KernelWorkerInit } from "./threads/protocol.js";

export type BackendChoice = "auto" | "reference" | "wasm" | "native";

let active: Kernels | null = null;
let reason = "";
/** One wasm backend per process: its memory holds every array it allocated. */
let wasm: WasmKernels | null = null;
/** Threads set by setThreads before a backend exists. */
let threads: number | undefined;
/** The native backend's loader (registered from the Node edge), its backend once loaded, or why it failed. */
let nativeLoader: ((threads: number | undefined) => Kernels) | null = null;
let native: Kernels | null = null;
let nativeFailure = "";

/**
 * Makes the native backend available to the selection (src/native/ calls it: the core cannot load a
 * Node addon itself). `load(threads)` returns the backend on that many threads (undefined: its
 * default) or throws saying why it cannot.
 */
export function registerNativeBackend(load: (threads: number | undefined) => Kernels): void {
  nativeLoader = load;
}

/** The backend in use (chosen automatically on the first call). */
export function kernels(): Kernels {
  if (active !== null) return active;
  const step = selectBeforeWasm();
  if (step.chosen !== null) return step.chosen;
  try {
    return chooseWasm(wasm ?? createWasmKernelsSync({ threads: step.threads }), step.choice);
  } catch (error) {
    return wasmUnavailable(step.choice, error, "; in a browser, await useBestKernels() first");
  }
}

/** Chooses the backend for everything created afterwards (arrays must come from the backend that computes on them). */
export function setKernels(backend: Kernels): void {
  active = backend;
  reason = "set by setKernels";
}

/** Which backend runs, why, and on how many threads, e.g. { name: "wasm-simd", reason: "WebAssembly SIMD available (…)", threads: 2 }. */
export function kernelsInfo(): { name: string; reason: string; threads: number } {
  const k = kernels();
  return { name: k.name, reason, threads: k.threads ?? 1 };
}

/** Runs the wasm backend's large GEMMs on `n` threads (now, or when it is created). */
export function setThreads(n: number): void {
  threads = requireThreads("setThreads", n);
  wasm?.setThreads(n);
  native?.setThreads?.(n);
}

/**
 * Selects the best backend as `kernels()` does, but compiles the WebAssembly module asynchronously
 * (which browsers allow on the main thread, where synchronous compilation of a module this size is
 * refused). Honours BPTT_BACKEND like `kernels()`. Call it once at start-up, before creating models.
 */
export async function useBestKernels(options: { threads?: number } = {}): Promise<Kernels> {
  if (options.threads !== undefined) setThreads(options.threads);
  const step = selectBeforeWasm();
  if (step.chosen !== null) return step.chosen;
  try {
    return chooseWasm(wasm ?? (await createWasmKernels({ threads: step.threads })), step.choice);
  } catch (error) {
    return wasmUnavailable(step.choice, error, "");
  }
}

/** BPTT_BACKEND from the environment where there is one (Node.js), else "auto". */
export function requestedBackend(): BackendChoice {
  // Read defensively: the core also runs in browsers, where there is no process object.
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = (env?.["BPTT_BACKEND"] ?? "auto").trim().toLowerCase();
  if (value === "" || value === "auto") return "auto";
  if (value === "reference" || value === "wasm" || value === "native") return value;
  throw new Error(`BPTT_BACKEND must be "auto", "reference", "wasm" or "native", got "${value}"`);
}

/** Why the native backend is not in use ("" when it is, or when it was never tried). */
export function nativeUnavailableReason(): string {
  return nativeFailure;
}

// The selection, shared by kernels() and useBestKernels(), which differ only in how they compile the
// WebAssembly module: first the reference or native backend (selectBeforeWasm), else wasm-simd
// (chooseWasm), else, where that fails, the reference (wasmUnavailable).

/** The reference or native backend when chosen (else null: wasm-simd next, on `threads` threads). */
function selectBeforeWasm(): { chosen: Kernels | null; choice: BackendChoice; threads: number | undefined } {
  const choice = requestedBackend();
  if (choice === "reference") {
    return { chosen: choose(referenceKernels, "BPTT_BACKEND=reference"), choice, threads: undefined };
  }
  // A bad BPTT_THREADS throws, as a bad BPTT_BACKEND does.
  const requested = threads ?? threadsFromEnvironment() ?? undefined;
  return { chosen: tryNative(choice, requested), choice, threads: requested };
}

/** The native backend when asked for ("native") or preferred ("auto") and it loads; null to go on to wasm. */
function tryNative(choice: BackendChoice, requested: number | undefined): Kernels | null {
  if (choice !== "native" && choice !== "auto") return null;
  if (nativeLoader === null) {
    if (choice === "native") throw new Error("BPTT_BACKEND=native, but the native backend is only available in Node.js through bptt/node or the CLI");
    return null;
  }
  try {
    native ??= nativeLoader(requested);
  } catch (error) {
    if (error instanceof RangeError) throw error; // a bad setting (BPTT_THREADS=…) is an error, not a reason to fall back
    nativeFailure = (error as Error).message;
    if (choice === "native") throw new Error(`BPTT_BACKEND=native, but ${nativeFailure}`);
    return null;
  }
  const detail = native.description ?? native.name;
  return choose(native, choice === "native" ? `BPTT_BACKEND=native: ${detail}` : `native addon loaded: ${detail}`);
}

function chooseWasm(created: WasmKernels, choice: BackendChoice): Kernels {
  wasm = created;
  if (choice === "wasm") return choose(created, `BPTT_BACKEND=wasm: ${created.description}`);
  const after = nativeFailure ? `${nativeFailure}; ` : "";
  return choose(created, `${after}WebAssembly SIMD available: ${created.description}`);
}

/** BPTT_BACKEND=wasm: the error; otherwise the reference, saying why (`hint`: what to do about it). */
function wasmUnavailable(choice: BackendChoice, error: unknown, hint: string): Kernels {
  if (choice === "wasm") throw new Error(`BPTT_BACKEND=wasm, but ${(error as Error).message}`);
  return choose(referenceKernels, `wasm-simd unavailable (${(error as Error).message})${hint}`);
}

function choose(backend: Kernels, why: string): Kernels {
  active = backend;
  reason = why;
  return backend;
}
