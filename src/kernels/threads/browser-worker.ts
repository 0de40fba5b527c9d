/**
 * Entry point of a kernel worker in a browser (a module Web Worker started by spawner.ts): the first
 * message is the KernelWorkerInit; everything after goes through shared memory (protocol.ts).
 */
import type { KernelWorkerInit } from "./protocol.js";
import { runKernelWorker } from "./worker-loop.js";

const scope = globalThis as unknown as { onmessage: ((event: { data: KernelWorkerInit }) => void) | null };
scope.onmessage = (event) => {
  scope.onmessage = null;
  runKernelWorker(event.data);
};
