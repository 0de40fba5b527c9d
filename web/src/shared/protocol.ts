/**
 * Messages between the page and the training worker. The page only draws and asks; the worker owns
 * the model, trains it, evaluates it, samples from it and converts it to and from run files.
 */
import type { PlaygroundSettings } from "./settings.js";

export interface BackendInfo {
  name: string;
  threads: number;
  reason: string;
  crossOriginIsolated: boolean;
}

/** Mean training loss and accuracy over the updates since the previous point. */
export interface TrainPoint {
  update: number;
  loss: number;
  accuracy: number | null;
  /** Mean global gradient norm of those updates, before clipping. */
  gradNorm: number;
}

export interface HeldOutPoint {
  update: number;
  loss: number;
  accuracy: number | null;
  /** Language models: loss / ln 2. */
  bitsPerToken: number | null;
}

/** mean ‖∂L/∂h_{t−ℓ}‖ per layer (norms[layer][ℓ]) over the last `updates` updates. */
export interface GradientFlowView {
  norms: number[][];
  updates: number;
}

export interface ProbeView {
  distance: number;
  pCorrect: number;
  accuracy: number;
}

/** What a model is, for the page: its run configuration's essentials. */
export interface ModelSummary {
  /** "trained here" or the dropped files' names. */
  origin: string;
  task: "lm" | "classify" | "label" | "regress";
  tokenizer: "char" | "word" | null;
  cell: string;
  hiddenSize: number;
  numLayers: number;
  parameters: number;
  schedule: string;
  /** The page task's one-line description (trained here), or the run's data spec (loaded). */
  description: string;
  /** classify and label: the label names. */
  labels: string[] | null;
}

export type RunState = "idle" | "running" | "paused" | "finished" | "loaded";

export interface SampleRequest {
  id: number;
  /** Text to continue; "" starts at a line start, as `bptt generate` without --prime. */
  prime: string;
  length: number;
  temperature: number;
  topK: number;
  seed: number;
}

export type ToWorker =
  | { type: "start"; settings: PlaygroundSettings; text: string }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "reset" }
  | { type: "sample"; request: SampleRequest }
  | { type: "export" }
  | { type: "import"; configText: string; configName: string; weights: Uint8Array; weightsName: string }
  | { type: "evaluate-text"; text: string };

export interface Progress {
  state: RunState;
  updates: number;
  epoch: number;
  epochs: number;
  /** Time steps × rows trained per second of training time, since the start. */
  stepsPerSecond: number;
  train: TrainPoint[];
  heldOut: HeldOutPoint | null;
  flow: GradientFlowView | null;
  probe: ProbeView[] | null;
}

export type FromWorker =
  | { type: "ready"; backend: BackendInfo }
  | { type: "started"; model: ModelSummary }
  | { type: "progress"; progress: Progress }
  | { type: "state"; state: RunState }
  | { type: "sampled"; id: number; text: string }
  | { type: "exported"; configText: string; weights: Uint8Array; heldOut: { name: string; text: string } | null }
  | { type: "imported"; model: ModelSummary }
  | { type: "evaluated"; lines: string[] }
  | { type: "error"; context: "start" | "training" | "sample" | "export" | "import" | "evaluate"; message: string };
