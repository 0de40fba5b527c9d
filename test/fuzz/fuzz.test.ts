/**
 * A few seconds of the fuzzer (`npm run fuzz` runs 100,000 cases): every target's mutated inputs are
 * accepted or refused with the project's one-line error naming the file, never a crash, and memory
 * stays within the cap.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { runFuzz } from "../../fuzz/fuzz.js";

// A fixed seed, so that a failure here reproduces; BPTT_FUZZ_SEED explores others.
const seed = Number(process.env["BPTT_FUZZ_SEED"] ?? 20261202);

it("600 fuzz cases over every file kind the CLI reads: 0 crashes, memory within the cap", async () => {
  const report = await runFuzz({ cases: 600, seed, memoryLimit: 64 << 20 });
  assert.equal(report.cases, 600);
  assert.ok(report.targets.every((t) => t.cases > 0 && t.refused > 0), "every target ran and was refused at times");
  assert.deepEqual(report.samples, [], `crashes with seed ${seed}`);
  assert.equal(report.crashes, 0);
  assert.ok(!report.overCap, `peak ${report.peakRss} over the cap (baseline ${report.baselineRss})`);
});
