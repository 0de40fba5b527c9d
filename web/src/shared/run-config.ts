/**
 * config.json of a run directory, exactly as `bptt train --out DIR` writes it and `bptt generate`,
 * `bptt eval` and `bptt predict` read it (src/cli/run-directory.ts, src/cli/inference.ts):
 *
 *   { "format": "bptt-run", "version": 1,
 *     "model":    the SequenceModel's configuration (cell, vocabSize | inputSize, hiddenSize, …),
 *     "data":     { task, tokenizer, vocabulary, labels, inputSize, series },
 *     "schedule": { k1, k2 } with "inf" for Infinity (JSON has no Infinity),
 *     "training": the settings under the CLI's names (eval reads k1 and batch from it) }
 *
 * Vocabularies start with "<pad>", "<unk>" (ids 0 and 1), as the CLI's Vocabulary requires.
 * Reading trusts nothing: every field the page relies on is checked, and a problem is one line that
 * names the file and the field.
 */
import type { ModelConfig } from "bptt";

export const PAD_TOKEN = "<pad>";
export const UNK_TOKEN = "<unk>";
export const PAD_ID = 0;
export const UNK_ID = 1;

export type CliTask = "lm" | "classify" | "label" | "regress";

export interface DataSpec {
  task: CliTask;
  tokenizer: { kind: "char" | "word"; lowercase: boolean } | null;
  vocabulary: string[] | null;
  labels: string[] | null;
  inputSize: number;
  series: null | { features: string[]; targets: string[]; horizon: number; window: number };
}

export interface RunConfig {
  format: "bptt-run";
  version: 1;
  model: ModelConfig;
  data: DataSpec;
  schedule: { k1: number; k2: number };
  training: Record<string, unknown>;
}

/** config.json's text ("inf" for Infinity, two-space indentation, a final newline, as the CLI writes it). */
export function stringifyRunConfig(config: RunConfig): string {
  return `${JSON.stringify(config, (_, v) => (v === Infinity ? "inf" : v), 2)}\n`;
}

/** Parses and checks a config.json; throws a RangeError naming `source` and the first problem. */
export function parseRunConfig(text: string, source: string): RunConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text, (_, v) => (v === "inf" ? Infinity : v));
  } catch (error) {
    throw new RangeError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  const fail = (what: string): never => {
    throw new RangeError(`${source}: ${what}`);
  };
  if (!isObject(raw) || raw["format"] !== "bptt-run") fail('not a bptt run configuration (no "format": "bptt-run")');
  const config = raw as Record<string, unknown>;
  if (config["version"] !== 1) fail(`version ${String(config["version"])} is not supported (expected 1)`);
  for (const key of ["model", "data", "schedule", "training"]) {
    if (!isObject(config[key])) fail(`"${key}" is missing or not an object`);
  }
  const data = config["data"] as Record<string, unknown>;
  if (!["lm", "classify", "label", "regress"].includes(data["task"] as string)) {
    fail(`data.task must be "lm", "classify", "label" or "regress", got ${JSON.stringify(data["task"])}`);
  }
  const vocabulary = data["vocabulary"];
  if (vocabulary !== null && vocabulary !== undefined) checkVocabulary(vocabulary, fail);
  const labels = data["labels"];
  if (labels !== null && labels !== undefined) checkStrings(labels, "data.labels", fail);
  const tokenizer = data["tokenizer"];
  if (tokenizer !== null && tokenizer !== undefined) {
    if (!isObject(tokenizer) || (tokenizer["kind"] !== "char" && tokenizer["kind"] !== "word")) {
      fail('data.tokenizer.kind must be "char" or "word"');
    }
  }
  return config as unknown as RunConfig;
}

function checkVocabulary(value: unknown, fail: (what: string) => never): void {
  checkStrings(value, "data.vocabulary", fail);
  const tokens = value as string[];
  if (tokens[0] !== PAD_TOKEN || tokens[1] !== UNK_TOKEN) {
    fail(`data.vocabulary must start with "${PAD_TOKEN}", "${UNK_TOKEN}"`);
  }
}

function checkStrings(value: unknown, name: string, fail: (what: string) => never): void {
  if (!Array.isArray(value) || value.length === 0) fail(`${name} must be a non-empty array of strings`);
  const seen = new Set<string>();
  (value as unknown[]).forEach((item, i) => {
    if (typeof item !== "string" || item === "") fail(`${name}[${i}] must be a non-empty string`);
    if (seen.has(item as string)) fail(`${name}[${i}] ${JSON.stringify(item)} appears twice`);
    seen.add(item as string);
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
