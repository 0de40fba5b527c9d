/**
 * What an experiment is: a question about BPTT answered by training runs.
 *
 * An experiment plans its jobs (one arm × one seed each; a job is plain JSON so it can cross to a
 * worker thread), runs each job as a pure function of its description (same job, same result, bit for
 * bit, whichever thread runs it), then turns all the results into a report: Markdown with the numbers
 * and the settings, JSON data, and SVG plots. `bptt experiment <name>` (src/cli/experiment.ts) drives
 * the three phases and writes the files.
 */

/** How long and how strong a run: `default` ≤ 3 minutes on 2 cores, `full` longer, `smoke` for tests. */
export type Scale = "smoke" | "default" | "full";

export interface ExperimentSettings {
  scale: Scale;
  /** The seeds, 1 … n. */
  seeds: number[];
  /** A user's text (char-rnn only), or null for the built-in data. */
  data: { name: string; text: string } | null;
}

/** One training run: which arm of the comparison, which seed, and any arm parameters (JSON only). */
export interface Job {
  arm: string;
  seed: number;
  [parameter: string]: unknown;
}

/** A finished job: its result (JSON) and how long it took in seconds. */
export interface JobRun<Result = unknown> {
  job: Job;
  result: Result;
  seconds: number;
}

/** Where and how the experiment ran, for the report. */
export interface ReportContext {
  /** The command that reproduces the report. */
  command: string;
  wallSeconds: number;
  workers: number;
  environment: string;
}

export interface Report {
  /** report.md */
  markdown: string;
  /** results.json */
  data: unknown;
  /** Further files by name, e.g. `accuracy.svg`. */
  files: Record<string, string>;
}

export interface Experiment<Result = unknown> {
  name: string;
  /** One line: the question asked. */
  title: string;
  /** How many seeds by default at this scale. */
  seedsFor(scale: Scale): number;
  plan(settings: ExperimentSettings): Job[];
  /** Trains and measures; deterministic given job and settings. Throws RangeError for bad user input. */
  run(job: Job, settings: ExperimentSettings): Result;
  /** One line for the progress log: arm, seed and the headline number. */
  describe(run: JobRun<Result>): string;
  report(settings: ExperimentSettings, runs: JobRun<Result>[], context: ReportContext): Promise<Report>;
}

/** Runs the jobs one after another on this thread, timing each. */
export function runSequentially(
  experiment: Experiment, settings: ExperimentSettings, jobs: readonly Job[], onRun: (run: JobRun) => void,
): JobRun[] {
  return jobs.map((job) => {
    const started = performance.now();
    const result = experiment.run(job, settings);
    const run = { job, result, seconds: (performance.now() - started) / 1000 };
    onRun(run);
    return run;
  });
}
