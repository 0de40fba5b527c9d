/**
 * GRU cell over a chunk, as PyTorch's `nn.GRU` (gate order r, z, n; the reset gate multiplies
 * W_hn·h + b_hn, as cuDNN and ONNX's linear_before_reset = 1).
 *
 *   r_t = σ(W_ir·x_t + b_ir + W_hr·h_{t−1} + b_hr)
 *   z_t = σ(W_iz·x_t + b_iz + W_hz·h_{t−1} + b_hz)
 *   n_t = tanh(W_in·x_t + b_in + r_t ⊙ (W_hn·h_{t−1} + b_hn))
 *   h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}
 *
 * Backward, walking t = T−1 … 0 with δh_t = dL/dh_t + dL/d out_t, and hn = W_hn·h_{t−1} + b_hn:
 *   δn = δh⊙(1−z)⊙(1−n²)   δz = δh⊙(h_{t−1} − n)⊙z(1−z)   δr = δn⊙hn⊙r(1−r)
 *   input side  δx_gates = (δr, δz, δn)        hidden side  δh_gates = (δr, δz, δn⊙r)
 *   dL/dh_{t−1} = δh⊙z + δh_gates · W_hh
 *   dW_ih += Σ δx_gatesᵀ·x_t   dW_hh += Σ δh_gatesᵀ·h_{t−1}   db_ih += Σ δx_gates   db_hh += Σ δh_gates
 *
 * Tangent (forward mode, the weights fixed), with ẋg = W_ih·ẋ_t and ḣg = W_hh·ḣ_{t−1} (3H each):
 *   ṙ = r(1−r)(ẋg_r + ḣg_r)   ż = z(1−z)(ẋg_z + ḣg_z)   ṅ = (1−n²)(ẋg_n + ṙ⊙hn + r⊙ḣg_n)
 *   ḣ_t = (1−z)⊙ṅ − ż⊙n + ż⊙h_{t−1} + z⊙ḣ_{t−1}
 *
 * Shapes: x (T, B, I), h (B, H), weight_ih (3H, I), weight_hh (3H, H), biases (3H).
 * Saved per chunk, besides hPrev, out and hN (chunk-cache.ts): gates (T, B, 3H) activations r, z, n, and
 * hGates (T, B, 3H) = W_hh·h_{t−1} + b_hh ((N, 3H) packed). Backward adds into the parameters' grad; it
 * never zeroes them.
 */
import { kernels } from "../kernels/index.js";
import { ReusableBuffer } from "../tensor/buffers.js";
import { BaseCell } from "./base.js";
import {
  type BackwardInput, type BackwardOutput, type CellOptions, type ChunkInput, NO_DX, type StepState, type TangentStep,
  gateCount,
} from "./cell.js";
import { ChunkCache } from "./chunk-cache.js";
import { projectChunkInputs } from "./input-projection.js";

/** What a GRU chunk saves besides ChunkCache's buffers. */
export class GRUCache extends ChunkCache {
  /** (T, B, 3H) the input side W_ih·x_t + b_ih, then the activations r, z, n. */
  readonly gates = new ReusableBuffer();
  /** (T, B, 3H) the hidden side W_hh·h_{t−1} + b_hh. */
  readonly hGates = new ReusableBuffer();
  /**
   * (block rows, 3H) backward's scratch for one block of steps (base.ts: walkBackward): δ of the input side
   * (δr, δz, δn) and of the hidden side (δr, δz, δn⊙r).
   */
  readonly dXGates = new ReusableBuffer();
  readonly dHGates = new ReusableBuffer();
  /** (B, 3H) the hidden side of `step`, and (B, H) its new h. */
  readonly stepHGates = new ReusableBuffer();
  readonly stepH = new ReusableBuffer();
  /** (B, 3H) ẋg and ḣg, the scratch of `tangent`. */
  readonly tangentXGates = new ReusableBuffer();
  readonly tangentHGates = new ReusableBuffer();
}

export class GRUCell extends BaseCell<GRUCache> {
  readonly kind = "gru" as const;

  constructor(options: CellOptions) {
    // Only b_ih goes into the input projection: b_hh must stay inside r ⊙ (W_hn·h + b_hn).
    super({ gates: gateCount("gru"), cellState: false, hiddenBiasInInput: false }, options);
  }

  createCache(): GRUCache {
    return new GRUCache();
  }

  forward(input: ChunkInput, cache: GRUCache = this.createCache()): GRUCache {
    const frame = this.beginForward(input, cache);
    const { T, mask, hPrev, out, offsets } = frame;
    const k = kernels();
    const H = this.hiddenSize;
    const G = 3 * H;
    const rows = cache.rows;
    const gates = cache.gates.reserve(rows * G);
    const hGates = cache.hGates.reserve(rows * G);
    projectChunkInputs(this.params, cache, this.inputSize, gates, false);
    const Whh = this.params.weightHh.value;
    const bhh = this.params.biasHh;
    for (let s = 0; s < T; s++) {
      const t = this.time(s, T);
      const n = this.rowsAt(frame, t);
      const r = offsets[t]!;
      // hGates_t = h_{t−1} · W_hhᵀ + b_hh
      k.gemm(false, true, n, G, H, hPrev, r * H, H, Whh, 0, H, false, hGates, r * G, G);
      if (bhh) k.addRowVector(n, G, hGates, r * G, bhh.value, 0);
      const next = this.nextStateBuffer(frame, s);
      const nextOffset = this.nextStateOffset(frame, s);
      k.gruStepForward(n, H, gates, r * G, hGates, r * G, hPrev, r * H, mask, r, next, nextOffset, out, r * H);
      this.afterStep(frame, s);
    }
    return cache;
  }

  backward(cache: GRUCache, grads: BackwardInput): BackwardOutput {
    const frame = this.beginBackward(cache, grads);
    const { mask, hPrev, dOut, dh } = frame;
    const k = kernels();
    const H = this.hiddenSize;
    const G = 3 * H;
    const gates = cache.gates.reserve(cache.rows * G);
    const hGates = cache.hGates.reserve(cache.rows * G);
    const capacity = this.blockCapacity(frame);
    const dXGates = cache.dXGates.reserve(capacity * G);
    const dHGates = cache.dHGates.reserve(capacity * G);
    const dInputTable = this.walkBackward(frame, cache, dXGates, dHGates, (_s, t, n, r, g) => {
      k.gruStepBackward(
        n, H, gates, r * G, hGates, r * G, hPrev, r * H, dOut, this.dOutOffset(frame, t), mask, r, dh, 0,
        dXGates, g * G, dHGates, g * G,
      );
      // dL/dh_{t−1} = δh⊙z (left in dh by the kernel) + δh_gates_t · W_hh
      k.gemm(false, false, n, H, G, dHGates, g * G, G, frame.weightHh, 0, H, true, dh, 0, H);
    });
    return { dx: dInputTable ? NO_DX : frame.dx, dInputTable, dh0: dh, dc0: null };
  }

  /** hGates = h·W_hhᵀ + b_hh, kept apart from proj (r multiplies W_hn·h + b_hn); h ← (1 − z)⊙n + z⊙h. */
  step(B: number, proj: Float32Array, state: StepState, out: Float32Array, scratch: GRUCache): void {
    const k = kernels();
    const H = this.hiddenSize;
    const G = 3 * H;
    const { h, hOffset } = state;
    const hGates = scratch.stepHGates.reserve(B * G);
    const next = scratch.stepH.reserve(B * H);
    k.gemm(false, true, B, G, H, h, hOffset, H, this.params.weightHh.value, 0, H, false, hGates, 0, G);
    if (this.params.biasHh) k.addRowVector(B, G, hGates, 0, this.params.biasHh.value, 0);
    k.gruStepForward(B, H, proj, 0, hGates, 0, h, hOffset, null, 0, next, 0, out, 0);
    h.set(next, hOffset);
  }

  /** The equations in the file header, from what forward saved: r, z, n, hn = W_hn·h + b_hn and h_{t−1}. */
  tangent(cache: GRUCache, t: number, step: TangentStep): void {
    const { T, B } = cache;
    const H = this.hiddenSize;
    const G = 3 * H;
    const BH = B * H;
    const gates = cache.gates.reserve(T * B * G);
    const hGates = cache.hGates.reserve(T * B * G);
    const hPrev = cache.hPrev.reserve(T * BH);
    const dx = cache.tangentXGates.reserve(B * G);
    const dh = cache.tangentHGates.reserve(B * G);
    this.tangentPreActivations(B, step, dx, "input");
    this.tangentPreActivations(B, step, dh, "hidden");
    this.eachTangentUnit(cache, t, step, (b, j, n) => {
      const row = (t * B + b) * G;
      const r = gates[row + j]!;
      const z = gates[row + H + j]!;
      const nt = gates[row + 2 * H + j]!;
      const hn = hGates[row + 2 * H + j]!;
      const dr = r * (1 - r) * (dx[b * G + j]! + dh[b * G + j]!);
      const dz = z * (1 - z) * (dx[b * G + H + j]! + dh[b * G + H + j]!);
      const dn = (1 - nt * nt) * (dx[b * G + 2 * H + j]! + dr * hn + r * dh[b * G + 2 * H + j]!);
      step.hOut[n] = (1 - z) * dn - dz * nt + dz * hPrev[t * BH + n]! + z * step.h[n]!;
    });
  }
}
