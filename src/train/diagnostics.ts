/**
 * Gradient-flow diagnostics: how the gradient reaching a hidden state shrinks (vanishes) or grows
 * (explodes) with its distance from the update.
 *
 * For an update after step t, lag ℓ names the state produced by step t − ℓ (ℓ = 0 is the newest
 * state). For every layer the trainer records ‖∂L/∂h_{t−ℓ}‖ (L2 over the
 * batch and the hidden units, forward direction), where L is the loss the update applies; the report
 * gives its mean over all updates that reached lag ℓ, together with the global gradient norm of each
 * update before clipping. Off by default; when off nothing is computed.
 */
export interface GradientFlowReport {
  /** norms[layer][ℓ]: mean ‖∂L/∂h_{t−ℓ}‖ over the updates that back-propagated to lag ℓ. */
  norms: number[][];
  /** counts[layer][ℓ]: how many updates reached lag ℓ. */
  counts: number[][];
  /** The global gradient norm of every update, before clipping. */
  gradNorms: number[];
}

export class GradientFlow {
  private readonly sums: number[][];
  private readonly counts: number[][];
  private readonly gradNorms: number[] = [];
  private scratch: Array<Float64Array | null> = [];

  constructor(numLayers: number) {
    this.sums = Array.from({ length: numLayers }, () => []);
    this.counts = Array.from({ length: numLayers }, () => []);
  }

  /** Per-cell buffers of length ≥ T for a backward pass: forward-direction cells only. */
  buffers(L: number, D: number, T: number): Array<Float64Array | null> {
    if (this.scratch.length !== L * D || (this.scratch[0]?.length ?? 0) < T) {
      this.scratch = Array.from({ length: L * D }, (_, i) => (i % D === 0 ? new Float64Array(T) : null));
    }
    return this.scratch;
  }

  /** Adds the norms of steps [firstStep, T) of a segment starting at stream time `start`. */
  record(normsSq: Array<Float64Array | null>, D: number, start: number, firstStep: number, T: number, updateTime: number): void {
    for (let l = 0; l < this.sums.length; l++) {
      const norms = normsSq[l * D];
      if (!norms) continue;
      const sums = this.sums[l]!;
      const counts = this.counts[l]!;
      for (let t = firstStep; t < T; t++) {
        const lag = updateTime - 1 - (start + t);
        while (sums.length <= lag) {
          sums.push(0);
          counts.push(0);
        }
        sums[lag]! += Math.sqrt(norms[t]!);
        counts[lag]!++;
      }
    }
  }

  recordGradNorm(norm: number): void {
    this.gradNorms.push(norm);
  }

  report(): GradientFlowReport {
    return {
      norms: this.sums.map((sums, l) => sums.map((s, lag) => s / this.counts[l]![lag]!)),
      counts: this.counts.map((c) => [...c]),
      gradNorms: [...this.gradNorms],
    };
  }

  /** "layer,lag,mean_norm,updates" rows. */
  toCSV(): string {
    const { norms, counts } = this.report();
    const rows = ["layer,lag,mean_grad_norm,updates"];
    norms.forEach((byLag, l) => byLag.forEach((v, lag) => rows.push(`${l},${lag},${v},${counts[l]![lag]}`)));
    return rows.join("\n") + "\n";
  }
}
