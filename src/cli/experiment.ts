/**
 * `bptt experiment <name> [--full] [--seeds N] [--out DIR] [--data FILE] [--workers N] [--json]` and
 * `bptt experiment --list`: the questions about BPTT answered by real runs (src/experiments/).
 *
 * The experiment plans its jobs (one arm × one seed each); they run on a pool of worker threads (by
 * default min(2, CPUs)), each job timed; then the experiment writes its report into DIR (default
 * experiments/<name>): report.md, results.json and the SVG plots. Progress is one line per finished
 * job (JSON events with --json). Jobs are pure functions of their description, so the numbers do not
 * depend on the number of workers.
 *
 * This module is also the workers' entry point: loaded in a worker thread it serves jobs.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { type Command, Option } from "commander";
import { EXPERIMENTS, type Experiment, type ExperimentSettings, type Job, type JobRun, type Scale, findExperiment, runSequentially } from "../experiments/index.js";
import { loadPlotting } from "../experiments/plot.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { installNodeThreads } from "../io/worker-threads.js";
import { kernels, setThreads } from "../kernels/index.js";
import { setUpBackend } from "./backend.js";
import { parseThreads, threadsOption } from "./threads.js";
import { UsageError } from "./errors.js";

export interface ExperimentOptions {
  list?: boolean;
  full?: boolean;
  smoke?: boolean;
  seeds?: string;
  out?: string;
  data?: string;
  workers?: string;
  threads?: string;
  json?: boolean;
}

export function registerExperiment(program: Command): void {
  program
    .command("experiment")
    .description("answer a question about BPTT with real training runs: a report with numbers and plots (--list: which)")
    .argument("[name]", "the experiment (see --list)")
    .option("--list", "list the experiments")
    .option("--full", "the longer, stronger run (default: at most ~3 minutes on 2 cores)")
    .option("--seeds <n>", "number of seeds, 1 … n (default: per experiment)")
    .option("--out <dir>", "report directory (default: experiments/<name>)")
    .option("--data <file>", "char-rnn: a UTF-8 text file to model (default: a built-in generated corpus)")
    .option("--workers <n>", "training runs in parallel (default: min(2, CPUs))")
    .addOption(threadsOption("threads for large matrix products in each training run (default: CPUs / workers, at least 1)"))
    .option("--json", "machine-readable events, one JSON object per line")
    .addOption(new Option("--smoke", "tiny settings for tests (numbers not meaningful)").hideHelp())
    .action(async (name: string | undefined, options: ExperimentOptions) => {
      const write = (line: string): void => {
        process.stdout.write(`${line}\n`);
      };
      if (options.list) {
        if (name !== undefined) throw new UsageError("--list takes no experiment name");
        write(listExperiments());
        return;
      }
      await runExperiment(name, options, write);
    });
}

/** The `--list` text: each name and title. */
export function listExperiments(): string {
  const width = Math.max(...EXPERIMENTS.map((e) => e.name.length));
  return EXPERIMENTS.map((e) => `${e.name.padEnd(width)}  ${e.title}`).join("\n");
}

/** What a finished `bptt experiment` wrote. */
export interface ExperimentOutcome {
  out: string;
  files: string[];
  runs: JobRun[];
  wallSeconds: number;
}

/** Runs an experiment and writes its report; `write` receives the progress lines (or JSON events). */
export async function runExperiment(name: string | undefined, options: ExperimentOptions, write: (line: string) => void): Promise<ExperimentOutcome> {
  if (name === undefined) throw new UsageError("name an experiment: bptt experiment <name> (bptt experiment --list shows them)");
  const experiment = findExperiment(name);
  if (!experiment) {
    throw new UsageError(`unknown experiment ${JSON.stringify(name)}: choose one of ${EXPERIMENTS.map((e) => e.name).join(", ")}`);
  }
  if (options.full && options.smoke) throw new UsageError("--full and --smoke exclude each other");
  const scale: Scale = options.full ? "full" : options.smoke ? "smoke" : "default";
  const seedCount = integerFlag(options.seeds, "--seeds", experiment.seedsFor(scale), 1);
  const workers = integerFlag(options.workers, "--workers", Math.min(2, availableParallelism()), 1);
  if (options.data !== undefined && experiment.name !== "char-rnn") {
    throw new UsageError(`--data applies to char-rnn only (${experiment.name} generates its own data)`);
  }
  const settings: ExperimentSettings = {
    scale,
    seeds: Array.from({ length: seedCount }, (_, i) => i + 1),
    data: options.data !== undefined ? readText(options.data) : null,
  };
  const out = options.out ?? join("experiments", experiment.name);
  await loadPlotting(); // before any training: the report's plots need vega and vega-lite
  const json = options.json === true;
  const say = (line: string): void => {
    if (!json) write(line);
  };
  const event = (fields: Record<string, unknown>): void => {
    if (json) write(JSON.stringify(fields));
  };

  const jobs = experiment.plan(settings);
  const parallel = Math.min(workers, jobs.length);
  // Matrix-product threads per run: the cores shared among the runs in parallel (results do not depend on it).
  const threads = parseThreads(options.threads) ?? Math.max(1, Math.floor(availableParallelism() / Math.max(1, parallel)));
  installNodeThreads();
  setThreads(threads);
  say(`${experiment.name}: ${jobs.length} training runs (${scale} settings, seeds ${settings.seeds.join(", ")}), ${parallel} in parallel → ${out}`);
  event({ event: "start", experiment: experiment.name, scale, seeds: settings.seeds, jobs: jobs.length, workers: parallel, out });
  const started = performance.now();
  let done = 0;
  const onRun = (run: JobRun): void => {
    done++;
    const elapsed = (performance.now() - started) / 1000;
    say(`[${String(done).padStart(String(jobs.length).length)}/${jobs.length}] ${run.seconds.toFixed(1).padStart(5)}s  ${experiment.describe(run)}  (${elapsed.toFixed(0)}s elapsed)`);
    event({ event: "job", arm: run.job.arm, seed: run.job.seed, seconds: run.seconds, summary: experiment.describe(run) });
  };
  const runs = parallel <= 1
    ? runSequentially(experiment, settings, jobs, onRun)
    : await runInWorkers(experiment, settings, jobs, parallel, threads, onRun);
  const wallSeconds = (performance.now() - started) / 1000;

  const command = ["bptt experiment", experiment.name, options.full ? "--full" : "", options.smoke ? "--smoke" : "",
    options.seeds !== undefined ? `--seeds ${seedCount}` : "", options.data !== undefined ? `--data ${options.data}` : ""].filter(Boolean).join(" ");
  const cpu = cpus()[0]?.model.trim();
  const report = await experiment.report(settings, runs, {
    command, wallSeconds, workers: parallel,
    environment: `Node ${process.version}, ${availableParallelism()} CPUs${cpu ? ` (${cpu})` : ""}, kernels: ${kernels().name}`,
  });
  mkdirSync(out, { recursive: true });
  const files = ["report.md", "results.json", ...Object.keys(report.files)];
  writeFileAtomic(join(out, "report.md"), report.markdown);
  writeFileAtomic(join(out, "results.json"), `${JSON.stringify(report.data, jsonNumbers, 1)}\n`);
  for (const [file, text] of Object.entries(report.files)) writeFileAtomic(join(out, file), text);
  const total = (performance.now() - started) / 1000;
  const plots = files.length - 2;
  say(`done in ${total.toFixed(1)}s: ${join(out, "report.md")} (${plots} plot${plots === 1 ? "" : "s"})`);
  event({ event: "done", out, files, wallSeconds: total });
  return { out, files, runs, wallSeconds: total };
}

/** An integer flag ≥ min, or a one-line error naming the flag. */
function integerFlag(value: string | undefined, flag: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = /^\s*\+?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** NaN and ±Infinity are not JSON: write them as strings rather than as null. */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? String(value) : value;
}

/** The user's text for char-rnn: readable, UTF-8, long enough to hold out a tenth. */
function readText(path: string): { name: string; text: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--data ${path}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory, expected a text file" : `cannot read it (${code ?? "error"})`}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`--data ${path}: not valid UTF-8 text`);
  }
  const chars = Array.from(text).length;
  if (chars < 2000) throw new UsageError(`--data ${path}: ${chars} characters is too little to train and hold out a tenth; give at least 2000`);
  return { name: path, text };
}

interface JobMessage {
  experiment: string;
  job: Job;
  settings: ExperimentSettings;
}

type ResultMessage = { ok: true; result: unknown; seconds: number } | { ok: false; error: string; stack: string; user: boolean };

/** Runs the jobs on `count` worker threads, in plan order as workers free up; results keep the plan's order. */
async function runInWorkers(
  experiment: Experiment, settings: ExperimentSettings, jobs: readonly Job[], count: number, threads: number, onRun: (run: JobRun) => void,
): Promise<JobRun[]> {
  const runs: Array<JobRun | undefined> = new Array(jobs.length);
  let next = 0;
  // The workers compute on the backend this thread chose (results differ between backends in the last bits).
  const env = { ...process.env, BPTT_BACKEND: backendChoice(kernels().name) };
  const pool = Array.from({ length: count }, () => new Worker(new URL(import.meta.url), { workerData: { bpttExperimentWorker: true, threads }, env }));
  try {
    await Promise.all(pool.map(async (worker) => {
      while (next < jobs.length) {
        const index = next++;
        const job = jobs[index]!;
        const reply = await ask(worker, { experiment: experiment.name, job, settings });
        if (!reply.ok) {
          const error = reply.user ? new RangeError(reply.error) : new Error(`${experiment.name} ${job.arm} seed ${job.seed}: ${reply.error}\n${reply.stack}`);
          throw error;
        }
        const run = { job, result: reply.result, seconds: reply.seconds };
        runs[index] = run;
        onRun(run);
      }
    }));
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
  return runs as JobRun[];
}

function ask(worker: Worker, message: JobMessage): Promise<ResultMessage> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    const onMessage = (reply: ResultMessage): void => {
      cleanup();
      resolve(reply);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`an experiment worker exited (code ${code}) before finishing its job`));
    };
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
    worker.postMessage(message);
  });
}

/** The BPTT_BACKEND value that selects a backend of this name. */
function backendChoice(name: string): string {
  return name === "native" ? "native" : name === "reference" ? "reference" : "wasm";
}

/** In a worker thread: run each job posted and reply with its result. */
function serveJobs(): void {
  installNodeThreads();
  setThreads((workerData as { threads: number }).threads);
  parentPort!.on("message", (message: JobMessage) => {
    const experiment = findExperiment(message.experiment)!;
    const started = performance.now();
    let reply: ResultMessage;
    try {
      const result = experiment.run(message.job, message.settings);
      reply = { ok: true, result, seconds: (performance.now() - started) / 1000 };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      reply = { ok: false, error: e.message, stack: e.stack ?? "", user: e instanceof RangeError };
    }
    parentPort!.postMessage(reply);
  });
}

if (!isMainThread && (workerData as { bpttExperimentWorker?: boolean } | null)?.bpttExperimentWorker) {
  setUpBackend(); // each worker selects the backend its parent chose (BPTT_BACKEND in its environment)
  serveJobs();
}
