/**
 * The main-thread side of the threaded GEMM: a pool of kernel workers on the backend's shared
 * memory, and `gemm`, which cuts a product into blocks (split.ts), posts them (protocol.ts), claims
 * and computes blocks itself alongside the workers, and returns when all are done.
 *
 * Workers start asynchronously (tens of milliseconds); until one reports READY the pool computes on
 * the calling thread alone, so creating the backend never blocks. `ready()` resolves once every
 * worker has started or failed. A worker that fails to start is left out: the thread count falls back
 * silently, and `threads` / `note` say so.
 */
import type { WasmExports } from "../wasm-marshal.js";
import type { KernelMemory } from "../wasm-memory.js";
import { addThreadWait, profiling } from "../profile.js";
import { runBlock } from "./block.js";
import {
  ARGS, BLOCKS, CONTROL_INTS, ERROR, FAILED, FINISHED, MAX_BLOCKS, PLAN, READY, SEQ, SLOT_INTS, STARTING, STATE, STOPPING,
  awaitChange, canBlock, claimBlock, closeClaims, openClaims, tagOf,
} from "./protocol.js";
import type { ThreadHandle, ThreadSpawner } from "./spawner.js";
import { splitGemm } from "./split.js";

/** One worker as main sees it. */
interface Worker {
  slot: Int32Array;
  handle: ThreadHandle | null;
  error: string | null;
}

/** Blocks per thread: more than one, so that a thread that runs late leaves less for the others to wait on. */
const BLOCKS_PER_THREAD = 4;

export interface GemmPoolOptions {
  /** Microseconds a worker polls for its next product before sleeping (default 50). */
  spinMicroseconds?: number;
}

export class GemmPool {
  private readonly exports: WasmExports;
  private readonly module: unknown;
  private readonly memory: KernelMemory;
  private readonly spawner: ThreadSpawner;
  private readonly spinMicroseconds: number;
  private readonly mayBlock: boolean;
  private readonly controlAddress: number;
  private readonly control: Int32Array;
  /** The plan part of the control region, where splitGemm writes. */
  private readonly plan: Int32Array;
  private workers: Worker[] = [];
  private seq = 0;
  /** Products split so far, their blocks, and the blocks the calling thread computed itself (diagnostics). */
  splitCalls = 0;
  blocks = 0;
  blocksOnCaller = 0;

  constructor(exports: WasmExports, module: unknown, memory: KernelMemory, spawner: ThreadSpawner, options: GemmPoolOptions = {}) {
    this.exports = exports;
    this.module = module;
    this.memory = memory;
    this.spawner = spawner;
    this.spinMicroseconds = options.spinMicroseconds ?? 50;
    this.mayBlock = canBlock();
    this.controlAddress = memory.reserve(CONTROL_INTS * 4);
    this.control = new Int32Array(memory.memory.buffer, this.controlAddress, CONTROL_INTS);
    this.plan = this.control.subarray(PLAN);
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

  /** Runs `threads` threads in all: starts or stops workers. */
  resize(threads: number): void {
    const target = Math.max(0, threads - 1);
    if (this.workers.length > target) {
      const stopping = this.workers.splice(target);
      for (const w of stopping) Atomics.store(w.slot, STATE, STOPPING);
      this.post(0); // an empty job wakes them to leave
      for (const w of stopping) w.handle?.terminate();
    }
    while (this.workers.length < target) this.workers.push(this.start());
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
   * C (M×N) (+)= op(A)·op(B), shared between the calling thread and the ready workers. Arguments as
   * wasm/gemm.ts's `gemm` (byte addresses, validated by the caller); `work` is the caller's workspace.
   */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number, accumulate: boolean, c: number, ldc: number, work: number,
  ): void {
    const threads = this.threads;
    const control = this.control;
    const tag = tagOf((this.seq + 1) | 0);
    // Close claims before rewriting the job: a worker waking late for the previous one must find nothing.
    closeClaims(control, tag);
    const blocks = threads === 1 ? 1 : splitGemm(transA, transB, M, N, Math.min(MAX_BLOCKS, BLOCKS_PER_THREAD * threads), this.plan);
    if (blocks <= 1) {
      this.exports.gemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, a, lda, b, ldb, accumulate ? 1 : 0, c, ldc, work);
      return;
    }
    this.splitCalls++;
    control[ARGS] = transA ? 1 : 0;
    control[ARGS + 1] = transB ? 1 : 0;
    control[ARGS + 2] = K;
    control[ARGS + 3] = a | 0;
    control[ARGS + 4] = lda;
    control[ARGS + 5] = b | 0;
    control[ARGS + 6] = ldb;
    control[ARGS + 7] = accumulate ? 1 : 0;
    control[ARGS + 8] = c | 0;
    control[ARGS + 9] = ldc;
    this.post(blocks);

    // Claim and compute blocks here too, then wait for those the workers claimed.
    for (;;) {
      const index = claimBlock(control, tag, blocks);
      if (index < 0) break;
      runBlock(this.exports, control, index, work);
      Atomics.add(control, FINISHED, 1);
      this.blocksOnCaller++;
    }
    this.blocks += blocks;
    const waitStart = profiling() ? performance.now() : 0;
    for (let finished = Atomics.load(control, FINISHED); finished < blocks;) {
      finished = awaitChange(control, FINISHED, finished, 1000, this.mayBlock);
    }
    if (waitStart !== 0) addThreadWait(performance.now() - waitStart);
    const failed = Atomics.load(control, ERROR);
    if (failed !== 0) runBlock(this.exports, control, failed - 1, work);
  }

  /** Opens a job of `blocks` blocks (arguments and plan already written) and wakes the workers. */
  private post(blocks: number): void {
    const control = this.control;
    this.seq = (this.seq + 1) | 0;
    const tag = tagOf(this.seq);
    closeClaims(control, tag);
    Atomics.store(control, BLOCKS, blocks);
    Atomics.store(control, FINISHED, 0);
    Atomics.store(control, ERROR, 0);
    openClaims(control, tag);
    Atomics.store(control, SEQ, this.seq);
    Atomics.notify(control, SEQ);
  }

  private start(): Worker {
    // Never reused after the worker stops (its thread may outlive terminate() briefly): resizing is rare.
    const slotAddress = this.memory.reserve(SLOT_INTS * 4);
    const workspace = this.memory.reserve(this.exports.GEMM_WORKSPACE_BYTES.value);
    const slot = new Int32Array(this.memory.memory.buffer, slotAddress, SLOT_INTS);
    const worker: Worker = { slot, handle: null, error: null };
    const fail = (error: Error): void => {
      worker.error ??= error.message;
      Atomics.store(slot, STATE, FAILED);
    };
    try {
      worker.handle = this.spawner.spawn(
        {
          module: this.module, memory: this.memory.memory, control: this.controlAddress, slot: slotAddress, workspace,
          spinMicroseconds: this.spinMicroseconds,
        },
        fail,
      );
    } catch (error) {
      fail(error as Error);
    }
    return worker;
  }
}
