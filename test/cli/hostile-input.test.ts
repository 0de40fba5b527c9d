/**
 * Issue 11's probe of the CLI, each case a test: unbounded reads, sizes with no cap, errors that came
 * too late or not at all, and load errors that named neither the file nor the tensor. Every answer is
 * a one-line user error (exit code 2), at once. Run in this process (cliError) but for one spawned
 * check of the exit code and the single line.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Progress } from "../../src/cli/progress.js";
import { DEFAULT_SETTINGS, type TrainSettings } from "../../src/cli/settings.js";
import { runTraining } from "../../src/cli/train.js";
import { scratch } from "../helpers/scratch.js";
import { Rng } from "../../src/tensor/rng.js";
import { assertOneLineError, bptt, cliError } from "../helpers/cli.js";

const { dir, file } = scratch("hostile");

const rng = new Rng(3);
const words = "the cat sat on a mat and dog ran to big red house".split(" ");
const corpus = file("corpus.txt", `${Array.from({ length: 120 }, () => Array.from({ length: 6 }, () => words[rng.int(words.length)]).join(" ")).join("\n")}\n`);
const small = ["--epochs", "1", "--hidden", "8", "--batch", "4"];

/** A small trained run in DIR/name (in this process, quietly). */
async function train(name: string, overrides: Partial<TrainSettings> = {}): Promise<string> {
  const out = join(dir, name);
  const settings: TrainSettings = { ...DEFAULT_SETTINGS, data: corpus, out, hidden: 8, embedding: 8, batch: 4, epochs: 1, ...overrides };
  await runTraining({ settings, resume: null, progress: new Progress("json", () => {}) });
  return out;
}

describe("unbounded reads are refused before reading", () => {
  it("a device as --data (spawned: exit 2, one line)", () => {
    assertOneLineError(bptt(["train", "--data", "/dev/zero", "--out", join(dir, "zero")]), /\/dev\/zero: not a regular file \(a character device\)/);
  });
  it("a device as --config, and behind a symlinked model.safetensors", async () => {
    assert.match(await cliError(["train", "--config", "/dev/zero"]), /\/dev\/zero: not a regular file \(a character device\), expected a config file/);
    const linked = await train("linked");
    rmSync(join(linked, "model.safetensors"));
    symlinkSync("/dev/zero", join(linked, "model.safetensors"));
    assert.match(await cliError(["eval", "--model", linked, "--data", corpus]), /linked\/model\.safetensors: not a regular file \(a character device\)/);
    assert.match(await cliError(["predict", "--model", linked, "--data", corpus]), /linked\/model\.safetensors: not a regular file/);
  });
  it("a data file over the limit, named with its size and the limit", async () => {
    const big = file("big.txt", "x".repeat(3000));
    const message = await cliError(["train", "--data", big, "--out", join(dir, "big")], { BPTT_MEMORY_LIMIT: "16k" });
    assert.match(message, /big\.txt: 3\.0 kB, over the 2\.0 kB limit for an input file/);
    assert.match(await cliError(["train", "--data", corpus], { BPTT_MEMORY_LIMIT: "lots" }), /BPTT_MEMORY_LIMIT expects a size in bytes/);
  });
});

describe("sizes are estimated and refused before anything is allocated", () => {
  it("--layers 1000000 and --hidden 1e9: the estimate and the limit", async () => {
    for (const flags of [["--layers", "1000000"], ["--hidden", "1e9"]]) {
      const message = await cliError(["train", "--data", corpus, "--out", join(dir, "huge"), ...flags]);
      assert.match(message, /the model needs an estimated [\d.]+ [TPE]B \(parameters .*, adam state .*, activations .*\), over the [\d.]+ [GMk]B limit/);
    }
  });
  it('"numLayers": 10000000 in a run\'s config.json: eval and generate refuse it at once', async () => {
    const deep = await train("deep");
    const config = JSON.parse(readFileSync(join(deep, "config.json"), "utf8")) as { model: { numLayers: number } };
    config.model.numLayers = 10_000_000;
    writeFileSync(join(deep, "config.json"), JSON.stringify(config));
    assert.match(await cliError(["eval", "--model", deep, "--data", corpus]), /deep\/config\.json: the model needs an estimated .* over the .* limit/);
    assert.match(await cliError(["generate", "--model", deep]), /deep\/config\.json: the model needs an estimated/);
  });
});

describe("errors that came too late or not at all", () => {
  it("classify or label with a single class", async () => {
    const one = file("one.jsonl", `${Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: `text ${i}`, label: "pos" })).join("\n")}\n`);
    assert.match(await cliError(["train", "--task", "classify", "--data", one, "--out", join(dir, "one")]), /one\.jsonl: every label is "pos"; a classifier needs at least 2 labels/);
    const tags = file("tags.jsonl", `${Array.from({ length: 12 }, () => JSON.stringify({ inputs: ["a", "b"], labels: ["X", "X"] })).join("\n")}\n`);
    assert.match(await cliError(["train", "--task", "label", "--data", tags, "--out", join(dir, "tags")]), /tags\.jsonl: every label is "X"/);
  });
  it("--k1 inf or --mode full on a language model, before any data is read", async () => {
    for (const flags of [["--k1", "inf"], ["--mode", "full"], ["--mode", "online"]]) {
      assert.match(await cliError(["train", "--data", join(dir, "no-such-file.txt"), ...flags]), /--task lm .*k2 must be finite/);
    }
  });
  it("a regress validation part shorter than --window", async () => {
    const rows = (n: number): string => `t,x,y\n${Array.from({ length: n }, (_, i) => `${i},${Math.sin(i / 5).toFixed(4)},${Math.cos(i / 5).toFixed(4)}`).join("\n")}\n`;
    const series = file("series.csv", rows(300));
    const regress = { task: "regress" as const, data: series, inputColumns: ["x"], targetColumns: ["y"] };
    // 10% of 300 rows is 30, fewer than a window of 50: no validation, rather than a failure after epoch 1.
    await train("split", regress);
    const short = file("short.csv", rows(20));
    const flags = ["--task", "regress", "--input-columns", "x", "--target-columns", "y", ...small];
    assert.match(await cliError(["train", "--data", series, "--val", short, "--out", join(dir, "short"), ...flags]), /--val .*short\.csv has 20 rows, too few for one window of --window 50/);
  });
  it("--resume with an edited model section in config.json", async () => {
    const edited = await train("edited", { epochs: 2, maxUpdates: 2 });
    const config = JSON.parse(readFileSync(join(edited, "config.json"), "utf8")) as { model: { hiddenSize: number } };
    config.model.hiddenSize = 9;
    writeFileSync(join(edited, "config.json"), JSON.stringify(config));
    assert.match(await cliError(["train", "--resume", edited]), /edited\/config\.json: "model\.hiddenSize" is 9, but the run's settings and data give 8/);
  });
});

describe("errors from loading a file name the file and the tensor", () => {
  it("a NaN in model.safetensors: its file, tensor and index", async () => {
    const nan = await train("nan");
    const bytes = readFileSync(join(nan, "model.safetensors"));
    const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, headerEnd).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
    bytes.writeFloatLE(NaN, headerEnd + header["embedding.weight"]!.data_offsets[0] + 4 * 5);
    writeFileSync(join(nan, "model.safetensors"), bytes);
    assert.match(await cliError(["eval", "--model", nan, "--data", corpus]), /nan\/model\.safetensors: tensor "embedding\.weight" holds NaN at index 5/);
    assert.match(await cliError(["train", "--data", corpus, "--out", join(dir, "init"), "--init", join(nan, "model.safetensors"), "--embedding", "8", ...small]), /nan\/model\.safetensors: tensor "embedding\.weight" holds NaN/);
  });
});
