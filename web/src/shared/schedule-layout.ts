/**
 * Which steps each update of TBPTT(k1, k2) injects errors at and how far they travel (docs/tbptt.md),
 * for one sequence of N steps (or the first steps of a stream), as rows of cells for the diagram.
 *
 * Update u comes at t_u = min(u·k1, N) (every k1 steps and at the sequence's end) and applies
 *
 *   g_t = ∇θ Σ_{τ ∈ (t−k1, t]} ℓ_τ,   every path through a state h_s with s ≤ t − k2 cut,
 *
 * so the error of step τ reaches the steps s with t − k2 < s ≤ τ: the newest error travels k2 steps,
 * the oldest k2 − k1 + 1; an error with τ ≤ t − k2 (k2 < k1) reaches only the head. A chunk with no
 * loss makes no update. Where the losses are:
 *   every-step   every step (from `lossFrom` on);   end   the last step (N) only;
 *   every-chunk  each chunk's last step.
 * Steps are 1-based here, as in the docs' pictures.
 */
import type { LossChoice } from "./settings.js";

export type CellKind = "error" | "head-only" | "gradient" | "none";

export interface LayoutRow {
  /** 1-based update number, and the step t it comes at. */
  update: number;
  time: number;
  /** cells[s − 1] for steps s = 1 … N. */
  cells: CellKind[];
  /** The cut: states at steps ≤ cut are constants (0: nothing is cut). */
  cut: number;
  /** False when the chunk held no loss (no update is made). */
  updates: boolean;
}

export interface ScheduleLayout {
  steps: number;
  rows: LayoutRow[];
  /** Rows left out in the middle (shown as "⋮"), after row `elidedAfter`. */
  elided: number;
  elidedAfter: number;
}

export interface LayoutOptions {
  k1: number;
  k2: number;
  loss: LossChoice;
  /** N: the sequence's steps; for a stream, the steps shown. */
  steps: number;
  /** A stream has no end: no final loss for "end", and the last chunk need not be complete. */
  stream: boolean;
  /** At most this many rows (the first ones and the last ones are kept). */
  maxRows: number;
  /** With losses at every step: the first step (1-based) that has one. Default 1. */
  lossFrom?: number;
}

export function scheduleLayout(o: LayoutOptions): ScheduleLayout {
  const N = o.steps;
  const chunk = Math.min(o.k1, N);
  const rows: LayoutRow[] = [];
  for (let start = 0, u = 1; start < N; start += chunk, u++) {
    const t = Math.min(start + chunk, N);
    const cut = o.k2 === Infinity ? 0 : Math.max(0, t - o.k2);
    const losses: number[] = [];
    for (let tau = start + 1; tau <= t; tau++) if (hasLoss(o, tau, t, N)) losses.push(tau);
    const cells: CellKind[] = new Array<CellKind>(N).fill("none");
    if (losses.length > 0) {
      const newest = losses[losses.length - 1]!;
      for (let s = cut + 1; s <= newest; s++) cells[s - 1] = "gradient";
      for (const tau of losses) cells[tau - 1] = tau > cut ? "error" : "head-only";
    }
    rows.push({ update: u, time: t, cells, cut, updates: losses.length > 0 });
  }
  if (rows.length <= o.maxRows) return { steps: N, rows, elided: 0, elidedAfter: 0 };
  const head = Math.ceil((o.maxRows - 1) / 2);
  const tail = o.maxRows - 1 - head;
  return {
    steps: N,
    rows: [...rows.slice(0, head), ...rows.slice(rows.length - tail)],
    elided: rows.length - head - tail,
    elidedAfter: head,
  };
}

function hasLoss(o: LayoutOptions, tau: number, t: number, N: number): boolean {
  switch (o.loss) {
    case "every-step":
      return tau >= (o.lossFrom ?? 1);
    case "end":
      return !o.stream && tau === N;
    case "every-chunk":
      return tau === t;
  }
}

/** Whether some update's gradient reaches any step in [start, end] (1-based, inclusive). */
export function reaches(layout: ScheduleLayout, start: number, end: number): boolean {
  return layout.rows.some((row) =>
    row.cells.slice(start - 1, end).some((cell) => cell === "gradient" || cell === "error"),
  );
}
