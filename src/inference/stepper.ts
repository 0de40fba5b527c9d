/**
 * A model run forward for inference, from a state the caller controls: one step or a whole chunk at a
 * time, batch size 1, no dropout, no gradient. What `bptt generate` and `bptt predict` use, and the
 * char-rnn experiment's sampling.
 */
import { kernels } from "../kernels/index.js";
import { DenseCache } from "../layers/dense.js";
import { RecurrentCache } from "../layers/recurrent.js";
import { Tensor } from "../tensor/tensor.js";
import type { SequenceModel } from "../train/model.js";

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

