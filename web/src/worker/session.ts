/**
 * A training run in the worker: the page's settings turned into a SequenceModel, an optimizer and a
 * TBPTT(k1, k2) Trainer with gradient-flow diagnostics, fed batch by batch from the task.
 *
 * `advance(ms)` trains whole batches until about `ms` milliseconds have passed, so the worker can
 * answer the page between slices (pause, sample, download). Held-out evaluation and the sentiment
 * probe run between slices too, each kept under a share of the training time (HELD_OUT_SHARE,
 * PROBE_SHARE), so their cost never dominates; they do not touch the trainer, so the weights after N
 * updates do not depend on when they ran.
 */
import {
  type Batch,
  type Evaluation,
  type RunConfig,
  SequenceModel,
  Trainer,
  type TrainerOptions,
  type UpdateInfo,
  createOptimizer,
  dataFromSpec,
  describeSchedule,
  evaluate,
} from "bptt";
import type { GradientFlowView, HeldOutPoint, ModelSummary, ProbeView, TrainPoint } from "../shared/protocol.js";
import { type PlaygroundSettings, TASK_TITLES } from "../shared/settings.js";
import { createTask } from "../tasks/index.js";
import type { Task } from "../tasks/task.js";
import { FlowWindow } from "./flow-window.js";
import type { PageModel } from "./inference.js";

/** Updates the gradient-flow plot averages over. */
const FLOW_SPAN = 50;
/** The most time held-out evaluation and the probe may take, as fractions of the training time. */
const HELD_OUT_SHARE = 0.2;
const PROBE_SHARE = 0.1;

export class TrainingSession {
  readonly settings: PlaygroundSettings;
  readonly task: Task;
  readonly model: SequenceModel;
  readonly trainer: Trainer;
  /** The model with the tokenizer, vocabulary and labels its config.json describes, for inference. */
  readonly run: PageModel;
  epoch = 1;
  private batches: Iterator<Batch>;
  private pending = { lossSum: 0, terms: 0, correct: 0, updates: 0, gradNormSum: 0 };
  private points: TrainPoint[] = [];
  private readonly flowWindow = new FlowWindow(FLOW_SPAN);
  private steps = 0;
  private trainingMs = 0;
  private heldOutMs = 0;
  private probeMs = 0;
  private lastHeldOutAt = -1;
  private lastProbeAt = -1;
  private finishedFlag = false;

  constructor(settings: PlaygroundSettings, text: string) {
    this.settings = settings;
    this.task = createTask(settings, text);
    this.model = new SequenceModel({
      cell: settings.cell,
      ...(this.task.shape.vocabSize !== undefined
        ? { vocabSize: this.task.shape.vocabSize, embeddingDim: settings.embeddingDim }
        : { inputSize: this.task.shape.inputSize! }),
      hiddenSize: settings.hiddenSize,
      numLayers: settings.numLayers,
      outputSize: this.task.shape.outputSize,
      objective: "classes",
      seed: settings.seed,
      ...(settings.cell === "lstm" ? { init: { forgetGateBias: 1 } } : {}),
    });
    const optimizer = createOptimizer(settings.optimizer, this.model.parameters(), { lr: settings.learningRate });
    const onUpdate = (info: UpdateInfo): void => this.record(info);
    this.trainer = new Trainer(this.model, optimizer, { ...trainerOptions(settings), onUpdate });
    this.batches = this.task.epoch(1)[Symbol.iterator]();
    this.run = { model: this.model, spec: this.task.dataSpec, ...dataFromSpec(this.task.dataSpec) };
  }

  get updates(): number {
    return this.trainer.updateCount;
  }

  get finished(): boolean {
    return this.finishedFlag;
  }

  /** Steps × rows per second of training. */
  get stepsPerSecond(): number {
    return this.trainingMs > 0 ? (1000 * this.steps) / this.trainingMs : 0;
  }

  /** Trains whole batches for about `ms` milliseconds (at least one batch); false once every epoch is done. */
  advance(ms: number): boolean {
    const start = performance.now();
    do {
      const next = this.batches.next();
      if (next.done) {
        if (this.epoch >= this.settings.epochs) {
          this.finishedFlag = true;
          break;
        }
        this.epoch++;
        this.batches = this.task.epoch(this.epoch)[Symbol.iterator]();
        continue;
      }
      this.trainer.trainBatch(next.value);
      this.steps += next.value.T * next.value.B;
    } while (performance.now() - start < ms);
    this.trainingMs += performance.now() - start;
    return !this.finishedFlag;
  }

  private record(info: UpdateInfo): void {
    this.pending.lossSum += info.lossSum;
    this.pending.terms += info.lossTerms;
    this.pending.correct += info.correct;
    this.pending.updates++;
    this.pending.gradNormSum += info.gradNorm;
  }

  /** The mean over the updates since the last call, as one point (none when there was no update). */
  takeTrainPoints(): TrainPoint[] {
    const { lossSum, terms, correct, updates, gradNormSum } = this.pending;
    if (updates > 0 && terms > 0) {
      const point = { loss: lossSum / terms, accuracy: correct / terms, gradNorm: gradNormSum / updates };
      this.points.push({ update: this.updates, ...point });
    }
    this.pending = { lossSum: 0, terms: 0, correct: 0, updates: 0, gradNormSum: 0 };
    const points = this.points;
    this.points = [];
    return points;
  }

  /** Whether to evaluate now: something changed, and (unless forced) the time spent stays under its share. */
  private due(lastAt: number, spentMs: number, share: number, force: boolean): boolean {
    if (lastAt === this.updates) return false;
    return force || lastAt < 0 || spentMs < share * this.trainingMs;
  }

  /** The held-out loss and accuracy now, if due. */
  heldOut(force = false): HeldOutPoint | null {
    if (!this.due(this.lastHeldOutAt, this.heldOutMs, HELD_OUT_SHARE, force)) return null;
    const start = performance.now();
    const e: Evaluation = evaluate(this.model, this.task.heldOut(), { lossAt: this.task.evaluationLossAt });
    this.heldOutMs += performance.now() - start;
    this.lastHeldOutAt = this.updates;
    if (e.terms === 0) return null;
    const languageModel = this.task.dataSpec.task === "lm";
    const bitsPerToken = languageModel ? (e.bitsPerToken ?? null) : null;
    return { update: this.updates, loss: e.loss, accuracy: e.accuracy ?? null, bitsPerToken };
  }

  /** P(correct) against the distance of the opening, if the task has a probe and it is due. */
  probe(force = false): ProbeView[] | null {
    if (!this.task.probe || !this.due(this.lastProbeAt, this.probeMs, PROBE_SHARE, force)) return null;
    const start = performance.now();
    const points = this.task.probe(this.model);
    this.probeMs += performance.now() - start;
    this.lastProbeAt = this.updates;
    return points;
  }

  flow(): GradientFlowView | null {
    const report = this.trainer.gradientFlow?.report();
    return report && this.updates > 0 ? this.flowWindow.view(report, this.updates) : null;
  }

  summary(): ModelSummary {
    const s = this.settings;
    return {
      origin: "trained here",
      task: this.task.dataSpec.task,
      tokenizer: this.task.dataSpec.tokenizer?.kind ?? null,
      cell: s.cell,
      hiddenSize: s.hiddenSize,
      numLayers: s.numLayers,
      parameters: this.model.parameterCount,
      schedule: `${describeSchedule(this.trainer.schedule)}, ${lossDescription(s)}`,
      description: `${TASK_TITLES[s.task]}: ${this.task.description}`,
      labels: this.task.dataSpec.labels,
    };
  }

  /** config.json for this run, as `bptt train` would have written it. */
  runConfig(): RunConfig {
    const s = this.settings;
    return {
      format: "bptt-run",
      version: 1,
      model: { ...this.model.config },
      data: this.task.dataSpec,
      schedule: { k1: s.k1, k2: s.k2 },
      training: {
        task: this.task.dataSpec.task,
        source: `bptt playground: ${TASK_TITLES[s.task]}`,
        cell: s.cell,
        hidden: s.hiddenSize,
        layers: s.numLayers,
        embedding: s.embeddingDim,
        tokenizer: this.task.dataSpec.tokenizer?.kind ?? "char",
        lowercase: false,
        optimizer: s.optimizer,
        lr: s.learningRate,
        clip: s.clipNorm,
        k1: s.k1,
        k2: s.k2,
        mode: null,
        lossEveryChunk: s.loss === "every-chunk",
        batch: s.task === "char-lm" ? s.charLm.strips : s.batchSize,
        epochs: s.epochs,
        seed: s.seed,
        updates: this.updates,
      },
    };
  }
}

/** The Trainer's schedule, loss placement and clipping for the settings. */
export function trainerOptions(s: PlaygroundSettings): TrainerOptions {
  return {
    k1: s.k1,
    k2: s.k2,
    lossAt: s.loss === "every-step" ? "every-step" : "last-step",
    ...(s.loss === "every-chunk" ? { lossEveryChunk: true } : {}),
    ...(s.clipNorm !== null ? { clipNorm: s.clipNorm } : {}),
    diagnostics: true,
  };
}

function lossDescription(s: PlaygroundSettings): string {
  if (s.loss === "every-step") return "loss at every step";
  if (s.loss === "end") return "loss at the end";
  return `loss every ${s.k1} steps`;
}
