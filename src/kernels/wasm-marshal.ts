/**
 * How the wasm-simd backend passes arrays to the module (its exports, `WasmExports`, take byte
 * addresses in its linear memory), for the glue that scripts/build-glue.mjs generates from the kernel
 * table (wasm-calls.generated.ts):
 * - common path: `address` checks an argument's block against its array's bounds and returns its
 *   address, allocating nothing;
 * - slow path, for arguments outside the module's memory: each is described as rows × cols elements
 *   with a row stride (`Arg`), copied into scratch space (compactly, row by row) before the call and,
 *   when written, copied back after it (`Marshal`). Where copies cannot stand in for the arrays — an
 *   argument that is not a Float32Array, or two copied arguments overlapping where one is written (an
 *   in-place update) — the reference kernel runs instead.
 */
import type { KernelMemory } from "./wasm-memory.js";
import type { WasmKernelTargets } from "./wasm-calls.generated.js";

/**
 * The exports of wasm/index.ts. Pointers are byte addresses; booleans are 0/1. The table's kernels take
 * the arguments `WasmKernelTargets` lists, except two: gemm takes a workspace as well, and
 * softmaxCrossEntropy returns the loss and leaves the hits in `softmaxHits`.
 */
export interface WasmExports extends Omit<WasmKernelTargets, "gemm" | "softmaxCrossEntropy"> {
  heapBase(): number;
  GEMM_WORKSPACE_BYTES: { value: number };
  gemm(
    transA: number, transB: number, M: number, N: number, K: number, a: number, lda: number, b: number, ldb: number,
    accumulate: number, c: number, ldc: number, work: number,
  ): void;
  softmaxCrossEntropy(
    N: number, C: number, logits: number, targets: number, weights: number, ignoreIndex: number, scale: number,
    dLogits: number,
  ): number;
  /** The second result of softmaxCrossEntropy: rows predicted right in the last call. */
  softmaxHits: { value: number };
  /** out = exp | σ | tanh (kind 0 | 1 | 2) of x, for the accuracy tests. */
  activate(kind: number, n: number, x: number, out: number): void;
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

/** A number the module can take as an int32 (else the kernel runs on the reference). */
export function isInt32(value: number): boolean {
  return Number.isInteger(value) && Math.abs(value) < 2 ** 31;
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
