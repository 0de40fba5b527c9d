/**
 * The per-phase profile of bptt's updates (run.ts --profile; src/kernels/profile.ts records it): after
 * its timed iterations a bptt process runs as many again with every kernel call timed, and measures the
 * GEMM's rate on the configuration's own largest product at its thread count.
 *
 *   GEMM-bound limit   = the update's GEMM operations (2·M·N·K summed over its calls) ÷ that rate
 *   achieved fraction  = limit ÷ the median update of the timed (unprofiled) iterations
 *
 * The rate is the GEMM at its best on this model's sizes: the all-steps input projection
 * (T·B × I)·(G·H × I)ᵀ, timed alone on the same backend and threads (best of a few calls). The update's
 * own products — per-step ones of B rows among them — run slower, so the fraction also says what the
 * per-step products lose against the large ones.
 */
import { type Kernels, kernels, setKernels } from "../src/kernels/index.js";
import { type Category, type Phase, type ProfileTotals, profileKernels, startProfile, stopProfile } from "../src/kernels/profile.js";
import type { BenchConfig } from "./configs.js";

/** One process's profile, per update (the profiled updates' mean). */
export interface UpdateProfile {
  /** Profiled updates. */
  iterations: number;
  /** Milliseconds per update and category. */
  ms: Record<Category, number>;
  /** Milliseconds per update and phase (kernels and JavaScript). */
  phaseMs: Record<Phase, number>;
  /** Of the kernels' time, the calling thread waiting for the others, ms per update. */
  threadsWaitingMs: number;
  /** The profiled update's wall time, ms (the clock reads included: compare with the timed median). */
  wallMs: number;
  /** GEMM operations per update (2·M·N·K). */
  gemmFlops: number;
  /** Kernel calls per update, by name. */
  calls: Record<string, number>;
  /** The reference product (M, N, K) and its rate, GFLOP/s. */
  rateShape: [number, number, number];
  gemmGflops: number;
  /** gemmFlops ÷ rate, ms; and that over the timed median update. */
  limitMs: number;
  limitFraction: number;
}

/**
 * Profiles `iterations` calls of step(n) for n from `first`, then measures the GEMM rate; the limit's
 * fraction is taken against `medianStepMs`.
 */
export function profileUpdates(
  c: BenchConfig, step: (n: number) => unknown, first: number, iterations: number, medianStepMs: number,
): UpdateProfile {
  const backend = kernels();
  setKernels(profileKernels(backend));
  let totals: ProfileTotals;
  try {
    startProfile(backend);
    for (let i = 0; i < iterations; i++) step(first + i);
    totals = stopProfile(backend);
  } finally {
    setKernels(backend);
  }
  const per = (v: number): number => v / iterations;
  const rateShape = referenceShape(c);
  const gemmGflops = gemmRate(backend, ...rateShape);
  const gemmFlops = per(totals.gemmFlops);
  const limitMs = gemmFlops / (gemmGflops * 1e6);
  return {
    iterations,
    ms: mapValues(totals.ms, per),
    phaseMs: mapValues(totals.phaseMs, per),
    threadsWaitingMs: per(totals.threadsWaitingMs),
    wallMs: per(totals.wallMs),
    gemmFlops,
    calls: mapValues(totals.calls, per),
    rateShape,
    gemmGflops,
    limitMs,
    limitFraction: limitMs / medianStepMs,
  };
}

/** The configuration's all-steps input projection: (rows, G·H, I), rows = T·B (at most 2048 for the long ones). */
export function referenceShape(c: BenchConfig): [number, number, number] {
  const gates = c.cell === "lstm" ? 4 : c.cell === "gru" ? 3 : 1;
  const rows = c.task === "sample" ? c.T : c.task.startsWith("ragged") ? 2048 : c.B * c.T;
  return [rows, gates * c.H, c.E ?? c.H];
}

/** GFLOP/s of C = A·Bᵀ, (M×K)·(N×K)ᵀ, on the backend: the best of several timed calls after a warm-up. */
export function gemmRate(k: Kernels, M: number, N: number, K: number): number {
  const a = k.allocate(M * K);
  const b = k.allocate(N * K);
  const out = k.allocate(M * N);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  for (let i = 0; i < b.length; i++) b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  const flops = 2 * M * N * K;
  const calls = Math.max(1, Math.ceil(2e8 / flops));
  let best = Infinity;
  for (let sample = 0; sample < 8; sample++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) k.gemm(false, true, M, N, K, a, 0, K, b, 0, K, false, out, 0, N);
    best = Math.min(best, (performance.now() - t0) / calls);
  }
  return flops / (best * 1e6);
}

function mapValues<K extends string>(record: Record<K, number>, f: (v: number) => number): Record<K, number> {
  return Object.fromEntries(Object.entries(record).map(([key, v]) => [key, f(v as number)])) as Record<K, number>;
}
