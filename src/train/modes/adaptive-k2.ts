/**
 * k2 "adaptive": TBPTT whose truncation is chosen to keep the gradient's relative bias under a
 * tolerance δ, after Aicher, Foti & Fox (2019, arXiv 1905.07473, "Adaptively truncating
 * backpropagation through time to control gradient bias").
 *
 * Now and then (every PROBE_EVERY updates, once the window holds maxK2 steps or the longest sequence
 * seen) an update back-propagates the whole window, maxK2 steps, and measures on the way
 * φ_ℓ = ‖∂L/∂s_{t−ℓ}‖ for every lag ℓ (the diagnostics of diagnostics.ts, all layers, L2 over the
 * batch and the units). Truncating at k2 drops the parameter gradient's terms of lags ℓ ≥ k2, each
 * of the form (∂L/∂s_{t−ℓ})·∂⁺s_{t−ℓ}/∂θ, so their size is bounded by about Σ_{ℓ ≥ k2} φ_ℓ. Then
 *
 *   bias(k2) = Σ_{ℓ=k2}^{m−1} φ_ℓ + tail,   total = Σ_{ℓ=0}^{m−1} φ_ℓ + tail,
 *   k2 = the smallest with bias(k2) ≤ δ·total                   (maxK2 when none is)
 *
 * over the m measured lags. The tail is 0 when the probe reached the sequence's start; when it
 * stopped at maxK2, it extrapolates the decay geometrically: φ_ℓ ≈ φ_{m−1}·β^{ℓ−m+1} with log β the
 * least-squares slope of log φ over the older half of the lags (Aicher et al.'s estimate), tail =
 * φ_{m−1}·β/(1 − β), infinite when β ≥ 1 (no decay: no truncation is safe). The updates in between
 * use that k2. The probe's update applies its own (less truncated) gradient.
 *
 * Until the first probe, k2 = maxK2. Memory: maxK2 steps (the window must hold what a probe reads);
 * time: k2 steps per update, maxK2 for a probe. test/train/adaptive-k2.test.ts measures the bias of the
 * chosen k2 against the exact gradient.
 */
import { GradientFlow } from "../diagnostics.js";
import type { ModeState } from "../checkpoint.js";
import type { SequenceModel } from "../model.js";
import { TruncationWindow } from "../window.js";

/** Updates between two probes. */
export const PROBE_EVERY = 50;

/** What the last probe measured and chose. */
export interface TruncationEstimate {
  /** φ_ℓ for ℓ = 0 … m − 1. */
  norms: number[];
  /** The extrapolated Σ_{ℓ ≥ m} φ_ℓ (0 when the probe reached the sequence's start). */
  tail: number;
  /** The chosen k2 and its estimated relative bias bias(k2)/total. */
  k2: number;
  relativeBias: number;
}

/** A GradientFlow that also passes what it records to the user's diagnostics, if any. */
class ProbeFlow extends GradientFlow {
  constructor(layers: number, private readonly also: GradientFlow | null) {
    super(layers);
  }

  override record(normsSq: Array<Float64Array | null>, D: number, start: number, firstStep: number, T: number, updateTime: number): void {
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
  /** What the last probe measured, or null before the first. */
  estimate: TruncationEstimate | null = null;
  private sinceProbe = PROBE_EVERY;
  /** The longest stream time reached before a reset (−1: none yet). */
  private longestRun = -1;

  constructor(model: SequenceModel, options: { maxK2: number; tolerance: number }) {
    super(model);
    this.maxK2 = options.maxK2;
    this.tolerance = options.tolerance;
    this.k2 = options.maxK2;
  }

  override reset(): void {
    this.longestRun = Math.max(this.longestRun, this.streamTime);
    super.reset();
  }

  override backward(rowEnds: Int32Array, _k2: number, updates: number, flow: GradientFlow | null): void {
    const reach = this.longestRun > 0 ? Math.min(this.maxK2, this.longestRun) : this.maxK2;
    this.sinceProbe++;
    if (this.sinceProbe < PROBE_EVERY || this.streamTime < reach) {
      super.backward(rowEnds, this.k2, updates, flow);
      return;
    }
    const probe = new ProbeFlow(this.model.rnn.numLayers, flow);
    super.backward(rowEnds, this.maxK2, updates, probe);
    this.estimate = chooseTruncation(probe.report().norms, this.streamTime > this.maxK2, this.tolerance, this.maxK2);
    this.k2 = this.estimate.k2;
    this.sinceProbe = 0;
  }

  exportMode(): ModeState {
    return { kind: this.kind, arrays: {}, values: { k2: this.k2, sinceProbe: this.sinceProbe, longestRun: this.longestRun } };
  }

  importMode(state: ModeState | undefined): void {
    if (!state || state.kind !== this.kind) {
      throw new RangeError(`trainer state: a checkpoint of ${state ? `mode "${state.kind}"` : "TBPTT"} does not match this trainer (k2 "adaptive")`);
    }
    const { k2, sinceProbe, longestRun } = state.values;
    const integer = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;
    if (!integer(k2, 1) || k2 > this.maxK2 || !integer(sinceProbe, 0) || !integer(longestRun, -1)) {
      throw new RangeError('trainer state: the settings of k2 "adaptive" are malformed or do not match maxK2');
    }
    this.k2 = k2;
    this.sinceProbe = sinceProbe;
    this.longestRun = longestRun;
  }
}

/**
 * The rule in the file header. `normsByLayer[l][ℓ]`: ‖∂L/∂h_{t−ℓ}‖ of layer l; `cutByWindow`: the probe
 * stopped at maxK2 rather than at the sequence's start, so the older lags are extrapolated.
 */
export function chooseTruncation(normsByLayer: number[][], cutByWindow: boolean, tolerance: number, maxK2: number): TruncationEstimate {
  const m = Math.max(0, ...normsByLayer.map((n) => n.length));
  const norms = Array.from({ length: m }, (_, lag) => Math.sqrt(normsByLayer.reduce((s, n) => s + (n[lag] ?? 0) ** 2, 0)));
  const tail = cutByWindow ? geometricTail(norms) : 0;
  const total = norms.reduce((a, b) => a + b, 0) + tail;
  let bias = tail;
  let k2 = m;
  // bias(k) = Σ_{ℓ ≥ k} φ_ℓ + tail, growing as k shrinks: walk down while it stays within δ·total.
  while (k2 > 1 && bias + norms[k2 - 1]! <= tolerance * total) bias += norms[--k2]!;
  if (!(bias <= tolerance * total) || total === 0) return { norms, tail, k2: maxK2, relativeBias: total === 0 ? 0 : bias / total };
  return { norms, tail, k2: Math.min(Math.max(k2, 1), maxK2), relativeBias: bias / total };
}

/** φ_{m−1}·β/(1 − β), log β the least-squares slope of log φ over the older half of the lags; ∞ if β ≥ 1. */
function geometricTail(norms: number[]): number {
  const m = norms.length;
  const from = Math.floor(m / 2);
  const points = norms.slice(from).map((v, i) => [from + i, Math.log(v)] as const).filter(([, y]) => Number.isFinite(y));
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
