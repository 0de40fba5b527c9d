/**
 * Named scratch buffers that grow once and are then reused: the way caches and trainers keep
 * activations and gradients without allocating in the hot loop. Buffers come from the active kernel
 * backend (`kernels().allocate`), so a fast backend computes on them in place.
 */
import { kernels } from "../kernels/index.js";

export class Buffers {
  private readonly byName = new Map<string, Float32Array>();

  /**
   * A buffer of exactly `length` floats (a view of a possibly larger one). Its contents are whatever
   * the last user left: callers that need zeros must fill.
   */
  get(name: string, length: number): Float32Array {
    let buf = this.byName.get(name);
    if (buf === undefined || buf.length < length) {
      buf = kernels().allocate(length);
      this.byName.set(name, buf);
    }
    return buf.length === length ? buf : buf.subarray(0, length);
  }

  /** The buffer if it exists (whatever its length), else undefined. */
  peek(name: string): Float32Array | undefined {
    return this.byName.get(name);
  }

  delete(name: string): void {
    this.byName.delete(name);
  }

  /** Total floats held, for memory accounting. */
  get floatsHeld(): number {
    let n = 0;
    for (const b of this.byName.values()) n += b.length;
    return n;
  }
}
