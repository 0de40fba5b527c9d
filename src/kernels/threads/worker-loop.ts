/**
 * The body of a kernel worker thread, the same in Node.js (started by src/io/worker-threads.ts) and in
 * browsers (browser-worker.ts): instantiate the kernels module on the shared memory, announce READY in
 * its slot, then, each time main posts a GEMM, claim and compute blocks of it until none is left
 * (protocol.ts); sleep between products; leave when main says STOPPING.
 */
import type { WasmExports } from "../wasm-marshal.js";
import type { WasmMemory, WasmModule } from "../wasm-memory.js";
import { webAssembly } from "../wasm-memory.js";
import { runBlock } from "./block.js";
import {
  BLOCKS, CONTROL_INTS, ERROR, FAILED, FINISHED, type KernelWorkerInit, READY, SEQ, SLOT_INTS, STATE, STOPPING,
  awaitChange, claimBlock, tagOf,
} from "./protocol.js";

export function runKernelWorker(init: KernelWorkerInit): void {
  const memory = init.memory as WasmMemory;
  const control = new Int32Array(memory.buffer, init.control, CONTROL_INTS);
  const slot = new Int32Array(memory.buffer, init.slot, SLOT_INTS);
  let w: WasmExports;
  try {
    const api = webAssembly();
    if (api === null) throw new Error("no WebAssembly in this worker");
    w = new api.Instance(init.module as WasmModule, { env: { memory } }).exports as unknown as WasmExports;
  } catch (error) {
    Atomics.store(slot, STATE, FAILED);
    throw error;
  }
  Atomics.store(slot, STATE, READY);

  let seen = Atomics.load(control, SEQ);
  for (;;) {
    seen = awaitChange(control, SEQ, seen, init.spinMicroseconds, true);
    if (Atomics.load(slot, STATE) === STOPPING) return;
    const tag = tagOf(seen);
    for (;;) {
      const blocks = Atomics.load(control, BLOCKS);
      const index = claimBlock(control, tag, blocks);
      if (index < 0) break;
      try {
        runBlock(w, control, index, init.workspace);
      } catch {
        // Main recomputes the block on its own thread (where the error, if it is the arguments', is thrown).
        Atomics.store(control, ERROR, index + 1);
      }
      if (Atomics.add(control, FINISHED, 1) + 1 === blocks) Atomics.notify(control, FINISHED);
    }
  }
}
