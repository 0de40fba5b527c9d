/**
 * bptt for Node.js: everything in the isomorphic core, plus file I/O, worker threads and the native
 * backend (a C addon built at install time; where it is not built, WebAssembly runs instead).
 *
 *   import { loadSafetensors, saveSafetensors } from "bptt/node";
 *
 * Importing it (a side effect, listed in package.json's sideEffects) registers node:worker_threads for
 * the wasm-simd backend's threads and makes BPTT_BACKEND=auto prefer the native backend: large GEMMs
 * then run on every core unless BPTT_THREADS or setThreads says otherwise.
 */
import { installNodeThreads } from "./io/worker-threads.js";
import { useNativeBackend } from "./native/index.js";

export * from "./index.js";
export { nodeThreadSpawner, installNodeThreads } from "./io/worker-threads.js";
export { writeFileAtomic, readFileChecked } from "./io/atomic-write.js";
export { saveSafetensors, loadSafetensors } from "./io/safetensors-file.js";
export { createNativeKernels, loadAddon, useNativeBackend, type NativeInfo, type NativeKernels, type NativeKernelOptions } from "./native/index.js";

installNodeThreads();
useNativeBackend();
