/**
 * The parameters of one layer and direction, named as in PyTorch's state_dict, for a cell of G gate
 * blocks of H units over inputs of I features, whose state h has R values (R = H, or P for an LSTM with
 * a projection):
 *
 *   weight_ih_l{k}{_reverse}: (G·H, I)   weight_hh_l{k}{_reverse}: (G·H, R)   bias_ih, bias_hh: (G·H)
 *   weight_hr_l{k}{_reverse}: (P, H)     the LSTM's projection (PyTorch's proj_size), h_t = W_hr·m_t
 *   weight_peephole_l{k}{_reverse}: (3H) the LSTM's peepholes p_i, p_f, p_o (no PyTorch counterpart)
 *
 * Also what every cell does with them the same way: the input projection x·W_ihᵀ + b (one GEMM over
 * many rows), and the copies a trainer keeps of the weights a chunk's forward pass used.
 */
import { kernels } from "../kernels/index.js";
import { Parameter } from "../tensor/parameter.js";
import type { CellOptions, CellWeights } from "./chunk.js";

export class CellParameters {
  readonly weightIh: Parameter;
  readonly weightHh: Parameter;
  readonly biasIh: Parameter | null;
  readonly biasHh: Parameter | null;
  /** (P, H) the LSTM's projection, or null. */
  readonly weightHr: Parameter | null;
  /** (3H) the LSTM's peephole weights (i, f, o), or null. */
  readonly peephole: Parameter | null;

  /** `gates`: G, the gate blocks of the cell (RNN 1, GRU 3, LSTM 4). */
  constructor(gates: number, options: CellOptions) {
    const { inputSize: I, hiddenSize: H } = options;
    requirePositiveInteger(I, "inputSize");
    requirePositiveInteger(H, "hiddenSize");
    const P = projectionSize(options);
    const G = gates * H;
    const suffix = `_l${options.layer ?? 0}${options.reverse ? "_reverse" : ""}`;
    this.weightIh = new Parameter(`weight_ih${suffix}`, [G, I]);
    this.weightHh = new Parameter(`weight_hh${suffix}`, [G, P > 0 ? P : H]);
    const bias = options.bias ?? true;
    this.biasIh = bias ? new Parameter(`bias_ih${suffix}`, [G]) : null;
    this.biasHh = bias ? new Parameter(`bias_hh${suffix}`, [G]) : null;
    this.weightHr = P > 0 ? new Parameter(`weight_hr${suffix}`, [P, H]) : null;
    this.peephole = options.peephole ? new Parameter(`weight_peephole${suffix}`, [3 * H]) : null;
  }

  /** In PyTorch's state_dict order (the peepholes, which PyTorch has not, last). */
  list(): Parameter[] {
    const out = [this.weightIh, this.weightHh];
    for (const p of [this.biasIh, this.biasHh, this.weightHr, this.peephole]) if (p) out.push(p);
    return out;
  }

  /**
   * The input projection of `rows` rows in one GEMM:
   *   proj: (rows, G·H) at projOffset = x: (rows, I) at xOffset · W_ihᵀ  [+ b_ih] [+ b_hh]
   */
  project(
    rows: number, x: Float32Array, xOffset: number, proj: Float32Array, projOffset: number, addHiddenBias: boolean,
  ): void {
    const k = kernels();
    const [GH, I] = this.weightIh.shape as [number, number];
    k.gemm(false, true, rows, GH, I, x, xOffset, I, this.weightIh.value, 0, I, false, proj, projOffset, GH);
    if (this.biasIh) k.addRowVector(rows, GH, proj, projOffset, this.biasIh.value, 0);
    if (addHiddenBias && this.biasHh) k.addRowVector(rows, GH, proj, projOffset, this.biasHh.value, 0);
  }

  /** Copies of the values, written into `into` when given (no allocation), else into new arrays. */
  snapshot(into?: CellWeights): CellWeights {
    return {
      weightIh: copyValue(this.weightIh, into?.weightIh)!,
      weightHh: copyValue(this.weightHh, into?.weightHh)!,
      biasIh: copyValue(this.biasIh, into?.biasIh),
      biasHh: copyValue(this.biasHh, into?.biasHh),
      weightHr: copyValue(this.weightHr, into?.weightHr),
      peephole: copyValue(this.peephole, into?.peephole),
    };
  }

  /** Sets the values from a snapshot. */
  load(weights: CellWeights): void {
    this.weightIh.assign(weights.weightIh);
    this.weightHh.assign(weights.weightHh);
    if (this.biasIh) this.biasIh.assign(weights.biasIh ?? new Float32Array(0));
    if (this.biasHh) this.biasHh.assign(weights.biasHh ?? new Float32Array(0));
    if (this.weightHr) this.weightHr.assign(weights.weightHr ?? new Float32Array(0));
    if (this.peephole) this.peephole.assign(weights.peephole ?? new Float32Array(0));
  }
}

/** P from the options: 0 (no projection), or an integer in [1, H), as PyTorch requires of proj_size. */
function projectionSize(options: CellOptions): number {
  const P = options.projSize ?? 0;
  if (P === 0) return 0;
  if (!Number.isInteger(P) || P < 1 || P >= options.hiddenSize) {
    const range = `[1, hiddenSize = ${options.hiddenSize}) (PyTorch's proj_size < hidden_size)`;
    throw new RangeError(`projSize must be an integer in ${range}, or 0 for none, got ${P}`);
  }
  return P;
}

function copyValue(p: Parameter | null, buffer?: Float32Array | null): Float32Array | null {
  if (!p) return null;
  const out = buffer ?? kernels().allocate(p.size);
  out.set(p.value);
  return out;
}

/** Throws a RangeError naming `name` unless value is an integer ≥ 1. */
export function requirePositiveInteger(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}
