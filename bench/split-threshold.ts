/**
 * Where splitting a GEMM across 2 threads starts to pay: wall-clock time per call of the per-step
 * product h·W_hhᵀ, (B×H)·(4H×H)ᵀ, B = 32, for growing H, on 1 and 2 threads (every product split).
 *
 *   npm run build && node dist/bench/split-threshold.js [--runs 31]
 *
 * Each sample times a burst of calls; the table gives the median µs per call and the ratio. The
 * workers poll between calls (as between the steps of a chunk), so this is the best case of dispatch.
 */
import { parseArgs } from "node:util";
import { nodeThreadSpawner } from "../src/io/worker-threads.js";
import { type WasmKernels, createWasmKernelsSync } from "../src/kernels/index.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "31" } } });
const runs = Number(values.runs);

const one = createWasmKernelsSync({ threads: 1 });
const two = createWasmKernelsSync({ threads: 2, spawner: nodeThreadSpawner, minSplitFlops: 0 });
await two.threadsReady();

function perCall(k: WasmKernels, M: number, N: number, K: number): number {
  const A = k.allocate(M * K).fill(0.5);
  const B = k.allocate(N * K).fill(0.25);
  const C = k.allocate(M * N);
  const reps = Math.max(4, Math.round(2e7 / (2 * M * N * K)));
  const call = (): void => k.gemm(false, true, M, N, K, A, 0, K, B, 0, K, false, C, 0, N);
  for (let i = 0; i < reps; i++) call();
  const samples: number[] = [];
  for (let s = 0; s < runs; s++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) call();
    samples.push(((performance.now() - t0) * 1000) / reps);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

console.log(`h·W_hhᵀ, B = 32, median of ${runs} samples, wall clock; threads: ${two.threads}`);
console.log("   H   MFLOP   1 thread µs   2 threads µs   speed-up   blocks on the worker");
for (const H of [16, 24, 32, 48, 64, 96, 128, 192, 256]) {
  const M = 32;
  const N = 4 * H;
  const K = H;
  const t1 = perCall(one, M, N, K);
  const before = two.splitBlocks();
  const t2 = perCall(two, M, N, K);
  const after = two.splitBlocks();
  const share = (after.onWorkers - before.onWorkers) / Math.max(1, after.blocks - before.blocks);
  const mflop = (2 * M * N * K) / 1e6;
  console.log(`${String(H).padStart(4)} ${mflop.toFixed(3).padStart(7)} ${t1.toFixed(1).padStart(13)} ${t2.toFixed(1).padStart(14)} ${(t1 / t2).toFixed(2).padStart(10)} ${(100 * share).toFixed(0).padStart(12)}%`);
}
