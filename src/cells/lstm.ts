/**
 * LSTM cell over a chunk, as PyTorch's `nn.LSTM` (gate order i, f, g, o; two biases).
 *
 *   [i f g o]_t = W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh          (4H pre-activations)
 *   i, f, o = σ(·),  g = tanh(·)
 *   c_t = f ⊙ c_{t−1} + i ⊙ g
 *   h_t = o ⊙ tanh(c_t)
 *
 * Backward, walking t = T−1 … 0 with δh_t = dL/dh_t + dL/d out_t and δc_t = dL/dc_t + δh_t⊙o⊙(1 − tanh²c_t):
 *   δi = δc⊙g⊙i(1−i)   δf = δc⊙c_{t−1}⊙f(1−f)   δg = δc⊙i⊙(1−g²)   δo = δh⊙tanh(c_t)⊙o(1−o)
 *   dL/dc_{t−1} = δc ⊙ f      dL/dh_{t−1} = δgates · W_hh
 *   dW_ih += Σ_t δgatesᵀ·x_t   dW_hh += Σ_t δgatesᵀ·h_{t−1}   db_ih = db_hh += Σ_t δgates
 *
 * Tangent (forward mode, the weights fixed), with ṗre = W_hh·ḣ_{t−1} + W_ih·ẋ_t (4H):
 *   i̇ = i(1−i)ṗre_i   ḟ = f(1−f)ṗre_f   ġ = (1−g²)ṗre_g   ȯ = o(1−o)ṗre_o
 *   ċ_t = ḟ⊙c_{t−1} + f⊙ċ_{t−1} + i̇⊙g + i⊙ġ      ḣ_t = ȯ⊙tanh(c_t) + o⊙(1 − tanh²c_t)⊙ċ_t
 *
 * Shapes: x (T, B, I), h and c (B, H), weight_ih (4H, I), weight_hh (4H, H), biases (4H).
 * Saved per chunk, besides hPrev, out and hN (chunk-cache.ts): gates (T, B, 4H) activations, c (T, B, H)
 * the cell state after step t, c0 (B, H); packed rows (N, ·) instead of (T, B, ·), and cN (B, H) each
 * row's c after its own last step. Backward adds into the parameters' grad; it never zeroes them.
 */
import { kernels } from "../kernels/index.js";
import { ReusableBuffer } from "../tensor/buffers.js";
import { BaseCell, type StepRows } from "./base.js";
import {
  type BackwardInput, type BackwardOutput, type CellOptions, type ChunkInput, NO_DX, type StepState, type TangentStep,
  gateCount,
} from "./cell.js";
import { ChunkCache } from "./chunk-cache.js";
import { projectChunkInputs } from "./input-projection.js";

/** What an LSTM chunk saves besides ChunkCache's buffers. */
export class LSTMCache extends ChunkCache {
  /** (T, B, 4H) the pre-activations, then the activations i, f, g, o. */
  readonly gates = new ReusableBuffer();
  /** (T, B, H) the cell state after step t. */
  readonly c = new ReusableBuffer();
  /** (B, H) the cell state entering the chunk. */
  readonly c0 = new ReusableBuffer();
  /** (B, H) packed rows: each row's c after its own last step. */
  readonly cN = new ReusableBuffer();
  /** (B, H) packed rows, reverse direction: the c entering a step where rows start (base.ts). */
  readonly cStage = new ReusableBuffer();
  /** (block rows, 4H) δgates of one block of backward's steps (base.ts: walkBackward). */
  readonly dGates = new ReusableBuffer();
  /** (B, H) dL/dc carried from step to step, initialised to dcN. */
  readonly dc = new ReusableBuffer();
  /** (B, H) the new h and c of `step`. */
  readonly stepH = new ReusableBuffer();
  readonly stepC = new ReusableBuffer();
  /** (B, 4H) ṗre, the scratch of `tangent`. */
  readonly tangentGates = new ReusableBuffer();
}

export class LSTMCell extends BaseCell<LSTMCache> {
  readonly kind = "lstm" as const;

  constructor(options: CellOptions) {
    super({ gates: gateCount("lstm"), cellState: true, hiddenBiasInInput: true }, options);
  }

  createCache(): LSTMCache {
    return new LSTMCache();
  }

  forward(input: ChunkInput, cache: LSTMCache = this.createCache()): LSTMCache {
    const frame = this.beginForward(input, cache);
    const { T, B, mask, hPrev, out, offsets } = frame;
    const k = kernels();
    const H = this.hiddenSize;
    const G = 4 * H;
    const BH = B * H;
    const rows = cache.rows;
    const gates = cache.gates.reserve(rows * G);
    const c = cache.c.reserve(rows * H);
    const c0 = cache.c0.reserve(BH);
    projectChunkInputs(this.params, cache, this.inputSize, gates, true);
    if (input.c0) c0.set(input.c0);
    else c0.fill(0);
    const Whh = this.params.weightHh.value;
    for (let s = 0; s < T; s++) {
      const t = this.time(s, T);
      const n = this.rowsAt(frame, t);
      const r = offsets[t]!;
      // gates_t += h_{t−1} · W_hhᵀ
      k.gemm(false, true, n, G, H, hPrev, r * H, H, Whh, 0, H, true, gates, r * G, G);
      const cPrev = this.cellStateEntering(frame, s, c, c0, cache.cStage);
      const cPrevOffset = cPrev === c ? offsets[this.time(s - 1, T)]! * H : 0;
      const next = this.nextStateBuffer(frame, s);
      const nextOffset = this.nextStateOffset(frame, s);
      k.lstmStepForward(
        n, H, gates, r * G, cPrev, cPrevOffset, hPrev, r * H, mask, r, c, r * H, next, nextOffset, out, r * H,
      );
      this.afterStep(frame, s);
    }
    if (frame.packed) this.gatherFinalState(frame, c, c0, cache.cN.reserve(BH));
    return cache;
  }

  backward(cache: LSTMCache, grads: BackwardInput): BackwardOutput {
    const frame = this.beginBackward(cache, grads);
    const { T, mask, dOut, dh, offsets } = frame;
    const k = kernels();
    const H = this.hiddenSize;
    const G = 4 * H;
    const gates = cache.gates.reserve(cache.rows * G);
    const c = cache.c.reserve(cache.rows * H);
    const dGates = cache.dGates.reserve(this.blockCapacity(frame) * G);
    const c0 = cache.c0.reserve(cache.B * H);
    const dc = cache.dc.reserve(cache.B * H);
    if (grads.dcN) dc.set(grads.dcN);
    else dc.fill(0);
    const dInputTable = this.walkBackward(frame, cache, dGates, dGates, (s, t, n, r, g) => {
      const cPrev = this.cellStateEntering(frame, s, c, c0, cache.cStage);
      const cPrevOffset = cPrev === c ? offsets[this.time(s - 1, T)]! * H : 0;
      k.lstmStepBackward(
        n, H, gates, r * G, cPrev, cPrevOffset, c, r * H, dOut, this.dOutOffset(frame, t), mask, r,
        dh, 0, dc, 0, dGates, g * G,
      );
      // dL/dh_{t−1} += δgates_t · W_hh
      k.gemm(false, false, n, H, G, dGates, g * G, G, frame.weightHh, 0, H, true, dh, 0, H);
    });
    return { dx: dInputTable ? NO_DX : frame.dx, dInputTable, dh0: dh, dc0: dc };
  }

  /**
   * The cell state entering processing step s: the previous step's c, or c0 at the first step; where
   * rows start (packed rows, reverse direction) a copy in `stage` completed with their c0.
   */
  private cellStateEntering(
    frame: StepRows, s: number, c: Float32Array, c0: Float32Array, stage: ReusableBuffer,
  ): Float32Array {
    if (s === 0) return c0;
    if (!this.rowsStartAt(frame, s)) return c;
    return this.stageEnteringState(frame, s, c, c0, stage.reserve(frame.B * this.hiddenSize));
  }

  override finalState(cache: LSTMCache): { h: Float32Array; c: Float32Array } {
    const BH = cache.B * this.hiddenSize;
    if (cache.batchSizes) return { h: cache.hN.reserve(BH), c: cache.cN.reserve(BH) };
    const last = this.time(cache.T - 1, cache.T) * BH;
    return { h: cache.hN.reserve(BH), c: cache.c.reserve(cache.T * BH).subarray(last, last + BH) };
  }

  /** gates = proj + h·W_hhᵀ, then c ← f⊙c + i⊙g, h ← o⊙tanh(c). */
  step(B: number, proj: Float32Array, state: StepState, out: Float32Array, scratch: LSTMCache): void {
    const k = kernels();
    const H = this.hiddenSize;
    const { h, hOffset, cOffset } = state;
    const c = state.c!;
    const nextH = scratch.stepH.reserve(B * H);
    const nextC = scratch.stepC.reserve(B * H);
    k.gemm(false, true, B, 4 * H, H, h, hOffset, H, this.params.weightHh.value, 0, H, true, proj, 0, 4 * H);
    k.lstmStepForward(B, H, proj, 0, c, cOffset, h, hOffset, null, 0, nextC, 0, nextH, 0, out, 0);
    c.set(nextC, cOffset);
    h.set(nextH, hOffset);
  }

  /** The equations in the file header, from the activations i, f, g, o and c_{t−1}, c_t that forward saved. */
  tangent(cache: LSTMCache, t: number, step: TangentStep): void {
    const { T, B } = cache;
    const H = this.hiddenSize;
    const G = 4 * H;
    const BH = B * H;
    const gates = cache.gates.reserve(T * B * G);
    const c = cache.c.reserve(T * BH);
    const dPre = cache.tangentGates.reserve(B * G);
    const s = this.reverse ? T - 1 - t : t;
    const cPrev = s > 0 ? c : cache.c0.reserve(BH);
    const cPrevOffset = s > 0 ? this.time(s - 1, T) * BH : 0;
    const dcIn = step.c!;
    const dcOut = step.cOut!;
    this.tangentPreActivations(B, step, dPre, "both");
    this.eachTangentUnit(cache, t, step, (b, j, n) => {
      const row = (t * B + b) * G;
      const i = gates[row + j]!;
      const f = gates[row + H + j]!;
      const g = gates[row + 2 * H + j]!;
      const o = gates[row + 3 * H + j]!;
      const di = i * (1 - i) * dPre[b * G + j]!;
      const df = f * (1 - f) * dPre[b * G + H + j]!;
      const dg = (1 - g * g) * dPre[b * G + 2 * H + j]!;
      const dout = o * (1 - o) * dPre[b * G + 3 * H + j]!;
      const dc = df * cPrev[cPrevOffset + n]! + f * dcIn[n]! + di * g + i * dg;
      const tc = Math.tanh(c[t * BH + n]!);
      dcOut[n] = dc;
      step.hOut[n] = dout * tc + o * (1 - tc * tc) * dc;
    });
  }
}
