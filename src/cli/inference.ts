/**
 * What `bptt generate`, `eval` and `predict` share: loading a run directory into a model with the
 * data spec it was trained with, and reading input lines (a file or "-" for stdin). Running a model
 * step by step (Stepper) and sampling (Sampler) are re-exported from the library's src/inference/.
 *
 * Loading trusts nothing: a missing directory, a bad config.json, a model.safetensors that is
 * truncated, foreign or of another shape, and a config whose data spec does not fit its model are
 * each a one-line error naming the file.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { type DataSpec, type RunModel, modelFromRunConfig } from "../data/run-config.js";
import { defaultLineEnd } from "../data/language-model.js";
import { UsageError } from "./errors.js";
import { checkMemory } from "./memory-estimate.js";
import { CONFIG_FILE, MODEL_FILE, type TrainRunConfig, loadWeights, readConfig } from "./run-directory.js";

export { STDIN, inputLinePieces, inputLines, sourceName } from "./input.js";
// The step-by-step runner and the sampler live in the isomorphic library (src/inference/).
export { Stepper } from "../inference/stepper.js";
export { NEVER_SAMPLED, Sampler, type SamplerOptions, argmaxOf, kthLargest, softmax } from "../inference/sampling.js";

/** A trained run, ready for inference: the model (its weights loaded) and its data pieces. */
export interface LoadedRun extends RunModel {
  dir: string;
  config: TrainRunConfig;
  spec: DataSpec;
}

/**
 * Reads DIR/config.json, builds the model it describes (modelFromRunConfig, once its memory estimate
 * is within the limit) and loads DIR/model.safetensors into it.
 */
export function loadRun(dir: string): LoadedRun {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--model ${dir}: ${code === "ENOENT" ? "no such directory" : `cannot read it (${code ?? "error"})`}`);
  }
  if (!isDirectory) throw new UsageError(`--model ${dir}: not a directory (give the run directory that bptt train --out wrote)`);
  const config = readConfig(dir);
  const configPath = join(dir, CONFIG_FILE);
  checkMemory(config.model, { optimizer: null, batch: 1, steps: 1 }, configPath);
  let run: RunModel;
  try {
    run = modelFromRunConfig(config, configPath);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  loadWeights(join(dir, MODEL_FILE), run.model);
  return { dir, config, spec: config.data, ...run };
}

/**
 * Outputs that are NaN or ±Infinity come from weights that are finite but overflow (3e38, say): a
 * one-line error naming where and the weights, never a "loss NaN" or blank predictions.
 */
export function checkFiniteOutputs(values: ArrayLike<number>, run: LoadedRun, at: string): void {
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i]!)) continue;
    let largest = 0;
    for (const p of run.model.parameters()) for (const w of p.value) largest = Math.max(largest, Math.abs(w));
    throw new UsageError(
      `${at}: the model's outputs are not finite (${values[i]}): the weights in ${join(run.dir, MODEL_FILE)} ` +
        `(largest magnitude ${largest.toPrecision(3)}) overflow; retrain the model, e.g. with a lower --lr`,
    );
  }
}

/** The token a language model reads at each line end: "<eos>" for words, "\n" for characters. */
export function lineEndOf(run: LoadedRun): string {
  return defaultLineEnd(run.tokenizer!.kind);
}


let pipeWatched = false;

/**
 * When the reader of stdout goes away (`bptt predict … | head`), stop quietly instead of dying on an
 * unhandled EPIPE with a stack trace: the output was not wanted any more.
 */
export function exitQuietlyOnBrokenPipe(): void {
  if (pipeWatched) return;
  pipeWatched = true;
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

/** Buffered writes to stdout (one write per ~64 KiB), flushed at the end or before an error is reported. */
export class Output {
  private parts: string[] = [];
  private size = 0;

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 65536) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    process.stdout.write(this.parts.join(""));
    this.parts = [];
    this.size = 0;
  }
}

/** An integer flag value ≥ min, or a one-line error naming the flag. */
export function integerFlag(value: string | undefined, flag: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** A number flag value > 0 (finite), or a one-line error naming the flag. */
export function positiveFlag(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = value.trim() === "" ? NaN : Number(value);
  if (!(n > 0 && Number.isFinite(n))) throw new UsageError(`${flag} must be a number > 0, got ${JSON.stringify(value)}`);
  return n;
}
