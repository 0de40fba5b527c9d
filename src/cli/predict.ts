/**
 * `bptt predict --model DIR --data FILE|-`: predictions of a trained run as JSON lines on stdout,
 * "-" reading standard input. Each input line is its own sequence (the state starts from zero for
 * each), so a line's prediction does not depend on the lines around it. By task:
 *
 *   classify  a JSON object with "text" (other fields ignored), or a line that is not a JSON object:
 *             the raw text; a .csv file: its "text" column.
 *             → {"label": "pos", "probabilities": {"neg": 0.1, "pos": 0.9}}
 *   label     a JSON object with "inputs" (tokens or feature vectors, as in training)
 *             → {"labels": ["DET", "NOUN"]}, one per step
 *   lm        each line is a prime (a line with no token: the start of a line)
 *             → {"next": [{"token": "c", "probability": 0.93}, …]}, the 5 most likely next tokens
 *   regress   a CSV with the input columns, read as one sequence (the whole file)
 *             → {"predictions": [[…], …]}, one array of the target columns' values per row
 *
 * Blank lines are skipped (classify, label), as training's JSONL reader skips them. A malformed line
 * stops with a one-line error naming it; the lines before it have been printed.
 */
import type { Command } from "commander";
import { readCsv } from "../data/parse/csv.js";
import { numberedLines } from "../data/parse/jsonl.js";
import { PAD_ID } from "../data/vocabulary.js";
import { DEFAULT_MAX_LINE_CHARS } from "../io/read-lines.js";
import { oneLine } from "./errors.js";
import {
  type LoadedRun, Output, Stepper, argmaxOf, checkFiniteOutputs, inputLinePieces, inputLines, lineEndOf, loadRun, softmax, sourceName,
} from "./inference.js";
import { CHUNK_STEPS, StreamedText } from "./streamed-text.js";

export interface PredictOptions {
  model: string;
  data: string;
}

/** Next tokens listed by `predict` for a language model. */
export const TOP_NEXT = 5;

export function registerPredict(program: Command): void {
  program
    .command("predict")
    .description("predict with a trained run: one JSON line per input line (regress: per file)")
    .requiredOption("--model <dir>", "the run directory (bptt train --out)")
    .requiredOption("--data <file>", 'input: JSONL or text lines (classify), JSONL (label), primes (lm), CSV (regress); "-" reads stdin')
    .action(async (options: PredictOptions) => {
      const output = new Output();
      try {
        await runPrediction(options, (record) => output.write(`${JSON.stringify(record)}\n`));
      } finally {
        output.flush();
      }
    });
}

/** Runs `bptt predict`, handing each output record to `emit` as it is ready. */
export async function runPrediction(options: PredictOptions, emit: (record: Record<string, unknown>) => void): Promise<void> {
  const run = loadRun(options.model);
  const source = sourceName(options.data);
  const stepper = new Stepper(run.model);
  switch (run.spec.task) {
    case "classify":
      return predictClassify(run, stepper, options.data, source, emit);
    case "label":
      return predictLabel(run, stepper, options.data, source, emit);
    case "lm":
      return predictNext(run, stepper, options.data, source, emit);
    case "regress":
      return predictRegress(run, stepper, options.data, source, emit);
  }
}

async function predictClassify(run: LoadedRun, stepper: Stepper, path: string, source: string, emit: (record: Record<string, unknown>) => void): Promise<void> {
  const labels = run.labels!.toJSON();
  const K = labels.length;
  const probabilities = new Float64Array(K);
  const text = new StreamedText(stepper, run.tokenizer!, run.vocabulary!);
  const answer = (at: string): void => {
    if (text.tokens === 0) throw new RangeError(`${at}: the text has no tokens`);
    checkFiniteOutputs(text.lastLogits!, run, at);
    softmax(text.lastLogits!, 0, K, probabilities);
    const best = argmaxOf(probabilities, 0, K);
    emit({ label: labels[best], probabilities: Object.fromEntries(labels.map((label, k) => [label, probabilities[k]])) });
  };
  const classify = (whole: string, at: string): void => {
    text.start();
    text.push(whole, true);
    answer(at);
  };
  if (path !== "-" && /\.csv$/i.test(path)) {
    const table = await readCsv(inputLines(path), { source, required: ["text"] });
    const textAt = table.column("text");
    for await (const { line, fields } of table.rows) classify(fields[textAt]!, `${source}:${line}`);
    return;
  }
  // A line is JSON ({"text": …}) or raw text. One longer than a piece: a JSON line is gathered whole
  // (within the line limit), raw text is fed piece by piece.
  let mode: "first" | "json" | "text" = "first";
  let parts: string[] = [];
  let length = 0;
  for await (const piece of inputLinePieces(path)) {
    const at = `${source}:${piece.line}`;
    if (mode === "first" && !piece.end) {
      mode = piece.text.trimStart().startsWith("{") ? "json" : "text";
      if (mode === "text") text.start();
    }
    if (mode === "text") {
      text.push(piece.text, piece.end);
      if (piece.end) {
        if (text.tokens > 0) answer(at); // a blank line is skipped
        mode = "first";
      }
      continue;
    }
    parts.push(piece.text);
    length += piece.text.length;
    if (length > DEFAULT_MAX_LINE_CHARS) throw new RangeError(`${at}: a JSON line longer than ${DEFAULT_MAX_LINE_CHARS} characters`);
    if (!piece.end) continue;
    const line = parts.join("");
    parts = [];
    length = 0;
    mode = "first";
    if (line.trim() === "") continue;
    const record = jsonObject(line, at, false);
    if (record === null) {
      classify(line, at);
    } else {
      if (!Object.hasOwn(record, "text")) throw new RangeError(`${at}: missing field "text" (fields: ${fieldList(record)})`);
      if (typeof record.text !== "string") throw new RangeError(`${at}: field "text" must be a string, got ${describe(record.text)}`);
      classify(record.text, at);
    }
  }
}

async function predictLabel(run: LoadedRun, stepper: Stepper, path: string, source: string, emit: (record: Record<string, unknown>) => void): Promise<void> {
  const labels = run.labels!.toJSON();
  const K = labels.length;
  const vocabulary = run.vocabulary;
  const lowercase = run.spec.tokenizer?.lowercase === true;
  const I = run.model.inputSize;
  for await (const [line, text] of numberedLines(inputLines(path))) {
    if (text.trim() === "") continue;
    const at = `${source}:${line}`;
    const record = jsonObject(text, at, true)!;
    if (!Object.hasOwn(record, "inputs")) throw new RangeError(`${at}: missing field "inputs" (fields: ${fieldList(record)})`);
    const inputs: unknown = record.inputs;
    if (!Array.isArray(inputs) || inputs.length === 0) throw new RangeError(`${at}: field "inputs" must be a non-empty array, got ${describe(inputs)}`);
    const T = inputs.length;
    let input: Int32Array | Float32Array;
    if (vocabulary) {
      input = new Int32Array(T);
      inputs.forEach((token: unknown, t) => {
        if (typeof token !== "string" || token === "") throw new RangeError(`${at}: field "inputs"[${t}] must be a non-empty string (the model reads tokens), got ${describe(token)}`);
        input[t] = vocabulary.id(lowercase ? token.toLowerCase() : token);
      });
    } else {
      input = new Float32Array(T * I);
      inputs.forEach((vector: unknown, t) => {
        if (!Array.isArray(vector) || vector.length !== I) {
          throw new RangeError(`${at}: field "inputs"[${t}] must be an array of ${I} numbers (the model reads ${I} features per step), got ${describe(vector)}`);
        }
        vector.forEach((x: unknown, i) => {
          if (typeof x !== "number" || !Number.isFinite(x)) throw new RangeError(`${at}: field "inputs"[${t}][${i}] must be a finite number, got ${describe(x)}`);
          input[t * I + i] = x;
        });
      });
    }
    stepper.reset();
    const logits = stepper.feed(input, true);
    checkFiniteOutputs(logits, run, at);
    emit({ labels: Array.from({ length: T }, (_, t) => labels[argmaxOf(logits, t * K, K)]) });
  }
}

async function predictNext(run: LoadedRun, stepper: Stepper, path: string, source: string, emit: (record: Record<string, unknown>) => void): Promise<void> {
  const vocabulary = run.vocabulary!;
  const tokens = vocabulary.toJSON();
  const V = tokens.length;
  const lineEnd = vocabulary.id(lineEndOf(run));
  const probabilities = new Float64Array(V);
  const order = Array.from({ length: V }, (_, i) => i).filter((i) => i !== PAD_ID);
  const text = new StreamedText(stepper, run.tokenizer!, vocabulary);
  let lineStart = true;
  for await (const piece of inputLinePieces(path)) {
    if (lineStart) text.start();
    text.push(piece.text, piece.end);
    lineStart = piece.end;
    if (!piece.end) continue;
    const logits = text.tokens > 0 ? text.lastLogits! : stepper.feed(Int32Array.of(lineEnd), false); // no token: a line's start
    checkFiniteOutputs(logits, run, `${source}:${piece.line}`);
    softmax(logits, 0, V, probabilities);
    // Stable sort: equal probabilities keep id order.
    const top = [...order].sort((a, b) => probabilities[b]! - probabilities[a]!).slice(0, TOP_NEXT);
    emit({ next: top.map((id) => ({ token: tokens[id], probability: probabilities[id] })) });
  }
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

async function predictRegress(run: LoadedRun, stepper: Stepper, path: string, source: string, emit: (record: Record<string, unknown>) => void): Promise<void> {
  const { features: columns, targets } = run.spec.series!;
  const table = await readCsv(inputLines(path), { source, required: columns });
  const at = columns.map((name) => table.column(name));
  const values: number[] = [];
  for await (const { line, fields } of table.rows) {
    at.forEach((column, i) => {
      const text = fields[column]!.trim();
      const value = DECIMAL.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(value)) throw new RangeError(`${source}:${line}: column "${columns[i]}" is an input and must be a number, got ${JSON.stringify(fields[column])}`);
      values.push(value);
    });
  }
  const I = columns.length;
  const O = targets.length;
  const rows = values.length / I;
  const features = Float32Array.from(values);
  const predictions: number[][] = [];
  // A unidirectional model reads the file in chunks, its state carried; a bidirectional one needs it whole.
  const chunk = run.model.rnn.bidirectional ? rows : CHUNK_STEPS;
  stepper.reset();
  for (let start = 0; start < rows; start += chunk) {
    const T = Math.min(chunk, rows - start);
    const out = stepper.feed(features.subarray(start * I, (start + T) * I), true);
    checkFiniteOutputs(out, run, `${source}: rows ${start + 1}–${start + T}`);
    for (let t = 0; t < T; t++) predictions.push(Array.from(out.subarray(t * O, (t + 1) * O)));
  }
  emit({ predictions });
}

/**
 * The line as a JSON object; a line that is not one is an error when `required`, else null (the raw
 * text) — but a line that starts like an object and is not valid JSON is always an error.
 */
function jsonObject(text: string, at: string, required: boolean): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (required || text.trimStart().startsWith("{")) throw new RangeError(`${at}: invalid JSON (${oneLine((error as Error).message, 160)})`);
    return null;
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  if (required) throw new RangeError(`${at}: expected a JSON object, got ${describe(value)}`);
  return null;
}

function fieldList(record: Record<string, unknown>): string {
  return Object.keys(record).map((k) => JSON.stringify(k)).join(", ") || "none";
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return value === "" ? "an empty string" : `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}
