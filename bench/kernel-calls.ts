/**
 * Per-call overhead of the fast backends' glue (argument checks, addresses, the N-API or wasm call), on
 * the smallest shapes a model calls them with — B = 1 sampling steps, a one-row GEMM — where that
 * overhead is a visible share of the call:
 *
 *   npm run build && node dist/bench/kernel-calls.js [--rounds 7] [--calls 200000]
 *
 * Each round times `calls` calls of each kernel on each backend (one thread) by the process's CPU time
 * (which, unlike the wall clock, leaves out time spent descheduled on a busy machine), rounds
 * alternating so that a noisy neighbour hits every column alike; the table gives the median ns per
 * call over the rounds. Timings on a shared machine are indicative only.
 */
import { parseArgs } from "node:util";
import { type Kernels, createWasmKernelsSync } from "../src/kernels/index.js";
import { createNativeKernels } from "../src/native/index.js";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "7" }, calls: { type: "string", default: "200000" } },
});
const rounds = Number(values.rounds);
const calls = Number(values.calls);

const backends: Kernels[] = [createWasmKernelsSync({ threads: 1 })];
try {
  backends.push(createNativeKernels({ threads: 1 }));
} catch (error) {
  console.log(`(${(error as Error).message})`);
}

/** One kernel call on small arrays of `k`, prepared once. */
type Case = { label: string; prepare(k: Kernels): () => void };

const H = 8;
const CASES: Case[] = [
  {
    label: "gemm 1×8·8×8",
    prepare: (k) => {
      const a = k.allocate(8), b = k.allocate(64), c = k.allocate(8);
      return () => k.gemm(false, true, 1, 8, 8, a, 0, 8, b, 0, 8, false, c, 0, 8);
    },
  },
  {
    label: "addRowVector 1×8",
    prepare: (k) => {
      const c = k.allocate(8), bias = k.allocate(8);
      return () => k.addRowVector(1, 8, c, 0, bias, 0);
    },
  },
  {
    label: "lstmStepForward B=1 H=8",
    prepare: (k) => {
      const g = k.allocate(4 * H), s = k.allocate(H), h = k.allocate(H), c = k.allocate(H), out = k.allocate(H);
      return () => k.lstmStepForward(1, H, g, 0, s, 0, s, 0, null, 0, c, 0, h, 0, out, 0);
    },
  },
  {
    label: "gruStepBackward B=1 H=8",
    prepare: (k) => {
      const g = k.allocate(3 * H), hg = k.allocate(3 * H), s = k.allocate(H), dh = k.allocate(H);
      const dx = k.allocate(3 * H), dhg = k.allocate(3 * H);
      return () => k.gruStepBackward(1, H, g, 0, hg, 0, s, 0, s, 0, null, 0, dh, 0, dx, 0, dhg, 0);
    },
  },
  {
    label: "gatherRows N=1 D=8",
    prepare: (k) => {
      const table = k.allocate(64), ids = k.allocateIndices(1), out = k.allocate(8);
      return () => k.gatherRows(1, 8, 8, table, 0, ids, 0, out, 0);
    },
  },
  {
    label: "softmaxCrossEntropy 1×8",
    prepare: (k) => {
      const z = k.allocate(8), t = k.allocateIndices(1), d = k.allocate(8);
      return () => void k.softmaxCrossEntropy(1, 8, z, 0, t, 0, null, 0, -100, 1, d, 0);
    },
  },
  {
    label: "adamStep n=8",
    prepare: (k) => {
      const p = k.allocate(8), g = k.allocate(8), m = k.allocate(8), v = k.allocate(8);
      return () => k.adamStep(8, p, 0, g, 0, m, 0, v, 0, null, 0, 0.9, 0.999, 1e-8, 1e-3, 1, 0, 1);
    },
  },
];

const samples = new Map<string, number[]>();
const prepared = CASES.map((c) => backends.map((k) => ({ key: `${c.label}|${k.name}`, call: c.prepare(k) })));
for (const row of prepared) for (const { call } of row) for (let i = 0; i < 20000; i++) call(); // warm up
for (let r = 0; r < rounds; r++) {
  for (const row of prepared) {
    for (const { key, call } of row) {
      const start = process.cpuUsage();
      for (let i = 0; i < calls; i++) call();
      const used = process.cpuUsage(start);
      const ns = ((used.user + used.system) * 1000) / calls;
      samples.set(key, [...(samples.get(key) ?? []), ns]);
    }
  }
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
console.log(`CPU ns per call, median of ${rounds} rounds of ${calls} calls (indicative on a shared machine)`);
console.log(["kernel".padEnd(26), ...backends.map((k) => k.name.padStart(12))].join(""));
for (const c of CASES) {
  console.log([c.label.padEnd(26), ...backends.map((k) => median(samples.get(`${c.label}|${k.name}`)!).toFixed(0).padStart(12))].join(""));
}
