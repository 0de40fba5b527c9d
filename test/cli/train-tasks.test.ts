/** `bptt train` on each kind of file, end to end: it learns, writes the run directory, and speaks JSON when asked. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseSafetensors } from "../../src/formats/safetensors.js";
import { Rng } from "../../src/tensor/rng.js";

const bin = fileURLToPath(new URL("../../../bin/bptt.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bptt-train-tasks-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const rng = new Rng(3);

function train(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, "train", ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Metrics {
  updates: number;
  epochs: Array<{ trainLoss: number; validation?: { loss: number; accuracy?: number; mse?: number } }>;
}

function metrics(out: string): Metrics {
  return JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as Metrics;
}

describe("bptt train, one task at a time", () => {
  it("classify (JSONL): the label is the first word; accuracy rises, a PyTorch-named model is saved", () => {
    const lines = Array.from({ length: 200 }, () => {
      const label = rng.int(2) ? "pos" : "neg";
      const filler = Array.from({ length: 5 + rng.int(6) }, () => ["x", "y", "z", "w"][rng.int(4)]).join(" ");
      return JSON.stringify({ text: `${label === "pos" ? "great" : "awful"} ${filler}`, label });
    });
    const data = join(dir, "cls.jsonl");
    writeFileSync(data, `${lines.join("\n")}\n`);
    const out = join(dir, "cls");
    const r = train("--task", "classify", "--tokenizer", "word", "--data", data, "--out", out, "--hidden", "16", "--epochs", "6", "--lr", "0.02", "--batch", "16");
    assert.equal(r.status, 0, r.stderr);
    const m = metrics(out);
    assert.ok(m.epochs.at(-1)!.validation!.accuracy! > 0.9, JSON.stringify(m.epochs.at(-1)));
    const names = [...parseSafetensors(readFileSync(join(out, "model.safetensors"))).tensors.keys()].sort();
    assert.deepEqual(names, ["embedding.weight", "head.bias", "head.weight", "rnn.bias_hh_l0", "rnn.bias_ih_l0", "rnn.weight_hh_l0", "rnn.weight_ih_l0"]);
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as { data: { labels: string[]; vocabulary: string[] } };
    assert.deepEqual(config.data.labels, ["neg", "pos"]);
    assert.ok(config.data.vocabulary.includes("great"));
  });

  it("classify (CSV) with truncation and a loss at every chunk", () => {
    const rows = Array.from({ length: 120 }, () => {
      const label = rng.int(2);
      return `"${label ? "yes" : "no"} ${Array.from({ length: 12 }, () => "a b c".split(" ")[rng.int(3)]).join(" ")}",${label}`;
    });
    const data = join(dir, "cls.csv");
    writeFileSync(data, `text,label\n${rows.join("\n")}\n`);
    const out = join(dir, "cls-csv");
    const r = train("--task", "classify", "--tokenizer", "word", "--data", data, "--out", out, "--hidden", "12", "--epochs", "2", "--k1", "4", "--k2", "4", "--loss-every-chunk", "--cell", "gru");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(metrics(out).updates > 2 * Math.ceil(108 / 32), "one update per chunk, several chunks per batch");
  });

  it("label (JSONL with feature vectors): framewise classes", () => {
    const lines = Array.from({ length: 60 }, () => {
      const T = 4 + rng.int(5);
      const classes = Array.from({ length: T }, () => rng.int(3));
      return JSON.stringify({ inputs: classes.map((c) => [c === 0 ? 1 : 0, c === 1 ? 1 : 0, c === 2 ? 1 : 0]), labels: classes.map((c) => `c${c}`) });
    });
    const data = join(dir, "frames.jsonl");
    writeFileSync(data, `${lines.join("\n")}\n`);
    const out = join(dir, "frames");
    const r = train("--task", "label", "--data", data, "--out", out, "--hidden", "8", "--epochs", "8", "--lr", "0.05", "--batch", "8", "--cell", "rnn");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(metrics(out).epochs.at(-1)!.validation!.accuracy! > 0.9);
  });

  it("regress (CSV): forecast a sine one step ahead; --json events and a --config file", () => {
    const rows = Array.from({ length: 400 }, (_, i) => `${i},${Math.sin(i / 5).toFixed(5)}`);
    const data = join(dir, "sine.csv");
    writeFileSync(data, `t,value\n${rows.join("\n")}\n`);
    const config = join(dir, "regress.json");
    writeFileSync(config, JSON.stringify({ task: "regress", "input-columns": "value", targetColumns: ["value"], hidden: 8, window: 20, epochs: 3, lr: 0.02, batch: 8 }));
    const out = join(dir, "sine");
    const r = train("--config", config, "--data", data, "--out", out, "--json");
    assert.equal(r.status, 0, r.stderr);
    const events = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as { event: string });
    assert.deepEqual([...new Set(events.map((e) => e.event))].filter((e) => e !== "update"), ["start", "epoch", "summary"]);
    const m = metrics(out);
    assert.ok(m.epochs.at(-1)!.validation!.mse! < m.epochs[0]!.trainLoss, JSON.stringify(m.epochs.map((e) => e.validation)));
  });

  it("lm: a character model on a text file, with diagnostics written", () => {
    const data = join(dir, "abc.txt");
    writeFileSync(data, "abcabcabcabc\n".repeat(80));
    const out = join(dir, "abc");
    const r = train("--data", data, "--out", out, "--hidden", "16", "--epochs", "2", "--k1", "10", "--k2", "20", "--diagnostics", "--batch", "8", "--lr", "0.01");
    assert.equal(r.status, 0, r.stderr);
    const v = metrics(out).epochs.at(-1)!.validation as { perplexity: number } | undefined;
    assert.ok(v && v.perplexity < 1.5, `perplexity ${v?.perplexity}`);
    assert.ok(existsSync(join(out, "diagnostics.csv")));
    const lags = readFileSync(join(out, "diagnostics.csv"), "utf8").trim().split("\n").length - 1;
    assert.equal(lags, 20, "one row per lag 0…k2−1");
  });
});
