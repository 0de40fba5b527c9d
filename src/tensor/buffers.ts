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

/** A view of `length` elements of storage that grows once, from `allocate`. */
class Reusable<A extends Float32Array | Int32Array> {
  private storage: A;
  private view: A;

  constructor(private readonly allocate: (length: number) => A, empty: A) {
    this.storage = empty;
    this.view = empty;
  }

  /** `length` elements. The contents are whatever the last user left: callers that need zeros must fill. */
  reserve(length: number): A {
    if (this.storage.length < length) {
      this.storage = this.allocate(length);
      this.view = this.storage;
    }
    if (this.view.length !== length) {
      this.view = this.storage.length === length ? this.storage : (this.storage.subarray(0, length) as A);
    }
    return this.view;
  }
}

/** Floats, from `kernels().allocate`. */
export class ReusableBuffer extends Reusable<Float32Array> {
  constructor() {
    super((length) => kernels().allocate(length), NO_FLOATS);
  }
}

/** Integer indices (token ids), from `kernels().allocateIndices`. */
export class ReusableIndices extends Reusable<Int32Array> {
  constructor() {
    super((length) => kernels().allocateIndices(length), NO_INDICES);
  }
}
