/**
 * A training task as the worker's session sees it: the model's inputs and outputs, the batches of
 * each epoch and of the held-out set, and how a run directory's config.json describes its data (so
 * that `bptt eval` and `bptt generate` read new data the same way).
 */
import type { Batch, DataSpec, LossPlacement, SequenceModel } from "bptt";

/** The model's ends: token input (vocabSize) or features (inputSize), and the classes it predicts. */
export interface TaskShape {
  vocabSize?: number;
  inputSize?: number;
  outputSize: number;
}

/** One point of a probe: a quantity against a distance (e.g. P(correct) against the opening's distance). */
export interface ProbePoint {
  distance: number;
  pCorrect: number;
  accuracy: number;
}

export interface Task {
  readonly shape: TaskShape;
  /** Where held-out losses are read: the last step (classifiers, judged on whole texts) or every step. */
  readonly evaluationLossAt: LossPlacement;
  /** config.json's "data". */
  readonly dataSpec: DataSpec;
  /** A short line for the status bar, e.g. "1,024 fresh texts of 90–110 words per epoch". */
  readonly description: string;
  /** The training batches of an epoch (1-based); the same settings and epoch give the same batches. */
  epoch(epoch: number): Iterable<Batch>;
  /** The held-out batches (the same every time). */
  heldOut(): Iterable<Batch>;
  /** The held-out set as a file `bptt eval --data` reads (JSONL, or plain text for a language model). */
  heldOutFile(): { name: string; text: string };
  /** Sentiment only: P(correct label) against the distance of the opening from the answer. */
  probe?(model: SequenceModel): ProbePoint[];
}
