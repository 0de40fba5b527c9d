/**
 * What a model will take, estimated from its configuration before anything is allocated, and refused
 * with the estimate and the limit when it cannot fit (limits.ts): `--layers 1000000` or a config.json
 * with `"numLayers": 10000000` fail at once with one line, not after minutes of allocation.
 *
 * Floats of 4 bytes. G gates (1 RNN, 3 GRU, 4 LSTM), H hidden, L layers, D directions, I input size
 * (E, the embedding size, for tokens), V vocabulary, O outputs:
 *
 *   parameters   V·E + L·D·(G·H·(I_l + H) + 2·G·H) + O·(D·H + 1),  I_0 = I, I_l = D·H after
 *   training     + gradients (as many) + optimizer state (0–2 per parameter, by optimizer)
 *   activations  steps · B · (L·D·(G + 4)·H + I + 2·O): the gates, states and outputs each layer keeps
 *                for back-propagation, the input, and logits with their gradient, over the steps held
 *                at once (training: a chunk and the kept window; inference: one chunk)
 *   overhead     1 KiB per parameter tensor (its objects and caches), which is what a very deep stack
 *                of tiny layers costs
 */
import { gateCount } from "../cells/cell.js";
import type { OptimizerKind } from "../optim/optimizer.js";
import type { CellName, ModelConfig } from "../train/model.js";
import { formatBytes } from "../io/file-checks.js";
import { UsageError } from "./errors.js";
import { memoryLimit } from "./limits.js";

export interface MemoryUse {
  /** Training with this optimizer (gradients and its state), or inference (neither). */
  optimizer: OptimizerKind | null;
  /** Rows and steps held at once. */
  batch: number;
  steps: number;
}

export interface MemoryEstimate {
  parameters: number;
  gradients: number;
  optimizerState: number;
  activations: number;
  overhead: number;
  total: number;
}

const FLOAT = 4;
const TENSOR_OVERHEAD = 1024;
const STATE_PER_PARAMETER: Record<OptimizerKind, number> = { sgd: 1, adam: 2, adamw: 2, rmsprop: 2, adagrad: 1 };
const KIND: Record<CellName, "rnn_tanh" | "rnn_relu" | "lstm" | "gru"> = { rnn: "rnn_tanh", rnn_relu: "rnn_relu", lstm: "lstm", gru: "gru" };

/** Bytes a model of `config` takes in `use`; NaN where the configuration is not numbers (checked elsewhere). */
export function estimateMemory(config: ModelConfig, use: MemoryUse): MemoryEstimate {
  const G = gateCount(KIND[config.cell] ?? "lstm");
  const H = Number(config.hiddenSize);
  const L = Number(config.numLayers ?? 1);
  const D = config.bidirectional ? 2 : 1;
  const tokens = config.vocabSize !== undefined;
  const I = tokens ? Number(config.embeddingDim ?? config.hiddenSize) : Number(config.inputSize);
  const V = tokens ? Number(config.vocabSize) : 0;
  const O = Number(config.outputSize);
  const layer = (inputs: number): number => G * H * (inputs + H) + 2 * G * H;
  const recurrent = D * (layer(I) + (L - 1) * layer(D * H));
  const count = V * I + recurrent + O * (D * H + 1);
  const parameters = FLOAT * count;
  const training = use.optimizer !== null;
  const gradients = training ? parameters : 0;
  const optimizerState = training ? STATE_PER_PARAMETER[use.optimizer!] * parameters : 0;
  const perStep = L * D * (G + 4) * H + I + 2 * O;
  const activations = FLOAT * use.steps * use.batch * perStep * (training ? 2 : 1);
  const overhead = TENSOR_OVERHEAD * (4 * L * D + 3);
  return { parameters, gradients, optimizerState, activations, overhead, total: parameters + gradients + optimizerState + activations + overhead };
}

/** Refuses, in one line naming `what`, a model whose estimate is over the memory limit. */
export function checkMemory(config: ModelConfig, use: MemoryUse, what: string): void {
  const e = estimateMemory(config, use);
  const limit = memoryLimit();
  if (!(e.total > limit)) return; // NaN: a malformed configuration, refused where it is built
  const parts = [`parameters ${formatBytes(e.parameters)}`];
  if (use.optimizer !== null) parts.push(`gradients ${formatBytes(e.gradients)}`, `${use.optimizer} state ${formatBytes(e.optimizerState)}`);
  parts.push(`activations ${formatBytes(e.activations)} for ${use.batch} × ${use.steps} steps`);
  throw new UsageError(
    `${what}: the model needs an estimated ${formatBytes(e.total)} (${parts.join(", ")}), over the ${formatBytes(limit)} limit ` +
      "(BPTT_MEMORY_LIMIT; default 3/4 of the machine's memory): make it smaller",
  );
}
