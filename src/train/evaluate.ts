/**
 * Evaluation: the model run forward over whole batches, with no update and no dropout.
 *
 * The state is carried from each sequence's first step to its end (and across batches that continue
 * a stream), whatever truncation training used: a many-to-one classifier is judged on each whole
 * sequence, at its last step only. A padded batch runs packed (layout.ts: the real tokens only), and
 * in chunks that keep no activations (forward-only.ts), the loss taken chunk by chunk: memory O(B·H)
 * plus the batch itself, whatever the length of its rows.
 *
 * Metrics: the mean loss per loss term; for classes, accuracy, perplexity = exp(mean loss), bits per
 * token = mean loss / ln 2 (bits per character for a character model), and per-class precision,
 * recall and support; for binary, accuracy and the positive class's precision and recall; for
 * regression, the mean squared error per output value.
 */
import type { RecurrentState } from "../layers/recurrent-state.js";
import { ReusableBuffer } from "../tensor/buffers.js";
import { type Batch, rowLengths } from "./batch.js";
import { ChunkLoss, type LossPiece } from "./chunk-loss.js";
import { ForwardOnly } from "./forward-only.js";
import { BatchLayout } from "./layout.js";
import type { LossPlacement } from "./loss-positions.js";
import type { SequenceModel } from "./model.js";
import { argmax } from "./objective.js";
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
  const classes = objective === "classes" ? O : objective === "binary" ? 2 : 0;
  const confusion = new Float64Array(classes * classes); // [target, predicted]
  const runner = new ForwardOnly(model);
  const layout = new BatchLayout();
  const chunkLoss = new ChunkLoss(model);
  // Each chunk is one piece of the loss (nothing flows back: no dOutput).
  const piece: LossPiece & { T: number; rows: number; output: Float32Array } = {
    T: 0, rows: 0, output: new Float32Array(0), dOutput: null, dOutputStorage: new ReusableBuffer(),
  };
  const pieces = [piece];
  let state: RecurrentState | null = null;
  let lossSum = 0;
  let terms = 0;
  let correct = 0;
  let batch: Batch | null = null;

  const score = (output: Float32Array, start: number, end: number): void => {
    piece.T = end - start;
    piece.rows = layout.offsets[end]! - layout.offsets[start]!;
    piece.output = output;
    const result = chunkLoss.forward(batch!, layout, pieces, start, end, { lossAt, everyChunk: false, scale: 1 });
    const N = result.terms;
    if (N === 0) return;
    lossSum += result.sum;
    correct += result.correct;
    terms += N;
    const logits = chunkLoss.logits();
    const targets = chunkLoss.targets();
    for (let n = 0; n < N && classes > 0; n++) {
      const target = targets[n]!;
      const predicted = objective === "classes" ? argmax(logits, n * O, O) : logits[n]! > 0 ? 1 : 0;
      confusion[target * classes + predicted]!++;
    }
  };

  for (batch of batches) {
    validateBatch(model, batch, lossAt, false);
    const { T, B } = batch;
    if (batch.starts) throw new RangeError("evaluate: batches with starts (packed sequences) are not supported; give one sequence per row");
    if (!state || state.batchSize !== B) state = model.createState(B);
    else if (!batch.continues) state.reset();
    // A stream that continues keeps its rows in their order (with the mask, if any): its state is per row.
    layout.arrange(batch, rowLengths(batch.mask, T, B), { pack: !batch.continues });
    runner.run(batch, layout, state, { training: false }, score);
    // The next batch may continue this one: its state goes back to the batch's row order.
    if (!layout.direct) state.restoreRowOrder(layout.order);
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
