/**
 * The checks at the door of a cell's forward and backward: every array's length against the chunk's
 * (T, B, I, H), named in the message with the shape expected; and where backward stops (truncation).
 */
import type { Cell } from "./cell.js";
import type { ChunkCache } from "./chunk-cache.js";
import type { BackwardInput, ChunkInput } from "./chunk.js";
import { requirePositiveInteger } from "./parameters.js";

/** Checks the chunk's array lengths against (T, B, I, H); names the argument and the expected shape. */
export function validateChunk(cell: Cell, input: ChunkInput): void {
  const { T, B, x } = input;
  const I = cell.inputSize;
  const H = cell.hiddenSize;
  requirePositiveInteger(T, "T (time steps)");
  requirePositiveInteger(B, "B (batch size)");
  const N = input.batchSizes ? validateBatchSizes(input.batchSizes, T, B) : T * B;
  if (x.length !== N * I) {
    const shape = input.batchSizes ? `(N=${N} packed rows, I=${I})` : `(T=${T}, B=${B}, I=${I})`;
    throw new RangeError(`x must have shape ${shape} = ${N * I} values, got ${x.length}`);
  }
  if (input.h0 && input.h0.length !== B * H) {
    throw new RangeError(`h0 must have shape (B=${B}, H=${H}) = ${B * H} values, got ${input.h0.length}`);
  }
  if (input.c0 && input.c0.length !== B * H) {
    throw new RangeError(`c0 must have shape (B=${B}, H=${H}) = ${B * H} values, got ${input.c0.length}`);
  }
  if (input.c0 && cell.stateSizes.c === 0) throw new RangeError(`c0 is only for the LSTM, not ${cell.kind}`);
  if (input.mask && input.batchSizes) {
    throw new RangeError("mask and batchSizes: packed rows are all real, give no mask");
  }
  if (input.mask && input.mask.length !== T * B) {
    throw new RangeError(`mask must have shape (T=${T}, B=${B}) = ${T * B} values, got ${input.mask.length}`);
  }
  if (input.inputRows) {
    const { ids, V } = input.inputRows;
    requirePositiveInteger(V, "inputRows.V");
    if (ids.length !== N) {
      const rows = input.batchSizes ? "N (packed rows)" : "T·B";
      throw new RangeError(`inputRows.ids must have ${rows} = ${N} values, got ${ids.length}`);
    }
  }
}

/** Checks packed batch sizes (B ≥ batchSizes[t] ≥ batchSizes[t + 1] ≥ 1, T of them) and returns N, their sum. */
export function validateBatchSizes(batchSizes: Int32Array, T: number, B: number): number {
  if (batchSizes.length !== T) throw new RangeError(`batchSizes must have T=${T} values, got ${batchSizes.length}`);
  let N = 0;
  for (let t = 0; t < T; t++) {
    const n = batchSizes[t]!;
    const most = t === 0 ? B : batchSizes[t - 1]!;
    if (!Number.isInteger(n) || n < 1 || n > most) {
      throw new RangeError(
        `batchSizes[${t}] = ${n}: expected an integer in [1, ${most}] (rows ordered by decreasing length, at most B=${B})`,
      );
    }
    N += n;
  }
  return N;
}

/** Where backward stops: the lowest first step over the rows, and the per-row steps if they differ. */
export interface BackwardCut {
  lowest: number;
  /** (B) per-row first steps, or null when all rows start at `lowest`. */
  rows: Int32Array | null;
}

export function validateBackward(cache: ChunkCache, grads: BackwardInput, H: number, reverse: boolean): BackwardCut {
  const { T, B, rows } = cache;
  if (T === 0) throw new RangeError("backward: the cache holds no forward pass");
  if (grads.dOut && grads.dOut.length !== rows * H) {
    const shape = cache.batchSizes ? `(N=${rows} packed rows, H=${H})` : `(T=${T}, B=${B}, H=${H})`;
    throw new RangeError(`dOut must have shape ${shape} = ${rows * H} values, got ${grads.dOut.length}`);
  }
  if (grads.dhN && grads.dhN.length !== B * H) {
    throw new RangeError(`dhN must have shape (B=${B}, H=${H}), got ${grads.dhN.length} values`);
  }
  if (grads.dcN && grads.dcN.length !== B * H) {
    throw new RangeError(`dcN must have shape (B=${B}, H=${H}), got ${grads.dcN.length} values`);
  }
  const firstStep = grads.firstStep ?? 0;
  if (typeof firstStep === "number") {
    if (!Number.isInteger(firstStep) || firstStep < 0 || firstStep >= T) {
      throw new RangeError(`firstStep must be an integer in [0, ${T}), got ${firstStep}`);
    }
    if (firstStep > 0 && reverse) throw new RangeError("firstStep applies to the forward direction only");
    return { lowest: firstStep, rows: null };
  }
  if (firstStep.length !== B) throw new RangeError(`firstStep per row must have B=${B} values, got ${firstStep.length}`);
  let lowest = T;
  let uniform = true;
  for (let b = 0; b < B; b++) {
    const f = firstStep[b]!;
    if (!Number.isInteger(f) || f < 0 || f > T) throw new RangeError(`firstStep[${b}] must be an integer in [0, ${T}], got ${f}`);
    lowest = Math.min(lowest, f);
    uniform &&= f === firstStep[0];
  }
  if (reverse && lowest < T && firstStep.some((f) => f > 0)) throw new RangeError("firstStep applies to the forward direction only");
  return { lowest, rows: uniform ? null : firstStep };
}

/**
 * The mask backward uses: the forward mask, and 0 at the steps before each row's first step, so that
 * those rows carry their gradient unchanged (to dh0) and receive none of those steps' losses.
 */
export function backwardMask(cache: ChunkCache, cut: BackwardCut): Float32Array | null {
  if (!cut.rows) return cache.mask;
  const { T, mask, offsets } = cache;
  const out = cache.backwardMask.reserve(cache.rows);
  for (let t = 0; t < T; t++) {
    const first = offsets[t]!;
    const n = offsets[t + 1]! - first;
    for (let b = 0; b < n; b++) out[first + b] = t < cut.rows[b]! ? 0 : mask ? mask[first + b]! : 1;
  }
  return out;
}
