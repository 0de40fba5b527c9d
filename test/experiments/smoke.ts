/**
 * Runs an experiment at --smoke scale through the CLI's own code path (runExperiment), once on this
 * thread and once on two worker threads, each into a temporary directory, and checks what both wrote:
 * report.md, results.json and the SVG plots exist and are sane, and the numbers are the same for any
 * number of workers (every field but the timings, which are measured).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ExperimentOptions, type ExperimentOutcome, runExperiment } from "../../src/cli/experiment.js";

export interface SmokeRun {
  outcome: ExperimentOutcome;
  markdown: string;
  results: unknown;
  svgs: Record<string, string>;
}

/** Drops every `seconds` field (wall-clock measurements), keeping the deterministic numbers. */
export function withoutTimings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimings);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "seconds").map(([key, v]) => [key, withoutTimings(v)]));
  }
  return value;
}

async function runOnce(name: string, options: ExperimentOptions, workers: number): Promise<SmokeRun> {
  const out = mkdtempSync(join(tmpdir(), `bptt-${name}-`));
  try {
    const lines: string[] = [];
    const outcome = await runExperiment(name, { ...options, smoke: true, workers: String(workers), out }, (line) => lines.push(line));
    assert.match(lines.at(-1) ?? "", /^done in [\d.]+s: /, "the last progress line reports where the report went");
    const markdown = readFileSync(join(out, "report.md"), "utf8");
    const results: unknown = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    const svgs: Record<string, string> = {};
    for (const file of outcome.files.filter((f) => f.endsWith(".svg"))) svgs[file] = readFileSync(join(out, file), "utf8");
    return { outcome, markdown, results, svgs };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Both runs, after checking the files and the equality of their numbers. */
export async function smokeBothWays(name: string, options: ExperimentOptions = {}): Promise<SmokeRun> {
  const one = await runOnce(name, options, 1);
  const two = await runOnce(name, options, 2);
  for (const run of [one, two]) {
    assert.ok(run.outcome.files.includes("report.md") && run.outcome.files.includes("results.json"));
    assert.ok(Object.keys(run.svgs).length >= 1, "at least one plot");
    for (const [file, svg] of Object.entries(run.svgs)) {
      assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/, `${file} is an SVG document`);
      assert.ok(svg.length > 1000, `${file} draws something`);
    }
    assert.match(run.markdown, new RegExp(`^# ${name}`), "report.md starts with the experiment's title");
    assert.match(run.markdown, /## Finding\n\n\S/, "report.md states a finding");
    assert.match(run.markdown, /## Settings\n\n\S/, "report.md gives the settings");
    assert.match(run.markdown, new RegExp(`bptt experiment ${name} --smoke`), "report.md gives the command");
    assert.doesNotMatch(run.markdown, /NaN|undefined|\[object/, "no unformatted values in report.md");
    for (const file of Object.keys(run.svgs)) assert.ok(run.markdown.includes(`](${file})`), `report.md shows ${file}`);
  }
  assert.deepEqual(withoutTimings(two.outcome.runs.map((r) => r.result)), withoutTimings(one.outcome.runs.map((r) => r.result)),
    "the same numbers with 1 and 2 workers");
  assert.deepEqual(withoutTimings(two.results), withoutTimings(one.results), "the same results.json with 1 and 2 workers");
  return one;
}
