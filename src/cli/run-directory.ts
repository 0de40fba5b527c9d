/**
 * A run directory, as `bptt train --out DIR` writes it:
 *
 *   config.json             the model's architecture, the data spec (tokenizer, vocabulary, labels,
 *                           columns) and the training settings
 *   model.safetensors       the weights under PyTorch state_dict names (embedding.weight,
 *                           rnn.weight_ih_l0, …, head.weight, head.bias): loadable into
 *                           nn.Embedding + nn.LSTM/nn.GRU/nn.RNN + nn.Linear
 *   checkpoint.safetensors  everything needed to resume: the weights, the optimizer's buffers, the
 *                           trainer's carried state and kept window, and (in its metadata) the position
 *                           in the data, the generators' states and the history so far
 *   metrics.json            per-epoch training and validation metrics
 *
 * Every file is written atomically (temporary file, fsync, rename): a run killed at any moment leaves
 * the previous complete version of each. The checkpoint is one file, so it is never half old, half new.
 * Files are parsed defensively: a bad or foreign file is a one-line error naming it.
 */
import { join } from "node:path";
import { writeFileAtomic, readFileChecked } from "../io/atomic-write.js";
import { loadSafetensors, saveSafetensors } from "../io/safetensors-file.js";
import type { SafetensorsHeader } from "../formats/safetensors.js";
import type { Optimizer, OptimizerState } from "../optim/optimizer.js";
import { Tensor, formatShape } from "../tensor/tensor.js";
import type { SequenceModel } from "../train/model.js";
import type { SegmentState, Trainer, TrainerState } from "../train/trainer.js";
import { modeMetadata, readModeState } from "./mode-state.js";
import type { CellWeights } from "../cells/cell.js";
import { type RunConfig, parseRunConfig, stringifyRunConfig } from "../data/run-config.js";
import { UsageError, oneLine } from "./errors.js";
import { RUN_CONFIG_LIMIT, memoryLimit } from "./limits.js";
import { type TrainSettings, savedSettings } from "./settings.js";

export const CONFIG_FILE = "config.json";
export const MODEL_FILE = "model.safetensors";
export const CHECKPOINT_FILE = "checkpoint.safetensors";
export const METRICS_FILE = "metrics.json";

/** config.json as `bptt train` writes it: the library's schema (src/data/run-config.ts), with its settings. */
export type TrainRunConfig = RunConfig<TrainSettings>;

/** Where training stands: the epoch under way (1-based), batches of it done, and the history. */
export interface RunProgress {
  epoch: number;
  batchesDone: number;
  updates: number;
  tokens: number;
  seconds: number;
  history: EpochRecord[];
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy?: number;
  validation?: Record<string, unknown>;
  seconds: number;
  /** Real tokens trained on per second (padding not counted). */
  tokensPerSecond?: number;
}

export function writeConfig(dir: string, config: TrainRunConfig): void {
  writeFileAtomic(join(dir, CONFIG_FILE), stringifyRunConfig(config));
}

/**
 * Reads and checks a run's config.json (within RUN_CONFIG_LIMIT, UTF-8, then parseRunConfig); a
 * missing or malformed file names itself. Its "training" section is the run's settings (savedSettings).
 */
export function readConfig(dir: string): TrainRunConfig {
  const path = join(dir, CONFIG_FILE);
  const text = decodeUtf8(readFileChecked(path, "run configuration", RUN_CONFIG_LIMIT), path);
  try {
    const config = parseRunConfig(text, path);
    return { ...config, training: savedSettings(config.training) };
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

export function saveModel(dir: string, model: SequenceModel): void {
  const tensors = model.stateDict();
  refuseNonFinite(tensors, join(dir, MODEL_FILE));
  saveSafetensors(join(dir, MODEL_FILE), tensors, { format: "pt", producer: "bptt" });
}

/**
 * Loads weights by PyTorch name into the model. A file for another architecture is refused by name and
 * shape from its header, before its data is read; a tensor that holds NaN or ±Infinity is refused by name.
 */
export function loadWeights(path: string, model: SequenceModel): void {
  const { tensors } = loadSafetensors(path, {
    maxBytes: memoryLimit(),
    checkHeader: (header) => {
      const fit = headerFit(header, model);
      if (fit !== null) throw new UsageError(`${path}: does not fit this model: ${fit}`);
    },
  });
  checkFinite(tensors, path);
  try {
    model.loadStateDict(tensors);
  } catch (error) {
    throw new UsageError(`${path}: does not fit this model: ${oneLine((error as Error).message.replace(/^loadStateDict: /, ""))}`);
  }
}

/** Why a header's tensors are not the model's parameters (a name missing or unknown, a shape), or null. */
function headerFit(header: SafetensorsHeader, model: SequenceModel): string | null {
  const shapes = new Map(header.entries.map((e) => [e.name, e.shape]));
  const named = model.namedParameters();
  for (const [name, p] of named) {
    const shape = shapes.get(name);
    if (shape === undefined) return `missing ${name} ${formatShape(p.shape)}`;
    if (shape.length !== p.shape.length || shape.some((n, i) => n !== p.shape[i])) {
      return `${name}: expected shape ${formatShape(p.shape)}, got ${formatShape(shape)}`;
    }
  }
  const known = new Set(named.map(([name]) => name));
  const unknown = header.entries.find((e) => !known.has(e.name));
  return unknown ? `unexpected ${unknown.name} (this model has ${[...known].join(", ")})` : null;
}

/** Every value of every tensor read must be finite; the first that is not is named with its tensor and index. */
export function checkFinite(tensors: ReadonlyMap<string, Tensor>, path: string): void {
  const bad = firstNonFinite(tensors);
  if (bad) throw new UsageError(`${path}: tensor ${JSON.stringify(bad.name)} holds ${bad.value} at index ${bad.index}; the weights are not finite (saved by a run that diverged?)`);
}

/** Non-finite weights are never written: a run that diverged keeps its last good files. */
function refuseNonFinite(tensors: ReadonlyMap<string, Tensor>, path: string): void {
  const bad = firstNonFinite(tensors);
  if (bad) throw new UsageError(`${path}: not written: tensor ${JSON.stringify(bad.name)} holds ${bad.value} at index ${bad.index} (training diverged)`);
}

function firstNonFinite(tensors: ReadonlyMap<string, Tensor>): { name: string; index: number; value: number } | null {
  for (const [name, tensor] of tensors) {
    const data = tensor.data;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return { name, index: i, value: data[i]! };
  }
  return null;
}

/**
 * The tensors of a kept segment's weight copy (CellWeights) in checkpoint.safetensors, each
 * `trainer.segment.{n}.weights.{cell}.{suffix}`; the optional ones are flagged in the metadata under
 * their suffix (a checkpoint written before the LSTM's variants has no "hr" or "peephole" flag: none).
 */
const REQUIRED_WEIGHTS = [["weightIh", "ih"], ["weightHh", "hh"]] as const;
const OPTIONAL_WEIGHTS = [["biasIh", "bih"], ["biasHh", "bhh"], ["weightHr", "hr"], ["peephole", "peephole"]] as const;

const nanToNull = (xs: number[]): Array<number | null> => xs.map((x) => (Number.isNaN(x) ? null : x));
const nullToNaN = (xs: unknown, what: string): number[] => {
  if (!Array.isArray(xs) || xs.some((x) => x !== null && typeof x !== "number")) throw new RangeError(`${what} must be an array of numbers`);
  return xs.map((x) => (x === null ? NaN : (x as number)));
};

/** Writes checkpoint.safetensors: weights, optimizer buffers, trainer state and progress, in one atomic file. */
export function saveCheckpoint(dir: string, model: SequenceModel, optimizer: Optimizer, trainer: Trainer, progress: RunProgress): void {
  const tensors = new Map<string, Tensor>(model.stateDict());
  const vector = (name: string, data: ArrayLike<number>): void => {
    tensors.set(name, new Tensor(Float32Array.from(data), [data.length]));
  };
  const opt = optimizer.stateDict();
  const optimizerMeta = {
    kind: opt.kind, steps: opt.steps, hyperparameters: opt.hyperparameters,
    parameters: opt.parameters.map((p, i) => {
      for (const [name, values] of Object.entries(p.buffers)) vector(`optimizer.${i}.${name}`, values);
      return { name: p.name, size: p.size, buffers: Object.keys(p.buffers) };
    }),
  };
  const state = trainer.exportState();
  if (state.h) vector("trainer.h", state.h);
  if (state.c) vector("trainer.c", state.c);
  const segments = state.segments.map((seg, n) => {
    const prefix = `trainer.segment.${n}`;
    vector(`${prefix}.h0`, seg.h0);
    if (seg.c0) vector(`${prefix}.c0`, seg.c0);
    if (seg.ids) vector(`${prefix}.ids`, seg.ids);
    vector(`${prefix}.input`, seg.input);
    if (seg.mask) vector(`${prefix}.mask`, seg.mask);
    seg.weights?.forEach((w, i) => {
      for (const [field, suffix] of [...REQUIRED_WEIGHTS, ...OPTIONAL_WEIGHTS]) {
        const values = w[field];
        if (values) vector(`${prefix}.weights.${i}.${suffix}`, values);
      }
    });
    const flags = (w: CellWeights): Record<string, boolean> =>
      Object.fromEntries(OPTIONAL_WEIGHTS.map(([field, suffix]) => [suffix, (w[field] ?? null) !== null]));
    return {
      start: seg.start, T: seg.T, version: seg.version, resetRows: seg.resetRows, dropoutRng: nanToNull(seg.dropoutRng),
      hasC0: seg.c0 !== null, hasIds: seg.ids !== null, hasMask: seg.mask !== null,
      weights: seg.weights ? seg.weights.map(flags) : null,
    };
  });
  const trainerMeta = {
    updates: state.updates, streamTime: state.streamTime, batchSize: state.batchSize, lastBatchMasked: state.lastBatchMasked,
    dropoutRng: nanToNull(state.dropoutRng), hasH: state.h !== null, hasC: state.c !== null, segments,
    ...(state.mode ? { mode: modeMetadata(state.mode, vector) } : {}),
  };
  refuseNonFinite(tensors, join(dir, CHECKPOINT_FILE));
  saveSafetensors(join(dir, CHECKPOINT_FILE), tensors, {
    format: "pt",
    "bptt.checkpoint": JSON.stringify({ progress, optimizer: optimizerMeta, trainer: trainerMeta }),
  });
}

/**
 * Restores model, optimizer and trainer from DIR/checkpoint.safetensors and returns the progress.
 * Every field is checked; anything that does not fit is a one-line error naming the file.
 */
export function loadCheckpoint(dir: string, model: SequenceModel, optimizer: Optimizer, trainer: Trainer): RunProgress {
  const path = join(dir, CHECKPOINT_FILE);
  const { tensors, metadata } = loadSafetensors(path, { maxBytes: memoryLimit() });
  checkFinite(tensors, path);
  try {
    const meta = JSON.parse(metadata["bptt.checkpoint"] ?? "null") as {
      progress: RunProgress; optimizer: { kind: string; steps: number; hyperparameters: OptimizerState["hyperparameters"]; parameters: Array<{ name: string; size: number; buffers: string[] }> };
      trainer: Record<string, unknown> & { segments: Array<Record<string, unknown>> };
    } | null;
    if (!meta || typeof meta !== "object") throw new RangeError('no "bptt.checkpoint" metadata: not a bptt checkpoint');
    const need = (name: string): Float32Array => {
      const t = tensors.get(name);
      if (!t) throw new RangeError(`missing tensor ${name}`);
      return t.data;
    };
    const modelTensors = new Map([...tensors].filter(([name]) => !name.startsWith("optimizer.") && !name.startsWith("trainer.")));
    model.loadStateDict(modelTensors);
    const o = meta.optimizer;
    if (!o || !Array.isArray(o.parameters)) throw new RangeError("the optimizer state is missing");
    optimizer.loadStateDict({
      kind: o.kind as OptimizerState["kind"], steps: o.steps, hyperparameters: o.hyperparameters,
      parameters: o.parameters.map((p, i) => ({
        name: p.name, size: p.size,
        buffers: Object.fromEntries((p.buffers ?? []).map((b) => [b, need(`optimizer.${i}.${b}`)])),
      })),
    });
    const t = meta.trainer;
    if (!t || !Array.isArray(t.segments)) throw new RangeError("the trainer state is missing");
    const segments: SegmentState[] = t.segments.map((s, n) => {
      const prefix = `trainer.segment.${n}`;
      const weights = Array.isArray(s.weights)
        ? (s.weights as Array<Record<string, unknown>>).map((w, i): CellWeights => {
            const part = (suffix: string): Float32Array => need(`${prefix}.weights.${i}.${suffix}`);
            const optional = (suffix: string): Float32Array | null => (w?.[suffix] === true ? part(suffix) : null);
            return Object.fromEntries([
              ...REQUIRED_WEIGHTS.map(([field, suffix]) => [field, part(suffix)]),
              ...OPTIONAL_WEIGHTS.map(([field, suffix]) => [field, optional(suffix)]),
            ]) as unknown as CellWeights;
          })
        : null;
      return {
        start: s.start as number, T: s.T as number, version: s.version as number, resetRows: (s.resetRows as number[]) ?? [],
        dropoutRng: nullToNaN(s.dropoutRng, "a segment's generator state"),
        h0: need(`${prefix}.h0`), c0: s.hasC0 ? need(`${prefix}.c0`) : null,
        ids: s.hasIds ? Int32Array.from(need(`${prefix}.ids`)) : null,
        input: need(`${prefix}.input`), mask: s.hasMask ? need(`${prefix}.mask`) : null, weights,
      };
    });
    const state: TrainerState = {
      updates: t.updates as number, streamTime: t.streamTime as number, batchSize: t.batchSize as number,
      lastBatchMasked: t.lastBatchMasked === true, dropoutRng: nullToNaN(t.dropoutRng, "the dropout generator state"),
      h: t.hasH ? need("trainer.h") : null, c: t.hasC ? need("trainer.c") : null, segments,
      ...(t.mode !== undefined ? { mode: readModeState(t.mode, need) } : {}),
    };
    trainer.importState(state);
    const p = meta.progress;
    if (!p || ![p.epoch, p.batchesDone, p.updates, p.tokens].every((v) => Number.isSafeInteger(v) && v >= 0) || !Array.isArray(p.history)) {
      throw new RangeError("the progress record is malformed");
    }
    return p;
  } catch (error) {
    if (error instanceof SyntaxError) throw new UsageError(`${path}: the checkpoint metadata is not valid JSON`);
    if (error instanceof RangeError || error instanceof TypeError) throw new UsageError(`${path}: ${oneLine(error.message)}`);
    throw error;
  }
}

export function writeMetrics(dir: string, history: EpochRecord[], extra: Record<string, unknown>): void {
  writeFileAtomic(join(dir, METRICS_FILE), `${JSON.stringify({ ...extra, epochs: history }, null, 2)}\n`);
}

function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${path}: not valid UTF-8`);
  }
}
