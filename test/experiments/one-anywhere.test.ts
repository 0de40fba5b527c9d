/** one-anywhere at smoke scale through the CLI path: report files, the arms, identical numbers for 1 and 2 workers. */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { OneAnywhereResult } from "../../src/experiments/one-anywhere.js";
import { smokeBothWays } from "./smoke.js";

it("one-anywhere --smoke writes a sane report, the same with 1 and 2 workers", async () => {
  const { outcome, markdown } = await smokeBothWays("one-anywhere");
  assert.deepEqual(outcome.runs.map((r) => r.job.arm), ["early", "anywhere", "early, full BPTT"]);
  for (const run of outcome.runs) {
    const r = run.result as OneAnywhereResult;
    assert.equal(r.pOneAt.length, 20, "one probe per position");
    for (const p of [...r.pOneAt, r.pOneAllZeros, r.testAccuracy]) assert.ok(p >= 0 && p <= 1);
  }
  assert.match(markdown, /\| position of the 1 \|/);
  assert.ok(outcome.files.includes("by-position.svg"));
});
