/** `bptt eval`: the figures of evaluate() on a new file read as training read its data, per task. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Stepper, loadRun, softmax } from "../../src/cli/inference.js";
import { Progress } from "../../src/cli/progress.js";
import { DEFAULT_SETTINGS, type TrainSettings } from "../../src/cli/settings.js";
import { prepareEvaluation } from "../../src/cli/tasks.js";
import { runTraining } from "../../src/cli/train.js";
import { useNativeBackend } from "../../src/native/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { evaluate } from "../../src/train/evaluate.js";

// The figures are compared bit for bit with the CLI's, so this process selects its backend as the CLI does.
useNativeBackend();

const bin = fileURLToPath(new URL("../../../bin/bptt.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bptt-eval-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const rng = new Rng(17);

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLineError(args: string[], pattern?: RegExp): void {
  const r = cli(...args);
  const what = args.join(" ");
  assert.equal(r.status, 2, `${what}: exit ${r.status}, stderr ${r.stderr}`);
  assert.match(r.stderr, /^bptt: [^\n]+\n$/, `${what}: one line, got ${JSON.stringify(r.stderr)}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  if (pattern) assert.match(r.stderr, pattern, what);
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function train(name: string, data: string, overrides: Partial<TrainSettings>): Promise<string> {
  const out = join(dir, name);
  const settings: TrainSettings = { ...DEFAULT_SETTINGS, data, out, hidden: 16, embedding: 8, batch: 4, epochs: 2, valFraction: 0, ...overrides };
  await runTraining({ settings, resume: null, progress: new Progress("json", () => {}) });
  return out;
}

function sentence(words: string[], n: number): string {
  return Array.from({ length: n }, () => words[rng.int(words.length)]).join(" ");
}

const lexicon = "the a cat dog sat ran on under mat log big small".split(" ");
const runs: Record<string, string> = {};
const files: Record<string, string> = {};

before(async () => {
  files.chars = file("chars.txt", `${Array.from({ length: 40 }, () => sentence(lexicon, 6)).join("\n")}\n`);
  files.charsTest = file("chars-test.txt", `${Array.from({ length: 8 }, () => sentence(lexicon, 6)).join("\n")}\nzebra!\n`);
  runs.chars = await train("chars", files.chars, { k1: 16 });
  runs.words = await train("words", files.chars, { tokenizer: "word", k1: 8 });

  const example = (): string => {
    const label = ["neg", "neu", "pos"][rng.int(3)]!;
    const cue = { neg: "awful", neu: "okay", pos: "great" }[label];
    return JSON.stringify({ text: `${sentence(lexicon, 2)} ${cue} ${sentence(lexicon, 3)}`, label, id: rng.int(1000) });
  };
  files.cls = file("cls.jsonl", `${Array.from({ length: 90 }, example).join("\n")}\n`);
  files.clsTest = file("cls-test.jsonl", `${Array.from({ length: 30 }, example).join("\n")}\n`);
  runs.cls = await train("cls", files.cls, { task: "classify", tokenizer: "word", epochs: 6, lr: 0.02, batch: 8 });

  const tagged = (): string => {
    const inputs = sentence(lexicon, 3 + rng.int(4)).split(" ");
    return JSON.stringify({ inputs, labels: inputs.map((w) => (["the", "a"].includes(w) ? "DET" : ["on", "under"].includes(w) ? "ADP" : "OTHER")) });
  };
  files.tags = file("tags.jsonl", `${Array.from({ length: 60 }, tagged).join("\n")}\n`);
  files.tagsTest = file("tags-test.jsonl", `${Array.from({ length: 15 }, tagged).join("\n")}\n`);
  runs.tags = await train("tags", files.tags, { task: "label", epochs: 4, lr: 0.02 });

  const series = (rows: number, phase: number): string =>
    `t,x,y\n${Array.from({ length: rows }, (_, i) => `${i},${Math.sin((i + phase) / 4).toFixed(4)},${Math.cos((i + phase) / 4).toFixed(4)}`).join("\n")}\n`;
  files.series = file("series.csv", series(200, 0));
  files.seriesTest = file("series-test.csv", series(60, 7));
  runs.series = await train("series", files.series, { task: "regress", inputColumns: ["x"], targetColumns: ["x", "y"], window: 20, horizon: 1 });
});

interface Report {
  task: string;
  loss: number;
  terms: number;
  tokenizer?: string;
  accuracy?: number;
  perplexity?: number;
  bitsPerToken?: number;
  mse?: number;
  perClass?: Array<{ label: string; precision: number; recall: number; support: number }>;
}

function evalJson(model: string, data: string, ...extra: string[]): Report {
  const r = cli("eval", "--model", model, "--data", data, "--json", ...extra);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split("\n").length, 1, "one JSON object");
  return JSON.parse(r.stdout) as Report;
}

/** evaluate() called directly on the same file, read with the run's spec. */
async function direct(model: string, data: string, batch: number, lossAt: "every-step" | "last-step" = "every-step") {
  const run = loadRun(model);
  const bptt = typeof run.config.training.k1 === "number" ? run.config.training.k1 : 35;
  return evaluate(run.model, await prepareEvaluation(run.spec, data, batch, bptt), { lossAt });
}

describe("bptt eval", () => {
  it("lm (characters): loss, perplexity, bits per character, as evaluate() gives them", async () => {
    const report = evalJson(runs.chars!, files.charsTest!);
    const e = await direct(runs.chars!, files.charsTest!, 4);
    assert.equal(report.task, "lm");
    assert.equal(report.tokenizer, "char");
    assert.equal(report.loss, e.loss);
    assert.equal(report.terms, e.terms);
    assert.equal(report.perplexity, e.perplexity);
    assert.equal(report.bitsPerToken, e.bitsPerToken);
    assert.equal(report.accuracy, e.accuracy);
    assert.ok(Math.abs(report.perplexity! - Math.exp(report.loss)) < 1e-9 * report.perplexity!);
    assert.equal(report.perClass, undefined, "no per-token table for a language model");
    const text = cli("eval", "--model", runs.chars!, "--data", files.charsTest!);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^loss ${e.loss.toFixed(4)} \\(mean over ${e.terms} characters\\)\\n`));
    assert.match(text.stdout, new RegExp(`perplexity ${e.perplexity!.toFixed(3)}\\n`));
    assert.match(text.stdout, new RegExp(`bits per character ${e.bitsPerToken!.toFixed(4)}\\n`));
  });

  it("lm with --batch 1 is the mean negative log-likelihood of the whole file read as one sequence", () => {
    const report = evalJson(runs.chars!, files.charsTest!, "--batch", "1");
    const run = loadRun(runs.chars!);
    const lines = readFileSync(files.charsTest!, "utf8").split("\n").slice(0, -1);
    const ids = run.vocabulary!.encode(lines.flatMap((line) => [...run.tokenizer!.tokenize(line), "\n"]));
    const V = run.vocabulary!.size;
    const logits = new Stepper(run.model).feed(ids.subarray(0, ids.length - 1), true);
    let nll = 0;
    for (let t = 0; t + 1 < ids.length; t++) nll -= Math.log(softmax(logits, t * V, V)[ids[t + 1]!]!);
    assert.equal(report.terms, ids.length - 1);
    assert.ok(Math.abs(report.loss - nll / (ids.length - 1)) < 1e-5, `${report.loss} vs ${nll / (ids.length - 1)}`);
  });

  it("lm (words): bits per token", () => {
    const text = cli("eval", "--model", runs.words!, "--data", files.charsTest!);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /mean over \d+ tokens/);
    assert.match(text.stdout, /\nbits per token \d/);
  });

  it("classify: accuracy and a per-label table, as evaluate() gives them", async () => {
    const report = evalJson(runs.cls!, files.clsTest!, "--batch", "7");
    const e = await direct(runs.cls!, files.clsTest!, 7, "last-step");
    assert.equal(report.loss, e.loss);
    assert.equal(report.accuracy, e.accuracy);
    assert.equal(report.terms, 30);
    assert.equal(report.perplexity, undefined, "no perplexity for a classifier");
    assert.deepEqual(report.perClass, e.perClass!.map((m, k) => ({ label: ["neg", "neu", "pos"][k], ...m })));
    assert.equal(report.perClass!.reduce((n, m) => n + m.support, 0), 30);
    assert.ok(report.accuracy! > 0.8, `a cue word decides the label: accuracy ${report.accuracy}`);
    // The batch size changes nothing for whole sequences (up to rounding).
    assert.ok(Math.abs(evalJson(runs.cls!, files.clsTest!, "--batch", "1").loss - e.loss) < 1e-5);
    const text = cli("eval", "--model", runs.cls!, "--data", files.clsTest!);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^loss [\d.]+ \(mean over 30 examples\)\naccuracy [\d.]+%\n\nlabel +precision +recall +support\n/);
    for (const [k, label] of ["neg", "neu", "pos"].entries()) {
      const m = e.perClass![k]!;
      assert.match(text.stdout, new RegExp(`\\n${label} +${m.precision.toFixed(3)} +${m.recall.toFixed(3)} +${m.support}\\n`));
    }
  });

  it("eval's accuracy is the share of predict's labels that are right (classify, label with tokens)", () => {
    const report = evalJson(runs.cls!, files.clsTest!);
    const r = cli("predict", "--model", runs.cls!, "--data", files.clsTest!);
    assert.equal(r.status, 0, r.stderr);
    const truth = readFileSync(files.clsTest!, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { label: string }).label);
    const predicted = r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { label: string }).label);
    assert.equal(predicted.length, truth.length);
    assert.equal(report.accuracy, predicted.filter((p, i) => p === truth[i]).length / truth.length);

    const tags = evalJson(runs.tags!, files.tagsTest!);
    const t = cli("predict", "--model", runs.tags!, "--data", files.tagsTest!);
    assert.equal(t.status, 0, t.stderr);
    const tagTruth = readFileSync(files.tagsTest!, "utf8").trim().split("\n").flatMap((l) => (JSON.parse(l) as { labels: string[] }).labels);
    const tagPredicted = t.stdout.trim().split("\n").flatMap((l) => (JSON.parse(l) as { labels: string[] }).labels);
    assert.equal(tagPredicted.length, tagTruth.length);
    assert.equal(tags.terms, tagTruth.length);
    assert.ok(Math.abs(tags.accuracy! - tagPredicted.filter((p, i) => p === tagTruth[i]).length / tagTruth.length) < 1e-12);
  });

  it("label: accuracy over the labelled steps, per tag", async () => {
    const report = evalJson(runs.tags!, files.tagsTest!);
    const e = await direct(runs.tags!, files.tagsTest!, 4);
    assert.equal(report.loss, e.loss);
    assert.equal(report.accuracy, e.accuracy);
    assert.deepEqual(report.perClass!.map((m) => m.label), ["ADP", "DET", "OTHER"]);
    const text = cli("eval", "--model", runs.tags!, "--data", files.tagsTest!);
    assert.match(text.stdout, /labelled steps/);
    assert.match(text.stdout, /\nOTHER +[\d.]+ +[\d.]+ +\d+\n/);
  });

  it("regress: the mean squared error", async () => {
    const report = evalJson(runs.series!, files.seriesTest!);
    const e = await direct(runs.series!, files.seriesTest!, 4);
    assert.equal(report.task, "regress");
    assert.equal(report.loss, e.loss);
    assert.equal(report.mse, e.mse);
    assert.equal(report.accuracy, undefined);
    const text = cli("eval", "--model", runs.series!, "--data", files.seriesTest!);
    assert.match(text.stdout, new RegExp(`\\nmse ${e.mse!.toPrecision(5)} \\(per output value\\)\\n$`));
  });
});

describe("bptt eval: bad input is one line, exit code 2", () => {
  it("a label the run never saw names the file and the line", () => {
    const lines = readFileSync(files.clsTest!, "utf8").trim().split("\n");
    lines.splice(2, 0, JSON.stringify({ text: "the cat", label: "angry" }));
    const bad = file("cls-unseen.jsonl", `${lines.join("\n")}\n`);
    assertOneLineError(["eval", "--model", runs.cls!, "--data", bad], new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: label "angry" did not occur`));
    assertOneLineError(["eval", "--model", runs.tags!, "--data", file("tags-unseen.jsonl", `${JSON.stringify({ inputs: ["a"], labels: ["VERB"] })}\n`)], /tags-unseen\.jsonl:1: label "VERB"/);
  });

  it("missing or malformed data, bad flags, a broken run", () => {
    assertOneLineError(["eval", "--model", runs.cls!, "--data", join(dir, "missing.jsonl")], /missing\.jsonl: no such file/);
    assertOneLineError(["eval", "--model", runs.cls!, "--data", file("cls-bad.jsonl", '{"text": "a", "label": "pos"}\n{"text": \n')], /cls-bad\.jsonl:2: invalid JSON/);
    assertOneLineError(["eval", "--model", runs.series!, "--data", file("series-bad.csv", "t,y\n1,2\n")], /no column "x"/);
    assertOneLineError(["eval", "--model", runs.cls!, "--data", files.clsTest!, "--batch", "0"], /--batch/);
    assertOneLineError(["eval", "--model", runs.cls!], /--data/);
    assertOneLineError(["eval", "--model", join(dir, "nowhere"), "--data", files.clsTest!], /no such directory/);
    const broken = join(dir, "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "config.json"), readFileSync(join(runs.cls!, "config.json")));
    writeFileSync(join(broken, "model.safetensors"), readFileSync(join(runs.tags!, "model.safetensors")));
    assertOneLineError(["eval", "--model", broken, "--data", files.clsTest!], /model\.safetensors: does not fit/);
    writeFileSync(join(broken, "model.safetensors"), readFileSync(join(runs.cls!, "model.safetensors")).subarray(0, 200));
    assertOneLineError(["eval", "--model", broken, "--data", files.clsTest!], /model\.safetensors/);
  });
});
