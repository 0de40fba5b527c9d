/**
 * The gradient-flow report over recent updates only. GradientFlow.report() gives, per layer and lag,
 * the mean of ‖∂L/∂h_{t−ℓ}‖ over every update so far and how many updates reached that lag; the sums
 * (mean × count) of two reports subtract, so the mean over the updates between them is
 *
 *   (mean_now · count_now − mean_then · count_then) / (count_now − count_then).
 *
 * Snapshots are kept so that the window covers about `span` updates: the vanishing gradient of the
 * model as it is now, not as it was at the start.
 */
import type { GradientFlowReport } from "bptt";
import type { GradientFlowView } from "../shared/protocol.js";

interface Snapshot {
  updates: number;
  sums: number[][];
  counts: number[][];
}

export class FlowWindow {
  private readonly snapshots: Snapshot[] = [];

  constructor(private readonly span: number) {}

  /** Records the report after `updates` updates and returns the mean over the window. */
  view(report: GradientFlowReport, updates: number): GradientFlowView | null {
    const now: Snapshot = {
      updates,
      sums: report.norms.map((byLag, l) => byLag.map((mean, lag) => mean * report.counts[l]![lag]!)),
      counts: report.counts.map((c) => [...c]),
    };
    this.snapshots.push(now);
    // Keep the newest snapshot at least `span` updates old as the window's start.
    while (this.snapshots.length > 2 && updates - this.snapshots[1]!.updates >= this.span) this.snapshots.shift();
    const then = this.snapshots.length > 1 ? this.snapshots[0]! : null;
    const norms = now.sums.map((byLag, l) =>
      byLag.map((sum, lag) => {
        const count = now.counts[l]![lag]! - (then?.counts[l]?.[lag] ?? 0);
        return count > 0 ? (sum - (then?.sums[l]?.[lag] ?? 0)) / count : NaN;
      }),
    );
    const window = updates - (then?.updates ?? 0);
    return window > 0 ? { norms, updates: window } : null;
  }
}
