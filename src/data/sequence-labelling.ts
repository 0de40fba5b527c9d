/**
 * Sequence labelling (many-to-many, aligned): one class label per input step, e.g. part-of-speech
 * tags for tokens, or a state for each frame of a sensor signal. Trained with lossAt "every-step".
 *
 *   example    inputs: tokens ["The", "cat"] or feature vectors [[0.1, 2], [0.3, 1]] (one width for
 *              the whole data set), labels: ["DET", "NOUN"] — null for a step without a loss
 *   batch      ids (T·B) or features (T·B·I), right-padded, mask (T·B), stepTargets (T·B) class
 *              ids with IGNORE_INDEX (−100) at padding and at null labels; T = the longest in the batch
 *
 * Labels map to class ids through a LabelSet built from the training set (see classification.ts).
 */
import { type Batch, IGNORE_INDEX } from "../train/batch.js";
import { type BatchOrderOptions, LabelSet, batchOrder } from "./classification.js";
import { PAD_ID, type Vocabulary } from "./vocabulary.js";

/** One labelled sequence, as the parser produces it; `line` is where it was read (1-based). */
export interface LabellingExample {
  inputs: string[] | number[][];
  labels: Array<string | null>;
  line: number;
}

/** One encoded sequence: ids (T) or features (T·I), and targets (T) with IGNORE_INDEX for no loss. */
export interface LabelledSequence {
  ids?: Int32Array;
  features?: Float32Array;
  targets: Int32Array;
  /** The line it was read from, when it came from a file. */
  line?: number;
}

export interface EncodedLabelling {
  /** "tokens": sequences carry ids (the model has an embedding); "features": I values per step. */
  input: "tokens" | "features";
  /** I for features, 0 for tokens. */
  inputSize: number;
  sequences: LabelledSequence[];
}

export interface EncodeLabellingOptions {
  /** Required when the inputs are tokens. */
  vocabulary?: Vocabulary;
  labels: LabelSet;
  /** Lower-case tokens before looking them up (use the same setting for `labellingTokens`). Default false. */
  lowercase?: boolean;
  /** The file the examples came from, for errors. */
  source: string;
}

/** The token lists of the examples (for `countTokens` → Vocabulary.fromCounts); empty for feature inputs. */
export function* labellingTokens(examples: Iterable<LabellingExample>, options: { lowercase?: boolean } = {}): Generator<string[]> {
  for (const { inputs } of examples) {
    if (typeof inputs[0] !== "string") continue;
    yield options.lowercase ? (inputs as string[]).map((token) => token.toLowerCase()) : (inputs as string[]);
  }
}

/** The LabelSet of the examples' labels (nulls skipped). */
export function labellingLabels(examples: Iterable<LabellingExample>): LabelSet {
  const labels: string[] = [];
  for (const example of examples) for (const label of example.labels) if (label !== null) labels.push(label);
  return LabelSet.fromLabels(labels);
}

/**
 * Encodes every example. All must have the same kind of input (tokens or features of one width) as
 * the first; a mismatch, a labels/inputs length mismatch, or an unknown label is an error naming the line.
 */
export function encodeLabelling(examples: readonly LabellingExample[], options: EncodeLabellingOptions): EncodedLabelling {
  const { vocabulary, labels, source } = options;
  if (examples.length === 0) throw new RangeError(`${source}: no examples`);
  const first = examples[0]!;
  if (first.inputs.length === 0) throw new RangeError(`${source}:${first.line}: "inputs" is empty`);
  const input = typeof first.inputs[0] === "string" ? "tokens" : "features";
  const I = input === "features" ? (first.inputs[0] as number[]).length : 0;
  if (input === "tokens" && !vocabulary) throw new RangeError(`${source}: the inputs are tokens, so a vocabulary is needed`);
  const sequences = examples.map((example): LabelledSequence => {
    const at = `${source}:${example.line}`;
    const T = example.inputs.length;
    if (T === 0) throw new RangeError(`${at}: "inputs" is empty`);
    if (example.labels.length !== T) throw new RangeError(`${at}: ${example.labels.length} labels for ${T} input steps (one label per step)`);
    const targets = Int32Array.from(example.labels, (label) => (label === null ? IGNORE_INDEX : labels.id(label, at)));
    if (input === "tokens") {
      if (typeof example.inputs[0] !== "string") throw new RangeError(`${at}: the inputs are feature vectors, but line ${first.line} has tokens`);
      const tokens = example.inputs as string[];
      return { ids: vocabulary!.encode(options.lowercase ? tokens.map((token) => token.toLowerCase()) : tokens), targets, line: example.line };
    }
    if (typeof example.inputs[0] === "string") throw new RangeError(`${at}: the inputs are tokens, but line ${first.line} has feature vectors`);
    const features = new Float32Array(T * I);
    (example.inputs as number[][]).forEach((vector, t) => {
      if (vector.length !== I) throw new RangeError(`${at}: step ${t} has ${vector.length} features, line ${first.line} has ${I} per step`);
      features.set(vector, t * I);
    });
    return { features, targets, line: example.line };
  });
  return { input, inputSize: I, sequences };
}

export interface LabellingBatchOptions extends BatchOrderOptions {
  /** Id written at padded steps of token inputs (masked out). Default PAD_ID (0). */
  padId?: number;
}

/** Batches of whole sequences with per-step targets (see the file header). */
export function* labellingBatches(data: EncodedLabelling, options: LabellingBatchOptions): Generator<Batch> {
  const { sequences, inputSize: I } = data;
  const lengths = sequences.map((s) => s.targets.length);
  for (const rows of batchOrder(lengths, options)) {
    const B = rows.length;
    const T = Math.max(...rows.map((i) => lengths[i]!));
    const mask = new Float32Array(T * B);
    const stepTargets = new Int32Array(T * B).fill(IGNORE_INDEX);
    const ids = data.input === "tokens" ? new Int32Array(T * B).fill(options.padId ?? PAD_ID) : undefined;
    const features = data.input === "features" ? new Float32Array(T * B * I) : undefined;
    rows.forEach((i, b) => {
      const sequence = sequences[i]!;
      for (let t = 0; t < lengths[i]!; t++) {
        const r = t * B + b; // (t, b) in the time-major (T, B) grid
        mask[r] = 1;
        stepTargets[r] = sequence.targets[t]!;
        if (ids) ids[r] = sequence.ids![t]!;
        if (features) features.set(sequence.features!.subarray(t * I, (t + 1) * I), r * I);
      }
    });
    yield { T, B, ...(ids ? { ids } : { features: features! }), mask, stepTargets };
  }
}
