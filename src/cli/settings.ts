/**
 * The settings of `bptt train`, in one table: each row gives a setting's kind, default, allowed values
 * and help. Everything else derives from it: the TrainSettings type, DEFAULT_SETTINGS, the flags
 * (`--val-fraction` for valFraction) and their help, the keys a JSON config file may hold (camelCase or
 * the flag's name), and which settings a resumed run may change. The choices are the library's own
 * constants (RUN_TASKS, CELL_NAMES, OPTIMIZER_NAMES, TOKENIZER_KINDS), so a new cell or optimizer appears here by
 * itself. Every value is checked once, here; a bad one is a one-line UsageError naming the flag (or the
 * config key) and what was expected.
 */
import { RUN_TASKS } from "../data/run-config.js";
import { TOKENIZER_KINDS } from "../data/tokenizer.js";
import { OPTIMIZER_NAMES } from "../optim/index.js";
import { CELL_NAMES } from "../train/model.js";
import type { ScheduleMode } from "../train/schedule.js";
import { UsageError } from "./errors.js";

const SCHEDULE_MODES: readonly ScheduleMode[] = Object.freeze(["full", "online", "truncated", "rtrl", "uoro", "artbp"]);

type Kind = "choice" | "integer" | "positive" | "number" | "probability" | "boolean" | "path" | "columns" | "length" | "truncation";

interface Setting<T> {
  kind: Kind;
  default: T;
  help: string;
  choices?: readonly string[];
  /** Integers and numbers: the smallest value allowed. */
  min?: number;
  /** Whether null (no value) is allowed. */
  nullable?: boolean;
  /** Whether `--resume` may change it. */
  resumable?: boolean;
}

const choice = <C extends string>(choices: readonly C[], fallback: C, help = ""): Setting<C> =>
  ({ kind: "choice", choices, default: fallback, help });
const integer = (fallback: number, min: number, help: string, extra: Partial<Setting<number>> = {}): Setting<number> =>
  ({ kind: "integer", default: fallback, min, help, ...extra });
const number = (kind: "positive" | "number" | "probability", fallback: number, help: string): Setting<number> =>
  ({ kind, default: fallback, min: 0, help });
const optionalChoice = <C extends string>(choices: readonly C[], help: string): Setting<C | null> =>
  ({ kind: "choice", choices, default: null, help, nullable: true });
const text = (fallback: string, help: string): Setting<string> => ({ kind: "path", default: fallback, help });
const optionalPositive = (fallback: number | null, help: string): Setting<number | null> =>
  ({ kind: "positive", default: fallback, help, nullable: true });
const boolean = (help: string): Setting<boolean> => ({ kind: "boolean", default: false, help });
const path = (help: string): Setting<string | null> => ({ kind: "path", default: null, help, nullable: true });
const length = (help: string): Setting<number | null> => ({ kind: "length", default: null, help, nullable: true });
const columns = (help: string): Setting<string[] | null> => ({ kind: "columns", default: null, help, nullable: true });
/** A length, or "adaptive" (k2 chosen by the trainer: src/train/modes/adaptive-k2.ts). */
const truncation = (help: string): Setting<number | "adaptive" | null> => ({ kind: "truncation", default: null, help, nullable: true });
const optionalProbability = (help: string): Setting<number | null> => ({ kind: "probability", default: null, help, nullable: true });

/** Every setting, in the order `bptt train --help` lists them. */
const SETTINGS = {
  task: choice(RUN_TASKS, "lm"),
  data: path("training data: text (lm), JSONL or CSV (classify), JSONL (label), CSV (regress); none: the built-in demo"),
  val: path("validation data (default: hold out --val-fraction of --data)"),
  valFraction: number("probability", 0.1, "fraction held out for validation when there is no --val"),
  cell: choice(CELL_NAMES, "lstm"),
  hidden: integer(128, 1, "hidden units per layer"),
  proj: integer(0, 0, "lstm: project each layer's output to this many values, fewer than --hidden (LSTMP, " +
    "Sak et al. 2014; PyTorch's proj_size); 0: none"),
  peephole: boolean("lstm: peephole connections, the gates see the cell state (Gers & Schmidhuber 2000)"),
  layers: integer(1, 1, "stacked recurrent layers"),
  bidirectional: boolean("a second stack reads each sequence backwards (whole sequences only: --mode full)"),
  dropout: number("probability", 0, "dropout between stacked layers"),
  embedding: integer(64, 1, "embedding size for token inputs"),
  tokenizer: choice(TOKENIZER_KINDS, "char", "how lm and classify split text"),
  lowercase: boolean("lower-case the text before tokenizing"),
  minCount: integer(1, 1, "drop tokens seen fewer times (they become <unk>)"),
  maxVocab: integer(50000, 3, "largest vocabulary, <pad> and <unk> included"),
  optimizer: choice(OPTIMIZER_NAMES, "adam"),
  lr: number("positive", 0.002, "learning rate"),
  weightDecay: number("number", 0, "weight decay (L2 for adam/sgd, decoupled for adamw)"),
  momentum: number("number", 0, "momentum (sgd, rmsprop)"),
  clip: optionalPositive(5, "clip the global gradient norm to this value before each update"),
  clipValue: optionalPositive(null, "clip every gradient element to ±this value"),
  k1: length("steps between updates (an integer or inf)"),
  k2: truncation("steps the gradient flows back (an integer, inf, or adaptive; default k1; --mode artbp: the mean truncation)"),
  mode: optionalChoice(SCHEDULE_MODES, "full: k1 = k2 = sequence; online: k1 = 1, k2 = inf; truncated: k1 = k2 = --k1; " +
    "rtrl: exact online gradient (small models); uoro: its unbiased rank-one estimate; artbp: random truncation, unbiased (docs/tbptt.md)"),
  biasTolerance: optionalProbability("--k2 adaptive: the relative truncation bias to stay under (default 0.1)"),
  maxK2: length("--k2 adaptive: the longest truncation it may choose, and the steps kept (default max(8·k1, 32))"),
  lossEveryChunk: boolean("classify: also score the label at the end of every k1-chunk"),
  batch: integer(32, 1, "sequences (lm: parallel strips) per batch"),
  epochs: integer(10, 1, "passes over the training data", { resumable: true }),
  seed: integer(1, 0, "random seed: the same seed gives bit-identical training"),
  out: text("runs/latest", "run directory (model.safetensors, config.json, checkpoint.safetensors, metrics.json)"),
  init: path("start from these weights (safetensors with PyTorch state_dict names)"),
  checkpointEvery: integer(200, 1, "save a checkpoint after this many updates (and after every epoch)", { resumable: true }),
  diagnostics: boolean("write the gradient norm against the lag (diagnostics.csv, diagnostics.json)"),
  bucket: boolean("batch sequences of similar length together (fuller steps; padding is never computed)"),
  inputColumns: columns("regress: CSV columns read as inputs (comma-separated)"),
  targetColumns: columns("regress: CSV columns to predict (comma-separated)"),
  horizon: integer(1, 0, "regress: predict the targets this many rows ahead"),
  window: integer(50, 1, "regress: steps per training sequence"),
  maxUpdates: integer(0, 0, "stop after this many updates (0: no limit)", { resumable: true }),
} satisfies Record<string, Setting<unknown>>;

type Table = typeof SETTINGS;
export type SettingKey = keyof Table;
export type TrainSettings = { [K in SettingKey]: Table[K] extends Setting<infer T> ? T : never };

const KEYS = Object.keys(SETTINGS) as SettingKey[];
const spec = (key: SettingKey): Setting<unknown> => SETTINGS[key];

export const DEFAULT_SETTINGS: Readonly<TrainSettings> = Object.freeze(
  Object.fromEntries(KEYS.map((key) => [key, spec(key).default])) as TrainSettings,
);

/** Kinds whose values are not numbers: a saved "inf" stays a string (a file may be named so). */
const TEXT_KINDS: readonly Kind[] = ["choice", "path", "columns", "boolean"];

/**
 * The settings a run's config.json saved (its "training" section) as the run used them: "inf" read
 * back as Infinity where a setting is a number (k1, k2; JSON has no Infinity). Not checked again: a
 * resumed run trusts its own settings.
 */
export function savedSettings(training: Record<string, unknown>): TrainSettings {
  const settings = { ...training };
  for (const [key, value] of Object.entries(settings)) {
    const numeric = Object.hasOwn(SETTINGS, key) && !TEXT_KINDS.includes(spec(key as SettingKey).kind);
    if (value === "inf" && numeric) settings[key] = Infinity;
  }
  return settings as TrainSettings;
}

/** Settings a resumed run may change (the others are the run's own). */
export const RESUMABLE_SETTINGS: readonly SettingKey[] = Object.freeze(KEYS.filter((key) => spec(key).resumable === true));

/** `valFraction` → `--val-fraction`. */
export function flagOf(key: SettingKey): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Flag name (without dashes) → settings key, for the parser and config files. */
export const FLAG_KEYS: ReadonlyMap<string, SettingKey> = new Map(KEYS.map((key) => [flagOf(key).slice(2), key]));

/** What `bptt train` registers for each setting: its flag, whether it takes a value, and its help. */
export interface FlagDescription {
  key: SettingKey;
  flag: string;
  takesValue: boolean;
  help: string;
}

export function trainFlags(): FlagDescription[] {
  return KEYS.map((key) => {
    const s = spec(key);
    const choices = s.choices ? `${s.choices.join(" | ")}${s.help ? " — " : ""}` : "";
    const fallback = s.default === null || s.kind === "boolean" ? "" : ` (default: ${Array.isArray(s.default) ? s.default.join(",") : String(s.default)})`;
    return { key, flag: flagOf(key), takesValue: s.kind !== "boolean", help: `${choices}${s.help}${fallback}` };
  });
}

/**
 * Merges defaults < config file (JSON object, keys in camelCase or as flag names) < flags, checking
 * every value. `configSource` names the file in messages.
 */
export function resolveSettings(config: unknown, configSource: string | null, flags: ReadonlyMap<SettingKey, string | boolean>): TrainSettings {
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  if (config !== undefined && config !== null) {
    if (typeof config !== "object" || Array.isArray(config)) throw new UsageError(`${configSource}: expected a JSON object of settings`);
    for (const [rawKey, raw] of Object.entries(config as Record<string, unknown>)) {
      const key = settingKey(rawKey);
      if (key === null) throw new UsageError(`${configSource}: unknown setting ${JSON.stringify(rawKey)}`);
      settings[key] = parseValue(key, raw, `${configSource}: ${JSON.stringify(rawKey)}`);
    }
  }
  for (const [key, raw] of flags) settings[key] = parseValue(key, raw, flagOf(key));
  const s = settings as unknown as TrainSettings;
  if ((s.mode === "full" || s.mode === "online") && (s.k1 !== null || s.k2 !== null)) {
    throw new UsageError(`--mode ${s.mode} sets k1 and k2 itself: drop --k1/--k2, or use --mode truncated`);
  }
  checkBeyondTruncation(s);
  return s;
}

/** The settings of the modes beyond truncation (docs/tbptt.md), named by their flags. */
function checkBeyondTruncation(s: TrainSettings): void {
  if ((s.mode === "rtrl" || s.mode === "uoro") && s.k2 !== null) {
    throw new UsageError(`--mode ${s.mode} follows the gradient through the whole stream without truncation: drop --k2 (--k1 sets the steps per update)`);
  }
  if (s.mode === "artbp" && (typeof s.k2 !== "number" || s.k2 === Infinity || s.k2 < 2)) {
    throw new UsageError(`--mode artbp needs --k2, the mean truncation length: an integer ≥ 2, got ${s.k2 === null ? "none" : String(s.k2)}`);
  }
  if (s.k2 === "adaptive" && s.mode !== null && s.mode !== "truncated") {
    throw new UsageError(`--k2 adaptive chooses the truncation of a truncated schedule: drop --mode ${s.mode}`);
  }
  if ((s.biasTolerance !== null || s.maxK2 !== null) && s.k2 !== "adaptive") {
    throw new UsageError(`${s.biasTolerance !== null ? "--bias-tolerance" : "--max-k2"} is a setting of --k2 adaptive: add --k2 adaptive or drop it`);
  }
  if (s.biasTolerance === 0) throw new UsageError("--bias-tolerance expects a number in (0, 1), got 0");
}

/** A config key (camelCase or a flag's name) as a setting, or null; only the table's own keys count. */
function settingKey(raw: string): SettingKey | null {
  if (FLAG_KEYS.has(raw)) return FLAG_KEYS.get(raw)!;
  return Object.hasOwn(SETTINGS, raw) ? (raw as SettingKey) : null;
}

function parseValue(key: SettingKey, raw: unknown, where: string): unknown {
  const s = spec(key);
  if (raw === null && s.nullable) return null;
  switch (s.kind) {
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (raw === "true") return true;
      if (raw === "false") return false;
      throw new UsageError(`${where} expects true or false, got ${show(raw)}`);
    case "choice":
      if (typeof raw !== "string" || !s.choices!.includes(raw)) throw new UsageError(`${where} expects one of ${s.choices!.join(", ")}, got ${show(raw)}`);
      return raw;
    case "path":
      if (typeof raw !== "string" || raw === "") throw new UsageError(`${where} expects a non-empty string, got ${show(raw)}`);
      return raw;
    case "columns": {
      const list = Array.isArray(raw) ? raw : typeof raw === "string" ? raw.split(",").map((c) => c.trim()) : null;
      if (!list || list.length === 0 || list.some((c) => typeof c !== "string" || c === "")) {
        throw new UsageError(`${where} expects a comma-separated list of column names, got ${show(raw)}`);
      }
      return list;
    }
    default:
      return parseNumber(s, raw, where);
  }
}

function parseNumber(s: Setting<unknown>, raw: unknown, where: string): number | "adaptive" {
  const text = typeof raw === "number" ? String(raw) : typeof raw === "string" ? raw.trim() : "";
  if (s.kind === "truncation" && text === "adaptive") return "adaptive";
  if ((s.kind === "length" || s.kind === "truncation") && /^(inf|infinity|∞)$/i.test(text)) return Infinity;
  const value = text === "" ? NaN : Number(text);
  const min = s.kind === "length" || s.kind === "truncation" ? 1 : s.min ?? -Infinity;
  switch (s.kind) {
    case "integer":
    case "length":
    case "truncation":
      if (!Number.isSafeInteger(value) || value < min) {
        const or = s.kind === "length" ? " (or inf)" : s.kind === "truncation" ? " (or inf, or adaptive)" : "";
        throw new UsageError(`${where} expects an integer ≥ ${min}${or}, got ${show(raw)}`);
      }
      return value;
    case "positive":
      if (!(value > 0 && value < Infinity)) throw new UsageError(`${where} expects a positive number, got ${show(raw)}`);
      return value;
    case "probability":
      if (!(value >= 0 && value < 1)) throw new UsageError(`${where} expects a number in [0, 1), got ${show(raw)}`);
      return value;
    default:
      if (!(value >= min && value < Infinity)) throw new UsageError(`${where} expects a number ≥ ${min}, got ${show(raw)}`);
      return value;
  }
}

/** A value as JSON, shortened to one line. */
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
