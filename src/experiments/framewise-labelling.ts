/**
 * Experiment 4, framewise-labelling: which update schedule and which cell label frames best for the
 * training time spent? A synthetic stand-in for framewise phoneme classification (Graves &
 * Schmidhuber 2005): 61 noisy phoneme prototypes held for 2–6 frames, chained by a bigram
 * (phoneme-frames.ts). Every frame carries a loss (lossAt "every-step").
 *
 * Arms: a cell (vanilla tanh RNN, GRU, LSTM, and the LSTM with peephole connections that Graves &
 * Schmidhuber's framewise BLSTM had), a direction and a schedule:
 *   per frame        k1 = 1, k2 = ∞  (an update after every frame, gradient back to the utterance's start)
 *   TBPTT(k1, k2)    an update every k1 frames, gradient k2 frames back (k2 > k1 included)
 *   per utterance    k1 = k2 = ∞  (full BPTT, one update per batch of whole utterances)
 * Bidirectional models read each utterance backwards from its end, so they cannot carry state across
 * chunks of an unfinished utterance (the Trainer refuses it): they only have the per-utterance arm.
 *
 * More updates per utterance need smaller steps: Adam's learning rate is lr₀·√(min(k1, T)/T), the
 * square-root rule used for batch sizes, one rule for every arm. The test frame error rate is measured
 * after every epoch against the training seconds so far (evaluation excluded).
 */
import { labellingBatches } from "../data/sequence-labelling.js";
import { Adam } from "../optim/adam.js";
import { Rng } from "../tensor/rng.js";
import { evaluate } from "../train/evaluate.js";
import { type CellName, SequenceModel } from "../train/model.js";
import { Trainer } from "../train/trainer.js";
import type { Experiment, ExperimentSettings, Job, JobRun, Scale } from "./experiment.js";
import { nearestPrototypeError, phonemeSource, phonemeUtterances } from "./phoneme-frames.js";
import { barChart, lineChart, type Row } from "./plot.js";
import { mean, median, percent, percentSpread, provenance, standardDeviation, table } from "./report.js";

interface Sizes {
  trainUtterances: number;
  testUtterances: number;
  frames: number;
  hiddenSize: number;
  epochs: number;
  batchSize: number;
}

const SIZES: Record<Scale, Sizes> = {
  smoke: { trainUtterances: 16, testUtterances: 8, frames: 16, hiddenSize: 8, epochs: 2, batchSize: 8 },
  default: { trainUtterances: 400, testUtterances: 200, frames: 50, hiddenSize: 32, epochs: 8, batchSize: 16 },
  full: { trainUtterances: 1500, testUtterances: 400, frames: 60, hiddenSize: 64, epochs: 15, batchSize: 16 },
};

/** The phoneme "language", the same for every arm and seed (the seed draws utterances and weights). */
const SOURCE = { classes: 61, featureSize: 12, noise: 1.6, minDuration: 2, maxDuration: 6, successors: 3 };
const SOURCE_SEED = 2005;
const BASE_LR = 0.005;

/** One arm: cell, direction and schedule (Infinity = the whole utterance, written as null in JSON). */
interface Arm {
  cell: CellName;
  /** LSTM only: peephole connections (absent: none). */
  peephole?: boolean;
  bidirectional: boolean;
  k1: number | null;
  k2: number | null;
}

const DEFAULT_ARMS: Arm[] = [
  { cell: "lstm", bidirectional: false, k1: 1, k2: null },
  { cell: "lstm", bidirectional: false, k1: 5, k2: 5 },
  { cell: "lstm", bidirectional: false, k1: 5, k2: 20 },
  { cell: "lstm", bidirectional: false, k1: 20, k2: 20 },
  { cell: "lstm", bidirectional: false, k1: null, k2: null },
  { cell: "lstm", bidirectional: true, k1: null, k2: null },
  { cell: "lstm", peephole: true, bidirectional: false, k1: null, k2: null },
  { cell: "lstm", peephole: true, bidirectional: true, k1: null, k2: null },
  { cell: "gru", bidirectional: false, k1: null, k2: null },
  { cell: "rnn", bidirectional: false, k1: null, k2: null },
];

/** Every cell (and the peephole LSTM) × every unidirectional schedule, plus each bidirectional (per utterance). */
function fullArms(): Arm[] {
  const schedules: Array<[number | null, number | null]> = [[1, null], [1, 10], [5, 5], [5, 20], [20, 20], [20, 40], [null, null]];
  const cells: Array<Pick<Arm, "cell" | "peephole">> = [
    { cell: "lstm" }, { cell: "lstm", peephole: true }, { cell: "gru" }, { cell: "rnn" },
  ];
  const arms: Arm[] = [];
  for (const cell of cells) {
    for (const [k1, k2] of schedules) arms.push({ ...cell, bidirectional: false, k1, k2 });
    arms.push({ ...cell, bidirectional: true, k1: null, k2: null });
  }
  return arms;
}

const CELL_NAMES: Record<CellName, string> = { lstm: "LSTM", gru: "GRU", rnn: "RNN", rnn_relu: "ReLU RNN" };

function scheduleName(arm: Arm): string {
  if (arm.k1 === null) return "per utterance (full BPTT)";
  if (arm.k1 === 1 && arm.k2 === null) return "per frame (k1=1, k2=∞)";
  return `TBPTT(${arm.k1}, ${arm.k2 ?? "∞"})`;
}

function armName(arm: Arm): string {
  const cell = `${arm.peephole ? "peephole " : ""}${arm.bidirectional ? "B" : ""}${CELL_NAMES[arm.cell]}`;
  return `${cell} ${scheduleName(arm)}`;
}

export interface FramewiseResult {
  /** After each epoch: training seconds so far and the test frame error rate. */
  curve: Array<{ epoch: number; seconds: number; frameError: number; loss: number }>;
  frameError: number;
  trainSeconds: number;
  updates: number;
  parameters: number;
  learningRate: number;
  /** The frame-alone baseline on this seed's test set. */
  nearestPrototypeError: number;
}

function runJob(job: Job, settings: ExperimentSettings): FramewiseResult {
  const sizes = SIZES[settings.scale];
  const arm = job.spec as Arm;
  const source = phonemeSource(new Rng(SOURCE_SEED), SOURCE);
  const rng = new Rng(job.seed);
  const train = phonemeUtterances(source, rng.fork(), sizes.trainUtterances, sizes.frames);
  const test = phonemeUtterances(source, rng.fork(), sizes.testUtterances, sizes.frames);
  const model = new SequenceModel({
    cell: arm.cell, inputSize: SOURCE.featureSize, hiddenSize: sizes.hiddenSize, bidirectional: arm.bidirectional,
    outputSize: SOURCE.classes, objective: "classes", seed: job.seed, ...(arm.peephole ? { peephole: true } : {}),
  });
  const k1 = arm.k1 ?? Infinity;
  const k2 = arm.k2 ?? Infinity;
  const learningRate = BASE_LR * Math.sqrt(Math.min(k1, sizes.frames) / sizes.frames);
  const trainer = new Trainer(model, new Adam(model.parameters(), { lr: learningRate }), { k1, k2, clipNorm: 5 });
  const shuffle = rng.fork();
  const curve: FramewiseResult["curve"] = [];
  let seconds = 0;
  let updates = 0;
  for (let epoch = 1; epoch <= sizes.epochs; epoch++) {
    const started = performance.now();
    updates += trainer.trainEpoch(labellingBatches(train, { batchSize: sizes.batchSize, shuffle })).updates;
    seconds += (performance.now() - started) / 1000;
    const evaluation = evaluate(model, labellingBatches(test, { batchSize: 100 }));
    curve.push({ epoch, seconds, frameError: 1 - evaluation.accuracy!, loss: evaluation.loss });
  }
  const last = curve[curve.length - 1]!;
  return {
    curve, frameError: last.frameError, trainSeconds: seconds, updates, parameters: model.parameterCount, learningRate,
    nearestPrototypeError: nearestPrototypeError(source, test),
  };
}

async function report(settings: ExperimentSettings, runs: JobRun<FramewiseResult>[], context: Parameters<Experiment["report"]>[2]) {
  const sizes = SIZES[settings.scale];
  const arms = [...new Set(runs.map((r) => r.job.arm))];
  const byArm = (name: string) => runs.filter((r) => r.job.arm === name);
  const summary = arms.map((name) => {
    const rs = byArm(name);
    const spec = rs[0]!.job.spec as Arm;
    const errors = rs.map((r) => r.result.frameError);
    // Best epoch of each seed: the lowest test error seen, a check on overfitting.
    const best = rs.map((r) => Math.min(...r.result.curve.map((c) => c.frameError)));
    return {
      arm: name, spec, errors, best, meanError: mean(errors), seconds: median(rs.map((r) => r.result.trainSeconds)),
      updates: rs[0]!.result.updates, parameters: rs[0]!.result.parameters, learningRate: rs[0]!.result.learningRate,
    };
  });
  const baseline = mean(runs.map((r) => r.result.nearestPrototypeError));

  const rows = summary.map((s) => [
    s.arm, s.parameters, s.learningRate.toPrecision(2), s.updates, s.seconds.toFixed(1), percentSpread(s.errors), percentSpread(s.best),
  ]);
  const sorted = [...summary].sort((a, b) => a.meanError - b.meanError);
  const find = (cell: CellName, bidirectional: boolean, k1: number | null, k2: number | null, peephole = false) =>
    summary.find((s) =>
      s.spec.cell === cell && (s.spec.peephole ?? false) === peephole && s.spec.bidirectional === bidirectional &&
      s.spec.k1 === k1 && s.spec.k2 === k2);
  const lstmFull = find("lstm", false, null, null);
  const blstm = find("lstm", true, null, null);
  const perFrame = find("lstm", false, 1, null);
  const beating = summary.filter((s) => s.meanError < baseline);
  const findings: string[] = [
    `A frame alone is ambiguous: labelling each frame with its nearest prototype errs on ${percent(baseline)} of the test frames. ` +
      (beating.length === summary.length
        ? "Every recurrent arm uses context to do better. "
        : `${beating.length} of ${summary.length} arms do better than that; ${summary.filter((s) => s.meanError >= baseline).map((s) => s.arm).join(", ")} do not. `) +
      `The lowest error is ${sorted[0]!.arm} with ${percent(sorted[0]!.meanError)}, the highest ${sorted[sorted.length - 1]!.arm} with ${percent(sorted[sorted.length - 1]!.meanError)}.`,
  ];
  if (lstmFull && blstm) {
    const verdict = blstm.meanError < lstmFull.meanError ? "Seeing the future frames helps" : "Seeing the future frames does not help here";
    findings.push(`${verdict}: the bidirectional LSTM ends at ${percent(blstm.meanError)} against ${percent(lstmFull.meanError)} for the unidirectional one (both per utterance).`);
  }
  const peepholes = [false, true].flatMap((bidirectional) => {
    const plain = find("lstm", bidirectional, null, null);
    const peephole = find("lstm", bidirectional, null, null, true);
    return plain && peephole ? [peepholeFinding(plain, peephole, bidirectional)] : [];
  });
  if (peepholes.length > 0) {
    findings.push(
      `Peephole connections (the gates see the cell state): ${peepholes.join("; ")}. ` +
        "Peepholes were introduced for precise timing (Gers et al. 2002); here a label depends on which phoneme a " +
        "frame belongs to, not on counting frames.",
    );
  }
  if (lstmFull && perFrame) {
    findings.push(
      `Per-frame updates (${perFrame.updates} updates, ${perFrame.seconds.toFixed(1)} s) end at ${percent(perFrame.meanError)}; ` +
        `per-utterance updates (${lstmFull.updates} updates, ${lstmFull.seconds.toFixed(1)} s) at ${percent(lstmFull.meanError)}: ` +
        `the per-frame schedule spends ${(perFrame.seconds / lstmFull.seconds).toFixed(1)}× the training time.`,
    );
  }

  const curveRows: Row[] = [];
  for (const s of summary) {
    const rs = byArm(s.arm);
    for (let e = 0; e < sizes.epochs; e++) {
      curveRows.push({
        arm: s.arm,
        seconds: mean(rs.map((r) => r.result.curve[e]!.seconds)),
        frameError: mean(rs.map((r) => r.result.curve[e]!.frameError)),
      });
    }
  }
  const curveSvg = await lineChart({
    title: "Test frame error rate against training time (mean over seeds, one point per epoch)",
    rows: curveRows,
    x: { field: "seconds", title: "training seconds (evaluation excluded)", log: true },
    y: { field: "frameError", title: "frame error rate", percent: true },
    color: { field: "arm", title: "arm" },
    width: 520,
    height: 320,
  });
  const barSvg = await barChart({
    title: `Final test frame error rate after ${sizes.epochs} epochs (mean over seeds)`,
    rows: summary.map((s) => ({ arm: s.arm, frameError: s.meanError })),
    x: { field: "arm", title: "arm", sort: summary.map((s) => s.arm) },
    y: { field: "frameError", title: "frame error rate", percent: true, domain: [0, 1] },
    width: 640,
  });

  const markdown = [
    "# framewise-labelling: per-frame, truncated and per-utterance updates for framewise classification",
    "",
    "**Question.** Labelling every frame of a noisy signal, which cell, direction and update schedule reach the " +
      "lowest frame error for the training time spent? And do the peephole connections of Graves & Schmidhuber's " +
      "framewise BLSTM change it?",
    "",
    "## Finding",
    "",
    findings.join(" "),
    "",
    "## Results",
    "",
    `Test frame error rate after ${sizes.epochs} epochs, mean ± sd over seeds ${settings.seeds.join(", ")}; "best epoch" is each seed's lowest test error over the epochs. ` +
      "Seconds: median training time (evaluation excluded), which depends on the machine and its load: compare ratios, not absolute values.",
    "",
    table(["arm", "parameters", "Adam lr", "updates", "train s", "frame error", "best epoch"], rows),
    "",
    `Frame-alone baseline (nearest prototype): ${percent(baseline)}. Chance with 61 classes: ${percent(1 - 1 / 61)}.`,
    "",
    "![frame error against training time](error-vs-time.svg)",
    "",
    "![final frame error](final-error.svg)",
    "",
    "## Settings",
    "",
    `- Data: ${SOURCE.classes} phoneme classes, ${SOURCE.featureSize} features per frame, prototypes N(0, 1), frame noise σ = ${SOURCE.noise}, ` +
      `each phoneme held ${SOURCE.minDuration}–${SOURCE.maxDuration} frames, bigram with ${SOURCE.successors} successors per phoneme (probabilities ∝ 1/rank); ` +
      `the same phoneme "language" (seed ${SOURCE_SEED}) for all runs; per seed ${sizes.trainUtterances} training and ${sizes.testUtterances} test utterances of ${sizes.frames} frames.`,
    `- Model: one layer, hidden size ${sizes.hiddenSize} (per direction), a dense softmax head on every frame. ` +
      "Peephole arms: the LSTM with diagonal weights from the cell state to its gates (i and f see c_{t−1}, o sees " +
      "c_t; 3H more parameters per direction), drawn like the other weights.",
    `- Training: Adam, lr = ${BASE_LR}·√(min(k1, T)/T) with T = ${sizes.frames} frames, gradient norm clipped to 5, batches of ${sizes.batchSize} utterances, ${sizes.epochs} epochs; loss at every frame. ` +
      "Bidirectional models can only be trained per utterance (they read each utterance backwards from its end, so no state can be carried across chunks).",
    "",
    provenance(context),
    "",
  ].join("\n");
  return {
    markdown,
    data: { settings: { scale: settings.scale, seeds: settings.seeds, sizes, source: SOURCE, sourceSeed: SOURCE_SEED, baseLearningRate: BASE_LR }, nearestPrototypeError: baseline, summary, runs },
    files: { "error-vs-time.svg": curveSvg, "final-error.svg": barSvg },
  };
}

/** One arm's summary in the report. */
interface ArmSummary {
  arm: string;
  errors: number[];
  meanError: number;
  seconds: number;
  parameters: number;
}

/**
 * The peephole LSTM against the plain one, both per utterance: the frame errors, whether their
 * difference is outside the spread of the seeds (the larger standard deviation), and the parameters.
 * (Training times are in the table: on a shared machine their ratio is noise at this size.)
 */
function peepholeFinding(plain: ArmSummary, peephole: ArmSummary, bidirectional: boolean): string {
  const spread = Math.max(standardDeviation(plain.errors), standardDeviation(peephole.errors));
  const difference = peephole.meanError - plain.meanError;
  const verdict = Math.abs(difference) <= spread
    ? "a difference within the seeds' spread"
    : difference < 0 ? "lower, beyond the seeds' spread" : "higher, beyond the seeds' spread";
  return `${bidirectional ? "bidirectional" : "unidirectional"}, ${percent(peephole.meanError)} with them against ` +
    `${percent(plain.meanError)} without (${verdict} of ±${(100 * spread).toFixed(1)} points; ` +
    `${peephole.parameters - plain.parameters} more parameters)`;
}

export const framewiseLabelling: Experiment<FramewiseResult> = {
  name: "framewise-labelling",
  title:
    "framewise phoneme-like labelling: per-frame vs truncated vs per-utterance updates; " +
    "LSTM (with and without peepholes), GRU, RNN, uni- and bidirectional",
  seedsFor: (scale) => (scale === "full" ? 5 : scale === "smoke" ? 1 : 3),
  plan(settings) {
    const arms = settings.scale === "full" ? fullArms() : DEFAULT_ARMS;
    return arms.flatMap((spec) => settings.seeds.map((seed) => ({ arm: armName(spec), seed, spec })));
  },
  run: runJob,
  describe: (run) => `${run.job.arm} seed ${run.job.seed}: frame error ${percent(run.result.frameError)} (${run.result.updates} updates)`,
  report,
};
