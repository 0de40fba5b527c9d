/**
 * LSTM cell over a chunk, as PyTorch's `nn.LSTM` (gate order i, f, g, o; two biases), with its two
 * variants: a recurrent projection (Sak et al. 2014, PyTorch's proj_size) and peephole connections
 * (Gers & Schmidhuber 2000; Graves & Schmidhuber 2005).
 *
 *   [i f g o]_t = W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh          (4H pre-activations)
 *   i, f = σ(· [+ p_i⊙c_{t−1}, p_f⊙c_{t−1}]),  g = tanh(·)
 *   c_t = f ⊙ c_{t−1} + i ⊙ g
 *   o = σ(· [+ p_o⊙c_t])
 *   m_t = o ⊙ tanh(c_t)
 *   h_t = m_t,  or  W_hr·m_t  with a projection (P values)
 *
 * Backward, walking t = T−1 … 0 with δh_t = dL/dh_t + dL/d out_t, δm = δh (or δh·W_hr, and
 * dW_hr += Σ_t δh_tᵀ·m_t), δo = δm⊙tanh(c_t)⊙o(1−o), δc_t = dL/dc_t + δm⊙o⊙(1 − tanh²c_t) [+ δo⊙p_o]:
 *   δi = δc⊙g⊙i(1−i)   δf = δc⊙c_{t−1}⊙f(1−f)   δg = δc⊙i⊙(1−g²)
 *   dL/dc_{t−1} = δc ⊙ f [+ δi⊙p_i + δf⊙p_f]      dL/dh_{t−1} = δgates · W_hh
 *   dW_ih += Σ_t δgatesᵀ·x_t   dW_hh += Σ_t δgatesᵀ·h_{t−1}   db_ih = db_hh += Σ_t δgates
 *   dp += Σ_t (δi⊙c_{t−1}, δf⊙c_{t−1}, δo⊙c_t)     (the step kernel: kernels.ts)
 *
 * Tangent (forward mode, the weights fixed), with ṗre = W_hh·ḣ_{t−1} + W_ih·ẋ_t (4H):
 *   i̇ = i(1−i)(ṗre_i [+ p_i⊙ċ_{t−1}])   ḟ = f(1−f)(ṗre_f [+ p_f⊙ċ_{t−1}])   ġ = (1−g²)ṗre_g
 *   ċ_t = ḟ⊙c_{t−1} + f⊙ċ_{t−1} + i̇⊙g + i⊙ġ      ȯ = o(1−o)(ṗre_o [+ p_o⊙ċ_t])
 *   ṁ_t = ȯ⊙tanh(c_t) + o⊙(1 − tanh²c_t)⊙ċ_t     ḣ_t = ṁ_t, or W_hr·ṁ_t
 *
 * Shapes: x (T, B, I), h (B, R), c (B, H), weight_ih (4H, I), weight_hh (4H, R), biases (4H),
 * weight_hr (P, H), weight_peephole (3H); R = P with a projection, else H.
 * Saved per chunk, besides hPrev, out and hN (chunk-cache.ts): gates (T, B, 4H) activations, c (T, B, H)
 * the cell state after step t, c0 (B, H), and with a projection m (T, B, H); packed rows (N, ·) instead of
 * (T, B, ·), and cN (B, H) each row's c after its own last step. Backward adds into the parameters'
 * grad; it never zeroes them.
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
import { carryProjectedState, projectedStateGradient } from "./lstm-projection.js";

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
  /** (T, B, H) with a projection: m_t = o ⊙ tanh(c_t), before W_hr (0 on masked rows). */
  readonly m = new ReusableBuffer();
  /** (block rows, 4H) δgates of one block of backward's steps (base.ts: walkBackward). */
  readonly dGates = new ReusableBuffer();
  /** (block rows, P) with a projection: δh_t of one block of backward's steps (0 on masked rows). */
  readonly dProjected = new ReusableBuffer();
  /** (B, H) with a projection: δm = δh·W_hr of one step. */
  readonly dm = new ReusableBuffer();
  /** (B, H) dL/dc carried from step to step, initialised to dcN. */
  readonly dc = new ReusableBuffer();
  /** (B, H) the new c and the step kernel's h (m with a projection), and (B, H) its out (`step`, and forward). */
  readonly stepH = new ReusableBuffer();
  readonly stepC = new ReusableBuffer();
  readonly stepOut = new ReusableBuffer();
  /** (B, 4H) ṗre, and with a projection (B, H) ṁ: the scratch of `tangent`. */
  readonly tangentGates = new ReusableBuffer();
  readonly tangentM = new ReusableBuffer();
}

export class LSTMCell extends BaseCell<LSTMCache> {
  readonly kind = "lstm" as const;
  /** P, the size of the projection, or 0. */
  readonly projSize: number;

  constructor(options: CellOptions) {
    super({ gates: gateCount("lstm"), cellState: true, hiddenBiasInInput: true }, options);
    this.projSize = this.params.weightHr ? this.outputSize : 0;
  }

  createCache(): LSTMCache {
    return new LSTMCache();
  }

  forward(input: ChunkInput, cache: LSTMCache = this.createCache()): LSTMCache {
    const frame = this.beginForward(input, cache);
    const { T, B, mask, hPrev, out, offsets } = frame;
    const k = kernels();
    const H = this.hiddenSize;
    const R = this.outputSize;
    const P = this.projSize;
    const G = 4 * H;
    const BH = B * H;
    const rows = cache.rows;
    const gates = cache.gates.reserve(rows * G);
    const c = cache.c.reserve(rows * H);
    const c0 = cache.c0.reserve(BH);
    const m = P > 0 ? cache.m.reserve(rows * H) : null;
    // With a projection the step kernel writes m, and its h_{t−1} for masked rows is 0 (never written).
    const zeros = cache.zeros.reserve(BH);
    const scratchOut = P > 0 ? cache.stepOut.reserve(BH) : null;
    projectChunkInputs(this.params, cache, this.inputSize, gates, true);
    if (input.c0) c0.set(input.c0);
    else c0.fill(0);
    const Whh = this.params.weightHh.value;
    const peephole = this.params.peephole?.value ?? null;
    for (let s = 0; s < T; s++) {
      const t = this.time(s, T);
      const n = this.rowsAt(frame, t);
      const r = offsets[t]!;
      // gates_t += h_{t−1} · W_hhᵀ
      k.gemm(false, true, n, G, R, hPrev, r * R, R, Whh, 0, R, true, gates, r * G, G);
      const cPrev = this.cellStateEntering(frame, s, c, c0, cache.cStage);
      const cPrevOffset = cPrev === c ? offsets[this.time(s - 1, T)]! * H : 0;
      const next = this.nextStateBuffer(frame, s);
      const nextOffset = this.nextStateOffset(frame, s);
      if (m === null) {
        k.lstmStepForward(
          n, H, gates, r * G, peephole, 0, cPrev, cPrevOffset, hPrev, r * H, mask, r, c, r * H, next, nextOffset,
          out, r * H,
        );
      } else {
        k.lstmStepForward(
          n, H, gates, r * G, peephole, 0, cPrev, cPrevOffset, zeros, 0, mask, r, c, r * H, m, r * H, scratchOut!, 0,
        );
        // out_t = m_t · W_hrᵀ: (n, P)
        k.gemm(false, true, n, P, H, m, r * H, H, this.params.weightHr!.value, 0, H, false, out, r * P, P);
        carryProjectedState(n, P, out, r * P, hPrev, r * P, mask, r, next, nextOffset);
      }
      this.afterStep(frame, s);
    }
    if (frame.packed) this.gatherFinalState(frame, c, c0, cache.cN.reserve(BH));
    return cache;
  }

  backward(cache: LSTMCache, grads: BackwardInput): BackwardOutput {
    const frame = this.beginBackward(cache, grads);
    const { T, B, mask, dOut, dh, offsets } = frame;
    const k = kernels();
    const H = this.hiddenSize;
    const R = this.outputSize;
    const P = this.projSize;
    const G = 4 * H;
    const rows = cache.rows;
    const gates = cache.gates.reserve(rows * G);
    const c = cache.c.reserve(rows * H);
    const capacity = this.blockCapacity(frame);
    const dGates = cache.dGates.reserve(capacity * G);
    const c0 = cache.c0.reserve(B * H);
    const dc = cache.dc.reserve(B * H);
    if (grads.dcN) dc.set(grads.dcN);
    else dc.fill(0);
    const { peephole, weightHr } = this.variantWeights(grads);
    const dPeephole = this.params.peephole?.grad ?? null;
    // With a projection: the step kernel's δh is δm = δh_t·W_hr, and its dL/d out is 0.
    const m = P > 0 ? cache.m.reserve(rows * H) : null;
    const dProjected = P > 0 ? cache.dProjected.reserve(capacity * P) : null;
    const dm = P > 0 ? cache.dm.reserve(B * H) : dh;
    const zeros = cache.zeros.reserve(B * Math.max(H, R));
    const dInputTable = this.walkBackward(
      frame, cache, dGates, dGates,
      (s, t, n, r, g) => {
        const cPrev = this.cellStateEntering(frame, s, c, c0, cache.cStage);
        const cPrevOffset = cPrev === c ? offsets[this.time(s - 1, T)]! * H : 0;
        if (dProjected !== null) {
          projectedStateGradient(n, P, dh, dOut, this.dOutOffset(frame, t), mask, r, dProjected, g * P);
          // δm = δh_t · W_hr: (n, H)
          k.gemm(false, false, n, H, P, dProjected, g * P, P, weightHr!, 0, H, false, dm, 0, H);
        }
        const stepDOut = m ? zeros : dOut;
        const stepDOutOffset = m ? 0 : this.dOutOffset(frame, t);
        k.lstmStepBackward(
          n, H, gates, r * G, peephole, 0, cPrev, cPrevOffset, c, r * H, stepDOut, stepDOutOffset, mask, r,
          dm, 0, dc, 0, dGates, g * G, dPeephole, 0,
        );
        // dL/dh_{t−1} += δgates_t · W_hh
        k.gemm(false, false, n, R, G, dGates, g * G, G, frame.weightHh, 0, R, true, dh, 0, R);
      },
      // dW_hr += δhᵀ·m over the block's rows: (P, H)
      dProjected === null ? undefined : (r0, blockRows) =>
        k.gemm(true, false, P, H, blockRows, dProjected, 0, P, m!, r0 * H, H, true, this.params.weightHr!.grad, 0, H),
    );
    return { dx: dInputTable ? NO_DX : frame.dx, dInputTable, dh0: dh, dc0: dc };
  }

  /**
   * The projection and peephole weights the chunk's forward pass used (BackwardInput.weights), else the
   * current ones; a snapshot without a variant's tensor is refused rather than silently replaced.
   */
  private variantWeights(grads: BackwardInput): { peephole: Float32Array | null; weightHr: Float32Array | null } {
    const { peephole, weightHr } = this.params;
    const given = grads.weights ?? null;
    if (given && ((peephole && !given.peephole) || (weightHr && !given.weightHr))) {
      const missing = peephole && !given.peephole ? peephole.name : weightHr!.name;
      throw new RangeError(`backward: the weights given (BackwardInput.weights) lack ${missing}`);
    }
    return {
      peephole: peephole ? given?.peephole ?? peephole.value : null,
      weightHr: weightHr ? given?.weightHr ?? weightHr.value : null,
    };
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
    const h = cache.hN.reserve(cache.B * this.outputSize);
    if (cache.batchSizes) return { h, c: cache.cN.reserve(BH) };
    const last = this.time(cache.T - 1, cache.T) * BH;
    return { h, c: cache.c.reserve(cache.T * BH).subarray(last, last + BH) };
  }

  /** gates = proj + h·W_hhᵀ, then c ← f⊙c + i⊙g, h ← o⊙tanh(c) (then W_hr·h with a projection). */
  step(B: number, proj: Float32Array, state: StepState, out: Float32Array, scratch: LSTMCache): void {
    const k = kernels();
    const H = this.hiddenSize;
    const R = this.outputSize;
    const { h, hOffset, cOffset } = state;
    const c = state.c!;
    const peephole = this.params.peephole?.value ?? null;
    const nextC = scratch.stepC.reserve(B * H);
    const nextH = scratch.stepH.reserve(B * H);
    k.gemm(false, true, B, 4 * H, R, h, hOffset, R, this.params.weightHh.value, 0, R, true, proj, 0, 4 * H);
    if (this.projSize === 0) {
      k.lstmStepForward(B, H, proj, 0, peephole, 0, c, cOffset, h, hOffset, null, 0, nextC, 0, nextH, 0, out, 0);
    } else {
      // nextH holds m = o⊙tanh(c); h = m·W_hrᵀ (B, P) into out.
      const zeros = scratch.zeros.reserve(B * H);
      const stepOut = scratch.stepOut.reserve(B * H);
      k.lstmStepForward(B, H, proj, 0, peephole, 0, c, cOffset, zeros, 0, null, 0, nextC, 0, nextH, 0, stepOut, 0);
      k.gemm(false, true, B, R, H, nextH, 0, H, this.params.weightHr!.value, 0, H, false, out, 0, R);
    }
    c.set(nextC, cOffset);
    h.set(this.projSize === 0 ? nextH : out.subarray(0, B * R), hOffset);
  }

  /**
   * The equations in the file header, from the activations i, f, g, o and c_{t−1}, c_t that forward
   * saved; with a projection ṁ goes to (B, H) scratch and ḣ = ṁ·W_hrᵀ, masked rows carrying ḣ_{t−1}.
   */
  tangent(cache: LSTMCache, t: number, step: TangentStep): void {
    const { T, B } = cache;
    const H = this.hiddenSize;
    const P = this.projSize;
    const G = 4 * H;
    const BH = B * H;
    const gates = cache.gates.reserve(T * B * G);
    const c = cache.c.reserve(T * BH);
    const dPre = cache.tangentGates.reserve(B * G);
    const s = this.reverse ? T - 1 - t : t;
    const cPrev = s > 0 ? c : cache.c0.reserve(BH);
    const cPrevOffset = s > 0 ? this.time(s - 1, T) * BH : 0;
    const p = this.params.peephole?.value ?? null;
    const dcIn = step.c!;
    const dcOut = step.cOut!;
    const dm = P > 0 ? cache.tangentM.reserve(BH).fill(0) : step.hOut;
    this.tangentPreActivations(B, step, dPre, "both");
    this.eachTangentUnit(cache, t, step, (b, j, n) => {
      const row = (t * B + b) * G;
      const i = gates[row + j]!;
      const f = gates[row + H + j]!;
      const g = gates[row + 2 * H + j]!;
      const o = gates[row + 3 * H + j]!;
      const di = i * (1 - i) * (p ? dPre[b * G + j]! + p[j]! * dcIn[n]! : dPre[b * G + j]!);
      const df = f * (1 - f) * (p ? dPre[b * G + H + j]! + p[H + j]! * dcIn[n]! : dPre[b * G + H + j]!);
      const dg = (1 - g * g) * dPre[b * G + 2 * H + j]!;
      const dc = df * cPrev[cPrevOffset + n]! + f * dcIn[n]! + di * g + i * dg;
      const dout = o * (1 - o) * (p ? dPre[b * G + 3 * H + j]! + p[2 * H + j]! * dc : dPre[b * G + 3 * H + j]!);
      const tc = Math.tanh(c[t * BH + n]!);
      dcOut[n] = dc;
      dm[n] = dout * tc + o * (1 - tc * tc) * dc;
    });
    if (P > 0) {
      // ḣ = ṁ·W_hrᵀ (B, P); a masked row's ṁ stayed 0: it carries ḣ_{t−1}.
      kernels().gemm(false, true, B, P, H, dm, 0, H, this.params.weightHr!.value, 0, H, false, step.hOut, 0, P);
      for (let b = 0; b < B; b++) if (!this.tangentRowRuns(cache, t, b)) this.carryTangentRow(step, b);
    }
  }
}
