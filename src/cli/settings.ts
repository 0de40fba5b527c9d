/**
 * The settings of `bptt train`: their defaults, a JSON config file that can hold any of them, and
 * the command-line flags that override it. Every value is checked once, here, and a bad one is a
 * one-line UsageError that names the flag (or the config key) and what was expected.
 */
import { UsageError } from "./errors.js";

export type Task = "lm" | "classify" | "label" | "regress";

export interface TrainSettings {
  task: Task;
  data: string | null;
  val: string | null;
  valFraction: number;
  cell: "rnn" | "rnn_relu" | "lstm" | "gru";
  hidden: number;
  layers: number;
  bidirectional: boolean;
  dropout: number;
  embedding: number;
  tokenizer: "char" | "word";
  lowercase: boolean;
  minCount: number;
  maxVocab: number;
  optimizer: "sgd" | "adam" | "adamw" | "rmsprop" | "adagrad";
  lr: number;
  weightDecay: number;
  momentum: number;
  clip: number | null;
  clipValue: number | null;
  k1: number | null;
  k2: number | null;
  mode: "full" | "online" | "truncated" | null;
  lossEveryChunk: boolean;
  batch: number;
  epochs: number;
  seed: number;
  out: string;
  init: string | null;
  checkpointEvery: number;
  diagnostics: boolean;
  bucket: boolean;
  /** Time series: feature columns, target columns, forecast horizon, window length. */
  inputColumns: string[] | null;
  targetColumns: string[] | null;
  horizon: number;
  window: number;
  /** Stop after this many updates (0: no limit); for quick runs and tests. */
  maxUpdates: number;
}

export const DEFAULT_SETTINGS: Readonly<TrainSettings> = Object.freeze({
  task: "lm",
  data: null,
  val: null,
  valFraction: 0.1,
  cell: "lstm",
  hidden: 128,
  layers: 1,
  bidirectional: false,
  dropout: 0,
  embedding: 64,
  tokenizer: "char",
  lowercase: false,
  minCount: 1,
  maxVocab: 50000,
  optimizer: "adam",
  lr: 0.002,
  weightDecay: 0,
  momentum: 0,
  clip: 5,
  clipValue: null,
  k1: null,
  k2: null,
  mode: null,
  lossEveryChunk: false,
  batch: 32,
  epochs: 10,
  seed: 1,
  out: "runs/latest",
  init: null,
  checkpointEvery: 200,
  diagnostics: false,
  bucket: false,
  inputColumns: null,
  targetColumns: null,
  horizon: 1,
  window: 50,
  maxUpdates: 0,
} satisfies TrainSettings);

type Kind = "integer" | "positive" | "number" | "probability" | "boolean" | "string" | "columns" | "length";

/** Each setting: its flag, its type, and the allowed values where it is a choice. */
const SPEC: Record<keyof TrainSettings, { flag: string; kind: Kind; choices?: readonly string[]; nullable?: boolean; min?: number }> = {
  task: { flag: "--task", kind: "string", choices: ["lm", "classify", "label", "regress"] },
  data: { flag: "--data", kind: "string", nullable: true },
  val: { flag: "--val", kind: "string", nullable: true },
  valFraction: { flag: "--val-fraction", kind: "probability" },
  cell: { flag: "--cell", kind: "string", choices: ["rnn", "rnn_relu", "lstm", "gru"] },
  hidden: { flag: "--hidden", kind: "integer", min: 1 },
  layers: { flag: "--layers", kind: "integer", min: 1 },
  bidirectional: { flag: "--bidirectional", kind: "boolean" },
  dropout: { flag: "--dropout", kind: "probability" },
  embedding: { flag: "--embedding", kind: "integer", min: 1 },
  tokenizer: { flag: "--tokenizer", kind: "string", choices: ["char", "word"] },
  lowercase: { flag: "--lowercase", kind: "boolean" },
  minCount: { flag: "--min-count", kind: "integer", min: 1 },
  maxVocab: { flag: "--max-vocab", kind: "integer", min: 3 },
  optimizer: { flag: "--optimizer", kind: "string", choices: ["sgd", "adam", "adamw", "rmsprop", "adagrad"] },
  lr: { flag: "--lr", kind: "positive" },
  weightDecay: { flag: "--weight-decay", kind: "number", min: 0 },
  momentum: { flag: "--momentum", kind: "number", min: 0 },
  clip: { flag: "--clip", kind: "positive", nullable: true },
  clipValue: { flag: "--clip-value", kind: "positive", nullable: true },
  k1: { flag: "--k1", kind: "length", nullable: true },
  k2: { flag: "--k2", kind: "length", nullable: true },
  mode: { flag: "--mode", kind: "string", choices: ["full", "online", "truncated"], nullable: true },
  lossEveryChunk: { flag: "--loss-every-chunk", kind: "boolean" },
  batch: { flag: "--batch", kind: "integer", min: 1 },
  epochs: { flag: "--epochs", kind: "integer", min: 1 },
  seed: { flag: "--seed", kind: "integer", min: 0 },
  out: { flag: "--out", kind: "string" },
  init: { flag: "--init", kind: "string", nullable: true },
  checkpointEvery: { flag: "--checkpoint-every", kind: "integer", min: 1 },
  diagnostics: { flag: "--diagnostics", kind: "boolean" },
  bucket: { flag: "--bucket", kind: "boolean" },
  inputColumns: { flag: "--input-columns", kind: "columns", nullable: true },
  targetColumns: { flag: "--target-columns", kind: "columns", nullable: true },
  horizon: { flag: "--horizon", kind: "integer", min: 0 },
  window: { flag: "--window", kind: "integer", min: 1 },
  maxUpdates: { flag: "--max-updates", kind: "integer", min: 0 },
};

/** Flag name (without dashes) → settings key, for the parser. */
export const FLAG_KEYS: ReadonlyMap<string, keyof TrainSettings> = new Map(
  (Object.keys(SPEC) as Array<keyof TrainSettings>).map((key) => [SPEC[key].flag.slice(2), key]),
);

export function flagOf(key: keyof TrainSettings): string {
  return SPEC[key].flag;
}

export function isBooleanSetting(key: keyof TrainSettings): boolean {
  return SPEC[key].kind === "boolean";
}

/**
 * Merges defaults < config file (JSON object, keys in camelCase or as flag names) < flags, checking
 * every value. `configSource` names the file in messages.
 */
export function resolveSettings(config: unknown, configSource: string | null, flags: ReadonlyMap<keyof TrainSettings, string | boolean>): TrainSettings {
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  if (config !== undefined && config !== null) {
    if (typeof config !== "object" || Array.isArray(config)) throw new UsageError(`${configSource}: expected a JSON object of settings`);
    for (const [rawKey, raw] of Object.entries(config as Record<string, unknown>)) {
      const key = (FLAG_KEYS.get(rawKey) ?? rawKey) as keyof TrainSettings;
      if (!(key in SPEC)) throw new UsageError(`${configSource}: unknown setting "${rawKey}"`);
      settings[key] = parseValue(key, raw, `${configSource}: "${rawKey}"`);
    }
  }
  for (const [key, raw] of flags) settings[key] = parseValue(key, raw, SPEC[key].flag);
  const s = settings as unknown as TrainSettings;
  if (s.mode !== null && s.mode !== "truncated" && (s.k1 !== null || s.k2 !== null)) {
    throw new UsageError(`--mode ${s.mode} sets k1 and k2 itself: drop --k1/--k2, or use --mode truncated`);
  }
  return s;
}

function parseValue(key: keyof TrainSettings, raw: unknown, where: string): unknown {
  const spec = SPEC[key];
  if (raw === null && spec.nullable) return null;
  if (spec.kind === "boolean") {
    if (typeof raw === "boolean") return raw;
    if (raw === "true") return true;
    if (raw === "false") return false;
    throw new UsageError(`${where} expects true or false, got ${JSON.stringify(raw)}`);
  }
  if (spec.kind === "string") {
    if (typeof raw !== "string" || raw === "") throw new UsageError(`${where} expects ${spec.choices ? `one of ${spec.choices.join(", ")}` : "a non-empty string"}, got ${JSON.stringify(raw)}`);
    if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`${where} expects one of ${spec.choices.join(", ")}, got "${raw}"`);
    return raw;
  }
  if (spec.kind === "columns") {
    const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(",").map((c) => c.trim()) : null;
    if (!list || list.length === 0 || list.some((c) => typeof c !== "string" || c === "")) {
      throw new UsageError(`${where} expects a comma-separated list of column names, got ${JSON.stringify(raw)}`);
    }
    return list;
  }
  const text = typeof raw === "number" ? String(raw) : typeof raw === "string" ? raw.trim() : "";
  if (spec.kind === "length" && /^(inf|infinity|∞)$/i.test(text)) return Infinity;
  const value = text === "" ? NaN : Number(text);
  const min = spec.min ?? -Infinity;
  switch (spec.kind) {
    case "integer":
    case "length":
      if (!Number.isSafeInteger(value) || value < Math.max(min, spec.kind === "length" ? 1 : min)) {
        throw new UsageError(`${where} expects an integer ≥ ${spec.kind === "length" ? 1 : min}${spec.kind === "length" ? " (or inf)" : ""}, got ${JSON.stringify(raw)}`);
      }
      return value;
    case "positive":
      if (!(value > 0 && value < Infinity)) throw new UsageError(`${where} expects a positive number, got ${JSON.stringify(raw)}`);
      return value;
    case "probability":
      if (!(value >= 0 && value < 1)) throw new UsageError(`${where} expects a number in [0, 1), got ${JSON.stringify(raw)}`);
      return value;
    default:
      if (!(value >= min && value < Infinity)) throw new UsageError(`${where} expects a number ≥ ${min}, got ${JSON.stringify(raw)}`);
      return value;
  }
}
