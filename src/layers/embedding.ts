/**
 * Embedding: a learned lookup table from integer ids to vectors, as PyTorch's `nn.Embedding`.
 *
 *   forward:   out[r, :] = weight[ids[r], :]
 *   backward:  dweight[ids[r], :] += dOut[r, :]        for every r with ids[r] ≠ paddingIdx
 *
 * Shapes: ids (N) with N = rows (e.g. T·B time-major tokens), weight (V, D), out and dOut (N, D),
 * where V = numEmbeddings and D = embeddingDim.
 *
 * Initialisation as PyTorch: weight ~ N(0, 1), the padding row set to 0. The padding row never
 * receives gradient, so it stays as it is (PyTorch behaves the same way).
 * Backward adds into `weight.grad`; it never zeroes it (that happens once per update).
 */
import { kernels } from "../kernels/index.js";
import { type Module, Parameter } from "../tensor/parameter.js";
import type { Rng } from "../tensor/rng.js";

export interface EmbeddingOptions {
  /** V: the number of ids (the vocabulary size). */
  numEmbeddings: number;
  /** D: the length of each vector. */
  embeddingDim: number;
  /**
   * An id whose row is initialised to 0 and gets no gradient (padding tokens). Negative values count
   * from the end, as in PyTorch (−1 is V − 1). Default: none.
   */
  paddingIdx?: number | null;
  /** Draws the initial weights. */
  rng: Rng;
}

/** What forward saves for backward: the ids (by reference) and the output buffer, reused across calls. */
export class EmbeddingCache {
  /** N: rows of the last forward. */
  rows = 0;
  /** (N) the ids of the last forward, kept by reference: do not modify them before backward. */
  ids: Int32Array = new Int32Array(0);
  /** (N, D) the output of the last forward; a view of storage that later forwards reuse. */
  out: Float32Array = new Float32Array(0);
  private storage: Float32Array = new Float32Array(0);

  /** Points `out` at `length` floats, reusing the storage when it is large enough. */
  reserve(length: number): Float32Array {
    if (this.storage.length < length) this.storage = kernels().allocate(length);
    this.out = this.storage.length === length ? this.storage : this.storage.subarray(0, length);
    return this.out;
  }
}

export class Embedding implements Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The padding id in [0, V), or null. */
  readonly paddingIdx: number | null;
  /** (V, D) */
  readonly weight: Parameter;
  /** 0 … V − 1, for backwardTable (allocated on first use). */
  private rowIds: Int32Array | null = null;

  constructor(options: EmbeddingOptions) {
    const { numEmbeddings: V, embeddingDim: D } = options;
    requirePositiveInteger(V, "numEmbeddings");
    requirePositiveInteger(D, "embeddingDim");
    this.numEmbeddings = V;
    this.embeddingDim = D;
    this.paddingIdx = resolvePaddingIdx(options.paddingIdx ?? null, V);
    this.weight = new Parameter("weight", [V, D]);
    options.rng.fillNormal(this.weight.value, 0, 1);
    if (this.paddingIdx !== null) this.weight.value.fill(0, this.paddingIdx * D, (this.paddingIdx + 1) * D);
  }

  parameters(): Parameter[] {
    return [this.weight];
  }

  createCache(): EmbeddingCache {
    return new EmbeddingCache();
  }

  /**
   * out: (N, D) = weight[ids]. `rows` is N and must equal ids.length (it states the shape, as the
   * other layers' row counts do). Returns the cache, whose `out` holds the result.
   */
  forward(ids: Int32Array, rows: number, cache: EmbeddingCache = this.createCache()): EmbeddingCache {
    requirePositiveInteger(rows, "rows");
    if (ids.length !== rows) throw new RangeError(`ids must have ${rows} values (rows), got ${ids.length}`);
    const V = this.numEmbeddings;
    const D = this.embeddingDim;
    const W = this.weight.value;
    for (let r = 0; r < rows; r++) {
      const id = ids[r]!;
      if (id < 0 || id >= V) {
        throw new RangeError(`Embedding: id ${id} at position ${r} is out of range: expected an id in [0, ${V})`);
      }
    }
    const out = cache.reserve(rows * D);
    kernels().gatherRows(rows, D, V, W, 0, ids, 0, out, 0);
    cache.rows = rows;
    cache.ids = ids;
    return cache;
  }

  /** dweight[ids[r], :] += dOut[r, :] for the rows of the last forward; dOut: (N, D). Ids have no gradient. */
  backward(cache: EmbeddingCache, dOut: Float32Array): void {
    const { rows, ids } = cache;
    const D = this.embeddingDim;
    if (rows === 0) throw new RangeError("Embedding.backward: the cache holds no forward pass");
    if (dOut.length !== rows * D) {
      throw new RangeError(`dOut must have shape (N=${rows}, D=${D}) = ${rows * D} values, got ${dOut.length}`);
    }
    kernels().scatterAddRows(rows, D, this.numEmbeddings, dOut, 0, ids, 0, this.paddingIdx ?? -1, this.weight.grad, 0);
  }

  /**
   * dweight += dTable: (V, D), a gradient already summed per row (a recurrent layer's dInputTable),
   * except on the padding row.
   */
  backwardTable(dTable: Float32Array): void {
    const V = this.numEmbeddings;
    const D = this.embeddingDim;
    if (dTable.length !== V * D) throw new RangeError(`dTable must have shape (V=${V}, D=${D}) = ${V * D} values, got ${dTable.length}`);
    this.rowIds ??= identityIds(V);
    kernels().scatterAddRows(V, D, V, dTable, 0, this.rowIds, 0, this.paddingIdx ?? -1, this.weight.grad, 0);
  }
}

function identityIds(V: number): Int32Array {
  const ids = kernels().allocateIndices(V);
  for (let v = 0; v < V; v++) ids[v] = v;
  return ids;
}

function resolvePaddingIdx(paddingIdx: number | null, V: number): number | null {
  if (paddingIdx === null) return null;
  if (!Number.isInteger(paddingIdx) || paddingIdx < -V || paddingIdx >= V) {
    throw new RangeError(`paddingIdx must be an integer in [${-V}, ${V}) (numEmbeddings = ${V}), got ${paddingIdx}`);
  }
  return paddingIdx < 0 ? paddingIdx + V : paddingIdx;
}

function requirePositiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}
