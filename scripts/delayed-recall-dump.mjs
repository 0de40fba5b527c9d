#!/usr/bin/env node
// Trains one model of the vanishing-gradients experiment (delayed recall, full BPTT, loss at the last
// step, Adam lr 0.005, clipNorm 1, batch 16, hidden 32, embedding 8) exactly as the experiment does, and
// writes what PyTorch needs to replay it: the initial weights (init.safetensors, PyTorch names), every
// batch (ids.bin (U, T, B) int32 time-major, targets.bin (U, B) int32) and bptt's loss and gradient norm
// per update (bptt.json). Replay with scripts/delayed_recall_in_pytorch.py OUT_DIR. Needs `npm run build`.
//
//   node scripts/delayed-recall-dump.mjs OUT_DIR [cell=lstm] [delay=32] [seed=1] [updates=2000] [forgetBias=1]
import { mkdirSync, writeFileSync } from "node:fs";
import { Adam } from "../dist/src/optim/adam.js";
import { Rng } from "../dist/src/tensor/rng.js";
import { evaluate } from "../dist/src/train/evaluate.js";
import { SequenceModel } from "../dist/src/train/model.js";
import { Trainer } from "../dist/src/train/trainer.js";
import { delayedRecallBatch, delayedRecallVocabulary } from "../dist/src/experiments/delayed-recall.js";
import { serializeSafetensors } from "../dist/src/formats/safetensors.js";
import { kernels } from "../dist/src/kernels/index.js";

const [out, cell = "lstm", delayArg = "32", seedArg = "1", updatesArg = "2000", forgetArg = "1"] = process.argv.slice(2);
if (!out) {
  console.error("usage: node scripts/delayed-recall-dump.mjs OUT_DIR [cell] [delay] [seed] [updates] [forgetBias]");
  process.exit(2);
}
const delay = Number(delayArg), seed = Number(seedArg), updates = Number(updatesArg);
const forgetGateBias = cell === "lstm" ? Number(forgetArg) : null;
const task = { symbols: 4, distractors: 4 };
const settings = { lr: 0.005, clipNorm: 1, batchSize: 16, hiddenSize: 32, embeddingDim: 8 };
// As vanishing-gradients.ts runRecall: model seed = seed, data from Rng(seed·1000 + delay).fork().
const model = new SequenceModel({
  cell, vocabSize: delayedRecallVocabulary(task), embeddingDim: settings.embeddingDim, hiddenSize: settings.hiddenSize,
  outputSize: task.symbols, objective: "classes", seed, ...(forgetGateBias !== null ? { init: { forgetGateBias } } : {}),
});
mkdirSync(out, { recursive: true });
writeFileSync(`${out}/init.safetensors`, serializeSafetensors(model.stateDict()));
const rng = new Rng(seed * 1000 + delay);
const losses = [];
const gradNorms = [];
const trainer = new Trainer(model, new Adam(model.parameters(), { lr: settings.lr }), {
  mode: "full", lossAt: "last-step", clipNorm: settings.clipNorm,
  onUpdate: (info) => { losses.push(info.lossSum / info.lossTerms); gradNorms.push(info.gradNorm); },
});
const data = rng.fork();
const T = delay + 1, B = settings.batchSize;
const ids = new Int32Array(updates * T * B);
const targets = new Int32Array(updates * B);
for (let u = 0; u < updates; u++) {
  const batch = delayedRecallBatch(data, { ...task, delay, batchSize: B });
  ids.set(batch.ids, u * T * B);
  targets.set(batch.sequenceTargets, u * B);
  trainer.trainBatch(batch);
}
const accuracy = evaluate(model, [delayedRecallBatch(rng.fork(), { ...task, delay, batchSize: 500 })], { lossAt: "last-step" }).accuracy;
writeFileSync(`${out}/ids.bin`, ids);
writeFileSync(`${out}/targets.bin`, targets);
writeFileSync(`${out}/bptt.json`, JSON.stringify({ cell, delay, seed, updates, forgetGateBias, ...settings, losses, gradNorms, accuracy }));
console.log(`${kernels().name}: ${cell} delay ${delay} seed ${seed}: test accuracy ${(accuracy * 100).toFixed(1)}% after ${updates} updates; wrote ${out}`);
