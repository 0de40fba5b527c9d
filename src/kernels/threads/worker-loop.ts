/**
 * The body of a kernel worker thread, the same in Node.js (started by src/io/worker-threads.ts) and in
 * browsers (browser-worker.ts): instantiate the kernels module on the shared memory, announce READY in
 * the slot, then run GEMM blocks as main posts them (protocol.ts) until told to stop.
 */
import type { WasmExports } from "../wasm-marshal.js";
import type { WasmMemory, WasmModule } from "../wasm-memory.js";
import { webAssembly } from "../wasm-memory.js";
import { ARGS, DONE, FAILED, READY, SEQ, SLOT_INTS, STATE, STOPPING, type KernelWorkerInit, awaitChange } from "./protocol.js";

export function runKernelWorker(init: KernelWorkerInit): void {
  const memory = init.memory as WasmMemory;
  const slot = new Int32Array(memory.buffer, init.slot, SLOT_INTS);
  let w: WasmExports;
  try {
    const api = webAssembly();
    if (api === null) throw new Error("no WebAssembly in this worker");
    w = new api.Instance(init.module as WasmModule, { env: { memory } }).exports as unknown as WasmExports;
  } catch (error) {
    fail(slot);
    throw error;
  }
  Atomics.store(slot, STATE, READY);
  Atomics.notify(slot, STATE);

  let seen = Atomics.load(slot, SEQ);
  for (;;) {
    seen = awaitChange(slot, SEQ, seen, init.spinMicroseconds, true);
    if (Atomics.load(slot, STATE) === STOPPING) return;
    const p = ARGS;
    try {
      w.gemm(
        slot[p]!, slot[p + 1]!, slot[p + 2]!, slot[p + 3]!, slot[p + 4]!, slot[p + 5]!, slot[p + 6]!,
        slot[p + 7]!, slot[p + 8]!, slot[p + 9]!, slot[p + 10]!, slot[p + 11]!, init.workspace,
      );
    } catch (error) {
      // Main sees FAILED after DONE and computes this block itself (and will not post here again).
      fail(slot);
      Atomics.store(slot, DONE, seen);
      Atomics.notify(slot, DONE);
      throw error;
    }
    Atomics.store(slot, DONE, seen);
    Atomics.notify(slot, DONE);
  }
}

function fail(slot: Int32Array): void {
  Atomics.store(slot, STATE, FAILED);
  Atomics.notify(slot, STATE);
}
