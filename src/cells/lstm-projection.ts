/**
 * The rows of an LSTM step with a recurrent projection (Sak et al. 2014; PyTorch's proj_size) that
 * the GEMMs around the step kernel leave to do: a masked row (padding, or before a row's truncation
 * point in backward) carries its state and its gradient unchanged, as the step kernel does for the
 * cells without a projection. With m_t = o_t ⊙ tanh(c_t) (H) and h_t = W_hr·m_t (P):
 *
 *   forward   out_t = h_t on real rows, 0 on masked rows (m_t is 0 there: the kernel is given a
 *             zero h_{t−1}); the next step's h_{t−1} slot = h_t, or the carried h_{t−1} on masked rows
 *   backward  δh_t = dL/dh_t + dL/d out_t on real rows, 0 on masked rows; dL/dh_{t−1} starts at 0 on
 *             real rows (the caller adds δgates·W_hh) and keeps the carried gradient on masked rows
 *
 * Shapes: the n rows of one step, P values each, at the offsets given; mask (n) at maskOffset, or null.
 */

/** next = out on real rows, next = hPrev on masked rows (whose out is already 0). */
export function carryProjectedState(
  n: number, P: number, out: Float32Array, outOffset: number, hPrev: Float32Array, hPrevOffset: number,
  mask: Float32Array | null, maskOffset: number, next: Float32Array, nextOffset: number,
): void {
  for (let b = 0; b < n; b++) {
    const real = mask === null || mask[maskOffset + b] !== 0;
    const from = real ? out : hPrev;
    const at = (real ? outOffset : hPrevOffset) + b * P;
    for (let j = 0; j < P; j++) next[nextOffset + b * P + j] = from[at + j]!;
  }
}

/**
 * delta = dh + dOut and dh = 0 on real rows; delta = 0 and dh kept on masked rows. dh: (n, P) at 0,
 * dOut: (n, P) at dOutOffset, delta: (n, P) at deltaOffset.
 */
export function projectedStateGradient(
  n: number, P: number, dh: Float32Array, dOut: Float32Array, dOutOffset: number,
  mask: Float32Array | null, maskOffset: number, delta: Float32Array, deltaOffset: number,
): void {
  for (let b = 0; b < n; b++) {
    const real = mask === null || mask[maskOffset + b] !== 0;
    for (let j = 0; j < P; j++) {
      const k = b * P + j;
      if (real) {
        delta[deltaOffset + k] = dh[k]! + dOut[dOutOffset + k]!;
        dh[k] = 0;
      } else {
        delta[deltaOffset + k] = 0;
      }
    }
  }
}
