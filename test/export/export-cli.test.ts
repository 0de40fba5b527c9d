/**
 * `bptt export`: trained runs written as ONNX files and run in ONNX Runtime. Greedy generation from an
 * exported character model (LSTM; GRU; LSTM with a projection and peepholes, --proj --peephole) prints
 * the text of `bptt generate --top-k 1`; an exported classifier, fed
 * a padded batch with sequence_lens, gives `bptt predict`'s probabilities; bad input is one line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import * as ort from "onnxruntime-node";
import { isUserError } from "../../src/cli/errors.js";
import { exportRun } from "../../src/cli/export.js";
import { loadRun } from "../../src/cli/inference.js";
import { generateText } from "../../src/cli/generate.js";
import { Progress } from "../../src/cli/progress.js";
import { runPrediction } from "../../src/cli/predict.js";
import { DEFAULT_SETTINGS, type TrainSettings } from "../../src/cli/settings.js";
import { runTraining } from "../../src/cli/train.js";
import { ModelProtoSchema } from "../../src/export/proto/onnx_pb.js";
import { openSession } from "./ort.js";

const bin = fileURLToPath(new URL("../../../bin/bptt.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bptt-export-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function train(name: string, data: string, overrides: Partial<TrainSettings>): Promise<string> {
  const path = join(dir, `${name}.data`);
  writeFileSync(path, data);
  const out = join(dir, name);
  const settings: TrainSettings = {
    ...DEFAULT_SETTINGS,
    data: path,
    out,
    hidden: 16,
    embedding: 8,
    batch: 4,
    epochs: 2,
    valFraction: 0,
    ...overrides,
  };
  await runTraining({ settings, resume: null, progress: new Progress("json", () => {}) });
  return out;
}

/** Exports a run as `bptt export` does (in this process: a CLI process costs a second here) and returns the file. */
function exported(run: string): string {
  const file = join(dir, `${run.split("/").pop()}.onnx`);
  assert.match(exportRun({ model: run, out: file }), /^wrote .*\.onnx \(ONNX, \d+ bytes\)\n/);
  return file;
}

const TEXT = `${Array.from({ length: 40 }, (_, i) => ["the cat sat", "a dog ran far", "the end"][i % 3]).join("\n")}\n`;
let lstmLm = "";
let gruLm = "";
let lstmpLm = "";
let classifier = "";

before(async () => {
  lstmLm = await train("lstm-lm", TEXT, { cell: "lstm", layers: 2, k1: 16, lr: 0.02, epochs: 8 });
  gruLm = await train("gru-lm", TEXT, { cell: "gru", k1: 16, lr: 0.02, epochs: 4 });
  lstmpLm = await train("lstmp-lm", TEXT, { cell: "lstm", layers: 2, proj: 6, peephole: true, k1: 16, lr: 0.02, epochs: 8 });
  const reviews = Array.from({ length: 24 }, (_, i) =>
    JSON.stringify(
      i % 2
        ? { text: ["good", "a good day", "very good film indeed"][i % 3], label: "pos" }
        : { text: ["bad", "a bad day", "very bad film"][i % 3], label: "neg" },
    ),
  );
  classifier = await train("cls", `${reviews.join("\n")}\n`, {
    task: "classify",
    tokenizer: "word",
    cell: "gru",
    bidirectional: true,
    mode: "full",
    k1: null,
  });
});

/**
 * Greedy generation in ONNX Runtime, as `bptt generate` does it with --top-k 1: the prime's tokens as
 * one chunk from zero states, then one token at a time, the most likely one (never <pad>, id 0), the
 * states carried. The vocabulary comes from the file's own metadata.
 */
async function greedyInOnnxRuntime(file: string, prime: string, length: number): Promise<string> {
  const bytes = readFileSync(file);
  const metadata = Object.fromEntries(fromBinary(ModelProtoSchema, bytes).metadataProps.map((p) => [p.key, p.value]));
  const vocabulary = (JSON.parse(metadata["bptt.data"]!) as { vocabulary: string[] }).vocabulary;
  const session = await openSession(bytes);
  const lstm = session.inputNames.includes("c0");
  const config = JSON.parse(metadata["bptt.model"]!) as { hiddenSize: number; numLayers: number; projSize?: number };
  // h has P values with a projection, c has H.
  const R = config.projSize ?? config.hiddenSize;
  let h: ort.Tensor = new ort.Tensor("float32", new Float32Array(config.numLayers * R), [config.numLayers, 1, R]);
  const cShape = [config.numLayers, 1, config.hiddenSize];
  let c: ort.Tensor = new ort.Tensor("float32", new Float32Array(config.numLayers * config.hiddenSize), cShape);
  let ids = [...prime].map((ch) => vocabulary.indexOf(ch));
  let text = prime;
  for (let n = 0; n < length; n++) {
    const feeds: Record<string, ort.Tensor> = {
      tokens: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [ids.length, 1]),
      h0: h,
    };
    if (lstm) feeds["c0"] = c;
    const out = await session.run(feeds);
    const V = vocabulary.length;
    const logits = (out["logits"]!.data as Float32Array).subarray((ids.length - 1) * V);
    let best = 1;
    for (let v = 2; v < V; v++) if (logits[v]! > logits[best]!) best = v;
    text += vocabulary[best];
    ids = [best];
    h = out["hN"]!;
    if (lstm) c = out["cN"]!;
  }
  return text.endsWith("\n") ? text : `${text}\n`;
}

describe("bptt export", () => {
  it("exports character models whose greedy generation in ONNX Runtime is the text of bptt generate --top-k 1", async () => {
    for (const run of [lstmLm, gruLm, lstmpLm]) {
      const file = exported(run);
      for (const prime of ["the", "a d"]) {
        // What `bptt generate --model RUN --prime PRIME --top-k 1 --length 60` prints (test/cli/generate.test.ts).
        const generated = generateText({ model: run, prime, topK: "1", length: "60" });
        assert.ok(new Set(generated).size > 5, `a trained model writes varied text: ${JSON.stringify(generated)}`);
        assert.equal(await greedyInOnnxRuntime(file, prime, 60), generated, `${run}, prime ${JSON.stringify(prime)}`);
      }
    }
  });

  it("exports a bidirectional classifier that, on a padded batch with sequence_lens, gives bptt predict's probabilities", async () => {
    const file = join(dir, "classifier.onnx");
    const r = cli("export", "--model", classifier, "--out", file, "--probabilities", "--sequence-lengths");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        `wrote ${file} (ONNX, ${readFileSync(file).length} bytes)`,
        "  input   tokens         int64    (T, B)",
        "  input   h0             float32  (2, B, 16)",
        "  input   sequence_lens  int32    (B)",
        "  output  logits         float32  (T, B, 2)",
        "  output  probabilities  float32  (T, B, 2)",
        "  output  hN             float32  (2, B, 16)",
        "",
      ].join("\n"),
    );
    const texts = ["good", "a bad day", "very good film indeed", "bad film"];
    const inputs = join(dir, "texts.txt");
    writeFileSync(inputs, `${texts.join("\n")}\n`);
    const predicted: Array<{ probabilities: Record<string, number> }> = [];
    await runPrediction({ model: classifier, data: inputs }, (record) =>
      predicted.push(record as (typeof predicted)[number]),
    );

    const run = loadRun(classifier);
    const labels = run.labels!.toJSON();
    const sequences = texts.map((text) => run.vocabulary!.encode(run.tokenizer!.tokenize(text)));
    const T = Math.max(...sequences.map((s) => s.length));
    const B = sequences.length;
    const tokens = new BigInt64Array(T * B); // padding: id 0, never read
    sequences.forEach((ids, b) => ids.forEach((id, t) => (tokens[t * B + b] = BigInt(id))));
    const states = 2 * B * 16;
    const session = await openSession(readFileSync(file));
    const out = await session.run({
      tokens: new ort.Tensor("int64", tokens, [T, B]),
      h0: new ort.Tensor("float32", new Float32Array(states), [2, B, 16]),
      sequence_lens: new ort.Tensor(
        "int32",
        Int32Array.from(sequences, (s) => s.length),
        [B],
      ),
    });
    const probabilities = out["probabilities"]!.data as Float32Array;
    const K = labels.length;
    sequences.forEach((ids, b) => {
      const row = (ids.length - 1) * B + b; // each sequence's last real step
      labels.forEach((label, k) => {
        const expected = predicted[b]!.probabilities[label]!;
        assert.ok(
          Math.abs(probabilities[row * K + k]! - expected) <= 1e-5,
          `${texts[b]}: p(${label}) ${probabilities[row * K + k]} vs ${expected}`,
        );
      });
    });
  });

  it("refuses bad flags and runs in one line, and leaves no file behind", async () => {
    const csv = `x,y\n${Array.from({ length: 30 }, (_, i) => `${i % 5},${(i + 1) % 5}`).join("\n")}\n`;
    const regression = await train("regress", csv, {
      task: "regress",
      inputColumns: ["x"],
      targetColumns: ["y"],
      window: 5,
      epochs: 1,
    });
    const out = join(dir, "refused.onnx");
    const cases: Array<[Parameters<typeof exportRun>[0], RegExp]> = [
      [{ model: join(dir, "missing"), out }, /^--model .*missing: no such directory$/],
      [{ model: lstmLm, out, format: "tflite" }, /^--format must be onnx, got "tflite"$/],
      [
        { model: lstmLm, out: join(dir, "no", "such", "dir", "m.onnx") },
        /m\.onnx: cannot write: the directory .* does not exist$/,
      ],
      [
        { model: regression, out, probabilities: true },
        /^--probabilities: .*regress is a regression model: its outputs are values, not probabilities$/,
      ],
    ];
    for (const [options, pattern] of cases) {
      assert.throws(
        () => exportRun(options),
        (e: unknown) => isUserError(e) && pattern.test(e.message) && !e.message.includes("\n"),
        JSON.stringify(options),
      );
    }
    assert.ok(!existsSync(out));
    // The command prints such errors as one line, exit code 2.
    const r = cli("export", "--model", lstmLm, "--out", out, "--format", "tflite");
    assert.deepEqual([r.status, r.stdout, r.stderr], [2, "", 'bptt: --format must be onnx, got "tflite"\n']);
  });
});
