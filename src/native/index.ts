/**
 * The native backend's Node.js edge: `useNativeBackend()` registers it with the kernel selection
 * (src/kernels/index.ts), after which BPTT_BACKEND=auto prefers it when its addon loaded, and
 * BPTT_BACKEND=native requires it. `bptt/node` and the CLI call it on import.
 */
import { registerNativeBackend } from "../kernels/index.js";
import { createNativeKernels } from "./kernels.js";

export { createNativeKernels, threadsFromEnvironment, type NativeKernels, type NativeKernelOptions } from "./kernels.js";
export { loadAddon, type NativeInfo } from "./addon.js";

/** Registers the native backend with the selection (idempotent; call before the first kernels()). */
export function useNativeBackend(): void {
  registerNativeBackend((threads) => createNativeKernels(threads === undefined ? {} : { threads }));
}
