/**
 * One small training run written against the public API only, run unchanged in Node.js and in a
 * browser (browser.test.ts): the isomorphic core's promise, and its determinism, checked end to end.
 * It receives the library's module rather than importing it, so the same file loads in both places.
 */
import type * as Bptt from "../../src/index.js";

export interface ScenarioResult {
  backend: string;
  threads: number;
  /** Mean training loss of each epoch. */
  losses: number[];
  /** Held-out accuracy after training. */
  accuracy: number;
  /** Greedy continuation of a prime, as token ids (the inference path). */
  generated: number[];
}

export async function scenario(m: typeof Bptt): Promise<ScenarioResult> {
  const k = await m.useBestKernels();
  await k.threadsReady?.();
  const rng = new m.Rng(7);
  const train = m.sentimentTexts(rng, { count: 256, length: 24, minLength: 8 });
  const test = m.sentimentTexts(rng, { count: 64, length: 24 });
  const model = new m.SequenceModel({
    cell: "lstm", vocabSize: train.vocabulary.length, embeddingDim: 8, hiddenSize: 16,
    outputSize: 2, objective: "classes", seed: 7, init: { forgetGateBias: 1 },
  });
  const optimizer = m.createOptimizer("adam", model.parameters(), { lr: 0.02 });
  // TBPTT(k1 = ∞, k2 = 12): the gradient truncated inside each text; the label is in its first words.
  const trainer = new m.Trainer(model, optimizer, { k1: Infinity, k2: 12, lossAt: "last-step", clipNorm: 5 });
  const losses: number[] = [];
  for (let epoch = 0; epoch < 4; epoch++) {
    const result = trainer.trainEpoch(m.classificationBatches(train.texts, train.labels, { batchSize: 32, shuffle: rng }));
    losses.push(result.lossSum / result.lossTerms);
  }
  const held = m.evaluate(model, m.classificationBatches(test.texts, test.labels, { batchSize: 64 }), { lossAt: "last-step" });
  const stepper = new m.Stepper(model);
  let id = train.texts[0]![0]!;
  const generated: number[] = [];
  for (let i = 0; i < 8; i++) {
    const logits = stepper.stepToken(id);
    id = logits.indexOf(Math.max(...logits));
    generated.push(id);
  }
  return { backend: k.name, threads: m.kernelsInfo().threads, losses, accuracy: held.accuracy ?? NaN, generated };
}
