/**
 * `bptt train`: read the data, build the model, train it with TBPTT(k1, k2), evaluate on held-out
 * data after every epoch, and keep the run directory up to date (checkpoints every N updates, at the
 * end of every epoch and at the end). `--resume DIR` continues a run from its checkpoint so that it
 * ends bit-identical to a run that was never interrupted.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { kernels } from "../kernels/index.js";
import { createOptimizer } from "../optim/index.js";
import type { Optimizer } from "../optim/optimizer.js";
import type { DataSpec } from "../data/run-config.js";
import { evaluate, type Evaluation } from "../train/evaluate.js";
import { type ModelConfig, SequenceModel } from "../train/model.js";
import { type Schedule, type ScheduleOptions, describeSchedule, resolveSchedule } from "../train/schedule.js";
import { Trainer, type UpdateInfo } from "../train/trainer.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { TrainingDiverged, checkValidationLoss, divergenceCheck } from "./divergence.js";
import { UsageError } from "./errors.js";
import { Interrupts } from "./interrupt.js";
import { checkMemory } from "./memory-estimate.js";
import { Progress } from "./progress.js";
import {
  CHECKPOINT_FILE, CONFIG_FILE, type EpochRecord, MODEL_FILE, type RunProgress, type TrainRunConfig, loadCheckpoint,
  loadWeights, readConfig, saveCheckpoint, saveModel, writeConfig, writeMetrics,
} from "./run-directory.js";
import { DEFAULT_SETTINGS, RESUMABLE_SETTINGS, type SettingKey, type TrainSettings, flagOf } from "./settings.js";
import { RunLock } from "./run-lock.js";
import { type PreparedData, languageModelSteps, prepareTraining } from "./tasks.js";

export interface TrainRun {
  settings: TrainSettings;
  /** Continue the run in this directory (its config.json gives the settings). */
  resume: string | null;
  progress: Progress;
}

/** The schedule a task trains with when none is given: TBPTT(35, 35) for a language model, full BPTT otherwise. */
export function scheduleOf(settings: TrainSettings): ScheduleOptions {
  // k2 adaptive's own settings (src/train/modes/adaptive-k2.ts), when given.
  const adaptive = {
    ...(settings.biasTolerance !== null ? { biasTolerance: settings.biasTolerance } : {}),
    ...(settings.maxK2 !== null ? { maxK2: settings.maxK2 } : {}),
  };
  if (settings.mode !== null) {
    return { mode: settings.mode, ...(settings.k1 !== null ? { k1: settings.k1 } : {}), ...(settings.k2 !== null ? { k2: settings.k2 } : {}), ...adaptive };
  }
  if (settings.k1 !== null) return { k1: settings.k1, ...(settings.k2 !== null ? { k2: settings.k2 } : {}), ...adaptive };
  if (settings.task === "lm") return { k1: languageModelSteps(settings), k2: settings.k2 ?? languageModelSteps(settings), ...adaptive };
  return settings.k2 !== null ? { k1: Infinity, k2: settings.k2 } : { mode: "full" };
}

function modelConfig(settings: TrainSettings, data: PreparedData): ModelConfig {
  const input = data.spec.inputSize > 0
    ? { inputSize: data.spec.inputSize }
    : { vocabSize: data.spec.vocabulary!.length, embeddingDim: settings.embedding };
  return {
    cell: settings.cell, ...input, hiddenSize: settings.hidden, numLayers: settings.layers,
    bidirectional: settings.bidirectional, dropout: settings.dropout, outputSize: data.outputSize,
    objective: data.objective, seed: settings.seed,
    // Only when set, so that a plain model's config.json is as before.
    ...(settings.proj > 0 ? { projSize: settings.proj } : {}),
    ...(settings.peephole ? { peephole: true } : {}),
  };
}

/** --proj and --peephole are the LSTM's: refused before any data is read for another cell or a --proj ≥ --hidden. */
function checkLstmVariants(settings: TrainSettings): void {
  const variant = settings.proj > 0 ? `--proj ${settings.proj}` : settings.peephole ? "--peephole" : null;
  if (variant && settings.cell !== "lstm") {
    throw new UsageError(`${variant} applies to --cell lstm, not ${settings.cell}`);
  }
  if (settings.proj >= settings.hidden && settings.proj > 0) {
    const why = "a projection reduces the output";
    throw new UsageError(`--proj ${settings.proj} must be smaller than --hidden ${settings.hidden} (${why})`);
  }
}

/** The flags that size a model, for messages about its size. */
function describeSize(settings: TrainSettings, config: ModelConfig): string {
  const input = config.vocabSize !== undefined ? `a vocabulary of ${config.vocabSize}, --embedding ${settings.embedding}` : `${config.inputSize} inputs`;
  const proj = settings.proj > 0 ? ` --proj ${settings.proj}` : "";
  const bidirectional = settings.bidirectional ? " --bidirectional" : "";
  return `--cell ${settings.cell} --hidden ${settings.hidden}${proj} --layers ${settings.layers}${bidirectional} ` +
    `(${input}, ${config.outputSize} outputs, --batch ${settings.batch})`;
}

function optimizerFor(settings: TrainSettings, model: SequenceModel): Optimizer {
  const options: Record<string, number> = { lr: settings.lr };
  if (settings.weightDecay > 0) options.weightDecay = settings.weightDecay;
  if (settings.momentum > 0) {
    if (settings.optimizer !== "sgd" && settings.optimizer !== "rmsprop") {
      throw new UsageError(`--momentum applies to sgd and rmsprop, not ${settings.optimizer}`);
    }
    options.momentum = settings.momentum;
  }
  return createOptimizer(settings.optimizer, model.parameters(), options);
}

export async function runTraining({ settings, resume, progress }: TrainRun): Promise<void> {
  const dir = resume ?? settings.out;
  checkLstmVariants(settings);
  const schedule = trainingSchedule(settings);
  const lock = RunLock.acquire(dir);
  const interrupts = new Interrupts();
  try {
    await train({ settings, resume, progress }, dir, schedule, interrupts);
  } finally {
    interrupts.uninstall();
    lock.release();
  }
}

/** The schedule, refused before any data is read where a task cannot train with it. */
function trainingSchedule(settings: TrainSettings): Schedule {
  const schedule = resolveSchedule(scheduleOf(settings));
  const online = schedule.method === "rtrl" || schedule.method === "uoro"; // no k2: nothing grows with the stream
  if (settings.task === "lm" && schedule.k2 === Infinity && !online) {
    throw new UsageError(
      "--task lm reads one stream carried from batch to batch, so the gradient must be cut: k2 must be finite " +
        "(--mode full, --mode online and --k2 inf back-propagate to the start of the stream); give e.g. --k1 35 --k2 35",
    );
  }
  return schedule;
}

async function train({ settings, resume, progress }: TrainRun, dir: string, schedule: Schedule, interrupts: Interrupts): Promise<void> {
  if (!resume && existsSync(join(dir, CHECKPOINT_FILE))) {
    throw new UsageError(`--out ${dir} already holds a run: continue it with --resume ${dir}, or choose another --out`);
  }
  const data = await prepareTraining(settings);
  const config: ModelConfig = modelConfig(settings, data);
  if (config.bidirectional && settings.task === "lm") {
    throw new UsageError("--bidirectional cannot be used with --task lm: a language model must not see the future it predicts");
  }
  if (resume) checkResumedRun(dir, config, data.spec);
  const online = schedule.method === "rtrl" || schedule.method === "uoro"; // they keep only the chunk being processed
  const chunk = Math.min(data.longestSequence, schedule.k1);
  const held = online ? chunk : schedule.k2 === Infinity ? data.longestSequence : chunk + schedule.k2;
  checkMemory(config, { optimizer: settings.optimizer, batch: settings.batch, steps: held }, describeSize(settings, config));
  const model = new SequenceModel(config);
  if (settings.init && !resume) loadWeights(settings.init, model);
  const optimizer = optimizerFor(settings, model);
  const tokensPerEpoch = data.tokensPerEpoch;
  let run: RunProgress = { epoch: 1, batchesDone: 0, updates: 0, tokens: 0, seconds: 0, history: [] };
  const watch = { objective: data.objective, outputSize: data.outputSize, lr: settings.lr, clip: settings.clip };
  let lastUpdate: UpdateInfo | null = null;
  const trainer = new Trainer(model, optimizer, {
    ...scheduleOf(settings), seed: settings.seed, lossAt: data.lossAt, lossEveryChunk: settings.lossEveryChunk,
    ...(settings.clip !== null ? { clipNorm: settings.clip } : {}),
    ...(settings.clipValue !== null ? { clipValue: settings.clipValue } : {}),
    diagnostics: settings.diagnostics,
    beforeStep: divergenceCheck(watch, () => run.epoch),
    onUpdate: (info) => (lastUpdate = info),
  });

  if (resume) {
    run = loadCheckpoint(dir, model, optimizer, trainer);
    progress.info(`resuming ${dir}: epoch ${run.epoch}, ${run.batchesDone} batches and ${run.updates} updates done`);
  } else {
    const runConfig: TrainRunConfig = {
      format: "bptt-run", version: 1, model: config, data: data.spec,
      schedule: { k1: schedule.k1, k2: schedule.k2 }, training: settings,
    };
    writeConfig(dir, runConfig);
  }
  progress.info(
    `${settings.task}: ${settings.cell.toUpperCase()} ${settings.layers}×${settings.hidden}${settings.bidirectional ? " bidirectional" : ""}, ` +
      `${model.parameterCount} parameters, ${describeSchedule(schedule)}, ${settings.optimizer} lr ${settings.lr}` +
      `${settings.clip !== null ? `, clip ${settings.clip}` : ""}, ${kernels().name} kernels; ${tokensPerEpoch} tokens per epoch → ${dir}`,
  );
  progress.event("start", { task: settings.task, parameters: model.parameterCount, k1: finite(schedule.k1), k2: finite(schedule.k2), out: dir });

  let sinceCheckpoint = 0;
  let saved: { epoch: number; updates: number } | null = resume ? { epoch: run.epoch, updates: run.updates } : null;
  const checkpoint = (): void => {
    saveCheckpoint(dir, model, optimizer, trainer, run);
    saveModel(dir, model);
    saved = { epoch: run.epoch, updates: run.updates };
    sinceCheckpoint = 0;
  };
  const stopAt = settings.maxUpdates > 0 ? settings.maxUpdates : Infinity;
  let stop: "max-updates" | "interrupted" | null = null;
  try {
    if (await interrupts.poll()) stop = "interrupted";
    while (stop === null && run.epoch <= settings.epochs && run.updates < stopAt) {
      const started = performance.now();
      let lossSum = 0;
      let lossTerms = 0;
      let correct = 0;
      let epochTokens = 0;
      progress.startEpoch(run.epoch, settings.epochs, tokensPerEpoch);
      let index = 0;
      for (const batch of data.trainBatches(run.epoch)) {
        if (index++ < run.batchesDone) continue; // done before the checkpoint this run resumed from
        const result = trainer.trainBatch(batch);
        lossSum += result.lossSum;
        lossTerms += result.lossTerms;
        correct += result.correct;
        epochTokens += result.tokens;
        run.tokens += result.tokens;
        run.batchesDone++;
        run.updates = trainer.updateCount;
        sinceCheckpoint += result.updates;
        const seconds = (performance.now() - started) / 1000;
        if (lastUpdate) {
          progress.update({
            epoch: run.epoch, epochs: settings.epochs, done: epochTokens, total: tokensPerEpoch,
            tokensPerSecond: epochTokens / Math.max(seconds, 1e-9), loss: lossTerms > 0 ? lossSum / lossTerms : 0,
            gradNorm: (lastUpdate as UpdateInfo).gradNorm,
          });
        }
        if (sinceCheckpoint >= settings.checkpointEvery) checkpoint();
        if (run.updates >= stopAt) stop = "max-updates";
        else if (await interrupts.poll()) stop = "interrupted";
        if (stop !== null) break;
      }
      progress.endEpoch();
      const seconds = (performance.now() - started) / 1000;
      run.seconds += seconds;
      if (stop === "max-updates") {
        // Stopped inside the epoch: the checkpoint below resumes exactly here.
        progress.info(`stopped after ${run.updates} updates (--max-updates), in epoch ${run.epoch}: train loss ${(lossSum / Math.max(lossTerms, 1)).toFixed(4)}`);
      }
      if (stop !== null) break;
      const record: EpochRecord = {
        epoch: run.epoch, trainLoss: lossTerms > 0 ? lossSum / lossTerms : NaN, seconds,
        tokensPerSecond: epochTokens / Math.max(seconds, 1e-9),
      };
      if (data.objective !== "regression" && lossTerms > 0) record.trainAccuracy = correct / lossTerms;
      if (data.validationBatches) {
        const validation = evaluate(model, data.validationBatches(), { lossAt: data.lossAt });
        checkValidationLoss(validation.loss, watch, run.epoch);
        record.validation = summarise(validation);
      }
      run.history.push(record);
      progress.info(describeEpoch(record, settings.epochs));
      progress.event("epoch", { ...record });
      run.epoch++;
      run.batchesDone = 0;
      checkpoint();
      if (await interrupts.poll()) stop = "interrupted";
    }
  } catch (error) {
    progress.endEpoch();
    if (!(error instanceof TrainingDiverged)) throw error;
    const kept = saved === null
      ? "no model was saved (it diverged before the first checkpoint)"
      : `the last good model (saved after update ${saved.updates}) is kept in ${join(dir, MODEL_FILE)}`;
    throw new TrainingDiverged(`${error.message}; ${kept}`);
  }
  checkpoint();
  if (stop === "interrupted") {
    process.stderr.write(
      `bptt: interrupted (${interrupts.received}) in epoch ${run.epoch} after ${run.updates} updates; checkpoint saved: ` +
        `continue with bptt train --resume ${dir}\n`,
    );
    process.exitCode = interrupts.exitCode;
    return;
  }
  const summary = {
    out: dir, epochs: run.history.length, updates: run.updates, tokens: run.tokens, seconds: run.seconds,
    final: run.history[run.history.length - 1] ?? null,
  };
  writeMetrics(dir, run.history, { task: settings.task, parameters: model.parameterCount, schedule: describeSchedule(schedule), updates: run.updates });
  if (trainer.gradientFlow) {
    writeFileAtomic(join(dir, "diagnostics.csv"), trainer.gradientFlow.toCSV());
    writeFileAtomic(join(dir, "diagnostics.json"), `${JSON.stringify(trainer.gradientFlow.report())}\n`);
  }
  progress.info(`done: ${run.updates} updates, ${run.tokens} tokens in ${run.seconds.toFixed(1)}s; model saved to ${join(dir, MODEL_FILE)}`);
  progress.event("summary", summary);
}

/**
 * A resumed run's config.json must describe the model and data that its settings and data give now: an
 * edited "model" section (or data changed since) would continue a run that eval then rejects.
 */
function checkResumedRun(dir: string, config: ModelConfig, spec: DataSpec): void {
  const saved = readConfig(dir);
  const path = join(dir, CONFIG_FILE);
  for (const [section, now, then] of [["model", config, saved.model], ["data", spec, saved.data]] as const) {
    const keys = new Set([...Object.keys(now), ...Object.keys(then as object)]);
    for (const key of keys) {
      const a = JSON.stringify((now as unknown as Record<string, unknown>)[key]);
      const b = JSON.stringify((then as unknown as Record<string, unknown>)[key]);
      if (a !== b) {
        throw new UsageError(
          `${path}: "${section}.${key}" is ${shorten(b)}, but the run's settings and data give ${shorten(a)} ` +
            `(edited, or the data changed?); a resumed run must continue the same ${section === "model" ? "model" : "data"}`,
        );
      }
    }
  }
}

function shorten(json: string | undefined): string {
  if (json === undefined) return "nothing";
  return json.length > 60 ? `${json.slice(0, 57)}…` : json;
}

function finite(k: number): number | "inf" {
  return k === Infinity ? "inf" : k;
}

/** The evaluation figures worth keeping, rounded for reading. */
export function summarise(e: Evaluation): Record<string, unknown> {
  const out: Record<string, unknown> = { loss: e.loss, terms: e.terms };
  if (e.accuracy !== undefined) out.accuracy = e.accuracy;
  if (e.perplexity !== undefined) out.perplexity = e.perplexity;
  if (e.bitsPerToken !== undefined) out.bitsPerToken = e.bitsPerToken;
  if (e.mse !== undefined) out.mse = e.mse;
  if (e.perClass !== undefined) out.perClass = e.perClass;
  return out;
}

function describeEpoch(r: EpochRecord, epochs: number): string {
  const rate = r.tokensPerSecond ?? 0;
  const parts = [`epoch ${r.epoch}/${epochs}`, `train loss ${r.trainLoss.toFixed(4)}`];
  if (r.trainAccuracy !== undefined) parts.push(`accuracy ${(100 * r.trainAccuracy).toFixed(1)}%`);
  const v = r.validation as { loss?: number; accuracy?: number; perplexity?: number; bitsPerToken?: number; mse?: number } | undefined;
  if (v) {
    parts.push(`val loss ${v.loss!.toFixed(4)}`);
    if (v.accuracy !== undefined) parts.push(`val accuracy ${(100 * v.accuracy).toFixed(1)}%`);
    if (v.perplexity !== undefined) parts.push(`ppl ${v.perplexity.toFixed(2)}`, `${v.bitsPerToken!.toFixed(3)} bits/token`);
    if (v.mse !== undefined) parts.push(`val mse ${v.mse.toPrecision(4)}`);
  }
  parts.push(`${r.seconds.toFixed(1)}s`, `${rate >= 1000 ? `${(rate / 1000).toFixed(1)}k` : rate.toFixed(0)} tokens/s`);
  return parts.join("  ");
}

/** Settings of a run to resume: its saved settings, with only the flags that may change (epochs, limits). */
export function resumeSettings(dir: string, overrides: Partial<TrainSettings>): TrainSettings {
  // A run saved before a setting existed had its default.
  const saved = { ...DEFAULT_SETTINGS, ...readConfig(dir).training };
  for (const [key, value] of Object.entries(overrides) as Array<[SettingKey, unknown]>) {
    if (RESUMABLE_SETTINGS.includes(key)) continue;
    if (JSON.stringify(value) !== JSON.stringify(saved[key])) {
      throw new UsageError(
        `--resume ${dir}: the run was trained with ${key} = ${JSON.stringify(saved[key])}; a resumed run keeps its settings ` +
          `(only ${RESUMABLE_SETTINGS.map(flagOf).join(", ")} may change)`,
      );
    }
  }
  const changed = Object.fromEntries(RESUMABLE_SETTINGS.filter((key) => overrides[key] !== undefined).map((key) => [key, overrides[key]]));
  return { ...saved, ...changed, out: dir };
}
