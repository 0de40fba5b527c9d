/**
 * Initialisations for recurrent cells.
 *
 * - "uniform" (PyTorch's default): every weight and bias ~ U(−1/√H, 1/√H).
 * - "orthogonal": W_hh built from one random orthogonal H×H block per gate (Saxe et al. 2014; an
 *   LSTM with a projection, whose blocks are H×P, takes their first P columns);
 *   W_ih and the biases keep the uniform default.
 * - "identity" (IRNN, Le et al. 2015, for ReLU RNNs): W_hh = scale·I per gate block (its leading
 *   diagonal when H×P), biases 0, W_ih ~ N(0, 0.001²).
 * The LSTM's projection W_hr and peepholes keep the uniform default (PyTorch draws weight_hr so).
 * - forgetGateBias (LSTM): sets the forget block of bias_ih to the value and of bias_hh to 0, so the
 *   effective forget bias b_if + b_hf equals it (Gers et al. 2000; Jozefowicz et al. 2015 use 1).
 */
import type { Rng } from "../tensor/rng.js";
import type { CellKind } from "./cell.js";
import type { CellParameters } from "./parameters.js";

export type RecurrentInit = "uniform" | "orthogonal" | "identity";

export interface InitOptions {
  /** How W_hh is drawn. Default "uniform". */
  recurrent?: RecurrentInit;
  /** Scale of the identity for "identity" (default 1). */
  identityScale?: number;
  /** LSTM only: effective forget-gate bias (b_if + b_hf). Default: drawn like the other biases. */
  forgetGateBias?: number;
}

export function initializeCell(kind: CellKind, params: CellParameters, H: number, rng: Rng, options: InitOptions = {}): void {
  const bound = 1 / Math.sqrt(H);
  // Draw everything uniform first, in state_dict order, so the default matches PyTorch's scheme.
  for (const p of params.list()) rng.fillUniform(p.value, -bound, bound);
  const recurrent = options.recurrent ?? "uniform";
  // G gate blocks of H rows (and R = H or P columns) each, one orthogonal or identity block per gate.
  const [GH, R] = params.weightHh.shape as [number, number];
  const gates = GH / H;
  const block = H * R;
  if (recurrent === "orthogonal") {
    for (let g = 0; g < gates; g++) {
      const q = orthogonal(H, rng);
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < R; j++) params.weightHh.value[g * block + i * R + j] = q[i * H + j]!;
      }
    }
  } else if (recurrent === "identity") {
    const scale = options.identityScale ?? 1;
    params.weightHh.value.fill(0);
    for (let g = 0; g < gates; g++) {
      for (let j = 0; j < Math.min(H, R); j++) params.weightHh.value[g * block + j * R + j] = scale;
    }
    params.biasIh?.value.fill(0);
    params.biasHh?.value.fill(0);
    rng.fillNormal(params.weightIh.value, 0, 0.001);
  } else if (recurrent !== "uniform") {
    throw new RangeError(`init.recurrent must be "uniform", "orthogonal" or "identity", got ${JSON.stringify(recurrent)}`);
  }
  if (options.forgetGateBias !== undefined) {
    if (kind !== "lstm") throw new RangeError(`init.forgetGateBias applies to the LSTM only, not ${kind}`);
    if (!Number.isFinite(options.forgetGateBias)) throw new RangeError("init.forgetGateBias must be a finite number");
    if (!params.biasIh || !params.biasHh) throw new RangeError("init.forgetGateBias needs a cell with biases");
    params.biasIh.value.fill(options.forgetGateBias, H, 2 * H);
    params.biasHh.value.fill(0, H, 2 * H);
  }
}

/**
 * A random n×n orthogonal matrix (row-major): Householder QR of a Gaussian matrix in float64,
 * with the signs of R's diagonal folded into Q so the result is Haar-distributed.
 */
export function orthogonal(n: number, rng: Rng): Float32Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  // Q starts as the identity; apply the Householder reflections of A's columns to it.
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const v = new Float64Array(n);
  const signs = new Float64Array(n).fill(1);
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = k; i < n; i++) norm += a[i * n + k]! * a[i * n + k]!;
    norm = Math.sqrt(norm);
    const akk = a[k * n + k]!;
    const alpha = akk >= 0 ? -norm : norm;
    signs[k] = alpha === 0 ? 1 : Math.sign(alpha);
    v.fill(0);
    for (let i = k; i < n; i++) v[i] = a[i * n + k]!;
    v[k] = akk - alpha;
    let vv = 0;
    for (let i = k; i < n; i++) vv += v[i]! * v[i]!;
    if (vv === 0) continue;
    // A ← (I − 2vvᵀ/vᵀv)·A on columns k…n−1;  Q ← Q·(I − 2vvᵀ/vᵀv)
    for (let j = k; j < n; j++) {
      let dot = 0;
      for (let i = k; i < n; i++) dot += v[i]! * a[i * n + j]!;
      const f = (2 * dot) / vv;
      for (let i = k; i < n; i++) a[i * n + j]! -= f * v[i]!;
    }
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = k; j < n; j++) dot += q[i * n + j]! * v[j]!;
      const f = (2 * dot) / vv;
      for (let j = k; j < n; j++) q[i * n + j]! -= f * v[j]!;
    }
  }
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = q[i * n + j]! * signs[j]!;
  return out;
}
