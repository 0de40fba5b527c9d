/**
 * The input side of a cell over a whole chunk, the same for every cell: the projection of all N input
 * rows (T·B, or the packed rows) before the step loop, and during backward's walk the weight and input
 * gradients of each block of steps at once (base.ts: walkBackward). Through the input table
 * (input-table.ts) when the forward pass was given inputRows and the table is the cheaper way, else as
 * plain GEMMs.
 *
 *   forward:   proj (N, G·H) = x (N, I) · W_ihᵀ [+ b_ih] [+ b_hh]
 *   backward, per block of rows R:
 *              dW_ih += dXGates_Rᵀ·x_R   dW_hh += dHGates_Rᵀ·hPrev_R
 *              db_ih += Σ dXGates_R      db_hh += Σ dHGates_R
 *              dx_R = dXGates_R · W_ih
 */
import { kernels } from "../kernels/index.js";
import { enterPhase } from "../kernels/profile.js";
import type { ChunkCache } from "./chunk-cache.js";
import {
  addTableGradients, finishTableGradients, inputTablePays, projectThroughTable, startTableGradients,
} from "./input-table.js";
import type { CellParameters } from "./parameters.js";

/**
 * The input projection of the chunk in `cache` (its x and N rows), through the input table when the
 * forward pass was given inputRows and the table is the cheaper way, else one GEMM. Records the choice
 * in the cache for backward.
 */
export function projectChunkInputs(
  params: CellParameters, cache: ChunkCache, I: number, proj: Float32Array, addHiddenBias: boolean,
): void {
  const rows = cache.rows;
  const outer = enterPhase("input");
  cache.usesInputTable = cache.inputRows !== null && inputTablePays(rows, cache.inputRows.V);
  if (cache.usesInputTable) {
    projectThroughTable(params, cache.inputTable, cache.inputRows!, cache.x, rows, I, proj, addHiddenBias);
  } else {
    params.project(rows, cache.x, 0, proj, 0, addHiddenBias);
  }
  enterPhase(outer);
}

/** Before backward's first block: through the input table, its per-id sums start at zero. */
export function startInputGradients(params: CellParameters, cache: ChunkCache): void {
  if (cache.usesInputTable) startTableGradients(params, cache.inputTable, cache.inputRows!.V);
}

/**
 * The weight and input gradients of rows [r0, r0 + rows) of the chunk in `cache`, whose gate gradients
 * are the first `rows` rows of dXGates and dHGates (see the header). For the RNN and LSTM dHGates is
 * dXGates; for the GRU they differ in the n block. Through the input table, dW_ih and the input
 * gradient wait for finishInputGradients (dx is left alone).
 */
export function addBlockGradients(
  params: CellParameters, cache: ChunkCache, r0: number, rows: number, I: number, H: number,
  hPrev: Float32Array, dXGates: Float32Array, dHGates: Float32Array, dx: Float32Array, weightIh: Float32Array,
): void {
  const k = kernels();
  const GH = params.weightIh.shape[0]!;
  const outer = enterPhase("weightGradients");
  k.gemm(true, false, GH, H, rows, dHGates, 0, GH, hPrev, r0 * H, H, true, params.weightHh.grad, 0, H);
  if (params.biasIh) k.sumRowsInto(rows, GH, dXGates, 0, params.biasIh.grad, 0);
  if (params.biasHh) k.sumRowsInto(rows, GH, dHGates, 0, params.biasHh.grad, 0);
  if (cache.usesInputTable) {
    addTableGradients(cache.inputTable, cache.inputRows!, r0, rows, GH, dXGates);
  } else {
    k.gemm(true, false, GH, I, rows, dXGates, 0, GH, cache.x, r0 * I, I, true, params.weightIh.grad, 0, I);
    k.gemm(false, false, rows, I, GH, dXGates, 0, GH, weightIh, 0, I, false, dx, r0 * I, I);
  }
  enterPhase(outer);
}

/**
 * After backward's last block: dx is zero on the rows that were not back-propagated (those outside
 * [firstRow, firstRow + rows)); through the input table, dW_ih += Sᵀ·X̂ and returns the input gradient
 * per table row (else null).
 */
export function finishInputGradients(
  params: CellParameters, cache: ChunkCache, firstRow: number, rows: number, I: number, dx: Float32Array,
  weightIh: Float32Array,
): Float32Array | null {
  const outer = enterPhase("weightGradients");
  let dTable: Float32Array | null = null;
  if (cache.usesInputTable) {
    dTable = finishTableGradients(params, cache.inputTable, cache.inputRows!.V, I, weightIh);
  } else {
    dx.fill(0, 0, firstRow * I);
    dx.fill(0, (firstRow + rows) * I);
  }
  enterPhase(outer);
  return dTable;
}
