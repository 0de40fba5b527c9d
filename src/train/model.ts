/**
 * The sequence model: [embedding] → recurrent stack → dense head, the same modules as PyTorch's
 * `nn.Embedding` + `nn.LSTM`/`nn.GRU`/`nn.RNN` + `nn.Linear`, with state_dict names
 * `embedding.weight`, `rnn.weight_ih_l0`, …, `head.weight`, `head.bias`.
 *
 *   ids: (T, B) → embedding → x: (T, B, E)      or      features x: (T, B, I)
 *   x → rnn → h: (T, B, D·R) → head (at the steps that carry a loss) → logits: (N, O)
 *
 * R = H, or P for an LSTM with a projection (projSize). An LSTM with peepholes (peephole: true) has
 * the tensors rnn.weight_peephole_l{k} besides PyTorch's (docs/onnx.md and README: loading in PyTorch).
 *
 * `forward` and `backward` run one chunk through the embedding and the stack, from and to a
 * RecurrentState: the one path the trainer, `evaluate` and the `Stepper` all take. The head is
 * applied by its users at the steps they need (chunk-loss.ts), since a loss reads only some steps.
 *
 * Objectives: "classes" (softmax cross-entropy over O classes; a language model is this with O = V),
 * "binary" (sigmoid binary cross-entropy, O = 1), "regression" (mean squared error on O values).
 */
import type { CellKind, CellWeights } from "../cells/cell.js";
import type { InitOptions } from "../cells/init.js";
import { Dense } from "../layers/dense.js";
import { enterPhase } from "../kernels/profile.js";
import { Embedding, EmbeddingCache } from "../layers/embedding.js";
import { Recurrent, RecurrentCache } from "../layers/recurrent.js";
import { RecurrentState } from "../layers/recurrent-state.js";
import { ReusableBuffer, ReusableIndices } from "../tensor/buffers.js";
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
  /** LSTM only: P, a recurrent projection of each layer's output (PyTorch's proj_size), 1 ≤ P < hiddenSize. */
  projSize?: number;
  /** LSTM only: peephole connections (weights rnn.weight_peephole_l{k}, (3H), gates i, f, o). */
  peephole?: boolean;
  /** O: classes, 1 for binary, or values to regress. */
  outputSize: number;
  objective: Objective;
  init?: InitOptions;
  /** Seed for initialisation and dropout. Default 0. */
  seed?: number;
}

/**
 * One chunk of input: T steps of B rows, time-major (a `Batch` is one); or packed rows, where step t
 * runs only the first batchSizes[t] rows of the state and every per-step array holds only those.
 */
export interface ModelInput {
  T: number;
  /** The state's rows. */
  B: number;
  /** (T·B) token ids, for a model with an embedding ((N) packed). */
  ids?: Int32Array | null;
  /** (T·B·I) features, for a model without one ((N·I) packed). */
  features?: Float32Array | null;
  /** (T·B) 1 for real steps, 0 for padding (right-padded rows); omitted: every step is real. Not with batchSizes. */
  mask?: Float32Array | null;
  /**
   * Packed rows (ChunkInput.batchSizes in cells/chunk.ts): (T) the rows running at each step, B ≥
   * batchSizes[t] ≥ batchSizes[t + 1] ≥ 1, so rows are ordered by decreasing length; the chunk then has
   * N = Σ batchSizes rows, step t's at [Σ_{t'<t} batchSizes[t'], …), and costs those rows only.
   */
  batchSizes?: Int32Array | null;
}

export interface ModelForwardOptions {
  /** Dropout between stacked layers is active only while training. */
  training: boolean;
  /**
   * The caller has checked that the features are finite, and the state is its own computation: the
   * stack then checks shapes only (see RecurrentForwardOptions.finiteChecked). Default false.
   */
  finiteChecked?: boolean;
  /**
   * Whether the first layer may project the vocabulary's rows instead of the steps
   * (cells/input-table.ts). Default true.
   */
  inputTable?: boolean;
  /**
   * (T·B·E) the embedded rows to use instead of looking the ids up: a chunk recomputed from a
   * checkpoint, as the embedding was when it first ran. The ids are still needed, for the gradient.
   */
  embedded?: Float32Array | null;
}

export interface ModelBackwardInput {
  /** (T, B, D·R) dL/d(outputs) ((N, D·R) packed), or null when no loss reads them. */
  dOutput: Float32Array | null;
  /** dL/d(the state the chunk left), arriving from later chunks; null means zero. */
  dState?: RecurrentState | null;
  /** Truncation: back-propagate through steps [firstStep, T) only (per row with an Int32Array (B)). */
  firstStep?: number | Int32Array;
  /** The weights of every cell as this chunk's forward pass used them, when they have changed since. */
  weights?: CellWeights[] | null;
  /** Diagnostics, per cell (l·D + d) or null: ‖dL/dh_t‖² per step (see BackwardInput.stateGradNormSq). */
  stateGradNormSq?: Array<Float64Array | null> | null;
  /** As in ModelForwardOptions. */
  finiteChecked?: boolean;
}

/**
 * What the model keeps of one chunk for backward: copies of its inputs (so callers may reuse their
 * arrays), the embedding's and the stack's activations. Reused from chunk to chunk.
 */
export class SequenceCache {
  T = 0;
  B = 0;
  /** N: the rows of the chunk (T·B, or Σ batchSizes packed). */
  rows = 0;
  /** (N) the ids, or null for a feature model. */
  ids: Int32Array | null = null;
  /** (T·B) the mask, or null. */
  mask: Float32Array | null = null;
  /** (T) the packed rows per step, or null. */
  batchSizes: Int32Array | null = null;
  /** (N, I) what the recurrent stack read: the embedded rows, or the features. */
  input: Float32Array = new Float32Array(0);
  /** (N, D·R) the stack's outputs. */
  output: Float32Array = new Float32Array(0);
  readonly embedding = new EmbeddingCache();
  readonly recurrent = new RecurrentCache();
  private readonly idsStorage = new ReusableIndices();
  private readonly maskStorage = new ReusableBuffer();
  private readonly featureStorage = new ReusableBuffer();
  private batchSizeStorage = new Int32Array(0);

  /** Copies the chunk's inputs in (a token model's ids, or a feature model's I features per step). */
  keep(input: ModelInput, embedding: boolean, I: number): void {
    const { T, B } = input;
    this.T = T;
    this.B = B;
    this.batchSizes = input.batchSizes ? this.copyBatchSizes(input.batchSizes) : null;
    let rows = T * B;
    if (this.batchSizes) {
      rows = 0;
      for (let t = 0; t < T; t++) rows += this.batchSizes[t]!;
    }
    this.rows = rows;
    const source = embedding ? input.ids : input.features;
    const length = embedding ? rows : rows * I;
    if (!source || source.length !== length) {
      const shape = this.batchSizes ? `(N=${rows} packed rows` : `(T=${T}, B=${B}`;
      const what = embedding ? `ids of shape ${shape})` : `features of shape ${shape}, I=${I})`;
      throw new RangeError(`model.forward: this model reads ${what} = ${length} values, got ${source ? source.length : "none"}`);
    }
    this.ids = embedding ? copyInto(this.idsStorage.reserve(length), source) : null;
    if (!embedding) this.input = copyInto(this.featureStorage.reserve(length), source);
    this.mask = input.mask ? copyInto(this.maskStorage.reserve(T * B), input.mask) : null;
  }

  private copyBatchSizes(batchSizes: Int32Array): Int32Array {
    const T = batchSizes.length;
    if (this.batchSizeStorage.length < T) {
      this.batchSizeStorage = new Int32Array(Math.max(T, 2 * this.batchSizeStorage.length));
    }
    const view = this.batchSizeStorage.length === T ? this.batchSizeStorage : this.batchSizeStorage.subarray(0, T);
    view.set(batchSizes);
    return view;
  }
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
    if (config.peephole !== undefined && typeof config.peephole !== "boolean") {
      throw new RangeError(`model: peephole must be true or false, got ${JSON.stringify(config.peephole)}`);
    }
    if (kind !== "lstm" && (config.peephole || (config.projSize !== undefined && config.projSize !== 0))) {
      const cell = JSON.stringify(config.cell);
      throw new RangeError(`model: projSize and peephole are LSTM variants, not for cell ${cell}`);
    }
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
      ...(config.projSize ? { projSize: config.projSize } : {}),
      ...(config.peephole ? { peephole: true } : {}),
    });
    const F = this.rnn.directions * this.rnn.stateSizes.h;
    this.head = new Dense({ inFeatures: F, outFeatures: config.outputSize, rng: rng.fork() });
  }

  /** Features per step entering the recurrent stack. */
  get inputSize(): number {
    return this.rnn.inputSize;
  }

  get outputSize(): number {
    return this.head.outFeatures;
  }

  /** A zero state of B rows (h, and c for the LSTM). */
  createState(B: number): RecurrentState {
    return this.rnn.createState(B);
  }

  createCache(): SequenceCache {
    return new SequenceCache();
  }

  /**
   * Runs one chunk from `state`, which it advances to the state after the chunk (packed: each row's
   * state after its own last step); keeps in `cache` what backward needs. Returns the stack's outputs
   * (T, B, D·R), or (N, D·R) packed, owned by the cache. Inputs are copied.
   */
  forward(input: ModelInput, state: RecurrentState, cache: SequenceCache, options: ModelForwardOptions): Float32Array {
    const { T, B } = input;
    const I = this.inputSize;
    cache.keep(input, this.embedding !== null, I);
    const rows = cache.rows;
    const outer = enterPhase("embedding");
    if (this.embedding) {
      this.embedding.forward(cache.ids!, rows, cache.embedding);
      cache.input = cache.embedding.out;
      if (options.embedded) cache.input.set(options.embedded);
    }
    const useTable = this.embedding !== null && options.inputTable !== false;
    const packed = cache.batchSizes;
    enterPhase("recurrent");
    const out = this.rnn.forward(new Tensor(cache.input, packed ? [rows, I] : [T, B, I]), {
      h0: state.h, c0: state.c, mask: cache.mask ? new Tensor(cache.mask, [T, B]) : null, batchSizes: packed,
      training: options.training, cache: cache.recurrent, finiteChecked: options.finiteChecked ?? false,
      // The input is the embedding's rows of these ids: the first layer may work per vocabulary row.
      inputRows: useTable ? { ids: cache.ids!, V: this.embedding!.numEmbeddings } : null,
    });
    state.assign(out.hN, out.cN);
    cache.output = out.output.data;
    enterPhase(outer);
    return cache.output;
  }

  /**
   * Back-propagates the chunk in `cache`: adds into every parameter's grad but the head's (+=) and
   * returns dL/d(the state entering the chunk, or entering each row's first step), owned by the cache.
   */
  backward(cache: SequenceCache, grads: ModelBackwardInput): RecurrentState {
    const rnn = this.rnn;
    const dState = grads.dState ?? null;
    const F = rnn.directions * rnn.stateSizes.h;
    const outputShape = cache.batchSizes ? [cache.rows, F] : [cache.T, cache.B, F];
    const outer = enterPhase("recurrent");
    const result = rnn.backward(cache.recurrent, {
      dOutput: grads.dOutput ? new Tensor(grads.dOutput, outputShape) : null,
      dhN: dState ? dState.h : null,
      dcN: dState ? dState.c : null,
      firstStep: grads.firstStep ?? 0,
      weights: grads.weights ?? null,
      stateGradNormSq: grads.stateGradNormSq ?? null,
      finiteChecked: grads.finiteChecked ?? false,
    });
    enterPhase("embedding");
    if (this.embedding && result.dInputTable) this.embedding.backwardTable(result.dInputTable.data);
    else if (this.embedding) this.embedding.backward(cache.embedding, result.dx.data);
    enterPhase(outer);
    return new RecurrentState(result.dh0, result.dc0);
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

function copyInto<A extends Float32Array | Int32Array>(target: A, source: ArrayLike<number>): A {
  target.set(source);
  return target;
}
