/** `bptt predict`: one JSON line per input line, each line its own sequence; one-line errors for bad lines. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadRun } from "../../src/cli/inference.js";
import { runPrediction } from "../../src/cli/predict.js";
import { Progress } from "../../src/cli/progress.js";
import { DEFAULT_SETTINGS, type TrainSettings } from "../../src/cli/settings.js";
import { runTraining } from "../../src/cli/train.js";
import { Rng } from "../../src/tensor/rng.js";
import { Tensor } from "../../src/tensor/tensor.js";

const bin = fileURLToPath(new URL("../../../bin/bptt.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bptt-predict-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const rng = new Rng(23);

function cli(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", ...(input !== undefined ? { input } : {}) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function predict(model: string, data: string, input?: string): Array<Record<string, unknown>> {
  const r = cli(["predict", "--model", model, "--data", data], input);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  return r.stdout.split("\n").slice(0, -1).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The error line, and what was printed before it. */
function assertOneLineError(args: string[], pattern: RegExp, input?: string): string {
  const r = cli(args, input);
  const what = args.join(" ");
  assert.equal(r.status, 2, `${what}: exit ${r.status}, stderr ${r.stderr}`);
  assert.match(r.stderr, /^bptt: [^\n]+\n$/, `${what}: one line, got ${JSON.stringify(r.stderr)}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.match(r.stderr, pattern, what);
  return r.stdout;
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function train(name: string, text: string, overrides: Partial<TrainSettings>): Promise<string> {
  const out = join(dir, name);
  const settings: TrainSettings = { ...DEFAULT_SETTINGS, data: file(`${name}.train`, text), out, hidden: 16, embedding: 8, batch: 4, epochs: 2, valFraction: 0, ...overrides };
  await runTraining({ settings, resume: null, progress: new Progress("json", () => {}) });
  return out;
}

const lexicon = "the a cat dog sat ran on under mat log".split(" ");
const sentence = (n: number): string => Array.from({ length: n }, () => lexicon[rng.int(lexicon.length)]).join(" ");
const runs: Record<string, string> = {};

before(async () => {
  const example = (): string => {
    const label = ["neg", "pos", "neu"][rng.int(3)]!;
    return JSON.stringify({ text: `${sentence(2)} ${{ neg: "awful", neu: "okay", pos: "great" }[label]} ${sentence(2)}`, label });
  };
  runs.cls = await train("cls.jsonl", `${Array.from({ length: 60 }, example).join("\n")}\n`, { task: "classify", tokenizer: "word", lowercase: true, epochs: 4, lr: 0.02 });
  const frames = (): string => {
    const classes = Array.from({ length: 3 + rng.int(5) }, () => rng.int(3));
    return JSON.stringify({ inputs: classes.map((c) => [c === 0 ? 1 : 0, c === 1 ? 1 : 0]), labels: classes.map((c) => `c${c}`) });
  };
  runs.frames = await train("frames.jsonl", `${Array.from({ length: 40 }, frames).join("\n")}\n`, { task: "label", cell: "gru", epochs: 4, lr: 0.05 });
  runs.abc = await train("abc.txt", `${Array.from({ length: 50 }, () => "abc".repeat(8)).join("\n")}\n`, { epochs: 8, k1: 20, lr: 0.01 });
  runs.series = await train("series.csv", `x,y\n${Array.from({ length: 160 }, (_, i) => `${Math.sin(i / 4).toFixed(4)},${Math.cos(i / 4).toFixed(4)}`).join("\n")}\n`, {
    task: "regress", inputColumns: ["x"], targetColumns: ["y", "x"], window: 16, layers: 2,
  });
});

describe("bptt predict", () => {
  it("classify: a label and probabilities that sum to 1, the label their argmax; JSON or raw text lines", () => {
    const input = [
      JSON.stringify({ text: "the cat great", id: 1, label: "ignored" }),
      "a dog awful on the mat",
      "",
      JSON.stringify({ text: "OKAY" }),
      "{ not json? no: a raw line that happens to be JSON-less",
      "42",
    ];
    // The 5th line starts like an object: that one is an error; the others are fine.
    const good = input.filter((_, i) => i !== 4);
    const out = predict(runs.cls!, file("cls-in.txt", `${good.join("\n")}\n`));
    assert.equal(out.length, 4, "one line per non-blank input line");
    for (const record of out) {
      const probabilities = record.probabilities as Record<string, number>;
      assert.deepEqual(Object.keys(probabilities), ["neg", "neu", "pos"]);
      const sum = Object.values(probabilities).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-9, `sum ${sum}`);
      const best = Object.entries(probabilities).reduce((a, b) => (b[1] > a[1] ? b : a));
      assert.equal(record.label, best[0]);
    }
    assert.deepEqual(out.slice(0, 3).map((r) => r.label), ["pos", "neg", "neu"], "the cue word decides (lower-cased as in training)");
    const bad = file("cls-bad.txt", `${input.join("\n")}\n`);
    const before = assertOneLineError(["predict", "--model", runs.cls!, "--data", bad], /cls-bad\.txt:5: invalid JSON/);
    assert.equal(before.split("\n").length - 1, 3, "the lines before the bad one were printed");
  });

  it("classify: a file gives what each of its lines gives alone, in any order; stdin and CSV alike", () => {
    const lines = Array.from({ length: 6 }, () => JSON.stringify({ text: `${sentence(3)} ${["awful", "great", "okay"][rng.int(3)]} ${sentence(rng.int(4))}` }));
    const whole = predict(runs.cls!, file("cls-many.jsonl", `${lines.join("\n")}\n`));
    const alone = lines.map((line, i) => predict(runs.cls!, file(`cls-one-${i}.jsonl`, `${line}\n`))[0]);
    assert.deepEqual(whole, alone);
    assert.deepEqual(predict(runs.cls!, file("cls-reversed.jsonl", `${[...lines].reverse().join("\n")}\n`)), [...whole].reverse());
    assert.deepEqual(predict(runs.cls!, "-", `${lines.join("\r\n")}`), whole, "stdin, CRLF, no final line break");
    const csv = `id,text\n${lines.map((l, i) => `${i},"${(JSON.parse(l) as { text: string }).text}"`).join("\n")}\n`;
    assert.deepEqual(predict(runs.cls!, file("cls-many.csv", csv)), whole);
  });

  it("label: one label per step from the label set, mostly right; the CLI prints what runPrediction gives", async () => {
    const sequences = Array.from({ length: 5 }, () => Array.from({ length: 2 + rng.int(6) }, () => rng.int(3)));
    const input = sequences.map((s) => JSON.stringify({ inputs: s.map((c) => [c === 0 ? 1 : 0, c === 1 ? 1 : 0]) }));
    const out = predict(runs.frames!, file("frames-in.jsonl", `${input.join("\n")}\n`));
    assert.equal(out.length, 5);
    out.forEach((record, i) => {
      const labels = record.labels as string[];
      assert.equal(labels.length, sequences[i]!.length);
      for (const label of labels) assert.ok(["c0", "c1", "c2"].includes(label), label);
    });
    const correct = out.reduce((n, r, i) => n + (r.labels as string[]).filter((l, t) => l === `c${sequences[i]![t]}`).length, 0);
    const steps = sequences.reduce((n, s) => n + s.length, 0);
    assert.ok(correct / steps > 0.8, `framewise classes are learnable: ${correct}/${steps}`);
    // In-process, the same records.
    const records: Array<Record<string, unknown>> = [];
    await runPrediction({ model: runs.frames!, data: join(dir, "frames-in.jsonl") }, (r) => records.push(r));
    assert.deepEqual(records, out);
    const bad = file("frames-bad.jsonl", `${input[0]}\n${JSON.stringify({ inputs: [[1, 0, 0]] })}\n`);
    assertOneLineError(["predict", "--model", runs.frames!, "--data", bad], /frames-bad\.jsonl:2: field "inputs"\[0\] must be an array of 2 numbers/);
    assertOneLineError(["predict", "--model", runs.frames!, "--data", "-"], /stdin:1: missing field "inputs"/, '{"labels": []}\n');
    assertOneLineError(["predict", "--model", runs.frames!, "--data", "-"], /stdin:2: invalid JSON/, `${input[0]}\nplain text\n`);
  });

  it("lm: the five most likely next tokens of each line, no <pad>", () => {
    const out = predict(runs.abc!, "-", "ab\nabcabca\n\nc\n");
    assert.equal(out.length, 4, "an empty line is a prime too: the start of a line");
    const firsts = out.map((r) => (r.next as Array<{ token: string; probability: number }>)[0]!.token);
    assert.deepEqual(firsts, ["c", "b", "a", "a"]);
    for (const record of out) {
      const next = record.next as Array<{ token: string; probability: number }>;
      assert.equal(next.length, 5);
      assert.ok(next.every((n, i) => i === 0 || n.probability <= next[i - 1]!.probability));
      assert.ok(!next.some((n) => n.token === "<pad>"));
      const sum = next.reduce((s, n) => s + n.probability, 0);
      assert.ok(sum <= 1 + 1e-9 && sum > 0.9, `all tokens but <pad> (6 in all): ${sum}`);
    }
    assert.deepEqual(predict(runs.abc!, "-", "c\n"), out.slice(3), "each line alone");
  });

  it("regress: the whole file as one sequence (read in chunks), as the model computes it in one pass", () => {
    const rows = 1100;
    const xs = Array.from({ length: rows }, (_, i) => Math.sin(i / 4 + 0.3));
    const csv = `y,x,other\n${xs.map((x) => `,${x.toFixed(5)},z`).join("\n")}\n`;
    const out = predict(runs.series!, file("series-in.csv", csv));
    assert.equal(out.length, 1);
    const predictions = out[0]!.predictions as number[][];
    assert.equal(predictions.length, rows);
    assert.ok(predictions.every((p) => p.length === 2));
    const { model } = loadRun(runs.series!);
    const x = new Tensor(Float32Array.from(xs.map((v) => Number(v.toFixed(5)))), [rows, 1, 1]);
    const hidden = model.rnn.forward(x).output;
    const expected = model.head.forward(hidden.data, rows).out;
    for (let t = 0; t < rows; t++) {
      for (let o = 0; o < 2; o++) assert.ok(Math.abs(predictions[t]![o]! - expected[t * 2 + o]!) < 1e-5, `row ${t}, output ${o}`);
    }
    assertOneLineError(["predict", "--model", runs.series!, "--data", file("series-bad.csv", "x\n0.5\n0.25\nabc\n")], /series-bad\.csv:4: column "x" is an input and must be a number, got "abc"/);
    assertOneLineError(["predict", "--model", runs.series!, "--data", file("series-nox.csv", "y\n0.5\n")], /series-nox\.csv:1: no column "x"/);
  });
});

describe("bptt predict: bad input is one line, exit code 2", () => {
  it("malformed lines name the line", () => {
    assertOneLineError(["predict", "--model", runs.cls!, "--data", "-"], /stdin:2: field "text" must be a string/, '{"text": "ok"}\n{"text": 5}\n');
    assertOneLineError(["predict", "--model", runs.cls!, "--data", "-"], /stdin:1: missing field "text"/, '{"body": "ok"}\n');
    assertOneLineError(["predict", "--model", runs.cls!, "--data", "-"], /stdin:3: the text has no tokens/, 'a\nb\n{"text": "  "}\n');
    assertOneLineError(["predict", "--model", runs.cls!, "--data", "-"], /stdin: no input/, "");
  });

  it("a missing data file, a missing or broken run", () => {
    assertOneLineError(["predict", "--model", runs.cls!, "--data", join(dir, "missing.jsonl")], /missing\.jsonl: no such file/);
    assertOneLineError(["predict", "--model", runs.cls!], /--data/);
    assertOneLineError(["predict", "--model", join(dir, "nowhere"), "--data", "-"], /no such directory/, "x\n");
    const broken = join(dir, "broken");
    mkdirSync(broken);
    assertOneLineError(["predict", "--model", broken, "--data", "-"], /broken\/config\.json: no such/, "x\n");
    writeFileSync(join(broken, "config.json"), readFileSync(join(runs.frames!, "config.json")));
    assertOneLineError(["predict", "--model", broken, "--data", "-"], /model\.safetensors: no such/, "x\n");
    writeFileSync(join(broken, "model.safetensors"), readFileSync(join(runs.frames!, "config.json")));
    assertOneLineError(["predict", "--model", broken, "--data", "-"], /model\.safetensors/, "x\n");
    writeFileSync(join(broken, "model.safetensors"), readFileSync(join(runs.cls!, "model.safetensors")));
    assertOneLineError(["predict", "--model", broken, "--data", "-"], /model\.safetensors: does not fit/, "x\n");
  });
});
