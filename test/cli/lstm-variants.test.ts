/**
 * The LSTM's variants through the command line: `bptt train --proj P --peephole` writes their tensors
 * (model.safetensors under PyTorch's names and weight_peephole; the checkpoint's weight copies of the
 * kept window), a run stopped mid-epoch and resumed ends bit-identical to an uninterrupted one (k2 > k1:
 * the window back-propagates through weight_hr and the peepholes of earlier updates), `bptt generate`
 * and `bptt eval` load the run, and the flags are refused, in one line, where they do not apply.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadSafetensors } from "../../src/io/safetensors-file.js";
import { Rng } from "../../src/tensor/rng.js";
import { bptt, cliError } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "bptt-lstm-variants-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function corpus(path: string): void {
  const rng = new Rng(3);
  const words = "ab ba abc cab bca".split(" ");
  const line = (): string => Array.from({ length: 3 + rng.int(5) }, () => words[rng.int(5)]).join(" ");
  const lines = Array.from({ length: 60 }, line);
  writeFileSync(path, `${lines.join("\n")}\n`);
}

function train(args: string[]): void {
  const r = bptt(["train", ...args]);
  assert.equal(r.status, 0, r.stderr);
}

/** name → shape of every tensor in a safetensors file. */
function shapes(path: string): Map<string, number[]> {
  return new Map([...loadSafetensors(path).tensors].map(([name, t]) => [name, [...t.shape]]));
}

describe("bptt train --proj --peephole", () => {
  const data = join(dir, "corpus.txt");
  corpus(data);
  const args = (out: string): string[] => [
    "--data", data, "--out", out, "--hidden", "8", "--proj", "3", "--peephole", "--layers", "2", "--embedding", "4",
    "--batch", "4", "--k1", "5", "--k2", "12", "--epochs", "2", "--val-fraction", "0.2", "--seed", "9",
  ];
  const straight = join(dir, "straight");

  it("writes the variants' tensors; stopped and resumed, it ends bit-identical to an uninterrupted run", () => {
    train(args(straight));
    type Config = { model: Record<string, unknown> };
    const config = JSON.parse(readFileSync(join(straight, "config.json"), "utf8")) as Config;
    assert.equal(config.model["projSize"], 3);
    assert.equal(config.model["peephole"], true);
    const model = shapes(join(straight, "model.safetensors"));
    assert.deepEqual(model.get("rnn.weight_hr_l1"), [3, 8], "PyTorch's weight_hr: (P, H)");
    assert.deepEqual(model.get("rnn.weight_hh_l1"), [32, 3], "PyTorch's weight_hh: (4H, P)");
    assert.deepEqual(model.get("rnn.weight_ih_l1"), [32, 3], "the next layer reads P values");
    assert.deepEqual(model.get("rnn.weight_peephole_l0"), [24]);
    assert.deepEqual(model.get("head.weight")?.[1], 3);

    const stopped = join(dir, "stopped");
    train([...args(stopped), "--max-updates", "13"]);
    const kept = [...shapes(join(stopped, "checkpoint.safetensors")).keys()];
    const copies = (part: string): boolean =>
      kept.some((name) => new RegExp(`^trainer\\.segment\\.\\d+\\.weights\\.\\d+\\.${part}$`).test(name));
    assert.ok(copies("hr"), "the window's copies of weight_hr");
    assert.ok(copies("peephole"), "and of the peepholes");
    train(["--resume", stopped, "--max-updates", "0"]);
    const weights = (run: string): Buffer => readFileSync(join(run, "model.safetensors"));
    assert.ok(weights(straight).equals(weights(stopped)), "bit-identical weights");
  });

  it("bptt generate and bptt eval load the run", () => {
    const generated = bptt(["generate", "--model", straight, "--length", "40", "--seed", "1"]);
    assert.equal(generated.status, 0, generated.stderr);
    assert.ok(generated.stdout.length >= 40, generated.stdout);
    const evaluated = bptt(["eval", "--model", straight, "--data", data]);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.match(evaluated.stdout, /loss/);
  });

  it("refuses --proj and --peephole where they do not apply, in one line", async () => {
    const refusal = (...args: string[]): Promise<string> => cliError(["train", ...args, "--data", data]);
    assert.match(await refusal("--cell", "gru", "--proj", "2"), /--proj 2 applies to --cell lstm, not gru/);
    assert.match(await refusal("--cell", "rnn", "--peephole"), /--peephole applies to --cell lstm, not rnn/);
    assert.match(
      await cliError(["train", "--hidden", "8", "--proj", "8", "--data", data]),
      /--proj 8 must be smaller than --hidden 8/,
    );
    assert.match(await cliError(["train", "--proj", "-1", "--data", data]), /--proj expects an integer ≥ 0, got "-1"/);
  });
});
