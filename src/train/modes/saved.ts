/** Reading a mode's saved state (checkpoint.ts's ModeState) back, checked: a mismatch is a RangeError naming it. */
import type { ModeState } from "../checkpoint.js";

/** The state, when it was saved by a trainer of this mode (`label` names it in the message). */
export function savedModeState(state: ModeState | undefined, kind: string, label: string): ModeState {
  if (!state || state.kind !== kind) {
    const saved = state ? `mode "${state.kind}"` : "TBPTT";
    throw new RangeError(`trainer state: a checkpoint of ${saved} does not match this trainer (${label})`);
  }
  return state;
}

/** A saved array of exactly `length` values. */
export function savedArray(state: ModeState, name: string, length: number): Float32Array {
  const a = state.arrays[name];
  if (!a || a.length !== length) {
    throw new RangeError(`trainer state: the mode's ${name} does not match this model and batch`);
  }
  return a;
}

/** A saved integer ≥ min. */
export function savedInteger(state: ModeState, name: string, min: number): number {
  const v = state.values[name];
  if (!Number.isSafeInteger(v) || (v as number) < min) {
    throw new RangeError(`trainer state: the mode's ${name} is malformed`);
  }
  return v as number;
}
