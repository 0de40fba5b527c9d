/**
 * long-text-sentiment: can a classifier whose gradient is truncated learn a label decided ~100 words
 * before the loss?
 *
 * Texts of 90–110 words whose label is decided only by the opening ("i love this …" / "i hate this
 * …", src/data/synthetic/sentiment.ts); the rest is filler both classes share. A GRU reads each text and
 * answers at its last word. Four arms, the same model, data stream and number of texts:
 *
 *   truncated         loss at the last step only, TBPTT(k1 = ∞, k2 = 30): one update per batch, the
 *                     gradient of each text's loss flows back over its last 30 words only (padding is
 *                     not time: a short text counts its 30 from its own end) — it never reaches the opening
 *   truncated+short   the same, but a quarter of the training texts are short (5–25 words), so their
 *                     opening lies within the 30 steps the gradient reaches
 *   every-chunk       a loss after every K = 30 words against the text's label (lossEveryChunk), the
 *                     state carried and the gradient cut between chunks: TBPTT(k1 = k2 = 30)
 *   full              full BPTT: the last-step loss back-propagated to the first word
 *
 * Measured: test accuracy on long (90–110 words) and short (5–25 words) texts, the accuracy and mean
 * P(correct label) as a function of text length (10 … 150 words: how far the opening is from the end),
 * and held-out accuracy on long texts during training.
 */
import { classificationBatches } from "../data/batching.js";
import { SENTIMENT_VOCABULARY, type SentimentSet, sentimentTexts } from "../data/synthetic/sentiment.js";
import { createOptimizer } from "../optim/index.js";
import { Rng } from "../tensor/rng.js";
import { evaluate } from "../train/evaluate.js";
import { SequenceModel } from "../train/model.js";
import { Trainer, type TrainerOptions } from "../train/trainer.js";
import type { Experiment, ExperimentSettings, Job, JobRun, Scale } from "./experiment.js";
import { barChart, lineChart } from "./plot.js";
import { labelProbabilities } from "./probe.js";
import { mean, percent, percentSpread, provenance, table } from "./report.js";

export type SentimentArm = "truncated" | "truncated+short" | "every-chunk" | "full";

const ARMS: readonly SentimentArm[] = ["truncated", "truncated+short", "every-chunk", "full"];

/** The truncation length K of arms truncated, truncated+short and every-chunk. */
const K = 30;

const ARM_SCHEDULES: Record<SentimentArm, { options: TrainerOptions; describe: string }> = {
  "truncated": { options: { k1: Infinity, k2: K, lossAt: "last-step" }, describe: `loss at the last step, TBPTT(k1=∞, k2=${K})` },
  "truncated+short": { options: { k1: Infinity, k2: K, lossAt: "last-step" }, describe: `as truncated, ¼ of the training texts short (5–25 words)` },
  "every-chunk": { options: { k1: K, k2: K, lossAt: "last-step", lossEveryChunk: true }, describe: `loss after every ${K} words, TBPTT(k1=k2=${K}), state carried` },
  "full": { options: { mode: "full", lossAt: "last-step" }, describe: "loss at the last step, full BPTT" },
};

interface SentimentSettings {
  hiddenSize: number;
  embeddingDim: number;
  epochs: number;
  /** Fresh training texts generated for every epoch (no text is seen twice). */
  textsPerEpoch: number;
  batchSize: number;
  learningRate: number;
  /** Long texts: length uniform in [longMin, longMax] words; short: [shortMin, shortMax]. */
  longMin: number;
  longMax: number;
  shortMin: number;
  shortMax: number;
  /** Fraction of short texts in arm truncated+short. */
  shortFraction: number;
  testTexts: number;
  /** Text lengths probed for "accuracy against distance of the opening from the end", and texts per length. */
  probeLengths: number[];
  probeTexts: number;
  /** Held-out accuracy on long texts every this many epochs. */
  evalEvery: number;
}

const SETTINGS: Record<Scale, SentimentSettings> = {
  smoke: {
    hiddenSize: 8, embeddingDim: 8, epochs: 2, textsPerEpoch: 64, batchSize: 32, learningRate: 0.01,
    longMin: 40, longMax: 50, shortMin: 5, shortMax: 25, shortFraction: 0.25, testTexts: 32,
    probeLengths: [10, 60], probeTexts: 8, evalEvery: 1,
  },
  default: {
    hiddenSize: 32, embeddingDim: 16, epochs: 24, textsPerEpoch: 1024, batchSize: 32, learningRate: 0.02,
    longMin: 90, longMax: 110, shortMin: 5, shortMax: 25, shortFraction: 0.25, testTexts: 256,
    probeLengths: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150], probeTexts: 64, evalEvery: 2,
  },
  full: {
    hiddenSize: 32, embeddingDim: 16, epochs: 100, textsPerEpoch: 1024, batchSize: 32, learningRate: 0.02,
    longMin: 90, longMax: 110, shortMin: 5, shortMax: 25, shortFraction: 0.25, testTexts: 1024,
    probeLengths: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 175, 200], probeTexts: 256, evalEvery: 4,
  },
};

export interface SentimentResult {
  accuracyLong: number;
  accuracyShort: number;
  /** Mean P(correct label) over the long and short test texts. */
  pCorrectLong: number;
  pCorrectShort: number;
  /** Per probed text length: accuracy and mean P(correct label). */
  byLength: Array<{ length: number; accuracy: number; pCorrect: number }>;
  /** Held-out accuracy on long texts after each evalEvery epochs. */
  curve: Array<{ epoch: number; texts: number; accuracyLong: number }>;
  updates: number;
}

/** Long and short texts mixed: `shortFraction` of `count` short, the rest long (their order shuffled by the batcher). */
function trainingTexts(rng: Rng, s: SentimentSettings, count: number, shortFraction: number): SentimentSet {
  const short = Math.round(count * shortFraction);
  const long = sentimentTexts(rng, { count: count - short, length: s.longMax, minLength: s.longMin });
  if (short === 0) return long;
  const extra = sentimentTexts(rng, { count: short, length: s.shortMax, minLength: s.shortMin });
  const labels = new Int32Array(count);
  labels.set(long.labels);
  labels.set(extra.labels, long.labels.length);
  return { texts: [...long.texts, ...extra.texts], labels, vocabulary: long.vocabulary };
}

function runJob(job: Job, settings: ExperimentSettings): SentimentResult {
  const arm = job.arm as SentimentArm;
  const s = SETTINGS[settings.scale];
  // Test sets depend on the seed only, so every arm of a seed is judged on the same texts.
  const testRng = new Rng(1_000_003 * job.seed + 17);
  const testLong = sentimentTexts(testRng, { count: s.testTexts, length: s.longMax, minLength: s.longMin });
  const testShort = sentimentTexts(testRng, { count: s.testTexts, length: s.shortMax, minLength: s.shortMin });
  const probes = s.probeLengths.map((length) => ({ length, set: sentimentTexts(testRng, { count: s.probeTexts, length }) }));

  const model = new SequenceModel({
    cell: "gru", vocabSize: SENTIMENT_VOCABULARY.length, embeddingDim: s.embeddingDim, hiddenSize: s.hiddenSize,
    outputSize: 2, objective: "classes", seed: job.seed,
  });
  const optimizer = createOptimizer("adam", model.parameters(), { lr: s.learningRate });
  const trainer = new Trainer(model, optimizer, { ...ARM_SCHEDULES[arm].options, clipNorm: 5 });
  // The training stream depends on the seed only: arms see the same long texts in the same order,
  // except that truncated+short replaces a quarter of them with short ones.
  const dataRng = new Rng(job.seed);
  const shortFraction = arm === "truncated+short" ? s.shortFraction : 0;
  const accuracyOn = (set: SentimentSet): number =>
    evaluate(model, classificationBatches(set.texts, set.labels, { batchSize: 128 }), { lossAt: "last-step" }).accuracy ?? 0;

  const curve: SentimentResult["curve"] = [{ epoch: 0, texts: 0, accuracyLong: accuracyOn(testLong) }];
  for (let epoch = 1; epoch <= s.epochs; epoch++) {
    const epochRng = new Rng(dataRng.nextUint32());
    const train = trainingTexts(epochRng, s, s.textsPerEpoch, shortFraction);
    trainer.trainEpoch(classificationBatches(train.texts, train.labels, { batchSize: s.batchSize, shuffle: epochRng }));
    if (epoch % s.evalEvery === 0 || epoch === s.epochs) {
      curve.push({ epoch, texts: epoch * s.textsPerEpoch, accuracyLong: accuracyOn(testLong) });
    }
  }

  const long = labelProbabilities(model, testLong.texts, testLong.labels);
  const short = labelProbabilities(model, testShort.texts, testShort.labels);
  return {
    accuracyLong: fraction(long.correct),
    accuracyShort: fraction(short.correct),
    pCorrectLong: mean(long.pLabel),
    pCorrectShort: mean(short.pLabel),
    byLength: probes.map(({ length, set }) => {
      const p = labelProbabilities(model, set.texts, set.labels);
      return { length, accuracy: fraction(p.correct), pCorrect: mean(p.pLabel) };
    }),
    curve,
    updates: trainer.updateCount,
  };
}

function fraction(flags: readonly boolean[]): number {
  return flags.filter(Boolean).length / flags.length;
}

/** Runs of one arm, in seed order. */
function byArm(runs: readonly JobRun<SentimentResult>[], arm: SentimentArm): SentimentResult[] {
  return runs.filter((r) => r.job.arm === arm).sort((a, b) => a.job.seed - b.job.seed).map((r) => r.result);
}

/** Per seed, the training texts seen when held-out accuracy on long texts first reached 90% ("–": never). */
function learnedAfter(results: readonly SentimentResult[]): string {
  return results.map((r) => r.curve.find((p) => p.accuracyLong >= 0.9)?.texts.toLocaleString("en-US") ?? "–").join(", ");
}

/** Learned: ≥ 90% on held-out long texts; chance: ≤ 60%. */
function verdict(accuracies: readonly number[]): string {
  const learned = accuracies.filter((a) => a >= 0.9).length;
  const chance = accuracies.filter((a) => a <= 0.6).length;
  const n = accuracies.length;
  if (learned === n) return n === 1 ? "learned" : `learned (all ${n} seeds)`;
  if (chance === n) return n === 1 ? "at chance" : `at chance (all ${n} seeds)`;
  return `${learned} of ${n} seeds learned, ${chance} at chance`;
}

async function report(settings: ExperimentSettings, runs: JobRun<SentimentResult>[], context: Parameters<Experiment["report"]>[2]) {
  const s = SETTINGS[settings.scale];
  const arms = ARMS.filter((arm) => runs.some((r) => r.job.arm === arm));
  const seconds = (arm: SentimentArm): number => mean(runs.filter((r) => r.job.arm === arm).map((r) => r.seconds));
  const farthest = s.probeLengths[s.probeLengths.length - 1]!;

  const rows = arms.map((arm) => {
    const r = byArm(runs, arm);
    const last = r.map((x) => x.byLength[x.byLength.length - 1]!);
    return [
      `**${arm}**`, ARM_SCHEDULES[arm].describe,
      percentSpread(r.map((x) => x.accuracyLong)), percentSpread(r.map((x) => x.accuracyShort)),
      percent(mean(last.map((x) => x.pCorrect))), verdict(r.map((x) => x.accuracyLong)), learnedAfter(r),
      String(Math.round(mean(r.map((x) => x.updates)))), seconds(arm).toFixed(1),
    ];
  });
  const lengthRows = s.probeLengths.map((length, i) => [
    String(length),
    ...arms.map((arm) => {
      const r = byArm(runs, arm).map((x) => x.byLength[i]!);
      return `${percent(mean(r.map((x) => x.accuracy)), 0)} (${mean(r.map((x) => x.pCorrect)).toFixed(2)})`;
    }),
  ]);

  const summary = (arm: SentimentArm): string => {
    const r = byArm(runs, arm);
    return `${arm}: ${percent(mean(r.map((x) => x.accuracyLong)))} on long texts, ${percent(mean(r.map((x) => x.accuracyShort)))} on short ones`;
  };
  const finding = [
    `Held-out accuracy, mean over ${settings.seeds.length} seed${settings.seeds.length === 1 ? "" : "s"}: ${arms.map(summary).join("; ")}.`,
    `At ${farthest} words (the opening ~${farthest - 3} words before the loss), the mean probability given to the correct label is ` +
      `${arms.map((arm) => `${arm} ${mean(byArm(runs, arm).map((x) => x.byLength[x.byLength.length - 1]!.pCorrect)).toFixed(2)}`).join(", ")}` +
      " (0.50 is a coin toss).",
  ].join(" ");

  const lengthChartRows = arms.flatMap((arm) => s.probeLengths.map((length, i) => ({
    arm, length, accuracy: mean(byArm(runs, arm).map((x) => x.byLength[i]!.accuracy)),
    pCorrect: mean(byArm(runs, arm).map((x) => x.byLength[i]!.pCorrect)),
  })));
  const curveRows = arms.flatMap((arm) => {
    const r = byArm(runs, arm);
    return r[0]!.curve.map((point, i) => ({ arm, texts: point.texts, accuracy: mean(r.map((x) => x.curve[i]!.accuracyLong)) }));
  });
  const accuracyRows = arms.flatMap((arm) => {
    const r = byArm(runs, arm);
    return [
      { arm, test: `long (${s.longMin}–${s.longMax} words)`, accuracy: mean(r.map((x) => x.accuracyLong)) },
      { arm, test: `short (${s.shortMin}–${s.shortMax} words)`, accuracy: mean(r.map((x) => x.accuracyShort)) },
    ];
  });

  const markdown = [
    "# long-text-sentiment: a label decided ~100 words before the loss",
    "",
    "Each text's label is decided only by its opening (\"i love this …\" vs \"i hate this …\"); the remaining words are",
    "filler drawn from a vocabulary both classes share. The classifier answers at the last word.",
    "",
    "## Finding",
    "",
    finding,
    "",
    "## Test accuracy",
    "",
    table(["arm", "schedule", "accuracy, long texts", "accuracy, short texts", `P(correct) at ${farthest} words`, "long texts", "≥ 90% on long texts after (texts seen, per seed)", "updates", "s per run"], rows),
    "",
    "Accuracy: mean ± standard deviation over seeds; learned = ≥ 90% on long texts, at chance = ≤ 60%.",
    "",
    "![accuracy](accuracy.svg)",
    "",
    "## What the model answers when the opening is far from the end",
    "",
    `Accuracy (mean P(correct label)) on ${s.probeTexts} texts per length; the opening is 3–4 words long, so it ends ~length − 3 words before the answer. ` +
      `Training texts were ${s.longMin}–${s.longMax} words (and ${s.shortMin}–${s.shortMax} for the short ones).`,
    "",
    table(["words", ...arms], lengthRows),
    "",
    "![accuracy by length](by-length.svg)",
    "",
    "## Learning curve",
    "",
    "Held-out accuracy on long texts against the number of training texts seen (mean over seeds).",
    "",
    "![learning curve](learning-curve.svg)",
    "",
    "## Settings",
    "",
    `GRU, hidden size ${s.hiddenSize}, embedding ${s.embeddingDim}, ${SENTIMENT_VOCABULARY.length} words; Adam lr ${s.learningRate}, gradient norm clipped to 5; ` +
      `${s.epochs} epochs of ${s.textsPerEpoch} freshly generated texts each (no text seen twice), batches of ${s.batchSize} right-padded texts; ` +
      `long texts ${s.longMin}–${s.longMax} words, short ${s.shortMin}–${s.shortMax}; truncated+short: ${percent(s.shortFraction, 0)} short texts; ` +
      `${s.testTexts} long and ${s.testTexts} short test texts per seed; seeds ${settings.seeds.join(", ")}. ` +
      `"Loss at the end, gradient truncated to the last ${K} steps" is TBPTT(k1 = ∞, k2 = ${K}) with lossAt "last-step": one update per batch, and ` +
      `each text's k2 steps count back from its own last word (padding is not time, docs/tbptt.md).`,
    "",
    provenance(context),
    "",
  ].join("\n");

  return {
    markdown,
    data: { experiment: "long-text-sentiment", settings: { ...s, seeds: settings.seeds, scale: settings.scale, K }, arms: Object.fromEntries(arms.map((arm) => [arm, {
      schedule: ARM_SCHEDULES[arm].describe, runs: runs.filter((r) => r.job.arm === arm).map((r) => ({ seed: r.job.seed, seconds: r.seconds, ...r.result })),
    }])) },
    files: {
      "accuracy.svg": await barChart({
        title: "Test accuracy by training arm", rows: accuracyRows,
        x: { field: "arm", title: "arm", sort: [...arms] }, y: { field: "accuracy", title: "accuracy (mean over seeds)", domain: [0, 1], percent: true },
        group: { field: "test", title: "test texts" },
      }),
      "by-length.svg": await lineChart({
        title: "Accuracy against text length (opening ≈ length − 3 words before the answer)", rows: lengthChartRows,
        x: { field: "length", title: "text length (words)" }, y: { field: "accuracy", title: "accuracy", domain: [0, 1], percent: true },
        color: { field: "arm", title: "arm" },
      }),
      "learning-curve.svg": await lineChart({
        title: "Held-out accuracy on long texts during training", rows: curveRows,
        x: { field: "texts", title: "training texts seen" }, y: { field: "accuracy", title: "accuracy", domain: [0, 1], percent: true },
        color: { field: "arm", title: "arm" },
      }),
    },
  };
}

export const longTextSentiment: Experiment<SentimentResult> = {
  name: "long-text-sentiment",
  title: "a label decided ~100 words before the loss: truncated vs short examples vs loss every chunk vs full BPTT",
  seedsFor: (scale) => (scale === "smoke" ? 1 : scale === "full" ? 5 : 3),
  plan: (settings) => settings.seeds.flatMap((seed) => ARMS.map((arm) => ({ arm, seed }))),
  run: runJob,
  describe: (run) => `${run.job.arm.padEnd(15)} seed ${run.job.seed}: long ${percent(run.result.accuracyLong)}, short ${percent(run.result.accuracyShort)}`,
  report,
};
