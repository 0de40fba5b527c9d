/**
 * beyond-truncation at smoke scale through the CLI path: report files, the five methods on both tasks,
 * identical numbers for 1 and 2 workers.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { BeyondResult } from "../../src/experiments/beyond-truncation.js";
import { smokeBothWays } from "./smoke.js";

it("beyond-truncation --smoke writes a sane report, the same with 1 and 2 workers", async () => {
  const { outcome, markdown } = await smokeBothWays("beyond-truncation");
  const arms = ["TBPTT", "ARTBP", "adaptive k2", "UORO", "RTRL"];
  assert.deepEqual(outcome.runs.map((r) => r.job.arm), [...arms, ...arms]);
  assert.deepEqual([...new Set(outcome.runs.map((r) => r.job.task))], ["delayed recall", "one-anywhere"]);
  for (const run of outcome.runs) {
    const r = run.result as BeyondResult;
    assert.equal(r.curve.length, 3, "accuracy at 0, 2 and 4 updates");
    for (const a of r.curve) assert.ok(a >= 0 && a <= 1);
    assert.ok(r.seconds > 0 && r.updates === 4 && r.keptSteps >= 1);
    // Only the online modes carry sensitivities: RTRL n·p, UORO n + p.
    const expected = run.job.arm === "RTRL" ? r.n * r.p : run.job.arm === "UORO" ? r.n + r.p : 0;
    assert.equal(r.sensitivityValues, expected);
  }
  const headings = ["## delayed recall", "## one-anywhere", "| method | test accuracy |", "UORO's variance"];
  for (const heading of headings) {
    assert.ok(markdown.includes(heading), heading);
  }
  assert.ok(outcome.files.includes("accuracy.svg") && outcome.files.includes("time.svg"));
});
