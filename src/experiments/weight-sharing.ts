/**
 * Experiment 6, weight-sharing: what does sharing the weights across time buy? The standard GRU
 * (one weight set applied at every step) against the same GRU with separate weights per time step
 * (unshared-recurrent.ts), both trained on "is the last symbol equal to the first?"
 * (first-equals-last.ts) at one length only, then tested at shorter and longer lengths.
 *
 * The unshared model has weights for the training length's positions only, so it cannot read a longer
 * sequence at all. A shorter one can be run on a subset of its weight sets: the first L ("first"
 * alignment: each position by the weights trained for that position, the way the sequence actually
 * starts) or the last L ("last" alignment: the final step by the weights trained to answer); both are
 * reported. Both models: same hidden size, head, optimizer, updates and batches.
 */
import { Dense } from "../layers/dense.js";
import { Adam } from "../optim/adam.js";
import { clipGradNorm } from "../optim/clip.js";
import { Rng } from "../tensor/rng.js";
import { evaluate } from "../train/evaluate.js";
import { SequenceModel } from "../train/model.js";
import { countArgmaxHits, lossAndGradient } from "../train/objective.js";
import { Trainer } from "../train/trainer.js";
import type { Experiment, ExperimentSettings, Job, JobRun, ReportContext, Scale } from "./experiment.js";
import { firstEqualsLastBatch } from "./first-equals-last.js";
import { lineChart, type Row } from "./plot.js";
import { mean, percent, percentSpread, provenance, table } from "./report.js";
import { UnsharedRecurrent } from "./unshared-recurrent.js";

interface Sizes {
  trainLength: number;
  testLengths: number[];
  hiddenSize: number;
  updates: number;
  batchSize: number;
  testSequences: number;
}

const SIZES: Record<Scale, Sizes> = {
  smoke: { trainLength: 4, testLengths: [2, 4, 6], hiddenSize: 4, updates: 3, batchSize: 4, testSequences: 8 },
  default: { trainLength: 10, testLengths: [3, 5, 7, 10, 15, 20, 40], hiddenSize: 32, updates: 2500, batchSize: 32, testSequences: 1000 },
  full: { trainLength: 10, testLengths: [2, 3, 5, 7, 10, 15, 20, 40, 80], hiddenSize: 32, updates: 4000, batchSize: 32, testSequences: 2000 },
};

const SYMBOLS = 4;
const LR = 0.01;
const CLIP = 1;

type Alignment = "first" | "last";

export interface SharingResult {
  trainLength: number;
  parameters: number;
  /** Training loss of the last 50 updates (mean). */
  finalLoss: number;
  /** Accuracy by test length; null where the model cannot run. For the shared model only `first` is set. */
  accuracy: Array<{ length: number; first: number | null; last: number | null }>;
}

function runShared(job: Job, sizes: Sizes): SharingResult {
  const rng = new Rng(job.seed * 7919);
  const model = new SequenceModel({ cell: "gru", inputSize: SYMBOLS, hiddenSize: sizes.hiddenSize, outputSize: 2, objective: "classes", seed: job.seed });
  const trainer = new Trainer(model, new Adam(model.parameters(), { lr: LR }), { mode: "full", lossAt: "last-step", clipNorm: CLIP });
  const data = rng.fork();
  const losses: number[] = [];
  for (let u = 0; u < sizes.updates; u++) {
    const r = trainer.trainBatch(firstEqualsLastBatch(data, { symbols: SYMBOLS, length: sizes.trainLength, batchSize: sizes.batchSize }));
    losses.push(r.lossSum / r.lossTerms);
  }
  const test = rng.fork();
  const accuracy = sizes.testLengths.map((length) => {
    const batch = firstEqualsLastBatch(test, { symbols: SYMBOLS, length, batchSize: sizes.testSequences });
    return { length, first: evaluate(model, [batch], { lossAt: "last-step" }).accuracy!, last: null };
  });
  return { trainLength: sizes.trainLength, parameters: model.parameterCount, finalLoss: mean(losses.slice(-50)), accuracy };
}

function runUnshared(job: Job, sizes: Sizes): SharingResult {
  const H = sizes.hiddenSize;
  const rng = new Rng(job.seed * 7919);
  const layer = new UnsharedRecurrent({ kind: "gru", inputSize: SYMBOLS, hiddenSize: H, steps: sizes.trainLength, seed: job.seed });
  const head = new Dense({ inFeatures: H, outFeatures: 2, rng: new Rng(job.seed).fork() });
  const params = [...layer.parameters(), ...head.parameters()];
  const optimizer = new Adam(params, { lr: LR });
  const data = rng.fork();
  const losses: number[] = [];
  const dLogits = new Float32Array(sizes.batchSize * 2);
  for (let u = 0; u < sizes.updates; u++) {
    const batch = firstEqualsLastBatch(data, { symbols: SYMBOLS, length: sizes.trainLength, batchSize: sizes.batchSize });
    const B = batch.B;
    const cache = layer.forward(batch.features!, batch.T, B);
    // The answer is read from the last state h_{T−1} = hN; the mean loss over the batch, as the Trainer's.
    const headCache = head.forward(cache.hN, B);
    const { sum } = lossAndGradient("classes", B, 2, headCache.out, batch.sequenceTargets as Int32Array, dLogits, 1 / B);
    const dhN = head.backward(headCache, dLogits);
    layer.backward(cache, null, dhN);
    clipGradNorm(params, CLIP);
    optimizer.step();
    optimizer.zeroGrad();
    losses.push(sum / B);
  }
  const test = rng.fork();
  const accuracyWith = (batch: ReturnType<typeof firstEqualsLastBatch>, alignment: Alignment): number => {
    const firstCell = alignment === "first" ? 0 : sizes.trainLength - batch.T;
    const cache = layer.forward(batch.features!, batch.T, batch.B, firstCell);
    const logits = head.forward(cache.hN, batch.B).out;
    return countArgmaxHits(logits, batch.sequenceTargets as Int32Array, batch.B, 2) / batch.B;
  };
  const accuracy = sizes.testLengths.map((length) => {
    const batch = firstEqualsLastBatch(test, { symbols: SYMBOLS, length, batchSize: sizes.testSequences });
    if (length > sizes.trainLength) return { length, first: null, last: null };
    return { length, first: accuracyWith(batch, "first"), last: accuracyWith(batch, "last") };
  });
  return { trainLength: sizes.trainLength, parameters: params.reduce((n, p) => n + p.size, 0), finalLoss: mean(losses.slice(-50)), accuracy };
}

async function report(settings: ExperimentSettings, runs: JobRun<SharingResult>[], context: ReportContext) {
  const sizes = SIZES[settings.scale];
  const shared = runs.filter((r) => r.job.arm === "shared");
  const unshared = runs.filter((r) => r.job.arm === "unshared");
  const at = (rs: JobRun<SharingResult>[], length: number, alignment: Alignment): number[] | null => {
    const values = rs.map((r) => r.result.accuracy.find((a) => a.length === length)![alignment]);
    return values.some((v) => v === null) ? null : (values as number[]);
  };
  const cannot = `cannot run (no weights past step ${sizes.trainLength})`;
  const rows = sizes.testLengths.map((length) => {
    const s = at(shared, length, "first")!;
    const first = at(unshared, length, "first");
    const last = at(unshared, length, "last");
    return [
      length === sizes.trainLength ? `**${length}** (training length)` : String(length),
      percentSpread(s), first ? percentSpread(first) : cannot, last ? percentSpread(last) : length > sizes.trainLength ? "–" : cannot,
    ];
  });
  const plotRows: Row[] = [];
  for (const length of sizes.testLengths) {
    plotRows.push({ length, accuracy: mean(at(shared, length, "first")!), model: "shared GRU" });
    for (const alignment of ["first", "last"] as const) {
      const values = at(unshared, length, alignment);
      if (values) plotRows.push({ length, accuracy: mean(values), model: `unshared, ${alignment} L weight sets` });
    }
  }
  const svg = await lineChart({
    title: `Accuracy by test length (trained at length ${sizes.trainLength}; chance 50%)`,
    rows: plotRows,
    x: { field: "length", title: "test sequence length", log: true },
    y: { field: "accuracy", title: "test accuracy", percent: true, domain: [0, 1] },
    color: { field: "model", title: "model" },
  });

  const sharedParams = shared[0]!.result.parameters;
  const unsharedParams = unshared[0]!.result.parameters;
  const meanAt = (rs: JobRun<SharingResult>[], length: number, alignment: Alignment) => {
    const values = at(rs, length, alignment);
    return values ? mean(values) : NaN;
  };
  const shorter = sizes.testLengths.filter((l) => l < sizes.trainLength);
  const longer = sizes.testLengths.filter((l) => l > sizes.trainLength);
  // A seed "learned" the task when it is right on ≥ 95% of the training-length test sequences.
  const learned = (r: JobRun<SharingResult>) => r.result.accuracy.find((a) => a.length === sizes.trainLength)!.first! >= 0.95;
  const sharedLearned = shared.filter(learned);
  const longest = Math.max(...sizes.testLengths);
  const findings = [
    `${sharedLearned.length} of ${shared.length} shared seeds and ${unshared.filter(learned).length} of ${unshared.length} unshared seeds learned the task (≥ 95% at the training length).` +
      (sharedLearned.length > 0 && longest > sizes.trainLength
        ? ` The shared seeds that learned it score ${percent(meanAt(sharedLearned, longest, "first"))} at length ${longest} and ${percent(meanAt(sharedLearned, Math.min(...sizes.testLengths), "first"))} at length ${Math.min(...sizes.testLengths)}.`
        : ""),
    `At the training length (${sizes.trainLength}) the shared GRU reaches ${percent(meanAt(shared, sizes.trainLength, "first"))} and the unshared one ` +
      `${percent(meanAt(unshared, sizes.trainLength, "first"))}, with ${sharedParams} against ${unsharedParams} parameters (${(unsharedParams / sharedParams).toFixed(1)}×).`,
    longer.length > 0
      ? `On longer sequences the shared GRU scores ${longer.map((l) => `${percent(meanAt(shared, l, "first"), 0)} at length ${l}`).join(", ")}; the unshared model cannot run at all: it has no weights for the steps past ${sizes.trainLength}.`
      : "",
    shorter.length > 0
      ? `On shorter sequences the shared GRU scores ${shorter.map((l) => `${percent(meanAt(shared, l, "first"), 0)} at length ${l}`).join(", ")}; ` +
        `the unshared model ${shorter.map((l) => `${percent(meanAt(unshared, l, "first"), 0)}`).join(", ")} with its first L weight sets and ` +
        `${shorter.map((l) => `${percent(meanAt(unshared, l, "last"), 0)}`).join(", ")} with its last L (chance 50%).`
      : "",
  ].filter(Boolean);

  const markdown = [
    "# weight-sharing: one weight set for every step vs one per step",
    "",
    "**Question.** Does a recurrent network with its weights shared across time generalise to sequence lengths it was not trained on, and what does a network with separate weights for every step do instead?",
    "",
    "## Finding",
    "",
    findings.join(" "),
    "",
    "## Results",
    "",
    `Test accuracy on ${sizes.testSequences} fresh sequences per length, mean ± sd over seeds ${settings.seeds.join(", ")}. ` +
      `Parameters: shared ${sharedParams}, unshared ${unsharedParams}. Final training loss (mean of the last 50 updates): ` +
      `shared ${mean(shared.map((r) => r.result.finalLoss)).toFixed(3)}, unshared ${mean(unshared.map((r) => r.result.finalLoss)).toFixed(3)}.`,
    "",
    table(["test length", "shared GRU", "unshared, first L weight sets", "unshared, last L weight sets"], rows),
    "",
    "For a sequence of L < " + sizes.trainLength + " steps the unshared model must choose which of its " + sizes.trainLength +
      " weight sets to use. \"First L\" processes step t with the weights trained for position t, as the sequence really starts, " +
      "but its answer is then read from a state the head was never trained on (training only ever asked at step " + sizes.trainLength + "). " +
      "\"Last L\" reads the answer after the weights trained to answer, but the first symbol is then taken in by weights trained on middle symbols, which learnt to ignore their input.",
    "",
    "![accuracy by length](accuracy-by-length.svg)",
    "",
    "## Settings",
    "",
    `- Task: is the last symbol equal to the first? ${SYMBOLS} symbols, one-hot inputs, label balanced (chance 50%); training sequences of ${sizes.trainLength} steps only, loss at the last step.`,
    `- Models: GRU, hidden size ${sizes.hiddenSize}, dense softmax head over 2 classes. Shared: the library's GRU (SequenceModel + Trainer, full BPTT). ` +
      `Unshared: ${sizes.trainLength} GRU cells, one per position (src/experiments/unshared-recurrent.ts), each initialised like the shared cell.`,
    `- Training (both): Adam lr ${LR}, gradient norm clipped to ${CLIP}, ${sizes.updates} updates on fresh batches of ${sizes.batchSize}.`,
    "",
    provenance(context),
    "",
  ].join("\n");
  return {
    markdown,
    data: { settings: { scale: settings.scale, seeds: settings.seeds, sizes, symbols: SYMBOLS, lr: LR, clipNorm: CLIP }, runs },
    files: { "accuracy-by-length.svg": svg },
  };
}

export const weightSharing: Experiment<SharingResult> = {
  name: "weight-sharing",
  title: "weights shared across time vs separate weights per step: parameters and accuracy on shorter and longer sequences",
  seedsFor: (scale) => (scale === "smoke" ? 1 : scale === "full" ? 5 : 3),
  plan: (settings) => ["shared", "unshared"].flatMap((arm) => settings.seeds.map((seed) => ({ arm, seed }))),
  run: (job, settings) => (job.arm === "shared" ? runShared : runUnshared)(job, SIZES[settings.scale]),
  describe: (run) => {
    const atTrain = run.result.accuracy.find((a) => a.length === run.result.trainLength)?.first ?? NaN;
    return `${run.job.arm} seed ${run.job.seed}: ${run.result.parameters} parameters, accuracy ${percent(atTrain)} at the training length ${run.result.trainLength}`;
  },
  report,
};
