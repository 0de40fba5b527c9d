/**
 * The sequence model the trainer drives: [embedding] → recurrent stack → dense head, the same
 * modules as PyTorch's `nn.Embedding` + `nn.LSTM`/`nn.GRU`/`nn.RNN` + `nn.Linear`, with state_dict
 * names `embedding.weight`, `rnn.weight_ih_l0`, …, `head.weight`, `head.bias`.
 *
 *   ids: (T, B) → embedding → x: (T, B, E)      or      features x: (T, B, I)
 *   x → rnn → h: (T, B, D·H) → head (at the steps that carry a loss) → logits: (N, O)
 *
 * Objectives: "classes" (softmax cross-entropy over O classes; a language model is this with O = V),
 * "binary" (sigmoid binary cross-entropy, O = 1), "regression" (mean squared error on O values).
 */
import type { CellKind } from "../cells/cell.js";
import type { InitOptions } from "../cells/init.js";
import { Dense } from "../layers/dense.js";
import { Embedding } from "../layers/embedding.js";
import { Recurrent } from "../layers/recurrent.js";
import type { Parameter } from "../tensor/parameter.js";
import { Rng } from "../tensor/rng.js";
import { Tensor, formatShape } from "../tensor/tensor.js";

export type CellName = "rnn" | "rnn_relu" | "lstm" | "gru";
export const CELL_NAMES: readonly CellName[] = Object.freeze(["rnn", "rnn_relu", "lstm", "gru"]);
export type Objective = "classes" | "binary" | "regression";

export interface ModelConfig {
  cell: CellName;
  /** Token input: vocabulary size V and embedding size E. */
  vocabSize?: number;
  embeddingDim?: number;
  /** Feature input: I values per step (instead of tokens). */
  inputSize?: number;
  hiddenSize: number;
  numLayers?: number;
  bidirectional?: boolean;
  /** Dropout between stacked recurrent layers while training. */
  dropout?: number;
  /** O: classes, 1 for binary, or values to regress. */
  outputSize: number;
  objective: Objective;
  init?: InitOptions;
  /** Seed for initialisation and dropout. Default 0. */
  seed?: number;
}

export class SequenceModel {
  readonly config: Readonly<ModelConfig>;
  readonly embedding: Embedding | null;
  readonly rnn: Recurrent;
  readonly head: Dense;

  constructor(config: ModelConfig) {
    const tokens = config.vocabSize !== undefined;
    if (tokens === (config.inputSize !== undefined)) {
      throw new RangeError("model: give either vocabSize (token input, with embeddingDim) or inputSize (feature input), not both");
    }
    if (config.objective === "binary" && config.outputSize !== 1) {
      throw new RangeError(`model: the binary objective has outputSize 1, got ${config.outputSize}`);
    }
    if (!["classes", "binary", "regression"].includes(config.objective)) {
      throw new RangeError(`model: objective must be "classes", "binary" or "regression", got ${JSON.stringify(config.objective)}`);
    }
    const kinds: Record<CellName, CellKind> = { rnn: "rnn_tanh", rnn_relu: "rnn_relu", lstm: "lstm", gru: "gru" };
    const kind = kinds[config.cell];
    if (kind === undefined) throw new RangeError(`model: cell must be "rnn", "rnn_relu", "lstm" or "gru", got ${JSON.stringify(config.cell)}`);
    this.config = Object.freeze({ ...config });
    const rng = new Rng(config.seed ?? 0);
    this.embedding = tokens
      ? new Embedding({ numEmbeddings: config.vocabSize!, embeddingDim: config.embeddingDim ?? config.hiddenSize, rng: rng.fork() })
      : null;
    const inputSize = this.embedding ? this.embedding.embeddingDim : config.inputSize!;
    this.rnn = new Recurrent(kind, {
      inputSize,
      hiddenSize: config.hiddenSize,
      numLayers: config.numLayers ?? 1,
      bidirectional: config.bidirectional ?? false,
      dropout: config.dropout ?? 0,
      seed: rng.fork(),
      ...(config.init ? { init: config.init } : {}),
    });
    this.head = new Dense({ inFeatures: this.rnn.directions * config.hiddenSize, outFeatures: config.outputSize, rng: rng.fork() });
  }

  /** Features per step entering the recurrent stack. */
  get inputSize(): number {
    return this.rnn.inputSize;
  }

  get outputSize(): number {
    return this.head.outFeatures;
  }

  /** (name, parameter) in state_dict order, with PyTorch module prefixes. */
  namedParameters(): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    if (this.embedding) out.push(["embedding.weight", this.embedding.weight]);
    for (const p of this.rnn.parameters()) out.push([`rnn.${p.name}`, p]);
    for (const p of this.head.parameters()) out.push([`head.${p.name}`, p]);
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Copies of every parameter by PyTorch name. */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters().map(([name, p]) => [name, p.toTensor()]));
  }

  /** Loads every parameter by name (strict: none missing, none unknown, shapes equal). */
  loadStateDict(values: ReadonlyMap<string, Tensor>): void {
    const named = this.namedParameters();
    for (const [name, p] of named) {
      const v = values.get(name);
      if (v === undefined) throw new RangeError(`loadStateDict: missing ${name} ${formatShape(p.shape)}`);
      p.assign(v, name);
    }
    const known = new Set(named.map(([name]) => name));
    for (const name of values.keys()) {
      if (!known.has(name)) throw new RangeError(`loadStateDict: unexpected ${name} (this model has ${[...known].join(", ")})`);
    }
  }

  /** Total number of trainable values. */
  get parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }
}
