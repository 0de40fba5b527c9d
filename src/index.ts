/**
 * bptt: recurrent networks (vanilla RNN, LSTM, GRU) trained with exact and truncated
 * backpropagation through time, TBPTT(k1, k2), in Node.js and the browser.
 *
 * Everything exported here is isomorphic: no Node.js module is imported, so the same code runs in a
 * browser. File I/O and the command line live under `bptt/node` and the `bptt` binary; the engine's
 * parts (cells, caches, the trainer's window, helpers) under `bptt/internals`, for extending it.
 */

// Tensors, parameters and randomness.
export { Tensor, type Shape } from "./tensor/tensor.js";
export { Parameter, type Module, stateDict, loadStateDict, zeroGrads } from "./tensor/parameter.js";
export { Rng } from "./tensor/rng.js";

// Kernels: the backend every computation runs on.
export {
  type Kernels, type BackendChoice, kernels, setKernels, kernelsInfo, useBestKernels, referenceKernels,
  createWasmKernels, createWasmKernelsSync, wasmSimdSupported, type WasmKernels, type WasmKernelOptions,
  setThreads, setThreadSpawner, type ThreadSpawner, type ThreadHandle, type KernelWorkerInit,
} from "./kernels/index.js";

// Layers, shaped like PyTorch's.
export { type CellKind } from "./cells/cell.js";
export { type InitOptions, type RecurrentInit } from "./cells/init.js";
export {
  Recurrent, RNN, LSTM, GRU,
  type RecurrentOptions, type RecurrentForwardOptions, type RecurrentOutput, type RecurrentBackwardOptions,
  type RecurrentGradients,
} from "./layers/recurrent.js";
export { RecurrentState } from "./layers/recurrent-state.js";
export { Embedding, type EmbeddingOptions } from "./layers/embedding.js";
export { Dense, type DenseOptions } from "./layers/dense.js";
export { Dropout, type DropoutOptions, type DropoutForwardOptions } from "./layers/dropout.js";
export {
  type StepSelection, selectStepsForward, selectStepsBackward, lastSteps, stepsFromLengths, lastMaskedSteps,
} from "./layers/select-steps.js";

// Losses.
export { type Reduction, type LossOptions, type LossValue } from "./losses/loss.js";
export {
  softmaxCrossEntropyForward, softmaxCrossEntropyBackward,
  type SoftmaxCrossEntropyInput, type SoftmaxCrossEntropyOptions,
} from "./losses/softmax-cross-entropy.js";
export {
  binaryCrossEntropyWithLogitsForward, binaryCrossEntropyWithLogitsBackward, type BinaryCrossEntropyInput,
} from "./losses/binary-cross-entropy.js";
export { mseForward, mseBackward, type RegressionInput } from "./losses/mse.js";

// Optimizers and clipping.
export {
  type Optimizer, type OptimizerKind, type OptimizerState, SGD, Adam, AdamW, RMSprop, Adagrad,
  type SGDOptions, type AdamOptions, type RMSpropOptions, type AdagradOptions,
  createOptimizer, OPTIMIZER_NAMES, clipGradNorm, clipGradValue, gradNorm,
} from "./optim/index.js";

// The model and its training.
export {
  SequenceModel, type ModelConfig, type CellName, type Objective, type ModelInput, type ModelForwardOptions,
  type ModelBackwardInput,
} from "./train/model.js";
export { Trainer, type TrainerOptions, type UpdateInfo, type BatchResult } from "./train/trainer.js";
export { type TrainerState, type SegmentState, type ModeState } from "./train/checkpoint.js";
export {
  type Schedule, type ScheduleOptions, type ScheduleMode, type GradientMethod, describeSchedule,
} from "./train/schedule.js";
export { type Batch, IGNORE_INDEX } from "./train/batch.js";
export { type LossPlacement } from "./train/loss-positions.js";
export { type GradientFlow, type GradientFlowReport } from "./train/diagnostics.js";
export { evaluate, type Evaluation, type EvaluateOptions, type ClassMetrics } from "./train/evaluate.js";

// Inference: a model run step by step, and sampling from its logits.
export { Stepper } from "./inference/stepper.js";
export { Sampler, type SamplerOptions, softmax, argmaxOf } from "./inference/sampling.js";

// Formats.
export { parseSafetensors, serializeSafetensors, type SafetensorsContents } from "./formats/safetensors.js";

// Data: text → tokens → ids → batches, as the CLI reads its files (it adds only the reading).
export {
  type Tokenizer, type TokenizerKind, type TokenizerConfig, CharTokenizer, WordTokenizer, createTokenizer,
} from "./data/tokenizer.js";
export {
  Vocabulary, type VocabularyOptions, countTokens, PAD_TOKEN, UNK_TOKEN, PAD_ID, UNK_ID,
} from "./data/vocabulary.js";
export {
  textTokens, countLineTokens, encodeLines, collectStream, defaultLineEnd, batchify, languageModelBatches,
  streamLanguageModelBatches, type LineTokensOptions, type Strips, type LanguageModelBatchOptions,
  type StreamBatchOptions,
} from "./data/language-model.js";
export { classificationBatches, type SequenceBatchOptions } from "./data/batching.js";
export {
  LabelSet, encodeClassification, textClassificationBatches, type TextExample, type EncodeTextOptions,
  type EncodedTexts, type BatchOrderOptions, type TextBatchOptions,
} from "./data/classification.js";
export {
  encodeLabelling, labellingBatches, type LabellingExample, type LabelledSequence, type EncodedLabelling,
  type EncodeLabellingOptions, type LabellingBatchOptions,
} from "./data/sequence-labelling.js";

// Synthetic tasks, generated from a seeded Rng.
export { sentimentTexts, type SentimentOptions, type SentimentSet } from "./data/synthetic/sentiment.js";
export { oneAnywhereSequences, type OneAnywhereOptions, type OneAnywhereSet } from "./data/synthetic/one-anywhere.js";
export { grammarText, type GrammarTextOptions } from "./data/synthetic/grammar-text.js";

// A run directory's config.json: the model, the data spec, the schedule and the settings.
export {
  type RunConfig, type DataSpec, type RunTask, type RunData, type RunModel, parseRunConfig, stringifyRunConfig,
  dataFromSpec, modelFromRunConfig,
} from "./data/run-config.js";
