/**
 * `bptt train --mode uoro` and `--k2 adaptive`: a run stopped after an epoch and resumed ends with
 * weights bit-identical to a run that never stopped. Its checkpoint holds the mode's own state in
 * checkpoint.safetensors (src/cli/mode-state.ts): arrays as tensors, numbers in the metadata — UORO's
 * factors and its generator's state (a NaN among them), the adaptive probe's sums; RTRL's and ARTBP's
 * states are the same kinds of values, and every mode's round trip through exportState/importState is
 * tested in test/train/resume.test.ts. And the flags that do not fit a mode are one-line errors naming them.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Rng } from "../../src/tensor/rng.js";
import { bptt, cliError } from "../helpers/cli.js";
import { scratch } from "../helpers/scratch.js";

const { dir, file } = scratch("modes");
const rng = new Rng(3);
const words = "the cat sat on a mat and ran".split(" ");
const line = (): string => Array.from({ length: 5 }, () => words[rng.int(words.length)]).join(" ");
const data = file("corpus.txt", `${Array.from({ length: 30 }, line).join("\n")}\n`);

function train(args: string[]): void {
  const r = bptt(["train", ...args]);
  assert.equal(r.status, 0, r.stderr);
}

const common = [
  "--data", data, "--hidden", "4", "--embedding", "3", "--batch", "4", "--seed", "2", "--checkpoint-every", "1000",
];
const MODES: Array<[string, string[]]> = [
  ["uoro", ["--mode", "uoro"]],
  ["adaptive", ["--k1", "4", "--k2", "adaptive", "--max-k2", "12", "--bias-tolerance", "0.5"]],
];

describe("a run stopped after an epoch and resumed ends bit-identical to one that never stopped", () => {
  for (const [name, args] of MODES) {
    it(args.join(" "), () => {
      const straight = join(dir, `${name}-straight`);
      const split = join(dir, `${name}-split`);
      train([...common, ...args, "--epochs", "2", "--out", straight]);
      train([...common, ...args, "--epochs", "1", "--out", split]);
      train(["--resume", split, "--epochs", "2"]);
      const expected = readFileSync(join(straight, "model.safetensors"));
      assert.ok(readFileSync(join(split, "model.safetensors")).equals(expected), "the resumed run's weights differ");
      const checkpoint = readFileSync(join(split, "checkpoint.safetensors")).toString("latin1");
      assert.match(checkpoint, new RegExp(`\\\\"kind\\\\":\\\\"${name}\\\\"`), "the checkpoint holds the mode's state");
    });
  }
});

describe("flags that do not fit a mode", () => {
  const refused: Array<[string[], RegExp]> = [
    [["--mode", "rtrl", "--k2", "5"], /--mode rtrl follows the gradient through the whole stream .*: drop --k2/],
    [["--mode", "artbp"], /--mode artbp needs --k2, the mean truncation length: an integer ≥ 2, got none/],
    [["--mode", "online", "--k2", "adaptive"], /--mode online sets k1 and k2 itself/],
    [["--mode", "uoro", "--k2", "adaptive"], /--mode uoro follows the gradient .* drop --k2/],
    [["--k1", "5", "--max-k2", "40"], /--max-k2 is a setting of --k2 adaptive/],
    [["--k1", "5", "--k2", "adaptive", "--bias-tolerance", "0"], /--bias-tolerance expects a number in \(0, 1\)/],
    [["--k2", "sometimes"], /--k2 expects an integer ≥ 1 \(or inf, or adaptive\), got "sometimes"/],
    [["--mode", "rtrl", "--hidden", "200", "--layers", "2"], /mode "rtrl" with hiddenSize 200, 2 layers .* per step/],
    [["--mode", "uoro", "--task", "classify", "--bidirectional"], /reverse direction reads each sequence from its end/],
  ];
  for (const [args, pattern] of refused) {
    it(args.join(" "), async () => {
      const labels = '{"text":"a b","label":"x"}\n{"text":"b a","label":"y"}\n';
      const classify = args.includes("classify") ? ["--data", file("labels.jsonl", labels)] : ["--data", data];
      assert.match(await cliError(["train", ...classify, "--out", join(dir, "refused"), ...args]), pattern);
    });
  }
});
