/**
 * The input side of a cell through a table, for inputs that are an embedding lookup: x[r] = E[ids[r]]
 * for the T·B rows r of a chunk, with V table rows. When V is well below T·B (a character model:
 * V ≈ 65–100 against T·B in the thousands) the input projection and its gradients are computed once
 * per table row instead of once per step:
 *
 *   forward   X̂ (V, I): X̂[ids[r]] = x[r]  (the table rows the chunk uses, read back from x itself; others 0)
 *             P (V, G·H) = X̂ · W_ihᵀ [+ b_ih] [+ b_hh]          proj[r] = P[ids[r]]
 *   backward  S (V, G·H) = Σ_r e_{ids[r]} ⊗ dXGates[r]  over the back-propagated rows, block by block
 *             (base.ts: walkBackward; rows added in order of r within a block)
 *             dW_ih += Sᵀ · X̂       dInputTable (V, I) = S · W_ih
 *
 * against (N, I)·(I, G·H) products per chunk (N = T·B rows, or the packed rows): three GEMMs with V
 * rows instead of N. P and S share their storage (P is dead once forward has gathered it). Forward is
 * bit-identical to the per-step projection wherever the GEMM sums each element in an order that
 * depends only on K (the reference, native, and wasm-simd from 16 rows; wasm-simd's small-M product
 * for fewer rows sums in another order, so there it agrees to float32 rounding). Backward sums the same terms
 * in another order (the tokens of a row of S first), so dW_ih and the input gradient agree with the
 * per-step computation to float32 rounding; dInputTable[v] is Σ_{r: ids[r] = v} dL/dx[r], the
 * embedding's gradient directly (Embedding.backwardTable).
 *
 * X̂ comes from x, not from the embedding's current weights: a chunk back-propagated after an update
 * (k2 > k1) still sees the table its forward pass read. The caller vouches that x[r] = E[ids[r]].
 */
import { kernels } from "../kernels/index.js";
import { ReusableBuffer } from "../tensor/buffers.js";
import type { InputRows } from "./chunk.js";
import type { CellParameters } from "./parameters.js";

/** What the table path keeps in a chunk's cache (chunk-cache.ts), for V table rows of I features. */
export class InputTableBuffers {
  /** (V, I) X̂: the table rows the chunk read, taken from x; rows of unused ids are 0. */
  readonly rows = new ReusableBuffer();
  /** (V) 1 for the ids seen in the chunk. */
  readonly seen = new ReusableBuffer();
  /** (V, G·H) P = X̂·W_ihᵀ + biases during forward, then S, the gate gradients summed per id, during backward. */
  readonly projected = new ReusableBuffer();
  /** (V, I) dL/d(table row) = S·W_ih. */
  readonly dTable = new ReusableBuffer();
}

/** Whether the table is the cheaper way: its three V-row products (and a gather and a scatter) against three N-row ones. */
export function inputTablePays(rows: number, V: number): boolean {
  return 2 * V <= rows;
}

/**
 * proj (N, G·H) = x·W_ihᵀ + biases through the table, for the `rows` = N rows of x (I features each);
 * keeps X̂ in `buffers` for backward.
 */
export function projectThroughTable(
  params: CellParameters, buffers: InputTableBuffers, inputRows: InputRows, x: Float32Array, rows: number, I: number,
  proj: Float32Array, addHiddenBias: boolean,
): void {
  const { ids, V } = inputRows;
  const GH = params.weightIh.shape[0]!;
  const table = buffers.rows.reserve(V * I);
  // X̂: the first row of x with each id (all rows with one id are equal); unused ids stay 0.
  const seen = buffers.seen.reserve(V);
  seen.fill(0);
  table.fill(0);
  for (let r = 0; r < rows; r++) {
    const id = ids[r]!;
    if (!(id >= 0 && id < V)) throw new RangeError(`inputRows.ids[${r}] = ${id} is out of range: expected a row in [0, ${V})`);
    if (seen[id] !== 0) continue;
    seen[id] = 1;
    const from = r * I;
    const to = id * I;
    for (let j = 0; j < I; j++) table[to + j] = x[from + j]!;
  }
  const projected = buffers.projected.reserve(V * GH);
  params.project(V, table, 0, projected, 0, addHiddenBias);
  kernels().gatherRows(rows, GH, V, projected, 0, ids, 0, proj, 0);
}

/** Before backward's first block: S = 0. */
export function startTableGradients(params: CellParameters, buffers: InputTableBuffers, V: number): void {
  buffers.projected.reserve(V * params.weightIh.shape[0]!).fill(0);
}

/** S += the gate gradients dXGates (rows, G·H) of rows [r0, r0 + rows) of the chunk, each to its id's row. */
export function addTableGradients(
  buffers: InputTableBuffers, inputRows: InputRows, r0: number, rows: number, GH: number, dXGates: Float32Array,
): void {
  const { ids, V } = inputRows;
  kernels().scatterAddRows(rows, GH, V, dXGates, 0, ids, r0, -1, buffers.projected.reserve(V * GH), 0);
}

/** After the last block: dW_ih += Sᵀ·X̂ and returns dInputTable = S·W_ih (V, I), owned by `buffers`. */
export function finishTableGradients(
  params: CellParameters, buffers: InputTableBuffers, V: number, I: number, weightIh: Float32Array,
): Float32Array {
  const k = kernels();
  const GH = params.weightIh.shape[0]!;
  const S = buffers.projected.reserve(V * GH);
  k.gemm(true, false, GH, I, V, S, 0, GH, buffers.rows.reserve(V * I), 0, I, true, params.weightIh.grad, 0, I);
  const dTable = buffers.dTable.reserve(V * I);
  k.gemm(false, false, V, I, GH, S, 0, GH, weightIh, 0, I, false, dTable, 0, I);
  return dTable;
}
