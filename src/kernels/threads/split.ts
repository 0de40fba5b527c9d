/**
 * How one GEMM, C (M×N) = op(A) (M×K) · op(B) (K×N), is cut into blocks for several threads — so that
 * the result is bit-identical for any number of threads.
 *
 * wasm/gemm.ts computes each element C[i,j] as: for each depth block of KC = 256 (from k = 0),
 * s = Σ_k a_ik·b_kj in increasing k, then C[i,j] = s (first block, no accumulate) or C[i,j] + s.
 * That order depends only on K, not on which rows or columns the call covers — with two exceptions
 * this file respects:
 * - NT products with M < 16 take the dot-product path (gemmDot), whose reduction depends on the
 *   column's position in groups of 4 within blocks of 32 columns, and on pairs of rows. Cutting the
 *   columns at multiples of 32 keeps every block's columns in the same groups; the rows are not cut.
 * - The path itself is chosen by M (NT with M < 16), so NT products are only cut by columns: every
 *   block keeps M and takes the same path.
 * Other products are cut along the larger of M and N (each thread then repacks a smaller share of
 * the operands), at multiples of the micro-tile (4 rows, 8 columns) so that edge tiles stay rare.
 * test/kernels/threads.test.ts checks the bit-identity on every path and edge.
 */

/** A plan: block p is rows [plan[4p], +plan[4p+1]) × columns [plan[4p+2], +plan[4p+3]) of C. */
export type GemmPlan = Int32Array;

/** Below this M, NT products run wasm/gemm.ts's dot-product path (its DOT_MAX_M). */
export const DOT_MAX_M = 16;
/** Column blocks of that path (its DOT_NB). */
const DOT_COLUMNS = 32;
/** The micro-tile of the main path (its MR × NR). */
const TILE_ROWS = 4;
const TILE_COLUMNS = 8;

/**
 * Writes at most `parts` blocks covering C into `plan` (length ≥ 4·parts), in order; returns how many
 * (fewer when C is too narrow to cut further). Allocates nothing: it runs on every split GEMM.
 */
export function splitGemm(transA: boolean, transB: boolean, M: number, N: number, parts: number, plan: GemmPlan): number {
  if (!transA && transB) return cut(plan, false, M, N, parts, M < DOT_MAX_M ? DOT_COLUMNS : TILE_COLUMNS);
  return M >= N ? cut(plan, true, M, N, parts, TILE_ROWS) : cut(plan, false, M, N, parts, TILE_COLUMNS);
}

/** Cuts rows (byRows) or columns into ranges at multiples of `unit`, as even as the unit allows. */
function cut(plan: GemmPlan, byRows: boolean, M: number, N: number, parts: number, unit: number): number {
  const n = byRows ? M : N;
  const units = Math.ceil(n / unit);
  const count = Math.max(1, Math.min(parts, units));
  let blocks = 0;
  for (let p = 0; p < count; p++) {
    const start = Math.floor((p * units) / count) * unit;
    const end = Math.min(n, Math.floor(((p + 1) * units) / count) * unit);
    if (end <= start) continue;
    const q = 4 * blocks++;
    plan[q] = byRows ? start : 0;
    plan[q + 1] = byRows ? end - start : M;
    plan[q + 2] = byRows ? 0 : start;
    plan[q + 3] = byRows ? N : end - start;
  }
  return blocks;
}
