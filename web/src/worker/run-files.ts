/**
 * A model to and from the two files of a run directory that inference needs: config.json (the
 * library's RunConfig, written by stringifyRunConfig) and model.safetensors (the weights under PyTorch
 * state_dict names, written with the metadata `bptt train` writes: format "pt", producer "bptt").
 *
 * Loading trusts nothing, as `bptt generate` does: parseRunConfig checks the file's frame,
 * modelFromRunConfig builds the model it describes and checks that the data spec fits it, the weights
 * are parsed by the library's defensive safetensors reader and must fit that model exactly (no name
 * missing or unexpected, every shape equal). Every failure is one line naming the file.
 */
import {
  type RunConfig,
  type SequenceModel,
  modelFromRunConfig,
  parseRunConfig,
  parseSafetensors,
  serializeSafetensors,
} from "bptt";
import type { ModelSummary } from "../shared/protocol.js";
import { formatLength } from "../shared/settings.js";
import type { PageModel } from "./inference.js";

export interface LoadedModel {
  config: RunConfig;
  run: PageModel;
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
  const run: PageModel = { ...modelFromRunConfig(config, configName), spec: config.data };
  const { tensors } = parseSafetensors(weights, weightsName);
  try {
    run.model.loadStateDict(tensors);
  } catch (error) {
    const why = (error as Error).message.replace(/^loadStateDict: /, "");
    throw new RangeError(`${weightsName}: does not fit the model of ${configName}: ${why}`);
  }
  const { data, schedule } = config;
  const m = run.model.config;
  return {
    config,
    run,
    summary: {
      origin: `${configName} + ${weightsName}`,
      task: data.task,
      tokenizer: data.tokenizer?.kind ?? null,
      cell: m.cell,
      hiddenSize: m.hiddenSize,
      numLayers: m.numLayers ?? 1,
      parameters: run.model.parameterCount,
      schedule: `trained with TBPTT(k1=${formatLength(schedule.k1)}, k2=${formatLength(schedule.k2)})`,
      description: describeData(config),
      labels: data.labels,
    },
  };
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
