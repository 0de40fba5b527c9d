/**
 * bptt: recurrent networks (vanilla RNN, LSTM, GRU) trained with exact and truncated
 * backpropagation through time, TBPTT(k1, k2), in Node.js and the browser.
 *
 * Everything exported here is isomorphic: no Node.js module is imported, so the same code runs in a
 * browser. File I/O and the command line live under `bptt/node` and the `bptt` binary.
 */

// Tensors, parameters and randomness.
export { Tensor, type Shape, shapeSize, formatShape } from "./tensor/tensor.js";
export { Parameter, type Module, stateDict, loadStateDict, zeroGrads } from "./tensor/parameter.js";
export { Rng } from "./tensor/rng.js";

// Kernels: the backend every computation runs on.
export {
  type Kernels, type BackendChoice, kernels, setKernels, kernelsInfo, useBestKernels, referenceKernels,
  createWasmKernels, createWasmKernelsSync, wasmSimdSupported, type WasmKernels, type WasmKernelOptions,
  setThreads, setThreadSpawner, type ThreadSpawner, type ThreadHandle, type KernelWorkerInit,
} from "./kernels/index.js";

// Cells: one layer, one direction, a whole chunk of steps.
export {
  type Cell, type CellKind, type CellOptions, type ChunkInput, type BackwardInput, type BackwardOutput,
  type CellWeights, type InputRows,
} from "./cells/cell.js";
export { ChunkCache } from "./cells/chunk-cache.js";
export { CellParameters } from "./cells/parameters.js";
export { RNNCell, type RNNCellOptions } from "./cells/rnn.js";
export { LSTMCell } from "./cells/lstm.js";
export { GRUCell } from "./cells/gru.js";
export { type InitOptions, type RecurrentInit, initializeCell, orthogonal } from "./cells/init.js";

// Layers.
export {
  Recurrent, RNN, LSTM, GRU, RecurrentCache,
  type RecurrentOptions, type RecurrentForwardOptions, type RecurrentOutput, type RecurrentBackwardOptions,
  type RecurrentGradients,
} from "./layers/recurrent.js";
export { Embedding, EmbeddingCache, type EmbeddingOptions } from "./layers/embedding.js";
export { Dense, DenseCache, type DenseOptions } from "./layers/dense.js";
export { Dropout, DropoutCache, type DropoutOptions, type DropoutForwardOptions } from "./layers/dropout.js";
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

// Training.
export { SequenceModel, type ModelConfig, type CellName, type Objective } from "./train/model.js";
export { Trainer, type TrainerOptions, type UpdateInfo, type BatchResult } from "./train/trainer.js";
export { type Schedule, type ScheduleOptions, type ScheduleMode, resolveSchedule, describeSchedule } from "./train/schedule.js";
export { type Batch, IGNORE_INDEX, rowLengths } from "./train/batch.js";
export { type LossPlacement } from "./train/loss-positions.js";
export { GradientFlow, type GradientFlowReport } from "./train/diagnostics.js";
export { evaluate, type Evaluation, type EvaluateOptions, type ClassMetrics } from "./train/evaluate.js";

// Inference: a model run step by step, and sampling from its logits.
export { Stepper } from "./inference/stepper.js";
export { Sampler, type SamplerOptions, NEVER_SAMPLED, softmax, argmaxOf, kthLargest } from "./inference/sampling.js";

// Formats.
export { parseSafetensors, serializeSafetensors, type SafetensorsContents, MAX_HEADER_BYTES } from "./formats/safetensors.js";

// Data that needs no files.
export { classificationBatches, type SequenceBatchOptions } from "./data/batching.js";
export { sentimentTexts, SENTIMENT_VOCABULARY, type SentimentOptions, type SentimentSet } from "./data/synthetic/sentiment.js";
