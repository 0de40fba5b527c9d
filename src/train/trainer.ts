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
 * How: the activations of the last k2 steps are kept as a window of segments (a segment is a run of
 * steps forwarded in one call; a chunk is split into segments where a row starts a new sequence). The
 * chunk's losses are injected into its own segments; the gradient then flows back from the newest
 * segment into older ones, with no new errors, until each row's cut. Older segments were computed with
 * the weights of their time and are back-propagated with those weights (each segment a later update
 * can still reach keeps a copy of W_ih and W_hh from before the update), so g_t is exactly the gradient
 * of the computation that actually ran. Inputs are copied into the segment, so callers may reuse their
 * arrays between batches. Memory: O(k2) steps.
 *
 * Scaling (the same rule for every schedule): lossScale "mean" (default) divides Σ ℓ by
 * B × (loss steps per full chunk: min(k1, T) for every-step losses, 1 for last-step losses), which for a
 * language model is PyTorch's mean over the T·B terms of a chunk; "sum" applies Σ ℓ as it is. Either
 * way every loss term is used once, with the same weight.
 */
import type { CellWeights } from "../cells/cell.js";
import type { DenseCache } from "../layers/dense.js";
import type { EmbeddingCache } from "../layers/embedding.js";
import { RecurrentCache } from "../layers/recurrent.js";
import { clipGradNorm, clipGradValue, gradNorm as globalGradNorm } from "../optim/clip.js";
import type { Optimizer } from "../optim/optimizer.js";
import type { Parameter } from "../tensor/parameter.js";
import { kernels } from "../kernels/index.js";
import { ReusableBuffer, ReusableIndices } from "../tensor/buffers.js";
import { Tensor } from "../tensor/tensor.js";
import { type Batch, rowLengths } from "./batch.js";
import { GradientFlow } from "./diagnostics.js";
import { type LossPlacement, LossPositions } from "./loss-positions.js";
import type { SequenceModel } from "./model.js";
import { lossAndGradient } from "./objective.js";
import { type Schedule, type ScheduleOptions, resolveSchedule } from "./schedule.js";
import { validateBatch } from "./validate-batch.js";

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

/**
 * Everything a trainer carries between batches, for checkpoints: the update count, the carried state,
 * the dropout generator and the kept window (inputs, entering states and weight copies, from which
 * `importState` recomputes the activations bit for bit). Take it between batches.
 */
export interface TrainerState {
  updates: number;
  streamTime: number;
  batchSize: number;
  lastBatchMasked: boolean;
  dropoutRng: number[];
  /** (L·D, B, H) carried states, or null before the first batch. */
  h: Float32Array | null;
  c: Float32Array | null;
  segments: SegmentState[];
}

export interface SegmentState {
  start: number;
  T: number;
  version: number;
  resetRows: number[];
  h0: Float32Array;
  c0: Float32Array | null;
  dropoutRng: number[];
  /** (T·B) token ids (embedding models), and (T·B·I) the input the recurrent stack read. */
  ids: Int32Array | null;
  input: Float32Array;
  mask: Float32Array | null;
  /** Every cell's parameters as the segment's forward used them, when an update came after it. */
  weights: CellWeights[] | null;
}

export interface BatchResult {
  lossSum: number;
  lossTerms: number;
  correct: number;
  updates: number;
}

/** A run of steps forwarded in one call, kept while a later update may back-propagate through it. */
interface Segment {
  /** Stream time of its first step (steps since the state was last reset from zero). */
  start: number;
  T: number;
  cache: RecurrentCache;
  embedding: EmbeddingCache | null;
  /** (T·B) rows' ids, for the embedding's gradient: a view of idsStorage. */
  ids: Int32Array | null;
  idsStorage: ReusableIndices;
  /** Storage of h0, c0, mask, the features and dOutput, reused when the segment is recycled. */
  storage: { h0: ReusableBuffer; c0: ReusableBuffer; mask: ReusableBuffer; features: ReusableBuffer; dOutput: ReusableBuffer };
  /** Copies of W_ih, W_hh as this segment's forward used them, taken before the first update after it. */
  weights: CellWeights[] | null;
  /** Whether `weights` holds this segment's copy (the buffers are reused across recycled segments). */
  hasWeights: boolean;
  /** (L·D, B, H) the states entering the segment, and the dropout generator before its forward (for checkpoints). */
  h0: Float32Array;
  c0: Float32Array | null;
  dropoutRng: number[];
  /** (T·B) its slice of the batch mask (a copy), or null. */
  mask: Float32Array | null;
  /** Number of updates made before its forward. */
  version: number;
  /** Rows whose state was reset to zero at this segment's start. */
  resetRows: number[];
  /** (T·B·D·H) the recurrent stack's outputs (a view of the cache). */
  output: Float32Array;
  /** (T·B·D·H) dL/d(outputs) of the current chunk's losses, or null. */
  dOutput: Float32Array | null;
}

export class Trainer {
  readonly model: SequenceModel;
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  readonly options: Readonly<TrainerOptions>;
  readonly gradientFlow: GradientFlow | null;
  private readonly params: Parameter[];
  private window: Segment[] = [];
  private spare: Segment[] = [];
  private updates = 0;
  /** Stream time of the next step, since the last reset. */
  private streamTime = 0;
  private batchSize = 0;
  /** (L·D, B, H) carried hidden and cell states. */
  private h: Tensor | null = null;
  private lastBatchMasked = false;
  /** Buffers of the loss computation, grown once and reused chunk after chunk. */
  private readonly losses = new LossPositions();
  private readonly headCache: DenseCache;
  private readonly dLogits = new ReusableBuffer();
  private readonly gathered = new ReusableBuffer();
  private owner = new Int32Array(0);
  private cut = new Int32Array(0);
  private firstStep = new Int32Array(0);
  private readonly stopped: number[] = [];
  private local = new Int32Array(0);
  private rowEnds = new Int32Array(0);
  private lengths = new Int32Array(0);
  private c: Tensor | null = null;

  constructor(model: SequenceModel, optimizer: Optimizer, options: TrainerOptions) {
    this.model = model;
    this.optimizer = optimizer;
    this.schedule = resolveSchedule(options);
    this.options = Object.freeze({ ...options });
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
    this.params = model.parameters();
    this.headCache = model.head.createCache();
    this.gradientFlow = options.diagnostics ? new GradientFlow(model.rnn.numLayers) : null;
  }

  /** Number of updates made so far. */
  get updateCount(): number {
    return this.updates;
  }

  /** Forgets the carried state and the kept activations: the next batch starts from zero. */
  resetState(): void {
    this.recycle(this.window.length);
    this.streamTime = 0;
    this.h?.data.fill(0);
    this.c?.data.fill(0);
  }

  /** A copy of what the trainer carries between batches (see TrainerState). */
  exportState(): TrainerState {
    const copy = <A extends Float32Array | Int32Array>(a: A): A => a.slice() as A;
    return {
      updates: this.updates,
      streamTime: this.streamTime,
      batchSize: this.batchSize,
      lastBatchMasked: this.lastBatchMasked,
      dropoutRng: this.model.rnn.rng.getState(),
      h: this.h ? copy(this.h.data) : null,
      c: this.c ? copy(this.c.data) : null,
      segments: this.window.map((seg) => ({
        start: seg.start,
        T: seg.T,
        version: seg.version,
        resetRows: [...seg.resetRows],
        h0: copy(seg.h0),
        c0: seg.c0 ? copy(seg.c0) : null,
        dropoutRng: [...seg.dropoutRng],
        ids: seg.ids ? copy(seg.ids) : null,
        input: copy(seg.embedding && this.model.embedding ? seg.embedding.out : seg.storage.features.reserve(seg.T * this.batchSize * this.model.inputSize)),
        mask: seg.mask ? copy(seg.mask) : null,
        weights: seg.hasWeights && seg.weights ? seg.weights.map(copyWeights) : null,
      })),
    };
  }

  /**
   * Restores a state from `exportState` of a trainer over the same model configuration. The kept
   * activations are recomputed from the saved inputs with the weights their forward used, so training
   * continues exactly as if it had not stopped. Checked against the model; a mismatch is a RangeError.
   */
  importState(state: TrainerState): void {
    const rnn = this.model.rnn;
    const B = state.batchSize;
    const stateSize = rnn.numLayers * rnn.directions * B * rnn.hiddenSize;
    const need = (ok: boolean, what: string): void => {
      if (!ok) throw new RangeError(`trainer state: ${what} does not match this model`);
    };
    need(Number.isSafeInteger(state.updates) && state.updates >= 0 && Number.isSafeInteger(state.streamTime), "the counters");
    this.updates = state.updates;
    this.lastBatchMasked = state.lastBatchMasked;
    if (B === 0 || state.h === null) {
      this.batchSize = 0;
      this.h = this.c = null;
      this.recycle(this.window.length);
      rnn.rng.setState(state.dropoutRng);
      return;
    }
    need(Number.isSafeInteger(B) && B > 0 && state.h.length === stateSize, "the carried state h");
    need((rnn.mode === "lstm") === (state.c !== null) && (state.c === null || state.c.length === stateSize), "the carried state c");
    this.batchSize = 0;
    this.allocateState(B);
    this.recycle(this.window.length);
    const I = this.model.inputSize;
    for (const saved of state.segments) {
      const { T } = saved;
      need(Number.isSafeInteger(T) && T > 0 && saved.input.length === T * B * I, "a kept segment's input");
      need(saved.h0.length === stateSize && (saved.c0 === null) === (this.c === null), "a kept segment's entering state");
      need((saved.ids === null) === (this.model.embedding === null) && (saved.ids === null || saved.ids.length === T * B), "a kept segment's ids");
      need(saved.mask === null || saved.mask.length === T * B, "a kept segment's mask");
      need(Array.isArray(saved.resetRows) && saved.resetRows.every((b) => Number.isInteger(b) && b >= 0 && b < B), "a kept segment's reset rows");
      need(Number.isSafeInteger(saved.start) && Number.isSafeInteger(saved.version) && saved.version <= state.updates, "a kept segment's position");
      need(saved.weights === null || saved.weights.length === rnn.cells.length, "a kept segment's weights");
      this.streamTime = saved.start;
      this.h!.data.set(saved.h0);
      if (this.c && saved.c0) this.c.data.set(saved.c0);
      rnn.rng.setState(saved.dropoutRng);
      const seg = this.spare.pop() ?? newSegment();
      // Forward with the weights of the segment's time, then put the current ones back.
      const current = saved.weights ? rnn.snapshotWeights() : null;
      if (saved.weights) rnn.loadWeights(saved.weights);
      this.forwardSegment(seg, T, [...saved.resetRows], saved.ids, null, saved.mask, saved.input);
      if (current) {
        seg.weights = rnn.snapshotWeights(seg.weights ?? undefined);
        seg.hasWeights = true;
        rnn.loadWeights(current);
      }
      seg.version = saved.version;
    }
    this.streamTime = state.streamTime;
    this.h!.data.set(state.h);
    if (this.c && state.c) this.c.data.set(state.c);
    rnn.rng.setState(state.dropoutRng);
  }

  /** Trains on one batch: forward k1 steps at a time, one update per chunk. */
  trainBatch(batch: Batch): BatchResult {
    const model = this.model;
    const { k1, k2 } = this.schedule;
    const lossAt = this.options.lossAt ?? "every-step";
    validateBatch(model, batch, lossAt, this.options.lossEveryChunk ?? false);
    const { T, B } = batch;
    if (batch.continues) {
      if (k2 === Infinity) {
        throw new RangeError("k2 = Infinity back-propagates to the start of the stream, but this stream continues across batches: choose a finite k2");
      }
      if (this.batchSize !== B) throw new RangeError(`batch.continues: the previous batch had ${this.batchSize} rows, this one ${B}`);
      if (batch.mask || this.lastBatchMasked) {
        throw new RangeError("batch.continues: a stream carried across batches has no padding (all rows advance together): drop batch.mask");
      }
    } else {
      this.allocateState(B);
      this.resetState();
    }
    if (model.rnn.bidirectional && batch.starts) {
      for (let i = B; i < T * B; i++) {
        if (batch.starts[i]) {
          throw new RangeError(
            `batch.starts: row ${i % B} starts a new sequence at step ${Math.floor(i / B)}, but a bidirectional model reads each row ` +
              "backwards from its end as one sequence: put one sequence per row (right-padded, with a mask)",
          );
        }
      }
    }
    this.lastBatchMasked = batch.mask !== undefined;
    // Per-row lengths and update times, in arrays kept across batches (B Int32s each).
    if (this.rowEnds.length !== B) {
      this.rowEnds = new Int32Array(B);
      this.lengths = new Int32Array(B);
    }
    const lengths = rowLengths(batch.mask, T, B, this.lengths);
    const stepsPerChunk = lossAt === "every-step" ? Math.min(k1, T) : 1;
    const scale = (this.options.lossScale ?? "mean") === "sum" ? 1 : 1 / (B * stepsPerChunk);
    const result: BatchResult = { lossSum: 0, lossTerms: 0, correct: 0, updates: 0 };
    const batchStart = this.streamTime;
    const rowEnds = this.rowEnds;

    for (let start = 0; start < T; start += Math.min(k1, T)) {
      const end = Math.min(start + k1, T);
      // This chunk's update comes at its end, or earlier for a row whose sequence ends in it: no update
      // reaches a segment that ends at or before its cut. Pruned here, not after the previous chunk:
      // at a batch's end the next chunk's length (the next batch's T) is not known yet.
      let nextUpdate = batchStart + end;
      for (let b = 0; b < B; b++) if (lengths[b]! > start) nextUpdate = Math.min(nextUpdate, batchStart + lengths[b]!);
      this.prune(nextUpdate - k2);
      const firstNew = this.window.length;
      this.forwardChunk(batch, start, end);
      const chunk = this.window.slice(firstNew);
      const loss = this.chunkLoss(batch, lengths, chunk, start, end, lossAt, scale);
      if (loss.terms > 0) {
        for (let b = 0; b < B; b++) rowEnds[b] = batchStart + Math.min(end, lengths[b]!);
        this.backwardWindow(rowEnds, k2);
        const info = this.update(end, loss.sum, loss.terms, loss.correct);
        result.updates++;
        this.options.onUpdate?.(info);
      }
      result.lossSum += loss.sum;
      result.lossTerms += loss.terms;
      result.correct += loss.correct;
    }
    return result;
  }

  /** Trains on every batch of an epoch; returns the totals. */
  trainEpoch(batches: Iterable<Batch>): BatchResult {
    const total: BatchResult = { lossSum: 0, lossTerms: 0, correct: 0, updates: 0 };
    for (const batch of batches) {
      const r = this.trainBatch(batch);
      total.lossSum += r.lossSum;
      total.lossTerms += r.lossTerms;
      total.correct += r.correct;
      total.updates += r.updates;
    }
    return total;
  }

  private allocateState(B: number): void {
    if (this.batchSize === B && this.h) return;
    const rnn = this.model.rnn;
    const shape = [rnn.numLayers * rnn.directions, B, rnn.hiddenSize];
    // kernels().allocate, not Tensor.zeros: the carried state has the backend's precision (float64 in checks).
    const size = shape.reduce((n, d) => n * d, 1);
    this.h = new Tensor(kernels().allocate(size), shape);
    this.c = rnn.mode === "lstm" ? new Tensor(kernels().allocate(size), shape) : null;
    this.batchSize = B;
    this.recycle(this.window.length);
    this.spare = [];
  }

  /** Forwards steps [start, end) as one or more segments (split where a row starts a new sequence). */
  private forwardChunk(batch: Batch, start: number, end: number): void {
    const { B } = batch;
    const model = this.model;
    let s0 = start;
    while (s0 < end) {
      let s1 = s0 + 1;
      while (s1 < end && !rowStarts(batch, s1)) s1++;
      const resetRows: number[] = [];
      if (batch.starts) for (let b = 0; b < B; b++) if (batch.starts[s0 * B + b]) resetRows.push(b);
      this.zeroRows(resetRows);
      const T = s1 - s0;
      const I = model.inputSize;
      // Copies, not views of the caller's arrays: with continuing batches a later update back-propagates
      // through this segment after the caller may have refilled them for the next batch.
      this.forwardSegment(
        this.spare.pop() ?? newSegment(), T, resetRows,
        batch.ids ? batch.ids.subarray(s0 * B, s1 * B) : null,
        batch.features ? batch.features.subarray(s0 * B * I, s1 * B * I) : null,
        batch.mask ? batch.mask.subarray(s0 * B, s1 * B) : null,
      );
      s0 = s1;
    }
  }

  /**
   * Forwards one segment from the carried state, copying its inputs into the segment, and appends it
   * to the window. `x`, when given, is the embedded input to use as it is (a restored checkpoint).
   */
  private forwardSegment(
    seg: Segment, T: number, resetRows: number[], ids: Int32Array | null, features: Float32Array | null,
    mask: Float32Array | null, x: Float32Array | null = null,
  ): void {
    const model = this.model;
    const B = this.batchSize;
    const I = model.inputSize;
    seg.start = this.streamTime;
    seg.T = T;
    seg.version = this.updates;
    seg.resetRows = resetRows;
    seg.dOutput = null;
    seg.hasWeights = false;
    seg.h0 = copyInto(seg.storage.h0.reserve(this.h!.size), this.h!.data);
    seg.c0 = this.c ? copyInto(seg.storage.c0.reserve(this.c.size), this.c.data) : null;
    seg.dropoutRng = model.rnn.rng.getState(seg.dropoutRng);
    seg.mask = mask ? copyInto(seg.storage.mask.reserve(T * B), mask) : null;
    let input: Float32Array;
    if (model.embedding) {
      seg.ids = seg.idsStorage.reserve(T * B);
      seg.ids.set(ids!);
      seg.embedding = model.embedding.forward(seg.ids, T * B, seg.embedding ?? model.embedding.createCache());
      input = seg.embedding.out;
      if (x) input.set(x);
    } else {
      seg.ids = null;
      input = copyInto(seg.storage.features.reserve(T * B * I), x ?? features!);
    }
    const out = model.rnn.forward(new Tensor(input, [T, B, I]), {
      h0: this.h, c0: this.c, mask: seg.mask ? new Tensor(seg.mask, [T, B]) : null, training: true, cache: seg.cache,
      // The input is the embedding's rows of these ids: the first layer may work per vocabulary row.
      inputRows: model.embedding && seg.ids ? { ids: seg.ids, V: model.embedding.numEmbeddings } : null,
      finiteChecked: true, // features validated per batch; embeddings and carried states are computed here
    });
    seg.output = out.output.data;
    this.h!.data.set(out.hN.data);
    if (this.c && out.cN) this.c.data.set(out.cN.data);
    this.window.push(seg);
    this.streamTime += T;
  }

  /** Head and loss at the chunk's loss positions; leaves dL/d(outputs) in each segment's dOutput. */
  private chunkLoss(
    batch: Batch, lengths: Int32Array, chunk: Segment[], start: number, end: number, lossAt: LossPlacement, scale: number,
  ): { sum: number; terms: number; correct: number } {
    const model = this.model;
    const { B } = batch;
    const F = model.head.inFeatures;
    const O = model.outputSize;
    const found = this.losses.find(batch, lengths, start, end, lossAt, this.options.lossEveryChunk ?? false, model.config.objective, O);
    const N = found.count;
    if (N === 0) return { sum: 0, terms: 0, correct: 0 };
    const positions = found.positions;
    const dLogits = this.dLogits.reserve(N * O);
    const targets = found.targets(model.config.objective, O);
    if (chunk.length === 1 && N === chunk[0]!.T * B && isRange(positions, start * B, N)) {
      // A loss at every step of one segment: the head reads its outputs and writes dL/dh in place.
      const seg = chunk[0]!;
      const headCache = model.head.forward(seg.output, N, this.headCache);
      const { sum, correct } = lossAndGradient(model.config.objective, N, O, headCache.out, targets, dLogits, scale);
      seg.dOutput = seg.storage.dOutput.reserve(N * F);
      model.head.backward(headCache, dLogits, seg.dOutput);
      return { sum, terms: N, correct };
    }
    // Gather the rows h[t, b] (N, F) from the segments that hold them.
    const gathered = this.gathered.reserve(N * F);
    if (this.owner.length < N) {
      this.owner = new Int32Array(Math.max(N, 2 * this.owner.length));
      this.local = new Int32Array(this.owner.length);
    }
    const { owner, local } = this;
    let segIndex = 0;
    let segStart = start;
    for (let n = 0; n < N; n++) {
      const t = Math.floor(positions[n]! / B);
      while (t >= segStart + chunk[segIndex]!.T) segStart += chunk[segIndex++]!.T;
      owner[n] = segIndex;
      local[n] = (t - segStart) * B + (positions[n]! % B);
      copyRow(chunk[segIndex]!.output, local[n]! * F, gathered, n * F, F);
    }
    const headCache = model.head.forward(gathered, N, this.headCache);
    const { sum, correct } = lossAndGradient(model.config.objective, N, O, headCache.out, targets, dLogits, scale);
    const dGathered = model.head.backward(headCache, dLogits);
    // Scatter dL/dh back into (T, B, F) blocks, zero where no loss reads the output.
    for (let n = 0; n < N; n++) {
      const seg = chunk[owner[n]!]!;
      if (seg.dOutput === null) {
        seg.dOutput = seg.storage.dOutput.reserve(seg.T * B * F);
        seg.dOutput.fill(0);
      }
      copyRow(dGathered, n * F, seg.dOutput, local[n]! * F, F);
    }
    return { sum, terms: N, correct };
  }

  /**
   * Back-propagates from the newest segment through the window. Row b's gradient reaches back k2
   * steps from its update time t_b: the chunk's end, or the row's sequence end if it came earlier
   * (padding is not time), so the states before t_b − k2 are constants.
   */
  private backwardWindow(rowEnds: Int32Array, k2: number): void {
    const model = this.model;
    const rnn = model.rnn;
    const B = this.batchSize;
    const flow = this.gradientFlow;
    // cut[b]: stream time of row b's first back-propagated step.
    if (this.cut.length !== B) {
      this.cut = new Int32Array(B);
      this.firstStep = new Int32Array(B);
    }
    const { cut, firstStep, stopped } = this;
    for (let b = 0; b < B; b++) cut[b] = k2 === Infinity ? -1 : Math.max(-1, rowEnds[b]! - k2);
    let oldestCut = Infinity;
    for (let b = 0; b < B; b++) oldestCut = Math.min(oldestCut, cut[b]!);
    let dhN: Tensor | null = null;
    let dcN: Tensor | null = null;
    for (let i = this.window.length - 1; i >= 0; i--) {
      const seg = this.window[i]!;
      if (seg.start + seg.T <= oldestCut) break;
      for (let b = 0; b < B; b++) firstStep[b] = Math.min(seg.T, Math.max(0, cut[b]! - seg.start));
      const norms = flow ? flow.buffers(rnn.numLayers, rnn.directions, seg.T) : null;
      const grads = rnn.backward(seg.cache, {
        dOutput: seg.dOutput ? new Tensor(seg.dOutput, [seg.T, B, rnn.directions * rnn.hiddenSize]) : null,
        dhN, dcN, firstStep, finiteChecked: true,
        weights: seg.version < this.updates ? weightsOf(seg) : null,
        stateGradNormSq: norms,
      });
      if (flow && norms) flow.record(norms, rnn.directions, seg.start, Math.min(...firstStep), seg.T, Math.max(...rowEnds));
      if (model.embedding && grads.dInputTable) model.embedding.backwardTable(grads.dInputTable.data);
      else if (model.embedding && seg.embedding) model.embedding.backward(seg.embedding, grads.dx.data);
      // No gradient flows past a row's cut, nor past a state reset to zero at the segment's start.
      dhN = grads.dh0;
      dcN = grads.dc0;
      stopped.length = 0;
      for (const b of seg.resetRows) stopped.push(b);
      for (let b = 0; b < B; b++) if (firstStep[b]! > 0) stopped.push(b);
      zeroStateRows(dhN, stopped);
      if (dcN) zeroStateRows(dcN, stopped);
    }
  }

  private update(step: number, lossSum: number, lossTerms: number, correct: number): UpdateInfo {
    const { clipNorm, clipValue } = this.options;
    const gradNorm = clipNorm !== undefined ? clipGradNorm(this.params, clipNorm) : globalGradNorm(this.params);
    let clipped = clipNorm !== undefined && gradNorm > clipNorm;
    if (clipValue !== undefined) {
      for (const p of this.params) {
        for (let i = 0; i < p.grad.length; i++) {
          if (Math.abs(p.grad[i]!) > clipValue) {
            clipped = true;
            break;
          }
        }
      }
      clipGradValue(this.params, clipValue);
    }
    // Segments forwarded with the weights about to change, which a later update may still reach (its
    // cut is at least streamTime + 1 − k2), keep a copy of them: backward then uses the Jacobians of
    // the forward actually run whatever the chunk lengths and row ends (not only when k2 > k1).
    const reach = this.streamTime + 1 - this.schedule.k2;
    for (const seg of this.window) {
      if (seg.version === this.updates && seg.start + seg.T > reach) {
        seg.weights = this.model.rnn.snapshotWeights(seg.weights ?? undefined);
        seg.hasWeights = true;
      }
    }
    this.updates++;
    const info: UpdateInfo = { update: this.updates, step, lossSum, lossTerms, correct, gradNorm, clipped };
    this.gradientFlow?.recordGradNorm(gradNorm);
    this.options.beforeStep?.(info);
    this.optimizer.step();
    this.optimizer.zeroGrad();
    return info;
  }

  /** Drops the segments that end at or before `horizon` (no later update reaches them). */
  private prune(horizon: number): void {
    let drop = 0;
    while (drop < this.window.length) {
      const seg = this.window[drop]!;
      if (seg.start + seg.T > horizon) break;
      drop++;
    }
    for (const seg of this.window) seg.dOutput = null;
    this.recycle(drop);
  }

  private recycle(count: number): void {
    for (const seg of this.window.splice(0, count)) this.spare.push(seg);
  }

  private zeroRows(rows: number[]): void {
    if (rows.length === 0) return;
    zeroStateRows(this.h!, rows);
    if (this.c) zeroStateRows(this.c, rows);
  }
}

function newSegment(): Segment {
  return {
    start: 0, T: 0, cache: new RecurrentCache(), embedding: null, ids: null, idsStorage: new ReusableIndices(), weights: null, hasWeights: false,
    storage: { h0: new ReusableBuffer(), c0: new ReusableBuffer(), mask: new ReusableBuffer(), features: new ReusableBuffer(), dOutput: new ReusableBuffer() },
    h0: new Float32Array(0), c0: null, dropoutRng: [], mask: null,
    version: 0, resetRows: [], output: new Float32Array(0), dOutput: null,
  };
}

/** The weights a segment's forward used; an update reached it without a copy would be a bug. */
function weightsOf(seg: Segment): CellWeights[] {
  if (!seg.hasWeights || !seg.weights) throw new Error("trainer: a segment from before the last update has no copy of its weights");
  return seg.weights;
}

function copyWeights(w: CellWeights): CellWeights {
  return { weightIh: w.weightIh.slice(), weightHh: w.weightHh.slice(), biasIh: w.biasIh?.slice() ?? null, biasHh: w.biasHh?.slice() ?? null };
}

/** Whether positions[n] = first + n for n < N. */
function isRange(positions: Int32Array, first: number, N: number): boolean {
  for (let n = 0; n < N; n++) if (positions[n] !== first + n) return false;
  return true;
}

/**
 * dst[dstOffset + j] = src[srcOffset + j] for j < n: an element loop rather than set(subarray(…)),
 * which would allocate a view per row in the loss's gather and scatter (N = T·B rows per chunk).
 */
function copyRow(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let j = 0; j < n; j++) dst[dstOffset + j] = src[srcOffset + j]!;
}

function copyInto<A extends Float32Array>(target: A, source: ArrayLike<number>): A {
  target.set(source);
  return target;
}

/** Whether any row starts a new sequence at step t. */
function rowStarts(batch: Batch, t: number): boolean {
  if (!batch.starts) return false;
  for (let b = 0; b < batch.B; b++) if (batch.starts[t * batch.B + b]) return true;
  return false;
}

/** Zeroes row b of every (layer, direction) block of a (L·D, B, H) state. */
function zeroStateRows(state: Tensor, rows: number[]): void {
  const [LD, B, H] = state.shape as [number, number, number];
  for (let i = 0; i < LD; i++) for (const b of rows) state.data.fill(0, (i * B + b) * H, (i * B + b + 1) * H);
}
