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

// Data that needs no files.
export { classificationBatches, type SequenceBatchOptions } from "./data/batching.js";
export { sentimentTexts, type SentimentOptions, type SentimentSet } from "./data/synthetic/sentiment.js";
