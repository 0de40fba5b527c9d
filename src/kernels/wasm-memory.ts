/**
 * The linear memory of the WebAssembly backend and its allocator.
 *
 * Every array the backend computes on is a Float32Array view of this memory, handed out by
 * `allocate`. Growing a WebAssembly memory replaces its buffer, and for an ordinary (non-shared)
 * memory that detaches every existing view — all arrays handed out so far would become empty. Hence:
 *
 * - shared memory (where SharedArrayBuffer exists: Node.js, cross-origin-isolated pages): declared
 *   with a large maximum and grown on demand; growing a shared memory keeps existing views valid. It
 *   is also what worker threads will need to run parts of a GEMM on the same arrays.
 * - otherwise a fixed memory, reserved at start-up and never grown; allocation fails with a clear
 *   error when it is exhausted.
 *
 * The allocator only moves forward (arrays are never freed): bptt allocates its buffers once and
 * reuses them across chunks, which this rewards. Blocks are 64-byte aligned (a cache line).
 */

/** The part of the WebAssembly JS API this backend uses (the project's `lib` has no DOM typings). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
export interface WasmModule {
  readonly __brand?: "WebAssembly.Module";
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => WasmInstance;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<WasmInstance>;
  validate(bytes: Uint8Array): boolean;
}

/** The global WebAssembly object, or null where there is none. */
export function webAssembly(): WasmApi | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return typeof api === "object" && api !== null ? api : null;
}

export const PAGE_BYTES = 65536;
const ALIGN = 64;
/** wasm32 addresses 4 GiB: 65536 pages. */
export const MAX_PAGES = 65536;

export interface MemoryOptions {
  /** Shared memory (growable, keeps views valid) when available. Default true. */
  shared?: boolean;
  /** Upper bound of a shared memory, or the fixed size of a non-shared one, in MiB. Defaults 4096 and 1024. */
  maximumMiB?: number;
}

export class KernelMemory {
  readonly memory: WasmMemory;
  readonly shared: boolean;
  readonly maximumBytes: number;
  /** Every ArrayBuffer object the memory has exposed (a new one after each growth). */
  private readonly buffers = new WeakSet<object>();
  private top: number;
  private arrays = 0;

  private constructor(memory: WasmMemory, shared: boolean, maximumBytes: number) {
    this.memory = memory;
    this.shared = shared;
    this.maximumBytes = maximumBytes;
    this.top = ALIGN;
    this.buffers.add(memory.buffer);
  }

  /**
   * A memory for the backend: shared if possible (trying smaller maxima where a large reservation
   * fails), else a fixed one.
   */
  static create(api: WasmApi, options: MemoryOptions = {}): KernelMemory {
    const errors: string[] = [];
    if (options.shared !== false && typeof SharedArrayBuffer === "function") {
      const requested = Math.min(MAX_PAGES, Math.max(1, Math.floor(((options.maximumMiB ?? 4096) * 1048576) / PAGE_BYTES)));
      for (let maximum = requested; maximum >= 1024; maximum = Math.floor(maximum / 2)) {
        try {
          const memory = new api.Memory({ initial: 32, maximum, shared: true });
          return new KernelMemory(memory, true, maximum * PAGE_BYTES);
        } catch (error) {
          errors.push(`shared ${maximum / 16} MiB: ${(error as Error).message}`);
        }
      }
    }
    const fixed = Math.min(MAX_PAGES, Math.max(32, Math.floor(((options.maximumMiB ?? 1024) * 1048576) / PAGE_BYTES)));
    for (let pages = fixed; pages >= 256; pages = Math.floor(pages / 2)) {
      try {
        const memory = new api.Memory({ initial: pages, maximum: pages });
        return new KernelMemory(memory, false, pages * PAGE_BYTES);
      } catch (error) {
        errors.push(`fixed ${pages / 16} MiB: ${(error as Error).message}`);
      }
    }
    throw new Error(`bptt wasm-simd: could not reserve a WebAssembly memory (${errors.join("; ")})`);
  }

  /** Keeps the first `bytes` bytes (the module's static data) out of the allocator's reach. */
  reserveStatic(bytes: number): void {
    this.top = Math.max(this.top, alignUp(bytes, ALIGN));
  }

  /** Whether `array` is a view of this memory (so the kernels can address it directly). */
  contains(array: ArrayBufferView): boolean {
    return this.buffers.has(array.buffer);
  }

  /** Bytes handed out so far (including alignment). */
  get usedBytes(): number {
    return this.top;
  }

  /** A zero-filled float array of `length` elements in this memory. */
  allocate(length: number): Float32Array {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`allocate: length must be a non-negative integer, got ${length}`);
    const start = this.reserve(length * 4);
    this.arrays++;
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return new Float32Array(buffer, start, length);
  }

  /** A zero-filled int32 array of `length` elements in this memory. */
  allocateIndices(length: number): Int32Array {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`allocateIndices: length must be a non-negative integer, got ${length}`);
    const start = this.reserve(length * 4);
    this.arrays++;
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return new Int32Array(buffer, start, length);
  }

  /** `bytes` bytes of (zeroed, never reused) memory; returns the byte address. */
  reserve(bytes: number): number {
    const start = this.top;
    const end = start + alignUp(Math.max(bytes, 0), ALIGN);
    if (end > this.memory.buffer.byteLength) this.growTo(end, bytes);
    this.top = end;
    return start;
  }

  private growTo(end: number, requested: number): void {
    const current = this.memory.buffer.byteLength;
    const exhausted = (): Error => new RangeError(
      `bptt wasm-simd: out of WebAssembly memory: ${requested} bytes requested with ${this.top} of ` +
      `${this.maximumBytes} bytes in use (${this.arrays} arrays${this.shared ? "" : ", fixed-size memory: no SharedArrayBuffer here"}). ` +
      "Arrays from kernels().allocate are never freed: allocate them once and reuse them, " +
      "or choose the reference backend (BPTT_BACKEND=reference, or setKernels(referenceKernels)).",
    );
    if (!this.shared || end > this.maximumBytes) throw exhausted();
    // Grow by at least half the current size, so that many small allocations grow rarely.
    const target = Math.min(this.maximumBytes, Math.max(end, current + Math.floor(current / 2)));
    try {
      this.memory.grow(Math.ceil((target - current) / PAGE_BYTES));
    } catch {
      try {
        this.memory.grow(Math.ceil((end - current) / PAGE_BYTES));
      } catch {
        throw exhausted();
      }
    }
    this.buffers.add(this.memory.buffer);
  }
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
