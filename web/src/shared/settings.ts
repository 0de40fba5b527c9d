/**
 * What the user chooses on the page, shared by the page (the form) and the training worker.
 *
 * Loss placement, in the words of docs/tbptt.md:
 *   every-step   a loss at every step with a target (a classifier: the text's label at every word)
 *   end          a loss at each sequence's last step only (lossAt "last-step")
 *   every-chunk  a loss at the end of every k1-chunk too, against the sequence's label (lossEveryChunk)
 * Language models and framewise labelling have a target at every step: "every-step" only.
 *
 * k1 and k2 are integers ≥ 1 or Infinity ("∞" on the page, "inf" in config.json).
 */
export type TaskName = "sentiment" | "one-anywhere" | "char-lm" | "framewise";
export type CellChoice = "rnn" | "rnn_relu" | "lstm" | "gru";
export type OptimizerChoice = "sgd" | "adam" | "adamw" | "rmsprop" | "adagrad";
export type LossChoice = "every-step" | "end" | "every-chunk";

export interface SentimentParams {
  /** Words per text: uniform in [minLength, maxLength]. */
  minLength: number;
  maxLength: number;
  /** Words from the opening's first word to the last word; null: the opening starts the text. */
  openingDistance: number | null;
}

export interface OneAnywhereParams {
  /** Tokens per sequence. */
  length: number;
  /** 1s fall only at steps [first, end). */
  first: number;
  end: number;
}

export interface FramewiseParams {
  /** Frames per sequence. */
  frames: number;
  /** K classes, each a random prototype of `features` values. */
  classes: number;
  features: number;
  /** σ of the Gaussian noise added to every frame. */
  noise: number;
  /** The label of frame t is the class of frame t − delay. */
  delay: number;
}

export interface CharLmParams {
  /** Parallel strips of the text read side by side (the batch size B). */
  strips: number;
}

export interface PlaygroundSettings {
  task: TaskName;
  sentiment: SentimentParams;
  oneAnywhere: OneAnywhereParams;
  framewise: FramewiseParams;
  charLm: CharLmParams;
  cell: CellChoice;
  hiddenSize: number;
  numLayers: number;
  embeddingDim: number;
  k1: number;
  k2: number;
  loss: LossChoice;
  optimizer: OptimizerChoice;
  learningRate: number;
  /** Clip the gradient's global L2 norm to this; null: no clipping. */
  clipNorm: number | null;
  /** Sequences per batch (classification and labelling tasks). */
  batchSize: number;
  /** Training stops after this many epochs (freshly generated data each epoch, or passes over the text). */
  epochs: number;
  /** Sequences per epoch (generated tasks). */
  epochSize: number;
  seed: number;
}

export const TASK_TITLES: Record<TaskName, string> = {
  sentiment: "Long-text sentiment",
  "one-anywhere": "One anywhere",
  "char-lm": "Character language model",
  framewise: "Framewise labelling",
};

/** The settings each task starts from: the experiments' configurations (docs/experiments.md). */
export function defaultSettings(task: TaskName): PlaygroundSettings {
  const base: PlaygroundSettings = {
    task,
    sentiment: { minLength: 90, maxLength: 110, openingDistance: null },
    oneAnywhere: { length: 20, first: 0, end: 10 },
    framewise: { frames: 60, classes: 6, features: 8, noise: 1.5, delay: 4 },
    charLm: { strips: 32 },
    optimizer: "adam",
    clipNorm: 5,
    seed: 1,
    cell: "gru",
    hiddenSize: 32,
    numLayers: 1,
    embeddingDim: 16,
    k1: 30,
    k2: 30,
    loss: "every-chunk",
    learningRate: 0.02,
    batchSize: 32,
    epochs: 8,
    epochSize: 1024,
  };
  switch (task) {
    case "sentiment":
      return base;
    case "one-anywhere":
      return {
        ...base,
        hiddenSize: 16,
        embeddingDim: 4,
        k1: Infinity,
        k2: 10,
        loss: "end",
        learningRate: 0.01,
        epochs: 40,
      };
    case "char-lm":
      return {
        ...base,
        cell: "lstm",
        hiddenSize: 128,
        embeddingDim: 32,
        k1: 25,
        k2: 25,
        loss: "every-step",
        learningRate: 0.003,
        epochs: 20,
      };
    case "framewise":
      return {
        ...base,
        cell: "lstm",
        k1: 10,
        k2: 10,
        loss: "every-step",
        learningRate: 0.01,
        batchSize: 16,
        epochSize: 256,
        epochs: 20,
      };
  }
}

/** Whether a task's targets are per sequence (classification: every placement applies) or per step. */
export function classifiesSequences(task: TaskName): boolean {
  return task === "sentiment" || task === "one-anywhere";
}

/** "∞" for Infinity. */
export function formatLength(k: number): string {
  return k === Infinity ? "∞" : String(k);
}

/**
 * Every problem with the settings, each one line naming the setting and what it needs (empty: fine).
 * The trainer checks the schedule again; these are the page's own rules, said before training starts.
 */
export function settingsProblems(s: PlaygroundSettings): string[] {
  const problems: string[] = [];
  const integer = (value: number, name: string, min: number, max = Infinity): void => {
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(
        `${name} must be a whole number from ${min}${max === Infinity ? " up" : ` to ${max}`}, got ${value}`,
      );
    }
  };
  const length = (value: number, name: string): void => {
    if (value !== Infinity && !(Number.isInteger(value) && value >= 1)) {
      problems.push(`${name} must be a whole number ≥ 1 or ∞, got ${value}`);
    }
  };
  integer(s.hiddenSize, "hidden size", 1, 1024);
  integer(s.numLayers, "layers", 1, 8);
  integer(s.embeddingDim, "embedding size", 1, 1024);
  length(s.k1, "k1");
  length(s.k2, "k2");
  integer(s.batchSize, "batch size", 1, 1024);
  integer(s.epochs, "epochs", 1, 100_000);
  integer(s.epochSize, "sequences per epoch", 1, 1_000_000);
  integer(s.seed, "seed", 0, 2 ** 31 - 1);
  if (!(s.learningRate > 0 && s.learningRate < 10)) {
    problems.push(`learning rate must be a number in (0, 10), got ${s.learningRate}`);
  }
  if (s.clipNorm !== null && !(s.clipNorm > 0 && Number.isFinite(s.clipNorm))) {
    problems.push(`clipping must be a number > 0 (or off), got ${s.clipNorm}`);
  }
  if (!classifiesSequences(s.task) && s.loss !== "every-step") {
    problems.push(`${TASK_TITLES[s.task].toLowerCase()} has a target at every step: choose the loss at every step`);
  }
  if (s.loss === "every-chunk" && s.k1 === Infinity) problems.push("a loss every chunk needs chunks: give a finite k1");
  switch (s.task) {
    case "sentiment": {
      const { minLength, maxLength, openingDistance } = s.sentiment;
      integer(minLength, "shortest text", 4, 2000);
      integer(maxLength, "longest text", Math.max(4, minLength), 2000);
      if (openingDistance !== null) integer(openingDistance, "distance of the opening", 4, minLength);
      break;
    }
    case "one-anywhere": {
      const { length: T, first, end } = s.oneAnywhere;
      integer(T, "sequence length", 2, 2000);
      integer(first, "first step with 1s", 0, T - 1);
      integer(end, "end of the steps with 1s", first + 1, T);
      break;
    }
    case "framewise": {
      const f = s.framewise;
      integer(f.frames, "frames", 2, 2000);
      integer(f.classes, "classes", 2, 64);
      integer(f.features, "features per frame", 1, 256);
      integer(f.delay, "label delay", 0, f.frames - 1);
      if (!(f.noise >= 0 && f.noise <= 10)) problems.push(`noise must be a number from 0 to 10, got ${f.noise}`);
      break;
    }
    case "char-lm":
      integer(s.charLm.strips, "strips", 1, 512);
      if (s.k1 === Infinity || s.k2 === Infinity) {
        problems.push("a language model reads the text as one stream carried across batches: give finite k1 and k2");
      }
      break;
  }
  return problems;
}
