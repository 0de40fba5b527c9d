/**
 * The shared-memory protocol between the thread that calls a GEMM ("main") and the kernel workers.
 *
 * One product at a time is posted as a *job*: the GEMM's arguments and a plan of blocks (split.ts) in
 * a control region of the backend's shared WebAssembly memory. Main and the workers then *claim*
 * blocks from it — whoever is running takes the next unclaimed block — and count the blocks finished;
 * main returns once all are. A worker the operating system has not scheduled (a busy machine) claims
 * nothing: main computes the blocks itself instead of waiting for it, so a split product is never
 * much slower than an unsplit one. Every block is computed the same way whoever claims it, so results
 * do not depend on the claims (nor on the thread count: split.ts).
 *
 * Claims are one int32, CLAIM = tag·256 + next block, with tag = the job's sequence number mod 2²⁴:
 * a worker claims with compare-and-swap only under the tag of the job it woke for, so a worker that
 * wakes late can never claim a block of a later job. To post a job main first closes CLAIM (new tag,
 * block 255: nothing to claim), then writes the arguments and the plan, then opens CLAIM (block 0) and
 * bumps SEQ, waking the workers. Main posts the next job only after FINISHED = BLOCKS, i.e. when no
 * block of this one is still running, so the arguments a worker reads after a successful claim stay put.
 *
 * Pointers are byte addresses stored as int32 (`| 0`); the module's i32 parameters read the same bits,
 * so addresses above 2 GiB pass unchanged.
 */

/** Control region: a 16-integer header, then the plan. */
export const SEQ = 0;
export const CLAIM = 1;
export const FINISHED = 2;
export const BLOCKS = 3;
/** 0, or 1 + the index of a block whose computation threw in a worker (main then recomputes it). */
export const ERROR = 4;
/** transA, transB, K, a, lda, b, ldb, accumulate, c, ldc: 10 integers, to index 14. */
export const ARGS = 5;
/** The plan: 4 integers per block (row, rows, col, cols), at most MAX_BLOCKS blocks. */
export const PLAN = 16;
export const MAX_BLOCKS = 64;
export const CONTROL_INTS = PLAN + 4 * MAX_BLOCKS;

/** Per worker, its own 64-byte slot: STATE (below). */
export const SLOT_INTS = 16;
export const STATE = 0;
export const STARTING = 0;
export const READY = 1;
/** The worker could not start: main never counts on it. */
export const FAILED = 2;
/** Set by main before it wakes the workers: this one leaves its loop. */
export const STOPPING = 3;

const CLOSED = 0xff;

/** What a worker receives once, when it starts (structured-cloneable: the module and a shared memory). */
export interface KernelWorkerInit {
  /** The compiled kernels module (WebAssembly.Module). */
  module: unknown;
  /** The backend's shared WebAssembly.Memory. */
  memory: unknown;
  /** Byte address of the control region (CONTROL_INTS integers). */
  control: number;
  /** Byte address of the worker's slot (SLOT_INTS integers). */
  slot: number;
  /** Byte address of the worker's own GEMM workspace (GEMM_WORKSPACE_BYTES). */
  workspace: number;
  /** How long the worker polls for the next job before it sleeps in Atomics.wait, in microseconds. */
  spinMicroseconds: number;
}

/** The claim tag of job `seq`. */
export function tagOf(seq: number): number {
  return seq & 0xffffff;
}

/** Closes claiming for the job being written (tag = its tag, nothing to claim). */
export function closeClaims(control: Int32Array, tag: number): void {
  Atomics.store(control, CLAIM, ((tag << 8) | CLOSED) | 0);
}

/** Opens claiming of the job's blocks 0, 1, … */
export function openClaims(control: Int32Array, tag: number): void {
  Atomics.store(control, CLAIM, (tag << 8) | 0);
}

/** Claims the next block of job `tag`: its index, or −1 when none is left (or the job is over). */
export function claimBlock(control: Int32Array, tag: number, blocks: number): number {
  for (;;) {
    const v = Atomics.load(control, CLAIM);
    if ((v >>> 8) !== tag) return -1;
    const index = v & 0xff;
    if (index >= blocks) return -1;
    if (Atomics.compareExchange(control, CLAIM, v, (v + 1) | 0) === v) return index;
  }
}

/** Polling iterations per microsecond, roughly: ~90–100 measured on this machine (Node 20, a busy AMD EPYC). */
const POLLS_PER_MICROSECOND = 100;

/**
 * Waits until a[index] differs from `old` and returns the new value: polls for about
 * `spinMicroseconds` (a job posted within that time starts without a wake-up), then sleeps in
 * Atomics.wait where the thread may block, or keeps polling where it may not (a browser's main
 * thread). Counts polls rather than reading a clock, so that waiting allocates nothing.
 */
export function awaitChange(a: Int32Array, index: number, old: number, spinMicroseconds: number, canBlock: boolean): number {
  const polls = spinMicroseconds * POLLS_PER_MICROSECOND;
  let value = Atomics.load(a, index);
  for (let i = 0; value === old && i < polls; i++) value = Atomics.load(a, index);
  while (value === old) {
    if (canBlock) Atomics.wait(a, index, old, 50);
    value = Atomics.load(a, index);
  }
  return value;
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
