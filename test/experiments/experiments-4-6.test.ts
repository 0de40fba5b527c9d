/**
 * Experiments 4–6 through the real CLI code path at smoke scale: each writes a sane report, and the
 * numbers are the same whether its jobs run on one worker thread or two.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runExperiment } from "../../src/cli/experiment.js";
import { gradientFlowProbe } from "../../src/experiments/vanishing-gradients.js";
import { delayedRecallBatch } from "../../src/experiments/delayed-recall.js";
import { Rng } from "../../src/tensor/rng.js";
import { SequenceModel } from "../../src/train/model.js";

const root = mkdtempSync(join(tmpdir(), "bptt-exp46-"));
after(() => rmSync(root, { recursive: true, force: true }));

const EXPECTED: Record<string, { svgs: string[]; mentions: RegExp[] }> = {
  "framewise-labelling": { svgs: ["error-vs-time.svg", "final-error.svg"], mentions: [/BLSTM per utterance/, /per frame \(k1=1, k2=∞\)/, /TBPTT\(5, 20\)/, /nearest prototype/, /\| peephole BLSTM per utterance/, /Peephole connections \(the gates see the cell state\): unidirectional, /] },
  "vanishing-gradients": { svgs: ["gradient-flow.svg", "accuracy-vs-delay.svg", "exploding.svg"], mentions: [/ℓ = 1/, /no clipping/, /clipNorm 1/, /\| LSTM, forget bias 3 \|/, /not a bug of bptt/] },
  "weight-sharing": { svgs: ["accuracy-by-length.svg"], mentions: [/cannot run/, /first L weight sets/, /Parameters: shared \d+, unshared \d+/] },
};

/** A deep copy without the wall-clock fields ("seconds", "trainSeconds"). */
function withoutTimes(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === "seconds" || key === "trainSeconds" ? undefined : v)));
}

for (const [name, expected] of Object.entries(EXPECTED)) {
  describe(name, () => {
    it("writes report.md, results.json and its plots, with the same numbers on 1 and 2 workers", async () => {
      const outcomes = [];
      for (const workers of ["1", "2"]) {
        const out = join(root, `${name}-${workers}`);
        const lines: string[] = [];
        outcomes.push(await runExperiment(name, { smoke: true, out, workers }, (line) => lines.push(line)));
        assert.match(lines.at(-1)!, /^done in/);
        const markdown = readFileSync(join(out, "report.md"), "utf8");
        assert.match(markdown, /## Finding\n\n\S/);
        assert.match(markdown, /## Settings/);
        assert.match(markdown, new RegExp(`bptt experiment ${name} --smoke`));
        // A number that failed to compute prints as NaN in a cell or a percentage (the word "NaN" in prose is fine).
        assert.doesNotMatch(markdown, /\| NaN|NaN%|undefined|\[object/);
        for (const mention of expected.mentions) assert.match(markdown, mention);
        for (const svg of expected.svgs) {
          const text = readFileSync(join(out, svg), "utf8");
          assert.match(text, /^<svg[^>]*>/);
          assert.ok(text.length > 2000, `${svg} is only ${text.length} characters`);
          assert.match(markdown, new RegExp(`\\(${svg.replace(".", "\\.")}\\)`));
        }
        const data = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as { runs: unknown[] };
        assert.equal(data.runs.length, outcomes.at(-1)!.runs.length);
      }
      // Everything but the measured times must be bit-identical.
      const [one, two] = outcomes;
      assert.deepEqual(withoutTimes(two!.runs.map((r) => [r.job, r.result])), withoutTimes(one!.runs.map((r) => [r.job, r.result])));
    });
  });
}

describe("gradientFlowProbe", () => {
  it("measures one norm per lag without touching the model", () => {
    const model = new SequenceModel({ cell: "rnn", vocabSize: 9, embeddingDim: 4, hiddenSize: 6, outputSize: 4, objective: "classes", seed: 2 });
    const before = [...model.stateDict().values()].map((t) => t.data.slice());
    const flow = gradientFlowProbe(model, delayedRecallBatch(new Rng(1), { symbols: 4, distractors: 4, delay: 11, batchSize: 3 }));
    assert.equal(flow.length, 12);
    assert.ok(flow.every((v) => v > 0 && Number.isFinite(v)));
    // A tanh RNN with PyTorch's initialisation: the gradient fades with the lag.
    assert.ok(flow[11]! < flow[0]! / 10, `lag 11: ${flow[11]}, lag 0: ${flow[0]}`);
    assert.deepEqual([...model.stateDict().values()].map((t) => t.data), before);
  });
});
