/**
 * Kernel worker threads in Node.js: the ThreadSpawner (src/kernels/threads/spawner.ts) built on
 * node:worker_threads. Kept out of the isomorphic core; `bptt/node` registers it on import, so the
 * CLI and Node.js programs get threads by default.
 *
 * Each worker is a tiny eval'd bootstrap (dynamic imports only, so that it runs whether the process
 * evaluates scripts as CommonJS or, with --input-type=module, as ES modules) that imports the core's worker loop
 * (kernels/threads/worker-loop.js) and runs it on the init it was given as workerData — the compiled
 * module and the shared memory clone into the thread as they are. Workers are unref'd: an idle one
 * (asleep in Atomics.wait) never keeps the process from exiting.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { setThreadSpawner, type ThreadSpawner } from "../kernels/index.js";

const WORKER_LOOP = new URL("../kernels/threads/worker-loop.js", import.meta.url).href;

const BOOTSTRAP = `
import("node:worker_threads")
  .then(({ workerData }) => import(workerData.entry).then((m) => m.runKernelWorker(workerData.init)));
`;

export const nodeThreadSpawner: ThreadSpawner = {
  name: "node:worker_threads",
  cores: () => availableParallelism(),
  spawn(init, onError) {
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { entry: WORKER_LOOP, init }, name: "bptt-kernels" });
    worker.unref();
    worker.on("error", onError);
    return { terminate: () => void worker.terminate() };
  },
};

/** Makes kernel threads start with node:worker_threads (what importing bptt/node does). */
export function installNodeThreads(): void {
  setThreadSpawner(nodeThreadSpawner);
}
