/**
 * Starts the wasm-simd backend with its kernel threads, from inside the training worker.
 *
 * The library's default browser spawner starts `browser-worker.js` next to its own module; once
 * bundled that file is not there, so the page registers a spawner whose `new Worker(new URL(…))`
 * the bundler sees and emits (kernel-worker.ts). Threads need shared memory, i.e. a cross-origin
 * isolated page (COOP/COEP headers); without it the kernels run on this worker's thread alone.
 */
import { kernelsInfo, setThreadSpawner, useBestKernels } from "bptt";
import type { BackendInfo } from "../shared/protocol.js";

export async function startKernels(): Promise<BackendInfo> {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  setThreadSpawner(
    isolated
      ? {
          name: "Web Worker",
          cores: () => Math.max(1, navigator.hardwareConcurrency || 1),
          spawn(init, onError) {
            // Literally `new Worker(new URL(…, import.meta.url))`: the form the bundler looks for.
            const worker = new Worker(new URL("./kernel-worker.ts", import.meta.url), {
              type: "module",
              name: "bptt-kernels",
            });
            worker.onerror = (event) => onError(new Error(`kernel worker failed: ${event.message || "error"}`));
            worker.postMessage(init);
            return { terminate: () => worker.terminate() };
          },
        }
      : null,
  );
  const backend = await useBestKernels();
  await (backend as { threadsReady?: () => Promise<number> }).threadsReady?.();
  const info = kernelsInfo();
  return { name: info.name, threads: info.threads, reason: info.reason, crossOriginIsolated: isolated };
}
