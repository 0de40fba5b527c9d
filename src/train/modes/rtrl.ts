/**
 * Real-time recurrent learning (Williams & Zipser 1989): the exact online gradient, with no
 * backtracking. Each row carries the sensitivities of its state to the parameters,
 *
 *   S_t = ∂s_t/∂θ  (n × p)        S_t = J_t·S_{t−1} + M_t,   J_t = ∂F/∂s_{t−1} (n × n),  M_t = ∂⁺F/∂θ (n × p)
 *   g  += (∂ℓ_t/∂s_t)·S_t         S = 0 where the state is reset
 *
 * With k1 = 1 this is exactly TBPTT(1, ∞)'s gradient ("online"), with k1 steps per update that of
 * TBPTT(k1, ∞): the sensitivities are built with the weights of their time, as TBPTT's window
 * back-propagates with them. J_t and M_t come row by row from n vector–Jacobian products of the
 * row's step, seeded with each unit vector e_j: e_jᵀ·J_t and e_jᵀ·M_t are their rows j.
 *
 * Cost per step and row: n backward passes of one step (O(n·p)) and the product J·S, n²·p
 * multiply-adds; memory B·n·p values. n = L·(H + C) is every layer's state (C = H for the LSTM)
 * and p every parameter but the head's: for one LSTM layer n = 2H, p ≈ 4H(I + H), so O(H⁴) per step.
 * Above RTRL_LIMIT values of S the mode refuses, naming the cost.
 */
import { kernels } from "../../kernels/index.js";
import { ReusableBuffer } from "../../tensor/buffers.js";
import type { ModeState } from "../checkpoint.js";
import type { SequenceModel } from "../model.js";
import { OnlineWindow } from "./online.js";
import { savedArray } from "./saved.js";

/** The most sensitivities RTRL keeps: 2^26 values (256 MiB in float32) over the batch. */
export const RTRL_LIMIT = 2 ** 26;

export class RtrlWindow extends OnlineWindow {
  readonly kind = "rtrl" as const;
  /** (B, n, p) S of every row, row-major. */
  private readonly sensitivities = new ReusableBuffer();
  /** (n, n) J_t, (n, p) M_t then S_t of the row being advanced, (n) the unit seed. */
  private readonly jacobian: Float32Array;
  private readonly immediate: Float32Array;
  private readonly unit: Float32Array;

  constructor(model: SequenceModel) {
    super(model);
    const { n, p } = this.row;
    checkRtrlCost(model, n, p, 1);
    this.jacobian = kernels().allocate(n * n);
    this.immediate = kernels().allocate(n * p);
    this.unit = kernels().allocate(n);
  }

  protected allocateRows(B: number): void {
    const { n, p } = this.row;
    checkRtrlCost(this.model, n, p, B);
    this.sensitivities.reserve(B * n * p).fill(0);
  }

  protected resetRow(b: number): void {
    const np = this.row.n * this.row.p;
    this.sensitivities.reserve(this.batchSize * np).fill(0, b * np, (b + 1) * np);
  }

  /** S_b ← J·S_b + M, J and M from n vector–Jacobian products. */
  protected advanceRow(b: number): void {
    const { n, p } = this.row;
    const S = this.sensitivities.reserve(this.batchSize * n * p);
    for (let j = 0; j < n; j++) {
      this.unit.fill(0);
      this.unit[j] = 1;
      this.row.vjp(this.unit, 0, this.jacobian, j * n, this.immediate, j * p);
    }
    // immediate (n, p) += J (n, n) · S_b (n, p), then S_b = immediate.
    kernels().gemm(false, false, n, p, n, this.jacobian, 0, n, S, b * n * p, p, true, this.immediate, 0, p);
    S.set(this.immediate, b * n * p);
  }

  /** g (1, p) += u (1, size) · S_b[state rows at … at + size] (size, p). */
  protected contract(b: number, u: Float32Array, offset: number, at: number, size: number): void {
    const { n, p } = this.row;
    const S = this.sensitivities.reserve(this.batchSize * n * p);
    kernels().gemm(false, false, 1, p, size, u, offset, size, S, (b * n + at) * p, p, true, this.gradient, 0, p);
  }

  protected exportRows(): Pick<ModeState, "arrays" | "values"> {
    const { n, p } = this.row;
    return { arrays: { sensitivities: this.sensitivities.reserve(this.batchSize * n * p).slice() }, values: {} };
  }

  protected importRows(state: ModeState): void {
    const { n, p } = this.row;
    this.sensitivities.reserve(this.batchSize * n * p).set(savedArray(state, "sensitivities", this.batchSize * n * p));
  }
}

/**
 * Refuses, with the cost, an RTRL whose sensitivities for B rows exceed RTRL_LIMIT values: memory
 * B·n·p values, time B·n²·p multiply-adds per step (plus n backward passes of a step per row).
 */
export function checkRtrlCost(model: SequenceModel, n: number, p: number, B: number): void {
  const values = B * n * p;
  if (values <= RTRL_LIMIT) return;
  const { hiddenSize, numLayers } = model.rnn;
  const batch = B === 1 ? "" : `, ${count(values)} for B = ${B} sequences`;
  throw new RangeError(
    `mode "rtrl" with hiddenSize ${hiddenSize}, ${numLayers} layer${numLayers === 1 ? "" : "s"} (state n = ${n}, ` +
      `p = ${count(p)} parameters) keeps n·p = ${count(n * p)} sensitivities per sequence${batch} ` +
      `(${mebibytes(values)} MiB in float32) and needs ${count(B * n * n * p)} multiply-adds per step, ` +
      `over the limit of ${count(RTRL_LIMIT)} values: ` +
      'use mode "uoro" (O(n + p) per sequence, O(p) per step), a smaller hiddenSize or batch',
  );
}

function count(x: number): string {
  return x >= 1e9 ? `${(x / 1e9).toFixed(1)}G` : x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x.toLocaleString("en-US");
}

function mebibytes(values: number): string {
  return ((values * 4) / 2 ** 20).toFixed(0);
}
