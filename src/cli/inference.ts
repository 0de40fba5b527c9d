/**
 * What `bptt generate`, `eval` and `predict` share: loading a run directory into a model with the
 * data spec it was trained with, running it step by step or over whole sequences from a state the
 * caller controls, sampling, and reading input lines (a file or "-" for stdin).
 *
 * Loading trusts nothing: a missing directory, a bad config.json, a model.safetensors that is
 * truncated, foreign or of another shape, and a config whose data spec does not fit its model are
 * each a one-line error naming the file.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { LabelSet } from "../data/classification.js";
import { defaultLineEnd } from "../data/language-model.js";
import { type Tokenizer, createTokenizer } from "../data/tokenizer.js";
import { PAD_ID, Vocabulary } from "../data/vocabulary.js";
import { readLines } from "../io/read-lines.js";
import { kernels } from "../kernels/index.js";
import { DenseCache } from "../layers/dense.js";
import { RecurrentCache } from "../layers/recurrent.js";
import type { Rng } from "../tensor/rng.js";
import { Tensor } from "../tensor/tensor.js";
import { SequenceModel } from "../train/model.js";
import { UsageError } from "./errors.js";
import { CONFIG_FILE, MODEL_FILE, type RunConfig, loadWeights, readConfig } from "./run-directory.js";
import type { DataSpec } from "./tasks.js";

/** A trained run, ready for inference. */
export interface LoadedRun {
  dir: string;
  config: RunConfig;
  spec: DataSpec;
  model: SequenceModel;
  /** Token inputs (lm, classify, label with tokens); null for feature inputs. */
  tokenizer: Tokenizer | null;
  vocabulary: Vocabulary | null;
  /** classify and label. */
  labels: LabelSet | null;
}

/** Reads DIR/config.json, builds the model it describes and loads DIR/model.safetensors into it. */
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
  const spec = config.data;
  let model: SequenceModel;
  let vocabulary: Vocabulary | null = null;
  let labels: LabelSet | null = null;
  let tokenizer: Tokenizer | null = null;
  try {
    model = new SequenceModel(config.model);
    if (!["lm", "classify", "label", "regress"].includes(spec.task)) {
      throw new RangeError(`data.task must be "lm", "classify", "label" or "regress", got ${JSON.stringify(spec.task)}`);
    }
    if (spec.vocabulary !== null && spec.vocabulary !== undefined) vocabulary = Vocabulary.fromJSON(spec.vocabulary, "data.vocabulary");
    if (spec.labels !== null && spec.labels !== undefined) labels = LabelSet.fromJSON(spec.labels, "data.labels");
    if (spec.tokenizer) tokenizer = createTokenizer(spec.tokenizer);
    checkSpec(spec, model, vocabulary, labels, tokenizer);
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) throw new UsageError(`${configPath}: ${error.message}`);
    throw error;
  }
  loadWeights(join(dir, MODEL_FILE), model);
  return { dir, config, spec, model, tokenizer, vocabulary, labels };
}

/** The data spec must describe the model's inputs and outputs. */
function checkSpec(spec: DataSpec, model: SequenceModel, vocabulary: Vocabulary | null, labels: LabelSet | null, tokenizer: Tokenizer | null): void {
  const m = model.config;
  const tokens = model.embedding !== null;
  if (tokens && !vocabulary) throw new RangeError("the model reads tokens but data.vocabulary is missing");
  if (tokens && vocabulary!.size !== m.vocabSize) throw new RangeError(`data.vocabulary has ${vocabulary!.size} tokens, model.vocabSize is ${m.vocabSize}`);
  if (!tokens && spec.inputSize !== model.inputSize) throw new RangeError(`data.inputSize is ${spec.inputSize}, the model reads ${model.inputSize} features per step`);
  switch (spec.task) {
    case "lm":
      if (!tokens || !tokenizer) throw new RangeError("a language model needs token inputs and data.tokenizer");
      if (m.objective !== "classes" || model.outputSize !== vocabulary!.size) {
        throw new RangeError(`a language model predicts its ${vocabulary!.size} tokens, the model has ${model.outputSize} ${m.objective} outputs`);
      }
      break;
    case "classify":
    case "label":
      if (spec.task === "classify" && (!tokens || !tokenizer)) throw new RangeError("a text classifier needs token inputs and data.tokenizer");
      if (!labels) throw new RangeError("data.labels is missing");
      if (m.objective !== "classes" || model.outputSize !== labels.size) {
        throw new RangeError(`data.labels has ${labels.size} labels, the model has ${model.outputSize} ${m.objective} outputs`);
      }
      break;
    case "regress": {
      const s = spec.series;
      if (!s || !Array.isArray(s.features) || !Array.isArray(s.targets)) throw new RangeError("data.series (the CSV columns) is missing");
      if (tokens || s.features.length !== model.inputSize) throw new RangeError(`data.series has ${s.features.length} feature columns, the model reads ${model.inputSize} features`);
      if (m.objective !== "regression" || s.targets.length !== model.outputSize) {
        throw new RangeError(`data.series has ${s.targets.length} target columns, the model has ${model.outputSize} ${m.objective} outputs`);
      }
      break;
    }
  }
}

/** The token a language model reads at each line end: "<eos>" for words, "\n" for characters. */
export function lineEndOf(run: LoadedRun): string {
  return defaultLineEnd(run.tokenizer!.kind);
}

/**
 * Runs a model forward from a state it keeps (zero after `reset`), one step or a whole chunk at a time,
 * with every buffer reused from call to call: a step of a token model is an embedding row copy, one
 * recurrent step (T = 1, B = 1) and one head product. Batch size 1, no dropout.
 */
export class Stepper {
  readonly model: SequenceModel;
  private readonly h: Tensor;
  private readonly c: Tensor | null;
  private readonly cache = new RecurrentCache();
  private readonly headCache = new DenseCache();
  /** (1, 1, inputSize): the input of one step. */
  private readonly x1: Tensor;

  constructor(model: SequenceModel) {
    this.model = model;
    const rnn = model.rnn;
    const shape = [rnn.numLayers * rnn.directions, 1, rnn.hiddenSize];
    const size = shape[0]! * rnn.hiddenSize;
    this.h = new Tensor(kernels().allocate(size), shape);
    this.c = rnn.mode === "lstm" ? new Tensor(kernels().allocate(size), shape) : null;
    this.x1 = new Tensor(kernels().allocate(model.inputSize), [1, 1, model.inputSize]);
  }

  /** Back to the zero state: the next call starts a new sequence. */
  reset(): void {
    this.h.data.fill(0);
    this.c?.data.fill(0);
  }

  /** One step of a token model from the current state: the logits (O), valid until the next call. */
  stepToken(id: number): Float32Array {
    const embedding = this.model.embedding!;
    const E = embedding.embeddingDim;
    if (!(id >= 0 && id < embedding.numEmbeddings)) throw new RangeError(`token id ${id} is outside the vocabulary`);
    this.x1.data.set(embedding.weight.value.subarray(id * E, (id + 1) * E));
    return this.head(this.run(this.x1), 1);
  }

  /**
   * T steps of token ids (or of features, T·I values) from the current state, as one chunk; returns
   * the logits of every step (T·O) when `all`, else of the last step only (O). Valid until the next call.
   */
  feed(input: Int32Array | Float32Array, all: boolean): Float32Array {
    const model = this.model;
    const I = model.inputSize;
    let x: Tensor;
    let T: number;
    if (input instanceof Int32Array) {
      const embedding = model.embedding!;
      T = input.length;
      if (T === 0) throw new RangeError("nothing to feed: no tokens");
      const data = this.cache.buffer("stepper.x", T * I);
      for (let t = 0; t < T; t++) {
        const id = input[t]!;
        if (!(id >= 0 && id < embedding.numEmbeddings)) throw new RangeError(`token id ${id} is outside the vocabulary`);
        data.set(embedding.weight.value.subarray(id * I, (id + 1) * I), t * I);
      }
      x = new Tensor(data, [T, 1, I]);
    } else {
      T = input.length / I;
      if (!Number.isInteger(T) || T === 0) throw new RangeError(`features: ${input.length} values are not whole steps of ${I}`);
      const data = this.cache.buffer("stepper.x", T * I); // the backend's own memory
      data.set(input);
      x = new Tensor(data, [T, 1, I]);
    }
    const output = this.run(x);
    if (all) return this.head(output, T);
    const F = model.head.inFeatures;
    return this.head(output.subarray((T - 1) * F, T * F), 1);
  }

  /** The recurrent stack over x from the carried state, which it advances; returns the top layer's outputs. */
  private run(x: Tensor): Float32Array {
    const out = this.model.rnn.forward(x, { h0: this.h, c0: this.c, training: false, cache: this.cache });
    this.h.data.set(out.hN.data);
    if (this.c && out.cN) this.c.data.set(out.cN.data);
    return out.output.data;
  }

  private head(rows: Float32Array, n: number): Float32Array {
    return this.model.head.forward(rows, n, this.headCache).out;
  }
}

/** Softmax of n logits from `offset`, in float64 (sums to 1 up to rounding). */
export function softmax(logits: Float32Array, offset: number, n: number, out: Float64Array = new Float64Array(n)): Float64Array {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, logits[offset + j]!);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(logits[offset + j]! - max);
    out[j] = e;
    sum += e;
  }
  for (let j = 0; j < n; j++) out[j]! /= sum;
  return out;
}

/** The index of the largest of n values from `offset` (the first one on ties). */
export function argmaxOf(values: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}

export interface SamplerOptions {
  /** Logits are divided by it (> 0): below 1 sharper, above 1 flatter. */
  temperature: number;
  /** Keep the k largest logits (0: all). */
  topK: number;
  rng: Rng;
  /** Ids never drawn (e.g. <pad>, which a language model never sees as a target). */
  excluded?: readonly number[];
}

/**
 * Draws an id from softmax(logits / temperature) restricted to the top k, one uniform number per
 * draw from the seeded generator. Its buffers are allocated once, for V logits.
 */
export class Sampler {
  private readonly V: number;
  private readonly temperature: number;
  private readonly topK: number;
  private readonly rng: Rng;
  private readonly excluded: Uint8Array;
  private readonly allowed: number;
  private readonly weights: Float64Array;
  private readonly scratch: Float64Array;

  constructor(V: number, options: SamplerOptions) {
    if (!(options.temperature > 0 && Number.isFinite(options.temperature))) throw new RangeError(`temperature must be > 0, got ${options.temperature}`);
    if (!Number.isInteger(options.topK) || options.topK < 0) throw new RangeError(`top-k must be an integer ≥ 0, got ${options.topK}`);
    this.V = V;
    this.temperature = options.temperature;
    this.rng = options.rng;
    this.excluded = new Uint8Array(V);
    for (const id of options.excluded ?? []) if (id >= 0 && id < V) this.excluded[id] = 1;
    this.allowed = V - this.excluded.reduce((n, e) => n + e, 0);
    if (this.allowed < 1) throw new RangeError("nothing to sample: every id is excluded");
    this.topK = options.topK === 0 || options.topK >= this.allowed ? 0 : options.topK;
    this.weights = new Float64Array(V);
    this.scratch = new Float64Array(V);
  }

  sample(logits: Float32Array): number {
    const { V, weights, excluded } = this;
    const inverse = 1 / this.temperature;
    let max = -Infinity;
    for (let j = 0; j < V; j++) {
      const s = excluded[j] ? -Infinity : logits[j]! * inverse;
      weights[j] = s;
      if (s > max) max = s;
    }
    if (this.topK > 0) this.keepTop(this.topK);
    let sum = 0;
    for (let j = 0; j < V; j++) {
      const e = weights[j] === -Infinity ? 0 : Math.exp(weights[j]! - max);
      weights[j] = e;
      sum += e;
    }
    let u = this.rng.next() * sum;
    let last = -1;
    for (let j = 0; j < V; j++) {
      const w = weights[j]!;
      if (w === 0) continue;
      last = j;
      u -= w;
      if (u < 0) return j;
    }
    return last; // rounding left u ≥ 0 after the last term
  }

  /** Sets all but the k largest weights to −∞ (ties at the threshold: the lowest ids first). */
  private keepTop(k: number): void {
    const { V, weights, scratch } = this;
    let n = 0;
    for (let j = 0; j < V; j++) if (weights[j] !== -Infinity) scratch[n++] = weights[j]!;
    const threshold = kthLargest(scratch, n, k);
    let above = 0;
    for (let j = 0; j < V; j++) if (weights[j]! > threshold) above++;
    let ties = k - above;
    for (let j = 0; j < V; j++) {
      const w = weights[j]!;
      if (w > threshold) continue;
      if (w === threshold && ties > 0) ties--;
      else weights[j] = -Infinity;
    }
  }
}

/** The k-th largest of a[0 … n) (1-based k ≤ n), by quickselect with a three-way partition; reorders a. */
export function kthLargest(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  let target = k - 1; // index in descending order
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const pivot = median3(a[lo]!, a[mid]!, a[hi]!);
    // a[lo … lt) > pivot, a[lt … i) == pivot, a(gt … hi] < pivot
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = a[i]!;
      if (v > pivot) {
        a[i] = a[lt]!;
        a[lt] = v;
        lt++;
        i++;
      } else if (v < pivot) {
        a[i] = a[gt]!;
        a[gt] = v;
        gt--;
      } else {
        i++;
      }
    }
    if (lo + target < lt) {
      hi = lt - 1;
    } else if (lo + target <= gt) {
      return pivot;
    } else {
      target -= gt + 1 - lo;
      lo = gt + 1;
    }
  }
  return a[lo]!;
}

function median3(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}

/** The ids a language model may produce: all but <pad>, which it never saw as a target. */
export const NEVER_SAMPLED: readonly number[] = Object.freeze([PAD_ID]);

/**
 * Lines of a file, or of standard input for "-", read as `readLines` reads a file: "\r\n" or "\n",
 * fatal UTF-8, a leading byte order mark dropped. Empty input is an error naming it.
 */
export async function* inputLines(path: string): AsyncGenerator<string> {
  if (path !== "-") {
    yield* readLines(path);
    return;
  }
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let lineNumber = 1;
  let text = "";
  let any = false;
  const decode = (bytes: Uint8Array, stream: boolean): string => {
    try {
      return decoder.decode(bytes, { stream });
    } catch {
      throw new RangeError(`${STDIN}:${lineNumber}: invalid UTF-8`);
    }
  };
  const finish = (line: string): string => {
    if (lineNumber === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    return line.endsWith("\r") ? line.slice(0, -1) : line;
  };
  for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) {
    any ||= chunk.length > 0;
    let start = 0;
    let newline = chunk.indexOf(0x0a, start);
    while (newline >= 0) {
      text += decode(chunk.subarray(start, newline), false);
      yield finish(text);
      lineNumber++;
      text = "";
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
    }
    text += decode(chunk.subarray(start), true);
  }
  text += decode(new Uint8Array(0), false);
  const last = finish(text);
  if (last !== "") yield last;
  else if (!any) throw new RangeError(`${STDIN}: no input`);
}

/** How errors name standard input. */
export const STDIN = "stdin";

/** The name errors use for a --data value. */
export function sourceName(path: string): string {
  return path === "-" ? STDIN : path;
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
