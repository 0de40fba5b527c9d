/** long-text-sentiment at smoke scale through the CLI path: report files, the four arms, identical numbers for 1 and 2 workers. */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { SentimentResult } from "../../src/experiments/long-text-sentiment.js";
import { smokeBothWays } from "./smoke.js";

it("long-text-sentiment --smoke writes a sane report, the same with 1 and 2 workers", async () => {
  const { outcome, markdown } = await smokeBothWays("long-text-sentiment");
  assert.deepEqual([...new Set(outcome.runs.map((r) => r.job.arm))], ["truncated", "truncated+short", "every-chunk", "full"]);
  for (const run of outcome.runs) {
    const r = run.result as SentimentResult;
    for (const v of [r.accuracyLong, r.accuracyShort, r.pCorrectLong, r.pCorrectShort]) assert.ok(v >= 0 && v <= 1, `${run.job.arm}: ${v} is a fraction`);
    assert.deepEqual(r.byLength.map((x) => x.length), [10, 60]);
    assert.ok(r.updates > 0);
  }
  const updates = (arm: string): number => (outcome.runs.find((r) => r.job.arm === arm)!.result as SentimentResult).updates;
  // every-chunk makes an update per 30-word chunk; the last-step arms one per batch.
  assert.ok(updates("every-chunk") > updates("truncated"), "every-chunk updates after every chunk");
  assert.equal(updates("truncated"), updates("full"));
  assert.match(markdown, /TBPTT\(k1 = ∞, k2 = 30\)/);
  for (const file of ["accuracy.svg", "by-length.svg", "learning-curve.svg"]) assert.ok(outcome.files.includes(file), file);
});
