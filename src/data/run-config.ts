/**
 * config.json of a run directory: what `bptt train --out DIR` writes and `bptt generate`, `eval`,
 * `predict` and `export` read, and what the playground downloads and loads. Text in, text out: the
 * command line reads and writes the file itself (src/cli/run-directory.ts: size limit, atomic write).
 *
 *   { "format": "bptt-run", "version": 1,
 *     "model":    the SequenceModel's ModelConfig (cell, vocabSize | inputSize, hiddenSize, …)
 *     "data":     the DataSpec: task, tokenizer, vocabulary, labels, inputSize, series
 *     "schedule": { "k1", "k2" } as resolved
 *     "training": the settings under the CLI's names (`bptt eval` reads k1 and batch from it, with
 *                 defaults; `bptt train --resume` reads them all) }
 *
 * JSON has no Infinity: every Infinity is written "inf", and schedule.k1 and k2 are read back as
 * Infinity. No other value is touched: a vocabulary may hold the word "inf", and the "training"
 * section is left as written for its reader (the CLI reads its settings back by their kinds).
 *
 * Reading trusts nothing, in two steps, each failure a RangeError of one line naming the file:
 *   parseRunConfig       the JSON and its frame: the format, the version, four sections that are objects
 *   modelFromRunConfig   what it describes: the model is built (its weights are not loaded), the
 *                        tokenizer, vocabulary and labels are read (dataFromSpec), and they must fit the
 *                        model's inputs and outputs
 */
import { type ModelConfig, SequenceModel } from "../train/model.js";
import { LabelSet } from "./classification.js";
import { type Tokenizer, type TokenizerConfig, createTokenizer } from "./tokenizer.js";
import { Vocabulary } from "./vocabulary.js";

/** The tasks of `bptt train --task`: language model, text classifier, sequence labeller, regression. */
export const RUN_TASKS = Object.freeze(["lm", "classify", "label", "regress"] as const);
export type RunTask = (typeof RUN_TASKS)[number];

/** What a run knows about its data, so that new data is read the way training read its own. */
export interface DataSpec {
  task: RunTask;
  /** How text is split into tokens (lm, classify; label reads given tokens), null for feature inputs. */
  tokenizer: Required<TokenizerConfig> | null;
  /** Token inputs: `Vocabulary.toJSON()`, "<pad>" and "<unk>" first. */
  vocabulary: string[] | null;
  /** classify and label: `LabelSet.toJSON()`, the labels in class-id order. */
  labels: string[] | null;
  /** Feature inputs: values per step (0 for token inputs). */
  inputSize: number;
  /** regress: the CSV columns, the forecast horizon and the window length. */
  series: { features: string[]; targets: string[]; horizon: number; window: number } | null;
}

/** config.json; `Training` is the type of its "training" section (the CLI's TrainSettings). */
export interface RunConfig<Training extends object = Record<string, unknown>> {
  format: "bptt-run";
  version: 1;
  model: ModelConfig;
  data: DataSpec;
  /** k1 and k2 as resolved, Infinity for no limit. */
  schedule: { k1: number; k2: number };
  training: Training;
}

/** The tokenizer, vocabulary and labels a DataSpec describes (null where the task has none). */
export interface RunData {
  tokenizer: Tokenizer | null;
  vocabulary: Vocabulary | null;
  labels: LabelSet | null;
}

/** The model a config.json describes (weights not loaded yet), with the data pieces it reads and writes with. */
export interface RunModel extends RunData {
  model: SequenceModel;
}

const SECTIONS = ["model", "data", "schedule", "training"] as const;

/** config.json's text: two-space indentation, "inf" for Infinity, a final line break. */
export function stringifyRunConfig(config: RunConfig<object>): string {
  return `${JSON.stringify(config, (_, v) => (v === Infinity ? "inf" : v), 2)}\n`;
}

/**
 * Parses config.json's text and checks its frame (the format, the version, the four sections);
 * `source` (the file's name) starts every error. What the sections hold is checked by modelFromRunConfig.
 */
export function parseRunConfig(text: string, source: string): RunConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RangeError(`${source}: not valid JSON (${oneLine((error as Error).message, 160)})`);
  }
  const config = raw as Record<string, unknown> | null;
  if (!config || typeof config !== "object" || config["format"] !== "bptt-run") {
    throw new RangeError(`${source}: not a bptt run configuration (no "format": "bptt-run")`);
  }
  if (config["version"] !== 1) {
    const version = oneLine(JSON.stringify(config["version"]) ?? "none", 40);
    throw new RangeError(`${source}: version ${version} is not supported (expected 1)`);
  }
  for (const key of SECTIONS) {
    if (!config[key] || typeof config[key] !== "object") {
      throw new RangeError(`${source}: "${key}" is missing or not an object`);
    }
  }
  const schedule = config["schedule"] as Record<string, unknown>;
  for (const k of ["k1", "k2"]) if (schedule[k] === "inf") schedule[k] = Infinity;
  return config as unknown as RunConfig;
}

/**
 * The tokenizer, vocabulary and labels of a DataSpec, each checked (`Vocabulary.fromJSON`,
 * `LabelSet.fromJSON`, `createTokenizer`); a RangeError names the field.
 */
export function dataFromSpec(spec: DataSpec): RunData {
  if (!RUN_TASKS.includes(spec.task)) {
    throw new RangeError(`data.task must be one of ${RUN_TASKS.join(", ")}, got ${JSON.stringify(spec.task)}`);
  }
  const present = (value: unknown): boolean => value !== null && value !== undefined;
  return {
    vocabulary: present(spec.vocabulary) ? Vocabulary.fromJSON(spec.vocabulary, "data.vocabulary") : null,
    labels: present(spec.labels) ? LabelSet.fromJSON(spec.labels, "data.labels") : null,
    tokenizer: spec.tokenizer ? createTokenizer(spec.tokenizer) : null,
  };
}

/**
 * Builds the model a parsed config.json describes and reads its data pieces (dataFromSpec), which
 * must fit the model: the vocabulary its embedding, the labels or tokens its outputs, the series its
 * inputs. Load the weights next (`model.loadStateDict`). Errors are one line starting with `source`.
 */
export function modelFromRunConfig(config: RunConfig<object>, source: string): RunModel {
  try {
    const model = new SequenceModel(config.model);
    const data = dataFromSpec(config.data);
    checkFit(config.data, model, data);
    return { model, ...data };
  } catch (error) {
    if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
    throw new RangeError(`${source}: ${oneLine(error.message)}`);
  }
}

/** The data spec must describe the model's inputs and outputs. */
function checkFit(spec: DataSpec, model: SequenceModel, { vocabulary, labels, tokenizer }: RunData): void {
  const { objective, vocabSize } = model.config;
  const { inputSize, outputSize } = model;
  const outputs = `${outputSize} ${objective} outputs`;
  const tokens = model.embedding !== null;
  if (tokens && !vocabulary) throw new RangeError("the model reads tokens but data.vocabulary is missing");
  if (tokens && vocabulary!.size !== vocabSize) {
    throw new RangeError(`data.vocabulary has ${vocabulary!.size} tokens, model.vocabSize is ${vocabSize}`);
  }
  if (!tokens && spec.inputSize !== inputSize) {
    throw new RangeError(`data.inputSize is ${spec.inputSize}, the model reads ${inputSize} features per step`);
  }
  switch (spec.task) {
    case "lm":
      if (!tokens || !tokenizer) throw new RangeError("a language model needs token inputs and data.tokenizer");
      if (objective !== "classes" || outputSize !== vocabulary!.size) {
        throw new RangeError(`a language model predicts its ${vocabulary!.size} tokens, the model has ${outputs}`);
      }
      break;
    case "classify":
    case "label":
      if (spec.task === "classify" && (!tokens || !tokenizer)) {
        throw new RangeError("a text classifier needs token inputs and data.tokenizer");
      }
      if (!labels) throw new RangeError("data.labels is missing");
      if (objective !== "classes" || outputSize !== labels.size) {
        throw new RangeError(`data.labels has ${labels.size} labels, the model has ${outputs}`);
      }
      break;
    case "regress": {
      const s = spec.series;
      if (!s || !Array.isArray(s.features) || !Array.isArray(s.targets)) {
        throw new RangeError("data.series (the CSV columns) is missing");
      }
      if (tokens || s.features.length !== inputSize) {
        const columns = `${s.features.length} feature columns`;
        throw new RangeError(`data.series has ${columns}, the model reads ${inputSize} features`);
      }
      if (objective !== "regression" || s.targets.length !== outputSize) {
        throw new RangeError(`data.series has ${s.targets.length} target columns, the model has ${outputs}`);
      }
      break;
    }
  }
}

/** A message on one line: control characters as spaces, at most `max` characters. */
function oneLine(message: string, max = 300): string {
  const flat = message.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
