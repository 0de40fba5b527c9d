/**
 * `bptt train` on bad input: one line on stderr naming the file, line or flag and what was expected,
 * exit code 2, no stack trace, and nothing already saved damaged.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../../bin/bptt.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bptt-train-errors-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function train(...args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [bin, "train", "--epochs", "1", "--hidden", "8", "--batch", "4", ...args], { encoding: "utf8" });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

function assertOneLineError(r: { status: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit ${r.status}, stderr: ${r.stderr}`);
  assert.match(r.stderr, /^bptt: [^\n]+\n$/, `not one line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

const goodJsonl = file("good.jsonl", Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: `text number ${i} ${i % 2 ? "good" : "bad"}`, label: i % 2 ? "pos" : "neg" })).join("\n") + "\n");

describe("bptt train: bad data files", () => {
  it("a missing file", () => assertOneLineError(train("--data", join(dir, "nope.txt")), /nope\.txt: no such file/));
  it("an empty file", () => assertOneLineError(train("--data", file("empty.txt", "")), /empty\.txt: .*empty/));
  it("invalid UTF-8, with its line", () => {
    const bytes = Buffer.concat([Buffer.from("fine line\nsecond "), Buffer.from([0xff, 0xfe]), Buffer.from(" line\n")]);
    assertOneLineError(train("--data", file("latin1.txt", bytes)), /latin1\.txt:2: invalid UTF-8/);
  });
  it("a malformed JSONL row, with its line", () => {
    const path = file("bad.jsonl", `{"text": "a b", "label": "x"}\n{"text": "c d", "label": \n`);
    assertOneLineError(train("--task", "classify", "--data", path), /bad\.jsonl:2: /);
  });
  it("a JSONL row without a label", () => {
    const path = file("nolabel.jsonl", `{"text": "a b", "label": "x"}\n{"text": "c d"}\n`);
    assertOneLineError(train("--task", "classify", "--data", path), /nolabel\.jsonl:2: .*label/);
  });
  it("a CSV row with the wrong number of fields", () => {
    const path = file("bad.csv", `text,label\n"a b",x\n"c d",y,extra\n`);
    assertOneLineError(train("--task", "classify", "--data", path), /bad\.csv:3: /);
  });
  it("a validation label unseen in training", () => {
    const val = file("val.jsonl", `${JSON.stringify({ text: "text good", label: "neutral" })}\n`);
    assertOneLineError(train("--task", "classify", "--data", goodJsonl, "--val", val, "--out", join(dir, "unseen")), /val\.jsonl:1: .*neutral/);
  });
  it("labelling inputs and labels of different lengths", () => {
    const path = file("label.jsonl", `{"inputs": ["a", "b"], "labels": ["X", "Y"]}\n{"inputs": ["a", "b", "c"], "labels": ["X"]}\n`);
    assertOneLineError(train("--task", "label", "--data", path), /label\.jsonl:2: .*"labels" has 1 entries but "inputs" has 3/);
  });
  it("regression without its columns, and with a column that is not there", () => {
    const path = file("series.csv", `t,x,y\n${Array.from({ length: 30 }, (_, i) => `${i},${Math.sin(i)},${Math.cos(i)}`).join("\n")}\n`);
    assertOneLineError(train("--task", "regress", "--data", path), /--input-columns and --target-columns/);
    assertOneLineError(train("--task", "regress", "--data", path, "--input-columns", "x", "--target-columns", "z"), /series\.csv.*z/);
  });
});

describe("bptt train: bad flags and configurations", () => {
  it("values out of range name the flag", () => {
    assertOneLineError(train("--data", goodJsonl, "--k1", "0"), /--k1 expects an integer ≥ 1/);
    assertOneLineError(train("--data", goodJsonl, "--dropout", "1"), /--dropout expects a number in \[0, 1\)/);
    assertOneLineError(train("--data", goodJsonl, "--cell", "transformer"), /--cell expects one of rnn, rnn_relu, lstm, gru/);
    assertOneLineError(train("--data", goodJsonl, "--lr", "-1"), /--lr expects a positive number/);
  });
  it("flags that contradict each other", () => {
    assertOneLineError(train("--data", goodJsonl, "--mode", "full", "--k1", "5"), /--mode full sets k1 and k2 itself/);
    const text = file("corpus.txt", "a b c d e f g h i j k l m n o p\n".repeat(20));
    assertOneLineError(train("--data", text, "--bidirectional", "--out", join(dir, "bi")), /--bidirectional cannot be used with --task lm/);
    assertOneLineError(train("--data", text, "--loss-every-chunk", "--out", join(dir, "lec")), /lossEveryChunk .*last-step/);
    assertOneLineError(train("--task", "classify", "--data", goodJsonl, "--bidirectional", "--k1", "3", "--out", join(dir, "bik")), /bidirectional model .*cannot carry state/);
    assertOneLineError(train("--data", text, "--k2", "inf", "--k1", "5", "--out", join(dir, "inf")), /--task lm .*k2 must be finite/);
  });
  it("a bad config file names itself", () => {
    assertOneLineError(train("--config", file("bad.json", "{ nope")), /bad\.json: not valid JSON/);
    assertOneLineError(train("--config", file("unknown.json", `{"hiddden": 3}`)), /unknown\.json: unknown setting "hiddden"/);
    assertOneLineError(train("--config", file("badvalue.json", `{"hidden": -3}`)), /badvalue\.json: "hidden" expects an integer ≥ 1/);
  });
});

describe("bptt train: bad weights and checkpoints, nothing saved is damaged", () => {
  const corpus = file("small.txt", "the cat sat on the mat and the dog ran\n".repeat(40));
  const out = join(dir, "run");
  const first = train("--data", corpus, "--out", out, "--checkpoint-every", "1");
  it("the reference run trains", () => assert.equal(first.status, 0, first.stderr));

  it("--init with weights of another architecture is refused by name and shape", () => {
    const other = join(dir, "other");
    assert.equal(train("--data", corpus, "--out", other, "--hidden", "6").status, 0);
    assertOneLineError(train("--data", corpus, "--out", join(dir, "init"), "--init", join(other, "model.safetensors")), /other\/model\.safetensors: does not fit this model: .*expected shape/);
  });
  it("--init with a file whose safetensors header lies", () => {
    const lying = Buffer.alloc(16);
    lying.writeBigUInt64LE(1n << 40n, 0);
    assertOneLineError(train("--data", corpus, "--out", join(dir, "lie"), "--init", file("lie.safetensors", lying)), /lie\.safetensors: header length/);
  });
  it("--resume with a truncated checkpoint fails in one line and leaves the run's files as they were", () => {
    const checkpoint = join(out, "checkpoint.safetensors");
    const model = readFileSync(join(out, "model.safetensors"));
    const whole = readFileSync(checkpoint);
    writeFileSync(checkpoint, whole.subarray(0, whole.length - 100));
    assertOneLineError(train("--resume", out, "--epochs", "2"), /checkpoint\.safetensors: /);
    assert.ok(readFileSync(join(out, "model.safetensors")).equals(model), "model.safetensors was changed");
    assert.equal(readFileSync(checkpoint).length, whole.length - 100, "the checkpoint was changed");
    writeFileSync(checkpoint, whole);
  });
  it("--resume with a config.json that is not a run's", () => {
    const fake = join(dir, "fake");
    assert.equal(train("--data", corpus, "--out", fake).status, 0);
    writeFileSync(join(fake, "config.json"), `{"format": "something-else"}`);
    assertOneLineError(train("--resume", fake), /fake\/config\.json: not a bptt run configuration/);
  });
});
