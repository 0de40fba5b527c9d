/**
 * A model run forward for inference, from a state the caller controls: one step or a whole chunk at a
 * time, batch size 1, no dropout, no gradient. What `bptt generate` and `bptt predict` use, and the
 * char-rnn experiment's sampling.
 */
import type { StepState } from "../cells/cell.js";
import type { ChunkCache } from "../cells/chunk-cache.js";
import { kernels } from "../kernels/index.js";
import { enterPhase } from "../kernels/profile.js";
import { DenseCache } from "../layers/dense.js";
import type { RecurrentState } from "../layers/recurrent-state.js";
import type { Batch } from "../train/batch.js";
import { ForwardOnly } from "../train/forward-only.js";
import { BatchLayout } from "../train/layout.js";
import type { SequenceCache, SequenceModel } from "../train/model.js";
import { ReusableBuffer } from "../tensor/buffers.js";

/**
 * Runs a model forward from a state it keeps (zero after `reset`), one step or a whole chunk at a time,
 * with every buffer reused from call to call: a step of a token model is an embedding row copy, one
 * recurrent step (T = 1, B = 1) and one head product. Batch size 1, no dropout.
 *
 * A unidirectional token model takes a faster path one token at a time: the first layer's input
 * projection of every token, P[v] = W_ih·e_v + b_ih (+ b_hh for the RNN and LSTM), is computed once,
 * when the Stepper is made, so a step reads a row of P instead of multiplying by W_ih (at B = 1 a step
 * is bound by reading the weights from memory: this halves what the first layer reads). Each layer
 * then takes one step on its cell's `step`. The Stepper therefore reads the weights when it is made:
 * after changing them, make a new one.
 */
/** The largest token projection table the fast path keeps, in floats (16 MiB). */
const MAX_PROJECTION_TABLE = 1 << 22;

export class Stepper {
  readonly model: SequenceModel;
  private readonly state: RecurrentState;
  private readonly cache: SequenceCache;
  private readonly headCache = new DenseCache();
  /** The input of one step off the fast path. */
  private readonly oneToken = new Int32Array(1);
  /** (V, G·H): the first layer's input projection of every token, or null (no fast path). */
  private readonly tokenProjection: Float32Array | null;
  /** `feed`: the model run over a whole input in chunks that keep no activations, and the logits of every step. */
  private readonly runner: ForwardOnly;
  private readonly layout = new BatchLayout();
  private readonly oneRow = new Int32Array(1);
  private readonly allLogits = new ReusableBuffer();
  /** The fast path's buffers: the gates of one step (G·H), the new h (H), and per layer its state and scratch. */
  private readonly stepGates: Float32Array;
  private readonly stepOut: Float32Array;
  private readonly stepStates: StepState[] = [];
  private readonly stepScratch: ChunkCache[] = [];

  constructor(model: SequenceModel) {
    this.model = model;
    const rnn = model.rnn;
    this.state = rnn.createState(1);
    this.cache = model.createCache();
    this.runner = new ForwardOnly(model);
    const first = rnn.cells[0]!;
    const G = first.gateSize;
    const V = model.embedding?.numEmbeddings ?? 0;
    const fast = model.embedding !== null && rnn.directions === 1 && V * G <= MAX_PROJECTION_TABLE;
    this.tokenProjection = fast ? this.projectVocabulary(G) : null;
    this.stepGates = kernels().allocate(fast ? G : 0);
    this.stepOut = kernels().allocate(fast ? first.stateSizes.h : 0);
    if (fast) {
      const { h, c } = this.state;
      rnn.cells.forEach((cell, l) => {
        const { h: H, c: C } = cell.stateSizes;
        this.stepStates.push({ h: h.data, hOffset: l * H, c: c ? c.data : null, cOffset: l * C });
        this.stepScratch.push(cell.createCache());
      });
    }
  }

  /** P[v] = e_v·W_ihᵀ + b_ih (+ b_hh unless GRU) for every token v, each row a product of one row as a step computes it. */
  private projectVocabulary(G: number): Float32Array {
    const embedding = this.model.embedding!;
    const E = embedding.embeddingDim;
    const V = embedding.numEmbeddings;
    const cell = this.model.rnn.cells[0]!;
    const table = kernels().allocate(V * G);
    for (let v = 0; v < V; v++) cell.projectInput(1, embedding.weight.value, v * E, table, v * G);
    return table;
  }

  /** Back to the zero state: the next call starts a new sequence. */
  reset(): void {
    this.state.reset();
  }

  /** One step of a token model from the current state: the logits (O), valid until the next call. */
  stepToken(id: number): Float32Array {
    if (!this.model.embedding) {
      throw new RangeError(`this model reads ${this.model.inputSize} features per step, not token ids: use feed`);
    }
    this.checkToken(id);
    if (this.tokenProjection) return this.head(this.stepLayers(id), 1);
    this.oneToken[0] = id;
    return this.head(this.run(1, this.oneToken, null), 1);
  }

  /**
   * One step of every layer at B = 1 from the carried state, on the cells' `step` (no per-call
   * objects): layer 0 starts from P[id], layer l > 0 from the projection of the layer below's new h.
   * Returns the top layer's new h (H), valid until the next call.
   */
  private stepLayers(id: number): Float32Array {
    const outer = enterPhase("recurrent");
    const cells = this.model.rnn.cells;
    const gates = this.stepGates;
    const G = gates.length;
    for (let l = 0; l < cells.length; l++) {
      const cell = cells[l]!;
      if (l === 0) gates.set(this.tokenProjection!.subarray(id * G, (id + 1) * G));
      // x = the layer below's new h (stepOut, not yet overwritten)
      else cell.projectInput(1, this.stepOut, 0, gates, 0);
      cell.step(1, gates, this.stepStates[l]!, this.stepOut, this.stepScratch[l]!);
    }
    enterPhase(outer);
    return this.stepOut;
  }

  /**
   * T steps of token ids (or of features, T·I values) from the current state, in chunks that keep no
   * activations (train/forward-only.ts: memory O(H) per row of a chunk, whatever T); returns the logits
   * of every step (T·O) when `all`, else of the last step only (O). Valid until the next call.
   */
  feed(input: Int32Array | Float32Array, all: boolean): Float32Array {
    const model = this.model;
    const tokens = input instanceof Int32Array;
    if (tokens !== (model.embedding !== null)) {
      const expected = model.embedding ? "token ids (an Int32Array)" : `${model.inputSize} features per step (a Float32Array)`;
      throw new RangeError(`this model reads ${expected}`);
    }
    let T: number;
    if (tokens) {
      T = input.length;
      if (T === 0) throw new RangeError("nothing to feed: no tokens");
      for (let t = 0; t < T; t++) this.checkToken(input[t]!);
    } else {
      T = input.length / model.inputSize;
      if (!Number.isInteger(T) || T === 0) {
        throw new RangeError(`features: ${input.length} values are not whole steps of ${model.inputSize}`);
      }
    }
    const batch: Batch = tokens ? { T, B: 1, ids: input } : { T, B: 1, features: input };
    this.oneRow[0] = T;
    const layout = this.layout.arrange(batch, this.oneRow);
    const O = model.outputSize;
    const F = model.head.inFeatures;
    const logits = all ? this.allLogits.reserve(T * O) : null;
    let last: Float32Array | null = null;
    // Without the input table, as before it existed: the per-step projection's sums, bit for bit.
    this.runner.run(batch, layout, this.state, { training: false, inputTable: false }, (output, start, end) => {
      if (logits) logits.set(this.head(output, end - start), start * O);
      else if (end === T) last = this.head(output.subarray((end - start - 1) * F), 1);
    });
    return logits ?? last!;
  }

  /** The model over T steps from the carried state, which it advances; returns the top layer's outputs. */
  private run(T: number, ids: Int32Array | null, features: Float32Array | null): Float32Array {
    // Without the input table, as before it existed: the per-step projection's sums, bit for bit.
    const options = { training: false, inputTable: false };
    return this.model.forward({ T, B: 1, ids, features }, this.state, this.cache, options);
  }

  private checkToken(id: number): void {
    if (!(id >= 0 && id < this.model.embedding!.numEmbeddings)) {
      throw new RangeError(`token id ${id} is outside the vocabulary`);
    }
  }

  private head(rows: Float32Array, n: number): Float32Array {
    const outer = enterPhase("head");
    const logits = this.model.head.forward(rows, n, this.headCache).out;
    enterPhase(outer);
    return logits;
  }
}

