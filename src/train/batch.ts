/**
 * A batch: B rows of T time steps, time-major, with everything the trainer needs to know about them.
 *
 *   inputs     ids (T·B) for a model with an embedding, or features (T·B·I)
 *   mask       (T·B) 1 for real steps, 0 for padding (right-padded rows); default all 1
 *   starts     (T·B) 1 where a new sequence begins in row b at step t: its state is reset to zero
 *              before step t (packed streams); step 0 of a batch that does not continue always starts
 *   targets    per step (T·B class ids, ignoreIndex where there is none; or T·B·O values), or
 *              per sequence (B class ids or B·O values) for many-to-one tasks
 *   continues  the rows continue the streams of the previous batch: the state is carried over (a
 *              language model reading one long text in strips); otherwise it starts from zero
 */
export interface Batch {
  T: number;
  B: number;
  ids?: Int32Array;
  features?: Float32Array;
  mask?: Float32Array;
  starts?: Uint8Array;
  stepTargets?: Int32Array | Float32Array;
  sequenceTargets?: Int32Array | Float32Array;
  continues?: boolean;
}

/** PyTorch's default ignore_index: a step target with this value carries no loss. */
export const IGNORE_INDEX = -100;

/**
 * The length of each row's real prefix (mask must be right-padded: once 0, 0 to the end).
 * Throws, naming the row, when the mask has a gap. Written into `into` when it has B entries.
 */
export function rowLengths(mask: Float32Array | undefined, T: number, B: number, into?: Int32Array): Int32Array {
  const lengths = into && into.length === B ? into.fill(T) : new Int32Array(B).fill(T);
  if (!mask) return lengths;
  for (let b = 0; b < B; b++) {
    let length = 0;
    while (length < T && mask[length * B + b] === 1) length++;
    for (let t = length; t < T; t++) {
      if (mask[t * B + b] !== 0) {
        throw new RangeError(`batch.mask row ${b}: padding must come after the real steps (1…1 0…0), found ${mask[t * B + b]} at step ${t}`);
      }
    }
    lengths[b] = length;
  }
  return lengths;
}
