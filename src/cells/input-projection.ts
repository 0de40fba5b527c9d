/**
 * The input side of a cell over a whole chunk, the same for every cell: the projection of all T·B
 * input rows before the step loop, and after backward's step loop the weight and input gradients
 * of all steps at once. Through the input table (input-table.ts) when the forward pass was given
 * inputRows and the table is the cheaper way, else as plain GEMMs.
 *
 *   forward:   proj (T·B, G·H) = x (T·B, I) · W_ihᵀ [+ b_ih] [+ b_hh]
 *   backward:  dW_ih += dXGatesᵀ·x   dW_hh += dHGatesᵀ·hPrev   db_ih += Σ dXGates   db_hh += Σ dHGates
 *              dx = dXGates · W_ih
 */
import { kernels } from "../kernels/index.js";
import type { ChunkCache } from "./chunk-cache.js";
import { inputTablePays, projectThroughTable, tableGradients } from "./input-table.js";
import type { CellParameters } from "./parameters.js";

/**
 * The input projection of the chunk in `cache` (its x, T, B), through the input table when the
 * forward pass was given inputRows and the table is the cheaper way, else one GEMM. Records the
 * choice in the cache for backward.
 */
export function projectChunkInputs(
  params: CellParameters, cache: ChunkCache, I: number, proj: Float32Array, addHiddenBias: boolean,
): void {
  const rows = cache.T * cache.B;
  cache.usesInputTable = cache.inputRows !== null && inputTablePays(rows, cache.inputRows.V);
  if (cache.usesInputTable) {
    projectThroughTable(params, cache.inputTable, cache.inputRows!, cache.x, rows, I, proj, addHiddenBias);
  } else {
    params.project(rows, cache.x, 0, proj, 0, addHiddenBias);
  }
}

/**
 * The weight and input gradients of the chunk in `cache`, three GEMMs over steps [t0, T):
 *   dW_ih += dXGatesᵀ · x,  dW_hh += dHGatesᵀ · hPrev,  dx = dXGates · W_ih,
 *   db_ih += Σ dXGates,  db_hh += Σ dHGates
 * For the RNN and LSTM dHGates is dXGates; for the GRU they differ in the n block. When forward
 * projected through the input table, dW_ih and the input gradient go through it too and the latter
 * is returned per table row (dx is left alone); else returns null.
 */
export function accumulateChunkGradients(
  params: CellParameters, cache: ChunkCache, t0: number, I: number, H: number,
  hPrev: Float32Array, dXGates: Float32Array, dHGates: Float32Array, dx: Float32Array, weightIh: Float32Array,
): Float32Array | null {
  const k = kernels();
  const { T, B, x } = cache;
  const GH = params.weightIh.shape[0]!;
  const rows = (T - t0) * B;
  const xo = t0 * B * I;
  const go = t0 * B * GH;
  const ho = t0 * B * H;
  k.gemm(true, false, GH, H, rows, dHGates, go, GH, hPrev, ho, H, true, params.weightHh.grad, 0, H);
  if (params.biasIh) k.sumRowsInto(rows, GH, dXGates, go, params.biasIh.grad, 0);
  if (params.biasHh) k.sumRowsInto(rows, GH, dHGates, go, params.biasHh.grad, 0);
  if (cache.usesInputTable) {
    return tableGradients(params, cache.inputTable, cache.inputRows!, T, B, t0, I, dXGates, weightIh);
  }
  k.gemm(true, false, GH, I, rows, dXGates, go, GH, x, xo, I, true, params.weightIh.grad, 0, I);
  if (t0 > 0) dx.fill(0, 0, xo);
  k.gemm(false, false, rows, I, GH, dXGates, go, GH, weightIh, 0, I, false, dx, xo, I);
  return null;
}
