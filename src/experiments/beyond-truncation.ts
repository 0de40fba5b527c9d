/**
 * beyond-truncation: when a dependency is longer than k2, what do the methods beyond truncation buy?
 *
 * Two many-to-one tasks whose answer, at the last step, depends on inputs more than K steps back:
 *
 *   delayed recall   a symbol at step 0, `delay` distractors, name the symbol (delayed-recall.ts)
 *   one-anywhere     20 tokens 0/1 with the 1s only in steps 0–9: is there a 1? (data/synthetic/one-anywhere.ts)
 *
 * trained by five methods with the same model (a small GRU), data, optimizer and clipping, one
 * update per sequence batch (the loss is at the last step only):
 *
 *   TBPTT(K)        k1 = k2 = K: the gradient reaches K steps back
 *   ARTBP(mean K)   random truncations of mean length K, compensated (unbiased)
 *   adaptive k2     k1 = K, k2 chosen to keep the measured truncation bias under 0.1
 *   UORO            unbiased rank-one estimate of the online gradient, no truncation
 *   RTRL            the exact online gradient (small hidden size: it costs n²·p per step)
 *
 * Measured: test accuracy against updates, wall time per update (training only), and memory: the
 * steps of activations kept at the update (the peak) and the sensitivity values carried per sequence.
 */
import { classificationBatches } from "../data/batching.js";
import { oneAnywhereSequences } from "../data/synthetic/one-anywhere.js";
import { Adam } from "../optim/adam.js";
import { Rng } from "../tensor/rng.js";
import type { Batch } from "../train/batch.js";
import { evaluate } from "../train/evaluate.js";
import { SequenceModel } from "../train/model.js";
import { Trainer, type TrainerOptions } from "../train/trainer.js";
import { delayedRecallBatch, delayedRecallVocabulary } from "./delayed-recall.js";
import type { Experiment, ExperimentSettings, Job, JobRun, ReportContext, Scale } from "./experiment.js";
import { barChart, lineChart, type Row } from "./plot.js";
import { mean, percent, percentSpread, provenance, table } from "./report.js";

interface Sizes {
  /** K: TBPTT's k2, ARTBP's mean truncation, the adaptive schedule's k1. */
  K: number;
  delay: number;
  /** one-anywhere: sequence length; the 1s fall in its first half. */
  length: number;
  hiddenSize: number;
  batchSize: number;
  updates: number;
  /** Accuracy is measured every this many updates. */
  evalEvery: number;
  testSequences: number;
}

const SIZES: Record<Scale, Sizes> = {
  smoke: { K: 2, delay: 5, length: 8, hiddenSize: 3, batchSize: 4, updates: 4, evalEvery: 2, testSequences: 16 },
  default: {
    K: 5, delay: 15, length: 20, hiddenSize: 8, batchSize: 16, updates: 600, evalEvery: 50, testSequences: 512,
  },
  full: {
    K: 5, delay: 15, length: 20, hiddenSize: 8, batchSize: 16, updates: 2000, evalEvery: 100, testSequences: 1024,
  },
};

const TASKS = ["delayed recall", "one-anywhere"] as const;
type Task = (typeof TASKS)[number];
const RECALL = { symbols: 4, distractors: 4 };
const EMBEDDING = 4;
const LR = 0.01;
const CLIP = 1;
const TOLERANCE = 0.1;

const ARMS = ["TBPTT", "ARTBP", "adaptive k2", "UORO", "RTRL"] as const;
type Arm = (typeof ARMS)[number];

function armName(arm: Arm, K: number): string {
  switch (arm) {
    case "TBPTT": return `TBPTT(${K}, ${K})`;
    case "ARTBP": return `ARTBP(mean ${K})`;
    case "adaptive k2": return `TBPTT(${K}, adaptive k2, δ ${TOLERANCE})`;
    default: return arm;
  }
}

function schedule(arm: Arm, task: Task, sizes: Sizes): TrainerOptions {
  const { K } = sizes;
  switch (arm) {
    case "TBPTT": return { k1: K, k2: K };
    case "ARTBP": return { mode: "artbp", k2: K };
    case "adaptive k2": return { k1: K, k2: "adaptive", biasTolerance: TOLERANCE, maxK2: stepsOf(task, sizes) };
    case "UORO": return { mode: "uoro" };
    case "RTRL": return { mode: "rtrl" };
  }
}

function stepsOf(task: Task, sizes: Sizes): number {
  return task === "delayed recall" ? sizes.delay + 1 : sizes.length;
}

/** A fresh batch of `count` sequences of the task. */
function batchOf(task: Task, rng: Rng, sizes: Sizes, count: number): Batch {
  if (task === "delayed recall") return delayedRecallBatch(rng, { ...RECALL, delay: sizes.delay, batchSize: count });
  const set = oneAnywhereSequences(rng, { count, length: sizes.length, first: 0, end: sizes.length / 2 });
  return classificationBatches(set.sequences, set.labels, { batchSize: count }).next().value!;
}

export interface BeyondResult {
  /** Test accuracy after 0, evalEvery, 2·evalEvery, … updates. */
  curve: number[];
  /** Seconds of training (trainBatch only, measured: the one field that varies between runs), and the updates made. */
  seconds: number;
  updates: number;
  /** The most steps of activations held at an update. */
  keptSteps: number;
  /** Sensitivity values carried per sequence (RTRL n·p, UORO n + p), and n, p. */
  sensitivityValues: number;
  n: number;
  p: number;
  /** The adaptive schedule's k2 at each evaluation (the others: their fixed k2, or 0 for none). */
  k2: number[];
}

function runJob(job: Job, settings: ExperimentSettings): BeyondResult {
  const sizes = SIZES[settings.scale];
  const task = job.task as Task;
  const arm = job.arm as Arm;
  const vocabSize = task === "delayed recall" ? delayedRecallVocabulary(RECALL) : 2;
  const outputSize = task === "delayed recall" ? RECALL.symbols : 2;
  const model = new SequenceModel({
    cell: "gru", vocabSize, embeddingDim: EMBEDDING, hiddenSize: sizes.hiddenSize, outputSize, objective: "classes",
    seed: job.seed,
  });
  let keptSteps = 0;
  const trainer = new Trainer(model, new Adam(model.parameters(), { lr: LR }), {
    ...schedule(arm, task, sizes), lossAt: "last-step", clipNorm: CLIP, seed: job.seed,
    beforeStep: () => { keptSteps = Math.max(keptSteps, trainer.keptSteps); },
  });
  const data = new Rng(job.seed * 7919 + TASKS.indexOf(task));
  const test = batchOf(task, new Rng(1_000_003 * job.seed + 17), sizes, sizes.testSequences);
  const accuracy = (): number => evaluate(model, [test], { lossAt: "last-step" }).accuracy ?? 0;
  const curve = [accuracy()];
  const k2 = [trainer.currentK2];
  let seconds = 0;
  for (let u = 1; u <= sizes.updates; u++) {
    const batch = batchOf(task, data, sizes, sizes.batchSize);
    const started = performance.now();
    trainer.trainBatch(batch);
    seconds += (performance.now() - started) / 1000;
    if (u % sizes.evalEvery === 0) {
      curve.push(accuracy());
      k2.push(trainer.currentK2);
    }
  }
  const n = sizes.hiddenSize; // a GRU's state is its h
  const head = new Set(model.head.parameters());
  const p = model.parameters().filter((q) => !head.has(q)).reduce((sum, q) => sum + q.size, 0);
  const sensitivityValues = arm === "RTRL" ? n * p : arm === "UORO" ? n + p : 0;
  return {
    curve, seconds, updates: trainer.updateCount, keptSteps, sensitivityValues, n, p,
    k2: k2.map((k) => (k === Infinity ? 0 : k)),
  };
}

const perUpdate = (r: BeyondResult): number => r.seconds / r.updates;

function runsOf(runs: readonly JobRun<BeyondResult>[], task: Task, arm: Arm): BeyondResult[] {
  return runs.filter((r) => r.job.task === task && r.job.arm === arm)
    .sort((a, b) => a.job.seed - b.job.seed).map((r) => r.result);
}

/** The first evaluation (in updates) where the mean accuracy over seeds reaches `level`, or null. */
function updatesTo(results: BeyondResult[], level: number, evalEvery: number): number | null {
  const points = results[0]?.curve.length ?? 0;
  for (let i = 0; i < points; i++) if (mean(results.map((r) => r.curve[i]!)) >= level) return i * evalEvery;
  return null;
}

/** The accuracy whose first crossing the report counts, in updates. */
const LEVEL = 0.9;

const chance = (task: Task): number => (task === "delayed recall" ? 1 / RECALL.symbols : 0.5);

/** One task's section of the report: its table, and its rows for the plots. */
function taskSection(
  task: Task, runs: readonly JobRun<BeyondResult>[], settings: ExperimentSettings, plots: Row[][],
): string[] {
  const sizes = SIZES[settings.scale];
  const [curveRows, timeRows] = plots as [Row[], Row[]];
  const rows = ARMS.map((arm) => {
    const results = runsOf(runs, task, arm);
    const name = armName(arm, sizes.K);
    const finals = results.map((r) => r.curve.at(-1)!);
    results[0]?.curve.forEach((_, i) => {
      curveRows.push({ task, arm: name, update: i * sizes.evalEvery, accuracy: mean(results.map((r) => r.curve[i]!)) });
    });
    const ms = mean(results.map(perUpdate)) * 1000;
    timeRows.push({ task, arm: name, ms });
    const reached = updatesTo(results, LEVEL, sizes.evalEvery);
    const k2 = arm === "adaptive k2" ? ` (k2 at the end: ${results.map((r) => r.k2.at(-1)).join(", ")})` : "";
    return [
      `**${name}**${k2}`, percentSpread(finals), finals.map((a) => percent(a, 0)).join(" "),
      reached === null ? "not reached" : String(reached), ms.toFixed(1),
      String(Math.max(...results.map((r) => r.keptSteps))), results[0]!.sensitivityValues.toLocaleString("en-US"),
    ];
  });
  const last = stepsOf(task, sizes) - 1;
  const what = task === "delayed recall"
    ? `a symbol at step 0 named at step ${last} (${RECALL.symbols} symbols, ${RECALL.distractors} distractors): ` +
      `the dependency is ${sizes.delay} steps long`
    : `${sizes.length} tokens with 1s only in steps 0–${sizes.length / 2 - 1}, answered at step ${last}: ` +
      `every 1 is at least ${sizes.length / 2} steps back`;
  const header = [
    "method", "test accuracy", "per seed", `updates to ${percent(LEVEL, 0)} (mean)`, "ms per update",
    "steps kept (peak)", "sensitivities per sequence",
  ];
  return [
    `## ${task}`, "",
    `${what}; chance ${percent(chance(task), 0)}. Test accuracy on ${sizes.testSequences} held-out sequences after ` +
      `${sizes.updates} updates, mean ± sd over seeds ${settings.seeds.join(", ")}.`,
    "", table(header, rows), "",
  ];
}

/** The finding: each task's final accuracies, UORO against RTRL in updates, and the cost per update. */
function finding(runs: readonly JobRun<BeyondResult>[], sizes: Sizes): string {
  const { K } = sizes;
  const accuracies = TASKS.map((task) => {
    const final = (arm: Arm): number => mean(runsOf(runs, task, arm).map((r) => r.curve.at(-1)!));
    const dependency = task === "delayed recall" ? sizes.delay : sizes.length / 2;
    return `On ${task} (dependency ≥ ${dependency} steps, K = ${K}): ` +
      `${ARMS.map((arm) => `${armName(arm, K)} ${percent(final(arm), 0)}`).join(", ")} ` +
      `(chance ${percent(chance(task), 0)}).`;
  });
  const uoroVsRtrl = TASKS.map((task) => {
    const after = (arm: Arm): string => {
      const reached = updatesTo(runsOf(runs, task, arm), LEVEL, sizes.evalEvery);
      return reached === null ? `not within ${sizes.updates} updates` : `after ${reached} updates`;
    };
    return `on ${task} RTRL reached ${percent(LEVEL, 0)} mean accuracy ${after("RTRL")}, UORO ${after("UORO")}`;
  });
  const time = (arm: Arm): number => mean(runs.filter((r) => r.job.arm === arm).map((r) => perUpdate(r.result)));
  const times = (arm: Arm, digits: number): string => `${(time(arm) / time("TBPTT")).toFixed(digits)}×`;
  return `${accuracies.join(" ")} UORO's variance against RTRL's exact gradient: ${uoroVsRtrl.join("; ")}. ` +
    `Per update, RTRL took ${times("RTRL", 0)} the time of TBPTT(${K}, ${K}), UORO ${times("UORO", 1)}, ` +
    `ARTBP ${times("ARTBP", 1)} and the adaptive schedule ${times("adaptive k2", 1)} ` +
    "(a shared machine: indicative).";
}

function settingsText(settings: ExperimentSettings): string[] {
  const { K, hiddenSize, updates, batchSize, evalEvery, testSequences } = SIZES[settings.scale];
  return [
    `- Model: token embedding ${EMBEDDING}, one GRU layer of ${hiddenSize} units, dense softmax head; loss at the ` +
      `last step only; Adam lr ${LR}, gradient norm clipped to ${CLIP}; ${updates} updates, each on a fresh batch ` +
      `of ${batchSize} sequences (one update per batch for every method).`,
    `- TBPTT(${K}, ${K}): chunks of ${K} steps, the gradient cut between them. ARTBP: truncation lengths drawn with ` +
      `mean ${K} (a discrete Pareto law of tail exponent 3), an update at each truncation point (only the one ` +
      `holding the loss makes one), compensation factors on the gradient. Adaptive: k1 = ${K}, k2 re-chosen by a ` +
      `probe of 16 updates every 200 (maxK2 = the sequence length), bias tolerance ${TOLERANCE}. UORO and RTRL: an ` +
      "update per step holding a loss (k1 = 1), no truncation. Each method draws from its own seed (the run's).",
    `- Accuracy every ${evalEvery} updates on ${testSequences} held-out sequences drawn like the training set; ` +
      `seeds ${settings.seeds.join(", ")}.`,
  ];
}

async function report(settings: ExperimentSettings, runs: JobRun<BeyondResult>[], context: ReportContext) {
  const sizes = SIZES[settings.scale];
  const plots: Row[][] = [[], []];
  const sections = TASKS.flatMap((task) => taskSection(task, runs, settings, plots));
  const curveSvg = await lineChart({
    title: "Test accuracy against updates (mean over seeds)", rows: plots[0]!,
    x: { field: "update", title: "updates" },
    y: { field: "accuracy", title: "test accuracy", domain: [0, 1], percent: true },
    color: { field: "arm", title: "method" }, column: { field: "task", title: "" }, points: false, width: 340,
  });
  const timeSvg = await barChart({
    title: "Wall time per update (training only; a shared machine: indicative)", rows: plots[1]!,
    x: { field: "arm", title: "method", sort: ARMS.map((a) => armName(a, sizes.K)) },
    y: { field: "ms", title: "ms per update (log)", log: true },
    group: { field: "task", title: "task" },
  });
  const { n, p } = runs[0]?.result ?? { n: 0, p: 0 };
  const markdown = [
    "# beyond-truncation: TBPTT, ARTBP, adaptive k2, UORO and RTRL on dependencies longer than k2",
    "",
    "**Question.** When the answer depends on an input further back than the truncation reaches, which of the " +
      "methods beyond truncation learn it, how fast in updates, and at what cost per update?",
    "",
    "## Finding",
    "",
    finding(runs, sizes),
    "",
    ...sections,
    "![accuracy against updates](accuracy.svg)",
    "",
    "![time per update](time.svg)",
    "",
    "Steps kept: the steps of activations the trainer holds at an update (the kept window and the chunk); " +
      "sensitivities: the values RTRL (n·p) or UORO (n + p) carries per sequence besides them " +
      `(n = ${n} state values, p = ${p} parameters below the head on delayed recall).`,
    "",
    "## Settings",
    "",
    ...settingsText(settings),
    "",
    provenance(context),
    "",
  ].join("\n");
  const constants = { recall: RECALL, embedding: EMBEDDING, lr: LR, clip: CLIP, tolerance: TOLERANCE };
  return {
    markdown,
    data: { settings: { scale: settings.scale, seeds: settings.seeds, sizes, ...constants }, runs },
    files: { "accuracy.svg": curveSvg, "time.svg": timeSvg },
  };
}

export const beyondTruncation: Experiment<BeyondResult> = {
  name: "beyond-truncation",
  title: "TBPTT vs ARTBP, adaptive k2, UORO and RTRL on dependencies longer than k2: accuracy, time and memory",
  seedsFor: (scale) => (scale === "smoke" ? 1 : scale === "full" ? 5 : 3),
  plan: (settings) =>
    TASKS.flatMap((task) => ARMS.flatMap((arm) => settings.seeds.map((seed) => ({ arm, seed, task })))),
  run: runJob,
  describe: (run) => `${String(run.job.task).padEnd(14)} ${String(run.job.arm).padEnd(11)} seed ${run.job.seed}: ` +
    `test ${percent(run.result.curve.at(-1)!)}, ${(perUpdate(run.result) * 1000).toFixed(1)} ms per update`,
  report,
};
