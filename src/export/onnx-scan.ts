/**
 * One layer of an LSTM with a recurrent projection (Sak et al. 2014; PyTorch's proj_size), with or
 * without peepholes, as an ONNX Scan: ONNX's LSTM operator has no projection, so the step is written
 * out in Scan's body, one Scan per direction, from ONNX's basic operators (opset 14).
 *
 *   XW  (T, B, 4H) = x · weight_ihᵀ + (bias_ih + bias_hh)            before the Scan, all steps at once
 *   body, per step, from h (B, P), c (B, H), xw (B, 4H) [and m (B, 1), bool: the step is real]:
 *     i, f, g, o = Split(xw + h · weight_hhᵀ)                           PyTorch's gate order
 *     i = σ(i [+ p_i⊙c]),  f = σ(f [+ p_f⊙c]),  g = tanh(g)
 *     c' = f⊙c + i⊙g,  o = σ(o [+ p_o⊙c']),  h' = (o⊙tanh c') · weight_hrᵀ
 *     with m: h' and c' where m, else h and c carried; y = h' where m, else 0
 *   Scan: states (h0, c0) → (hN, cN), scan input XW [and the mask], scan output y (T, B, P); the
 *   reverse direction scans its inputs and stacks its outputs backwards (directions 1), so y[t] is
 *   step t's output in both.
 *
 * The mask (T, B, 1) comes from sequence_lens (t < sequence_lens[b]): a padded step carries the
 * state and outputs 0, so the forward direction ends at each sequence's last real step and the
 * reverse direction starts there — bptt's mask, and ONNX's LSTM's sequence_lens. The body reads the
 * weights (initializers of the main graph) from the scope around it.
 */
import type { Cell } from "../cells/cell.js";
import { OnnxGraph, attribute, transpose } from "./onnx-graph.js";
import type { LayerInputs, LayerOutputNames } from "./onnx-recurrent.js";

/**
 * The (T, B, 1) bool mask of the steps before each sequence's end, t < sequence_lens[b], for the
 * input x (T, B, ·): computed once, read by every Scan layer.
 */
export function addStepMask(graph: OnnxGraph, x: string, sequenceLens: string): string {
  const shape = graph.node("Shape", [x], ["mask.shape"])[0]!;
  const steps = graph.node("Gather", [shape, graph.int64Scalar(0)], ["mask.T"])[0]!;
  const range = graph.node("Range", [graph.int64Scalar(0), steps, graph.int64Scalar(1)], ["mask.t"])[0]!;
  const t = graph.node("Unsqueeze", [range, graph.int64Constant([1])], ["mask.t_T1"])[0]!;
  const lengths = graph.node("Cast", [sequenceLens], ["mask.lengths"], [attribute.int("to", INT64)])[0]!;
  const row = graph.node("Unsqueeze", [lengths, graph.int64Constant([0])], ["mask.lengths_1B"])[0]!;
  const real = graph.node("Less", [t, row], ["mask.TB"])[0]!;
  return graph.node("Unsqueeze", [real, graph.int64Constant([2])], ["mask"])[0]!;
}

/** TensorProto.DataType.INT64, Cast's `to`. */
const INT64 = 7;

/**
 * Adds layer `prefix` of projected LSTM cells (forward direction first) to the graph: inputs.x (T, B, I)
 * and the layer's states h0 (D, B, P), c0 (D, B, H) in; names.output (T, B, D·P), names.hN, names.cN out.
 * `mask` is addStepMask's, or null when every sequence runs all T steps.
 */
export function addScanLayer(
  graph: OnnxGraph, cells: readonly Cell[], prefix: string, inputs: LayerInputs, names: LayerOutputNames,
  mask: string | null,
): void {
  const D = cells.length;
  const outputs: string[] = [];
  const hN: string[] = [];
  const cN: string[] = [];
  cells.forEach((cell, d) => {
    const at = `${prefix}.d${d}`;
    const state = (layer: string, what: string): string =>
      D === 1
        ? graph.node("Squeeze", [layer, graph.int64Constant([0])], [`${at}.${what}`])[0]!
        : graph.node("Gather", [layer, graph.int64Scalar(d)], [`${at}.${what}`], [attribute.int("axis", 0)])[0]!;
    const xw = inputProjection(graph, cell, at, inputs.x);
    const body = stepBody(graph, cell, at, mask !== null);
    const scanInputs = [state(inputs.h0, "h0"), state(inputs.c0!, "c0"), xw, ...(mask ? [mask] : [])];
    const [h, c, y] = [`${at}.hN`, `${at}.cN`, D === 1 ? names.output : `${at}.Y`];
    graph.node("Scan", scanInputs, [h, c, y], [
      attribute.graph("body", body),
      attribute.int("num_scan_inputs", mask ? 2 : 1),
      attribute.ints("scan_input_directions", Array(mask ? 2 : 1).fill(d)),
      attribute.ints("scan_output_directions", [d]),
    ]);
    outputs.push(y);
    hN.push(graph.node("Unsqueeze", [h, graph.int64Constant([0])], [`${at}.hN_1BP`])[0]!);
    cN.push(graph.node("Unsqueeze", [c, graph.int64Constant([0])], [`${at}.cN_1BH`])[0]!);
  });
  if (D === 2) graph.node("Concat", outputs, [names.output], [attribute.int("axis", 2)]);
  graph.node("Concat", hN, [names.hN], [attribute.int("axis", 0)]);
  graph.node("Concat", cN, [names.cN!], [attribute.int("axis", 0)]);
}

/** XW (T, B, 4H) = x · weight_ihᵀ + (bias_ih + bias_hh), all the steps at once. */
function inputProjection(graph: OnnxGraph, cell: Cell, at: string, x: string): string {
  const { weightIh, biasIh, biasHh } = cell.params;
  const [G, I] = weightIh.shape as [number, number];
  const W = graph.floatInitializer(
    `${at}.W_ih_T`, [I, G], transpose(weightIh.value, G, I), `${weightIh.name} transposed`,
  );
  const product = graph.node("MatMul", [x, W], [`${at}.XW_nobias`])[0]!;
  if (!biasIh || !biasHh) return product;
  const bias = Float32Array.from(biasIh.value, (v, j) => v + biasHh.value[j]!);
  const b = graph.floatInitializer(`${at}.bias`, [G], bias, `${biasIh.name} + ${biasHh.name}`);
  return graph.node("Add", [product, b], [`${at}.XW`])[0]!;
}

/** The Scan's body for one direction's cell (see the file header). */
function stepBody(outer: OnnxGraph, cell: Cell, at: string, masked: boolean) {
  const { weightHh, weightHr, peephole } = cell.params;
  const H = cell.hiddenSize;
  const P = cell.stateSizes.h;
  const G = 4 * H;
  const transposed = (name: string, rows: number, cols: number, values: Float32Array, source: string): string =>
    outer.floatInitializer(`${at}.${name}`, [cols, rows], transpose(values, rows, cols), `${source} transposed`);
  const R = transposed("W_hh_T", G, P, weightHh.value, weightHh.name);
  const Whr = transposed("W_hr_T", P, H, weightHr!.value, weightHr!.name);
  const body = new OnnxGraph(outer, `${at}.`);
  const v = (name: string): string => `${at}.step.${name}`;
  const float = (name: string, dims: Array<number | string>) =>
    ({ name: v(name), type: "float32" as const, dims, doc: "" });
  const h = body.input(float("h", ["B", P]));
  const c = body.input(float("c", ["B", H]));
  const xw = body.input(float("xw", ["B", G]));
  const real = masked ? body.input({ name: v("mask"), type: "bool", dims: ["B", 1], doc: "" }) : null;
  const op = (type: string, args: string[], name: string): string => body.node(type, args, [v(name)])[0]!;

  const gates = op("Add", [xw, op("MatMul", [h, R], "hR")], "gates");
  const split = ["i", "f", "g", "o"].map((n) => v(`pre_${n}`));
  let [i, f, g, o] = body.node("Split", [gates], split, [attribute.int("axis", 1)]) as [string, string, string, string];
  // Peepholes: (3H) p_i, p_f, p_o, each a (H) initializer.
  const p = peephole
    ? ["i", "f", "o"].map((gate, k) => outer.floatInitializer(
      `${at}.p_${gate}`, [H], peephole.value.slice(k * H, (k + 1) * H), `${peephole.name}[${k}H:${k + 1}H], p_${gate}`,
    ))
    : null;
  if (p) {
    i = op("Add", [i, op("Mul", [c, p[0]!], "pc_i")], "peep_i");
    f = op("Add", [f, op("Mul", [c, p[1]!], "pc_f")], "peep_f");
  }
  const cNext = op("Add", [
    op("Mul", [op("Sigmoid", [f], "f"), c], "fc"),
    op("Mul", [op("Sigmoid", [i], "i"), op("Tanh", [g], "g")], "ig"),
  ], "c_next");
  if (p) o = op("Add", [o, op("Mul", [cNext, p[2]!], "pc_o")], "peep_o");
  const oTanhC = op("Mul", [op("Sigmoid", [o], "o"), op("Tanh", [cNext], "tanh_c")], "o_tanh_c");
  const hNext = op("MatMul", [oTanhC, Whr], "h_next");
  if (real) {
    const zero = outer.floatInitializer(`${at}.zero`, [], new Float32Array(1));
    body.node("Where", [real, hNext, h], [v("h_out")]);
    body.node("Where", [real, cNext, c], [v("c_out")]);
    body.node("Where", [real, hNext, zero], [v("y")]);
  } else {
    body.node("Identity", [hNext], [v("h_out")]);
    body.node("Identity", [cNext], [v("c_out")]);
    body.node("Identity", [hNext], [v("y")]);
  }
  body.output(float("h_out", ["B", P]));
  body.output(float("c_out", ["B", H]));
  body.output(float("y", ["B", P]));
  return body.toGraph(`${at}.step`);
}
