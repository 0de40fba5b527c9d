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
export type ScheduleMode = "full" | "online" | "truncated";

export interface ScheduleOptions {
  /** Steps between updates (≥ 1, or Infinity). */
  k1?: number;
  /** Steps the gradient flows back (≥ 1, or Infinity). Default: k1. */
  k2?: number;
  /** A named schedule instead of (or with) k1/k2. */
  mode?: ScheduleMode;
}

export interface Schedule {
  readonly k1: number;
  readonly k2: number;
}

/** Resolves and checks the schedule; every refusal says what to change. */
export function resolveSchedule(options: ScheduleOptions): Schedule {
  const { mode } = options;
  let { k1, k2 } = options;
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
      throw new RangeError(`mode must be "full", "online" or "truncated", got ${JSON.stringify(mode)}`);
    }
  }
  if (k1 === undefined) throw new RangeError('the schedule needs k1 (and optionally k2), or a mode: "full", "online" or "truncated"');
  k2 ??= k1;
  checkLength(k1, "k1", "the number of steps between updates");
  checkLength(k2, "k2", "the number of steps the gradient flows back");
  return { k1, k2 };
}

function checkLength(value: number, name: string, meaning: string): void {
  if (value === Infinity) return;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} (${meaning}) must be an integer ≥ 1 or Infinity, got ${value}`);
  }
}

/** "TBPTT(k1=35, k2=70)", "full BPTT", … for logs and reports. */
export function describeSchedule({ k1, k2 }: Schedule): string {
  if (k1 === Infinity && k2 === Infinity) return "full BPTT (one update per sequence)";
  const fmt = (k: number): string => (k === Infinity ? "∞" : String(k));
  return `TBPTT(k1=${fmt(k1)}, k2=${fmt(k2)})`;
}
