/**
 * The fuzzer's loop: cases drawn round-robin from the targets (targets.ts), each run in this process
 * through the CLI's loaders on the reference kernels, with BPTT_MEMORY_LIMIT lowered so that the
 * limits are exercised. A case
 * ends one of three ways:
 *
 *   accepted   the loader took the input (a mutation can leave a valid file)
 *   refused    the project's own one-line error: a UsageError or one of the library's RangeErrors (not
 *              the engine's own, errors.ts), on one line, naming the file (or run directory) it read
 *   crash      anything else: another error, a stack-only engine error, a message on several lines,
 *              or one that does not say which file was wrong
 *
 * Peak memory is the largest resident set seen after any case; an allocation over the cap shows as a
 * peak above the baseline by more than OVER_CAP × the memory limit.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isUserError } from "../src/cli/errors.js";
import { kernels, setKernels } from "../src/kernels/index.js";
import { referenceKernels } from "../src/kernels/reference.js";
import { Rng } from "../src/tensor/rng.js";
import { setUp } from "./targets.js";

export interface FuzzOptions {
  cases: number;
  seed: number;
  /** BPTT_MEMORY_LIMIT during the run (bytes). */
  memoryLimit: number;
  /** Called every `progressEvery` cases. */
  onProgress?: (done: number, report: FuzzReport) => void;
  progressEvery?: number;
}

export interface TargetCounts {
  target: string;
  cases: number;
  accepted: number;
  refused: number;
  crashes: number;
}

export interface Crash {
  target: string;
  what: string;
  error: string;
}

export interface FuzzReport {
  cases: number;
  crashes: number;
  targets: TargetCounts[];
  /** The first crashes (at most 20), with what was done to the input. */
  samples: Crash[];
  baselineRss: number;
  peakRss: number;
  memoryLimit: number;
  overCap: boolean;
  seconds: number;
  slowestCaseMs: number;
}

const OVER_CAP = 4;

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const dir = mkdtempSync(join(tmpdir(), "bptt-fuzz-"));
  const saved = process.env["BPTT_MEMORY_LIMIT"];
  process.env["BPTT_MEMORY_LIMIT"] = String(options.memoryLimit);
  // The reference kernels: plain arrays that the collector frees (the wasm backend's allocator never
  // frees, which the thousands of models built here would show as growth that a command never has).
  const backend = kernels();
  setKernels(referenceKernels);
  const started = performance.now();
  try {
    const targets = await setUp(dir);
    const rng = new Rng(options.seed);
    const counts: TargetCounts[] = targets.map((t) => ({ target: t.name, cases: 0, accepted: 0, refused: 0, crashes: 0 }));
    const report: FuzzReport = {
      cases: 0, crashes: 0, targets: counts, samples: [], baselineRss: process.memoryUsage.rss(), peakRss: 0,
      memoryLimit: options.memoryLimit, overCap: false, seconds: 0, slowestCaseMs: 0,
    };
    for (let n = 0; n < options.cases; n++) {
      const i = n % targets.length;
      const fuzzCase = targets[i]!.make(rng);
      const count = counts[i]!;
      const t0 = performance.now();
      let error: unknown = null;
      try {
        await fuzzCase.run();
      } catch (e) {
        error = e;
      }
      report.slowestCaseMs = Math.max(report.slowestCaseMs, performance.now() - t0);
      count.cases++;
      report.cases++;
      const problem = error === null ? null : judge(error, fuzzCase.names);
      if (error === null) count.accepted++;
      else if (problem === null) count.refused++;
      else {
        count.crashes++;
        report.crashes++;
        if (report.samples.length < 20) report.samples.push({ target: count.target, what: fuzzCase.what, error: problem });
      }
      report.peakRss = Math.max(report.peakRss, process.memoryUsage.rss());
      if (options.onProgress && (n + 1) % (options.progressEvery ?? 1000) === 0) options.onProgress(n + 1, report);
    }
    report.overCap = report.peakRss - report.baselineRss > OVER_CAP * options.memoryLimit;
    report.seconds = (performance.now() - started) / 1000;
    return report;
  } finally {
    setKernels(backend);
    if (saved === undefined) delete process.env["BPTT_MEMORY_LIMIT"];
    else process.env["BPTT_MEMORY_LIMIT"] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Null for the project's own one-line error naming `names`; otherwise what is wrong with the error. */
function judge(error: unknown, names: string): string | null {
  if (!isUserError(error)) {
    const stack = error instanceof Error ? error.stack ?? error.message : String(error);
    return `not a one-line error: ${stack.split("\n").slice(0, 4).join(" | ")}`;
  }
  if (/[\n\r\u2028\u2029]/.test(error.message)) return `several lines: ${JSON.stringify(error.message.slice(0, 300))}`;
  if (!error.message.includes(names)) return `does not name ${names}: ${error.message.slice(0, 300)}`;
  return null;
}
