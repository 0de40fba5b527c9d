/** `bptt generate`: seeded sampling from a language-model run, and one-line errors for bad input. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { generateText } from "../../src/cli/generate.js";
import { Sampler, Stepper, kthLargest, loadRun } from "../../src/cli/inference.js";
import { Progress } from "../../src/cli/progress.js";
import { DEFAULT_SETTINGS, type TrainSettings } from "../../src/cli/settings.js";
import { runTraining } from "../../src/cli/train.js";
import { type RunConfig, stringifyRunConfig } from "../../src/data/run-config.js";
import { serializeSafetensors } from "../../src/formats/safetensors.js";
import { Rng } from "../../src/tensor/rng.js";

const bin = fileURLToPath(new URL("../../../bin/bptt.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bptt-generate-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLineError(args: string[], pattern?: RegExp): void {
  const r = cli(...args);
  const what = args.join(" ");
  assert.equal(r.status, 2, `${what}: exit ${r.status}, stderr ${r.stderr}`);
  assert.equal(r.stdout, "", `${what}: nothing on stdout`);
  assert.match(r.stderr, /^bptt: [^\n]+\n$/, `${what}: one line, got ${JSON.stringify(r.stderr)}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  if (pattern) assert.match(r.stderr, pattern, what);
}

async function train(name: string, data: string, overrides: Partial<TrainSettings>): Promise<string> {
  const path = join(dir, `${name}.data`);
  writeFileSync(path, data);
  const out = join(dir, name);
  const settings: TrainSettings = { ...DEFAULT_SETTINGS, data: path, out, hidden: 16, embedding: 8, batch: 4, epochs: 1, valFraction: 0, ...overrides };
  await runTraining({ settings, resume: null, progress: new Progress("json", () => {}) });
  return out;
}

let abc = "";
let words = "";
let classifier = "";

before(async () => {
  abc = await train("abc", `${Array.from({ length: 60 }, () => "abc".repeat(10)).join("\n")}\n`, { epochs: 8, k1: 20, lr: 0.01 });
  const vocabulary = "the a cat dog sat ran on under mat log".split(" ");
  const rng = new Rng(5);
  const lines = Array.from({ length: 80 }, () => Array.from({ length: 4 + rng.int(6) }, () => vocabulary[rng.int(vocabulary.length)]).join(" "));
  words = await train("words", `${lines.join("\n")}\n`, { tokenizer: "word", k1: 10 });
  classifier = await train("cls", `${Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: i % 2 ? "good day" : "bad day", label: i % 2 ? "pos" : "neg" })).join("\n")}\n`, { task: "classify", tokenizer: "word" });
});

/** Whether s, line breaks removed, follows a → b → c → a. */
function followsCycle(s: string): boolean {
  const t = s.replace(/\n/g, "");
  for (let i = 1; i < t.length; i++) if ("abc".indexOf(t[i]!) !== ("abc".indexOf(t[i - 1]!) + 1) % 3) return false;
  return t.length > 0 && /^[abc]+$/.test(t);
}

describe("bptt generate", () => {
  it("is deterministic for a seed and differs between seeds", () => {
    const one = cli("generate", "--model", words, "--length", "40", "--seed", "7");
    assert.equal(one.status, 0, one.stderr);
    assert.equal(cli("generate", "--model", words, "--length", "40", "--seed", "7").stdout, one.stdout);
    assert.notEqual(cli("generate", "--model", words, "--length", "40", "--seed", "8").stdout, one.stdout);
    assert.equal(generateText({ model: words, length: "40", seed: "7" }), one.stdout, "the CLI prints what generateText returns");
    // The default seed is fixed too.
    assert.equal(generateText({ model: abc, length: "30" }), generateText({ model: abc, length: "30", seed: "1" }));
  });

  it("continues a trivially predictable corpus at low temperature", () => {
    const primed = cli("generate", "--model", abc, "--prime", "ab", "--length", "60", "--temperature", "0.1");
    assert.equal(primed.status, 0, primed.stderr);
    assert.ok(primed.stdout.startsWith("abc"), JSON.stringify(primed.stdout));
    assert.ok(followsCycle(primed.stdout), JSON.stringify(primed.stdout));
    const unprimed = generateText({ model: abc, length: "60", temperature: "0.1", seed: "3" });
    assert.ok(unprimed.startsWith("a"), `after a line end comes "a": ${JSON.stringify(unprimed)}`);
    assert.ok(followsCycle(unprimed), JSON.stringify(unprimed));
  });

  it("prints the prime, then the tokens: characters concatenated, words spaced, <eos> as a line break", () => {
    const chars = generateText({ model: abc, prime: "cab", length: "10", seed: "2" });
    assert.ok(chars.length === 13 || (chars.length === 14 && chars.endsWith("\n")), JSON.stringify(chars));
    assert.ok(chars.startsWith("cab"));
    const text = generateText({ model: words, prime: "the cat", length: "200", seed: "4" });
    assert.match(text, /^the cat[ \n]/, JSON.stringify(text));
    assert.doesNotMatch(text, /<eos>|<pad>|  |^ | \n|\n /m);
    assert.ok(text.includes("\n"), "some <eos> were drawn");
    const vocabulary = new Set(loadRun(words).vocabulary!.toJSON());
    const generated = text.slice("the cat".length).replace(/\n/g, " <eos> ").split(" ").filter((w) => w !== "");
    // 200 tokens, and a line break after them when the last one was not <eos>.
    assert.ok(generated.length === 200 || (generated.length === 201 && generated[200] === "<eos>" && generated[199] !== "<eos>"), `${generated.length}`);
    for (const w of generated) assert.ok(vocabulary.has(w), w);
  });

  it("reads unknown characters of the prime as <unk>", () => {
    const r = cli("generate", "--model", abc, "--prime", "xyzé😀", "--length", "5");
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.startsWith("xyzé😀"));
  });

  it("samples step by step exactly as the model reads the whole text (top-k 1: greedy, whatever the seed)", () => {
    const greedy = generateText({ model: words, prime: "the dog", length: "30", topK: "1", seed: "1" });
    assert.equal(generateText({ model: words, prime: "the dog", length: "30", topK: "1", seed: "99" }), greedy);
    const run = loadRun(words);
    const vocabulary = run.vocabulary!;
    const tokens = run.tokenizer!.tokenize(greedy.replace(/\n/g, " <eos> ")).slice(0, 2 + 30);
    assert.deepEqual(tokens.slice(0, 2), ["the", "dog"]);
    const ids = vocabulary.encode(tokens);
    // One chunk over the prime and the generated tokens: each generated token is the argmax after its prefix.
    const logits = new Stepper(run.model).feed(ids, true);
    const V = vocabulary.size;
    for (let t = 2; t < ids.length; t++) {
      let best = 1; // <pad> (0) is never drawn
      for (let j = 2; j < V; j++) if (logits[(t - 1) * V + j]! > logits[(t - 1) * V + best]!) best = j;
      assert.equal(tokens[t], vocabulary.token(best), `token ${t} of ${JSON.stringify(greedy)}`);
    }
  });

  it("samples from softmax(logits / T) over the top k only", () => {
    const logits = Float32Array.from([0, 1, 2, 0.5, 2, -1]);
    const draws = (sampler: Sampler, n: number): number[] => {
      const counts = new Array<number>(6).fill(0);
      for (let i = 0; i < n; i++) counts[sampler.sample(logits)]!++;
      return counts;
    };
    const top3 = draws(new Sampler(6, { temperature: 1, topK: 3, rng: new Rng(1) }), 3000);
    assert.equal(top3[0]! + top3[3]! + top3[5]!, 0, `only ids 1, 2, 4: ${top3}`);
    assert.ok(top3[1]! > 0 && top3[2]! > 0 && top3[4]! > 0, `${top3}`);
    const n = 20000;
    const all = draws(new Sampler(6, { temperature: 2, topK: 0, rng: new Rng(2), excluded: [0] }), n);
    assert.equal(all[0], 0, "excluded ids are never drawn");
    const z = [1, 2, 0.5, 2, -1].reduce((s, l) => s + Math.exp(l / 2), 0);
    [1, 2, 3, 4, 5].forEach((j) => {
      const p = Math.exp(logits[j]! / 2) / z;
      assert.ok(Math.abs(all[j]! / n - p) < 4 * Math.sqrt((p * (1 - p)) / n), `id ${j}: ${all[j]! / n} vs ${p}`);
    });
    assert.throws(() => new Sampler(6, { temperature: 0, topK: 0, rng: new Rng(1) }), RangeError);
  });

  it("reads a run whose vocabulary and labels hold \"inf\" (only k1 and k2 are read as Infinity)", async () => {
    const texts = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify(i % 2 ? { text: "to inf and beyond", label: "inf" } : { text: "a finite day", label: "finite" }));
    const settings = { task: "classify", tokenizer: "word", k1: Infinity, k2: 3 } as const;
    const inf = await train("inf", `${texts.join("\n")}\n`, settings);
    const run = loadRun(inf);
    assert.ok(run.vocabulary!.has("inf"));
    assert.deepEqual(run.labels!.toJSON(), ["finite", "inf"]);
    assert.equal(run.config.schedule.k1, Infinity);
    assert.equal(run.config.training.k1, Infinity);
    const evaluation = cli("eval", "--model", inf, "--data", join(dir, "inf.data"));
    assert.equal(evaluation.status, 0, evaluation.stderr);
  });

  it("reads the files the library writes (stringifyRunConfig, serializeSafetensors), an empty training section too", () => {
    const trained = loadRun(abc);
    const written = join(dir, "written");
    mkdirSync(written);
    const config: RunConfig = { ...trained.config, training: {} };
    writeFileSync(join(written, "config.json"), stringifyRunConfig(config));
    writeFileSync(join(written, "model.safetensors"), serializeSafetensors(trained.model.stateDict()));
    const flags = ["--prime", "ab", "--length", "40", "--top-k", "1"];
    assert.equal(cli("generate", "--model", written, ...flags).stdout, cli("generate", "--model", abc, ...flags).stdout);
    const evaluation = cli("eval", "--model", written, "--data", join(dir, "abc.data"));
    assert.equal(evaluation.status, 0, evaluation.stderr);
  });

  it("finds the k-th largest value, duplicates included", () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.int(40);
      const values = Float64Array.from({ length: n }, () => rng.int(8) - 4);
      const sorted = [...values].sort((a, b) => b - a);
      const k = 1 + rng.int(n);
      assert.equal(kthLargest(values.slice(), n, k), sorted[k - 1], `${[...values]} k=${k}`);
    }
  });
});

describe("bptt generate: bad input is one line, exit code 2", () => {
  it("refuses a run that is not a language model", () => {
    assertOneLineError(["generate", "--model", classifier], /generate needs a language model/);
  });

  it("refuses bad flag values", () => {
    for (const [flag, value] of [["--temperature", "0"], ["--temperature", "-1"], ["--temperature", "hot"], ["--length", "0"], ["--length", "2.5"], ["--top-k", "-1"], ["--seed", "x"]] as const) {
      assertOneLineError(["generate", "--model", abc, flag, value], new RegExp(flag));
    }
    assertOneLineError(["generate", "--model", abc, "--prime", ""], /no tokens/);
    assertOneLineError(["generate"], /--model/);
  });

  it("refuses a missing or broken run directory", () => {
    assertOneLineError(["generate", "--model", join(dir, "nowhere")], /no such directory/);
    const empty = join(dir, "empty");
    mkdirSync(empty);
    assertOneLineError(["generate", "--model", empty], /config\.json/);

    const broken = join(dir, "broken");
    mkdirSync(broken);
    copyFileSync(join(abc, "config.json"), join(broken, "config.json"));
    assertOneLineError(["generate", "--model", broken], /model\.safetensors/);
    const weights = readFileSync(join(abc, "model.safetensors"));
    writeFileSync(join(broken, "model.safetensors"), weights.subarray(0, weights.length - 100));
    assertOneLineError(["generate", "--model", broken], /model\.safetensors/);
    writeFileSync(join(broken, "model.safetensors"), "not a safetensors file at all, just some text");
    assertOneLineError(["generate", "--model", broken], /model\.safetensors/);
    // Weights of another model: the words run's vocabulary differs in size.
    copyFileSync(join(words, "model.safetensors"), join(broken, "model.safetensors"));
    assertOneLineError(["generate", "--model", broken], /model\.safetensors: does not fit/);
    // A config.json whose shapes do not fit the weights.
    copyFileSync(join(abc, "model.safetensors"), join(broken, "model.safetensors"));
    const config = JSON.parse(readFileSync(join(abc, "config.json"), "utf8")) as { model: { hiddenSize: number }; data: { vocabulary: string[] } };
    writeFileSync(join(broken, "config.json"), JSON.stringify({ ...config, model: { ...config.model, hiddenSize: 12 } }));
    assertOneLineError(["generate", "--model", broken], /does not fit/);
    writeFileSync(join(broken, "config.json"), JSON.stringify({ ...config, data: { ...config.data, vocabulary: config.data.vocabulary.slice(0, -1) } }));
    assertOneLineError(["generate", "--model", broken], /config\.json: data\.vocabulary has/);
    writeFileSync(join(broken, "config.json"), "{ not json");
    assertOneLineError(["generate", "--model", broken], /config\.json/);
  });
});
