/** The page's side of the training worker: typed messages in both directions. */
import type { FromWorker, ToWorker } from "../shared/protocol.js";

export class WorkerClient {
  private readonly worker: Worker;

  constructor(onMessage: (message: FromWorker) => void, onCrash: (message: string) => void) {
    this.worker = new Worker(new URL("../worker/train-worker.ts", import.meta.url), {
      type: "module",
      name: "bptt-training",
    });
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => onMessage(event.data);
    this.worker.onerror = (event) => onCrash(event.message || "the training worker failed to start");
  }

  send(message: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(message, transfer);
  }
}
