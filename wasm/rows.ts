/**
 * Row gather and scatter-add on a (V, D) table: the embedding lookup and its gradient. The ids are
 * checked against V by the caller (the glue, src/kernels/wasm-calls.generated.ts) before any pointer
 * reaches the module. Pointers are byte addresses of the first element.
 */
import { loadLanes, storeLanes } from "./vector";

/** out[r, :] = table[ids[r], :] for r < N; rows D wide and contiguous. */
export function gatherRows(N: i32, D: i32, V: i32, table: usize, ids: usize, out: usize): void {
  const rowBytes = <usize>D << 2;
  for (let r = 0; r < N; r++) {
    memory.copy(out + <usize>r * rowBytes, table + <usize>load<i32>(ids + (<usize>r << 2)) * rowBytes, rowBytes);
  }
}

/** table[ids[r], :] += src[r, :] for r = 0 … N−1 in order, skipping rows whose id is skipId. */
export function scatterAddRows(N: i32, D: i32, V: i32, src: usize, ids: usize, skipId: i32, table: usize): void {
  const rowBytes = <usize>D << 2;
  for (let r = 0; r < N; r++) {
    const id = load<i32>(ids + (<usize>r << 2));
    if (id == skipId) continue;
    const t = table + <usize>id * rowBytes;
    const s = src + <usize>r * rowBytes;
    for (let j = 0; j < D; j += 4) {
      const n = min(4, D - j);
      const off = <usize>j << 2;
      storeLanes(t + off, f32x4.add(loadLanes(t + off, n), loadLanes(s + off, n)), n);
    }
  }
}
