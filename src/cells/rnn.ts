/**
 * Vanilla (Elman) RNN cell over a chunk, as PyTorch's `nn.RNN` with `nonlinearity` tanh or relu.
 *
 *   h_t = act(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh)          act = tanh | relu
 *
 * Backward, walking t = T−1 … 0 with δh_t = dL/dh_t (from later steps) + dL/d out_t:
 *   δpre_t = δh_t ⊙ act'(h_t)     dL/dh_{t−1} = δpre_t · W_hh
 *   dW_ih += Σ_t δpre_tᵀ · x_t    dW_hh += Σ_t δpre_tᵀ · h_{t−1}    db_ih = db_hh += Σ_t δpre_t
 *
 * Tangent (forward mode, the weights fixed):  ṗre_t = W_hh·ḣ_{t−1} + W_ih·ẋ_t,  ḣ_t = act′(pre_t) ⊙ ṗre_t.
 *
 * Shapes: x (T, B, I), h (B, H), weight_ih (H, I), weight_hh (H, H), biases (H).
 * Saved per chunk, besides hPrev, out and hN (chunk-cache.ts): pre (T, B, H) the pre-activations ((N, H) packed).
 * Backward adds into the parameters' grad; it never zeroes them.
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

export interface RNNCellOptions extends CellOptions {
  nonlinearity?: "tanh" | "relu";
}

/** What an RNN chunk saves besides ChunkCache's buffers. */
export class RNNCache extends ChunkCache {
  /** (T, B, H) pre-activations W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh. */
  readonly pre = new ReusableBuffer();
  /** (block rows, H) δpre of one block of backward's steps (base.ts: walkBackward). */
  readonly dPre = new ReusableBuffer();
  /** (B, H) the new h of `step`. */
  readonly stepH = new ReusableBuffer();
  /** (B, H) ṗre, the scratch of `tangent`. */
  readonly tangentPre = new ReusableBuffer();
}

export class RNNCell extends BaseCell<RNNCache> {
  readonly kind: "rnn_tanh" | "rnn_relu";
  private readonly relu: boolean;

  constructor(options: RNNCellOptions) {
    const nonlinearity = options.nonlinearity ?? "tanh";
    if (nonlinearity !== "tanh" && nonlinearity !== "relu") {
      throw new RangeError(`nonlinearity must be "tanh" or "relu", got ${JSON.stringify(nonlinearity)}`);
    }
    const kind = nonlinearity === "relu" ? "rnn_relu" : "rnn_tanh";
    super({ gates: gateCount(kind), cellState: false, hiddenBiasInInput: true }, options);
    this.kind = kind;
    this.relu = kind === "rnn_relu";
  }

  createCache(): RNNCache {
    return new RNNCache();
  }

  forward(input: ChunkInput, cache: RNNCache = this.createCache()): RNNCache {
    const frame = this.beginForward(input, cache);
    const { T, mask, hPrev, out, offsets } = frame;
    const k = kernels();
    const H = this.hiddenSize;
    const pre = cache.pre.reserve(cache.rows * H);
    projectChunkInputs(this.params, cache, this.inputSize, pre, true);
    const Whh = this.params.weightHh.value;
    for (let s = 0; s < T; s++) {
      const t = this.time(s, T);
      const n = this.rowsAt(frame, t);
      const r = offsets[t]!;
      // pre_t += h_{t−1} · W_hhᵀ
      k.gemm(false, true, n, H, H, hPrev, r * H, H, Whh, 0, H, true, pre, r * H, H);
      const next = this.nextStateBuffer(frame, s);
      const nextOffset = this.nextStateOffset(frame, s);
      k.rnnStepForward(n, H, this.relu, pre, r * H, hPrev, r * H, mask, r, next, nextOffset, out, r * H);
      this.afterStep(frame, s);
    }
    return cache;
  }

  backward(cache: RNNCache, grads: BackwardInput): BackwardOutput {
    const frame = this.beginBackward(cache, grads);
    const { mask, dOut, dh } = frame;
    const k = kernels();
    const H = this.hiddenSize;
    const out = cache.out.reserve(cache.rows * H);
    const dPre = cache.dPre.reserve(this.blockCapacity(frame) * H);
    const dInputTable = this.walkBackward(frame, cache, dPre, dPre, (_s, t, n, r, g) => {
      // out_t equals h_t on valid rows, the only rows whose derivative is used.
      k.rnnStepBackward(n, H, this.relu, out, r * H, dOut, this.dOutOffset(frame, t), mask, r, dh, 0, dPre, g * H);
      k.gemm(false, false, n, H, H, dPre, g * H, H, frame.weightHh, 0, H, true, dh, 0, H);
    });
    return { dx: dInputTable ? NO_DX : frame.dx, dInputTable, dh0: dh, dc0: null };
  }

  /** pre = proj + h·W_hhᵀ, h ← act(pre). */
  step(B: number, proj: Float32Array, state: StepState, out: Float32Array, scratch: RNNCache): void {
    const k = kernels();
    const H = this.hiddenSize;
    const { h, hOffset } = state;
    const next = scratch.stepH.reserve(B * H);
    k.gemm(false, true, B, H, H, h, hOffset, H, this.params.weightHh.value, 0, H, true, proj, 0, H);
    k.rnnStepForward(B, H, this.relu, proj, 0, h, hOffset, null, 0, next, 0, out, 0);
    h.set(next, hOffset);
  }

  /** ṗre = ḣ_{t−1}·W_hhᵀ + ẋ_t·W_ihᵀ, ḣ_t = act′ ⊙ ṗre, act′ read from h_t: 1 − h_t² (tanh) or [h_t > 0] (relu). */
  tangent(cache: RNNCache, t: number, step: TangentStep): void {
    const { B } = cache;
    const H = this.hiddenSize;
    const BH = B * H;
    const out = cache.out.reserve(cache.T * BH);
    const dPre = cache.tangentPre.reserve(BH);
    this.tangentPreActivations(B, step, dPre, "both");
    this.eachTangentUnit(cache, t, step, (_b, _j, n) => {
      const h = out[t * BH + n]!;
      step.hOut[n] = (this.relu ? (h > 0 ? 1 : 0) : 1 - h * h) * dPre[n]!;
    });
  }
}
