/**
 * bptt for Node.js: everything in the isomorphic core, plus file I/O and the native backend (a C addon
 * built at install time; where it is not built, WebAssembly runs instead).
 *
 *   import { loadSafetensors, saveSafetensors } from "bptt/node";
 */
import { useNativeBackend } from "./native/index.js";

export * from "./index.js";
export { writeFileAtomic, readFileChecked } from "./io/atomic-write.js";
export { saveSafetensors, loadSafetensors } from "./io/safetensors-file.js";
export { createNativeKernels, loadAddon, useNativeBackend, type NativeInfo, type NativeKernels, type NativeKernelOptions } from "./native/index.js";

// Importing bptt/node makes BPTT_BACKEND=auto prefer the native backend (its kernels run in the core's cells).
useNativeBackend();
