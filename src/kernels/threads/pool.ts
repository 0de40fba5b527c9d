/**
 * The main-thread side of the threaded GEMM: a pool of kernel workers on the backend's shared
 * memory, and `gemm`, which cuts a product into blocks (split.ts), posts all but the first to the
 * workers (protocol.ts), computes the first itself and waits for the rest.
 *
 * Workers start asynchronously (tens of milliseconds); until one reports READY the pool simply
 * computes everything on the calling thread, so creating the backend never blocks. `ready()` resolves
 * once every worker has started or failed. A worker that fails is left out from then on: the thread
 * count falls back silently, and `threads` / `note` say so.
 */
import type { WasmExports } from "../wasm-marshal.js";
import type { KernelMemory } from "../wasm-memory.js";
import { ARGS, DONE, FAILED, READY, SEQ, SLOT_BYTES, SLOT_INTS, STARTING, STATE, STOPPING, awaitChange, canBlock } from "./protocol.js";
import type { ThreadHandle, ThreadSpawner } from "./spawner.js";
import { type GemmPlan, splitGemm } from "./split.js";

/** One worker as main sees it. */
interface Worker {
  slot: Int32Array;
  slotAddress: number;
  workspace: number;
  handle: ThreadHandle | null;
  /** The last SEQ posted. */
  seq: number;
  error: string | null;
}

export interface GemmPoolOptions {
  /** Microseconds a worker polls for its next job before sleeping (default 200). */
  spinMicroseconds?: number;
}

export class GemmPool {
  private readonly exports: WasmExports;
  private readonly module: unknown;
  private readonly memory: KernelMemory;
  private readonly spawner: ThreadSpawner;
  private readonly spinMicroseconds: number;
  private readonly mayBlock: boolean;
  private workers: Worker[] = [];
  /** Scratch for the current product: its blocks, and the workers they went to. */
  private plan: GemmPlan = new Int32Array(4);
  private posted: Worker[] = [];
  /** Products split so far (diagnostics, and tests that must see the threads used). */
  splitCalls = 0;

  constructor(exports: WasmExports, module: unknown, memory: KernelMemory, spawner: ThreadSpawner, options: GemmPoolOptions = {}) {
    this.exports = exports;
    this.module = module;
    this.memory = memory;
    this.spawner = spawner;
    this.spinMicroseconds = options.spinMicroseconds ?? 200;
    this.mayBlock = canBlock();
  }

  /** Threads that compute: the calling thread and every worker that has started. */
  get threads(): number {
    let n = 1;
    for (const w of this.workers) if (Atomics.load(w.slot, STATE) === READY) n++;
    return n;
  }

  /** Why fewer threads run than requested, or "" when all do (or are still starting). */
  get note(): string {
    const failed = this.workers.filter((w) => Atomics.load(w.slot, STATE) === FAILED);
    if (failed.length === 0) return "";
    return `${failed.length} of ${this.workers.length} kernel workers failed (${failed[0]!.error ?? "error"})`;
  }

  /** Runs `threads` threads in all: starts or stops workers (idle ones: call between kernels). */
  resize(threads: number): void {
    const target = Math.max(0, threads - 1);
    while (this.workers.length > target) this.stop(this.workers.pop()!);
    while (this.workers.length < target) this.workers.push(this.start());
    this.plan = new Int32Array(4 * (target + 1));
    this.posted = new Array<Worker>(target);
  }

  /** Resolves with the thread count once every worker has started or failed. */
  async ready(): Promise<number> {
    while (this.workers.some((w) => Atomics.load(w.slot, STATE) === STARTING)) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return this.threads;
  }

  /** Stops every worker. */
  close(): void {
    this.resize(1);
  }

  /**
   * C (M×N) (+)= op(A)·op(B), cut across the calling thread and the ready workers. Arguments as
   * wasm/gemm.ts's `gemm` (byte addresses, validated by the caller); `work` is the caller's workspace.
   */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number, accumulate: boolean, c: number, ldc: number, work: number,
  ): void {
    let ready = 0;
    for (const w of this.workers) if (Atomics.load(w.slot, STATE) === READY) ready++;
    const plan = this.plan;
    const blocks = ready === 0 ? 1 : splitGemm(transA, transB, M, N, ready + 1, plan);
    if (blocks <= 1) {
      this.exports.gemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, a, lda, b, ldb, accumulate ? 1 : 0, c, ldc, work);
      return;
    }
    this.splitCalls++;
    // Blocks 1… to the workers, block 0 here.
    let p = 1;
    let posted = 0;
    for (const w of this.workers) {
      if (p === blocks) break;
      if (Atomics.load(w.slot, STATE) !== READY) continue;
      this.post(w, transA, transB, M, N, K, a, lda, b, ldb, accumulate, c, ldc, p);
      this.posted[posted++] = w;
      p++;
    }
    this.runBlock(transA, transB, K, a, lda, b, ldb, accumulate, c, ldc, work, 0);
    for (let i = 0; i < posted; i++) {
      const w = this.posted[i]!;
      awaitChange(w.slot, DONE, (w.seq - 1) | 0, 1000, this.mayBlock);
      // A worker whose job threw has marked itself FAILED: its block is computed here (and throws here too if the arguments are at fault).
      if (Atomics.load(w.slot, STATE) === FAILED) {
        w.error ??= "a job threw";
        this.runBlock(transA, transB, K, a, lda, b, ldb, accumulate, c, ldc, work, i + 1);
      }
    }
  }

  /** Runs block `index` of the plan on the calling thread. */
  private runBlock(
    transA: boolean, transB: boolean, K: number, a: number, lda: number, b: number, ldb: number,
    accumulate: boolean, c: number, ldc: number, work: number, index: number,
  ): void {
    const q = 4 * index;
    const row = this.plan[q]!;
    const rows = this.plan[q + 1]!;
    const col = this.plan[q + 2]!;
    const cols = this.plan[q + 3]!;
    this.exports.gemm(
      transA ? 1 : 0, transB ? 1 : 0, rows, cols, K,
      blockA(a, lda, transA, row), lda, blockB(b, ldb, transB, col), ldb, accumulate ? 1 : 0,
      c + (row * ldc + col) * 4, ldc, work,
    );
  }

  private post(
    w: Worker, transA: boolean, transB: boolean, _M: number, _N: number, K: number,
    a: number, lda: number, b: number, ldb: number, accumulate: boolean, c: number, ldc: number, index: number,
  ): void {
    const q = 4 * index;
    const row = this.plan[q]!;
    const col = this.plan[q + 2]!;
    const s = w.slot;
    s[ARGS] = transA ? 1 : 0;
    s[ARGS + 1] = transB ? 1 : 0;
    s[ARGS + 2] = this.plan[q + 1]!;
    s[ARGS + 3] = this.plan[q + 3]!;
    s[ARGS + 4] = K;
    s[ARGS + 5] = blockA(a, lda, transA, row) | 0;
    s[ARGS + 6] = lda;
    s[ARGS + 7] = blockB(b, ldb, transB, col) | 0;
    s[ARGS + 8] = ldb;
    s[ARGS + 9] = accumulate ? 1 : 0;
    s[ARGS + 10] = (c + (row * ldc + col) * 4) | 0;
    s[ARGS + 11] = ldc;
    w.seq = (w.seq + 1) | 0;
    Atomics.store(s, SEQ, w.seq);
    Atomics.notify(s, SEQ);
  }

  private start(): Worker {
    // Never reused after the worker stops (its thread may outlive terminate() briefly): resizing is rare.
    const place = {
      slotAddress: this.memory.reserve(SLOT_BYTES),
      workspace: this.memory.reserve(this.exports.GEMM_WORKSPACE_BYTES.value),
    };
    const slot = new Int32Array(this.memory.memory.buffer, place.slotAddress, SLOT_INTS);
    slot.fill(0);
    const worker: Worker = { slot, ...place, handle: null, seq: 0, error: null };
    const fail = (error: Error): void => {
      worker.error ??= error.message;
      Atomics.store(slot, STATE, FAILED);
    };
    try {
      worker.handle = this.spawner.spawn(
        { module: this.module, memory: this.memory.memory, slot: place.slotAddress, workspace: place.workspace, spinMicroseconds: this.spinMicroseconds },
        fail,
      );
    } catch (error) {
      fail(error as Error);
    }
    return worker;
  }

  private stop(w: Worker): void {
    const state = Atomics.load(w.slot, STATE);
    Atomics.store(w.slot, STATE, STOPPING);
    if (state === READY) {
      // Wake it to leave its loop (it is idle: no job in flight).
      w.seq = (w.seq + 1) | 0;
      Atomics.store(w.slot, SEQ, w.seq);
      Atomics.notify(w.slot, SEQ);
    }
    w.handle?.terminate();
  }
}

/** Address of op(A)'s row `row`: A (M×K) row-major, or A stored (K×M) when transposed. */
function blockA(a: number, lda: number, transA: boolean, row: number): number {
  return a + (transA ? row : row * lda) * 4;
}

/** Address of op(B)'s column `col`: B (K×N) row-major, or B stored (N×K) when transposed. */
function blockB(b: number, ldb: number, transB: boolean, col: number): number {
  return b + (transB ? col * ldb : col) * 4;
}
