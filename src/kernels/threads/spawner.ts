/**
 * How kernel worker threads are started: the one platform-specific part of the threaded backend,
 * behind a small interface so that the core imports nothing from Node.js.
 *
 * - Browsers: `browserThreadSpawner()` below, module Web Workers. It needs SharedArrayBuffer, i.e. a
 *   cross-origin-isolated page (COOP/COEP headers); otherwise there is no spawner and the backend
 *   runs on one thread.
 * - Node.js: `nodeThreadSpawner` in src/io/worker-threads.ts (node:worker_threads), registered by
 *   importing `bptt/node` (the CLI does).
 * The backend asks `threadSpawner()`; `setThreadSpawner` injects another (or null: no threads).
 */
import type { KernelWorkerInit } from "./protocol.js";

export interface ThreadHandle {
  /** Ends the thread (it may be in the middle of nothing: main only stops idle workers). */
  terminate(): void;
}

export interface ThreadSpawner {
  /** e.g. "node:worker_threads", "Web Worker". */
  readonly name: string;
  /** Logical cores of the machine: the default thread count. */
  cores(): number;
  /**
   * Starts a thread running `runKernelWorker(init)` (worker-loop.ts). The thread must not keep the
   * process alive (Node.js: unref). `onError` is called if it fails to start or dies.
   */
  spawn(init: KernelWorkerInit, onError: (error: Error) => void): ThreadHandle;
}

let registered: ThreadSpawner | null | undefined;

/** Chooses how kernel threads are started from now on (null: never start any). */
export function setThreadSpawner(spawner: ThreadSpawner | null): void {
  registered = spawner;
}

/** The registered spawner, else the browser's where it can work, else null. */
export function threadSpawner(): ThreadSpawner | null {
  return registered !== undefined ? registered : browserThreadSpawner();
}

interface BrowserWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  onerror: ((event: { message?: string }) => void) | null;
}
type BrowserWorkerConstructor = new (url: URL, options: { type: "module"; name?: string }) => BrowserWorker;
/** The browser's Worker (the core's TypeScript has no DOM types); only referenced once it is known to exist. */
declare const Worker: BrowserWorkerConstructor;

/** Module Web Workers, where the page can share memory with them (cross-origin isolated); else null. */
export function browserThreadSpawner(): ThreadSpawner | null {
  const scope = globalThis as { Worker?: BrowserWorkerConstructor; crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  if (typeof scope.Worker !== "function" || scope.crossOriginIsolated !== true || typeof SharedArrayBuffer !== "function") return null;
  return {
    name: "Web Worker",
    cores: () => Math.max(1, scope.navigator?.hardwareConcurrency ?? 1),
    spawn(init, onError) {
      // Literally `new Worker(new URL("…", import.meta.url), …)`: the form bundlers (Vite, webpack, esbuild)
      // recognise, so that they emit the worker file with the application.
      const worker = new Worker(new URL("./browser-worker.js", import.meta.url), { type: "module", name: "bptt-kernels" });
      worker.onerror = (event) => onError(new Error(`kernel worker failed: ${event.message ?? "error"}`));
      worker.postMessage(init);
      return { terminate: () => worker.terminate() };
    },
  };
}
