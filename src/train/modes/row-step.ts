/**
 * One step of one row of a batch, recomputed on its own (B = 1, T = 1), so that the online modes
 * (RTRL, UORO) can take the derivatives of that row's step alone. Write the step as
 *
 *   s_t = F(s_{t−1}, x_t; θ)     s: the row's whole state, every layer's h (and c): n values
 *                                θ: every parameter but the head's (embedding, recurrent): p values
 *
 *   vjp(u) → uᵀ·∂F/∂s_{t−1} (n) and uᵀ·∂⁺F/∂θ (p)    one backward of the step, seeded with u at s_t
 *   jvp(v) → ∂F/∂s_{t−1}·v (n)                         the cells' tangents, layer after layer
 *
 * ∂⁺ is the immediate derivative (s_{t−1} held constant). Each costs about one forward of the step:
 * O(p) per row. The batch's rows are independent, so row b's derivatives are those of its own step;
 * recomputing it alone (instead of seeding row b of the whole batch) keeps each product O(p), not O(B·p).
 *
 * Layouts. State (n = L·(H + C), H = h's width (the LSTM's projection P if it has one), C = the LSTM's
 * cell state, else 0): for each layer l, h_l (H) then c_l (C).
 * Parameters: the model's parameters in state_dict order without the head's, each flattened.
 *
 * The step is recomputed without dropout: the online modes refuse a model with dropout between layers.
 * vjp reads the gradient that model.backward adds into the parameters' grad; call `isolateGradients`
 * before the first and `restoreGradients` after the last, which puts back what grad held plus the
 * mode's own gradient.
 */
import type { TangentStep } from "../../cells/cell.js";
import type { RecurrentState } from "../../layers/recurrent-state.js";
import { kernels } from "../../kernels/index.js";
import type { Parameter } from "../../tensor/parameter.js";
import type { ModelInput, SequenceModel } from "../model.js";
import type { Segment } from "../window.js";

const NONE = new Float32Array(0);

export class RowStep {
  readonly model: SequenceModel;
  /** n: the state values of one row. */
  readonly n: number;
  /** p: the parameters the recurrence depends on (all but the head's). */
  readonly p: number;
  /** Where the top layer's h (the output the head reads) starts in the state layout. */
  readonly outputOffset: number;
  /** θ in the parameter layout. */
  readonly params: readonly Parameter[];
  private readonly H: number;
  private readonly C: number;
  private readonly layers: number;
  private readonly state: RecurrentState;
  private readonly seed: RecurrentState;
  private readonly cache;
  /** What the parameters' grad held before `isolateGradients`. */
  private readonly stash: Float32Array;
  private readonly ids = new Int32Array(1);
  private readonly features: Float32Array;
  /** The tangents of one layer's step, reused (views into the caller's vectors). */
  private readonly tangentStep: TangentStep = { h: NONE, c: null, x: null, hOut: NONE, cOut: null };

  constructor(model: SequenceModel) {
    this.model = model;
    const rnn = model.rnn;
    this.H = rnn.stateSizes.h;
    this.C = rnn.stateSizes.c;
    this.layers = rnn.numLayers * rnn.directions;
    this.n = this.layers * (this.H + this.C);
    this.outputOffset = (this.layers - 1) * (this.H + this.C);
    const head = new Set(model.head.parameters());
    this.params = model.parameters().filter((p) => !head.has(p));
    this.p = this.params.reduce((sum, p) => sum + p.size, 0);
    this.state = model.createState(1);
    this.seed = model.createState(1);
    this.cache = model.createCache();
    this.stash = kernels().allocate(this.p);
    this.features = kernels().allocate(model.embedding ? 0 : model.inputSize);
  }

  /**
   * Recomputes row b of a one-step segment (forwarded over B rows with the current weights) from
   * the state that entered it. Returns false, computing nothing, when the row does not run at that
   * step (padding: a masked step, or a packed row past its end): its state is carried unchanged
   * (∂F/∂s = I, ∂⁺F/∂θ = 0). Packed, the running rows are the first n of the step (layout.ts), and
   * row b's input is the step's row b.
   */
  load(segment: Segment, b: number): boolean {
    const { cache } = segment;
    const B = cache.B;
    if (cache.mask && cache.mask[b] === 0) return false;
    if (cache.batchSizes && b >= cache.batchSizes[0]!) return false;
    const { H, C } = this;
    for (let i = 0; i < this.layers; i++) {
      const row = (i * B + b) * H;
      this.state.h.data.set(segment.h0.subarray(row, row + H), i * H);
      const cRow = (i * B + b) * C;
      if (this.state.c && segment.c0) this.state.c.data.set(segment.c0.subarray(cRow, cRow + C), i * C);
    }
    const input: ModelInput = { T: 1, B: 1, mask: null };
    if (cache.ids) {
      this.ids[0] = cache.ids[b]!;
      input.ids = this.ids;
    } else {
      const I = this.model.inputSize;
      this.features.set(cache.input.subarray(b * I, (b + 1) * I));
      input.features = this.features;
    }
    this.model.forward(input, this.state, this.cache, { training: false, finiteChecked: true, inputTable: false });
    return true;
  }

  /** Saves and zeroes the grad of θ, so that `vjp` can read its products from it. */
  isolateGradients(): void {
    let offset = 0;
    for (const p of this.params) {
      this.stash.set(p.grad, offset);
      p.grad.fill(0);
      offset += p.size;
    }
  }

  /** grad of θ = what it held before `isolateGradients` + `gradient` (p). */
  restoreGradients(gradient: Float32Array): void {
    let offset = 0;
    for (const p of this.params) {
      const grad = p.grad;
      for (let i = 0; i < p.size; i++) grad[i] = this.stash[offset + i]! + gradient[offset + i]!;
      offset += p.size;
    }
  }

  /**
   * The loaded step's vector–Jacobian products with u (n, at uOffset): uᵀ·∂F/∂s_{t−1} into dState
   * (n, at dStateOffset) when given, and uᵀ·∂⁺F/∂θ into dTheta (p, at dThetaOffset).
   */
  vjp(
    u: Float32Array, uOffset: number, dState: Float32Array | null, dStateOffset: number,
    dTheta: Float32Array, dThetaOffset: number,
  ): void {
    this.unpack(u, uOffset, this.seed);
    const d = this.model.backward(this.cache, { dOutput: null, dState: this.seed, finiteChecked: true });
    if (dState) this.pack(d, dState, dStateOffset);
    let offset = dThetaOffset;
    for (const p of this.params) {
      const grad = p.grad;
      for (let i = 0; i < p.size; i++) dTheta[offset + i] = grad[i]!;
      grad.fill(0);
      offset += p.size;
    }
  }

  /** The loaded step's Jacobian–vector product: ∂F/∂s_{t−1}·v (v: n at vOffset) into out (n). */
  jvp(v: Float32Array, vOffset: number, out: Float32Array, outOffset: number): void {
    const { H, C } = this;
    const cells = this.model.rnn.cells;
    const caches = this.cache.recurrent.cells;
    const step = this.tangentStep;
    step.x = null; // layer 0 reads data; layer l > 0 reads layer l − 1's output h
    for (let l = 0; l < this.layers; l++) {
      const at = l * (H + C);
      step.h = v.subarray(vOffset + at, vOffset + at + H);
      step.c = C > 0 ? v.subarray(vOffset + at + H, vOffset + at + H + C) : null;
      step.hOut = out.subarray(outOffset + at, outOffset + at + H);
      step.cOut = C > 0 ? out.subarray(outOffset + at + H, outOffset + at + H + C) : null;
      cells[l]!.tangent(caches[l]!, 0, step);
      step.x = step.hOut;
    }
  }

  /**
   * Row b of a B-row state (L·D, B, ·), part by part: fn(values, offset, at, size) for each layer's h
   * (and c), `size` values at `offset` of `values`, which are state values [at, at + size) of a row.
   */
  eachStatePart(
    state: RecurrentState, b: number, fn: (values: Float32Array, offset: number, at: number, size: number) => void,
  ): void {
    const { H, C } = this;
    const B = state.batchSize;
    for (let l = 0; l < this.layers; l++) {
      fn(state.h.data, (l * B + b) * H, l * (H + C), H);
      if (state.c && C > 0) fn(state.c.data, (l * B + b) * C, l * (H + C) + H, C);
    }
  }

  /** s (n, at offset) → a one-row RecurrentState. */
  private unpack(s: Float32Array, offset: number, into: RecurrentState): void {
    const { H, C } = this;
    for (let l = 0; l < this.layers; l++) {
      const at = offset + l * (H + C);
      into.h.data.set(s.subarray(at, at + H), l * H);
      if (into.c) into.c.data.set(s.subarray(at + H, at + H + C), l * C);
    }
  }

  /** A one-row RecurrentState → s (n, at offset). */
  private pack(state: RecurrentState, s: Float32Array, offset: number): void {
    const { H, C } = this;
    for (let l = 0; l < this.layers; l++) {
      const at = offset + l * (H + C);
      s.set(state.h.data.subarray(l * H, (l + 1) * H), at);
      if (state.c) s.set(state.c.data.subarray(l * C, (l + 1) * C), at + H);
    }
  }
}
