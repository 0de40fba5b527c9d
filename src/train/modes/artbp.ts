/**
 * Anticipated Reweighted Truncated Backpropagation (Tallec & Ollivier 2017, arXiv 1705.08209):
 * truncation at random points, with compensation factors that make the gradient unbiased.
 *
 * The truncation points are drawn ahead, as the stream is forwarded (hence "anticipated"): from a cut
 * at stream time c (the state entering step c is a constant) the next one comes L steps later, L
 * drawn from a law with survival S(ℓ) = P(L ≥ ℓ). An update back-propagates its losses to the last
 * cut before them; crossing the state entering step u, a = u − c steps after the cut c before it,
 * where the truncation could have fallen (L = a) and did not, the gradient is multiplied by
 *
 *   w(a) = 1 / P(L > a | L ≥ a) = S(a) / S(a + 1).
 *
 * Unbiased: a path from a loss at τ back to a step s survives iff no cut falls between them, with
 * probability Π (1 − h_a) over the boundaries it crosses (h the hazard), and carries Π w(a), their
 * inverse; so E[g] is the gradient without truncation (TBPTT(k1, ∞), or full BPTT over a sequence
 * when the whole sequence is one update). Removing w biases it toward short dependencies, as
 * truncation does (test/train/unbiased.test.ts).
 *
 * The law (bptt's choice; the paper leaves it open, asking for a tail heavy enough that w does not
 * explode): a discrete Pareto, S(ℓ) = (ℓ0 / (ℓ0 + ℓ − 1))^α with α = 3 and ℓ0 set so that E[L] = k2,
 * the mean truncation. Then w(a) = ((ℓ0 + a)/(ℓ0 + a − 1))^α → 1 deep into a long segment, and a path
 * of d steps from a cut carries (1 + (d − 1)/ℓ0)^α: polynomial in d where a geometric law (the
 * memoryless choice) gives e^{d/k2}. Memory: the steps since the last cut, O(k2) on average; the
 * tail P(L ≥ ℓ) ~ (ℓ0/ℓ)³ occasionally keeps a long segment.
 *
 * Updates come at each cut (the paper's algorithm: one update per truncation segment), or every k1
 * steps when k1 is given; either way the update's losses flow back to the last cut before each of
 * them, across earlier updates with the weights of their time (TBPTT's window). A batch that does
 * not continue the stream starts with a cut at its first step. The window forwards one step per
 * segment, so that the factor can be applied between any two steps.
 *
 * Rows of different lengths (packed, layout.ts): a boundary u is crossed only by the rows running at
 * step u. A row that has ended keeps its state, so neither a cut nor a factor at a later boundary
 * touches its gradient — in particular a loss at its last step, which arrives as dL/d(the state the
 * chunk leaves) (dFinal, chunk-loss.ts) and is carried back unchanged to the row's last step. This
 * is what the masked computation gave, where a row's padded steps carried no error.
 */
import type { CellWeights } from "../../cells/cell.js";
import type { RecurrentState } from "../../layers/recurrent-state.js";
import { Rng } from "../../tensor/rng.js";
import type { Batch } from "../batch.js";
import type { ModeState } from "../checkpoint.js";
import type { GradientFlow } from "../diagnostics.js";
import type { BatchLayout } from "../layout.js";
import type { SequenceModel } from "../model.js";
import { type Segment, TruncationWindow } from "../window.js";
import { savedModeState } from "./saved.js";

/** The tail exponent α of the law of truncation lengths. */
const TAIL = 3;

/** The law of truncation lengths: S(ℓ) = P(L ≥ ℓ) = (ℓ0 / (ℓ0 + ℓ − 1))^α for ℓ ≥ 1, E[L] = mean. */
export class TruncationLaw {
  readonly mean: number;
  /** ℓ0, the scale. */
  readonly scale: number;

  constructor(mean: number) {
    if (!(mean > 1 && Number.isFinite(mean))) {
      throw new RangeError(`the mean truncation length must be > 1, got ${mean}`);
    }
    this.mean = mean;
    this.scale = scaleFor(mean);
  }

  /** S(ℓ) = P(L ≥ ℓ). */
  survival(length: number): number {
    return length <= 1 ? 1 : (this.scale / (this.scale + length - 1)) ** TAIL;
  }

  /** w(a) = S(a) / S(a + 1): the factor on the gradient crossing a boundary a ≥ 1 steps after a cut. */
  compensation(age: number): number {
    return ((this.scale + age) / (this.scale + age - 1)) ** TAIL;
  }

  /** A length L ≥ 1 by inversion: L = ⌊ℓ0·(U^(−1/α) − 1)⌋ + 1 for U uniform in (0, 1]. */
  draw(rng: Rng): number {
    const u = 1 - rng.next();
    return Math.floor(this.scale * (u ** (-1 / TAIL) - 1)) + 1;
  }
}

const scales = new Map<number, number>();

/** ℓ0 with E[L] = mean: E[L] = Σ_{m ≥ 0} (ℓ0/(ℓ0 + m))^α grows with ℓ0 from 1 (ℓ0 → 0), so bisection (memoised). */
function scaleFor(mean: number): number {
  const known = scales.get(mean);
  if (known !== undefined) return known;
  let low = 1e-9;
  let high = 2 * mean;
  while (expectedLength(high) < mean) high *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (expectedLength(mid) < mean) low = mid;
    else high = mid;
  }
  const scale = (low + high) / 2;
  scales.set(mean, scale);
  return scale;
}

/** Σ_{m ≥ 0} (ℓ0/(ℓ0 + m))^α: the sum to M terms and the integral of the rest (midpoint rule). */
function expectedLength(scale: number): number {
  const M = 2000;
  let sum = 0;
  for (let m = 0; m < M; m++) sum += (scale / (scale + m)) ** TAIL;
  return sum + scale ** TAIL * (scale + M - 0.5) ** (1 - TAIL) / (TAIL - 1);
}

export interface ArtbpOptions {
  /** k2: the mean truncation length. */
  meanTruncation: number;
  /** Steps between updates, or null for an update at each truncation point. */
  k1: number | null;
  /** Seeds the truncation lengths. */
  seed: number;
  /** For the tests' negative control only: back-propagate without the compensation factors. */
  ablation?: "compensation" | null;
}

export class ArtbpWindow extends TruncationWindow {
  readonly kind = "artbp" as const;
  readonly law: TruncationLaw;
  readonly rng: Rng;
  private readonly k1: number | null;
  private readonly ablation: "compensation" | null;
  /** The truncation points reached (stream times, ascending): the state entering each is a constant. */
  private cuts: number[] = [0];
  /** Stream time of the next truncation point, drawn ahead. */
  private nextCut: number;
  /** Stream time of the first step of the chunk last forwarded: a dFinal's losses lie in it. */
  private chunkStart = 0;

  constructor(model: SequenceModel, options: ArtbpOptions) {
    super(model);
    this.law = new TruncationLaw(options.meanTruncation);
    this.rng = new Rng(options.seed);
    this.k1 = options.k1;
    this.ablation = options.ablation ?? null;
    this.nextCut = this.law.draw(this.rng);
  }

  /** The next update: at the next truncation point (or every k1 steps), at the latest at the batch's end. */
  chunkEnd(start: number, T: number): number {
    this.reachCuts();
    return Math.min(T, start + (this.k1 ?? this.nextCut - this.streamTime));
  }

  /** A new stream: a cut at its first step, and the next one drawn. */
  override reset(): void {
    super.reset();
    this.cuts = [0];
    this.nextCut = this.law.draw(this.rng);
  }

  /** One segment per step, registering the truncation points as the stream reaches them. */
  override forwardChunk(batch: Batch, layout: BatchLayout, start: number, end: number, version: number): void {
    this.chunkStart = this.streamTime;
    for (let s = start; s < end; s++) {
      this.reachCuts();
      super.forwardChunk(batch, layout, s, s + 1, version);
    }
  }

  /** Keeps the steps from the last cut on: no later loss reaches further back. */
  override prune(): void {
    this.reachCuts();
    const last = this.cuts[this.cuts.length - 1]!;
    super.prune(last);
    this.cuts = [last];
  }

  /** Steps from the last cut on may be reached by a later update: they keep the weights of their time. */
  override keepWeights(updates: number): void {
    this.reachCuts();
    super.keepWeights(updates, this.streamTime + 1 - this.cuts[this.cuts.length - 1]!);
  }

  /**
   * Back-propagates the update's losses (the dOutputs of the current chunk's steps, and dFinal, at
   * each row's last step in it) to the cut before each, with the factor w at every boundary crossed
   * (see the file header).
   */
  override backward(
    rowEnds: Int32Array, _k2: number, updates: number, flow: GradientFlow | null, dFinal: RecurrentState | null,
  ): void {
    const rnn = this.model.rnn;
    const cuts = this.cuts;
    let c = cuts.length - 1;
    // The earliest step with a loss: nothing flows back past the cut before it.
    let oldestLoss = this.segments.find((seg) => seg.dOutput !== null)?.start ?? Infinity;
    if (dFinal) oldestLoss = Math.min(oldestLoss, this.chunkStart);
    let dState = dFinal;
    const updateTime = Math.max(...rowEnds);
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const seg = this.segments[i]!;
      const u = seg.start;
      if (dState === null && seg.dOutput === null) continue;
      while (cuts[c]! > u) c--;
      const norms = flow ? flow.buffers(rnn.numLayers, rnn.directions, seg.T) : null;
      dState = this.model.backward(seg.cache, {
        dOutput: seg.dOutput, dState, finiteChecked: true,
        weights: seg.version < updates ? weightsOf(seg) : null,
        stateGradNormSq: norms,
      });
      if (flow && norms) flow.record(norms, rnn.directions, u, 0, seg.T, updateTime);
      dState.zeroRows(seg.resetRows);
      // The boundary is crossed by the rows running at step u, the first seg.rows (one step).
      if (cuts[c] === u) {
        // A truncation point: the state entering u is a constant. Losses before it still flow.
        if (u <= oldestLoss) break;
        scaleRows(dState, seg.rows, 0);
      } else if (this.ablation !== "compensation") {
        scaleRows(dState, seg.rows, this.law.compensation(u - cuts[c]!));
      }
    }
  }

  /** Registers every truncation point the stream has reached, drawing the next lengths. */
  private reachCuts(): void {
    while (this.nextCut <= this.streamTime) {
      this.cuts.push(this.nextCut);
      this.nextCut += this.law.draw(this.rng);
    }
  }

  exportMode(): ModeState {
    const values = { cuts: [...this.cuts], nextCut: this.nextCut, rng: this.rng.getState() };
    return { kind: this.kind, arrays: {}, values };
  }

  importMode(state: ModeState | undefined): void {
    const { cuts, nextCut, rng } = savedModeState(state, this.kind, 'mode "artbp"').values;
    const ascending = Array.isArray(cuts) && cuts.length > 0
      && cuts.every((v, i) => Number.isSafeInteger(v) && (i === 0 || v > cuts[i - 1]!));
    if (!ascending || typeof nextCut !== "number" || !(nextCut > cuts.at(-1)!) || !Array.isArray(rng)) {
      throw new RangeError("trainer state: the truncation points of mode \"artbp\" are malformed");
    }
    this.cuts = [...cuts];
    this.nextCut = nextCut;
    this.rng.setState(rng);
  }
}

/** Rows [0, rows) of every cell's block of the state (L·D, B, ·) times `factor`. */
function scaleRows(state: RecurrentState, rows: number, factor: number): void {
  for (const part of [state.h, state.c]) {
    if (!part) continue;
    const [cells, B, size] = part.shape as [number, number, number];
    for (let cell = 0; cell < cells; cell++) {
      const from = cell * B * size;
      for (let i = from; i < from + rows * size; i++) part.data[i]! *= factor;
    }
  }
}

function weightsOf(seg: Segment): CellWeights[] {
  if (!seg.hasWeights || !seg.weights) {
    throw new Error("artbp: a step from before the last update has no copy of its weights");
  }
  return seg.weights;
}
