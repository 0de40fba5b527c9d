/**
 * Inputs and outputs whose size must not set the memory: predict reads a line in pieces with the state
 * carried, generate writes tokens as they are drawn and stops quietly when its reader goes away, and
 * eval scores every token of a language-model file whatever --batch.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { runEvaluation } from "../../src/cli/eval.js";
import { Stepper, loadRun, softmax } from "../../src/cli/inference.js";
import { runPrediction } from "../../src/cli/predict.js";
import { Progress } from "../../src/cli/progress.js";
import { DEFAULT_SETTINGS, type TrainSettings } from "../../src/cli/settings.js";
import { runTraining } from "../../src/cli/train.js";
import { scratch } from "../helpers/scratch.js";
import { Rng } from "../../src/tensor/rng.js";
import { BIN } from "../helpers/cli.js";

const { dir, file } = scratch("streaming");

const rng = new Rng(11);
const words = "the cat sat on a mat and dog ran to big red house".split(" ");
const sentence = (n: number): string => Array.from({ length: n }, () => words[rng.int(words.length)]).join(" ");
const corpus = file("corpus.txt", `${Array.from({ length: 200 }, () => sentence(6)).join("\n")}\n`);
const runs: Record<"chars" | "words", string> = { chars: "", words: "" };

async function train(name: string, overrides: Partial<TrainSettings>): Promise<string> {
  const out = join(dir, name);
  const settings: TrainSettings = { ...DEFAULT_SETTINGS, data: corpus, out, hidden: 16, embedding: 8, batch: 4, epochs: 1, ...overrides };
  await runTraining({ settings, resume: null, progress: new Progress("json", () => {}) });
  return out;
}

before(async () => {
  runs.chars = await train("chars", {});
  runs.words = await train("words", { tokenizer: "word" });
});

/** Runs the CLI and reports its peak resident memory (bytes), its exit code and stderr. */
function peakMemory(args: string[]): Promise<{ status: number | null; stderr: string; maxRSS: number }> {
  const probe = file("probe.mjs", 'import { writeSync } from "node:fs";\nprocess.on("exit", () => writeSync(2, `maxrss ${process.resourceUsage().maxRSS}\\n`));\n');
  const child = spawn(process.execPath, ["--import", pathToFileURL(probe).href, BIN, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    child.on("close", (status) => {
      const match = /maxrss (\d+)\n/.exec(stderr);
      resolve({ status, stderr: stderr.replace(/maxrss \d+\n/, ""), maxRSS: match ? 1024 * Number(match[1]) : NaN });
    });
  });
}

describe("predict: one long line in pieces, the state carried", () => {
  it("a line of 300,000 characters takes no more memory than short lines", async () => {
    const short = file("short.txt", `${Array.from({ length: 20 }, () => sentence(5)).join("\n")}\n`);
    const long = file("long.txt", `${"the cat sat on the mat ".repeat(13_000)}\n`);
    const a = await peakMemory(["predict", "--model", runs.chars, "--data", short]);
    const b = await peakMemory(["predict", "--model", runs.chars, "--data", long]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.ok(b.maxRSS < a.maxRSS + 64e6, `peak memory ${(b.maxRSS / 1e6).toFixed(0)} MB for the long line, ${(a.maxRSS / 1e6).toFixed(0)} MB for short ones`);
  });

  it("gives what the whole line fed at once gives (characters and words, cut across pieces)", async () => {
    const line = Array.from({ length: 30_000 }, () => words[rng.int(words.length)]).join(" ");
    const path = file("line.txt", `${line}\n`);
    for (const model of [runs.chars, runs.words]) {
      const records: Array<Record<string, unknown>> = [];
      await runPrediction({ model, data: path }, (r) => records.push(r));
      const run = loadRun(model);
      const ids = run.vocabulary!.encode(run.tokenizer!.tokenize(line));
      assert.ok(ids.length > 65_536 / (run.tokenizer!.kind === "word" ? 8 : 1), "several pieces");
      const V = run.vocabulary!.size;
      const expected = softmax(new Stepper(run.model).feed(ids, false), 0, V);
      const next = records[0]!.next as Array<{ token: string; probability: number }>;
      for (const { token, probability } of next) {
        assert.ok(Math.abs(probability - expected[run.vocabulary!.id(token)]!) < 1e-4, `${token}: ${probability} vs ${expected[run.vocabulary!.id(token)]}`);
      }
    }
  });
});

describe("generate: written as drawn", () => {
  it("--length 100000000 | head: the first bytes at once, then a quiet exit 0 when the reader goes", async () => {
    const child = spawn(process.execPath, [BIN, "generate", "--model", runs.chars, "--length", "100000000"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    let received = 0;
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.stdout.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received >= 1000) child.stdout.destroy();
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on("close", (c, s) => resolve([c, s])));
    clearTimeout(timer);
    assert.ok(received >= 1000, `received ${received} bytes`);
    assert.deepEqual([code, signal], [0, null], `exit ${code} ${signal}: ${stderr}`);
    assert.equal(stderr, "");
  });
});

describe("eval: every token of a language-model file", () => {
  it("scores N − 1 tokens whatever --batch (3000 strips of a 7000-character file included)", async () => {
    const text = Array.from({ length: 400 }, () => sentence(6)).join("\n").slice(0, 6999);
    assert.equal(text.length, 6999);
    const path = file("eval.txt", `${text}\n`);
    for (const batch of ["1", "7", "3000", "10000"]) {
      const { evaluation } = await runEvaluation({ model: runs.chars, data: path, batch });
      assert.equal(evaluation.terms, 6999, `--batch ${batch}`);
    }
  });
});
