/**
 * JSON Lines: one JSON object per line, blank lines skipped. Isomorphic: it reads lines (from
 * `readLines` in Node, from a split string in a browser), numbered from 1, so every error names the
 * place to fix, "data.jsonl:17: field "label" must be a string or a number, got null".
 *
 * Fields by task (other fields are ignored):
 *   classify   {"text": "…", "label": "pos"}                    label: a string or a number ("1")
 *   label      {"inputs": ["The", "cat"], "labels": ["DET", "NOUN"]}
 *              {"inputs": [[0.1, 2], [0.3, 1]], "labels": ["a", null]}
 *              inputs: tokens (strings), or feature vectors (arrays of finite numbers, all the same
 *              width); labels: one per input step, a string, a number, or null (no loss at that step).
 */
import type { TextExample } from "../classification.js";
import type { LabellingExample } from "../sequence-labelling.js";

/** Lines without their terminators, e.g. `readLines(path)` or `text.split("\n")`. */
export type LineSource = Iterable<string> | AsyncIterable<string>;

export interface ParseOptions {
  /** The file name every error starts with. */
  source: string;
}

/** Each line with its 1-based number; a trailing "\r" (a CRLF file split on "\n") is dropped. */
export async function* numberedLines(lines: LineSource): AsyncGenerator<[number, string]> {
  let n = 0;
  for await (const line of lines) {
    n++;
    yield [n, line.endsWith("\r") ? line.slice(0, -1) : line];
  }
}

export interface JsonRecord {
  line: number;
  value: Record<string, unknown>;
}

/** Every non-blank line as a JSON object. Throws at the first bad line, and when there is none. */
export async function* parseJsonlRecords(lines: LineSource, { source }: ParseOptions): AsyncGenerator<JsonRecord> {
  let records = 0;
  for await (const [line, text] of numberedLines(lines)) {
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new RangeError(`${source}:${line}: invalid JSON (${(error as Error).message.replace(/[\u0000-\u001f\u2028\u2029]+/g, " ").slice(0, 160)})`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new RangeError(`${source}:${line}: expected a JSON object, got ${describe(value)}`);
    }
    records++;
    yield { line, value: value as Record<string, unknown> };
  }
  if (records === 0) throw new RangeError(`${source}: no records (every line is blank)`);
}

/** classify: {"text", "label"} records. */
export async function* parseJsonlClassification(lines: LineSource, options: ParseOptions): AsyncGenerator<TextExample> {
  for await (const { line, value } of parseJsonlRecords(lines, options)) {
    const at = `${options.source}:${line}`;
    const text = field(value, "text", at);
    if (typeof text !== "string") throw new RangeError(`${at}: field "text" must be a string, got ${describe(text)}`);
    yield { text, label: labelOf(field(value, "label", at), `${at}: field "label"`), line };
  }
}

/** label: {"inputs", "labels"} records, one label per input step. */
export async function* parseJsonlLabelling(lines: LineSource, options: ParseOptions): AsyncGenerator<LabellingExample> {
  for await (const { line, value } of parseJsonlRecords(lines, options)) {
    const at = `${options.source}:${line}`;
    const inputs = stepInputs(field(value, "inputs", at), at);
    const rawLabels = field(value, "labels", at);
    if (!Array.isArray(rawLabels)) throw new RangeError(`${at}: field "labels" must be an array, got ${describe(rawLabels)}`);
    if (rawLabels.length !== inputs.length) {
      throw new RangeError(`${at}: field "labels" has ${rawLabels.length} entries but "inputs" has ${inputs.length} (one label per step)`);
    }
    const labels = rawLabels.map((label: unknown, t) => (label === null ? null : labelOf(label, `${at}: field "labels"[${t}]`)));
    yield { inputs, labels, line };
  }
}

function field(record: Record<string, unknown>, name: string, at: string): unknown {
  if (!Object.prototype.hasOwnProperty.call(record, name)) {
    throw new RangeError(`${at}: missing field "${name}" (fields: ${Object.keys(record).map((k) => JSON.stringify(k)).join(", ") || "none"})`);
  }
  return record[name];
}

/** A class label: a non-empty string, or a finite number written as its decimal string. */
function labelOf(value: unknown, what: string): string {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw new RangeError(`${what} must be a non-empty string or a number, got ${describe(value)}`);
}

function stepInputs(value: unknown, at: string): string[] | number[][] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new RangeError(`${at}: field "inputs" must be a non-empty array (tokens or feature vectors), got ${describe(value)}`);
  }
  if (typeof value[0] === "string") {
    value.forEach((token: unknown, t) => {
      if (typeof token !== "string" || token === "") {
        throw new RangeError(`${at}: field "inputs"[${t}] must be a non-empty string (inputs[0] is a token), got ${describe(token)}`);
      }
    });
    return value as string[];
  }
  if (!Array.isArray(value[0])) {
    throw new RangeError(`${at}: field "inputs"[0] must be a token (string) or a feature vector (array of numbers), got ${describe(value[0])}`);
  }
  const width = (value[0] as unknown[]).length;
  value.forEach((vector: unknown, t) => {
    if (!Array.isArray(vector)) throw new RangeError(`${at}: field "inputs"[${t}] must be an array of numbers (inputs[0] is a feature vector), got ${describe(vector)}`);
    if (vector.length === 0 || vector.length !== width) {
      throw new RangeError(`${at}: field "inputs"[${t}] has ${vector.length} features, inputs[0] has ${width} (all steps need the same number, at least 1)`);
    }
    vector.forEach((x: unknown, i) => {
      if (typeof x !== "number" || !Number.isFinite(x)) throw new RangeError(`${at}: field "inputs"[${t}][${i}] must be a finite number, got ${describe(x)}`);
    });
  });
  return value as number[][];
}

/** A short description of a JSON value for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return value === "" ? "an empty string" : `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}
