/**
 * One benchmark process for bptt (started by run.ts, one per configuration and round):
 *
 *   node dist/bench/bptt-worker.js --spec '<WorkerSpec as JSON>'
 *
 * Trains the configuration's model (see configs.ts) with bptt's public pieces — SequenceModel,
 * Trainer (TBPTT k1 = k2 = T, clipNorm 5; lossAt "last-step" for cls) and createOptimizer("adam") —
 * on the shared synthetic data, and times whole updates (forward, loss, backward, clipping, Adam) with
 * timing.ts, which also records GCs and heap growth during the timed iterations: the "allocates
 * nothing after the first chunk" goal reads as heap and ArrayBuffer growth ≈ 0 per iteration and no GC.
 *
 * Ragged (real text lengths): an epoch of padded batches with masks, through Trainer.trainEpoch
 * (mode full, or TBPTT(∞, k2)) or evaluate(), which pack them (src/train/layout.ts); the result also
 * gives the peak resident set size, the resident set before the model existed, and the bytes the run
 * must hold (requiredBytes).
 *
 * Sampling: the library's Stepper and Sampler (src/cli/inference.ts, the code behind `bptt generate`):
 * one token at a time, B = 1, temperature 1, each drawn token fed back.
 *
 * Backend: spec.backend (or BPTT_BACKEND, which the harness also sets) picks the kernels through the
 * library's own selection (BPTT_BACKEND = auto | reference | wasm, read on the first kernels() call);
 * another name is looked up in src/kernels/<name>.js (an exported Kernels object, or a function
 * returning or resolving to one). The result reports kernels().name (e.g. "wasm-simd"). Threads:
 * BPTT_THREADS is set by the harness for a backend that reads it; the result reports the threads the
 * backend says it uses (kernels().threads, 1 if it does not say).
 */
import { parseArgs } from "node:util";
import { installNodeThreads } from "../src/io/worker-threads.js";
import { Rng } from "../src/tensor/rng.js";
import { type Kernels, kernels, referenceKernels, setKernels } from "../src/kernels/index.js";
import { useNativeBackend } from "../src/native/index.js";
import { createOptimizer } from "../src/optim/index.js";
import type { Batch } from "../src/train/batch.js";
import { SequenceModel } from "../src/train/model.js";
import { Trainer } from "../src/train/trainer.js";
import { evaluate } from "../src/train/evaluate.js";
import { RESULT_PREFIX, type WorkerResult, type WorkerSpec, chunkData, raggedBatches } from "./configs.js";
import { profileUpdates } from "./profile.js";
import { emitResult, timeIterations } from "./timing.js";

function isKernels(value: unknown): value is Kernels {
  return typeof value === "object" && value !== null && typeof (value as Kernels).gemm === "function" && typeof (value as Kernels).name === "string";
}

/**
 * Makes `name` the active backend, or throws saying what is available. The library picks its backend
 * on the first kernels() call from BPTT_BACKEND ("auto", "reference", "wasm"), so that is tried
 * first; a name it does not know is looked up in src/kernels/<name>.js.
 */
export async function selectBackend(name: string | undefined): Promise<string> {
  useNativeBackend(); // as bptt/node and the CLI: "auto" prefers native where it is built
  if (name) process.env.BPTT_BACKEND = name;
  let active: string | null = null;
  let refusal = "";
  try {
    active = kernels().name;
  } catch (error) {
    refusal = (error as Error).message;
  }
  if (active !== null && (!name || name === "auto" || active === name || active.startsWith(name))) return active;
  if (name === "reference") {
    setKernels(referenceKernels);
    return kernels().name;
  }
  if (!name) throw new Error(refusal);
  if (!/^[a-z0-9-]+$/.test(name)) throw new RangeError(`backend name ${JSON.stringify(name)}: expected letters, digits and dashes`);
  const tried: string[] = [];
  for (const file of [`${name}.js`, `${name}-kernels.js`, `${name}/index.js`]) {
    const url = new URL(`../src/kernels/${file}`, import.meta.url);
    let module: Record<string, unknown>;
    try {
      module = (await import(url.href)) as Record<string, unknown>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && String((error as Error).message).includes(file)) {
        tried.push(`src/kernels/${file}`);
        continue;
      }
      throw error;
    }
    // An exported Kernels object, or a factory (sync or async) that returns one.
    const candidates: Kernels[] = [];
    for (const value of Object.values(module)) if (isKernels(value)) candidates.push(value);
    if (candidates.length === 0) {
      for (const [key, value] of Object.entries(module)) {
        if (typeof value === "function" && /^(create|load|init|make|get)/i.test(key) && value.length === 0) {
          const made: unknown = await (value as () => unknown)();
          if (isKernels(made)) candidates.push(made);
        }
      }
    }
    const chosen = candidates.find((k) => k.name === name) ?? candidates.find((k) => k.name.startsWith(name)) ?? candidates[0];
    if (chosen) {
      setKernels(chosen);
      return kernels().name;
    }
    tried.push(`src/kernels/${file} (no Kernels export)`);
  }
  throw new Error(`bptt backend ${JSON.stringify(name)} is not available (${refusal ? `${refusal}; ` : ""}looked for ${tried.join(", ")}); the built-in one is "reference"`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { spec: { type: "string" } } });
  if (!values.spec) throw new Error("usage: bptt-worker.js --spec '<json>'");
  const spec = JSON.parse(values.spec) as WorkerSpec;
  const c = spec.config;
  installNodeThreads(); // wasm-simd's GEMM threads (BPTT_THREADS, default every core), as `bptt/node` does
  const backend = await selectBackend(spec.backend ?? process.env.BPTT_BACKEND);
  const k = kernels();
  await k.threadsReady?.();
  const threads = k.threads ?? 1;

  const ragged = c.task === "ragged" || c.task === "ragged-eval";
  const raggedData = ragged ? raggedBatches(c) : [];
  const baselineRssBytes = process.memoryUsage.rss();
  const model = new SequenceModel({
    cell: c.cell, vocabSize: c.V, embeddingDim: c.E ?? c.H, hiddenSize: c.H, numLayers: c.L,
    outputSize: c.task === "cls" || ragged ? c.classes! : c.V, objective: "classes", seed: c.seed,
  });
  let step: (n: number) => number;
  let note: string | undefined;
  let tokensFed = 0;
  let requiredBytes: number | undefined;
  if (ragged) {
    const batches: Batch[] = raggedData.map((b) => ({ T: b.T, B: b.B, ids: b.ids, mask: b.mask, sequenceTargets: b.labels }));
    const realTokens = raggedData.reduce((n, b) => n + b.lengths.reduce((x, y) => x + y, 0), 0);
    // What a run must hold: parameters, gradients and Adam's two moments (4 floats per parameter), and
    // the saved activations per real token kept for backward — x (E), the gates (4H), c, h_{t−1} and
    // the output (H each) — over the largest batch's real tokens (full BPTT) or each row's last k2 tokens.
    const perToken = (c.E ?? c.H) + 7 * c.H;
    const largest = Math.max(...raggedData.map((b) => b.lengths.reduce((x, y) => x + y, 0)));
    const kept = c.k2 !== undefined ? c.B * c.k2 : largest;
    requiredBytes = 4 * (4 * model.parameterCount + (c.task === "ragged" ? kept * perToken : 0));
    if (c.task === "ragged-eval") {
      step = () => {
        const e = evaluate(model, batches, { lossAt: "last-step" });
        tokensFed = realTokens;
        return e.loss;
      };
      note = "evaluate() over the epoch's batches";
    } else {
      const schedule = c.k2 !== undefined ? { k1: Infinity, k2: c.k2 } : { mode: "full" as const };
      const trainer = new Trainer(model, createOptimizer("adam", model.parameters(), { lr: c.lr }), {
        ...schedule, clipNorm: c.clipNorm, lossAt: "last-step",
      });
      step = () => {
        const r = trainer.trainEpoch(batches);
        tokensFed = r.tokens; // the trainer's own count of the real tokens it trained on (the harness checks it)
        if (r.updates !== batches.length || r.lossTerms !== c.lengths!.length) {
          throw new Error(`bptt-worker: expected ${batches.length} updates over ${c.lengths!.length} texts, got ${r.updates} over ${r.lossTerms}`);
        }
        return r.lossSum / r.lossTerms;
      };
      note = `Trainer.trainEpoch, ${c.k2 !== undefined ? `TBPTT(∞, ${c.k2})` : "full BPTT"}, loss at each text's last token`;
    }
  } else if (c.task === "sample") {
    const { Sampler, Stepper } = await import("../src/cli/inference.js");
    const stepper = new Stepper(model);
    const sampler = new Sampler(c.V, { temperature: 1, topK: 0, rng: new Rng(c.seed) });
    let id = 0;
    step = () => {
      stepper.reset();
      let generated = 0;
      for (let i = 0; i < c.T; i++, generated++) id = sampler.sample(stepper.stepToken(id));
      tokensFed = generated;
      return id;
    };
    note = "Stepper.stepToken + Sampler.sample (src/cli/inference.ts)";
  } else {
    const trainer = new Trainer(model, createOptimizer("adam", model.parameters(), { lr: c.lr }), {
      k1: c.T, k2: c.T, clipNorm: c.clipNorm, lossAt: c.task === "cls" ? "last-step" : "every-step",
    });
    // All the data of the run, generated before timing; iterations past it cycle (the lm stream then
    // jumps back, which costs nothing and changes nothing about the work done).
    const chunks = Math.max(1, Math.min(spec.warmup + spec.iterations, 64));
    const batches: Batch[] = [];
    for (let n = 0; n < chunks; n++) {
      const d = chunkData(c, n);
      batches.push(
        c.task === "cls"
          ? { T: c.T, B: c.B, ids: d.ids, sequenceTargets: d.targets }
          : { T: c.T, B: c.B, ids: d.ids, stepTargets: d.targets, continues: n > 0 },
      );
    }
    step = (n) => {
      const batch = batches[n % chunks]!;
      if (n >= chunks && c.task === "lm") batch.continues = true;
      const r = trainer.trainBatch(batch);
      tokensFed = batch.ids!.length;
      // Every step of every row carries a loss (lm), or the last step of every row (cls).
      if (r.lossTerms !== (c.task === "cls" ? c.B : c.B * c.T) || r.updates !== 1) {
        throw new Error(`bptt-worker: expected one update over ${c.task === "cls" ? c.B : c.B * c.T} loss terms, got ${r.updates} over ${r.lossTerms}`);
      }
      return r.lossSum / r.lossTerms;
    };
  }
  // The wasm backend's own allocator and its count of calls that had to copy (kernels().memoryInUse,
  // slowCalls): allocation there is invisible to V8's statistics.
  const counters = (): Record<string, number> => {
    const out: Record<string, number> = {};
    if (k.memoryInUse) out.kernelBytes = k.memoryInUse();
    if (k.slowCalls) {
      const slow = k.slowCalls();
      out.copiedCalls = slow.copied;
      out.referenceCalls = slow.reference;
    }
    return out;
  };
  const run = await timeIterations(spec, step, { memory: true, counters });
  if (run.memory && run.countersBefore && run.countersAfter) {
    const before = run.countersBefore;
    const after = run.countersAfter;
    if ("kernelBytes" in after) {
      run.memory.kernelBytesPerIteration = (after.kernelBytes! - before.kernelBytes!) / run.iterations;
      run.memory.kernelBytesInUse = after.kernelBytes!;
    }
    if ("copiedCalls" in after) {
      run.memory.slowCallsPerIteration = (after.copiedCalls! - before.copiedCalls! + after.referenceCalls! - before.referenceCalls!) / run.iterations;
    }
  }
  const profile = spec.profile ? profileUpdates(c, step, run.warmup + run.iterations, run.iterations, run.medianStepMs) : null;
  const result: WorkerResult = {
    system: "bptt",
    config: c.name,
    threads,
    warmup: run.warmup,
    iterations: run.iterations,
    stepMs: run.stepMs,
    medianStepMs: run.medianStepMs,
    tokensPerSec: c.tokensPerIteration / (run.medianStepMs / 1000),
    tokensFed,
    budgetLimited: run.budgetLimited,
    cpuPerWall: run.cpuPerWall,
    env: {
      node: process.version,
      v8: process.versions.v8,
      backend,
      threads,
      requestedThreads: spec.threads,
      parameters: model.parameterCount,
    },
    ...(c.task !== "sample" ? { firstLoss: run.first, lastLoss: run.last } : {}),
    ...(run.memory ? { memory: run.memory } : {}),
    ...(note ? { note } : {}),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    baselineRssBytes,
    ...(requiredBytes !== undefined ? { requiredBytes } : {}),
    ...(profile ? { profile } : {}),
  };
  emitResult(RESULT_PREFIX, result);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  main().catch((error: unknown) => {
    process.stderr.write(`bptt-worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
