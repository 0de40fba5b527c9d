/**
 * k2 "adaptive": TBPTT whose truncation is chosen to keep the gradient's relative bias under a
 * tolerance δ, after Aicher, Foti & Fox (2019, arXiv 1905.07473, "Adaptively truncating
 * backpropagation through time to control gradient bias").
 *
 * Now and then (a probe of PROBE_UPDATES consecutive updates every PROBE_EVERY) the updates
 * measure what truncation costs them. Each back-propagates the whole window, W = min(maxK2, the
 * history) steps, giving g_W (the recurrent parameters' gradient, which the update applies), then
 * again with k2 = k for each candidate k < W of a geometric grid (1, 2, 3, 4, 6, 8, 11, 16, …),
 * giving g_k. Over the probe's updates u:
 *
 *   bias(k) = √(Σ_u ‖g_W,u − g_k,u‖² / Σ_u ‖g_W,u‖²) + tail,   k2 = the smallest k with bias(k) ≤ δ
 *
 * The tail is what lies beyond W: 0 when the probe reached the sequence's start; else Aicher et al.'s
 * extrapolation of the decay of φ_ℓ = ‖∂L/∂s_{t−ℓ}‖ (measured on the way, all layers): φ_ℓ ≈
 * φ_{W−1}·β^{ℓ−W+1}, log β the least-squares slope of log φ over the older half of the lags, as a
 * share of all the norms, (φ_{W−1}·β/(1 − β)) / (Σ_ℓ φ_ℓ + that), or all of it (1) when β ≥ 1.
 * When the tail alone exceeds δ, no truncation within maxK2 is safe: k2 = maxK2. Where Aicher et al. bound
 * the parameter gradient's bias through the state norms φ, this measures it: on the task of
 * test/train/adaptive-k2.test.ts the state norms alone chose a k2 whose bias was 3 times δ (the
 * losses' gradients partly cancel, the dropped terms do not). Averaging over a probe of several
 * updates, not one, keeps the choice from following one update's noise.
 *
 * A probe starts at the first update of a stream (a batch that does not continue) or once the window
 * holds maxK2 steps, so that its updates see the histories training sees. Until the first probe
 * ends, k2 = maxK2. Memory: maxK2 steps (the window must hold what a probe reads). Time: k2 steps
 * per update; a probe's update about 3·maxK2 (the grid's lengths sum to about twice the largest).
 */
import type { RecurrentState } from "../../layers/recurrent-state.js";
import { GradientFlow } from "../diagnostics.js";
import type { ModeState } from "../checkpoint.js";
import type { SequenceModel } from "../model.js";
import type { Parameter } from "../../tensor/parameter.js";
import { savedInteger, savedModeState } from "./saved.js";
import { TruncationWindow } from "../window.js";

/** Updates from the start of one probe to the start of the next, and the updates a probe measures. */
export const PROBE_EVERY = 200;
export const PROBE_UPDATES = 16;

/** What the last probe measured and chose. */
export interface TruncationEstimate {
  /** The candidates k and their measured bias(k) (tail included). */
  candidates: number[];
  bias: number[];
  /** The largest share of the gradient beyond W over the probe's updates (0 when each reached its sequence's start). */
  tail: number;
  /** The chosen k2. */
  k2: number;
}

/** A GradientFlow that also passes what it records to the user's diagnostics, if any. */
class ProbeFlow extends GradientFlow {
  constructor(layers: number, private readonly also: GradientFlow | null) {
    super(layers);
  }

  override record(
    normsSq: Array<Float64Array | null>, D: number, start: number, firstStep: number, T: number, updateTime: number,
  ): void {
    super.record(normsSq, D, start, firstStep, T, updateTime);
    this.also?.record(normsSq, D, start, firstStep, T, updateTime);
  }
}

export class AdaptiveWindow extends TruncationWindow {
  readonly kind = "adaptive" as const;
  readonly maxK2: number;
  readonly tolerance: number;
  /** The truncation the next ordinary update uses. */
  k2: number;
  /** What the last probe measured, or null before the first ends. */
  estimate: TruncationEstimate | null = null;
  /** The candidates: a geometric grid up to maxK2. */
  readonly candidates: number[];
  /** Updates since the last probe started (PROBE_EVERY: due), and since the stream was last reset. */
  private sinceProbe = PROBE_EVERY;
  private sinceReset = 0;
  /** The probe under way: its updates so far, Σ_u ‖g_W,u − g_k,u‖² per candidate, Σ_u ‖g_W,u‖², the most tail. */
  private probed = 0;
  private errors: number[];
  private fullSquared = 0;
  private tail = 0;
  /** The parameters truncation affects (all but the head's), and scratch of their size. */
  private readonly params: Parameter[];
  private readonly before: Float64Array;
  private readonly full: Float64Array;

  constructor(model: SequenceModel, options: { maxK2: number; tolerance: number }) {
    super(model);
    this.maxK2 = options.maxK2;
    this.tolerance = options.tolerance;
    this.k2 = options.maxK2;
    this.candidates = geometricGrid(options.maxK2);
    this.errors = this.candidates.map(() => 0);
    const head = new Set(model.head.parameters());
    this.params = model.parameters().filter((p) => !head.has(p));
    const size = this.params.reduce((n, p) => n + p.size, 0);
    this.before = new Float64Array(size);
    this.full = new Float64Array(size);
  }

  override reset(): void {
    super.reset();
    this.sinceReset = 0;
  }

  override backward(
    rowEnds: Int32Array, _k2: number, updates: number, flow: GradientFlow | null, dFinal: RecurrentState | null,
  ): void {
    const starts = this.sinceProbe >= PROBE_EVERY && (this.sinceReset === 0 || this.streamTime >= this.maxK2);
    this.sinceProbe++;
    this.sinceReset++;
    if (this.probed === 0 && !starts) {
      super.backward(rowEnds, this.k2, updates, flow, dFinal);
      return;
    }
    if (this.probed === 0) this.sinceProbe = 1;
    this.measure(rowEnds, updates, flow, dFinal);
    if (++this.probed === PROBE_UPDATES) this.decide();
  }

  /** One probe update (see the file header); leaves g_W added into the parameters' grad. */
  private measure(rowEnds: Int32Array, updates: number, flow: GradientFlow | null, dFinal: RecurrentState | null): void {
    const W = Math.min(this.maxK2, this.streamTime);
    const { before, full } = this;
    this.readGradients(before);
    const measured = new ProbeFlow(this.model.rnn.numLayers, flow);
    super.backward(rowEnds, W, updates, measured, dFinal);
    this.readGradients(full);
    for (let i = 0; i < full.length; i++) {
      full[i]! -= before[i]!;
      this.fullSquared += full[i]! ** 2;
    }
    this.tail = Math.max(this.tail, measuredTail(measured.report().norms, this.streamTime > W).tail);
    this.candidates.forEach((k, c) => {
      if (k >= W) return;
      this.writeGradients(before, null);
      super.backward(rowEnds, k, updates, null, dFinal);
      let i = 0;
      for (const p of this.params) {
        for (let j = 0; j < p.size; j++, i++) this.errors[c]! += (p.grad[j]! - before[i]! - full[i]!) ** 2;
      }
    });
    this.writeGradients(before, full);
  }

  /** The end of a probe: the smallest candidate within the tolerance. */
  private decide(): void {
    const bias = this.errors.map((e) => (this.fullSquared === 0 ? 0 : Math.sqrt(e / this.fullSquared)) + this.tail);
    const within = this.candidates.find((_, c) => bias[c]! <= this.tolerance);
    this.k2 = within ?? this.maxK2;
    this.estimate = { candidates: [...this.candidates], bias, tail: this.tail, k2: this.k2 };
    this.probed = 0;
    this.errors = this.candidates.map(() => 0);
    this.fullSquared = 0;
    this.tail = 0;
  }

  /** The grad of the parameters truncation affects, into `out`. */
  private readGradients(out: Float64Array): void {
    let i = 0;
    for (const p of this.params) for (let j = 0; j < p.size; j++) out[i++] = p.grad[j]!;
  }

  /** grad = base (+ add). */
  private writeGradients(base: Float64Array, add: Float64Array | null): void {
    let i = 0;
    for (const p of this.params) for (let j = 0; j < p.size; j++, i++) p.grad[j] = base[i]! + (add ? add[i]! : 0);
  }

  exportMode(): ModeState {
    return {
      kind: this.kind, arrays: {},
      values: {
        k2: this.k2, sinceProbe: this.sinceProbe, sinceReset: this.sinceReset, probed: this.probed,
        errors: [...this.errors], fullSquared: this.fullSquared, tail: this.tail,
      },
    };
  }

  importMode(state: ModeState | undefined): void {
    const saved = savedModeState(state, this.kind, 'k2 "adaptive"');
    const k2 = savedInteger(saved, "k2", 1);
    const probed = savedInteger(saved, "probed", 0);
    const { errors, fullSquared, tail } = saved.values;
    const sums = Array.isArray(errors) && errors.length === this.candidates.length && errors.every((e) => e >= 0);
    const finite = (v: unknown): v is number => typeof v === "number" && v >= 0 && v < Infinity;
    if (k2 > this.maxK2 || probed >= PROBE_UPDATES || !sums || !finite(fullSquared) || !finite(tail)) {
      throw new RangeError('trainer state: the state of k2 "adaptive" is malformed or does not match maxK2');
    }
    this.k2 = k2;
    this.sinceProbe = savedInteger(saved, "sinceProbe", 0);
    this.sinceReset = savedInteger(saved, "sinceReset", 0);
    this.probed = probed;
    this.errors = [...errors];
    this.fullSquared = fullSquared;
    this.tail = tail;
  }
}

/** 1, 2, 3, 4, 6, 8, 11, 16, … (√2 apart, rounded, distinct) below maxK2. */
function geometricGrid(maxK2: number): number[] {
  const grid: number[] = [];
  for (let x = 1; Math.round(x) < maxK2; x *= Math.SQRT2) if (!grid.includes(Math.round(x))) grid.push(Math.round(x));
  return grid;
}

/**
 * φ_ℓ = ‖∂L/∂s_{t−ℓ}‖ over all layers from `normsByLayer[l][ℓ]`, and the share of the gradient beyond
 * the measured lags (see the file header): 0 unless `cutByWindow` (the probe stopped before the
 * sequence's start).
 */
export function measuredTail(normsByLayer: number[][], cutByWindow: boolean): { norms: number[]; tail: number } {
  const m = Math.max(0, ...normsByLayer.map((n) => n.length));
  const norms = Array.from({ length: m }, (_, lag) => Math.hypot(...normsByLayer.map((n) => n[lag] ?? 0)));
  if (!cutByWindow) return { norms, tail: 0 };
  const beyond = geometricTail(norms);
  const total = norms.reduce((a, b) => a + b, 0) + beyond;
  return { norms, tail: beyond === Infinity ? 1 : total === 0 ? 0 : beyond / total };
}

/** φ_{m−1}·β/(1 − β), log β the least-squares slope of log φ over the older lags (half); ∞ if β ≥ 1. */
function geometricTail(norms: number[]): number {
  const m = norms.length;
  const from = Math.floor(m / 2);
  const points = norms.slice(from).map((v, i) => [from + i, Math.log(v)] as const)
    .filter(([, y]) => Number.isFinite(y));
  if (points.length < 2) return m > 0 && norms[m - 1]! > 0 ? Infinity : 0;
  const meanX = points.reduce((s, [x]) => s + x, 0) / points.length;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / points.length;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - meanX) * (y - meanY);
    sxx += (x - meanX) ** 2;
  }
  const beta = Math.exp(sxy / sxx);
  return beta < 1 ? norms[m - 1]! * beta / (1 - beta) : Infinity;
}
