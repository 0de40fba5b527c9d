/**
 * bptt for Node.js: everything in the isomorphic core, plus file I/O and worker threads.
 *
 *   import { loadSafetensors, saveSafetensors } from "bptt/node";
 *
 * Importing it registers node:worker_threads for the wasm-simd backend's threads (a side effect,
 * listed in package.json's sideEffects): large GEMMs then run on every core unless BPTT_THREADS or
 * setThreads says otherwise.
 */
import { installNodeThreads } from "./io/worker-threads.js";

export * from "./index.js";
export { nodeThreadSpawner, installNodeThreads } from "./io/worker-threads.js";
export { writeFileAtomic, readFileChecked } from "./io/atomic-write.js";
export { saveSafetensors, loadSafetensors } from "./io/safetensors-file.js";

installNodeThreads();
