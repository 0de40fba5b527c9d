/**
 * `bptt train --resume` on texts of different lengths (packed batches): a classifier run stopped in
 * the middle of an epoch (--max-updates) and resumed ends with weights bit-identical to a run that was
 * never stopped — with TBPTT(∞, k2), whose heads run forward keeping nothing, dropout between two
 * layers, full BPTT through a bidirectional GRU, and the modes RTRL, UORO, ARTBP and adaptive k2. The
 * epoch line and metrics.json give real tokens per second.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Rng } from "../../src/tensor/rng.js";

const bin = fileURLToPath(new URL("../../../bin/bptt.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bptt-resume-ragged-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Texts of 2 to 60 words whose label is their first word. */
function texts(path: string): number {
  const rng = new Rng(11);
  let tokens = 0;
  const lines = Array.from({ length: 120 }, () => {
    const label = rng.int(2) ? "pos" : "neg";
    const length = 1 + (rng.int(4) === 0 ? rng.int(60) : rng.int(12));
    tokens += length + 1;
    const filler = Array.from({ length }, () => "a b c d e f".split(" ")[rng.int(6)]).join(" ");
    return JSON.stringify({ text: `${label === "pos" ? "good" : "bad"} ${filler}`, label });
  });
  writeFileSync(path, `${lines.join("\n")}\n`);
  return tokens;
}

function train(args: string[]): string {
  const r = spawnSync(process.execPath, [bin, "train", ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe("bptt train --resume, texts of different lengths", () => {
  const data = join(dir, "texts.jsonl");
  const tokens = texts(data);
  const runs: Array<[string, string[]]> = [
    ["TBPTT(∞, 5), 2-layer LSTM with dropout", ["--k2", "5", "--layers", "2", "--dropout", "0.3"]],
    ["full BPTT, bidirectional GRU", ["--cell", "gru", "--bidirectional"]],
    // The modes beyond truncation on packed batches, their own state in the checkpoint (mode-state.ts).
    ["mode rtrl, k1 = 4, hidden 4", ["--mode", "rtrl", "--k1", "4", "--hidden", "4"]],
    ["mode uoro", ["--mode", "uoro"]],
    ["mode artbp, mean truncation 4", ["--mode", "artbp", "--k2", "4"]],
    ["k2 adaptive, k1 = 4", ["--k1", "4", "--k2", "adaptive", "--max-k2", "16", "--bias-tolerance", "0.3"]],
  ];
  for (const [name, schedule] of runs) {
    it(`${name}: stopped mid-epoch and resumed, bit-identical to an uninterrupted run`, () => {
      const slug = name.replace(/\W+/g, "-");
      const args = (out: string): string[] => [
        "--task", "classify", "--tokenizer", "word", "--data", data, "--out", out, "--hidden", "8", "--batch", "8",
        "--epochs", "2", "--val-fraction", "0", "--seed", "4", ...schedule,
      ];
      const straight = join(dir, `${slug}-straight`);
      const stdout = train(args(straight));
      const stopped = join(dir, `${slug}-stopped`);
      train([...args(stopped), "--max-updates", "9"]);
      train(["--resume", stopped, "--max-updates", "0"]);
      assert.ok(readFileSync(join(straight, "model.safetensors")).equals(readFileSync(join(stopped, "model.safetensors"))));

      type Metrics = { epochs: Array<{ tokensPerSecond: number; seconds: number }> };
      const metrics = JSON.parse(readFileSync(join(straight, "metrics.json"), "utf8")) as Metrics;
      for (const epoch of metrics.epochs) {
        // Real tokens only: the epoch's tokens over its seconds (to the rounding of the seconds).
        const counted = epoch.tokensPerSecond * epoch.seconds;
        assert.ok(Math.abs(counted - tokens) <= tokens * 1e-6, `${epoch.tokensPerSecond} tokens/s × ${epoch.seconds} s`);
      }
      assert.match(stdout, new RegExp(`${tokens} tokens per epoch`));
      assert.match(stdout, /epoch 1\/2 .* tokens\/s/);
    });
  }
});
