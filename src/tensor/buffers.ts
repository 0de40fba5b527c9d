/**
 * Buffers that grow once and are then reused: how caches, the model and the trainer keep activations
 * and gradients without allocating in the hot loop. Each is a named field of the object that owns it
 * (`cache.gates`, `segment.h0`), so a misspelt name is a compile error, not a fresh buffer.
 *
 * Storage comes from the active kernel backend (`kernels().allocate`), so a fast backend computes on
 * it in place. `reserve(n)` returns a view of exactly n elements; asking again for the same n returns
 * the same view (no new object), so a loop that reserves per chunk allocates nothing once warm.
 */
import { kernels } from "../kernels/index.js";

const NO_FLOATS = new Float32Array(0);
const NO_INDICES = new Int32Array(0);

export class ReusableBuffer {
  private storage: Float32Array = NO_FLOATS;
  private view: Float32Array = NO_FLOATS;

  /** `length` floats. The contents are whatever the last user left: callers that need zeros must fill. */
  reserve(length: number): Float32Array {
    if (this.storage.length < length) {
      this.storage = kernels().allocate(length);
      this.view = this.storage;
    }
    if (this.view.length !== length) this.view = this.storage.length === length ? this.storage : this.storage.subarray(0, length);
    return this.view;
  }
}

/** The same for integer indices (token ids), from `kernels().allocateIndices`. */
export class ReusableIndices {
  private storage: Int32Array = NO_INDICES;
  private view: Int32Array = NO_INDICES;

  reserve(length: number): Int32Array {
    if (this.storage.length < length) {
      this.storage = kernels().allocateIndices(length);
      this.view = this.storage;
    }
    if (this.view.length !== length) this.view = this.storage.length === length ? this.storage : this.storage.subarray(0, length);
    return this.view;
  }
}
