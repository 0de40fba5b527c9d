/**
 * bptt/internals: the engine's parts, for extending it (a new cell, a trainer mode, an export format)
 * and for tests. Not the API the README shows (that is `bptt`), and free to change between versions.
 * Isomorphic, like the root: no Node.js module is imported. See docs/architecture.md for the layers.
 */

// Tensors and reusable buffers.
export { shapeSize, sameShape, formatShape } from "./tensor/tensor.js";
export { ReusableBuffer, ReusableIndices } from "./tensor/buffers.js";

// Cells: one layer, one direction, a whole chunk of steps, each with its typed cache.
export {
  type Cell, type CellKind, type CellOptions, type StateSizes, type StepState, type ChunkInput, type InputRows,
  type BackwardInput, type BackwardOutput, type CellWeights, NO_DX, gateCount,
} from "./cells/cell.js";
export { ChunkCache } from "./cells/chunk-cache.js";
export { CellParameters } from "./cells/parameters.js";
export { BaseCell, type CellShape, type ForwardFrame, type BackwardFrame } from "./cells/base.js";
export { RNNCell, RNNCache, type RNNCellOptions } from "./cells/rnn.js";
export { LSTMCell, LSTMCache } from "./cells/lstm.js";
export { GRUCell, GRUCache } from "./cells/gru.js";
export { createCell } from "./cells/index.js";
export { initializeCell, orthogonal } from "./cells/init.js";
export {
  projectChunkInputs, addBlockGradients, finishInputGradients, startInputGradients,
} from "./cells/input-projection.js";
export { InputTableBuffers, inputTablePays } from "./cells/input-table.js";
export { type BackwardCut, validateChunk, validateBackward, backwardMask } from "./cells/validate.js";

// The layers' caches.
export { RecurrentCache } from "./layers/recurrent.js";
export { zeroStateRows } from "./layers/recurrent-state.js";
export { EmbeddingCache } from "./layers/embedding.js";
export { DenseCache } from "./layers/dense.js";
export { DropoutCache } from "./layers/dropout.js";

// The model's chunk cache and the trainer's parts.
export { SequenceCache } from "./train/model.js";
export { TruncationWindow, type Segment } from "./train/window.js";
// The modes beyond truncation (src/train/modes/), each a TruncationWindow.
export { createWindow, checkMode, type ModeHooks, type ModeWindow, type ModeOptions } from "./train/modes/index.js";
export { RowStep } from "./train/modes/row-step.js";
export { OnlineWindow } from "./train/modes/online.js";
export { RtrlWindow, RTRL_LIMIT } from "./train/modes/rtrl.js";
export { UoroWindow, type UoroOptions } from "./train/modes/uoro.js";
export { ArtbpWindow, TruncationLaw, type ArtbpOptions } from "./train/modes/artbp.js";
export { AdaptiveWindow, type TruncationEstimate, PROBE_EVERY, PROBE_UPDATES } from "./train/modes/adaptive-k2.js";
export { ChunkLoss, type LossPiece, type ChunkLossOptions, type ChunkLossValue } from "./train/chunk-loss.js";
export { LossPositions } from "./train/loss-positions.js";
export { lossAndGradient, type ObjectiveResult } from "./train/objective.js";
export { exportTrainerState, importTrainerState, type TrainerCounters } from "./train/checkpoint.js";
export { validateBatch, validateTrainingBatch, type CarriedStream } from "./train/validate-batch.js";
export { resolveSchedule } from "./train/schedule.js";
export { rowLengths } from "./train/batch.js";
export { GradientFlow } from "./train/diagnostics.js";
export { clipGradients, type ClipOptions, type ClipResult } from "./optim/clip.js";

// Helpers of sampling, formats and data.
export { kthLargest, NEVER_SAMPLED } from "./inference/sampling.js";
export { MAX_HEADER_BYTES } from "./formats/safetensors.js";
export { SENTIMENT_VOCABULARY } from "./data/synthetic/sentiment.js";
