/**
 * one-anywhere: output 1 if a 1 appears anywhere in a sequence of 20 tokens (0 or 1), answered at the
 * last step. Trained with the gradient truncated to the last 10 steps (lossAt "last-step",
 * TBPTT(k1 = ∞, k2 = 10)), on two training sets (src/data/synthetic/one-anywhere.ts):
 *
 *   early       1s only in steps 0–9: never within the 10 steps the gradient reaches
 *   anywhere    1s in steps 0–19
 *
 * and, as a control, early with full BPTT (the same data, the gradient reaching every step). Test
 * accuracy is measured on held-out sequences drawn like the anywhere set, and by the position of the
 * 1: for each position p the sequence with a single 1 at p, and the all-0 sequence.
 */
import { classificationBatches } from "../data/batching.js";
import { oneAnywhereSequences, singleOne } from "../data/synthetic/one-anywhere.js";
import { createOptimizer } from "../optim/index.js";
import { Rng } from "../tensor/rng.js";
import { evaluate } from "../train/evaluate.js";
import { SequenceModel } from "../train/model.js";
import { Trainer, type TrainerOptions } from "../train/trainer.js";
import type { Experiment, ExperimentSettings, Job, JobRun, ReportContext, Scale } from "./experiment.js";
import { lineChart } from "./plot.js";
import { lastStepProbabilities } from "./probe.js";
import { mean, percent, percentSpread, provenance, table } from "./report.js";

export type OneAnywhereArm = "early" | "anywhere" | "early, full BPTT";

const ARMS: readonly OneAnywhereArm[] = ["early", "anywhere", "early, full BPTT"];

/** Sequence length and truncation. */
const LENGTH = 20;
const K2 = 10;

const ARM_SETUP: Record<OneAnywhereArm, { ones: [number, number]; options: TrainerOptions; describe: string }> = {
  "early": { ones: [0, LENGTH - K2], options: { k1: Infinity, k2: K2 }, describe: `1s in steps 0–${LENGTH - K2 - 1}, TBPTT(k1=∞, k2=${K2})` },
  "anywhere": { ones: [0, LENGTH], options: { k1: Infinity, k2: K2 }, describe: `1s in steps 0–${LENGTH - 1}, TBPTT(k1=∞, k2=${K2})` },
  "early, full BPTT": { ones: [0, LENGTH - K2], options: { mode: "full" }, describe: `1s in steps 0–${LENGTH - K2 - 1}, full BPTT (control)` },
};

interface OneAnywhereSettings {
  hiddenSize: number;
  embeddingDim: number;
  epochs: number;
  /** Fresh training sequences per epoch. */
  sequencesPerEpoch: number;
  batchSize: number;
  learningRate: number;
  testSequences: number;
}

const SETTINGS: Record<Scale, OneAnywhereSettings> = {
  smoke: { hiddenSize: 4, embeddingDim: 2, epochs: 2, sequencesPerEpoch: 64, batchSize: 32, learningRate: 0.01, testSequences: 64 },
  default: { hiddenSize: 16, embeddingDim: 4, epochs: 40, sequencesPerEpoch: 1024, batchSize: 32, learningRate: 0.01, testSequences: 2048 },
  full: { hiddenSize: 16, embeddingDim: 4, epochs: 100, sequencesPerEpoch: 1024, batchSize: 32, learningRate: 0.01, testSequences: 8192 },
};

export interface OneAnywhereResult {
  /** Accuracy on held-out sequences with 1s anywhere (half of them all 0s). */
  testAccuracy: number;
  /** P(answer 1) for the sequence with a single 1 at position p = 0 … 19. */
  pOneAt: number[];
  /** P(answer 1) for the all-0 sequence. */
  pOneAllZeros: number;
  updates: number;
}

function runJob(job: Job, settings: ExperimentSettings): OneAnywhereResult {
  const arm = job.arm as OneAnywhereArm;
  const s = SETTINGS[settings.scale];
  const setup = ARM_SETUP[arm];
  const model = new SequenceModel({
    cell: "gru", vocabSize: 2, embeddingDim: s.embeddingDim, hiddenSize: s.hiddenSize, outputSize: 2, objective: "classes", seed: job.seed,
  });
  const trainer = new Trainer(model, createOptimizer("adam", model.parameters(), { lr: s.learningRate }), {
    ...setup.options, lossAt: "last-step", clipNorm: 5,
  });
  const dataRng = new Rng(job.seed);
  for (let epoch = 1; epoch <= s.epochs; epoch++) {
    const epochRng = new Rng(dataRng.nextUint32());
    const train = oneAnywhereSequences(epochRng, { count: s.sequencesPerEpoch, length: LENGTH, first: setup.ones[0], end: setup.ones[1] });
    trainer.trainEpoch(classificationBatches(train.sequences, train.labels, { batchSize: s.batchSize }));
  }
  const test = oneAnywhereSequences(new Rng(1_000_003 * job.seed + 29), { count: s.testSequences, length: LENGTH });
  const testAccuracy = evaluate(model, classificationBatches(test.sequences, test.labels, { batchSize: 256 }), { lossAt: "last-step" }).accuracy ?? 0;
  const probes = [...Array.from({ length: LENGTH }, (_, p) => singleOne(LENGTH, p)), singleOne(LENGTH, null)];
  const p = lastStepProbabilities(model, probes);
  const pOne = probes.map((_, n) => p[2 * n + 1]!);
  return { testAccuracy, pOneAt: pOne.slice(0, LENGTH), pOneAllZeros: pOne[LENGTH]!, updates: trainer.updateCount };
}

/** Mean P(answer 1) over seeds for a lone 1 at positions [from, to). */
function meanP(results: readonly OneAnywhereResult[], from: number, to: number): number {
  return mean(results.flatMap((r) => r.pOneAt.slice(from, to)));
}

function byArm(runs: readonly JobRun<OneAnywhereResult>[], arm: OneAnywhereArm): OneAnywhereResult[] {
  return runs.filter((r) => r.job.arm === arm).sort((a, b) => a.job.seed - b.job.seed).map((r) => r.result);
}

/** Accuracy on the single-1 probe at position p over seeds: the fraction answering 1 (P > 0.5). */
function hitRate(results: readonly OneAnywhereResult[], p: number): number {
  return mean(results.map((r) => (r.pOneAt[p]! > 0.5 ? 1 : 0)));
}

/** Mean accuracy over seeds on the single-1 probes at positions [from, to). */
function rangeRate(results: readonly OneAnywhereResult[], from: number, to: number): number {
  return mean(Array.from({ length: to - from }, (_, i) => hitRate(results, from + i)));
}

async function report(settings: ExperimentSettings, runs: JobRun<OneAnywhereResult>[], context: ReportContext) {
  const s = SETTINGS[settings.scale];
  const arms = ARMS.filter((arm) => runs.some((r) => r.job.arm === arm));
  const early = `0–${LENGTH - K2 - 1}`;
  const late = `${LENGTH - K2}–${LENGTH - 1}`;
  const rows = arms.map((arm) => {
    const r = byArm(runs, arm);
    return [
      `**${arm}**`, ARM_SETUP[arm].describe, percentSpread(r.map((x) => x.testAccuracy)), r.map((x) => percent(x.testAccuracy, 0)).join(" "),
      `${percent(rangeRate(r, 0, LENGTH - K2))} (${meanP(r, 0, LENGTH - K2).toFixed(2)})`,
      `${percent(rangeRate(r, LENGTH - K2, LENGTH))} (${meanP(r, LENGTH - K2, LENGTH).toFixed(2)})`,
      `${percent(mean(r.map((x) => (x.pOneAllZeros < 0.5 ? 1 : 0))))} (${mean(r.map((x) => x.pOneAllZeros)).toFixed(2)})`,
      mean(runs.filter((x) => x.job.arm === arm).map((x) => x.seconds)).toFixed(1),
    ];
  });
  const positionRows = Array.from({ length: LENGTH }, (_, p) => [
    String(p), ...arms.map((arm) => {
      const r = byArm(runs, arm);
      return `${percent(hitRate(r, p), 0)} (${mean(r.map((x) => x.pOneAt[p]!)).toFixed(2)})`;
    }),
  ]);
  const chartRows = arms.flatMap((arm) => {
    const r = byArm(runs, arm);
    return Array.from({ length: LENGTH }, (_, p) => ({ arm, position: p, accuracy: hitRate(r, p), pOne: mean(r.map((x) => x.pOneAt[p]!)) }));
  });
  const sentence = (arm: OneAnywhereArm): string => {
    const r = byArm(runs, arm);
    return `**${arm}**: ${percent(mean(r.map((x) => x.testAccuracy)))} test accuracy; mean P(answer 1) is ${meanP(r, 0, LENGTH - K2).toFixed(2)} ` +
      `for a lone 1 in steps ${early}, ${meanP(r, LENGTH - K2, LENGTH).toFixed(2)} for one in steps ${late}, and ${mean(r.map((x) => x.pOneAllZeros)).toFixed(2)} for the all-0 sequence`;
  };
  const markdown = [
    "# one-anywhere: output 1 if a 1 appears anywhere",
    "",
    `Sequences of ${LENGTH} tokens (0 or 1); the answer, at the last step, is 1 when any token is 1. The gradient is truncated to the last ${K2} steps.`,
    "",
    "## Finding",
    "",
    `Mean over ${settings.seeds.length} seed${settings.seeds.length === 1 ? "" : "s"}: ${arms.map(sentence).join("; ")}. ` +
      "A model that answers the same for every input has learned only the base rate, whatever its accuracy on lone 1s.",
    "",
    "## Test accuracy",
    "",
    table(["arm", "training", "test accuracy", "per seed", `lone 1 in steps ${early} → 1`, `lone 1 in steps ${late} → 1`, "all 0s → 0", "s per run"], rows),
    "",
    `Test accuracy: held-out sequences with 1s anywhere (about half of them all 0s), mean ± sd over seeds. ` +
      "Lone 1: the sequence with a single 1 at that position answered 1 (P > 0.5), averaged over the positions and seeds; " +
      "all 0s: the sequence without a 1 answered 0, over seeds. In brackets the mean P(answer 1).",
    "",
    "## Accuracy by the position of the 1",
    "",
    "Fraction of seeds answering 1 for the sequence with a single 1 at that step (mean P(answer 1)).",
    "",
    table(["position of the 1", ...arms], positionRows),
    "",
    "![accuracy by position](by-position.svg)",
    "",
    "## Settings",
    "",
    `GRU, hidden size ${s.hiddenSize}, token embedding ${s.embeddingDim}; two classes, softmax cross-entropy at the last step; Adam lr ${s.learningRate}, ` +
      `gradient norm clipped to 5; ${s.epochs} epochs of ${s.sequencesPerEpoch} freshly generated sequences, batches of ${s.batchSize}; ` +
      `in each training sequence every allowed step is 1 with probability p, (1 − p)^(allowed steps) = 1/2, so half the sequences hold no 1; ` +
      `${s.testSequences} test sequences per seed; seeds ${settings.seeds.join(", ")}. ` +
      `"Gradient truncated to ${K2} steps" is TBPTT(k1 = ∞, k2 = ${K2}) with lossAt "last-step": one update per batch whose gradient reaches steps ${late} only.`,
    "",
    provenance(context),
    "",
  ].join("\n");
  return {
    markdown,
    data: {
      experiment: "one-anywhere", settings: { ...s, length: LENGTH, k2: K2, seeds: settings.seeds, scale: settings.scale },
      arms: Object.fromEntries(arms.map((arm) => [arm, {
        training: ARM_SETUP[arm].describe, runs: runs.filter((r) => r.job.arm === arm).map((r) => ({ seed: r.job.seed, seconds: r.seconds, ...r.result })),
      }])),
    },
    files: {
      "by-position.svg": await lineChart({
        title: "Lone 1 detected, by its position (fraction of seeds)", rows: chartRows,
        x: { field: "position", title: "position of the 1 (step)" }, y: { field: "accuracy", title: "accuracy", domain: [0, 1], percent: true },
        color: { field: "arm", title: "training" },
      }),
    },
  };
}

export const oneAnywhere: Experiment<OneAnywhereResult> = {
  name: "one-anywhere",
  title: "output 1 if a 1 appears anywhere: trained with a 10-step gradient, 1s early only vs anywhere",
  seedsFor: (scale) => (scale === "smoke" ? 1 : scale === "full" ? 20 : 10),
  plan: (settings) => settings.seeds.flatMap((seed) => ARMS.map((arm) => ({ arm, seed }))),
  run: runJob,
  describe: (run) => `${run.job.arm.padEnd(16)} seed ${run.job.seed}: test ${percent(run.result.testAccuracy)}, ` +
    `lone 1 early ${percent(rangeRate([run.result], 0, LENGTH - K2))}, late ${percent(rangeRate([run.result], LENGTH - K2, LENGTH))}`,
  report,
};
