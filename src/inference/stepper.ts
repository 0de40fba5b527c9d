/**
 * A model run forward for inference, from a state the caller controls: one step or a whole chunk at a
 * time, batch size 1, no dropout, no gradient. What `bptt generate` and `bptt predict` use, and the
 * char-rnn experiment's sampling.
 */
import { gateCount } from "../cells/cell.js";
import { kernels } from "../kernels/index.js";
import { DenseCache } from "../layers/dense.js";
import { RecurrentCache } from "../layers/recurrent.js";
import { Tensor } from "../tensor/tensor.js";
import type { SequenceModel } from "../train/model.js";

/**
 * Runs a model forward from a state it keeps (zero after `reset`), one step or a whole chunk at a time,
 * with every buffer reused from call to call: a step of a token model is an embedding row copy, one
 * recurrent step (T = 1, B = 1) and one head product. Batch size 1, no dropout.
 *
 * A unidirectional token model takes a faster path one token at a time: the first layer's input
 * projection of every token, P[v] = W_ih·e_v + b_ih (+ b_hh for the RNN and LSTM), is computed once,
 * when the Stepper is made, so a step reads a row of P instead of multiplying by W_ih (at B = 1 a step
 * is bound by reading the weights from memory: this halves what the first layer reads). The Stepper
 * therefore reads the weights when it is made: after changing them, make a new one.
 */
/** The largest token projection table the fast path keeps, in floats (16 MiB). */
const MAX_PROJECTION_TABLE = 1 << 22;

export class Stepper {
  readonly model: SequenceModel;
  private readonly h: Tensor;
  private readonly c: Tensor | null;
  private readonly cache = new RecurrentCache();
  private readonly headCache = new DenseCache();
  /** (1, 1, inputSize): the input of one step. */
  private readonly x1: Tensor;
  /** (V, G): the first layer's input projection of every token, or null (no fast path). */
  private readonly tokenProjection: Float32Array | null;
  /** One step's buffers for the fast path: gates (G), the GRU's hidden gates (G), new h, new c, out (H each). */
  private readonly stepGates: Float32Array;
  private readonly stepHiddenGates: Float32Array;
  private readonly stepH: Float32Array;
  private readonly stepC: Float32Array;
  private readonly stepOut: Float32Array;

  constructor(model: SequenceModel) {
    this.model = model;
    const rnn = model.rnn;
    const shape = [rnn.numLayers * rnn.directions, 1, rnn.hiddenSize];
    const size = shape[0]! * rnn.hiddenSize;
    this.h = new Tensor(kernels().allocate(size), shape);
    this.c = rnn.mode === "lstm" ? new Tensor(kernels().allocate(size), shape) : null;
    this.x1 = new Tensor(kernels().allocate(model.inputSize), [1, 1, model.inputSize]);
    const k = kernels();
    const G = gateCount(rnn.mode) * rnn.hiddenSize;
    const V = model.embedding?.numEmbeddings ?? 0;
    const fast = model.embedding !== null && rnn.directions === 1 && V * G <= MAX_PROJECTION_TABLE;
    this.tokenProjection = fast ? this.projectVocabulary(G) : null;
    this.stepGates = k.allocate(fast ? G : 0);
    this.stepHiddenGates = k.allocate(fast && rnn.mode === "gru" ? G : 0);
    this.stepH = k.allocate(fast ? rnn.hiddenSize : 0);
    this.stepC = k.allocate(fast && rnn.mode === "lstm" ? rnn.hiddenSize : 0);
    this.stepOut = k.allocate(fast ? rnn.hiddenSize : 0);
  }

  /** P[v] = e_v·W_ihᵀ + b_ih (+ b_hh unless GRU) for every token v, each row a product of one row as a step computes it. */
  private projectVocabulary(G: number): Float32Array {
    const k = kernels();
    const embedding = this.model.embedding!;
    const E = embedding.embeddingDim;
    const V = embedding.numEmbeddings;
    const params = this.model.rnn.cells[0]!.params;
    const table = k.allocate(V * G);
    const addHiddenBias = this.model.rnn.mode !== "gru";
    for (let v = 0; v < V; v++) {
      k.gemm(false, true, 1, G, E, embedding.weight.value, v * E, E, params.weightIh.value, 0, E, false, table, v * G, G);
      if (params.biasIh) k.addRowVector(1, G, table, v * G, params.biasIh.value, 0);
      if (addHiddenBias && params.biasHh) k.addRowVector(1, G, table, v * G, params.biasHh.value, 0);
    }
    return table;
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
    if (this.tokenProjection) return this.head(this.stepLayers(id), 1);
    this.x1.data.set(embedding.weight.value.subarray(id * E, (id + 1) * E));
    return this.head(this.run(this.x1), 1);
  }

  /**
   * One step of every layer at B = 1 from the carried state, straight on the kernels (no per-call
   * objects): layer 0 starts from P[id], layer l > 0 from x·W_ihᵀ + b_ih with x the new h of layer l − 1.
   * Returns the top layer's new h (H), valid until the next call.
   */
  private stepLayers(id: number): Float32Array {
    const k = kernels();
    const rnn = this.model.rnn;
    const H = rnn.hiddenSize;
    const G = gateCount(rnn.mode) * H;
    const gates = this.stepGates;
    const h = this.h.data;
    for (let l = 0; l < rnn.numLayers; l++) {
      const params = rnn.cells[l]!.params;
      const Whh = params.weightHh.value;
      if (l === 0) gates.set(this.tokenProjection!.subarray(id * G, (id + 1) * G));
      else {
        // x = the layer below's new state (stepOut, not yet overwritten)
        k.gemm(false, true, 1, G, H, this.stepOut, 0, H, params.weightIh.value, 0, H, false, gates, 0, G);
        if (params.biasIh) k.addRowVector(1, G, gates, 0, params.biasIh.value, 0);
        if (rnn.mode !== "gru" && params.biasHh) k.addRowVector(1, G, gates, 0, params.biasHh.value, 0);
      }
      const hl = l * H;
      if (rnn.mode === "gru") {
        // hGates = h·W_hhᵀ + b_hh, kept apart: r multiplies (W_hn·h + b_hn)
        k.gemm(false, true, 1, G, H, h, hl, H, Whh, 0, H, false, this.stepHiddenGates, 0, G);
        if (params.biasHh) k.addRowVector(1, G, this.stepHiddenGates, 0, params.biasHh.value, 0);
        k.gruStepForward(1, H, gates, 0, this.stepHiddenGates, 0, h, hl, null, 0, this.stepH, 0, this.stepOut, 0);
      } else {
        k.gemm(false, true, 1, G, H, h, hl, H, Whh, 0, H, true, gates, 0, G);
        if (rnn.mode === "lstm") {
          const c = this.c!.data;
          k.lstmStepForward(1, H, gates, 0, c, hl, h, hl, null, 0, this.stepC, 0, this.stepH, 0, this.stepOut, 0);
          c.set(this.stepC, hl);
        } else {
          k.rnnStepForward(1, H, rnn.mode === "rnn_relu", gates, 0, h, hl, null, 0, this.stepH, 0, this.stepOut, 0);
        }
      }
      h.set(this.stepH, hl);
    }
    return this.stepOut;
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

