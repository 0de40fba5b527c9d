/** Small helpers for the Markdown of experiment reports: tables, statistics, formatting. */
import type { ReportContext } from "./experiment.js";

/** A Markdown table; numbers should already be formatted. */
export function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const line = (cells: ReadonlyArray<string | number>): string => `| ${cells.map(String).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function standardDeviation(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** 0.8734 → "87.3%". */
export function percent(value: number, digits = 1): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : "–";
}

/** Mean ± sd over seeds as percentages, e.g. "87.3% ± 2.1" (just the mean for one seed). */
export function percentSpread(values: readonly number[], digits = 1): string {
  if (values.length < 2) return percent(mean(values), digits);
  return `${percent(mean(values), digits)} ± ${(standardDeviation(values) * 100).toFixed(digits)}`;
}

/** Mean ± sd over seeds, fixed digits. */
export function spread(values: readonly number[], digits = 3): string {
  if (values.length < 2) return mean(values).toFixed(digits);
  return `${mean(values).toFixed(digits)} ± ${standardDeviation(values).toFixed(digits)}`;
}

/** The closing section every report ends with: how to reproduce it and where it ran. */
export function provenance(context: ReportContext): string {
  return [
    "## Reproduce",
    "",
    "```sh",
    context.command,
    "```",
    "",
    `Ran in ${context.wallSeconds.toFixed(1)} s of wall time with ${context.workers} worker thread${context.workers === 1 ? "" : "s"}; ${context.environment}.`,
    "Each training run is a pure function of its settings and seed: the numbers are the same for any number of workers.",
  ].join("\n");
}
