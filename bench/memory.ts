/**
 * Memory against stream length: TBPTT keeps only O(k2) steps of activations, so a language model
 * reading an ever longer stream must train in constant memory.
 *
 *   npm run build && node dist/bench/memory.js [--lengths 100000,1000000,10000000] [--k1 35] [--k2 70]
 *
 * Each length runs in its own child process (a clean heap), which trains a small LSTM language model
 * on a synthetic token stream generated on the fly (never held whole), served as continuing batches,
 * and reports its peak resident set size and the V8 heap in use at the end.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createOptimizer } from "../src/optim/index.js";
import { Rng } from "../src/tensor/rng.js";
import type { Batch } from "../src/train/batch.js";
import { SequenceModel } from "../src/train/model.js";
import { Trainer } from "../src/train/trainer.js";

const { values } = parseArgs({
  options: {
    lengths: { type: "string", default: "100000,1000000,10000000" },
    k1: { type: "string", default: "35" },
    k2: { type: "string", default: "70" },
    child: { type: "string" },
  },
});
const k1 = Number(values.k1);
const k2 = Number(values.k2);
const B = 64;
const V = 32;

/** A synthetic stream: each token is the previous one plus a small random step (mod V), so it is learnable. */
function* stream(tokens: number, rng: Rng): Generator<Batch> {
  const T = k1;
  const previous = new Int32Array(B);
  for (let done = 0, first = true; done < tokens; done += T * B, first = false) {
    const steps = Math.min(T, Math.ceil((tokens - done) / B));
    const ids = new Int32Array(steps * B);
    const stepTargets = new Int32Array(steps * B);
    for (let t = 0; t < steps; t++) {
      for (let b = 0; b < B; b++) {
        ids[t * B + b] = previous[b]!;
        previous[b] = (previous[b]! + 1 + rng.int(2)) % V;
        stepTargets[t * B + b] = previous[b]!;
      }
    }
    yield { T: steps, B, ids, stepTargets, continues: !first };
  }
}

if (values.child !== undefined) {
  const tokens = Number(values.child);
  const rng = new Rng(1);
  const model = new SequenceModel({ cell: "lstm", vocabSize: V, embeddingDim: 8, hiddenSize: 16, outputSize: V, objective: "classes", seed: 1 });
  const trainer = new Trainer(model, createOptimizer("adam", model.parameters(), { lr: 0.01 }), { k1, k2, clipNorm: 5 });
  const started = performance.now();
  const result = trainer.trainEpoch(stream(tokens, rng));
  const seconds = (performance.now() - started) / 1000;
  const rssMiB = process.resourceUsage().maxRSS / 1024;
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  const window = (trainer as unknown as { window: Array<{ T: number }> }).window.reduce((n, s) => n + s.T, 0);
  console.log(JSON.stringify({ tokens, seconds, rssMiB, heapMiB, keptSteps: window, loss: result.lossSum / result.lossTerms, updates: result.updates }));
} else {
  const script = fileURLToPath(import.meta.url);
  console.log(`TBPTT(k1=${k1}, k2=${k2}), LSTM H=16, B=${B}, V=${V}; one child process per stream length`);
  console.log("tokens       seconds  peak RSS (MiB)  heap at end (MiB)  kept steps  final loss");
  for (const length of values.lengths!.split(",").map(Number)) {
    const child = spawnSync(process.execPath, [script, "--child", String(length), "--k1", String(k1), "--k2", String(k2)], { encoding: "utf8" });
    if (child.status !== 0) throw new Error(child.stderr);
    const r = JSON.parse(child.stdout) as { tokens: number; seconds: number; rssMiB: number; heapMiB: number; keptSteps: number; loss: number };
    console.log(
      `${String(r.tokens).padEnd(12)} ${r.seconds.toFixed(1).padStart(7)}  ${r.rssMiB.toFixed(1).padStart(14)}  ${r.heapMiB.toFixed(1).padStart(17)}  ${String(r.keptSteps).padStart(10)}  ${r.loss.toFixed(3)}`,
    );
  }
}
