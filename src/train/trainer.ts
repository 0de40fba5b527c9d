/**
 * The TBPTT(k1, k2) trainer.
 *
 * For every batch it walks forward k1 steps at a time (a chunk), carrying the recurrent state, and
 * makes one parameter update per chunk (and at the end of the batch):
 *
 *   g_t = ∇θ Σ_{τ ∈ (t−k1, t]} ℓ_τ,   every path through a hidden state h_s with s ≤ t_b − k2 cut,
 *
 * then clips g_t and lets the optimizer apply it. Chunks without any loss term make no update. t_b is
 * the update time t, or row b's sequence end if it comes first: padding is not time, so a row counts
 * its k2 steps back from its own last real step.
 *
 * The parts: layout.ts orders a padded batch's rows by length and packs them, so that every step
 * computes only the rows still running (cost and memory ∝ real tokens, not T·B); window.ts keeps the
 * activations of the last k2 steps and back-propagates through them with the weights of their time,
 * so g_t is exactly the gradient of the computation that actually ran; chunk-loss.ts computes the
 * chunk's losses; checkpoint.ts saves and restores what the trainer carries between batches;
 * optim/clip.ts clips. This file is the schedule: chunks, pruning, updates. Inputs are copied, so
 * callers may reuse their arrays between batches.
 *
 * Memory: O(k2) steps for a finite k1. Full BPTT keeps the batch's real tokens. TBPTT(∞, k2) with the
 * loss at each sequence's last step keeps each row's last k2 steps only, O(B·k2): the steps before
 * them reach no update (a row's cut is k2 steps before its end, and no loss lies there), so they run
 * forward first keeping nothing (forward-only.ts, "heads"), and the last k2 steps of each row ("tails",
 * packed from the heads' states) are the chunk that is kept and back-propagated. That is TBPTT's
 * alone: the modes (src/train/modes/) keep what they reach.
 *
 * Scaling (the same rule for every schedule): lossScale "mean" (default) divides Σ ℓ by
 * B × (loss steps per full chunk: min(k1, T) for every-step losses, 1 for last-step losses), which for a
 * language model is PyTorch's mean over the T·B terms of a chunk; "sum" applies Σ ℓ as it is. Either
 * way every loss term is used once, with the same weight.
 */
import { enterPhase } from "../kernels/profile.js";
import type { RecurrentState } from "../layers/recurrent-state.js";
import { clipGradients } from "../optim/clip.js";
import type { Optimizer } from "../optim/optimizer.js";
import type { Parameter } from "../tensor/parameter.js";
import { type Batch, rowLengths } from "./batch.js";
import { type TrainerState, exportTrainerState, importTrainerState } from "./checkpoint.js";
import { ChunkLoss } from "./chunk-loss.js";
import { GradientFlow } from "./diagnostics.js";
import { ForwardOnly } from "./forward-only.js";
import { BatchLayout } from "./layout.js";
import type { LossPlacement } from "./loss-positions.js";
import type { SequenceModel } from "./model.js";
import { type Schedule, type ScheduleOptions, resolveSchedule } from "./schedule.js";
import { validateTrainingBatch } from "./validate-batch.js";
import { type ModeWindow, createWindow } from "./modes/index.js";

export type { SegmentState, TrainerState } from "./checkpoint.js";

export interface TrainerOptions extends ScheduleOptions {
  /** Where losses are: at every step with a target (default), or at each sequence's last step. */
  lossAt?: LossPlacement;
  /** With lossAt "last-step": also a loss at the end of every k1-chunk, against the sequence's target. */
  lossEveryChunk?: boolean;
  /** "mean" (default) or "sum": see the file header. */
  lossScale?: "mean" | "sum";
  /** Clip the global L2 norm of the gradient to this value before each update. */
  clipNorm?: number;
  /** Clip every gradient element to [−clipValue, clipValue] before each update (after clipNorm). */
  clipValue?: number;
  /** Record ‖∂L/∂h_{t−ℓ}‖ against the lag ℓ for every update (costs one norm per back-propagated step). */
  diagnostics?: boolean;
  /** Called after every update. */
  onUpdate?: (info: UpdateInfo) => void;
  /** Called with the final (clipped) gradient in the parameters' grad, just before the optimizer applies it. */
  beforeStep?: (info: UpdateInfo) => void;
  /** Seeds the random draws of modes "uoro" (signs) and "artbp" (truncation lengths). Default: the model's seed. */
  seed?: number;
}

export interface UpdateInfo {
  /** 1-based count of updates made by this trainer. */
  update: number;
  /** Steps of the current batch processed so far. */
  step: number;
  /** Σ ℓ over the loss terms of this update. */
  lossSum: number;
  /** Number of loss terms in this update. */
  lossTerms: number;
  /** Correct predictions among them (classification). */
  correct: number;
  /** Global L2 norm of the gradient before clipping. */
  gradNorm: number;
  /** Whether clipping changed the gradient. */
  clipped: boolean;
}

export interface BatchResult {
  lossSum: number;
  lossTerms: number;
  correct: number;
  updates: number;
  /** Real tokens (steps) trained on: padding not counted. */
  tokens: number;
}

export class Trainer {
  readonly model: SequenceModel;
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  readonly options: Readonly<TrainerOptions>;
  readonly gradientFlow: GradientFlow | null;
  private readonly params: Parameter[];
  private readonly lossAt: LossPlacement;
  /** The kept activations and the carried state: TBPTT's window or a mode's (src/train/modes/). */
  private readonly window: ModeWindow;
  private readonly loss: ChunkLoss;
  private updates = 0;
  private lastBatchMasked = false;
  /** Per batch row its real length, per layout row its update time in the chunk (B each, kept across batches). */
  private lengths = new Int32Array(0);
  private rowEnds = new Int32Array(0);
  /** dL/d(the state a chunk leaves) from a loss at each row's last step (chunk-loss.ts). */
  private dFinal: RecurrentState | null = null;
  /** The batch's layout, and for TBPTT(∞, k2) the heads and tails of its rows (see the header). */
  private readonly layout = new BatchLayout();
  private readonly heads = new BatchLayout();
  private readonly tails = new BatchLayout();
  private readonly headRunner: ForwardOnly;
  /**
   * Whether the schedule is TBPTT's, whose updates reach back k2 steps and no further: only then may
   * TBPTT(∞, k2) skip the heads. Not ARTBP with k1 = ∞ (k2 is its truncations' mean: they reach past
   * it); the other modes never have k1 = ∞ with a finite k2.
   */
  private readonly fixedTruncation: boolean;

  constructor(model: SequenceModel, optimizer: Optimizer, options: TrainerOptions) {
    this.model = model;
    this.optimizer = optimizer;
    this.schedule = resolveSchedule(options);
    this.options = Object.freeze({ ...options });
    const modeOptions = { seed: options.seed ?? model.config.seed ?? 0, diagnostics: options.diagnostics ?? false };
    // The modes beyond TBPTT refuse first: their messages give the cost (bidirectional models included).
    const window = createWindow(model, this.schedule, modeOptions);
    const lossAt = options.lossAt ?? "every-step";
    if (lossAt !== "every-step" && lossAt !== "last-step") {
      throw new RangeError(`lossAt must be "every-step" or "last-step", got ${JSON.stringify(lossAt)}`);
    }
    if (options.lossEveryChunk && lossAt !== "last-step") {
      throw new RangeError('lossEveryChunk adds a loss at the end of every chunk to a many-to-one task: set lossAt to "last-step"');
    }
    if (options.lossEveryChunk && this.schedule.k1 === Infinity) {
      throw new RangeError("lossEveryChunk needs chunks: give a finite k1 (the number of steps between the classifier's answers)");
    }
    if (options.lossScale !== undefined && options.lossScale !== "mean" && options.lossScale !== "sum") {
      throw new RangeError(`lossScale must be "mean" or "sum", got ${JSON.stringify(options.lossScale)}`);
    }
    for (const [name, v] of [["clipNorm", options.clipNorm], ["clipValue", options.clipValue]] as const) {
      if (v !== undefined && !(v > 0 && v < Infinity)) throw new RangeError(`${name} must be a positive finite number, got ${v}`);
    }
    if (model.rnn.bidirectional && (this.schedule.k1 !== Infinity || this.schedule.k2 !== Infinity)) {
      throw new RangeError(
        "a bidirectional model reads each sequence backwards from its end, so it cannot carry state across chunks: " +
          'use mode "full" (k1 = k2 = the sequence length) or a unidirectional model',
      );
    }
    this.lossAt = lossAt;
    this.params = model.parameters();
    this.window = window;
    this.loss = new ChunkLoss(model);
    this.headRunner = new ForwardOnly(model);
    this.fixedTruncation = this.schedule.method === undefined && this.schedule.biasTolerance === undefined;
    this.gradientFlow = options.diagnostics ? new GradientFlow(model.rnn.numLayers) : null;
  }

  /** Number of updates made so far. */
  get updateCount(): number {
    return this.updates;
  }

  /** The truncation the next update uses: k2, or for k2 "adaptive" the last one chosen. */
  get currentK2(): number {
    return "k2" in this.window && typeof this.window.k2 === "number" ? this.window.k2 : this.schedule.k2;
  }

  /** Steps of activations held now, the kept window with the chunk in progress: what memory grows with. */
  get keptSteps(): number {
    return this.window.segments.reduce((steps, segment) => steps + segment.T, 0);
  }

  /** Forgets the carried state and the kept activations: the next batch starts from zero. */
  resetState(): void {
    this.window.reset();
  }

  /** A copy of what the trainer carries between batches (see TrainerState). */
  exportState(): TrainerState {
    const state = exportTrainerState(this.window, { updates: this.updates, lastBatchMasked: this.lastBatchMasked });
    const mode = this.window.exportMode?.();
    return mode ? { ...state, mode } : state;
  }

  /**
   * Restores a state from `exportState` of a trainer over the same model configuration. The kept
   * activations are recomputed from the saved inputs with the weights their forward used, so training
   * continues exactly as if it had not stopped. Checked against the model; a mismatch is a RangeError.
   */
  importState(state: TrainerState): void {
    if (state.mode && !this.window.importMode) {
      throw new RangeError(`trainer state: a checkpoint of mode "${state.mode.kind}" does not match this trainer (TBPTT)`);
    }
    const counters = importTrainerState(this.window, state);
    this.window.importMode?.(state.mode);
    this.updates = counters.updates;
    this.lastBatchMasked = counters.lastBatchMasked;
  }

  /** Trains on one batch: forward k1 steps at a time, one update per chunk. */
  trainBatch(batch: Batch): BatchResult {
    const { k1, k2 } = this.schedule;
    const lossAt = this.lossAt;
    const everyChunk = this.options.lossEveryChunk ?? false;
    const window = this.window;
    const carried = { batchSize: window.batchSize, lastBatchMasked: this.lastBatchMasked };
    // The online modes keep nothing that grows with the stream: it may continue across batches.
    const online = this.schedule.method === "rtrl" || this.schedule.method === "uoro";
    validateTrainingBatch(this.model, batch, lossAt, everyChunk, online ? 1 : k2, carried);
    const { T, B } = batch;
    if (!batch.continues) {
      window.allocate(B);
      window.reset();
    }
    this.lastBatchMasked = batch.mask !== undefined;
    if (this.rowEnds.length !== B) {
      this.rowEnds = new Int32Array(B);
      this.lengths = new Int32Array(B);
      this.dFinal = this.model.createState(B);
    }
    let layout = this.layout.arrange(batch, rowLengths(batch.mask, T, B, this.lengths));
    if (this.fixedTruncation && k1 === Infinity && k2 < layout.T && lossAt === "last-step" && !batch.continues) {
      // TBPTT(∞, k2), a loss at each row's last step only: the steps before each row's last k2 reach
      // no update; they run forward keeping nothing, and the tails are the chunk (see the header).
      const heads = this.heads.window(layout, k2, "head");
      this.headRunner.run(batch, heads, window.state!, { training: true, finiteChecked: true });
      layout = this.tails.window(layout, k2, "tail");
      window.skip(layout.timeBase);
    }
    const stepsPerChunk = lossAt === "every-step" ? Math.min(k1, T) : 1;
    const scale = (this.options.lossScale ?? "mean") === "sum" ? 1 : 1 / (B * stepsPerChunk);
    const lossOptions = { lossAt, everyChunk, scale };
    const result: BatchResult = { lossSum: 0, lossTerms: 0, correct: 0, updates: 0, tokens: this.layout.rows };
    // Stream times of the layout's steps: batchStart + u (a direct layout's tails start at its time base).
    const batchStart = window.streamTime;
    const rowEnds = this.rowEnds;
    const lengths = layout.lengths;

    // Chunks in batch steps, each ending where the mode puts its update (TBPTT: every k1 steps); the
    // layout's steps in them ([start, end), up to its longest row).
    for (let chunkStart = 0, chunkEnd = 0; chunkStart < T; chunkStart = chunkEnd) {
      if (chunkStart >= layout.T) break; // only padding left: no loss, no update
      chunkEnd = window.chunkEnd?.(chunkStart, T) ?? Math.min(chunkStart + k1, T);
      const start = chunkStart;
      const end = Math.min(chunkEnd, layout.T);
      // This chunk's update comes at its end, or earlier for a row whose sequence ends in it: no update
      // reaches a segment that ends at or before its cut. Pruned here, not after the previous chunk:
      // at a batch's end the next chunk's length (the next batch's T) is not known yet.
      let nextUpdate = batchStart + end;
      for (let j = 0; j < B; j++) if (lengths[j]! > start) nextUpdate = Math.min(nextUpdate, batchStart + lengths[j]!);
      window.prune(nextUpdate - k2);
      const firstNew = window.segments.length;
      window.forwardChunk(batch, layout, start, end, this.updates);
      const chunk = window.newest(firstNew);
      const loss = this.loss.forward(batch, layout, chunk, start, end, lossOptions);
      if (loss.terms > 0) {
        const dFinal = this.loss.backward(chunk, this.dFinal) ? this.dFinal : null;
        for (let j = 0; j < B; j++) rowEnds[j] = batchStart + Math.min(end, lengths[j]!);
        window.backward(rowEnds, k2, this.updates, this.gradientFlow, dFinal);
        const info = this.update(chunkEnd, loss.sum, loss.terms, loss.correct);
        result.updates++;
        this.options.onUpdate?.(info);
      }
      result.lossSum += loss.sum;
      result.lossTerms += loss.terms;
      result.correct += loss.correct;
    }
    // A padded batch is never continued (validate-batch.ts): nothing it kept is needed again.
    if (!this.layout.direct) window.reset();
    return result;
  }

  /** Trains on every batch of an epoch; returns the totals. */
  trainEpoch(batches: Iterable<Batch>): BatchResult {
    const total: BatchResult = { lossSum: 0, lossTerms: 0, correct: 0, updates: 0, tokens: 0 };
    for (const batch of batches) {
      const r = this.trainBatch(batch);
      total.lossSum += r.lossSum;
      total.lossTerms += r.lossTerms;
      total.correct += r.correct;
      total.updates += r.updates;
      total.tokens += r.tokens;
    }
    return total;
  }

  private update(step: number, lossSum: number, lossTerms: number, correct: number): UpdateInfo {
    const outer = enterPhase("clipping");
    const { norm: gradNorm, clipped } = clipGradients(this.params, this.options);
    enterPhase(outer);
    this.window.keepWeights(this.updates, this.schedule.k2);
    this.updates++;
    const info: UpdateInfo = { update: this.updates, step, lossSum, lossTerms, correct, gradNorm, clipped };
    this.gradientFlow?.recordGradNorm(gradNorm);
    this.options.beforeStep?.(info);
    enterPhase("optimizer");
    this.optimizer.step();
    this.optimizer.zeroGrad();
    enterPhase(outer);
    return info;
  }
}
