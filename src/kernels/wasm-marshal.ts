/**
 * How the wasm-simd backend passes arrays to the module (its exports, `WasmExports`, take byte
 * addresses in its linear memory):
 * - common path (wasm.ts): `address` checks an argument's block against its array's bounds and
 *   returns its address, allocating nothing;
 * - slow path (`slowPaths`), for arguments outside the module's memory: each is described as rows ×
 *   cols elements with a row stride (`Arg`), copied into scratch space (compactly, row by row) before
 *   the call and, when written, copied back after it. Where copies cannot stand in for the arrays — an
 *   argument that is not a Float32Array, or two copied arguments overlapping where one is written (an
 *   in-place update) — the reference kernel runs instead.
 */
import type { Kernels } from "./kernels.js";
import { referenceKernels } from "./reference.js";
import type { KernelMemory } from "./wasm-memory.js";

/** The exports of wasm/index.ts. Pointers are byte addresses; booleans are 0/1. */
export interface WasmExports {
  heapBase(): number;
  GEMM_WORKSPACE_BYTES: { value: number };
  gemm(
    transA: number, transB: number, M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number,
    accumulate: number, c: number, ldc: number, work: number,
  ): void;
  addRowVector(M: number, N: number, c: number, bias: number): void;
  sumRowsInto(M: number, N: number, a: number, out: number): void;
  sumSquares(n: number, a: number, b: number): number;
  gatherRows(N: number, D: number, table: number, ids: number, out: number): void;
  scatterAddRows(N: number, D: number, src: number, ids: number, skipId: number, table: number): void;
  rnnStepForward(B: number, H: number, relu: number, pre: number, hPrev: number, mask: number, h: number, out: number): void;
  rnnStepBackward(B: number, H: number, relu: number, h: number, dOut: number, mask: number, dh: number, dPre: number): void;
  lstmStepForward(B: number, H: number, gates: number, cPrev: number, hPrev: number, mask: number, c: number, h: number, out: number): void;
  lstmStepBackward(
    B: number, H: number, gates: number, cPrev: number, c: number, dOut: number, mask: number, dh: number, dc: number, dGates: number,
  ): void;
  gruStepForward(B: number, H: number, xGates: number, hGates: number, hPrev: number, mask: number, h: number, out: number): void;
  gruStepBackward(
    B: number, H: number, gates: number, hGates: number, hPrev: number, dOut: number, mask: number,
    dh: number, dXGates: number, dHGates: number,
  ): void;
  activate(kind: number, n: number, x: number, out: number): void;
  softmaxCrossEntropy(N: number, C: number, logits: number, targets: number, weights: number, ignoreIndex: number, scale: number, dLogits: number): number;
  /** The second result of softmaxCrossEntropy: rows predicted right in the last call. */
  softmaxHits: { value: number };
  adamStep(
    n: number, theta: number, grad: number, m: number, v: number, vMax: number,
    beta1: number, beta2: number, eps: number, stepSize: number, biasCorrection2Sqrt: number, l2: number, shrink: number,
  ): void;
}

/** Argument directions: read, written, both. */
export const IN = 1;
export const OUT = 2;
export const INOUT = IN | OUT;

/** One array argument: rows × cols elements with row stride ld, starting at offset. */
export interface Arg {
  name: string;
  array: Float32Array | null;
  offset: number;
  rows: number;
  cols: number;
  ld: number;
  mode: number;
}

export function vector(name: string, array: Float32Array | null, offset: number, length: number, mode: number): Arg {
  return { name, array, offset, rows: 1, cols: length, ld: length, mode };
}

export function matrix(name: string, array: Float32Array, offset: number, rows: number, cols: number, ld: number, mode: number): Arg {
  return { name, array, offset, rows, cols, ld, mode };
}

function span(arg: Arg): number {
  return arg.rows > 0 && arg.cols > 0 ? (arg.rows - 1) * arg.ld + arg.cols : 0;
}

export function requireCount(kernel: string, name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${kernel}: ${name} must be a non-negative integer, got ${value}`);
}

/** `address` of a Float32Array outside the module's memory: the call needs copies. */
export const FOREIGN = -1;
/** `address` of an array that is not a Float32Array: the call runs on the reference. */
export const NOT_FLOAT32 = -2;

/**
 * The byte address of array[offset] in the module's memory, after checking that the block of rows ×
 * cols elements with row stride ld lies within the array (RangeError otherwise); 0 for a null array,
 * FOREIGN or NOT_FLOAT32 when the array cannot be addressed. Allocates nothing: this is the check every
 * kernel call makes.
 */
export function address(
  memory: KernelMemory, kernel: string, name: string, array: Float32Array | null, offset: number, rows: number, cols: number, ld: number,
): number {
  if (array === null) return 0;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`${kernel}: ${name} offset must be a non-negative integer, got ${offset}`);
  if (!Number.isSafeInteger(ld) || ld < 0) throw new RangeError(`${kernel}: ${name} leading dimension must be a non-negative integer, got ${ld}`);
  const n = rows > 0 && cols > 0 ? (rows - 1) * ld + cols : 0;
  if (n > 0 && offset + n > array.length) {
    throw new RangeError(`${kernel}: ${name} needs ${n} elements from offset ${offset}, but has ${array.length}`);
  }
  if (!(array instanceof Float32Array)) return NOT_FLOAT32;
  return memory.contains(array) ? array.byteOffset + offset * 4 : FOREIGN;
}

export interface Staging {
  /** Byte address per argument (0 for null). */
  pointers: number[];
  /** Leading dimension per argument as the module sees it (compact for copied arguments). */
  lds: number[];
  /** Copies the written arguments back after the call. */
  finish(): void;
}

export class Marshal {
  private readonly memory: KernelMemory;
  private scratch = 0;
  private scratchBytes = 0;
  /** Calls that ran on copies, and calls that ran on the reference (diagnostics: both should be rare). */
  copied = 0;
  onReference = 0;

  constructor(memory: KernelMemory) {
    this.memory = memory;
  }

  /**
   * Pointers for `args` (bounds already checked by `address`), copying the arguments that live outside the module's
   * memory into scratch space. Returns null when the call must run on the reference instead: an
   * argument that is not a Float32Array, or two copied arguments that overlap where one is written.
   */
  prepare(args: readonly Arg[]): Staging | null {
    const pointers: number[] = [];
    const lds: number[] = [];
    let foreign: Arg[] | null = null;
    for (const arg of args) {
      const a = arg.array;
      if (a === null) {
        pointers.push(0);
      } else if (!(a instanceof Float32Array)) {
        return null;
      } else if (this.memory.contains(a)) {
        pointers.push(a.byteOffset + arg.offset * 4);
      } else {
        (foreign ??= []).push(arg);
        pointers.push(-1);
      }
      lds.push(arg.ld);
    }
    if (foreign === null) return { pointers, lds, finish: noop };
    if (overlapping(foreign)) return null;

    let bytes = 0;
    for (const arg of foreign) bytes += align64(arg.rows * arg.cols * 4);
    const base = this.scratchSpace(bytes);
    const heap = new Float32Array(this.memory.memory.buffer);
    let at = base;
    const copies: { arg: Arg; address: number }[] = [];
    for (let i = 0; i < args.length; i++) {
      if (pointers[i] !== -1) continue;
      const arg = args[i]!;
      pointers[i] = at;
      lds[i] = arg.cols;
      if (arg.mode & IN) copyRows(arg.array!, arg.offset, arg.ld, heap, at / 4, arg.cols, arg.rows, arg.cols);
      if (arg.mode & OUT) copies.push({ arg, address: at });
      at += align64(arg.rows * arg.cols * 4);
    }
    return {
      pointers,
      lds,
      finish: () => {
        const out = new Float32Array(this.memory.memory.buffer);
        for (const { arg, address } of copies) copyRows(out, address / 4, arg.cols, arg.array!, arg.offset, arg.ld, arg.rows, arg.cols);
      },
    };
  }

  private scratchSpace(bytes: number): number {
    if (bytes > this.scratchBytes) {
      // The allocator never frees; doubling bounds the waste by the largest staging ever needed.
      this.scratchBytes = Math.max(bytes, 2 * this.scratchBytes, 65536);
      this.scratch = this.memory.reserve(this.scratchBytes);
    }
    return this.scratch;
  }
}

function noop(): void {}

function align64(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/** dst[dOff + r·dLd + j] = src[sOff + r·sLd + j] for r < rows, j < cols. */
function copyRows(src: Float32Array, sOff: number, sLd: number, dst: Float32Array, dOff: number, dLd: number, rows: number, cols: number): void {
  if (rows === 1 || (sLd === cols && dLd === cols)) {
    dst.set(src.subarray(sOff, sOff + rows * cols), dOff);
    return;
  }
  for (let r = 0; r < rows; r++) dst.set(src.subarray(sOff + r * sLd, sOff + r * sLd + cols), dOff + r * dLd);
}

/** Whether two of the copied arguments share bytes of one buffer while one of them is written. */
function overlapping(args: readonly Arg[]): boolean {
  for (let i = 0; i < args.length; i++) {
    for (let j = i + 1; j < args.length; j++) {
      const a = args[i]!;
      const b = args[j]!;
      if (a.array!.buffer !== b.array!.buffer || ((a.mode | b.mode) & OUT) === 0) continue;
      const aStart = a.array!.byteOffset + a.offset * 4;
      const bStart = b.array!.byteOffset + b.offset * 4;
      if (aStart < bStart + span(b) * 4 && bStart < aStart + span(a) * 4) return true;
    }
  }
  return false;
}

/**
 * The kernels' slow paths, for calls with an argument outside the module's memory: the call runs on
 * pointers to copies, or on the reference kernel where copies cannot stand in for the arrays. Kept
 * apart from the kernels (wasm.ts) so that those create no closures, and so allocate nothing, on the
 * common path.
 */
export function slowPaths(
  w: WasmExports, marshal: Marshal, work: number,
): Omit<Kernels, "name" | "allocate" | "allocateIndices" | "gatherRows" | "scatterAddRows" | "softmaxCrossEntropy" | "adamStep"> {
  const ref = referenceKernels;

  function staged(args: readonly Arg[], call: (p: number[], ld: number[]) => void, fallback: () => void): void {
    const staging = marshal.prepare(args);
    if (staging === null) {
      marshal.onReference++;
      fallback();
      return;
    }
    marshal.copied++;
    call(staging.pointers, staging.lds);
    staging.finish();
  }

  return {
    gemm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, accumulate, C, cOff, ldc) {
      staged(
        [
          transA ? matrix("A", A, aOff, K, M, lda, IN) : matrix("A", A, aOff, M, K, lda, IN),
          transB ? matrix("B", B, bOff, N, K, ldb, IN) : matrix("B", B, bOff, K, N, ldb, IN),
          matrix("C", C, cOff, M, N, ldc, accumulate ? INOUT : OUT),
        ],
        (p, ld) => w.gemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, p[0]!, ld[0]!, p[1]!, ld[1]!, accumulate ? 1 : 0, p[2]!, ld[2]!, work),
        () => ref.gemm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, accumulate, C, cOff, ldc),
      );
    },
    addRowVector(M, N, C, cOff, bias, biasOff) {
      staged(
        [vector("C", C, cOff, M * N, INOUT), vector("bias", bias, biasOff, N, IN)],
        (p) => w.addRowVector(M, N, p[0]!, p[1]!),
        () => ref.addRowVector(M, N, C, cOff, bias, biasOff),
      );
    },
    sumSquares(n, a, aOff, b, bOff) {
      let result = 0;
      staged(
        [vector("a", a, aOff, n, IN), vector("b", b, bOff, n, IN)],
        (p) => (result = w.sumSquares(n, p[0]!, p[1]!)),
        () => (result = ref.sumSquares(n, a, aOff, b, bOff)),
      );
      return result;
    },
    sumRowsInto(M, N, A, aOff, out, outOff) {
      staged(
        [vector("A", A, aOff, M * N, IN), vector("out", out, outOff, N, INOUT)],
        (p) => w.sumRowsInto(M, N, p[0]!, p[1]!),
        () => ref.sumRowsInto(M, N, A, aOff, out, outOff),
      );
    },
    rnnStepForward(B, H, relu, pre, preOff, hPrev, hPrevOff, mask, maskOff, h, hOff, out, outOff) {
      const BH = B * H;
      staged(
        [
          vector("pre", pre, preOff, BH, IN), vector("hPrev", hPrev, hPrevOff, BH, IN), vector("mask", mask, maskOff, B, IN),
          vector("h", h, hOff, BH, OUT), vector("out", out, outOff, BH, OUT),
        ],
        (p) => w.rnnStepForward(B, H, relu ? 1 : 0, p[0]!, p[1]!, p[2]!, p[3]!, p[4]!),
        () => ref.rnnStepForward(B, H, relu, pre, preOff, hPrev, hPrevOff, mask, maskOff, h, hOff, out, outOff),
      );
    },
    rnnStepBackward(B, H, relu, h, hOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dPre, dPreOff) {
      const BH = B * H;
      staged(
        [
          vector("h", h, hOff, BH, IN), vector("dOut", dOut, dOutOff, BH, IN), vector("mask", mask, maskOff, B, IN),
          vector("dh", dh, dhOff, BH, INOUT), vector("dPre", dPre, dPreOff, BH, OUT),
        ],
        (p) => w.rnnStepBackward(B, H, relu ? 1 : 0, p[0]!, p[1]!, p[2]!, p[3]!, p[4]!),
        () => ref.rnnStepBackward(B, H, relu, h, hOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dPre, dPreOff),
      );
    },
    lstmStepForward(B, H, gates, gOff, cPrev, cPrevOff, hPrev, hPrevOff, mask, maskOff, c, cOff, h, hOff, out, outOff) {
      const BH = B * H;
      staged(
        [
          vector("gates", gates, gOff, 4 * BH, INOUT), vector("cPrev", cPrev, cPrevOff, BH, IN),
          vector("hPrev", hPrev, hPrevOff, BH, IN), vector("mask", mask, maskOff, B, IN),
          vector("c", c, cOff, BH, OUT), vector("h", h, hOff, BH, OUT), vector("out", out, outOff, BH, OUT),
        ],
        (p) => w.lstmStepForward(B, H, p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!),
        () => ref.lstmStepForward(B, H, gates, gOff, cPrev, cPrevOff, hPrev, hPrevOff, mask, maskOff, c, cOff, h, hOff, out, outOff),
      );
    },
    lstmStepBackward(B, H, gates, gOff, cPrev, cPrevOff, c, cOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dc, dcOff, dGates, dgOff) {
      const BH = B * H;
      staged(
        [
          vector("gates", gates, gOff, 4 * BH, IN), vector("cPrev", cPrev, cPrevOff, BH, IN), vector("c", c, cOff, BH, IN),
          vector("dOut", dOut, dOutOff, BH, IN), vector("mask", mask, maskOff, B, IN),
          vector("dh", dh, dhOff, BH, INOUT), vector("dc", dc, dcOff, BH, INOUT), vector("dGates", dGates, dgOff, 4 * BH, OUT),
        ],
        (p) => w.lstmStepBackward(B, H, p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!, p[7]!),
        () => ref.lstmStepBackward(B, H, gates, gOff, cPrev, cPrevOff, c, cOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dc, dcOff, dGates, dgOff),
      );
    },
    gruStepForward(B, H, xGates, xOff, hGates, hgOff, hPrev, hPrevOff, mask, maskOff, h, hOff, out, outOff) {
      const BH = B * H;
      staged(
        [
          vector("xGates", xGates, xOff, 3 * BH, INOUT), vector("hGates", hGates, hgOff, 3 * BH, IN),
          vector("hPrev", hPrev, hPrevOff, BH, IN), vector("mask", mask, maskOff, B, IN),
          vector("h", h, hOff, BH, OUT), vector("out", out, outOff, BH, OUT),
        ],
        (p) => w.gruStepForward(B, H, p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!),
        () => ref.gruStepForward(B, H, xGates, xOff, hGates, hgOff, hPrev, hPrevOff, mask, maskOff, h, hOff, out, outOff),
      );
    },
    gruStepBackward(B, H, gates, gOff, hGates, hgOff, hPrev, hPrevOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dXGates, dxOff, dHGates, dhgOff) {
      const BH = B * H;
      staged(
        [
          vector("gates", gates, gOff, 3 * BH, IN), vector("hGates", hGates, hgOff, 3 * BH, IN),
          vector("hPrev", hPrev, hPrevOff, BH, IN), vector("dOut", dOut, dOutOff, BH, IN), vector("mask", mask, maskOff, B, IN),
          vector("dh", dh, dhOff, BH, INOUT), vector("dXGates", dXGates, dxOff, 3 * BH, OUT), vector("dHGates", dHGates, dhgOff, 3 * BH, OUT),
        ],
        (p) => w.gruStepBackward(B, H, p[0]!, p[1]!, p[2]!, p[3]!, p[4]!, p[5]!, p[6]!, p[7]!),
        () => ref.gruStepBackward(B, H, gates, gOff, hGates, hgOff, hPrev, hPrevOff, dOut, dOutOff, mask, maskOff, dh, dhOff, dXGates, dxOff, dHGates, dhgOff),
      );
    },
  };
}
