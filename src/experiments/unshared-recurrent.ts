/**
 * A recurrent layer WITHOUT weight sharing across time, for the weight-sharing experiment: step s has
 * its own cell, with its own W_ih, W_hh and biases (one weight set per position), where the library's
 * layers apply one cell at every step:
 *
 *   shared (src/layers):  h_t = cell_θ(x_t, h_{t−1})
 *   unshared (here):      h_t = cell_{θ_{s₀+t}}(x_t, h_{t−1}),   t = 0 … T−1,  s₀ + T ≤ steps
 *
 * s₀ (`firstCell`) says which weight sets a sequence shorter than `steps` uses: 0 for the first T
 * ("first" alignment: position t is processed by the weights trained for position t) or steps − T
 * for the last T ("last" alignment: the final step is processed by the weights trained for the final
 * step). A sequence longer than `steps` has no weights for its later steps: forward refuses it.
 *
 * Built from the library's cells: step t is a one-step chunk of cell s₀ + t, its state handed on
 * to the next cell. Backward walks t = T−1 … 0 carrying dL/dh (and dL/dc for the LSTM) from cell to
 * cell; each cell's backward ADDS into its parameters' grad (zero them once per update).
 *
 * Shapes: x (T, B, I), output (T, B, H), hN and cN (B, H). Parameters: steps × one cell's; their
 * names carry the step as the layer index (`weight_ih_l3` is step 3's W_ih).
 */
import type { Cell, CellKind } from "../cells/cell.js";
import type { ChunkCache } from "../cells/chunk-cache.js";
import { createCell } from "../cells/index.js";
import { initializeCell } from "../cells/init.js";
import { kernels } from "../kernels/index.js";
import type { Module, Parameter } from "../tensor/parameter.js";
import { Rng } from "../tensor/rng.js";

export interface UnsharedRecurrentOptions {
  kind: CellKind;
  inputSize: number;
  hiddenSize: number;
  /** Positions with their own weights: the longest sequence the layer can read. */
  steps: number;
  seed: number;
}

/** What forward saved: one cell cache per step, and the outputs. */
export interface UnsharedCache {
  T: number;
  B: number;
  firstCell: number;
  /** caches[t]: the one-step chunk of step t. */
  caches: ChunkCache[];
  /** (T, B, H) */
  output: Float32Array;
  /** (B, H) the final hidden state (and cell state for the LSTM). */
  hN: Float32Array;
  cN: Float32Array | null;
}

export interface UnsharedGradients {
  /** (T, B, I) dL/dx. */
  dx: Float32Array;
}

export class UnsharedRecurrent implements Module {
  readonly kind: CellKind;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly steps: number;
  /** cells[s]: the weights of position s. */
  readonly cells: Cell[];

  constructor(options: UnsharedRecurrentOptions) {
    const { kind, inputSize, hiddenSize, steps } = options;
    if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`unshared recurrent: steps must be a positive integer, got ${steps}`);
    this.kind = kind;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.steps = steps;
    const rng = new Rng(options.seed);
    this.cells = Array.from({ length: steps }, (_, s) => {
      const cellOptions = { inputSize, hiddenSize, layer: s };
      const cell = createCell(kind, cellOptions);
      // Each position drawn as the shared layer's single cell would be (PyTorch's default).
      initializeCell(kind, cell.params, hiddenSize, rng);
      return cell;
    });
  }

  parameters(): Parameter[] {
    return this.cells.flatMap((cell) => cell.params.list());
  }

  /** Runs x (T, B, I) through cells firstCell … firstCell + T − 1 from a zero state. */
  forward(x: Float32Array, T: number, B: number, firstCell = 0): UnsharedCache {
    const I = this.inputSize;
    const H = this.hiddenSize;
    if (!Number.isInteger(T) || T < 1 || !Number.isInteger(B) || B < 1) throw new RangeError(`unshared recurrent: T and B must be positive integers, got ${T}, ${B}`);
    if (x.length !== T * B * I) throw new RangeError(`unshared recurrent: x must have shape (T=${T}, B=${B}, I=${I}) = ${T * B * I} values, got ${x.length}`);
    if (!Number.isInteger(firstCell) || firstCell < 0 || firstCell + T > this.steps) {
      throw new RangeError(
        `unshared recurrent: a sequence of ${T} steps from weight set ${firstCell} needs weight sets up to ${firstCell + T - 1}, ` +
          `but this layer has weights for positions 0 … ${this.steps - 1} only`,
      );
    }
    const output = kernels().allocate(T * B * H);
    const caches: ChunkCache[] = [];
    let h: Float32Array | null = null;
    let c: Float32Array | null = null;
    for (let t = 0; t < T; t++) {
      const cell = this.cells[firstCell + t]!;
      const cache = cell.forward({ x: x.subarray(t * B * I, (t + 1) * B * I), T: 1, B, mask: null, h0: h, c0: c });
      caches.push(cache);
      output.set(cell.output(cache), t * B * H);
      const final = cell.finalState(cache);
      h = final.h;
      c = final.c;
    }
    return { T, B, firstCell, caches, output, hN: h!.slice(), cN: c ? c.slice() : null };
  }

  /**
   * Back-propagates dOutput (T, B, H) (null: no loss on the outputs) and dhN, dcN (B, H) arriving at
   * the final state; adds into every used cell's parameter gradients and returns dL/dx.
   */
  backward(cache: UnsharedCache, dOutput: Float32Array | null, dhN: Float32Array | null = null, dcN: Float32Array | null = null): UnsharedGradients {
    const { T, B, firstCell, caches } = cache;
    const I = this.inputSize;
    const H = this.hiddenSize;
    if (dOutput && dOutput.length !== T * B * H) throw new RangeError(`unshared recurrent: dOutput must have shape (T=${T}, B=${B}, H=${H}), got ${dOutput.length} values`);
    const dx = kernels().allocate(T * B * I);
    let dh = dhN;
    let dc = dcN;
    for (let t = T - 1; t >= 0; t--) {
      const cell = this.cells[firstCell + t]!;
      const grads = cell.backward(caches[t]!, { dOut: dOutput ? dOutput.subarray(t * B * H, (t + 1) * B * H) : null, dhN: dh, dcN: dc });
      dx.set(grads.dx, t * B * I);
      dh = grads.dh0;
      dc = grads.dc0;
    }
    return { dx };
  }
}
