/**
 * A trainer mode's own state (src/train/modes/: RTRL's sensitivities, UORO's factors, ARTBP's
 * truncation points, the adaptive k2's probe) in checkpoint.safetensors: each array a tensor
 * `trainer.mode.<name>`, the kind and the numbers in the metadata (NaN, a generator's spare normal, as
 * null). Read back defensively: the library checks the sizes against the model when it imports them.
 */
import type { ModeState } from "../train/checkpoint.js";

/** What the metadata holds for a mode. */
export interface ModeMetadata {
  kind: string;
  arrays: string[];
  values: Record<string, number | null | Array<number | null>>;
}

const nanToNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

/** The metadata of `mode`; its arrays go to `vector(name, values)`. */
export function modeMetadata(mode: ModeState, vector: (name: string, data: ArrayLike<number>) => void): ModeMetadata {
  for (const [name, data] of Object.entries(mode.arrays)) vector(`trainer.mode.${name}`, data);
  const values = Object.fromEntries(
    Object.entries(mode.values).map(([name, v]) => [name, Array.isArray(v) ? v.map(nanToNull) : nanToNull(v)]),
  );
  return { kind: mode.kind, arrays: Object.keys(mode.arrays), values };
}

/** The mode state the metadata describes, its arrays from `need(name)`; a RangeError for anything malformed. */
export function readModeState(meta: unknown, need: (name: string) => Float32Array): ModeState {
  const m = meta as Partial<ModeMetadata> | null;
  const number = (x: unknown): x is number | null => x === null || typeof x === "number";
  const names = (a: unknown): a is string[] => Array.isArray(a) && a.every((name) => typeof name === "string");
  const numbers = (v: unknown): boolean => !!v && typeof v === "object" && !Array.isArray(v)
    && Object.values(v).every((x) => number(x) || (Array.isArray(x) && x.every(number)));
  if (!m || typeof m !== "object" || typeof m.kind !== "string" || !names(m.arrays) || !numbers(m.values)) {
    throw new RangeError("the trainer mode's state is malformed");
  }
  const toNumber = (x: number | null): number => (x === null ? NaN : x);
  return {
    kind: m.kind,
    arrays: Object.fromEntries(m.arrays.map((name) => [name, need(`trainer.mode.${name}`)])),
    values: Object.fromEntries(
      Object.entries(m.values!).map(([name, v]) => [name, Array.isArray(v) ? v.map(toNumber) : toNumber(v)]),
    ),
  };
}
