/**
 * A model to and from the two files of a run directory that inference needs: config.json (see
 * shared/run-config.ts) and model.safetensors (the weights under PyTorch state_dict names, written
 * with the metadata `bptt train` writes: format "pt", producer "bptt").
 *
 * Loading trusts nothing: the config is checked field by field, the model it describes is built, the
 * weights are parsed by the library's defensive safetensors reader and must fit that model exactly
 * (no name missing or unexpected, every shape equal); the data spec must describe the model's inputs
 * and outputs, as `bptt generate` requires. Every failure is one line naming the file.
 */
import { type ModelConfig, SequenceModel, parseSafetensors, serializeSafetensors } from "bptt";
import type { ModelSummary } from "../shared/protocol.js";
import { type RunConfig, parseRunConfig } from "../shared/run-config.js";
import { formatLength } from "../shared/settings.js";

export interface LoadedModel {
  config: RunConfig;
  model: SequenceModel;
  summary: ModelSummary;
}

export function serializeModel(model: SequenceModel): Uint8Array {
  return serializeSafetensors(model.stateDict(), { format: "pt", producer: "bptt" });
}

export function loadRunFiles(
  configText: string,
  configName: string,
  weights: Uint8Array,
  weightsName: string,
): LoadedModel {
  const config = parseRunConfig(configText, configName);
  let model: SequenceModel;
  try {
    model = new SequenceModel(config.model as ModelConfig);
    checkSpec(config, model);
  } catch (error) {
    throw new RangeError(`${configName}: ${(error as Error).message.replace(/^model: /, "")}`);
  }
  const { tensors } = parseSafetensors(weights, weightsName);
  try {
    model.loadStateDict(tensors);
  } catch (error) {
    const why = (error as Error).message.replace(/^loadStateDict: /, "");
    throw new RangeError(`${weightsName}: does not fit the model of ${configName}: ${why}`);
  }
  const { data, schedule } = config;
  const m = model.config;
  return {
    config,
    model,
    summary: {
      origin: `${configName} + ${weightsName}`,
      task: data.task,
      tokenizer: data.tokenizer?.kind ?? null,
      cell: m.cell,
      hiddenSize: m.hiddenSize,
      numLayers: m.numLayers ?? 1,
      parameters: model.parameterCount,
      schedule: `trained with TBPTT(k1=${formatLength(schedule.k1)}, k2=${formatLength(schedule.k2)})`,
      description: describeData(config),
      labels: data.labels,
    },
  };
}

/** The data spec must describe the model (src/cli/inference.ts checks the same). */
function checkSpec(config: RunConfig, model: SequenceModel): void {
  const { data } = config;
  const tokens = model.embedding !== null;
  const V = data.vocabulary?.length ?? 0;
  if (tokens && (!data.vocabulary || !data.tokenizer)) {
    throw new RangeError("the model reads tokens but data.vocabulary or data.tokenizer is missing");
  }
  if (tokens && V !== model.config.vocabSize) {
    throw new RangeError(`data.vocabulary has ${V} tokens, model.vocabSize is ${model.config.vocabSize}`);
  }
  if (!tokens && data.inputSize !== model.inputSize) {
    throw new RangeError(`data.inputSize is ${data.inputSize}, the model reads ${model.inputSize} features per step`);
  }
  if (data.task === "lm" && (!tokens || model.outputSize !== V || model.config.objective !== "classes")) {
    const outputs = `${model.outputSize} ${model.config.objective} outputs`;
    throw new RangeError(`a language model predicts its ${V} tokens, the model has ${outputs}`);
  }
  if ((data.task === "classify" || data.task === "label") && model.outputSize !== (data.labels?.length ?? 0)) {
    const labels = data.labels?.length ?? 0;
    throw new RangeError(`data.labels has ${labels} labels, the model has ${model.outputSize} outputs`);
  }
}

function describeData(config: RunConfig): string {
  const { data } = config;
  switch (data.task) {
    case "lm": {
      const unit = data.tokenizer!.kind === "char" ? "characters" : "words";
      return `language model over ${data.vocabulary!.length - 2} ${unit}`;
    }
    case "classify":
      return `text classifier (${data.tokenizer!.kind} tokens) with labels ${data.labels!.join(", ")}`;
    case "label":
      return `sequence labeller with labels ${data.labels!.join(", ")}`;
    case "regress":
      return `forecaster of ${data.series?.targets.join(", ") ?? "values"}`;
  }
}
