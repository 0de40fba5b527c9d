/**
 * The trainer's state between batches, for checkpoints: what `Trainer.exportState` gives and
 * `Trainer.importState` takes (the CLI writes it into checkpoint.safetensors: src/cli/run-directory.ts).
 *
 * Saved: the counters, the carried state, the dropout generator, and the kept window as its inputs,
 * the states entering each segment and the weights its forward used. Activations are not saved: the
 * import recomputes them from those, with the weights of their time, bit for bit.
 */
import type { CellWeights } from "../cells/cell.js";
import type { SequenceModel } from "./model.js";
import type { TruncationWindow } from "./window.js";

/**
 * Everything a trainer carries between batches, for checkpoints: the update count, the carried state,
 * the dropout generator and the kept window (inputs, entering states and weight copies, from which
 * `importState` recomputes the activations bit for bit). Take it between batches.
 */
export interface TrainerState {
  updates: number;
  streamTime: number;
  batchSize: number;
  lastBatchMasked: boolean;
  dropoutRng: number[];
  /** (L·D, B, H) carried states, or null before the first batch. */
  h: Float32Array | null;
  c: Float32Array | null;
  segments: SegmentState[];
  /** What a mode beyond TBPTT carries besides the window (src/train/modes/), when one is chosen. */
  mode?: ModeState;
}

/**
 * A mode's own state between batches: RTRL's sensitivities, UORO's rank-one factors, ARTBP's
 * truncation points, the adaptive k2; random generators as their `Rng.getState()`.
 */
export interface ModeState {
  /** "rtrl", "uoro", "artbp" or "adaptive": a checkpoint restores only into a trainer of the same mode. */
  kind: string;
  /** Named arrays, in the backend's precision. */
  arrays: Record<string, Float32Array>;
  /** Named numbers and lists of numbers (NaN allowed, as in a generator's state). */
  values: Record<string, number | number[]>;
}

export interface SegmentState {
  start: number;
  T: number;
  version: number;
  resetRows: number[];
  h0: Float32Array;
  c0: Float32Array | null;
  dropoutRng: number[];
  /** (T·B) token ids (embedding models), and (T·B·I) the input the recurrent stack read. */
  ids: Int32Array | null;
  input: Float32Array;
  mask: Float32Array | null;
  /** Every cell's parameters as the segment's forward used them, when an update came after it. */
  weights: CellWeights[] | null;
}

/** The trainer's own counters, saved beside the window. */
export interface TrainerCounters {
  updates: number;
  lastBatchMasked: boolean;
}

/** A copy of the window and the counters (nothing shared with the live trainer). */
export function exportTrainerState(window: TruncationWindow, counters: TrainerCounters): TrainerState {
  const copy = <A extends Float32Array | Int32Array>(a: A): A => a.slice() as A;
  const { state } = window;
  return {
    updates: counters.updates,
    streamTime: window.streamTime,
    batchSize: window.batchSize,
    lastBatchMasked: counters.lastBatchMasked,
    dropoutRng: window.model.rnn.rng.getState(),
    h: state ? copy(state.h.data) : null,
    c: state?.c ? copy(state.c.data) : null,
    segments: window.segments.map((seg) => ({
      start: seg.start,
      T: seg.T,
      version: seg.version,
      resetRows: [...seg.resetRows],
      h0: copy(seg.h0),
      c0: seg.c0 ? copy(seg.c0) : null,
      dropoutRng: [...seg.dropoutRng],
      ids: seg.cache.ids ? copy(seg.cache.ids) : null,
      input: copy(seg.cache.input),
      mask: seg.cache.mask ? copy(seg.cache.mask) : null,
      weights: seg.hasWeights && seg.weights ? seg.weights.map(copyWeights) : null,
    })),
  };
}

/**
 * Restores the window from `state`, checked against the model (a mismatch is a RangeError naming
 * what does not fit), and returns the counters. The kept segments are forwarded again from their
 * saved inputs and entering states, each with the weights its forward used, so training continues
 * exactly as if it had not stopped.
 */
export function importTrainerState(window: TruncationWindow, state: TrainerState): TrainerCounters {
  const model = window.model;
  const rnn = model.rnn;
  const B = state.batchSize;
  const cells = rnn.numLayers * rnn.directions;
  const need = (ok: boolean, what: string): void => {
    if (!ok) throw new RangeError(`trainer state: ${what} does not match this model`);
  };
  const counted = Number.isSafeInteger(state.updates) && state.updates >= 0 && Number.isSafeInteger(state.streamTime);
  need(counted, "the counters");
  const counters = { updates: state.updates, lastBatchMasked: state.lastBatchMasked };
  if (B === 0 || state.h === null) {
    window.release();
    rnn.rng.setState(state.dropoutRng);
    return counters;
  }
  const hSize = cells * B * rnn.stateSizes.h;
  const cSize = cells * B * rnn.stateSizes.c;
  need(Number.isSafeInteger(B) && B > 0 && state.h.length === hSize, "the carried state h");
  need((cSize > 0) === (state.c !== null) && (state.c === null || state.c.length === cSize), "the carried state c");
  window.release();
  window.allocate(B);
  const carried = window.state!;
  for (const saved of state.segments) {
    checkSegment(saved, state, model, need);
    window.streamTime = saved.start;
    carried.h.data.set(saved.h0);
    if (carried.c && saved.c0) carried.c.data.set(saved.c0);
    rnn.rng.setState(saved.dropoutRng);
    // Forward with the weights of the segment's time, then put the current ones back.
    const current = saved.weights ? rnn.snapshotWeights() : null;
    if (saved.weights) rnn.loadWeights(saved.weights);
    const input = { T: saved.T, B, ids: saved.ids, features: model.embedding ? null : saved.input, mask: saved.mask };
    const seg = window.forwardSegment(input, [...saved.resetRows], saved.version, model.embedding ? saved.input : null);
    if (current) {
      seg.weights = rnn.snapshotWeights(seg.weights ?? undefined);
      seg.hasWeights = true;
      rnn.loadWeights(current);
    }
  }
  window.streamTime = state.streamTime;
  carried.h.data.set(state.h);
  if (carried.c && state.c) carried.c.data.set(state.c);
  rnn.rng.setState(state.dropoutRng);
  return counters;
}

type Need = (ok: boolean, what: string) => void;

function checkSegment(saved: SegmentState, state: TrainerState, model: SequenceModel, need: Need): void {
  const { T } = saved;
  const B = state.batchSize;
  const rnn = model.rnn;
  const cells = rnn.numLayers * rnn.directions;
  const hSize = cells * B * rnn.stateSizes.h;
  const rows = saved.resetRows;
  need(Number.isSafeInteger(T) && T > 0 && saved.input.length === T * B * model.inputSize, "a kept segment's input");
  need(saved.h0.length === hSize && (saved.c0 === null) === (rnn.stateSizes.c === 0), "a kept segment's entering state");
  need((saved.ids === null) === (model.embedding === null), "a kept segment's ids");
  need(saved.ids === null || saved.ids.length === T * B, "a kept segment's ids");
  need(saved.mask === null || saved.mask.length === T * B, "a kept segment's mask");
  need(Array.isArray(rows) && rows.every((b) => Number.isInteger(b) && b >= 0 && b < B), "a kept segment's reset rows");
  need(Number.isSafeInteger(saved.start) && Number.isSafeInteger(saved.version), "a kept segment's position");
  need(saved.version <= state.updates, "a kept segment's position");
  need(saved.weights === null || saved.weights.length === rnn.cells.length, "a kept segment's weights");
}

function copyWeights(w: CellWeights): CellWeights {
  return {
    weightIh: w.weightIh.slice(), weightHh: w.weightHh.slice(),
    biasIh: w.biasIh?.slice() ?? null, biasHh: w.biasHh?.slice() ?? null,
    weightHr: w.weightHr?.slice() ?? null, peephole: w.peephole?.slice() ?? null,
  };
}
