/**
 * Runs one block of the posted GEMM (protocol.ts), on whichever thread claimed it: the arguments and
 * the block's rows and columns come from the control region, `work` is the thread's own workspace.
 */
import type { WasmExports } from "../wasm-marshal.js";
import { ARGS, PLAN } from "./protocol.js";

export function runBlock(w: WasmExports, control: Int32Array, index: number, work: number): void {
  const q = PLAN + 4 * index;
  const row = control[q]!;
  const rows = control[q + 1]!;
  const col = control[q + 2]!;
  const cols = control[q + 3]!;
  const transA = control[ARGS]!;
  const transB = control[ARGS + 1]!;
  const K = control[ARGS + 2]!;
  const a = control[ARGS + 3]! >>> 0;
  const lda = control[ARGS + 4]!;
  const b = control[ARGS + 5]! >>> 0;
  const ldb = control[ARGS + 6]!;
  const accumulate = control[ARGS + 7]!;
  const c = control[ARGS + 8]! >>> 0;
  const ldc = control[ARGS + 9]!;
  // op(A)'s row `row`: A (M×K) row-major, or stored (K×M) when transposed; op(B)'s column `col` likewise.
  const aBlock = a + (transA ? row : row * lda) * 4;
  const bBlock = b + (transB ? col * ldb : col) * 4;
  const cBlock = c + (row * ldc + col) * 4;
  w.gemm(transA, transB, rows, cols, K, aBlock, lda, bBlock, ldb, accumulate, cBlock, ldc, work);
}
