/**
 * Starts the wasm-simd backend with its kernel threads, from inside the training worker. The library
 * starts its kernel workers itself (src/kernels/threads/spawner.ts, in the `new Worker(new URL(…,
 * import.meta.url))` form that Vite finds and emits with the page). Threads need shared memory, i.e. a
 * cross-origin isolated page (COOP/COEP headers); without it the kernels run on this worker's thread alone.
 */
import { kernelsInfo, useBestKernels } from "bptt";
import type { BackendInfo } from "../shared/protocol.js";

export async function startKernels(): Promise<BackendInfo> {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const backend = await useBestKernels();
  await backend.threadsReady?.();
  const info = kernelsInfo();
  return { name: info.name, threads: info.threads, reason: info.reason, crossOriginIsolated: isolated };
}
