/** char-rnn at smoke scale through the CLI path, on the built-in corpus and on a user's --data file. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { runExperiment } from "../../src/cli/experiment.js";
import type { CharRnnResult } from "../../src/experiments/char-rnn.js";
import { smokeBothWays } from "./smoke.js";

const dir = mkdtempSync(join(tmpdir(), "bptt-char-rnn-data-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function check(result: CharRnnResult): void {
  assert.ok(result.curve.length >= 2 && result.curve[0]!.update === 0);
  for (const p of result.curve) assert.ok(p.bpc > 0 && Number.isFinite(p.bpc), `bpc ${p.bpc}`);
  assert.ok(result.unigramBpc > 0 && result.unigramBpc < Math.log2(result.vocabularySize));
  assert.deepEqual(result.samples.map((s) => s.temperature), [0.5, 1]);
  for (const s of result.samples) {
    assert.equal(Array.from(s.text).length, 60, "smoke samples are 60 characters");
    assert.doesNotMatch(s.text, /<pad>|<unk>/, "the specials are never sampled");
  }
}

it("char-rnn --smoke on the built-in corpus writes a sane report, the same with 1 and 2 workers", async () => {
  const { outcome, markdown } = await smokeBothWays("char-rnn");
  check(outcome.runs[0]!.result as CharRnnResult);
  assert.match(markdown, /built-in grammar corpus/);
  assert.match(markdown, /Unigram baseline: \d\.\d{3} bpc/);
  assert.match(markdown, /temperature 0\.5[\s\S]*temperature 1\b/);
});

it("char-rnn --smoke --data models the user's text (CRLF line ends read as \\n)", async () => {
  const path = join(dir, "text.txt");
  writeFileSync(path, "abcab cabca bcabc\r\n".repeat(150));
  const out = join(dir, "report");
  const outcome = await runExperiment("char-rnn", { smoke: true, workers: "1", data: path, out }, () => {});
  const result = outcome.runs[0]!.result as CharRnnResult;
  check(result);
  assert.equal(result.vocabularySize, 2 + 5, "<pad>, <unk>, a, b, c, space and \\n: no \\r");
});
