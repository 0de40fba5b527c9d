/**
 * TBPTT's kept window: the activations of the last k2 steps, as segments, and the state carried
 * from one chunk to the next.
 *
 * A segment is a run of steps forwarded in one call to the model (a chunk is split into segments
 * where a row starts a new sequence: its state is zeroed there). The chunk's losses are injected into
 * its own segments (chunk-loss.ts); `backward` then flows the gradient from the newest segment into
 * older ones, with no new errors, until each row's cut:
 *
 *   cut_b = t_b − k2,  t_b = the update time, or row b's sequence end if it comes first
 *
 * (padding is not time), so the states before a row's cut are constants. Older segments were
 * computed with the weights of their time and are back-propagated with those weights: before an
 * update, `keepWeights` copies W into each segment a later update can still reach. Memory: O(k2) steps.
 *
 * Times are stream times: steps since the state was last reset from zero.
 */
import type { CellWeights } from "../cells/cell.js";
import type { RecurrentState } from "../layers/recurrent-state.js";
import { ReusableBuffer } from "../tensor/buffers.js";
import type { Batch } from "./batch.js";
import type { LossPiece } from "./chunk-loss.js";
import type { GradientFlow } from "./diagnostics.js";
import type { BatchLayout } from "./layout.js";
import type { ModelInput, SequenceCache, SequenceModel } from "./model.js";

/** A run of steps forwarded in one call, kept while a later update may back-propagate through it. */
export interface Segment extends LossPiece {
  /** Stream time of its first step. */
  start: number;
  T: number;
  /** Its rows: T·B, or the packed rows of its steps (layout.ts). */
  rows: number;
  /** The model's activations, and copies of the segment's ids, mask and the stack's input. */
  readonly cache: SequenceCache;
  /** (rows, D·H) the recurrent stack's outputs (a view of the cache). */
  output: Float32Array;
  /** (rows, D·H) dL/d(outputs) of the current chunk's losses, or null. */
  dOutput: Float32Array | null;
  readonly dOutputStorage: ReusableBuffer;
  /** Number of updates made before its forward. */
  version: number;
  /** Rows (of the layout) whose state was reset to zero at this segment's start. */
  resetRows: number[];
  /** Copies of every cell's weights as this segment's forward used them, taken before the first update after it. */
  weights: CellWeights[] | null;
  /** Whether `weights` holds this segment's copy (the buffers are reused across recycled segments). */
  hasWeights: boolean;
  /** (L·D, B, H) the states entering the segment, and the dropout generator before its forward (for checkpoints). */
  h0: Float32Array;
  c0: Float32Array | null;
  dropoutRng: number[];
  readonly h0Storage: ReusableBuffer;
  readonly c0Storage: ReusableBuffer;
}

export class TruncationWindow {
  readonly model: SequenceModel;
  /** The kept segments, oldest first, contiguous in stream time and ending at `streamTime`. */
  readonly segments: Segment[] = [];
  /** Stream time of the next step. */
  streamTime = 0;
  /** B, or 0 before the first batch. */
  batchSize = 0;
  /** (L·D, B, ·) the carried state, or null before the first batch. */
  state: RecurrentState | null = null;
  /** Recycled segments, whose buffers the next forwards reuse. */
  private spare: Segment[] = [];
  private cut = new Int32Array(0);
  private firstStep = new Int32Array(0);
  private readonly stopped: number[] = [];

  constructor(model: SequenceModel) {
    this.model = model;
  }

  /** A zero state for B rows (kept when B has not changed) and an empty window. */
  allocate(B: number): void {
    if (this.batchSize === B && this.state) return;
    this.state = this.model.createState(B);
    this.batchSize = B;
    this.recycle(this.segments.length);
    this.spare = [];
  }

  /** No batch seen: no state, no segments. */
  release(): void {
    this.batchSize = 0;
    this.state = null;
    this.recycle(this.segments.length);
  }

  /** Forgets the carried state and the kept activations: the next step starts from zero. */
  reset(): void {
    this.recycle(this.segments.length);
    this.streamTime = 0;
    this.state?.reset();
  }

  /**
   * Forwards layout steps [start, end) of the batch (layout.ts) as one or more segments (split where a
   * row starts a new sequence, whose state is zeroed first). `version`: the updates made so far.
   */
  forwardChunk(batch: Batch, layout: BatchLayout, start: number, end: number, version: number): void {
    const I = this.model.inputSize;
    let s0 = start;
    while (s0 < end) {
      const s1 = layout.nextStart(batch, s0, end);
      const resetRows = layout.resetRows(batch, s0, []);
      this.state!.zeroRows(resetRows);
      // The model copies the input's contents: with continuing batches a later update back-propagates
      // through this segment after the caller may have refilled its arrays for the next batch.
      this.forwardSegment(layout.input(batch, s0, s1, I), resetRows, version, null);
      s0 = s1;
    }
  }

  /** Steps forwarded elsewhere, keeping nothing (the heads of TBPTT(∞, k2), trainer.ts): the stream time moves on. */
  skip(steps: number): void {
    this.streamTime += steps;
  }

  /**
   * Forwards one segment from the carried state and appends it to the window. `embedded`, when given,
   * is the stack's input to use as it is (a segment restored from a checkpoint).
   */
  forwardSegment(input: ModelInput, resetRows: number[], version: number, embedded: Float32Array | null): Segment {
    const model = this.model;
    const state = this.state!;
    const seg = this.spare.pop() ?? newSegment(model);
    seg.start = this.streamTime;
    seg.T = input.T;
    seg.version = version;
    seg.resetRows = resetRows;
    seg.dOutput = null;
    seg.hasWeights = false;
    seg.h0 = copyInto(seg.h0Storage.reserve(state.h.size), state.h.data);
    seg.c0 = state.c ? copyInto(seg.c0Storage.reserve(state.c.size), state.c.data) : null;
    seg.dropoutRng = model.rnn.rng.getState(seg.dropoutRng);
    seg.output = model.forward(input, state, seg.cache, {
      training: true, embedded,
      finiteChecked: true, // features validated per batch; embeddings and carried states are computed here
    });
    seg.rows = seg.cache.rows;
    this.segments.push(seg);
    this.streamTime += input.T;
    return seg;
  }

  /** The segments from index `first` on (those of the chunk just forwarded). */
  newest(first: number): Segment[] {
    return this.segments.slice(first);
  }

  /**
   * Drops the segments that end at or before `horizon` (no later update reaches them), and clears
   * every segment's dOutput for the next chunk.
   */
  prune(horizon: number): void {
    let drop = 0;
    while (drop < this.segments.length) {
      const seg = this.segments[drop]!;
      if (seg.start + seg.T > horizon) break;
      drop++;
    }
    for (const seg of this.segments) seg.dOutput = null;
    this.recycle(drop);
  }

  /**
   * Back-propagates the chunk's dOutputs, and dFinal (dL/d(the state the newest segment left), when
   * the loss gave it: chunk-loss.ts), from the newest segment through the window. Row b's gradient
   * reaches back k2 steps from rowEnds[b] (its update time t_b). `updates`: the updates made so far
   * (older segments are back-propagated with their copy of the weights).
   */
  backward(
    rowEnds: Int32Array, k2: number, updates: number, flow: GradientFlow | null, dFinal: RecurrentState | null,
  ): void {
    const rnn = this.model.rnn;
    const B = this.batchSize;
    // cut[b]: stream time of row b's first back-propagated step.
    if (this.cut.length !== B) {
      this.cut = new Int32Array(B);
      this.firstStep = new Int32Array(B);
    }
    const { cut, firstStep, stopped } = this;
    for (let b = 0; b < B; b++) cut[b] = k2 === Infinity ? -1 : Math.max(-1, rowEnds[b]! - k2);
    let oldestCut = Infinity;
    for (let b = 0; b < B; b++) oldestCut = Math.min(oldestCut, cut[b]!);
    let dState: RecurrentState | null = dFinal;
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const seg = this.segments[i]!;
      if (seg.start + seg.T <= oldestCut) break;
      for (let b = 0; b < B; b++) firstStep[b] = Math.min(seg.T, Math.max(0, cut[b]! - seg.start));
      const norms = flow ? flow.buffers(rnn.numLayers, rnn.directions, seg.T) : null;
      dState = this.model.backward(seg.cache, {
        dOutput: seg.dOutput, dState, firstStep, finiteChecked: true,
        weights: seg.version < updates ? weightsOf(seg) : null,
        stateGradNormSq: norms,
      });
      if (flow && norms) {
        flow.record(norms, rnn.directions, seg.start, Math.min(...firstStep), seg.T, Math.max(...rowEnds));
      }
      // No gradient flows past a row's cut, nor past a state reset to zero at the segment's start.
      stopped.length = 0;
      for (const b of seg.resetRows) stopped.push(b);
      for (let b = 0; b < B; b++) if (firstStep[b]! > 0) stopped.push(b);
      dState.zeroRows(stopped);
    }
  }

  /**
   * Before update number `updates` + 1 changes the weights: segments forwarded with the current ones,
   * which a later update may still reach (its cut is at least streamTime + 1 − k2), keep a copy of
   * them, so that backward uses the Jacobians of the forward actually run whatever the chunk lengths
   * and row ends (not only when k2 > k1).
   */
  keepWeights(updates: number, k2: number): void {
    const reach = this.streamTime + 1 - k2;
    for (const seg of this.segments) {
      if (seg.version === updates && seg.start + seg.T > reach) {
        seg.weights = this.model.rnn.snapshotWeights(seg.weights ?? undefined);
        seg.hasWeights = true;
      }
    }
  }

  private recycle(count: number): void {
    for (const seg of this.segments.splice(0, count)) this.spare.push(seg);
  }
}

function newSegment(model: SequenceModel): Segment {
  const cache = model.createCache();
  return {
    start: 0, T: 0, rows: 0, cache, output: new Float32Array(0), dOutput: null, dOutputStorage: new ReusableBuffer(),
    version: 0, resetRows: [], weights: null, hasWeights: false,
    h0: new Float32Array(0), c0: null, dropoutRng: [], h0Storage: new ReusableBuffer(), c0Storage: new ReusableBuffer(),
  };
}

/** The weights a segment's forward used; an update reached it without a copy would be a bug. */
function weightsOf(seg: Segment): CellWeights[] {
  if (!seg.hasWeights || !seg.weights) {
    throw new Error("trainer: a segment from before the last update has no copy of its weights");
  }
  return seg.weights;
}

function copyInto(target: Float32Array, source: ArrayLike<number>): Float32Array {
  target.set(source);
  return target;
}
