/**
 * Evaluation: the model run forward over whole batches, with no update and no dropout.
 *
 * The state is carried from each sequence's first step to its end (and across batches that continue
 * a stream), whatever truncation training used: a many-to-one classifier is judged on each whole
 * sequence, at its last step only.
 *
 * Metrics: the mean loss per loss term; for classes, accuracy, perplexity = exp(mean loss), bits per
 * token = mean loss / ln 2 (bits per character for a character model), and per-class precision,
 * recall and support; for binary, accuracy and the positive class's precision and recall; for
 * regression, the mean squared error per output value.
 */
import type { InputRows } from "../cells/cell.js";
import { kernels } from "../kernels/index.js";
import { RecurrentCache } from "../layers/recurrent.js";
import { ReusableBuffer } from "../tensor/buffers.js";
import { Tensor } from "../tensor/tensor.js";
import { type Batch, rowLengths } from "./batch.js";
import { type LossPlacement, LossPositions } from "./loss-positions.js";
import type { SequenceModel } from "./model.js";
import { argmax, lossAndGradient } from "./objective.js";
import { validateBatch } from "./validate-batch.js";

export interface EvaluateOptions {
  /** Where the losses are, as in training (default "every-step"). */
  lossAt?: LossPlacement;
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  /** Loss terms whose target is this class. */
  support: number;
}

export interface Evaluation {
  /** Mean loss per loss term. */
  loss: number;
  /** Number of loss terms. */
  terms: number;
  /** Classes and binary: fraction of correct predictions. */
  accuracy?: number;
  /** Classes: exp(loss). */
  perplexity?: number;
  /** Classes: loss / ln 2 (bits per character for a character model). */
  bitsPerToken?: number;
  /** Classes: per class; binary: [negative, positive]. */
  perClass?: ClassMetrics[];
  /** Regression: mean squared error per output value. */
  mse?: number;
}

export function evaluate(model: SequenceModel, batches: Iterable<Batch>, options: EvaluateOptions = {}): Evaluation {
  const lossAt = options.lossAt ?? "every-step";
  const objective = model.config.objective;
  const O = model.outputSize;
  const F = model.head.inFeatures;
  const rnn = model.rnn;
  const classes = objective === "classes" ? O : objective === "binary" ? 2 : 0;
  const confusion = new Float64Array(classes * classes); // [target, predicted]
  const cache = new RecurrentCache();
  // Reused from batch to batch, in the backend's own memory (no copies on a fast backend).
  const features = new ReusableBuffer();
  const gathered = new ReusableBuffer();
  const dLogits = new ReusableBuffer();
  const embeddingCache = model.embedding?.createCache() ?? null;
  const headCache = model.head.createCache();
  let ids: Int32Array = new Int32Array(0);
  const losses = new LossPositions();
  let h: Tensor | null = null;
  let c: Tensor | null = null;
  let lossSum = 0;
  let terms = 0;
  let correct = 0;

  for (const batch of batches) {
    validateBatch(model, batch, lossAt, false);
    const { T, B } = batch;
    if (batch.starts) throw new RangeError("evaluate: batches with starts (packed sequences) are not supported; give one sequence per row");
    const shape = [rnn.numLayers * rnn.directions, B, rnn.hiddenSize];
    if (!batch.continues || !h || h.shape[1] !== B) {
      h = Tensor.zeros(shape);
      c = rnn.mode === "lstm" ? Tensor.zeros(shape) : null;
    }
    let x: Tensor;
    let inputRows: InputRows | null = null;
    if (model.embedding) {
      if (ids.length < T * B) ids = kernels().allocateIndices(T * B);
      const rowIds = ids.length === T * B ? ids : ids.subarray(0, T * B);
      rowIds.set(batch.ids!);
      x = new Tensor(model.embedding.forward(rowIds, T * B, embeddingCache!).out, [T, B, model.inputSize]);
      inputRows = { ids: rowIds, V: model.embedding.numEmbeddings };
    } else {
      const data = features.reserve(T * B * model.inputSize);
      data.set(batch.features!);
      x = new Tensor(data, [T, B, model.inputSize]);
    }
    const mask = batch.mask ? new Tensor(batch.mask, [T, B]) : null;
    const out = rnn.forward(x, { h0: h, c0: c, mask, training: false, cache, inputRows });
    h.data.set(out.hN.data);
    if (c && out.cN) c.data.set(out.cN.data);

    const lengths = rowLengths(batch.mask, T, B);
    const found = losses.find(batch, lengths, 0, T, lossAt, false, objective, O);
    const { positions } = found;
    const targets = found.targets(objective, O);
    const N = found.count;
    if (N === 0) continue;
    let rows = out.output.data;
    if (!(N === T * B && positions[N - 1] === N - 1)) {
      // Not every step (positions ascend, so N = T·B ending at T·B − 1 is every step): gather the rows read.
      rows = gathered.reserve(N * F);
      for (let n = 0; n < N; n++) rows.set(out.output.data.subarray(positions[n]! * F, (positions[n]! + 1) * F), n * F);
    }
    const logits = model.head.forward(rows, N, headCache).out;
    const result = lossAndGradient(objective, N, O, logits, targets, dLogits.reserve(N * O), 1);
    lossSum += result.sum;
    correct += result.correct;
    terms += N;
    for (let n = 0; n < N && classes > 0; n++) {
      const target = targets[n]!;
      const predicted = objective === "classes" ? argmax(logits, n * O, O) : logits[n]! > 0 ? 1 : 0;
      confusion[target * classes + predicted]!++;
    }
  }

  const loss = terms > 0 ? lossSum / terms : 0;
  const evaluation: Evaluation = { loss, terms };
  if (objective === "regression") {
    evaluation.mse = terms > 0 ? lossSum / (terms * O) : 0;
    return evaluation;
  }
  evaluation.accuracy = terms > 0 ? correct / terms : 0;
  evaluation.perClass = perClassMetrics(confusion, classes);
  if (objective === "classes") {
    evaluation.perplexity = Math.exp(loss);
    evaluation.bitsPerToken = loss / Math.LN2;
  }
  return evaluation;
}

function perClassMetrics(confusion: Float64Array, K: number): ClassMetrics[] {
  const metrics: ClassMetrics[] = [];
  for (let k = 0; k < K; k++) {
    let predicted = 0;
    let support = 0;
    for (let j = 0; j < K; j++) {
      predicted += confusion[j * K + k]!;
      support += confusion[k * K + j]!;
    }
    const hits = confusion[k * K + k]!;
    metrics.push({ precision: predicted > 0 ? hits / predicted : 0, recall: support > 0 ? hits / support : 0, support });
  }
  return metrics;
}
