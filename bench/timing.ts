/**
 * The timing loop the Node.js children share (bptt-worker.ts, peers/tfjs-lm.ts): warm-up, then timed
 * iterations until the count or the time budget is reached, and — when asked — what the V8 heap does.
 *
 * Each timed iteration is timed on its own with performance.now(). With `memory`:
 * - GCs during the timed iterations are counted (PerformanceObserver "gc", attributed by start time
 *   once the loop is over: the observer reports asynchronously). Nothing is forced in between.
 * - V8 heap bytes allocated per timed iteration, exactly: v8.GCProfiler records the heap in use
 *   before and after every GC, so allocated = (used at the end − used at the start) + Σ (freed by each
 *   GC), divided by the iterations (the loop's own bookkeeping, measured on an empty step, subtracted).
 *   Every typed array allocated shows here too (its JSArrayBuffer/JSTypedArray objects live on the heap).
 * - ArrayBuffer bytes (typed-array storage, outside the V8 heap) per timed iteration, by the same
 *   accounting on the external memory V8 tracks (exact when no GC ran; when one did, the ArrayBuffer
 *   sweeper may free after the profiler's "after" reading, and such bytes go uncounted).
 */
import { PerformanceObserver, constants } from "node:perf_hooks";
import { GCProfiler, getHeapStatistics } from "node:v8";
import { type MemoryReport, type WorkerSpec, median } from "./configs.js";

export interface TimedRun {
  warmup: number;
  iterations: number;
  stepMs: number[];
  medianStepMs: number;
  budgetLimited: boolean;
  cpuPerWall: number;
  /** Whatever step() returned for the first and the last iteration (a loss). */
  first: number | undefined;
  last: number | undefined;
  memory: MemoryReport | null;
  /** options.counters() read just before the first and just after the last timed iteration. */
  countersBefore: Record<string, number> | null;
  countersAfter: Record<string, number> | null;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

interface GcEntry {
  start: number;
  duration: number;
  kind: string;
}

/** External (ArrayBuffer) bytes allocated, by the same accounting on externalMemory. */
function allocatedExternal(start: number, end: number, profile: ReturnType<GCProfiler["stop"]> | undefined): number {
  let freed = 0;
  for (const s of profile?.statistics ?? []) {
    const gc = s as unknown as { beforeGC: { heapStatistics: { externalMemory: number } }; afterGC: { heapStatistics: { externalMemory: number } } };
    freed += gc.beforeGC.heapStatistics.externalMemory - gc.afterGC.heapStatistics.externalMemory;
  }
  return end - start + freed;
}

/** Bytes the V8 heap allocated between start and stop of a GCProfiler, given heapUsed at both ends. */
function allocatedBytes(usedStart: number, usedEnd: number, profile: ReturnType<GCProfiler["stop"]> | undefined): number {
  let freed = 0;
  for (const s of profile?.statistics ?? []) {
    const gc = s as unknown as { beforeGC: { heapStatistics: { usedHeapSize: number } }; afterGC: { heapStatistics: { usedHeapSize: number } } };
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
  }
  return usedEnd - usedStart + freed;
}

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs step(n) for n = 0, 1, …: at least one warm-up iteration (up to spec.warmup while the warm-up
 * has taken less than spec.budget / 2 seconds), then at least one timed one (up to spec.iterations
 * while the timed ones have taken less than spec.budget seconds).
 */
export async function timeIterations(
  spec: WorkerSpec, step: (n: number) => number | void, options: { memory: boolean; counters?: () => Record<string, number> },
): Promise<TimedRun> {
  const gcEntries: GcEntry[] = [];
  let observer: PerformanceObserver | null = null;
  if (options.memory) {
    observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1;
        gcEntries.push({ start: e.startTime, duration: e.duration, kind: GC_KINDS[kind] ?? `kind${kind}` });
      }
    });
    observer.observe({ entryTypes: ["gc"] });
  }

  let n = 0;
  let first: number | undefined;
  let last: number | undefined;
  const record = (v: number | void): void => {
    if (typeof v === "number") {
      first ??= v;
      last = v;
    }
  };

  let warmup = 0;
  let warmupTime = 0;
  do {
    const w0 = performance.now();
    record(step(n++));
    warmupTime += performance.now() - w0;
    warmup++;
  } while (warmup < spec.warmup && warmupTime < (spec.budget * 1000) / 2);

  // The loop's own allocation per iteration (timers, arrays of times), to subtract.
  let loopBytes = 0;
  if (options.memory) {
    const profiler = new GCProfiler();
    const times: number[] = [];
    const spans: Array<[number, number]> = [];
    profiler.start();
    const u0 = getHeapStatistics().used_heap_size;
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const t1 = performance.now();
      times.push(t1 - t0);
      spans.push([t0, t1]);
    }
    const u1 = getHeapStatistics().used_heap_size;
    loopBytes = Math.max(0, allocatedBytes(u0, u1, profiler.stop()) / 20);
  }
  const before = options.memory ? process.memoryUsage() : null;
  const profiler = options.memory ? new GCProfiler() : null;
  profiler?.start();
  const usedStart = options.memory ? getHeapStatistics().used_heap_size : 0;
  const extStart = options.memory ? getHeapStatistics().external_memory : 0;
  const intervals: Array<[number, number]> = [];
  const stepMs: number[] = [];
  let timedTotal = 0;
  let budgetLimited = false;
  const countersBefore = options.counters ? options.counters() : null;
  const cpuBefore = process.cpuUsage();
  for (;;) {
    const t0 = performance.now();
    const v = step(n++);
    const t1 = performance.now();
    record(v);
    stepMs.push(t1 - t0);
    intervals.push([t0, t1]);
    timedTotal += t1 - t0;
    if (stepMs.length >= spec.iterations) break;
    if (timedTotal >= spec.budget * 1000) {
      budgetLimited = true;
      break;
    }
  }
  const countersAfter = options.counters ? options.counters() : null;
  const usedEnd = options.memory ? getHeapStatistics().used_heap_size : 0;
  const extEnd = options.memory ? getHeapStatistics().external_memory : 0;
  const profile = profiler ? profiler.stop() : undefined;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuPerWall = (cpu.user + cpu.system) / 1000 / (intervals[intervals.length - 1]![1] - intervals[0]![0]);
  let memory: MemoryReport | null = null;
  if (options.memory && before && observer) {
    const after = process.memoryUsage();
    await tick(20);
    observer.disconnect();
    const begin = intervals[0]![0];
    const end = intervals[intervals.length - 1]![1];
    const gcDuringTimed: Record<string, number> = {};
    let gcMs = 0;
    for (const e of gcEntries) {
      if (e.start < begin || e.start > end) continue;
      gcDuringTimed[e.kind] = (gcDuringTimed[e.kind] ?? 0) + 1;
      gcMs += e.duration;
    }
    memory = {
      gcDuringTimed,
      gcMsDuringTimed: gcMs,
      heapBytesPerIteration: Math.max(0, allocatedBytes(usedStart, usedEnd, profile) / stepMs.length - loopBytes),
      gcProfiled: profile?.statistics.length ?? 0,
      arrayBufferBytesPerIteration: Math.max(0, allocatedExternal(extStart, extEnd, profile) / stepMs.length),
      heapUsedBefore: before.heapUsed,
      heapUsedAfter: after.heapUsed,
      arrayBuffersBefore: before.arrayBuffers,
      arrayBuffersAfter: after.arrayBuffers,
      totalHeapSize: getHeapStatistics().total_heap_size,
    };
  }
  return { warmup, iterations: stepMs.length, stepMs, medianStepMs: median(stepMs), budgetLimited, cpuPerWall, first, last, memory, countersBefore, countersAfter };
}

/** Prints the result line the harness parses. */
export function emitResult(prefix: string, result: object): void {
  process.stdout.write(`${prefix}${JSON.stringify(result)}\n`);
}
