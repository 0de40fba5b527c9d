/**
 * Where a training update's time goes: a wrapper around a kernel backend that times every kernel call
 * and files it under a category, from the kernel's name and the phase of the update its caller is in.
 *
 * Phases are set by the layers around what they do (`enterPhase`, a few times per layer and chunk,
 * never per step): the embedding, the input projection, the recurrence, the weight gradients, the
 * head and loss, clipping, the optimizer. A GEMM is an input GEMM, a recurrent GEMM, a weight-gradient
 * GEMM or the head's by the phase it runs in; a step kernel is a gate kernel, forward or backward, by
 * its name. The time of a phase not spent in kernels is JavaScript between kernels.
 *
 * Off (the default), `enterPhase` swaps one variable and checks one more: nothing is timed, nothing
 * allocated. On (`startProfile`, with the active backend replaced by `profileKernels(backend)`), every
 * kernel call reads the clock twice and each phase change once.
 *
 * A backend may time parts of its own calls (`Kernels.profileCounters`): the native backend reports the
 * time its calling thread waited for the others (threads waiting, part of the kernels' time).
 */
import { KERNEL_TABLE, type Kernels } from "./kernels.js";

/** What the update is doing, as the layers say (`enterPhase`). */
export type Phase = "other" | "embedding" | "input" | "recurrent" | "weightGradients" | "head" | "clipping" | "optimizer";

/** Where the profile files time: kernel time by what the kernel does, and the JavaScript around the kernels. */
export type Category =
  | "inputGemm" | "recurrentGemm" | "gatesForward" | "gatesBackward" | "weightGradGemm" | "headLoss" | "embedding"
  | "clipping" | "optimizer" | "otherKernels" | "javascript";

export const CATEGORIES: readonly Category[] = [
  "inputGemm", "recurrentGemm", "gatesForward", "gatesBackward", "weightGradGemm", "headLoss", "embedding",
  "clipping", "optimizer", "otherKernels", "javascript",
];

export const PHASES: readonly Phase[] = [
  "other", "embedding", "input", "recurrent", "weightGradients", "head", "clipping", "optimizer",
];

/** The names of the table's kernels, in its order. */
export const KERNEL_NAMES: readonly string[] = [...KERNEL_TABLE.matchAll(/^(\w+)\(/gm)].map((m) => m[1]!);

/** What a profile measured, in milliseconds (and operations) summed over the profiled updates. */
export interface ProfileTotals {
  /** Per category (kernel time by what the kernel did; `javascript`: wall time outside kernels). */
  ms: Record<Category, number>;
  /** Wall time per phase, kernels and JavaScript together. */
  phaseMs: Record<Phase, number>;
  /** Of the kernels' time: the calling thread waiting for the others (backends that report it). */
  threadsWaitingMs: number;
  /** Floating-point operations of the GEMMs, 2·M·N·K per call. */
  gemmFlops: number;
  /** Calls per kernel name. */
  calls: Record<string, number>;
  /** Wall time from startProfile to stopProfile. */
  wallMs: number;
}

let phase: Phase = "other";
let ledger: Ledger | null = null;

/**
 * Enters `next` and returns the phase it leaves, to be restored with another call when the caller is
 * done (phases nest: the input projection runs inside the recurrence).
 */
export function enterPhase(next: Phase): Phase {
  const previous = phase;
  phase = next;
  if (ledger !== null) ledger.switchPhase(previous);
  return previous;
}

/** Whether a profile is being recorded (the thread pools time their waits only then). */
export function profiling(): boolean {
  return ledger !== null;
}

/** Adds time the calling thread spent waiting for other threads (a backend's pool calls it while profiling). */
export function addThreadWait(ms: number): void {
  if (ledger !== null) ledger.threadsWaitingMs += ms;
}

/**
 * Starts recording: from now on the calls of the kernels returned by `profileKernels` and the phase
 * changes are timed, until `stopProfile`.
 */
export function startProfile(backend: Kernels, clock: () => number = () => performance.now()): void {
  ledger = new Ledger(clock, backend.profileCounters?.(true) ?? null);
}

/** Stops recording and returns what was measured. */
export function stopProfile(backend: Kernels): ProfileTotals {
  if (ledger === null) throw new Error("stopProfile: no profile is being recorded");
  const current = ledger;
  current.switchPhase(phase);
  ledger = null;
  return current.totals(backend.profileCounters?.(false) ?? null);
}

/**
 * `backend` with every kernel of the table timed while a profile is recorded (and passed straight
 * through otherwise). Arrays are the backend's own: it allocates.
 */
export function profileKernels(backend: Kernels): Kernels {
  const timed: Record<string, unknown> = {};
  for (const name of KERNEL_NAMES) {
    const kernel = (backend as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
    timed[name] = function (this: unknown): unknown {
      const current = ledger;
      if (current === null) return kernel.apply(backend, arguments as unknown as unknown[]);
      const start = current.clock();
      const result = kernel.apply(backend, arguments as unknown as unknown[]);
      const flops = name === "gemm" ? 2 * (arguments[2] as number) * (arguments[3] as number) * (arguments[4] as number) : 0;
      current.kernel(name, current.clock() - start, flops);
      return result;
    };
  }
  return Object.setPrototypeOf(timed, backend) as Kernels;
}

/** The category of a call of kernel `name` in phase `phase`. */
export function categoryOf(name: string, phase: Phase): Category {
  if (/StepForward$/.test(name)) return "gatesForward";
  if (/StepBackward$/.test(name)) return "gatesBackward";
  if (name === "softmaxCrossEntropy") return "headLoss";
  if (name === "adamStep") return "optimizer";
  switch (phase) {
    case "input": return "inputGemm";
    // The per-step product and its bias (the GRU adds b_hh to W_hh·h every step).
    case "recurrent": return name === "gemm" || name === "addRowVector" ? "recurrentGemm" : "otherKernels";
    case "weightGradients": return "weightGradGemm";
    case "head": return "headLoss";
    case "embedding": return "embedding";
    case "clipping": return "clipping";
    case "optimizer": return "optimizer";
    default: return "otherKernels";
  }
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

class Ledger {
  readonly ms = zeros(CATEGORIES);
  readonly phaseMs = zeros(PHASES);
  /** Kernel time per phase, to take from the phase's wall time. */
  private readonly kernelMs = zeros(PHASES);
  readonly calls: Record<string, number> = {};
  threadsWaitingMs = 0;
  gemmFlops = 0;
  private readonly started: number;
  private since: number;

  constructor(readonly clock: () => number, private readonly countersAtStart: Float64Array | null) {
    this.started = clock();
    this.since = this.started;
  }

  switchPhase(left: Phase): void {
    const now = this.clock();
    this.phaseMs[left] += now - this.since;
    this.since = now;
  }

  kernel(name: string, ms: number, flops: number): void {
    this.ms[categoryOf(name, phase)] += ms;
    this.kernelMs[phase] += ms;
    this.calls[name] = (this.calls[name] ?? 0) + 1;
    this.gemmFlops += flops;
  }

  totals(countersAtEnd: Float64Array | null): ProfileTotals {
    const ms = { ...this.ms };
    for (const p of PHASES) ms.javascript += Math.max(0, this.phaseMs[p] - this.kernelMs[p]);
    let threadsWaitingMs = this.threadsWaitingMs;
    if (this.countersAtStart && countersAtEnd) threadsWaitingMs += (countersAtEnd[0]! - this.countersAtStart[0]!) / 1e6;
    return {
      ms, phaseMs: { ...this.phaseMs }, threadsWaitingMs, gemmFlops: this.gemmFlops, calls: { ...this.calls },
      wallMs: this.clock() - this.started,
    };
  }
}
