/** Time series: numeric CSV columns → windows with features and targets shifted by the horizon. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readSeriesCsv, seriesWindows, splitSeries, timeSeriesBatches } from "../../src/data/time-series.js";
import { Rng } from "../../src/tensor/rng.js";

/** t, x = 10·t, y = 100·t for t = 0 … 9, with a text column that is not read. */
const CSV = ["when,x,y,note", ...Array.from({ length: 10 }, (_, t) => `2024-01-0${t},${10 * t},${100 * t},"row ${t}, fine"`)];

describe("readSeriesCsv", () => {
  it("reads the chosen columns in file order", async () => {
    const series = await readSeriesCsv(CSV, { source: "s.csv", features: ["x", "y"], targets: ["y"] });
    assert.equal(series.rows, 10);
    assert.deepEqual(series.featureColumns, ["x", "y"]);
    assert.deepEqual([...series.features.subarray(0, 6)], [0, 0, 10, 100, 20, 200]);
    assert.deepEqual([...series.targets.subarray(0, 3)], [0, 100, 200]);
    assert.deepEqual([...series.lines.subarray(0, 3)], [2, 3, 4]);
  });

  it("reads an empty or NaN target as NaN (no loss) and accepts plain decimals", async () => {
    const series = await readSeriesCsv(["a,b", "1.5,", " -2e1 ,NaN", ".5,+3"], { source: "s.csv", features: ["a"], targets: ["b"] });
    assert.deepEqual([...series.features], [1.5, -20, 0.5]);
    assert.ok(Number.isNaN(series.targets[0]) && Number.isNaN(series.targets[1]));
    assert.equal(series.targets[2], 3);
  });

  const bad: Array<[string[], RegExp]> = [
    [["a,b", "1,2", ",3"], /^RangeError: s\.csv:3: column "a" is a feature and must be a number, got ""$/],
    [["a,b", "1,2", "0x10,3"], /^RangeError: s\.csv:3: column "a" is a feature and must be a number, got "0x10"$/],
    [["a,b", "1,abc"], /^RangeError: s\.csv:2: column "b" must be a number \(or empty for no target\), got "abc"$/],
    [["a,b", "1,Infinity"], /^RangeError: s\.csv:2: column "b" must be a number/],
    [["a,b,c", "1,2,3", "1,,3"], /^RangeError: s\.csv:3: 1 of the 2 target columns are empty: give all of a row's targets or none$/],
    [["a,c", "1,2"], /^RangeError: s\.csv:1: no column "b" \(the columns are "a", "c"\)$/],
    [["a,b", "1,2", "3"], /^RangeError: s\.csv:3: 1 fields, the header has 2$/],
  ];
  for (const [lines, pattern] of bad) {
    it(`refuses ${JSON.stringify(lines.at(-1))}`, async () => {
      const targets = lines[0] === "a,b,c" ? ["b", "c"] : ["b"];
      await assert.rejects(readSeriesCsv(lines, { source: "s.csv", features: ["a"], targets }), pattern);
    });
  }

  it("needs at least one feature and one target column", async () => {
    await assert.rejects(readSeriesCsv(CSV, { source: "s.csv", features: [], targets: ["y"] }), /at least one feature column/);
    await assert.rejects(readSeriesCsv(CSV, { source: "s.csv", features: ["x"], targets: [] }), /at least one target column/);
  });
});

describe("windows and batches", () => {
  it("starts windows every stride steps while the window and its horizon fit", async () => {
    const series = await readSeriesCsv(CSV, { source: "s.csv", features: ["x"], targets: ["y"] });
    assert.deepEqual([...seriesWindows(series, { window: 3, horizon: 1 })], [0, 3, 6]);
    assert.deepEqual([...seriesWindows(series, { window: 3, stride: 2, horizon: 1 })], [0, 2, 4, 6]);
    assert.deepEqual([...seriesWindows(series, { window: 10, horizon: 0 })], [0]);
    assert.throws(() => seriesWindows(series, { window: 10, horizon: 1 }), /a series of 10 rows is too short for windows of 10 steps with horizon 1 \(needs 11 rows\)/);
    assert.throws(() => seriesWindows(series, { window: 0, horizon: 1 }), /window must be an integer ≥ 1/);
    assert.throws(() => seriesWindows(series, { window: 2, horizon: -1 }), /horizon must be an integer ≥ 0/);
  });

  it("gives features x_{s+t} and targets y_{s+t+h}, time-major", async () => {
    const series = await readSeriesCsv(CSV, { source: "s.csv", features: ["x", "y"], targets: ["y"] });
    const batches = [...timeSeriesBatches(series, { window: 3, stride: 2, horizon: 2, batchSize: 2 })];
    // Starts 0, 2, 4 (4 + 3 ≤ 10 − 2): batches of 2 and 1 windows.
    assert.deepEqual(batches.map((b) => [b.T, b.B]), [[3, 2], [3, 1]]);
    const [first] = batches;
    // Row b = window start 2b; step t: features (10·(s+t), 100·(s+t)), target 100·(s+t+2).
    assert.deepEqual([...first!.features!], [0, 0, 20, 200, 10, 100, 30, 300, 20, 200, 40, 400]);
    assert.deepEqual([...first!.stepTargets!], [200, 400, 300, 500, 400, 600]);
    assert.ok(first!.stepTargets instanceof Float32Array);
    assert.equal(first!.mask, undefined);
  });

  it("shuffles windows with the seeded generator", async () => {
    const series = await readSeriesCsv(CSV, { source: "s.csv", features: ["x"], targets: ["y"] });
    const starts = (seed: number): number[] =>
      [...timeSeriesBatches(series, { window: 2, stride: 1, horizon: 0, batchSize: 1, shuffle: new Rng(seed) })].map((b) => b.features![0]! / 10);
    assert.deepEqual(starts(3), starts(3));
    assert.deepEqual(starts(3).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.notDeepEqual(starts(3), starts(4));
  });

  it("splits in time", async () => {
    const series = await readSeriesCsv(CSV, { source: "s.csv", features: ["x"], targets: ["y"] });
    const { train, validation } = splitSeries(series, 0.3);
    assert.deepEqual([train.rows, validation.rows], [7, 3]);
    assert.deepEqual([...validation.features], [70, 80, 90]);
    assert.deepEqual([...validation.lines], [9, 10, 11]);
    assert.throws(() => splitSeries(series, 0), /fraction must be in \(0, 1\)/);
  });
});
