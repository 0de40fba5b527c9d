/**
 * What the fuzzer tries, each target a file kind the CLI reads, driven through the CLI's own loaders
 * in this process:
 *
 *   model weights       mutated model.safetensors (bytes, or its JSON header)     loadWeights
 *   generated headers   safetensors written from random headers                   loadWeights
 *   checkpoint          mutated checkpoint.safetensors (bytes, header, metadata)  loadCheckpoint
 *   run config.json     mutated config.json of a run                              runEvaluation (loadRun, eval)
 *   --config            random or mutated settings files                          readJsonFile, resolveSettings
 *   lm text             mutated corpus                                            prepareTraining, every batch
 *   classify JSONL/CSV  mutated examples                                          prepareTraining, every batch
 *   label JSONL         mutated token and feature sequences                       prepareTraining, every batch
 *   regress CSV         mutated series                                            prepareTraining, every batch
 *   predict input       mutated JSONL and text lines for a classifier             runPrediction
 *
 * The base files are made once, by training small runs here (setUp).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runEvaluation } from "../src/cli/eval.js";
import { readJsonFile } from "../src/cli/main.js";
import { runPrediction } from "../src/cli/predict.js";
import { Progress } from "../src/cli/progress.js";
import { type TrainRunConfig, loadCheckpoint, loadWeights } from "../src/cli/run-directory.js";
import { DEFAULT_SETTINGS, type TrainSettings, resolveSettings } from "../src/cli/settings.js";
import { prepareTraining } from "../src/cli/tasks.js";
import { runTraining, scheduleOf } from "../src/cli/train.js";
import { createOptimizer } from "../src/optim/index.js";
import { Rng } from "../src/tensor/rng.js";
import { SequenceModel } from "../src/train/model.js";
import { resolveSchedule } from "../src/train/schedule.js";
import { Trainer } from "../src/train/trainer.js";
import { concat, mutateBytes, mutateJson, pick, randomJson } from "./mutate.js";

export interface FuzzCase {
  /** What was done to the input, for the report. */
  what: string;
  /** The file or directory every error must name. */
  names: string;
  run: () => Promise<unknown>;
}

export interface Target {
  name: string;
  make: (rng: Rng) => FuzzCase;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Builds the base files under `dir` and returns the targets. */
export async function setUp(dir: string): Promise<Target[]> {
  const rng = new Rng(1);
  const words = "the cat sat on a mat and dog ran to big red house".split(" ");
  const sentence = (): string => Array.from({ length: 3 + rng.int(6) }, () => pick(rng, words)).join(" ");
  const write = (name: string, content: string | Uint8Array): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const corpus = write("corpus.txt", `${Array.from({ length: 60 }, sentence).join("\n")}\n`);
  const classify = write("cls.jsonl", `${Array.from({ length: 24 }, () => JSON.stringify({ text: sentence(), label: pick(rng, ["pos", "neg", "neu"]) })).join("\n")}\n`);
  const csv = write("cls.csv", `text,label\n${Array.from({ length: 24 }, () => `"${sentence()}",${pick(rng, ["pos", "neg"])}`).join("\n")}\n`);
  const tags = write("tags.jsonl", `${Array.from({ length: 16 }, () => {
    const n = 2 + rng.int(5);
    return JSON.stringify({ inputs: Array.from({ length: n }, () => pick(rng, words)), labels: Array.from({ length: n }, () => pick(rng, ["N", "V", "D"])) });
  }).join("\n")}\n`);
  const frames = write("frames.jsonl", `${Array.from({ length: 16 }, () => {
    const n = 2 + rng.int(5);
    return JSON.stringify({ inputs: Array.from({ length: n }, () => [rng.next(), rng.next()]), labels: Array.from({ length: n }, () => pick(rng, ["a", "b"])) });
  }).join("\n")}\n`);
  const series = write("series.csv", `t,x,y\n${Array.from({ length: 80 }, (_, i) => `${i},${Math.sin(i / 4).toFixed(3)},${Math.cos(i / 4).toFixed(3)}`).join("\n")}\n`);

  const quiet = new Progress("json", () => {});
  const tiny: TrainSettings = { ...DEFAULT_SETTINGS, hidden: 6, embedding: 4, batch: 3, epochs: 2, valFraction: 0, checkpointEvery: 2 };
  const lmRun = join(dir, "lm-run");
  await runTraining({ settings: { ...tiny, data: corpus, out: lmRun, k1: 5, k2: 8, maxUpdates: 3 }, resume: null, progress: quiet });
  const clsRun = join(dir, "cls-run");
  await runTraining({ settings: { ...tiny, task: "classify", tokenizer: "word", data: classify, out: clsRun, epochs: 1 }, resume: null, progress: quiet });
  const runConfig = JSON.parse(readFileSync(join(lmRun, "config.json"), "utf8")) as TrainRunConfig;
  // Plain copies: a Buffer's slice() is a view, and the bases must never change.
  const modelBytes = new Uint8Array(readFileSync(join(lmRun, "model.safetensors")));
  const checkpointBytes = new Uint8Array(readFileSync(join(lmRun, "checkpoint.safetensors")));
  const configText = readFileSync(join(lmRun, "config.json"), "utf8");

  const caseDir = (name: string): string => {
    const path = join(dir, "cases", name);
    mkdirSync(path, { recursive: true });
    return path;
  };
  const freshModel = (): SequenceModel => new SequenceModel(runConfig.model);

  const dataTarget = (name: string, base: string, settings: Partial<TrainSettings>): Target => {
    const bytes = new Uint8Array(readFileSync(base));
    const where = caseDir(name.replace(/\W+/g, "-"));
    const path = join(where, base.replace(/^.*\//, ""));
    return {
      name,
      make: (r) => {
        const m = mutateBytes(r, bytes);
        writeFileSync(path, m.bytes);
        return {
          what: m.what, names: path,
          run: async () => {
            const data = await prepareTraining({ ...tiny, ...settings, data: path, out: where });
            for (const _ of data.trainBatches(1)) void _;
            if (data.validationBatches) for (const _ of data.validationBatches()) void _;
          },
        };
      },
    };
  };

  const weightsDir = caseDir("weights");
  const checkpointDir = caseDir("checkpoint");
  const configDir = caseDir("run-config");
  writeFileSync(join(configDir, "model.safetensors"), modelBytes);
  const settingsDir = caseDir("settings");
  const predictDir = caseDir("predict");
  const predictLines = new Uint8Array(readFileSync(classify));

  return [
    {
      name: "model weights (model.safetensors)",
      make: (r) => {
        const m = r.int(2) === 0 ? mutateBytes(r, modelBytes) : mutateHeader(r, modelBytes);
        const path = join(weightsDir, "model.safetensors");
        writeFileSync(path, m.bytes);
        return { what: m.what, names: path, run: async () => loadWeights(path, freshModel()) };
      },
    },
    {
      name: "generated safetensors headers",
      make: (r) => {
        const entries = Object.fromEntries(Array.from({ length: r.int(4) }, () => [
          pick(r, ["embedding.weight", "rnn.weight_ih_l0", "head.bias", "x", "__metadata__", ""]),
          r.int(4) === 0 ? randomJson(r, 2) : {
            dtype: pick(r, ["F32", "F16", "BF16", "F64", "I8", "F8_E4M3", "U64", "X"]),
            shape: Array.from({ length: r.int(4) }, () => pick(r, [0, 1, 2, 5, 1e9, 2 ** 40, -1])),
            data_offsets: [pick(r, [0, 4, 8, 1e12]), pick(r, [0, 4, 8, 16, 60, 2 ** 53])],
          },
        ]));
        const header = encoder.encode(JSON.stringify(entries));
        const length = new Uint8Array(8);
        new DataView(length.buffer).setBigUint64(0, BigInt(r.int(8) === 0 ? r.int(1 << 30) : header.length), true);
        const path = join(weightsDir, "generated.safetensors");
        writeFileSync(path, concat(length, header, new Uint8Array(r.int(3) === 0 ? 0 : 4 * r.int(64))));
        return { what: "generated", names: path, run: async () => loadWeights(path, freshModel()) };
      },
    },
    {
      name: "checkpoint (checkpoint.safetensors)",
      make: (r) => {
        const m = pick(r, [() => mutateBytes(r, checkpointBytes), () => mutateHeader(r, checkpointBytes), () => mutateCheckpointMetadata(r, checkpointBytes)])();
        writeFileSync(join(checkpointDir, "checkpoint.safetensors"), m.bytes);
        return {
          what: m.what, names: join(checkpointDir, "checkpoint.safetensors"),
          run: async () => {
            const model = freshModel();
            const optimizer = createOptimizer(runConfig.training.optimizer, model.parameters(), { lr: runConfig.training.lr });
            const schedule = resolveSchedule(scheduleOf(runConfig.training));
            loadCheckpoint(checkpointDir, model, optimizer, new Trainer(model, optimizer, { k1: schedule.k1, k2: schedule.k2 }));
          },
        };
      },
    },
    {
      name: "run config.json",
      make: (r) => {
        const m = r.int(4) === 0 ? textMutation(r, configText) : jsonMutation(r, JSON.parse(configText));
        writeFileSync(join(configDir, "config.json"), m.bytes);
        return { what: m.what, names: configDir, run: () => runEvaluation({ model: configDir, data: corpus }) };
      },
    },
    {
      name: "--config settings file",
      make: (r) => {
        const base = { hidden: 8, cell: "gru", "val-fraction": 0.2, k1: "inf", inputColumns: ["x", "y"], optimizer: "sgd", momentum: 0.9 };
        const m = pick(r, [() => jsonMutation(r, base), () => textMutation(r, JSON.stringify(base)), () => jsonMutation(r, randomJson(r, 3))])();
        const path = join(settingsDir, "settings.json");
        writeFileSync(path, m.bytes);
        return { what: m.what, names: path, run: async () => resolveSettings(readJsonFile(path), path, new Map()) };
      },
    },
    dataTarget("lm text", corpus, { task: "lm", k1: 5 }),
    dataTarget("classify JSONL", classify, { task: "classify", tokenizer: "word", valFraction: 0.2 }),
    dataTarget("classify CSV", csv, { task: "classify" }),
    dataTarget("label JSONL (tokens)", tags, { task: "label" }),
    dataTarget("label JSONL (features)", frames, { task: "label", bucket: true }),
    dataTarget("regress CSV", series, { task: "regress", inputColumns: ["x"], targetColumns: ["x", "y"], window: 10, valFraction: 0.3 }),
    {
      name: "predict input (classifier)",
      make: (r) => {
        const m = mutateBytes(r, predictLines);
        const path = join(predictDir, r.int(3) === 0 ? "input.csv" : "input.jsonl");
        writeFileSync(path, r.int(3) === 0 ? concat(encoder.encode("text\n"), m.bytes) : m.bytes);
        return { what: m.what, names: path, run: () => runPrediction({ model: clsRun, data: path }, () => {}) };
      },
    },
  ];
}

/** The header of a safetensors file as JSON, mutated, with its length rewritten (or, at times, not). */
function mutateHeader(rng: Rng, bytes: Uint8Array): { bytes: Uint8Array; what: string } {
  const N = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const m = mutateJson(rng, JSON.parse(decoder.decode(bytes.subarray(8, 8 + N))));
  return { bytes: withHeader(rng, m.value, bytes.subarray(8 + N)), what: `header: ${m.what}` };
}

/** The checkpoint's "bptt.checkpoint" metadata (progress, optimizer and trainer state) mutated as JSON. */
function mutateCheckpointMetadata(rng: Rng, bytes: Uint8Array): { bytes: Uint8Array; what: string } {
  const N = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(decoder.decode(bytes.subarray(8, 8 + N))) as { __metadata__: Record<string, string> };
  const m = mutateJson(rng, JSON.parse(header.__metadata__["bptt.checkpoint"]!));
  header.__metadata__["bptt.checkpoint"] = JSON.stringify(m.value);
  return { bytes: withHeader(rng, header, bytes.subarray(8 + N)), what: `metadata: ${m.what}` };
}

function withHeader(rng: Rng, header: unknown, body: Uint8Array): Uint8Array {
  const json = encoder.encode(JSON.stringify(header));
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(json.length + (rng.int(10) === 0 ? rng.int(16) - 8 : 0)), true);
  return concat(length, json, body);
}

function jsonMutation(rng: Rng, value: unknown): { bytes: Uint8Array; what: string } {
  const m = mutateJson(rng, value);
  return { bytes: encoder.encode(JSON.stringify(m.value) ?? ""), what: m.what };
}

function textMutation(rng: Rng, text: string): { bytes: Uint8Array; what: string } {
  return mutateBytes(rng, encoder.encode(text));
}
