/**
 * Time-series regression (and forecasting) from numeric CSV columns.
 *
 *   series     N rows in file order: x_t = the feature columns (I values), y_t = the target columns (O)
 *   horizon h  step t is asked for y_{t+h}: h = 0 regresses the present, h = 1 forecasts the next row
 *   windows    sequences of `window` steps starting at s = 0, stride, 2·stride, … with s + window ≤ N − h
 *              (up to stride − 1 rows at the end may be unused); each is an independent sequence,
 *              its state starting from zero
 *   batch      features (T·B·I): x_{s+t}; stepTargets (T·B·O): y_{s+t+h}; T = window, no padding
 *
 * An empty target cell (or "NaN") is a step without a loss (NaN in stepTargets; a row has all its
 * targets or none, since the trainer skips a step by its first target); a feature must be a
 * finite number. Numbers are plain decimals ("-1.5", "2e-3", " 7 "); anything else is an error naming
 * the line and the column. Train with lossAt "every-step" (a prediction at every step) or "last-step"
 * (one prediction per window, from its last step's target).
 *
 * Memory: the chosen columns of the whole file as numbers (8 bytes per value while reading, then
 * 4 in Float32Arrays); the other columns are not kept.
 */
import type { Batch } from "../train/batch.js";
import type { Rng } from "../tensor/rng.js";
import { readCsv } from "./parse/csv.js";
import type { LineSource } from "./parse/jsonl.js";

export interface SeriesColumns {
  /** Columns read as the inputs x_t (I = features.length ≥ 1). */
  features: readonly string[];
  /** Columns read as the targets y_t (O = targets.length ≥ 1); they may also be features. */
  targets: readonly string[];
}

export interface Series {
  /** N: the number of rows. */
  rows: number;
  featureColumns: string[];
  targetColumns: string[];
  /** (N·I) row-major. */
  features: Float32Array;
  /** (N·O) row-major, NaN where the cell was empty. */
  targets: Float32Array;
  /** The line each row was read from. */
  lines: Int32Array;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Reads the chosen columns of a CSV (header required; see csv.ts for the format). */
export async function readSeriesCsv(lines: LineSource, options: SeriesColumns & { source: string }): Promise<Series> {
  const { source } = options;
  const featureColumns = [...options.features];
  const targetColumns = [...options.targets];
  if (featureColumns.length === 0) throw new RangeError("time series: choose at least one feature column");
  if (targetColumns.length === 0) throw new RangeError("time series: choose at least one target column");
  const table = await readCsv(lines, { source, required: [...featureColumns, ...targetColumns] });
  const featureAt = featureColumns.map((name) => table.column(name));
  const targetAt = targetColumns.map((name) => table.column(name));
  const features: number[] = [];
  const targets: number[] = [];
  const rowLines: number[] = [];
  for await (const { line, fields } of table.rows) {
    featureAt.forEach((column, i) => {
      const value = parseNumber(fields[column]!);
      if (value === undefined || !Number.isFinite(value)) {
        throw new RangeError(`${source}:${line}: column "${featureColumns[i]}" is a feature and must be a number, got ${JSON.stringify(fields[column])}`);
      }
      features.push(value);
    });
    let missing = 0;
    targetAt.forEach((column, o) => {
      const value = parseNumber(fields[column]!);
      if (value === undefined || value === Infinity || value === -Infinity) {
        throw new RangeError(`${source}:${line}: column "${targetColumns[o]}" must be a number (or empty for no target), got ${JSON.stringify(fields[column])}`);
      }
      if (Number.isNaN(value)) missing++;
      targets.push(value);
    });
    // The trainer skips a step whose first target is NaN, so a step has all its targets or none.
    if (missing > 0 && missing < targetAt.length) {
      throw new RangeError(`${source}:${line}: ${missing} of the ${targetAt.length} target columns are empty: give all of a row's targets or none`);
    }
    rowLines.push(line);
  }
  return {
    rows: rowLines.length, featureColumns, targetColumns,
    features: Float32Array.from(features), targets: Float32Array.from(targets), lines: Int32Array.from(rowLines),
  };
}

/** A plain decimal, NaN for an empty cell or "NaN", undefined for anything else. */
function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed.toLowerCase() === "nan") return NaN;
  if (!DECIMAL.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** The first `fraction` of the rows for training, the rest for validation: a split in time, with no look-ahead. */
export function splitSeries(series: Series, validationFraction: number): { train: Series; validation: Series } {
  if (!(validationFraction > 0 && validationFraction < 1)) throw new RangeError(`the validation fraction must be in (0, 1), got ${validationFraction}`);
  const cut = Math.round(series.rows * (1 - validationFraction));
  const part = (from: number, to: number): Series => ({
    ...series,
    rows: to - from,
    features: series.features.slice(from * series.featureColumns.length, to * series.featureColumns.length),
    targets: series.targets.slice(from * series.targetColumns.length, to * series.targetColumns.length),
    lines: series.lines.slice(from, to),
  });
  return { train: part(0, cut), validation: part(cut, series.rows) };
}

export interface WindowOptions {
  /** T: steps per sequence. */
  window: number;
  /** Steps between the starts of consecutive windows. Default: window (no overlap). */
  stride?: number;
  /** h: step t's target is row t + h. */
  horizon: number;
}

/** The first row of every window (see the file header). */
export function seriesWindows(series: Series, options: WindowOptions): Int32Array {
  const { window, horizon } = options;
  const stride = options.stride ?? window;
  for (const [name, value, min] of [["window", window, 1], ["stride", stride, 1], ["horizon", horizon, 0]] as const) {
    if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
  }
  const usable = series.rows - horizon;
  if (usable < window) {
    throw new RangeError(`a series of ${series.rows} rows is too short for windows of ${window} steps with horizon ${horizon} (needs ${window + horizon} rows)`);
  }
  const count = Math.floor((usable - window) / stride) + 1;
  return Int32Array.from({ length: count }, (_, k) => k * stride);
}

export interface SeriesBatchOptions extends WindowOptions {
  /** B: windows per batch (the last batch may be smaller). */
  batchSize: number;
  /** Shuffle the windows with this generator. Default: in time order. */
  shuffle?: Rng | null;
}

/** Batches of windows: features (T·B·I) and stepTargets (T·B·O), no mask (all windows have T steps). */
export function* timeSeriesBatches(series: Series, options: SeriesBatchOptions): Generator<Batch> {
  const { batchSize, horizon, window: T } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const starts = Array.from(seriesWindows(series, options));
  options.shuffle?.shuffle(starts);
  const I = series.featureColumns.length;
  const O = series.targetColumns.length;
  for (let first = 0; first < starts.length; first += batchSize) {
    const rows = starts.slice(first, first + batchSize);
    const B = rows.length;
    const features = new Float32Array(T * B * I);
    const stepTargets = new Float32Array(T * B * O);
    rows.forEach((s, b) => {
      for (let t = 0; t < T; t++) {
        const r = t * B + b; // (t, b) in the time-major (T, B) grid
        features.set(series.features.subarray((s + t) * I, (s + t + 1) * I), r * I);
        stepTargets.set(series.targets.subarray((s + t + horizon) * O, (s + t + horizon + 1) * O), r * O);
      }
    });
    yield { T, B, features, stepTargets };
  }
}
