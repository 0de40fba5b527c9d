/**
 * One layer of a bptt recurrent stack (both directions) as ONNX's own LSTM, GRU or RNN operator.
 *
 * bptt keeps PyTorch's layout (cells/cell.ts); ONNX orders the gate blocks differently and wants both
 * directions of a layer in one tensor. For layer l with D directions, G gate blocks of H rows each:
 *
 *   W: (D, G·H, I)   = weight_ih_l{l}[, weight_ih_l{l}_reverse], gate blocks reordered
 *   R: (D, G·H, H)   = weight_hh_l{l}[, …_reverse], reordered alike
 *   B: (D, 2·G·H)    = [bias_ih | bias_hh] per direction, each reordered (ONNX's [Wb, Rb]); zeros without bias
 *
 *   cell   PyTorch gates    ONNX gates     ONNX block j = PyTorch block ORDER[j]
 *   LSTM   i, f, g, o       i, o, f, c     [0, 3, 1, 2]
 *   GRU    r, z, n          z, r, h        [1, 0, 2]     with linear_before_reset = 1 (PyTorch's n gate)
 *   RNN    one block        one block      [0]           activations Tanh or Relu, one per direction
 *
 * The operator reads X: (T, B, I) and the layer's initial states (D, B, H), and returns
 * Y: (T, D, B, H), Y_h and Y_c: (D, B, H). Y becomes the next layer's (T, B, D·H) input — forward
 * direction first, as bptt and PyTorch concatenate — by Squeeze (D = 1) or Transpose + Reshape (D = 2).
 *
 * LSTM peepholes are ONNX's optional input P: (D, 3H), blocks i, o, f = weight_peephole's blocks
 * [0, 2, 1] (bptt's order is i, f, o). An LSTM with a projection is not this operator's (it has none):
 * onnx-scan.ts writes it as a Scan.
 */
import type { Cell, CellKind, CellParameters } from "../cells/cell.js";
import type { Parameter } from "../tensor/parameter.js";
import { type OnnxGraph, attribute } from "./onnx-graph.js";

interface OnnxCell {
  op: "LSTM" | "GRU" | "RNN";
  /** ONNX's gate block j holds PyTorch's gate block order[j]. */
  order: readonly number[];
  /** The gate names in ONNX's order, for the initializers' descriptions. */
  gates: string;
  /** Whether the operator carries a cell state (initial_c, Y_c). */
  cellState: boolean;
  /** Attributes beyond hidden_size and direction, for D directions. */
  attributes(D: number): ReturnType<typeof attribute.int>[];
}

const ONNX_CELLS: Record<CellKind, OnnxCell> = {
  lstm: { op: "LSTM", order: [0, 3, 1, 2], gates: "i, o, f, c", cellState: true, attributes: () => [] },
  gru: {
    op: "GRU",
    order: [1, 0, 2],
    gates: "z, r, h",
    cellState: false,
    attributes: () => [attribute.int("linear_before_reset", 1)],
  },
  rnn_tanh: {
    op: "RNN",
    order: [0],
    gates: "h",
    cellState: false,
    attributes: (D) => [attribute.strings("activations", Array(D).fill("Tanh"))],
  },
  rnn_relu: {
    op: "RNN",
    order: [0],
    gates: "h",
    cellState: false,
    attributes: (D) => [attribute.strings("activations", Array(D).fill("Relu"))],
  },
};

/** ONNX's peephole block j (i, o, f) holds bptt's weight_peephole block PEEPHOLE_ORDER[j] (i, f, o). */
const PEEPHOLE_ORDER = [0, 2, 1];

/** The cell kinds this exporter writes. */
export function isExportableCell(kind: string): kind is CellKind {
  return Object.hasOwn(ONNX_CELLS, kind);
}

/** The values a layer reads: its input (T, B, I) and its slices (D, B, H) of the initial states. */
export interface LayerInputs {
  x: string;
  h0: string;
  /** LSTM only. */
  c0: string | null;
  /** int32 (B), or null: every sequence runs all T steps. */
  sequenceLens: string | null;
}

/** The names the layer's results get. */
export interface LayerOutputNames {
  /** (T, B, D·H): the next layer's input. */
  output: string;
  /** (D, B, H) */
  hN: string;
  /** (D, B, H), LSTM only. */
  cN: string | null;
}

/**
 * Adds layer `layer` of the stack to the graph. `cells` are the layer's cells, forward direction
 * first (bptt's rnn.cells[layer·D + d]); `prefix` names its initializers and intermediate values.
 */
export function addRecurrentLayer(
  graph: OnnxGraph,
  cells: readonly Cell[],
  prefix: string,
  inputs: LayerInputs,
  names: LayerOutputNames,
): void {
  const kind = cells[0]!.kind;
  const spec = ONNX_CELLS[kind];
  const D = cells.length;
  const H = cells[0]!.hiddenSize;
  const I = cells[0]!.inputSize;
  const G = spec.order.length;
  const suffixes = cells.map((cell) => cell.params.weightIh.name.replace(/^weight_ih/, ""));
  const from = (what: string): string => suffixes.map((s) => `${what}${s}`).join(" and ");
  const reordered = `gate blocks reordered to ONNX's ${spec.gates}`;

  // The layer's matrices and biases, both directions stacked: W (D, G·H, I), R (D, G·H, H), B (D, 2·G·H).
  const stacked = (pick: (params: CellParameters) => Float32Array): Float32Array =>
    concatenate(cells.map((cell) => reorderRows(pick(cell.params), spec.order, H)));
  const bias = (p: Parameter | null): Float32Array =>
    p ? reorderRows(p.value, spec.order, H) : new Float32Array(G * H);
  const W = graph.floatInitializer(
    `${prefix}.W`,
    [D, G * H, I],
    stacked((p) => p.weightIh.value),
    `${from("weight_ih")}, ${reordered}`,
  );
  const R = graph.floatInitializer(
    `${prefix}.R`,
    [D, G * H, H],
    stacked((p) => p.weightHh.value),
    `${from("weight_hh")}, ${reordered}`,
  );
  const biases = concatenate(cells.flatMap((cell) => [bias(cell.params.biasIh), bias(cell.params.biasHh)]));
  const B = graph.floatInitializer(
    `${prefix}.B`,
    [D, 2 * G * H],
    biases,
    `[${from("bias_ih")} | ${from("bias_hh")}], ${reordered}`,
  );

  if (spec.cellState !== (inputs.c0 !== null) || spec.cellState !== (names.cN !== null)) {
    throw new Error(`${spec.op}: a cell state is ${spec.cellState ? "required" : "not used"}`);
  }
  // ONNX's input order: X, W, R, B, sequence_lens, initial_h, then initial_c and P for the LSTM.
  const nodeInputs = [inputs.x, W, R, B, inputs.sequenceLens ?? "", inputs.h0];
  if (spec.cellState) nodeInputs.push(inputs.c0!);
  const peepholes = cells.map((cell) => cell.params.peephole);
  if (peepholes.every((p) => p !== null)) {
    const P = concatenate(peepholes.map((p) => reorderRows(p!.value, PEEPHOLE_ORDER, H)));
    nodeInputs.push(graph.floatInitializer(`${prefix}.P`, [D, 3 * H], P, `${from("weight_peephole")}, blocks i, o, f`));
  } else if (peepholes.some((p) => p !== null)) {
    throw new Error("LSTM: peepholes in one direction of a layer only");
  }
  const y = `${prefix}.Y`;
  const nodeOutputs = [y, names.hN];
  if (spec.cellState) nodeOutputs.push(names.cN!);
  graph.node(spec.op, nodeInputs, nodeOutputs, [
    attribute.int("hidden_size", H),
    attribute.string("direction", D === 2 ? "bidirectional" : "forward"),
    ...spec.attributes(D),
  ]);

  // Y: (T, D, B, H) → (T, B, D·H)
  if (D === 1) {
    graph.node("Squeeze", [y, graph.int64Constant([1])], [names.output]);
  } else {
    const transposed = `${prefix}.Y_TBDH`;
    graph.node("Transpose", [y], [transposed], [attribute.ints("perm", [0, 2, 1, 3])]);
    graph.node("Reshape", [transposed, graph.int64Constant([0, 0, -1])], [names.output]);
  }
}

/** The gate blocks (H rows each, of any width) of a (G·H, width) matrix or (G·H) vector, in `order`. */
function reorderRows(values: Float32Array, order: readonly number[], H: number): Float32Array {
  const block = values.length / order.length;
  if (!Number.isInteger(block) || block % H !== 0) {
    throw new Error(`reorderRows: ${values.length} values are not ${order.length} blocks of ${H} rows`);
  }
  const out = new Float32Array(values.length);
  order.forEach((source, j) => out.set(values.subarray(source * block, (source + 1) * block), j * block));
  return out;
}

function concatenate(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
