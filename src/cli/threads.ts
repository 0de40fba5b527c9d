/**
 * `--threads N` (train, eval, generate, predict, experiment): the threads large matrix products run on
 * (the wasm-simd backend's worker threads, src/kernels/threads/). Default: every core, or BPTT_THREADS.
 * Results are bit-identical for any count, so it is a speed setting, never saved with a run.
 */
import { Option } from "commander";
import { installNodeThreads } from "../io/worker-threads.js";
import { setThreads } from "../kernels/index.js";
import { UsageError } from "./errors.js";

export function threadsOption(help = "threads for large matrix products (default: every core, or BPTT_THREADS)"): Option {
  return new Option("--threads <n>", help);
}

/** The --threads value as an integer ≥ 1, or null when not given. */
export function parseThreads(value: unknown): number | null {
  if (value === undefined) return null;
  const text = String(value);
  const n = /^\s*\+?\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--threads must be an integer ≥ 1, got ${JSON.stringify(text)}`);
  return n;
}

/** Worker threads via node:worker_threads, on `threads` threads when given (before the first kernel call). */
export function applyThreads(threads: number | null): void {
  installNodeThreads();
  if (threads !== null) setThreads(threads);
}
