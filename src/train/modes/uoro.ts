/**
 * Unbiased Online Recurrent Optimization (Tallec & Ollivier 2018, arXiv 1702.05043), the rank-one
 * heir of NoBackTrack (Ollivier, Tallec & Charpiat 2015, arXiv 1507.07680). Each row carries a
 * rank-one estimate s̃·θ̃ᵀ of RTRL's sensitivities S_t = ∂s_t/∂θ (rtrl.ts): s̃ (n) and θ̃ (p). Per step,
 * with ν (n) of independent random signs ±1:
 *
 *   s̃_t = ρ0·J_t·s̃_{t−1} + ρ1·ν               J_t·s̃: the cells' tangents (forward mode, exact)
 *   θ̃_t = θ̃_{t−1}/ρ0 + (νᵀ·M_t)/ρ1            νᵀ·M_t: one backward of the row's step, seeded with ν
 *   ρ0 = √((‖θ̃_{t−1}‖ + ε) / (‖J_t·s̃_{t−1}‖ + ε)),   ρ1 = √((‖νᵀ·M_t‖ + ε) / (‖ν‖ + ε)),   ε = 1e-7
 *   g += ((∂ℓ_t/∂s_t)·s̃_t)·θ̃_t
 *
 * Unbiased: if E[s̃θ̃ᵀ] = S_{t−1} then, as E[ν] = 0 and E[ννᵀ] = I with ν drawn afresh,
 * E[s̃_tθ̃_tᵀ] = J·S_{t−1} + M_t = S_t; the ρ's cancel in the product (ρ0/ρ0, ρ1/ρ1) and only choose
 * how the variance splits between the two factors (they minimise it). Removing the signs (ν = 1) or
 * the compensation (θ̃ without the 1/ρ) biases it: the tests show both (test/train/unbiased.test.ts).
 *
 * The products are exact: J·s̃ uses the cells' `tangent`, not the finite difference
 * (F(s + εs̃) − F(s))/ε of the UORO paper, whose bias is O(ε) and whose float32 rounding is large.
 * Cost per step and row: one recomputed step, one tangent and one backward, O(p); memory B·(n + p).
 * The price is variance: see docs/tbptt.md and the beyond-truncation experiment.
 */
import { kernels } from "../../kernels/index.js";
import { ReusableBuffer } from "../../tensor/buffers.js";
import { Rng } from "../../tensor/rng.js";
import type { ModeState } from "../checkpoint.js";
import type { SequenceModel } from "../model.js";
import { OnlineWindow } from "./online.js";
import { savedArray } from "./saved.js";

const EPSILON = 1e-7;

/** For the tests' negative controls only: what to remove to show that the test can fail. */
export type UoroAblation = "random-signs" | "compensation";

export interface UoroOptions {
  /** Seeds the random signs. */
  seed: number;
  ablation?: UoroAblation | null;
}

export class UoroWindow extends OnlineWindow {
  readonly kind = "uoro" as const;
  readonly rng: Rng;
  private readonly ablation: UoroAblation | null;
  /** (B, n) s̃ and (B, p) θ̃ of every row. */
  private readonly stateFactor = new ReusableBuffer();
  private readonly parameterFactor = new ReusableBuffer();
  /** (n) J·s̃ and ν, (p) νᵀ·M. */
  private readonly tangent: Float32Array;
  private readonly signs: Float32Array;
  private readonly signed: Float32Array;

  constructor(model: SequenceModel, options: UoroOptions) {
    super(model);
    this.rng = new Rng(options.seed);
    this.ablation = options.ablation ?? null;
    const { n, p } = this.row;
    this.tangent = kernels().allocate(n);
    this.signs = kernels().allocate(n);
    this.signed = kernels().allocate(p);
  }

  protected allocateRows(B: number): void {
    this.stateFactor.reserve(B * this.row.n).fill(0);
    this.parameterFactor.reserve(B * this.row.p).fill(0);
  }

  protected resetRow(b: number): void {
    const { n, p } = this.row;
    this.stateFactor.reserve(this.batchSize * n).fill(0, b * n, (b + 1) * n);
    this.parameterFactor.reserve(this.batchSize * p).fill(0, b * p, (b + 1) * p);
  }

  /** The update in the file header, for row b. */
  protected advanceRow(b: number): void {
    const { n, p } = this.row;
    const sTilde = this.stateFactor.reserve(this.batchSize * n);
    const thetaTilde = this.parameterFactor.reserve(this.batchSize * p);
    const { tangent, signs, signed } = this;
    this.row.jvp(sTilde, b * n, tangent, 0);
    this.drawSigns();
    this.row.vjp(signs, 0, null, 0, signed, 0);
    const rho0 = Math.sqrt((norm(thetaTilde, b * p, p) + EPSILON) / (norm(tangent, 0, n) + EPSILON));
    const rho1 = Math.sqrt((norm(signed, 0, p) + EPSILON) / (Math.sqrt(n) + EPSILON));
    for (let i = 0; i < n; i++) sTilde[b * n + i] = rho0 * tangent[i]! + rho1 * signs[i]!;
    const keep = this.ablation === "compensation" ? 1 : 1 / rho0;
    const add = this.ablation === "compensation" ? 1 : 1 / rho1;
    for (let i = 0; i < p; i++) thetaTilde[b * p + i] = keep * thetaTilde[b * p + i]! + add * signed[i]!;
  }

  /** g += (u · s̃_b[state values at … at + size]) · θ̃_b. */
  protected contract(b: number, u: Float32Array, offset: number, at: number, size: number): void {
    const { n, p } = this.row;
    const sTilde = this.stateFactor.reserve(this.batchSize * n);
    const thetaTilde = this.parameterFactor.reserve(this.batchSize * p);
    let c = 0;
    for (let k = 0; k < size; k++) c += u[offset + k]! * sTilde[b * n + at + k]!;
    for (let i = 0; i < p; i++) this.gradient[i]! += c * thetaTilde[b * p + i]!;
  }

  /** ν: n independent signs, 32 from each draw (all +1 in the "random-signs" ablation). */
  private drawSigns(): void {
    const signs = this.signs;
    if (this.ablation === "random-signs") {
      signs.fill(1);
      return;
    }
    let bits = 0;
    for (let i = 0; i < signs.length; i++) {
      if (i % 32 === 0) bits = this.rng.nextUint32();
      signs[i] = bits & 1 ? 1 : -1;
      bits >>>= 1;
    }
  }

  protected exportRows(): Pick<ModeState, "arrays" | "values"> {
    const { n, p } = this.row;
    return {
      arrays: {
        stateFactor: this.stateFactor.reserve(this.batchSize * n).slice(),
        parameterFactor: this.parameterFactor.reserve(this.batchSize * p).slice(),
      },
      values: { rng: this.rng.getState() },
    };
  }

  protected importRows(state: ModeState): void {
    const { n, p } = this.row;
    const B = this.batchSize;
    const rng = state.values.rng;
    if (!Array.isArray(rng)) throw new RangeError("trainer state: the mode's random generator is missing");
    this.stateFactor.reserve(B * n).set(savedArray(state, "stateFactor", B * n));
    this.parameterFactor.reserve(B * p).set(savedArray(state, "parameterFactor", B * p));
    this.rng.setState(rng);
  }
}

function norm(a: Float32Array, offset: number, length: number): number {
  let s = 0;
  for (let i = 0; i < length; i++) s += a[offset + i]! * a[offset + i]!;
  return Math.sqrt(s);
}
