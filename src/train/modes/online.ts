/**
 * What RTRL and UORO share: the window of a mode that carries sensitivities forward in time instead
 * of back-propagating. It forwards a chunk one step at a time (one segment per step, with the state
 * that entered it, as TBPTT's window keeps), and at the update walks the chunk's steps oldest first,
 * row by row:
 *
 *   for each step t, each row b:   advance the row's sensitivities from s_{t−1} to s_t   (advanceRow)
 *                                  g += (∂ℓ_t/∂s_t) · (sensitivities of s_t)              (contract)
 *
 * ∂ℓ_t/∂s_t is the chunk's dL/d(output) at step t (the head's input is the top layer's h, a part of
 * s_t); the head's own gradient is added by the loss. A loss at each row's last step comes instead
 * as dL/d(the state the chunk leaves) (dFinal, chunk-loss.ts), contracted once the chunk's steps are
 * carried through. A row that does not run at a step (padding: a packed row past its end) keeps its
 * state (∂F/∂s = I, ∂⁺F/∂θ = 0): its sensitivities stay as they are, so the state it leaves the
 * chunk with has those of its last step. A row whose state is reset to zero (a new sequence) has its
 * sensitivities reset: no gradient crosses a reset.
 *
 * Rows are the layout's (layout.ts): a padded batch's rows ordered by length, as its state is. Such a
 * batch never continues, and the trainer resets the window after it: nothing is carried in that order.
 *
 * The sensitivities advance through every step, with a loss or not: a chunk without a loss term makes
 * no update (no backward), and its steps are carried through before the next chunk drops them.
 *
 * Only the chunk being processed is kept: O(k1) steps of activations plus the mode's own buffers,
 * whatever the length of the stream, which may continue across batches with no k2. Each step's
 * derivatives come from the row's step recomputed alone (row-step.ts), without dropout.
 */
import { kernels } from "../../kernels/index.js";
import type { RecurrentState } from "../../layers/recurrent-state.js";
import type { Batch } from "../batch.js";
import type { ModeState } from "../checkpoint.js";
import type { GradientFlow } from "../diagnostics.js";
import type { BatchLayout } from "../layout.js";
import type { SequenceModel } from "../model.js";
import { TruncationWindow } from "../window.js";
import { RowStep } from "./row-step.js";
import { savedInteger, savedModeState } from "./saved.js";

export abstract class OnlineWindow extends TruncationWindow {
  protected readonly row: RowStep;
  /** (p) the gradient of θ (all but the head) accumulated over the chunk. */
  protected readonly gradient: Float32Array;
  /** Stream time up to which the sensitivities have been advanced. */
  protected advancedTo = 0;

  constructor(model: SequenceModel) {
    super(model);
    this.row = new RowStep(model);
    this.gradient = kernels().allocate(this.row.p);
  }

  /** The mode's name, for checkpoints and messages. */
  abstract readonly kind: "rtrl" | "uoro";
  /** Sizes the mode's buffers for B rows, all zero. */
  protected abstract allocateRows(B: number): void;
  /** Zeroes row b's sensitivities (its state was reset: nothing before it influences what follows). */
  protected abstract resetRow(b: number): void;
  /** Advances row b's sensitivities through the step loaded in `this.row`. */
  protected abstract advanceRow(b: number): void;
  /**
   * gradient += u (`size` values at `offset`: ∂ℓ/∂ of a part of row b's state, the state values
   * [at, at + size) of RowStep's layout) · row b's sensitivities of that part.
   */
  protected abstract contract(b: number, u: Float32Array, offset: number, at: number, size: number): void;
  /** The mode's arrays and numbers for a checkpoint. */
  protected abstract exportRows(): Pick<ModeState, "arrays" | "values">;
  /** Restores them, checked against B rows of this model. */
  protected abstract importRows(state: ModeState): void;

  override allocate(B: number): void {
    const fresh = this.batchSize !== B || this.state === null;
    super.allocate(B);
    if (fresh) this.allocateRows(B);
  }

  override reset(): void {
    super.reset();
    this.advancedTo = 0;
    for (let b = 0; b < this.batchSize; b++) this.resetRow(b);
  }

  /** One segment per step: each step's entering state is what its derivatives start from. */
  override forwardChunk(batch: Batch, layout: BatchLayout, start: number, end: number, version: number): void {
    for (let s = start; s < end; s++) super.forwardChunk(batch, layout, s, s + 1, version);
  }

  /** Keeps nothing of earlier chunks (their contribution lives on in the sensitivities), once carried through. */
  override prune(): void {
    if (this.advancedTo < this.streamTime) this.advance(null);
    super.prune(this.streamTime);
  }

  /** No later update back-propagates through these steps: no weights to keep. */
  override keepWeights(): void {}

  /** Carries the sensitivities through the chunk's steps and adds g into θ's grad (see the file header). */
  override backward(
    _rowEnds: Int32Array, _k2: number, _updates: number, _flow: GradientFlow | null, dFinal: RecurrentState | null,
  ): void {
    this.advance(dFinal);
  }

  /**
   * Advances through the steps not yet carried, contracting with their losses' dOutput where there is
   * one, and at the end with dFinal, dL/d(the state they leave), when given.
   */
  private advance(dFinal: RecurrentState | null): void {
    const row = this.row;
    const { outputOffset } = row;
    // The outputs' width per row: h's (the LSTM's projection P if it has one).
    const H = this.model.rnn.stateSizes.h;
    row.isolateGradients();
    this.gradient.fill(0);
    for (const segment of this.segments) {
      if (segment.start < this.advancedTo) continue;
      const B = segment.cache.B;
      for (let b = 0; b < B; b++) {
        if (segment.resetRows.includes(b)) this.resetRow(b);
        if (!row.load(segment, b)) continue;
        this.advanceRow(b);
        // dOutput's rows are the step's running rows (packed) or all B: row b is at b either way.
        const dOut = segment.dOutput;
        if (dOut && !isZero(dOut, b * H, H)) this.contract(b, dOut, b * H, outputOffset, H);
      }
    }
    if (dFinal) {
      for (let b = 0; b < this.batchSize; b++) {
        row.eachStatePart(dFinal, b, (values, offset, at, size) => {
          if (!isZero(values, offset, size)) this.contract(b, values, offset, at, size);
        });
      }
    }
    row.restoreGradients(this.gradient);
    this.advancedTo = this.streamTime;
  }

  exportMode(): ModeState {
    const { arrays, values } = this.exportRows();
    return { kind: this.kind, arrays, values: { ...values, advancedTo: this.advancedTo } };
  }

  /** A checkpoint of another mode (or of none) does not fit. */
  importMode(state: ModeState | undefined): void {
    const saved = savedModeState(state, this.kind, `mode "${this.kind}"`);
    const advancedTo = savedInteger(saved, "advancedTo", 0);
    if (advancedTo > this.streamTime) {
      throw new RangeError(`trainer state: mode "${this.kind}"'s position in the stream is malformed`);
    }
    this.importRows(saved);
    this.advancedTo = advancedTo;
  }
}

function isZero(a: Float32Array, offset: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[offset + i] !== 0) return false;
  return true;
}
