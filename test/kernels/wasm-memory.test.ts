/**
 * The wasm-simd backend's memory and argument handling:
 * - `allocate` hands out zeroed, 64-byte-aligned, disjoint views of the module's memory;
 * - growing the (shared) memory keeps every earlier array valid;
 * - a fixed (non-shared) memory fails with a clear message when exhausted, and its arrays stay valid;
 * - arrays outside the module's memory (plain Float32Arrays, arrays from before a backend switch) give
 *   bit-identical results to arrays inside it, for every kernel; Float64Arrays and overlapping copies
 *   run the reference; out-of-bounds offsets and bad sizes throw RangeError before any pointer is used.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Kernels, createWasmKernelsSync, referenceKernels } from "../../src/kernels/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { assertBitIdentical, checkKernel, wasmKernels } from "./conformance.js";

describe("wasm-simd memory", () => {
  it("allocate: zeroed, aligned, disjoint views of the module's memory", () => {
    const arrays = [1, 3, 17, 1000, 0, 5].map((n) => wasmKernels.allocate(n));
    for (const a of arrays) {
      assert.ok(wasmKernels.owns(a));
      assert.equal(a.byteOffset % 64, 0);
      assert.ok(a.every((v) => v === 0));
    }
    for (let i = 0; i < arrays.length; i++) arrays[i]!.fill(i + 1);
    arrays.forEach((a, i) => assert.ok(a.every((v) => v === i + 1), `array ${i} overwritten`));
    assert.ok(!wasmKernels.owns(new Float32Array(4)));
    assert.throws(() => wasmKernels.allocate(-1), RangeError);
  });

  it("growing the shared memory keeps earlier arrays valid", () => {
    const k = createWasmKernelsSync();
    assert.match(k.description, /shared memory/);
    const early = k.allocate(1000).fill(7);
    const before = k.memoryInUse();
    const big = k.allocate(48 * 1048576 / 4); // forces the memory to grow
    assert.ok(k.memoryInUse() >= before + 48 * 1048576);
    assert.equal(early.length, 1000);
    assert.ok(early.every((v) => v === 7));
    big[big.length - 1] = 1;
    // The early array still computes: C = early(1×1000) · early(1000×1)ᵀ.
    const C = k.allocate(1);
    k.gemm(false, true, 1, 1, 1000, early, 0, 1000, early, 0, 1000, false, C, 0, 1);
    assert.equal(C[0], 49000);
  });

  it("a fixed memory (no SharedArrayBuffer) fails clearly when exhausted", () => {
    const k = createWasmKernelsSync({ shared: false, maximumMiB: 16 });
    assert.match(k.description, /fixed memory of 16 MiB/);
    const kept = k.allocate(1024).fill(3);
    assert.throws(() => k.allocate(16 * 1048576 / 4), (e: unknown) =>
      e instanceof RangeError && /out of WebAssembly memory/.test(e.message) && /BPTT_BACKEND=reference/.test(e.message));
    assert.ok(kept.every((v) => v === 3), "arrays survive the failed allocation");
    const C = k.allocate(1);
    k.gemm(false, true, 1, 1, 1024, kept, 0, 1024, kept, 0, 1024, false, C, 0, 1);
    assert.equal(C[0], 9216);
  });
});

/** wasm-simd computing on plain Float32Arrays (copied in and out around each call). */
const plainArrays: Kernels = { ...wasmKernels, name: "wasm-simd on plain arrays", allocate: (n: number) => new Float32Array(n) };

describe("wasm-simd on arrays outside its memory", () => {
  const specsAndCalls: [string, Parameters<typeof checkKernel>[1], Parameters<typeof checkKernel>[2]][] = [
    ["gemm NT", [{ name: "A", length: 5 * 7, fill: 1 }, { name: "B", length: 9 * 7, fill: 1 }, { name: "C", length: 5 * 9, fill: 1 }],
      (k, a, o) => k.gemm(false, true, 5, 9, 7, a.A!, o, 7, a.B!, o, 7, true, a.C!, o, 9)],
    ["gemm TN", [{ name: "A", length: 20 * 18, fill: 1 }, { name: "B", length: 20 * 9, fill: 1 }, { name: "C", length: 18 * 9, fill: 1 }],
      (k, a, o) => k.gemm(true, false, 18, 9, 20, a.A!, o, 18, a.B!, o, 9, false, a.C!, o, 9)],
    ["addRowVector", [{ name: "C", length: 15, fill: 1 }, { name: "bias", length: 5, fill: 1 }],
      (k, a, o) => k.addRowVector(3, 5, a.C!, o, a.bias!, o)],
    ["sumRowsInto", [{ name: "A", length: 15, fill: 1 }, { name: "out", length: 5, fill: 1 }],
      (k, a, o) => k.sumRowsInto(3, 5, a.A!, o, a.out!, o)],
    ["sumSquares", [{ name: "a", length: 13, fill: 1 }, { name: "b", length: 13, fill: 1 }],
      (k, a, o) => k.sumSquares(13, a.a!, o, a.b!, o)],
    ["lstmStepForward", [
      { name: "gates", length: 4 * 15, fill: 3 }, { name: "peephole", length: 15, fill: 1 },
      { name: "cPrev", length: 15, fill: 1 }, { name: "hPrev", length: 15, fill: 1 }, { name: "mask", length: 3, fill: "mask" },
      { name: "c", length: 15, fill: 1 }, { name: "h", length: 15, fill: 1 }, { name: "out", length: 15, fill: 1 },
    ], (k, a, o) =>
      k.lstmStepForward(3, 5, a.gates!, o, a.peephole!, o, a.cPrev!, o, a.hPrev!, o, a.mask!, o, a.c!, o, a.h!, o, a.out!, o)],
    ["lstmStepBackward", [
      { name: "gates", length: 4 * 15, fill: 1 }, { name: "peephole", length: 15, fill: 1 },
      { name: "cPrev", length: 15, fill: 1 }, { name: "c", length: 15, fill: 1 }, { name: "dOut", length: 15, fill: 1 },
      { name: "mask", length: 3, fill: "mask" }, { name: "dh", length: 15, fill: 1 }, { name: "dc", length: 15, fill: 1 },
      { name: "dGates", length: 4 * 15, fill: 1 }, { name: "dPeephole", length: 15, fill: 1 },
    ], (k, a, o) => k.lstmStepBackward(
      3, 5, a.gates!, o, a.peephole!, o, a.cPrev!, o, a.c!, o, a.dOut!, o, a.mask!, o, a.dh!, o, a.dc!, o,
      a.dGates!, o, a.dPeephole!, o,
    )],
    ["gruStepForward", [
      { name: "x", length: 3 * 15, fill: 3 }, { name: "hg", length: 3 * 15, fill: 3 }, { name: "hPrev", length: 15, fill: 1 },
      { name: "mask", length: 3, fill: "mask" }, { name: "h", length: 15, fill: 1 }, { name: "out", length: 15, fill: 1 },
    ], (k, a, o) => k.gruStepForward(3, 5, a.x!, o, a.hg!, o, a.hPrev!, o, a.mask!, o, a.h!, o, a.out!, o)],
    ["gruStepBackward", [
      { name: "gates", length: 3 * 15, fill: 1 }, { name: "hg", length: 3 * 15, fill: 1 }, { name: "hPrev", length: 15, fill: 1 },
      { name: "dOut", length: 15, fill: 1 }, { name: "mask", length: 3, fill: "mask" }, { name: "dh", length: 15, fill: 1 },
      { name: "dx", length: 3 * 15, fill: 1 }, { name: "dhg", length: 3 * 15, fill: 1 },
    ], (k, a, o) => k.gruStepBackward(3, 5, a.gates!, o, a.hg!, o, a.hPrev!, o, a.dOut!, o, a.mask!, o, a.dh!, o, a.dx!, o, a.dhg!, o)],
    ["rnnStepForward", [
      { name: "pre", length: 15, fill: 3 }, { name: "hPrev", length: 15, fill: 1 }, { name: "mask", length: 3, fill: "mask" },
      { name: "h", length: 15, fill: 1 }, { name: "out", length: 15, fill: 1 },
    ], (k, a, o) => k.rnnStepForward(3, 5, false, a.pre!, o, a.hPrev!, o, a.mask!, o, a.h!, o, a.out!, o)],
    ["rnnStepBackward", [
      { name: "h", length: 15, fill: 1 }, { name: "dOut", length: 15, fill: 1 }, { name: "mask", length: 3, fill: "mask" },
      { name: "dh", length: 15, fill: 1 }, { name: "dPre", length: 15, fill: 1 },
    ], (k, a, o) => k.rnnStepBackward(3, 5, false, a.h!, o, a.dOut!, o, a.mask!, o, a.dh!, o, a.dPre!, o)],
  ];

  for (const [name, specs, call] of specsAndCalls) {
    it(`${name}: plain Float32Arrays give the same bits as arrays in wasm memory`, () => {
      const results = checkKernel(name, specs, call, { rtol: 1e-5, atol: 1e-5 }, new Rng(41), [wasmKernels, plainArrays]);
      const inside = results.get("wasm-simd")!;
      const outside = results.get("wasm-simd on plain arrays")!;
      for (const spec of specs) {
        if (inside[spec.name]) assertBitIdentical(outside[spec.name]!, inside[spec.name]!, `${name}: ${spec.name}`);
      }
    });
  }

  it("mixed: some arguments inside, some outside (a model's weights in memory, the user's input not)", () => {
    const rng = new Rng(42);
    const x = new Float32Array(6 * 4).map(() => rng.uniform(-1, 1));
    const w = wasmKernels.allocate(5 * 4).map(() => rng.uniform(-1, 1));
    const inside = wasmKernels.allocate(6 * 5);
    const xInside = wasmKernels.allocate(x.length);
    xInside.set(x);
    wasmKernels.gemm(false, true, 6, 5, 4, xInside, 0, 4, w, 0, 4, false, inside, 0, 5);
    const outside = new Float32Array(6 * 5);
    wasmKernels.gemm(false, true, 6, 5, 4, x, 0, 4, w, 0, 4, false, outside, 0, 5);
    assertBitIdentical(outside, inside, "x·Wᵀ");
  });

  it("overlapping outside arguments run the reference (in-place state update)", () => {
    const rng = new Rng(43);
    const state = new Float32Array(2 * 15).map(() => rng.uniform(-2, 2));
    const expected = state.slice();
    // h written over its own pre-activations: pre and h are the same outside array.
    referenceKernels.rnnStepForward(3, 5, false, expected, 0, expected, 15, null, 0, expected, 0, expected, 15);
    wasmKernels.rnnStepForward(3, 5, false, state, 0, state, 15, null, 0, state, 0, state, 15);
    assertBitIdentical(state, expected, "in-place rnnStepForward");
  });

  it("Float64Array arguments (the float64 test backend) run the reference", () => {
    const a = Float64Array.from([1, 2, 3, 4]) as unknown as Float32Array;
    const c = new Float64Array(4) as unknown as Float32Array;
    wasmKernels.gemm(false, false, 2, 2, 2, a, 0, 2, a, 0, 2, false, c, 0, 2);
    assert.deepEqual([...c], [7, 10, 15, 22]);
    assert.equal(wasmKernels.sumSquares(4, a, 0, null, 0), 30);
  });

  it("bad offsets and sizes throw RangeError before touching memory", () => {
    const A = wasmKernels.allocate(6);
    const C = wasmKernels.allocate(4);
    assert.throws(() => wasmKernels.gemm(false, false, 2, 2, 3, A, 1, 3, A, 0, 2, false, C, 0, 2), /gemm: A needs 6 elements from offset 1, but has 6/);
    assert.throws(() => wasmKernels.gemm(false, false, 2, 2, 2, A, 0, 2, A, 0, 2, false, C, 1, 2), /gemm: C needs 4 elements from offset 1/);
    assert.throws(() => wasmKernels.gemm(false, false, 2.5, 2, 2, A, 0, 2, A, 0, 2, false, C, 0, 2), /M must be a non-negative integer/);
    assert.throws(() => wasmKernels.addRowVector(2, 2, C, -1, A, 0), /C offset must be a non-negative integer/);
    assert.throws(() => wasmKernels.rnnStepForward(2, 3, false, A, 0, A, 0, C, 3, A, 0, A, 0), /mask needs 2 elements from offset 3, but has 4/);
    assert.deepEqual([...C], [0, 0, 0, 0]);
  });
});
