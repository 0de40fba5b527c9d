/**
 * Training that goes non-finite or diverges stops at the first update that shows it, names the epoch,
 * the update and the likely cause, keeps the last good model and exits 2; nothing non-finite is ever
 * written or resumed from; weights that are finite but overflow give a clear error in eval, predict and
 * generate, never "loss NaN" or blank lines.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Progress } from "../../src/cli/progress.js";
import { saveModel } from "../../src/cli/run-directory.js";
import { DEFAULT_SETTINGS, type TrainSettings } from "../../src/cli/settings.js";
import { runTraining } from "../../src/cli/train.js";
import { loadSafetensors } from "../../src/io/safetensors-file.js";
import { SequenceModel } from "../../src/train/model.js";
import { scratch } from "../helpers/scratch.js";
import { Rng } from "../../src/tensor/rng.js";
import { cliError } from "../helpers/cli.js";

const { dir, file } = scratch("non-finite");

const rng = new Rng(5);
const words = "the cat sat on a mat and dog ran to big red house".split(" ");
const corpus = file("corpus.txt", `${Array.from({ length: 150 }, () => Array.from({ length: 7 }, () => words[rng.int(words.length)]).join(" ")).join("\n")}\n`);
const sine = file("sine.csv", `t,x,y\n${Array.from({ length: 300 }, (_, i) => `${i},${Math.sin(i / 5).toFixed(4)},${Math.cos(i / 5).toFixed(4)}`).join("\n")}\n`);

async function train(name: string, overrides: Partial<TrainSettings> = {}): Promise<string> {
  const out = join(dir, name);
  const settings: TrainSettings = { ...DEFAULT_SETTINGS, data: corpus, out, hidden: 8, embedding: 8, batch: 4, epochs: 1, ...overrides };
  await runTraining({ settings, resume: null, progress: new Progress("json", () => {}) });
  return out;
}

/** Every value of every tensor of a safetensors file is finite. */
function allFinite(path: string): boolean {
  return [...loadSafetensors(path).tensors.values()].every((t) => t.data.every(Number.isFinite));
}

/** Rewrites every float of a safetensors file's data with `value`. */
function fill(path: string, value: number): void {
  const bytes = readFileSync(path);
  for (let at = 8 + Number(bytes.readBigUInt64LE(0)); at < bytes.length; at += 4) bytes.writeFloatLE(value, at);
  writeFileSync(path, bytes);
}

describe("training stops at the first non-finite or diverged update", () => {
  it("regress with --lr 100: stops in the epoch it turns NaN, keeps the last good (finite) model, exit 2", async () => {
    const out = join(dir, "regress");
    const message = await cliError([
      "train", "--task", "regress", "--data", sine, "--input-columns", "x", "--target-columns", "y", "--cell", "rnn_relu",
      "--optimizer", "sgd", "--lr", "100", "--epochs", "5", "--out", out,
    ]);
    assert.match(message, /^training diverged in epoch \d+, update \d+: the (loss|gradient norm) is (NaN|-?Infinity); the learning rate \(--lr 100\) is likely too high \(try 10\).*; (the last good model \(saved after update \d+\) is kept in .*model\.safetensors|no model was saved)/);
    for (const name of ["model.safetensors", "checkpoint.safetensors"]) {
      if (existsSync(join(out, name))) assert.ok(allFinite(join(out, name)), `${name} is finite`);
    }
  });

  it("an LSTM language model at --lr 1e6, whose loss is finite but 10^6: stopped as diverged", async () => {
    const message = await cliError(["train", "--data", corpus, "--lr", "1e6", "--hidden", "16", "--epochs", "2", "--out", join(dir, "lr")]);
    assert.match(message, /^training diverged in epoch 1, update \d+: the mean loss [\d.e+]+ is over 100 times that of a uniform guess \([\d.]+\); the learning rate \(--lr 1000000\)/);
  });

  it("non-finite weights are never written", () => {
    const model = new SequenceModel({ cell: "gru", vocabSize: 5, embeddingDim: 3, hiddenSize: 4, outputSize: 5, objective: "classes" });
    model.head.parameters()[0]!.value[2] = Infinity;
    const out = join(dir, "never");
    assert.throws(() => saveModel(out, model), /never\/model\.safetensors: not written: tensor "head\.weight" holds Infinity at index 2/);
    assert.ok(!existsSync(join(out, "model.safetensors")));
  });
});

describe("non-finite files are refused", () => {
  it("--resume from a checkpoint that holds NaN: refused by file and tensor, model.safetensors untouched", async () => {
    const out = await train("resume", { epochs: 2, maxUpdates: 3 });
    const model = readFileSync(join(out, "model.safetensors"));
    fill(join(out, "checkpoint.safetensors"), NaN);
    const message = await cliError(["train", "--resume", out]);
    assert.match(message, /resume\/checkpoint\.safetensors: tensor "[^"]+" holds NaN at index 0; the weights are not finite/);
    assert.ok(readFileSync(join(out, "model.safetensors")).equals(model));
  });

  it("weights that are finite but overflow (3e38): eval, predict and generate say so", async () => {
    const out = await train("huge");
    fill(join(out, "model.safetensors"), 3e38);
    const overflow = /the model's outputs are not finite \((NaN|-?Infinity)\): the weights in .*huge\/model\.safetensors \(largest magnitude 3\.00e\+38\) overflow/;
    assert.match(await cliError(["eval", "--model", out, "--data", corpus]), overflow);
    assert.match(await cliError(["predict", "--model", out, "--data", corpus]), overflow);
    assert.match(await cliError(["generate", "--model", out, "--length", "20"]), overflow);
  });
});
