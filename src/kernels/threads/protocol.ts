/**
 * The shared-memory protocol between the thread that calls a kernel ("main") and the kernel workers.
 *
 * Each worker owns one slot of SLOT_INTS 32-bit integers (64 bytes, a cache line of its own) in the
 * backend's shared WebAssembly memory. Posting a job and finishing it are two counters:
 *   main:   writes the job's arguments, then SEQ ← SEQ + 1 and notifies;
 *   worker: sees SEQ change, runs the job, then DONE ← SEQ and notifies.
 * Main waits for DONE = SEQ before it returns from the kernel, so at most one job per worker is in
 * flight and every argument is read before main can reuse the slot. Atomics order the plain stores of
 * the arguments before the SEQ store (sequentially consistent), so the worker reads complete jobs.
 *
 * A job is one GEMM block: the arguments of wasm/gemm.ts's `gemm`, with A, B and C already offset to
 * the block. Pointers are byte addresses stored as int32 (`| 0`); the module's i32 parameters read the
 * same bits, so addresses above 2 GiB pass unchanged.
 */

/** Integers per slot: 16 × 4 bytes = 64 bytes. */
export const SLOT_INTS = 16;
export const SLOT_BYTES = SLOT_INTS * 4;

/** Slot layout. */
export const SEQ = 0;
export const DONE = 1;
export const STATE = 2;
export const ARGS = 3; // transA, transB, M, N, K, a, lda, b, ldb, accumulate, c, ldc: 12 integers, to index 14

/** STATE values. */
export const STARTING = 0;
export const READY = 1;
/** The worker could not start, or a job threw: main computes its share itself from now on. */
export const FAILED = 2;
/** Set by main before a final SEQ bump: the worker leaves its loop. */
export const STOPPING = 3;

/** What a worker receives once, when it starts (structured-cloneable: the module and a shared memory). */
export interface KernelWorkerInit {
  /** The compiled kernels module (WebAssembly.Module). */
  module: unknown;
  /** The backend's shared WebAssembly.Memory. */
  memory: unknown;
  /** Byte address of the worker's slot. */
  slot: number;
  /** Byte address of the worker's own GEMM workspace (GEMM_WORKSPACE_BYTES). */
  workspace: number;
  /** How long the worker polls for the next job before it sleeps in Atomics.wait, in microseconds. */
  spinMicroseconds: number;
}

/**
 * Waits until a[index] differs from `old` and returns the new value: polls for `spinMicroseconds`
 * (a job posted within that time starts without a wake-up), then sleeps in Atomics.wait where the
 * thread may block, or keeps polling where it may not (a browser's main thread).
 */
export function awaitChange(a: Int32Array, index: number, old: number, spinMicroseconds: number, canBlock: boolean): number {
  let value = Atomics.load(a, index);
  if (value !== old) return value;
  const deadline = performance.now() + spinMicroseconds / 1000;
  for (let i = 1; ; i++) {
    value = Atomics.load(a, index);
    if (value !== old) return value;
    if ((i & 127) === 0 && performance.now() > deadline) break;
  }
  for (;;) {
    if (canBlock) Atomics.wait(a, index, old, 50);
    value = Atomics.load(a, index);
    if (value !== old) return value;
  }
}

let blocking: boolean | null = null;

/** Whether this thread may block in Atomics.wait (not on a browser's main thread). */
export function canBlock(): boolean {
  if (blocking === null) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blocking = true;
    } catch {
      blocking = false;
    }
  }
  return blocking;
}
