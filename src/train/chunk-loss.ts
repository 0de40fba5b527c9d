/**
 * The loss of one chunk of a batch: the head and the objective at the steps that carry a loss, and
 * back. The chunk was forwarded in one or more pieces (the trainer splits a chunk where a row starts
 * a new sequence), each with its outputs (R_p, F) for its R_p rows (T_p·B, or packed: layout.ts); the
 * N loss positions (loss-positions.ts) are rows of the layout.
 *
 *   gather    rows: (N, F) = outputs at the N positions
 *   head      logits: (N, O) = rows · Wᵀ + b
 *   loss      Σ ℓ(logits, targets) (objective.ts), dLogits = scale · ∂(Σ ℓ)/∂logits
 *   backward  dW_head += dLogitsᵀ · rows, db_head += Σ dLogits (+=, the trainer zeroes once per update)
 *   scatter   each piece's dOutput: (R_p, F) = dLogits · W at its positions, 0 elsewhere
 *             (null for a piece no loss reads)
 *
 * A loss at each row's last step in the chunk (lossAt "last-step", with or without everyChunk) reads
 * the top layer's state after that step, the state the row leaves the chunk with (a row that has
 * stopped running keeps it, layout.ts). For a unidirectional stack its gradient is therefore given as
 * dL/d(the final state) of the chunk's newest piece — `backward` writes it into a RecurrentState
 * instead of scattering it into a dOutput of the piece's N rows — which the stack carries back to the
 * row's last step unchanged, where it enters exactly as dOutput would have (δh = dh + dOut).
 *
 * When the positions are every step of a single piece, the head reads its outputs in place and
 * writes dOutput directly: no gather, no scatter. Every buffer is reused from chunk to chunk.
 */
import { enterPhase } from "../kernels/profile.js";
import type { DenseCache } from "../layers/dense.js";
import type { RecurrentState } from "../layers/recurrent-state.js";
import { ReusableBuffer } from "../tensor/buffers.js";
import type { Batch } from "./batch.js";
import type { BatchLayout } from "./layout.js";
import { type LossPlacement, LossPositions } from "./loss-positions.js";
import type { SequenceModel } from "./model.js";
import { lossAndGradient } from "./objective.js";

/** A run of steps of the chunk, forwarded in one call. */
export interface LossPiece {
  readonly T: number;
  /** R: its rows (T·B, or the packed rows of its steps). */
  readonly rows: number;
  /** (R, F) the recurrent stack's outputs. */
  readonly output: Float32Array;
  /** (R, F) dL/d output after `backward`, or null when no loss reads this piece. */
  dOutput: Float32Array | null;
  /** Where dOutput is kept. */
  readonly dOutputStorage: ReusableBuffer;
}

export interface ChunkLossOptions {
  lossAt: LossPlacement;
  /** With lossAt "last-step": also a loss at the end of the chunk, against the sequence's target. */
  everyChunk: boolean;
  /** dLogits = scale · ∂(Σ ℓ)/∂logits. */
  scale: number;
}

export interface ChunkLossValue {
  /** Σ ℓ over the loss terms. */
  sum: number;
  /** N: the loss terms. */
  terms: number;
  /** Correct predictions among them (classes and binary). */
  correct: number;
}

export class ChunkLoss {
  private readonly positions = new LossPositions();
  private readonly headCache: DenseCache;
  private readonly gathered = new ReusableBuffer();
  private readonly dLogits = new ReusableBuffer();
  /** Per position n: the piece that holds it, its row inside that piece, and its layout row. */
  private owner = new Int32Array(0);
  private local = new Int32Array(0);
  private layoutRow = new Int32Array(0);
  /** Whether the last forward's positions are each row's last step in the chunk. */
  private lastSteps = false;
  private count = 0;
  /** Whether the last forward read a single piece in place. */
  private inPlace = false;

  constructor(private readonly model: SequenceModel) {
    this.headCache = model.head.createCache();
  }

  /**
   * The loss at the loss positions of layout steps [start, end) of `batch`, read from `pieces` (which
   * cover those steps in order). Call `backward` next to train.
   */
  forward(
    batch: Batch, layout: BatchLayout, pieces: readonly LossPiece[], start: number, end: number,
    options: ChunkLossOptions,
  ): ChunkLossValue {
    const model = this.model;
    const F = model.head.inFeatures;
    const O = model.outputSize;
    const objective = model.config.objective;
    const outer = enterPhase("head");
    const found = this.positions.find(batch, layout, start, end, options.lossAt, options.everyChunk, objective, O);
    const N = found.count;
    this.count = N;
    if (N === 0) {
      enterPhase(outer);
      return { sum: 0, terms: 0, correct: 0 };
    }
    const { positions, steps } = found;
    const { offsets } = layout;
    this.lastSteps = options.lossAt === "last-step";
    if (this.layoutRow.length < N) this.layoutRow = new Int32Array(Math.max(N, 2 * this.layoutRow.length));
    for (let n = 0; n < N; n++) this.layoutRow[n] = positions[n]! - offsets[steps[n]!]!;
    this.inPlace = pieces.length === 1 && N === pieces[0]!.rows && isRange(positions, offsets[start]!, N);
    let rows: Float32Array;
    if (this.inPlace) {
      // A loss at every step of one piece: the head reads its outputs in place.
      rows = pieces[0]!.output;
    } else {
      rows = this.gathered.reserve(N * F);
      if (this.owner.length < N) {
        this.owner = new Int32Array(Math.max(N, 2 * this.owner.length));
        this.local = new Int32Array(this.owner.length);
      }
      const { owner, local } = this;
      let piece = 0;
      let pieceStart = start;
      for (let n = 0; n < N; n++) {
        while (steps[n]! >= pieceStart + pieces[piece]!.T) pieceStart += pieces[piece++]!.T;
        owner[n] = piece;
        local[n] = positions[n]! - offsets[pieceStart]!;
        copyRow(pieces[piece]!.output, local[n]! * F, rows, n * F, F);
      }
    }
    const logits = model.head.forward(rows, N, this.headCache).out;
    const targets = found.targets(objective, O);
    const dLogits = this.dLogits.reserve(N * O);
    const { sum, correct } = lossAndGradient(objective, N, O, logits, targets, dLogits, options.scale);
    enterPhase(outer);
    return { sum, terms: N, correct };
  }

  /** (N, O) the logits of the last forward. */
  logits(): Float32Array {
    return this.headCache.out;
  }

  /** The targets of the last forward's positions: class ids (N), or values (N, O). */
  targets(): Int32Array | Float32Array {
    return this.positions.targets(this.model.config.objective, this.model.outputSize);
  }

  /**
   * Back through the head into its parameters' grad, and dL/d(outputs) into the pieces; or, for losses
   * at each row's last step of a unidirectional stack, into `finalState` (B rows: dL/d(the states the
   * chunk leaves), zero but the top layer's rows that carry a loss), when given. Returns whether the
   * gradient went into finalState (see the header).
   */
  backward(pieces: readonly LossPiece[], finalState: RecurrentState | null = null): boolean {
    const outer = enterPhase("head");
    const intoFinalState = this.backwardHead(pieces, finalState);
    enterPhase(outer);
    return intoFinalState;
  }

  private backwardHead(pieces: readonly LossPiece[], finalState: RecurrentState | null): boolean {
    const N = this.count;
    if (N === 0) return false;
    const head = this.model.head;
    const rnn = this.model.rnn;
    const F = head.inFeatures;
    const dLogits = this.dLogits.reserve(N * this.model.outputSize);
    if (finalState && this.lastSteps && rnn.directions === 1) {
      const dRows = head.backward(this.headCache, dLogits);
      finalState.reset();
      const B = finalState.batchSize;
      const top = (rnn.numLayers - 1) * B;
      for (let n = 0; n < N; n++) copyRow(dRows, n * F, finalState.h.data, (top + this.layoutRow[n]!) * F, F);
      return true;
    }
    if (this.inPlace) {
      const piece = pieces[0]!;
      piece.dOutput = piece.dOutputStorage.reserve(N * F);
      head.backward(this.headCache, dLogits, piece.dOutput);
      return false;
    }
    const dRows = head.backward(this.headCache, dLogits);
    // Scatter dL/dh back into (R_p, F) blocks, zero where no loss reads the output.
    for (let n = 0; n < N; n++) {
      const piece = pieces[this.owner[n]!]!;
      if (piece.dOutput === null) {
        piece.dOutput = piece.dOutputStorage.reserve(piece.rows * F);
        piece.dOutput.fill(0);
      }
      copyRow(dRows, n * F, piece.dOutput, this.local[n]! * F, F);
    }
    return false;
  }
}

/** Whether positions[n] = first + n for n < N. */
function isRange(positions: Int32Array, first: number, N: number): boolean {
  for (let n = 0; n < N; n++) if (positions[n] !== first + n) return false;
  return true;
}

/**
 * dst[dstOffset + j] = src[srcOffset + j] for j < n: an element loop rather than set(subarray(…)),
 * which would allocate a view per row in the gather and scatter (N = T·B rows per chunk).
 */
function copyRow(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, n: number): void {
  for (let j = 0; j < n; j++) dst[dstOffset + j] = src[srcOffset + j]!;
}
