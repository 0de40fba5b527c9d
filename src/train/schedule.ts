/**
 * The TBPTT(k1, k2) schedule: every k1 steps one parameter update, whose gradient flows back k2 steps.
 *
 * At an update at time t (every k1 steps, and at the end of each batch) the gradient applied is
 *
 *   g_t = ∇θ Σ_{τ ∈ (t−k1, t]} ℓ_τ,  every path through a hidden state h_s with s ≤ t−k2 cut
 *
 * (a padded row counts back from its own last real step when that comes before t: padding is not time).
 *
 * Named modes:
 *   full       k1 = k2 = ∞: one update per batch of whole sequences, exact BPTT.
 *   online     k1 = 1, k2 = ∞: an update after every step, back-propagated to the sequence's start.
 *   truncated  k1 = k2 = K (K required): chunks of K steps, the state carried, the gradient cut between them.
 * Infinity stands for "the whole batch" (k1) or "back to where the sequence started" (k2).
 */
export type ScheduleMode = "full" | "online" | "truncated" | "rtrl" | "uoro" | "artbp";

/**
 * The modes beyond truncation (src/train/modes/, the maths in docs/tbptt.md):
 *   rtrl   k1 steps per update (default 1), no k2: the exact online gradient, sensitivities carried forward.
 *   uoro   the same schedule, with an unbiased rank-one estimate of RTRL's sensitivities.
 *   artbp  k2 is the mean truncation length: truncation points drawn at random, compensated so that
 *          the gradient is unbiased; an update at each truncation point, or every k1 steps when k1 is given.
 * And k2 "adaptive" (with k1): TBPTT whose k2 is chosen from the measured decay of ‖∂L/∂h_{t−ℓ}‖ to
 * keep the relative truncation bias under biasTolerance.
 */
export type GradientMethod = "rtrl" | "uoro" | "artbp";

export interface ScheduleOptions {
  /** Steps between updates (≥ 1, or Infinity). */
  k1?: number;
  /**
   * Steps the gradient flows back (≥ 1, or Infinity), or "adaptive". Default: k1. With mode "artbp":
   * the mean truncation length.
   */
  k2?: number | "adaptive";
  /** A named schedule instead of (or with) k1/k2. */
  mode?: ScheduleMode;
  /** k2 "adaptive": the relative truncation bias to stay under, in (0, 1). Default 0.1. */
  biasTolerance?: number;
  /** k2 "adaptive": the longest truncation it may choose, and the steps it keeps. Default max(8·k1, 32). */
  maxK2?: number;
}

export interface Schedule {
  readonly k1: number;
  /** For k2 "adaptive": maxK2, the most it may choose. For mode "artbp": the mean truncation length. */
  readonly k2: number;
  /** The mode beyond TBPTT, when one is chosen. */
  readonly method?: GradientMethod;
  /** Mode "artbp" without k1: an update at each truncation point (k1 is then the mean spacing, k2). */
  readonly updateAtCuts?: boolean;
  /** k2 "adaptive": the relative truncation bias to stay under. */
  readonly biasTolerance?: number;
}

const MODES = '"full", "online", "truncated", "rtrl", "uoro" or "artbp"';

/** Resolves and checks the schedule; every refusal says what to change. */
export function resolveSchedule(options: ScheduleOptions): Schedule {
  const { mode } = options;
  if (mode === "rtrl" || mode === "uoro" || mode === "artbp") return resolveBeyond(mode, options);
  if (options.k2 === "adaptive") return resolveAdaptive(options);
  if (options.biasTolerance !== undefined || options.maxK2 !== undefined) {
    throw new RangeError('biasTolerance and maxK2 are settings of k2 "adaptive": set k2 to "adaptive" or drop them');
  }
  let { k1 } = options;
  let k2 = options.k2;
  if (mode !== undefined) {
    if (mode === "full") {
      if (k1 !== undefined || k2 !== undefined) throw new RangeError('mode "full" sets k1 = k2 = the sequence length: drop k1 and k2');
      k1 = k2 = Infinity;
    } else if (mode === "online") {
      if (k1 !== undefined && k1 !== 1) throw new RangeError('mode "online" updates after every step (k1 = 1): drop k1');
      k1 = 1;
      k2 ??= Infinity;
    } else if (mode === "truncated") {
      if (k1 === undefined) throw new RangeError('mode "truncated" needs k1, the chunk length (e.g. k1 = 35)');
    } else {
      throw new RangeError(`mode must be ${MODES}, got ${JSON.stringify(mode)}`);
    }
  }
  if (k1 === undefined) throw new RangeError('the schedule needs k1 (and optionally k2), or a mode: "full", "online" or "truncated"');
  k2 ??= k1;
  checkLength(k1, "k1", "the number of steps between updates");
  checkLength(k2, "k2", "the number of steps the gradient flows back");
  return { k1, k2 };
}

/** rtrl and uoro: k1 (default 1), no k2. artbp: k2 the mean truncation length, k1 optional. */
function resolveBeyond(mode: GradientMethod, options: ScheduleOptions): Schedule {
  const { k1, k2 } = options;
  if (options.biasTolerance !== undefined || options.maxK2 !== undefined) {
    throw new RangeError(`biasTolerance and maxK2 are settings of k2 "adaptive", not of mode "${mode}": drop them`);
  }
  if (k1 !== undefined) checkLength(k1, "k1", "the number of steps between updates");
  if (mode !== "artbp") {
    if (k2 !== undefined && k2 !== Infinity) {
      const what = mode === "rtrl" ? "computes the exact gradient" : "estimates the gradient, unbiased,";
      throw new RangeError(`mode "${mode}" ${what} through the whole stream without truncation: drop k2`);
    }
    return { k1: k1 ?? 1, k2: Infinity, method: mode };
  }
  if (typeof k2 !== "number" || !Number.isInteger(k2) || k2 < 2) {
    throw new RangeError(`mode "artbp" needs k2, the mean truncation length: an integer ≥ 2, got ${JSON.stringify(k2)}`);
  }
  return k1 === undefined ? { k1: k2, k2, method: mode, updateAtCuts: true } : { k1, k2, method: mode };
}

/** k2 "adaptive": a finite k1, the tolerance and the longest truncation. */
function resolveAdaptive(options: ScheduleOptions): Schedule {
  const { k1, mode } = options;
  if (mode !== undefined && mode !== "truncated") {
    throw new RangeError(`k2 "adaptive" chooses the truncation of a truncated schedule, not of mode "${mode}": drop the mode`);
  }
  if (k1 === undefined || k1 === Infinity) throw new RangeError('k2 "adaptive" needs a finite k1, the number of steps between updates');
  checkLength(k1, "k1", "the number of steps between updates");
  const biasTolerance = options.biasTolerance ?? 0.1;
  if (!(biasTolerance > 0 && biasTolerance < 1)) {
    throw new RangeError(`biasTolerance (the relative truncation bias to stay under) must be in (0, 1), got ${biasTolerance}`);
  }
  const maxK2 = options.maxK2 ?? Math.max(8 * k1, 32);
  if (!Number.isInteger(maxK2) || maxK2 < 1) {
    throw new RangeError(`maxK2 (the longest truncation k2 "adaptive" may choose) must be an integer ≥ 1, got ${maxK2}`);
  }
  return { k1, k2: maxK2, biasTolerance };
}

function checkLength(value: number, name: string, meaning: string): void {
  if (value === Infinity) return;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} (${meaning}) must be an integer ≥ 1 or Infinity, got ${value}`);
  }
}

/** "TBPTT(k1=35, k2=70)", "full BPTT", "RTRL(k1=1)", … for logs and reports. */
export function describeSchedule(schedule: Schedule): string {
  const { k1, k2, method } = schedule;
  const fmt = (k: number): string => (k === Infinity ? "∞" : String(k));
  if (method === "rtrl" || method === "uoro") return `${method.toUpperCase()}(k1=${fmt(k1)})`;
  if (method === "artbp") {
    return `ARTBP(mean truncation ${k2}, ${schedule.updateAtCuts ? "an update at each truncation" : `k1=${fmt(k1)}`})`;
  }
  if (schedule.biasTolerance !== undefined) return `TBPTT(k1=${fmt(k1)}, k2 adaptive ≤ ${k2}, bias ≤ ${schedule.biasTolerance})`;
  if (k1 === Infinity && k2 === Infinity) return "full BPTT (one update per sequence)";
  return `TBPTT(k1=${fmt(k1)}, k2=${fmt(k2)})`;
}
