/**
 * Conformance of the row kernels (the embedding lookup and its gradient), every backend against the
 * reference, bit for bit: gatherRows copies, and scatterAddRows makes one float32 addition per element
 * in row order, which the reference's float64-then-round computes exactly as float32 would.
 *
 * Sizes: D = 1 … 33 (every tail of 4 and 16 lanes), repeated ids (the additions into one row must run
 * in row order), the skipped id present and absent, offsets into larger arrays with guard values
 * around every block. Ids from the backend's `allocateIndices` (the fast path) and from a plain
 * Int32Array (wasm's fallback). An id outside [0, V) is a RangeError on every backend, before any write.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Kernels } from "../../src/kernels/index.js";
import { referenceKernels } from "../../src/kernels/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { BACKENDS, assertBitIdentical } from "./conformance.js";

const GUARD = -12345.5;
const OFFSET = 3;

/** `values` at OFFSET in an array of the backend, with guard values around it. */
function placed(k: Kernels, values: Float32Array): Float32Array {
  const a = k.allocate(values.length + 2 * OFFSET);
  a.fill(GUARD);
  a.set(values, OFFSET);
  return a;
}

function placedIds(make: (n: number) => Int32Array, ids: Int32Array): Int32Array {
  const a = make(ids.length + 2 * OFFSET);
  a.fill(-7);
  a.set(ids, OFFSET);
  return a;
}

function randomValues(rng: Rng, n: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform(-2, 2);
  return v;
}

function assertGuards(a: Float32Array, n: number, what: string): void {
  for (let i = 0; i < a.length; i++) {
    if (i >= OFFSET && i < OFFSET + n) continue;
    if (a[i] !== GUARD) assert.fail(`${what}: element ${i} outside the block was written (${a[i]})`);
  }
}

interface RowsCase {
  N: number;
  D: number;
  V: number;
  table: Float32Array;
  src: Float32Array;
  ids: Int32Array;
  skipId: number;
}

function cases(): RowsCase[] {
  const rng = new Rng(41);
  const out: RowsCase[] = [];
  for (const D of [1, 3, 4, 5, 15, 16, 17, 33]) {
    for (const [N, V] of [[1, 1], [7, 3], [64, 10], [40, 100]] as const) {
      const ids = new Int32Array(N);
      for (let r = 0; r < N; r++) ids[r] = rng.int(V);
      const skipId = V > 1 && D % 2 === 1 ? ids[0]! : -1;
      out.push({ N, D, V, table: randomValues(rng, V * D), src: randomValues(rng, N * D), ids, skipId });
    }
  }
  return out;
}

function gather(k: Kernels, c: RowsCase, plainIds: boolean): Float32Array {
  const table = placed(k, c.table);
  const out = placed(k, new Float32Array(c.N * c.D));
  const ids = placedIds(plainIds ? (n) => new Int32Array(n) : (n) => k.allocateIndices(n), c.ids);
  k.gatherRows(c.N, c.D, c.V, table, OFFSET, ids, OFFSET, out, OFFSET);
  assertGuards(out, c.N * c.D, `${k.name} gatherRows out`);
  assertBitIdentical(table.subarray(OFFSET, OFFSET + c.V * c.D), c.table, `${k.name} gatherRows: the table is unchanged`);
  return out.slice(OFFSET, OFFSET + c.N * c.D);
}

function scatter(k: Kernels, c: RowsCase, plainIds: boolean): Float32Array {
  const table = placed(k, c.table);
  const src = placed(k, c.src);
  const ids = placedIds(plainIds ? (n) => new Int32Array(n) : (n) => k.allocateIndices(n), c.ids);
  k.scatterAddRows(c.N, c.D, c.V, src, OFFSET, ids, OFFSET, c.skipId, table, OFFSET);
  assertGuards(table, c.V * c.D, `${k.name} scatterAddRows table`);
  return table.slice(OFFSET, OFFSET + c.V * c.D);
}

describe("row kernels conformance (gatherRows, scatterAddRows)", () => {
  const all = cases();

  it("gatherRows copies the rows of the ids, on every backend", () => {
    for (const c of all) {
      const what = `gatherRows N=${c.N} D=${c.D} V=${c.V}`;
      const expected = new Float32Array(c.N * c.D);
      for (let r = 0; r < c.N; r++) expected.set(c.table.subarray(c.ids[r]! * c.D, (c.ids[r]! + 1) * c.D), r * c.D);
      for (const k of BACKENDS) {
        for (const plainIds of [false, true]) assertBitIdentical(gather(k, c, plainIds), expected, `${what} ${k.name}${plainIds ? " (plain ids)" : ""}`);
      }
    }
  });

  it("scatterAddRows adds in row order and skips skipId, bit-identical to the reference", () => {
    for (const c of all) {
      const what = `scatterAddRows N=${c.N} D=${c.D} V=${c.V} skip=${c.skipId}`;
      const expected = scatter(referenceKernels, c, true);
      // The reference itself against a by-hand float32 sum (Math.fround after each addition).
      const byHand = Float32Array.from(c.table);
      for (let r = 0; r < c.N; r++) {
        if (c.ids[r] === c.skipId) continue;
        for (let j = 0; j < c.D; j++) byHand[c.ids[r]! * c.D + j] = Math.fround(byHand[c.ids[r]! * c.D + j]! + c.src[r * c.D + j]!);
      }
      assertBitIdentical(expected, byHand, `${what} reference`);
      if (c.skipId >= 0) {
        const row = c.skipId * c.D;
        assertBitIdentical(expected.subarray(row, row + c.D), c.table.subarray(row, row + c.D), `${what}: the skipped row is unchanged`);
      }
      for (const k of BACKENDS) {
        for (const plainIds of [false, true]) assertBitIdentical(scatter(k, c, plainIds), expected, `${what} ${k.name}${plainIds ? " (plain ids)" : ""}`);
      }
    }
  });

  it("an id outside [0, V) is a RangeError naming it, before anything is written", () => {
    for (const k of BACKENDS) {
      for (const bad of [-1, 4, 2 ** 31 - 1]) {
        const ids = k.allocateIndices(3);
        ids.set([0, bad, 1]);
        const table = k.allocate(4 * 2).fill(1);
        const out = k.allocate(3 * 2).fill(5);
        assert.throws(() => k.gatherRows(3, 2, 4, table, 0, ids, 0, out, 0), (e: Error) => e instanceof RangeError && e.message.includes(`${bad}`), `${k.name} gatherRows id ${bad}`);
        assert.deepEqual([...out], [5, 5, 5, 5, 5, 5], `${k.name} gatherRows wrote before the check`);
        const src = k.allocate(3 * 2).fill(2);
        assert.throws(() => k.scatterAddRows(3, 2, 4, src, 0, ids, 0, -1, table, 0), (e: Error) => e instanceof RangeError && e.message.includes(`${bad}`), `${k.name} scatterAddRows id ${bad}`);
        assert.deepEqual([...table], [1, 1, 1, 1, 1, 1, 1, 1], `${k.name} scatterAddRows wrote before the check`);
      }
    }
  });

  it("the table's and the output's extents are checked", () => {
    for (const k of BACKENDS) {
      if (k.name === "reference") continue; // typed arrays bound the reference's writes; the fast kernels must check
      const ids = k.allocateIndices(2);
      ids.set([0, 3]);
      assert.throws(() => k.gatherRows(2, 2, 4, k.allocate(7), 0, ids, 0, k.allocate(4), 0), RangeError, `${k.name}: a table shorter than V·D`);
      assert.throws(() => k.gatherRows(2, 2, 4, k.allocate(8), 0, ids, 0, k.allocate(3), 0), RangeError, `${k.name}: out shorter than N·D`);
      assert.throws(() => k.scatterAddRows(2, 2, 4, k.allocate(4), 1, ids, 0, -1, k.allocate(8), 0), RangeError, `${k.name}: src past its end`);
    }
  });
});
