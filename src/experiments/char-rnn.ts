/**
 * char-rnn: a character language model trained with TBPTT(k1 = k2 = 25), as Karpathy's char-rnn.
 *
 * The text (the user's, `--data FILE`, or a built-in corpus from a small English grammar,
 * src/data/synthetic/grammar-text.ts) is split 90/10 into training and held-out text. The training
 * text is read as B parallel strips, 25 characters per batch, the state carried from batch to batch
 * (src/data/language-model.ts); every 25 characters one update, the gradient cut 25 steps back.
 *
 * Measured: held-out bits per character (bpc = mean −log₂ P(next character), the state carried over
 * the whole held-out text) against updates and training time, next to the bpc of a unigram model
 * (character frequencies of the training text, add-one smoothed); and samples at temperatures 0.5 and
 * 1.0 drawn with the library's Sampler, with the fraction of sampled words that occur in the training text.
 */
import { batchify, languageModelBatches } from "../data/language-model.js";
import { grammarText } from "../data/synthetic/grammar-text.js";
import { CharTokenizer } from "../data/tokenizer.js";
import { PAD_ID, UNK_ID, Vocabulary, countTokens } from "../data/vocabulary.js";
import { Sampler } from "../inference/sampling.js";
import { Stepper } from "../inference/stepper.js";
import { createOptimizer } from "../optim/index.js";
import { Rng } from "../tensor/rng.js";
import { evaluate } from "../train/evaluate.js";
import { SequenceModel } from "../train/model.js";
import { describeSchedule } from "../train/schedule.js";
import { Trainer } from "../train/trainer.js";
import type { Experiment, ExperimentSettings, Job, JobRun, ReportContext, Scale } from "./experiment.js";
import { lineChart } from "./plot.js";
import { mean, provenance, spread, table } from "./report.js";

/** k1 = k2 = 25: steps per batch and per update, and how far the gradient flows back. */
const K = 25;
const TEMPERATURES = [0.5, 1.0] as const;
/** The built-in corpus is the same for every seed: the seed varies the model and the order only. */
const CORPUS_SEED = 2024;

interface CharRnnSettings {
  /** Characters of the built-in corpus. */
  corpusCharacters: number;
  hiddenSize: number;
  embeddingDim: number;
  batchSize: number;
  learningRate: number;
  updates: number;
  /** Held-out bpc every this many updates. */
  evalEvery: number;
  /** Characters per sample. */
  sampleLength: number;
}

const SETTINGS: Record<Scale, CharRnnSettings> = {
  smoke: { corpusCharacters: 4000, hiddenSize: 16, embeddingDim: 8, batchSize: 8, learningRate: 0.003, updates: 20, evalEvery: 10, sampleLength: 60 },
  default: { corpusCharacters: 200_000, hiddenSize: 128, embeddingDim: 32, batchSize: 32, learningRate: 0.003, updates: 1000, evalEvery: 100, sampleLength: 400 },
  full: { corpusCharacters: 1_000_000, hiddenSize: 256, embeddingDim: 64, batchSize: 32, learningRate: 0.002, updates: 12000, evalEvery: 500, sampleLength: 600 },
};

export interface CharRnnResult {
  /** The held-out bpc after each evalEvery updates (seconds: training time so far, not deterministic). */
  curve: Array<{ update: number; characters: number; seconds: number; bpc: number }>;
  finalBpc: number;
  unigramBpc: number;
  vocabularySize: number;
  trainCharacters: number;
  heldOutCharacters: number;
  parameters: number;
  samples: Array<{ temperature: number; text: string; knownWords: number }>;
}

/** The text to model: the user's, or the built-in corpus; line ends normalised to "\n". */
export function charRnnText(settings: ExperimentSettings): { name: string; text: string } {
  if (settings.data) return { name: settings.data.name, text: settings.data.text.replace(/\r\n/g, "\n") };
  return { name: "built-in grammar corpus", text: grammarText(new Rng(CORPUS_SEED), { characters: SETTINGS[settings.scale].corpusCharacters }) };
}

/** Splits the characters 90/10: the training text, then the held-out text. */
function split(chars: readonly string[]): { train: string[]; heldOut: string[] } {
  const cut = Math.floor(chars.length * 0.9);
  return { train: chars.slice(0, cut), heldOut: chars.slice(cut) };
}

/** bpc of the training text's add-one-smoothed character frequencies on the held-out text. */
function unigramBitsPerCharacter(train: Int32Array, heldOut: Int32Array, V: number): number {
  const counts = new Float64Array(V).fill(1);
  for (const id of train) counts[id]!++;
  const total = train.length + V;
  let bits = 0;
  for (const id of heldOut) bits -= Math.log2(counts[id]! / total);
  return bits / heldOut.length;
}

function runJob(job: Job, settings: ExperimentSettings): CharRnnResult {
  const s = SETTINGS[settings.scale];
  const tokenizer = new CharTokenizer();
  const chars = tokenizer.tokenize(charRnnText(settings).text);
  const { train, heldOut } = split(chars);
  const vocabulary = Vocabulary.fromCounts(countTokens([train]));
  const V = vocabulary.size;
  const trainIds = vocabulary.encode(train);
  const heldOutIds = vocabulary.encode(heldOut);
  const strips = batchify(trainIds, s.batchSize);
  // The held-out text in a few long strips, read with the state carried: bpc of (almost) every character.
  const heldOutStrips = batchify(heldOutIds, Math.max(1, Math.min(8, Math.floor(heldOutIds.length / 200))));
  const model = new SequenceModel({
    cell: "lstm", vocabSize: V, embeddingDim: s.embeddingDim, hiddenSize: s.hiddenSize, outputSize: V, objective: "classes",
    seed: job.seed, init: { forgetGateBias: 1 },
  });
  const trainer = new Trainer(model, createOptimizer("adam", model.parameters(), { lr: s.learningRate }), { k1: K, k2: K, clipNorm: 5 });
  const heldOutBpc = (): number => evaluate(model, languageModelBatches(heldOutStrips, { bptt: 100 })).bitsPerToken ?? NaN;

  // Each pass over the strips starts at a seeded random offset, so passes do not repeat the same cuts.
  const offsetRng = new Rng(job.seed);
  const curve: CharRnnResult["curve"] = [{ update: 0, characters: 0, seconds: 0, bpc: heldOutBpc() }];
  let trainingSeconds = 0;
  let updates = 0;
  while (updates < s.updates) {
    const offset = offsetRng.int(K);
    const pass = batchify(trainIds.subarray(offset * s.batchSize), s.batchSize);
    for (const batch of languageModelBatches(pass.L > 1 ? pass : strips, { bptt: K })) {
      const started = performance.now();
      trainer.trainBatch(batch);
      trainingSeconds += (performance.now() - started) / 1000;
      updates = trainer.updateCount;
      if (updates % s.evalEvery === 0 || updates === s.updates) {
        curve.push({ update: updates, characters: updates * K * s.batchSize, seconds: trainingSeconds, bpc: heldOutBpc() });
      }
      if (updates >= s.updates) break;
    }
  }

  const tokens = vocabulary.toJSON();
  const knownWords = new Set(train.join("").split(/[^\p{L}']+/u).filter(Boolean));
  // The prime sets the state: the held-out text up to its first line end (at most 400 characters), so a
  // sample starts where a new line starts rather than from the zero state, which training saw only mid-text.
  const lineEnd = heldOut.indexOf("\n");
  const prime = heldOutIds.subarray(0, lineEnd >= 0 && lineEnd < 400 ? lineEnd + 1 : Math.min(50, heldOutIds.length));
  const samples = TEMPERATURES.map((temperature) => {
    const stepper = new Stepper(model);
    const sampler = new Sampler(V, { temperature, topK: 0, rng: new Rng(job.seed * 7919 + Math.round(temperature * 100)), excluded: [PAD_ID, UNK_ID] });
    let logits = stepper.feed(prime, false);
    const out: string[] = [];
    for (let n = 0; n < s.sampleLength; n++) {
      const id = sampler.sample(logits);
      out.push(tokens[id]!);
      logits = stepper.stepToken(id);
    }
    const text = out.join("");
    const words = text.split(/[^\p{L}']+/u).filter(Boolean);
    return { temperature, text, knownWords: words.length ? words.filter((w) => knownWords.has(w)).length / words.length : NaN };
  });

  return {
    curve, finalBpc: curve[curve.length - 1]!.bpc, unigramBpc: unigramBitsPerCharacter(trainIds, heldOutIds, V), vocabularySize: V,
    trainCharacters: train.length, heldOutCharacters: heldOut.length, parameters: model.parameterCount, samples,
  };
}

/** "37% fewer bits" or "12% more bits". */
function gain(bpc: number, baseline: number): string {
  const change = (1 - bpc / baseline) * 100;
  return change >= 0 ? `${change.toFixed(0)}% fewer bits` : `${(-change).toFixed(0)}% more bits`;
}

function sorted(runs: readonly JobRun<CharRnnResult>[]): JobRun<CharRnnResult>[] {
  return [...runs].sort((a, b) => a.job.seed - b.job.seed);
}

async function report(settings: ExperimentSettings, runs: JobRun<CharRnnResult>[], context: ReportContext) {
  const s = SETTINGS[settings.scale];
  const ordered = sorted(runs);
  const results = ordered.map((r) => r.result);
  const first = results[0]!;
  const source = settings.data ? `\`${settings.data.name}\`` : `the built-in grammar corpus (${first.trainCharacters + first.heldOutCharacters} characters, generator seed ${CORPUS_SEED})`;
  const final = results.map((r) => r.finalBpc);
  const unigram = first.unigramBpc;
  const halfway = (r: CharRnnResult): number => r.curve.find((p) => p.bpc <= (unigram + r.finalBpc) / 2)?.update ?? r.curve[r.curve.length - 1]!.update;

  const curveRows = ordered.flatMap((run) => run.result.curve.map((p) => ({ seed: `seed ${run.job.seed}`, update: p.update, seconds: p.seconds, bpc: p.bpc })));
  const baselineRows = [0, s.updates].map((update) => ({ seed: "unigram baseline", update, bpc: unigram }));
  const points = first.curve.map((p, i) => [
    String(p.update), String(p.characters), mean(ordered.map((r) => r.result.curve[i]!.seconds)).toFixed(1),
    spread(results.map((r) => r.curve[i]!.bpc)),
  ]);
  const sampleBlocks = ordered.flatMap((run) => run.result.samples.map((sample) => [
    `**Seed ${run.job.seed}, temperature ${sample.temperature}** (${Number.isFinite(sample.knownWords) ? `${(sample.knownWords * 100).toFixed(0)}% of its words occur in the training text` : "no words"}):`,
    "",
    "```text",
    sample.text,
    "```",
    "",
  ].join("\n")));

  const markdown = [
    "# char-rnn: a character language model, TBPTT(k1 = k2 = 25)",
    "",
    `Text: ${source}, split 90/10 into ${first.trainCharacters} training and ${first.heldOutCharacters} held-out characters; ${first.vocabularySize} symbols (with <pad> and <unk>).`,
    "",
    "## Finding",
    "",
    `After ${s.updates} updates (${(s.updates * K * s.batchSize).toLocaleString("en-US")} training characters, ${mean(ordered.map((r) => r.result.curve[r.result.curve.length - 1]!.seconds)).toFixed(0)} s of training per run) ` +
      `the held-out bits per character are ${spread(final)} (mean ± sd over ${results.length} seed${results.length === 1 ? "" : "s"}), ` +
      `against ${unigram.toFixed(3)} for a unigram model of the character frequencies: ${gain(mean(final), unigram)}. ` +
      (mean(final) < unigram
        ? `Half of that gain was reached after ${results.map(halfway).join(", ")} updates (per seed). `
        : "The model did not beat the unigram baseline at these settings. ") +
      `At temperature 0.5, ${(mean(results.map((r) => r.samples[0]!.knownWords)) * 100).toFixed(0)}% of the sampled words occur in the training text; at 1.0, ${(mean(results.map((r) => r.samples[1]!.knownWords)) * 100).toFixed(0)}%.`,
    "",
    "## Held-out bits per character",
    "",
    table(["updates", "training characters", "training seconds", "held-out bpc"], points),
    "",
    `Unigram baseline: ${unigram.toFixed(3)} bpc. Training seconds exclude the held-out evaluations and depend on the machine and its load.`,
    "",
    "![bpc against updates](bpc.svg)",
    "",
    "![bpc against training time](bpc-time.svg)",
    "",
    "## Samples",
    "",
    `${s.sampleLength} characters each, drawn one at a time from softmax(logits / temperature) with the library's Sampler, after the model has read the held-out text up to its first line end.`,
    "",
    ...sampleBlocks,
    "## Settings",
    "",
    `LSTM, hidden size ${s.hiddenSize}, character embedding ${s.embeddingDim}, ${first.parameters} parameters, forget-gate bias 1; ` +
      `${describeSchedule({ k1: K, k2: K })}: batches of ${s.batchSize} strips × ${K} characters, the state carried between batches, one update per batch; ` +
      `each pass over the training text starts at a random offset (0–${K - 1}) so the cuts move; Adam lr ${s.learningRate}, gradient norm clipped to 5; ` +
      `${s.updates} updates, held-out bpc every ${s.evalEvery}; seeds ${settings.seeds.join(", ")}.`,
    "",
    provenance(context),
    "",
  ].join("\n");

  return {
    markdown,
    data: { experiment: "char-rnn", text: settings.data ? settings.data.name : "built-in", settings: { ...s, k1: K, k2: K, seeds: settings.seeds, scale: settings.scale },
      runs: ordered.map((r) => ({ seed: r.job.seed, seconds: r.seconds, ...r.result })) },
    files: {
      "bpc.svg": await lineChart({
        title: "Held-out bits per character", rows: [...curveRows, ...baselineRows],
        x: { field: "update", title: "updates" }, y: { field: "bpc", title: "bits per character" }, color: { field: "seed", title: "" },
      }),
      "bpc-time.svg": await lineChart({
        title: "Held-out bits per character against training time", rows: curveRows,
        x: { field: "seconds", title: "training seconds (loaded 2-core machine)" }, y: { field: "bpc", title: "bits per character" }, color: { field: "seed", title: "" },
      }),
    },
  };
}

export const charRnn: Experiment<CharRnnResult> = {
  name: "char-rnn",
  title: "a character language model with TBPTT(k1 = k2 = 25): held-out bits per character and samples",
  seedsFor: (scale) => (scale === "smoke" ? 1 : 2),
  plan: (settings) => settings.seeds.map((seed) => ({ arm: "lstm", seed })),
  run: runJob,
  describe: (run) => `seed ${run.job.seed}: held-out ${run.result.finalBpc.toFixed(3)} bpc (unigram ${run.result.unigramBpc.toFixed(3)})`,
  report,
};
