/**
 * config.json of a run directory (src/data/run-config.ts): written and read back unchanged ("inf" for
 * Infinity in k1 and k2 only), every malformed file refused in one line naming it, and the model it
 * describes built with the tokenizer, vocabulary and labels that must fit it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type DataSpec, type RunConfig, dataFromSpec, modelFromRunConfig, parseRunConfig, stringifyRunConfig,
} from "../../src/data/run-config.js";
import type { ModelConfig } from "../../src/train/model.js";

const VOCABULARY = ["<pad>", "<unk>", "a", "b", "inf", "\n"];

function lmConfig(overrides: { model?: Partial<ModelConfig>; data?: Partial<DataSpec> } = {}): RunConfig {
  return {
    format: "bptt-run",
    version: 1,
    model: {
      cell: "gru", vocabSize: VOCABULARY.length, embeddingDim: 3, hiddenSize: 4, outputSize: VOCABULARY.length,
      objective: "classes", seed: 1, ...overrides.model,
    },
    data: {
      task: "lm", tokenizer: { kind: "char", lowercase: false }, vocabulary: VOCABULARY, labels: null, inputSize: 0,
      series: null, ...overrides.data,
    },
    schedule: { k1: 35, k2: Infinity },
    training: { k1: 35, k2: Infinity, batch: 16, note: "inf" },
  };
}

/** The error `body` throws: a RangeError of one line starting with the source. */
function errorOf(body: () => unknown, source: string): string {
  try {
    body();
  } catch (error) {
    assert.ok(error instanceof RangeError, String(error));
    assert.doesNotMatch(error.message, /[\n\r]/, "one line");
    assert.ok(error.message.startsWith(`${source}: `), error.message);
    return error.message.slice(source.length + 2);
  }
  throw new assert.AssertionError({ message: "no error" });
}

describe("stringifyRunConfig and parseRunConfig", () => {
  it("write Infinity as \"inf\" and read back what was written; only the schedule's k1 and k2 as Infinity", () => {
    const config = lmConfig();
    const text = stringifyRunConfig(config);
    assert.ok(text.endsWith("}\n"));
    assert.match(text, /"k2": "inf"/);
    const back = parseRunConfig(text, "config.json");
    assert.deepEqual({ ...back, training: config.training }, config);
    assert.equal(back.schedule.k2, Infinity);
    assert.deepEqual(back.training, { k1: 35, k2: "inf", batch: 16, note: "inf" }, "the settings are left as written");
    assert.equal(back.data.vocabulary![4], "inf", "a vocabulary may hold the word inf");
  });

  it("refuse a file that is not a run's configuration, naming it", () => {
    const valid = JSON.parse(stringifyRunConfig(lmConfig())) as Record<string, unknown>;
    const cases: Array<[string, RegExp]> = [
      ["{ not json", /^not valid JSON \(/],
      ['{"a":\n', /^not valid JSON \(/],
      ["[]", /^not a bptt run configuration \(no "format": "bptt-run"\)$/],
      ["null", /^not a bptt run configuration/],
      ['{"format": "something-else"}', /^not a bptt run configuration/],
      [JSON.stringify({ ...valid, version: 2 }), /^version 2 is not supported \(expected 1\)$/],
      [JSON.stringify({ ...valid, version: undefined }), /^version none is not supported/],
      [JSON.stringify({ ...valid, version: "x".repeat(100) }), /^version "x{38}… is not supported/],
      [JSON.stringify({ ...valid, data: undefined }), /^"data" is missing or not an object$/],
      [JSON.stringify({ ...valid, training: 3 }), /^"training" is missing or not an object$/],
    ];
    const source = "runs/x/config.json";
    for (const [text, pattern] of cases) {
      assert.match(errorOf(() => parseRunConfig(text, source), source), pattern, text);
    }
  });
});

describe("modelFromRunConfig", () => {
  it("builds the model and the tokenizer, vocabulary and labels of the data spec", () => {
    const { model, tokenizer, vocabulary, labels } = modelFromRunConfig(lmConfig(), "config.json");
    assert.equal(model.config.vocabSize, VOCABULARY.length);
    assert.equal(model.outputSize, VOCABULARY.length);
    assert.deepEqual(tokenizer!.toJSON(), { kind: "char", lowercase: false });
    assert.deepEqual(vocabulary!.toJSON(), VOCABULARY);
    assert.equal(labels, null);

    const classifier = lmConfig({
      model: { outputSize: 2 },
      data: { task: "classify", tokenizer: { kind: "word", lowercase: true }, labels: ["neg", "pos"] },
    });
    const built = modelFromRunConfig(classifier, "config.json");
    assert.deepEqual(built.labels!.toJSON(), ["neg", "pos"], "the labels keep their saved order");
    assert.deepEqual(built.tokenizer!.tokenize("Hi, you"), ["hi", ",", "you"]);
  });

  it("builds feature-input models: a sequence labeller and a forecaster", () => {
    const features = { vocabSize: undefined, embeddingDim: undefined, inputSize: 3 };
    const labeller = lmConfig({
      model: { ...features, outputSize: 2 },
      data: { task: "label", tokenizer: null, vocabulary: null, labels: ["x", "y"], inputSize: 3 },
    });
    assert.equal(modelFromRunConfig(labeller, "c").model.inputSize, 3);
    const series = { features: ["a", "b", "c"], targets: ["y"], horizon: 1, window: 10 };
    const forecaster = lmConfig({
      model: { ...features, outputSize: 1, objective: "regression" },
      data: { task: "regress", tokenizer: null, vocabulary: null, inputSize: 3, series },
    });
    assert.equal(modelFromRunConfig(forecaster, "c").model.outputSize, 1);
  });

  it("refuses a data spec that does not fit the model, or a model it cannot build, in one line naming the file", () => {
    const source = "runs/x/config.json";
    const data = (spec: Partial<DataSpec>): RunConfig => lmConfig({ data: spec });
    const cases: Array<[RunConfig, RegExp]> = [
      [lmConfig({ model: { hiddenSize: -1 } }), /hiddenSize/],
      [data({ task: "translate" as DataSpec["task"] }), /^data\.task must be one of lm, classify, label, regress, got "translate"$/],
      [data({ vocabulary: ["<pad>", "<unk>", "a", "a"] }), /^data\.vocabulary: vocabulary\[3\] "a" repeats vocabulary\[2\]$/],
      [data({ vocabulary: VOCABULARY.slice(0, -1) }), /^data\.vocabulary has 5 tokens, model\.vocabSize is 6$/],
      [data({ vocabulary: null }), /^the model reads tokens but data\.vocabulary is missing$/],
      [data({ tokenizer: null }), /^a language model needs token inputs and data\.tokenizer$/],
      [data({ tokenizer: { kind: "byte" as "char", lowercase: false } }), /^tokenizer kind must be "char" or "word"/],
      [lmConfig({ model: { outputSize: 2 } }), /^a language model predicts its 6 tokens, the model has 2 classes outputs$/],
      [data({ task: "classify" }), /^data\.labels is missing$/],
      [data({ task: "classify", labels: ["a", "b"] }), /^data\.labels has 2 labels, the model has 6 classes outputs$/],
      [data({ task: "classify", labels: ["a", 3 as unknown as string] }), /^data\.labels: labels\[1\] must be a non-empty string/],
      [data({ task: "regress" }), /^data\.series \(the CSV columns\) is missing$/],
    ];
    for (const [config, pattern] of cases) {
      assert.match(errorOf(() => modelFromRunConfig(config, source), source), pattern);
    }
  });

  it("dataFromSpec reads only the data pieces, without a model", () => {
    const { vocabulary, labels, tokenizer } = dataFromSpec(lmConfig().data);
    assert.equal(vocabulary!.id("inf"), 4);
    assert.equal(labels, null);
    assert.equal(tokenizer!.kind, "char");
    assert.throws(() => dataFromSpec({ ...lmConfig().data, vocabulary: ["a"] }), /^RangeError: data\.vocabulary: /);
  });
});
