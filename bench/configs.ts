/**
 * The benchmark configurations and the synthetic data every system trains on, defined once here:
 * the harness (run.ts) passes the resolved configuration as JSON to every child (bptt-worker.ts,
 * peers/tfjs-lm.ts, peers/pytorch_lm.py), so all systems train exactly the same model on exactly
 * the same token ids.
 *
 * Model: ids → embedding (E = H) → L-layer recurrent stack (LSTM / GRU / tanh RNN) → linear → softmax
 * cross-entropy, Adam (lr 1e-3, PyTorch's defaults otherwise), global-norm clipping at 5.
 *   lm      loss at every step (mean over the T·B terms); TBPTT with k1 = k2 = T: each chunk of T
 *           steps continues the B strips of the previous one, the state is carried and the gradient
 *           cut at the chunk boundary; one update per chunk.
 *   cls     many-to-one: a fresh batch of B sequences of T tokens each update (state from zero),
 *           loss at the last step only (mean over B), `classes` classes.
 *   sample  generation from the small model, B = 1: 1000 tokens drawn one at a time (embedding →
 *           one recurrent step → head → softmax → sample), each fed back; no training.
 *   ragged  a many-to-one classifier over texts of real, heavy-tailed lengths (raggedLengths): one
 *           timed iteration is an epoch, batches of B texts in a fixed random order (no bucketing),
 *           loss at each text's last token; full BPTT, or TBPTT(k1 = ∞, k2) when `k2` is set; or
 *           evaluation only ("ragged-eval"). Throughput counts real tokens, not padding.
 *
 * Data: token k of a stream is hash32(k + seed · 0x9E3779B9) mod V (Wellons' lowbias32), computed
 * with 32-bit integer arithmetic, so TypeScript and NumPy produce the same ids.
 *   lm      chunk n: ids[t·B + b] = tok((n·T + t)·B + b), targets[t·B + b] = tok((n·T + t + 1)·B + b)
 *           (strip b at position p is token p·B + b: targets are each strip's next token)
 *   cls     batch n: ids[t·B + b] = tok'(n·T·B + t·B + b) (seed + 1), label[b] = tok''(n·B + b) mod classes (seed + 2)
 */

import type { UpdateProfile } from "./profile.js";

export type CellType = "lstm" | "gru" | "rnn";
export type Task = "lm" | "cls" | "sample" | "ragged" | "ragged-eval";

export interface BenchConfig {
  /** Name in the table and on the command line. */
  name: string;
  task: Task;
  cell: CellType;
  /** Batch rows (1 for sampling). */
  B: number;
  /** Steps per chunk (lm, cls); for sampling, the tokens generated per timed iteration. */
  T: number;
  H: number;
  L: number;
  V: number;
  /** Output classes for cls and ragged (otherwise V). */
  classes?: number;
  /** ragged: E, the embedding size (H elsewhere). */
  E?: number;
  /** ragged: each text's length in tokens (the data; every system reads them from here). */
  lengths?: number[];
  /** ragged: TBPTT(∞, k2), the gradient truncated to each text's last k2 tokens; absent: full BPTT. */
  k2?: number;
  /** Adam learning rate. */
  lr: number;
  clipNorm: number;
  seed: number;
  /** Tokens processed per timed iteration (B·T; for sampling, T generated tokens). */
  tokensPerIteration: number;
  /** A rough relative cost, used to order and to budget: bigger runs fewer iterations. */
  weight: number;
}

function config(
  name: string, task: Task, cell: CellType, B: number, T: number, H: number, L: number, V: number, extra: Partial<BenchConfig> = {},
): BenchConfig {
  const classes = extra.classes;
  const O = task === "cls" ? classes! : V;
  // multiply-adds per token: recurrent layers (gates·H·(I + H)) and the head (H·O), ×3 for backward.
  const gates = cell === "lstm" ? 4 : cell === "gru" ? 3 : 1;
  const perToken = L * gates * H * 2 * H + H * O / (task === "cls" ? T : 1);
  return {
    name, task, cell, B, T, H, L, V, lr: 1e-3, clipNorm: 5, seed: 1234,
    tokensPerIteration: B * T,
    weight: (task === "sample" ? 1 : 3) * perToken * B * T,
    ...extra,
  };
}

/**
 * Text lengths with a heavy tail, as in a real corpus of documents: log-normal with a mean of about
 * 340 tokens (μ = ln 340 − σ²/2, σ = 1), at least 5, from the hashed stream (Box–Muller on two
 * uniforms), and text 0 is 13,000 tokens long: the longest text of the corpus issue #13 measured on,
 * which padding makes every other row of its batch compute too.
 */
export function raggedLengths(count: number, seed: number): number[] {
  const sigma = 1;
  const mu = Math.log(340) - sigma * sigma / 2;
  const lengths: number[] = [];
  for (let n = 0; n < count; n++) {
    const u1 = (hash32((n * 2 + Math.imul(seed, 0x9e3779b9)) >>> 0) + 0.5) / 2 ** 32;
    const u2 = (hash32((n * 2 + 1 + Math.imul(seed, 0x9e3779b9)) >>> 0) + 0.5) / 2 ** 32;
    const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    lengths.push(Math.max(5, Math.round(Math.exp(mu + sigma * normal))));
  }
  lengths[0] = 13_000;
  return lengths;
}

function ragged(name: string, task: "ragged" | "ragged-eval", texts: number, k2?: number): BenchConfig {
  const lengths = raggedLengths(texts, 4321);
  const realTokens = lengths.reduce((a, b) => a + b, 0);
  return {
    ...config(name, task, "lstm", 32, 0, 128, 1, 10_000, { classes: 2 }),
    E: 64, lengths, tokensPerIteration: realTokens, weight: realTokens * 128 * 128 * 16 * (task === "ragged" ? 3 : 1),
    ...(k2 !== undefined ? { k2 } : {}),
  };
}

/** Every configuration, in the order of the table. */
export const CONFIGS: readonly BenchConfig[] = Object.freeze([
  config("tiny", "lm", "lstm", 16, 25, 32, 1, 65),
  config("small", "lm", "lstm", 32, 50, 128, 1, 65),
  config("medium", "lm", "lstm", 32, 35, 256, 2, 1000),
  config("large", "lm", "lstm", 64, 35, 512, 2, 1000),
  config("cls", "cls", "lstm", 32, 100, 128, 1, 5000, { classes: 2 }),
  config("small-gru", "lm", "gru", 32, 50, 128, 1, 65),
  config("medium-gru", "lm", "gru", 32, 35, 256, 2, 1000),
  config("small-rnn", "lm", "rnn", 32, 50, 128, 1, 65),
  config("medium-rnn", "lm", "rnn", 32, 35, 256, 2, 1000),
  config("sample", "sample", "lstm", 1, 1000, 128, 1, 65),
  ragged("ragged", "ragged", 512),
  ragged("ragged-k30", "ragged", 512, 30),
  ragged("ragged-eval", "ragged-eval", 1000),
]);

/** One ragged epoch: batches of B consecutive texts, padded to their longest, time-major. */
export interface RaggedBatch {
  T: number;
  B: number;
  /** (T·B) ids, 0 at padding. */
  ids: Int32Array;
  /** (T·B) 1 at real tokens, 0 at padding. */
  mask: Float32Array;
  /** (B) each text's length and label. */
  lengths: Int32Array;
  labels: Int32Array;
}

/**
 * The ragged configuration's batches: text n's token i is token(offset_n + i) with offset_n the sum
 * of the earlier lengths, its label token(n) mod classes (seed + 2); the last batch may be smaller.
 */
export function raggedBatches(c: BenchConfig): RaggedBatch[] {
  const lengths = c.lengths!;
  const batches: RaggedBatch[] = [];
  let offset = 0;
  for (let first = 0; first < lengths.length; first += c.B) {
    const B = Math.min(c.B, lengths.length - first);
    const rows = lengths.slice(first, first + B);
    const T = Math.max(...rows);
    const ids = new Int32Array(T * B);
    const mask = new Float32Array(T * B);
    const labels = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < rows[b]!; t++) {
        ids[t * B + b] = token(offset + t, c.seed, c.V);
        mask[t * B + b] = 1;
      }
      offset += rows[b]!;
      labels[b] = token(first + b, c.seed + 2, c.classes!);
    }
    batches.push({ T, B, ids, mask, lengths: Int32Array.from(rows), labels });
  }
  return batches;
}

export function findConfig(name: string): BenchConfig {
  const c = CONFIGS.find((x) => x.name === name);
  if (!c) throw new RangeError(`unknown configuration ${JSON.stringify(name)}: expected one of ${CONFIGS.map((x) => x.name).join(", ")}`);
  return c;
}

/** Wellons' lowbias32: a 32-bit integer hash with good avalanche. */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Token k of the stream with this seed, in [0, V). */
export function token(k: number, seed: number, V: number): number {
  return hash32((k + Math.imul(seed, 0x9e3779b9)) >>> 0) % V;
}

export interface ChunkData {
  /** (T·B) time-major ids. */
  ids: Int32Array;
  /** lm: (T·B) next-token targets; cls: (B) labels. */
  targets: Int32Array;
}

/** The inputs and targets of chunk (lm) or batch (cls) n: see the file header. */
export function chunkData(c: BenchConfig, n: number): ChunkData {
  const { B, T, V, seed } = c;
  const ids = new Int32Array(T * B);
  if (c.task === "cls") {
    for (let i = 0; i < T * B; i++) ids[i] = token(n * T * B + i, seed + 1, V);
    const targets = new Int32Array(B);
    for (let b = 0; b < B; b++) targets[b] = token(n * B + b, seed + 2, c.classes!);
    return { ids, targets };
  }
  const targets = new Int32Array(T * B);
  for (let i = 0; i < T * B; i++) {
    ids[i] = token(n * T * B + i, seed, V);
    targets[i] = token(n * T * B + B + i, seed, V);
  }
  return { ids, targets };
}

/** What every child prints as its last stdout line, after this prefix, as JSON. */
export const RESULT_PREFIX = "BENCH_RESULT ";

/** Options every child receives (as JSON in --spec). */
export interface WorkerSpec {
  config: BenchConfig;
  /** Warm-up iterations (at least 1 is always run), capped by warmupBudget seconds. */
  warmup: number;
  /** Timed iterations at most; fewer when the budget runs out (at least 1). */
  iterations: number;
  /** Seconds: stop timing once this much has been spent in timed iterations. */
  budget: number;
  /** Threads for the system (PyTorch's set_num_threads; bptt's BPTT_THREADS when it has threads). */
  threads: number;
  /** bptt kernel backend ("reference", "wasm", …). */
  backend?: string;
  /** tfjs formulation. */
  variant?: string;
  /** bptt: after the timed iterations, profile as many (bench/profile.ts). */
  profile?: boolean;
}

/** What every child reports. */
export interface WorkerResult {
  system: string;
  config: string;
  threads: number;
  /** Warm-up and timed iterations actually run. */
  warmup: number;
  iterations: number;
  /** Wall time of each timed iteration, milliseconds. */
  stepMs: number[];
  medianStepMs: number;
  /** tokensPerIteration / median step time. */
  tokensPerSec: number;
  /**
   * Tokens the system actually fed per timed iteration, counted from its own data (input ids of the
   * update; generated tokens for sampling): the harness checks it equals config.tokensPerIteration.
   */
  tokensFed: number;
  /** Loss of the first and last iteration (training configs), a sanity check that it trains. */
  firstLoss?: number;
  lastLoss?: number;
  /**
   * CPU time of the whole process over wall time, during the timed iterations: about 1 for a
   * single-threaded system with a core to itself, below 1 when it waited (another process had the
   * core: this machine is shared), up to the thread count for a multi-threaded one.
   */
  cpuPerWall?: number;
  /** Whether the budget cut the timed iterations short. */
  budgetLimited: boolean;
  /** Free-form environment of the system: versions, backend, BLAS, threads. */
  env: Record<string, unknown>;
  /** bptt only: allocation and GC during the timed region. */
  memory?: MemoryReport;
  /** The process's peak resident set size, bytes (getrusage), and its resident set before the model existed. */
  peakRssBytes?: number;
  baselineRssBytes?: number;
  /** ragged (bptt): bytes of parameters, gradients and Adam's moments, plus the activations of the largest batch's real tokens. */
  requiredBytes?: number;
  /** bptt with --profile: where an update's time goes (bench/profile.ts). */
  profile?: UpdateProfile;
  note?: string;
}

export interface MemoryReport {
  /** Garbage collections observed during the timed iterations, by kind (minor = scavenge, major = mark-compact). */
  gcDuringTimed: Record<string, number>;
  /** Milliseconds spent in those collections. */
  gcMsDuringTimed: number;
  /**
   * V8 heap bytes allocated per timed iteration (v8.GCProfiler accounting: growth + what each GC
   * freed, over the timed iterations, the loop's own bookkeeping subtracted).
   */
  heapBytesPerIteration: number;
  /** GCs the profiler saw during the timed iterations. */
  gcProfiled: number;
  /**
   * ArrayBuffer (typed-array storage) bytes allocated per timed iteration: the same accounting on
   * V8's external memory (exact when no GC ran during the timed iterations; a lower bound otherwise).
   */
  arrayBufferBytesPerIteration: number;
  /**
   * Backends with their own memory (wasm-simd: kernels().memoryInUse()): bytes of it handed out per
   * timed iteration, and in use at the end.
   */
  kernelBytesPerIteration?: number;
  kernelBytesInUse?: number;
  /** wasm-simd: kernel calls per timed iteration that ran on copies or on the reference (slowCalls()). */
  slowCallsPerIteration?: number;
  /** heapUsed and arrayBuffers before and after the timed iterations, bytes. */
  heapUsedBefore: number;
  heapUsedAfter: number;
  arrayBuffersBefore: number;
  arrayBuffersAfter: number;
  /** v8.getHeapStatistics().total_heap_size after the timed iterations. */
  totalHeapSize: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
