/**
 * The `threads` setting of the wasm-simd backend (wasm.ts): which GEMMs are split, over how many
 * threads, and why fewer than requested may run.
 *
 * Threads need a shared memory (SharedArrayBuffer) and a way to start workers (spawner.ts). Where
 * either is missing the backend runs on one thread, silently, and `note` says why.
 *
 * Only products of at least `minSplitFlops` floating-point operations (2·M·N·K) are split: posting a
 * product and collecting its blocks costs microseconds when the workers are polling, tens of
 * microseconds when they must be woken, far more when the machine is busy and the scheduler is slow to
 * run them, while a product of 10⁶ operations takes ~20–25 µs on one core. On the quiet machine two
 * threads pay from ~3·10⁵ operations when the workers are polling (bench/split-threshold.ts), and whole
 * training updates gained at 10⁶ against 4·10⁶ (tiny +8%, small-rnn +13%, small-gru +20%, the rest
 * unchanged: docs/threads.md); below that the margin is too thin for a busy machine.
 * Which products are split never changes a result (split.ts): training is bit-identical for any
 * thread count.
 */
import type { WasmExports } from "../wasm-marshal.js";
import type { KernelMemory } from "../wasm-memory.js";
import { GemmPool } from "./pool.js";
import { requireThreads, threadsFromEnvironment } from "./settings.js";
import { type ThreadSpawner, threadSpawner } from "./spawner.js";

/** Default of `minSplitFlops`: the per-step products from B·H = 32·64 (LSTM) or 32·128 (RNN) up, every all-steps product. */
export const MIN_SPLIT_FLOPS = 1_000_000;

export interface ThreadOptions {
  /** Threads for large GEMMs, the calling one included. Default: BPTT_THREADS, else every core. */
  threads?: number;
  /** How worker threads are started (default: `threadSpawner()`; null: none). */
  spawner?: ThreadSpawner | null;
  /** Products below this many floating-point operations (2·M·N·K) stay on the calling thread. */
  minSplitFlops?: number;
  /** Microseconds an idle worker polls for the next product before it sleeps (default 50). */
  spinMicroseconds?: number;
}

export class GemmThreads {
  private readonly exports: WasmExports;
  private readonly module: unknown;
  private readonly memory: KernelMemory;
  private readonly options: ThreadOptions;
  readonly minSplitFlops: number;
  private pool: GemmPool | null = null;
  private requestedThreads = 1;
  private reason = "";

  constructor(exports: WasmExports, module: unknown, memory: KernelMemory, options: ThreadOptions) {
    this.exports = exports;
    this.module = module;
    this.memory = memory;
    this.options = options;
    this.minSplitFlops = options.minSplitFlops ?? MIN_SPLIT_FLOPS;
    if (!(this.minSplitFlops >= 0)) throw new RangeError(`minSplitFlops must be a non-negative number, got ${options.minSplitFlops}`);
    const spawner = this.spawner();
    const threads = options.threads !== undefined ? requireThreads("createWasmKernels", options.threads) : threadsFromEnvironment() ?? spawner?.cores() ?? 1;
    this.set(threads);
  }

  /** Threads computing now (workers still starting are not counted). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Threads asked for. */
  get requested(): number {
    return this.requestedThreads;
  }

  /** Why fewer threads run than requested ("" when all run or are starting). */
  get note(): string {
    return this.reason || (this.pool?.note ?? "");
  }

  /** Products split across threads so far. */
  get splitCalls(): number {
    return this.pool?.splitCalls ?? 0;
  }

  /** Blocks of split products so far, and how many the workers computed (the rest ran on the caller). */
  get blockCounts(): { blocks: number; onWorkers: number } {
    const pool = this.pool;
    return pool === null ? { blocks: 0, onWorkers: 0 } : { blocks: pool.blocks, onWorkers: pool.blocks - pool.blocksOnCaller };
  }

  /** Runs large products on `threads` threads from now on (call between kernels). */
  set(threads: number): void {
    this.requestedThreads = requireThreads("setThreads", threads);
    this.reason = "";
    const spawner = this.spawner();
    if (threads > 1 && !this.memory.shared) this.reason = "1 thread: no SharedArrayBuffer, so no memory to share with workers";
    else if (threads > 1 && spawner === null) {
      this.reason = "1 thread: no way to start worker threads here (Node.js: import bptt/node; browsers: a cross-origin-isolated page)";
    }
    if (this.reason !== "" || spawner === null) {
      this.pool?.close();
      return;
    }
    this.pool ??= new GemmPool(this.exports, this.module, this.memory, spawner, { spinMicroseconds: this.options.spinMicroseconds ?? 50 });
    this.pool.resize(threads);
  }

  /** Resolves with the thread count once every worker has started (or failed). */
  async ready(): Promise<number> {
    return this.pool === null ? 1 : this.pool.ready();
  }

  /** Whether a product of M·N·K goes to the pool. */
  splits(M: number, N: number, K: number): boolean {
    return this.pool !== null && 2 * M * N * K >= this.minSplitFlops;
  }

  /** C (+)= op(A)·op(B) on the pool (byte addresses, validated by the caller). */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number, accumulate: boolean, c: number, ldc: number, work: number,
  ): void {
    this.pool!.gemm(transA, transB, M, N, K, a, lda, b, ldb, accumulate, c, ldc, work);
  }

  private spawner(): ThreadSpawner | null {
    return this.options.spawner !== undefined ? this.options.spawner : threadSpawner();
  }
}
