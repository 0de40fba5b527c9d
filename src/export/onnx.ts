/**
 * ONNX export of a bptt SequenceModel: the bytes of an .onnx file that ONNX Runtime (Node.js, the
 * browser, Python, mobile) runs as bptt runs the model. Isomorphic: no file is written here (the CLI,
 * `bptt export`, writes them).
 *
 * The graph, opset 14, with symbolic T (steps) and B (sequences):
 *
 *   tokens: int64 (T, B) → Gather(embedding.weight) → (T, B, E)     or     features: float (T, B, I)
 *   → layer 0 … L−1, each ONNX's own LSTM / GRU / RNN operator (onnx-recurrent.ts; the LSTM's peepholes
 *     are its input P), or for an LSTM with a projection a Scan per direction (onnx-scan.ts) → (T, B, D·R)
 *   → MatMul(head.weightᵀ) + head.bias → logits: (T, B, O)
 *   [→ Softmax over O ("classes") or Sigmoid ("binary") → probabilities: (T, B, O)]
 *
 *   inputs   tokens | features, h0: (L·D, B, R), c0: (L·D, B, H) (LSTM), [sequence_lens: int32 (B)]
 *   outputs  logits, [probabilities], hN: (L·D, B, R), cN: (L·D, B, H) (LSTM)
 *
 * R = H, or P for an LSTM with a projection.
 *
 * The states are laid out as PyTorch's h_n and bptt's hN: index l·D + d for layer l and direction d
 * (0 forward, 1 reverse). Zeros start a sequence; hN (and cN) passed back as h0 (and c0) continue it, so
 * a long stream runs chunk by chunk with the outputs of one pass (a bidirectional model reads each
 * chunk on its own, as bptt's does). With sequence_lens, sequence b runs its first sequence_lens[b]
 * steps (≥ 1): the recurrent outputs after them are 0 (the logits there are head.bias) and its final
 * states are those after its last real step — bptt's masks with the padding at the end.
 *
 * Whatever has no faithful place in this graph is refused with an OnnxExportError naming it.
 */
import type { Cell } from "../cells/cell.js";
import type { SequenceModel } from "../train/model.js";
import { type Dim, OnnxGraph, type ValueSpec, attribute, transpose } from "./onnx-graph.js";
import { addRecurrentLayer, isExportableCell } from "./onnx-recurrent.js";
import { addScanLayer, addStepMask } from "./onnx-scan.js";

/** The default-domain operator set of the exported graph (the recurrent operators' `layout` is from 14). */
export const ONNX_OPSET = 14;
/** The IR version that goes with opset 14 (ONNX 1.9–1.10), read by every ONNX Runtime since 1.8. */
export const ONNX_IR_VERSION = 7;

export interface OnnxExportOptions {
  /**
   * Also output `probabilities`: softmax over the O classes ("classes" objective) or the sigmoid
   * ("binary"). A regression model has none. Default false.
   */
  probabilities?: boolean;
  /** Add the `sequence_lens` input, for batches of sequences of different lengths. Default false. */
  sequenceLengths?: boolean;
  /**
   * More metadata_props (for example the vocabulary a token model reads). "bptt.model", the model's
   * configuration as JSON, is always written.
   */
  metadata?: Readonly<Record<string, string>>;
  /** producer_version in the file (producer_name is "bptt"). Default "". */
  producerVersion?: string;
}

/** What cannot be exported, and why, in one line. */
export class OnnxExportError extends RangeError {
  override readonly name = "OnnxExportError";

  constructor(what: string) {
    super(`cannot export to ONNX: ${what}`);
  }
}

/** A graph input or output: its name, element type, dimensions (numbers, or "T" and "B") and meaning. */
export type OnnxValue = ValueSpec;

/**
 * The inputs and outputs `exportOnnx(model, options)` writes, in order, with what each means: for
 * callers that describe the file (`bptt export` prints them) or feed it.
 */
export function onnxInterface(
  model: SequenceModel,
  options: OnnxExportOptions = {},
): { inputs: OnnxValue[]; outputs: OnnxValue[] } {
  const rnn = model.rnn;
  const LD = rnn.numLayers * rnn.directions;
  const O = model.outputSize;
  const float = (name: string, dims: Dim[], doc: string): OnnxValue => ({ name, type: "float32", dims, doc });
  const state = (name: string, what: string, use: string): OnnxValue => {
    const cell = name.startsWith("c");
    const size = cell ? rnn.stateSizes.c : rnn.stateSizes.h;
    const letter = cell || rnn.projSize === 0 ? "H" : "P";
    return float(
      name,
      [LD, "B", size],
      `${what} (L·D = ${LD}, B, ${letter} = ${size}), index l·D + d for layer l and direction d ` +
        `(0 forward), as PyTorch's ${cell ? "c_n" : "h_n"}; ${use}`,
    );
  };

  const inputs: OnnxValue[] = [
    model.embedding
      ? {
          name: "tokens",
          type: "int64",
          dims: ["T", "B"],
          doc: `token ids in [0, ${model.embedding.numEmbeddings}), (T, B)`,
        }
      : float("features", ["T", "B", model.inputSize], `feature vectors (T, B, I = ${model.inputSize})`),
    state("h0", "initial hidden states", "zeros to start a sequence, hN to continue it"),
  ];
  if (rnn.mode === "lstm")
    inputs.push(state("c0", "initial cell states", "zeros to start a sequence, cN to continue it"));
  if (options.sequenceLengths) {
    const doc = "steps of each sequence, in [1, T]: the steps after them are padding";
    inputs.push({ name: "sequence_lens", type: "int32", dims: ["B"], doc });
  }

  const outputs = [
    float("logits", ["T", "B", O], `the head at every step (T, B, O = ${O}): ${describeOutputs(model)}`),
  ];
  if (options.probabilities) {
    const binary = model.config.objective === "binary";
    outputs.push(
      float("probabilities", ["T", "B", O], binary ? "sigmoid(logits)" : "softmax(logits) over the last axis"),
    );
  }
  outputs.push(state("hN", "final hidden states", "pass them as h0 to continue"));
  if (rnn.mode === "lstm") outputs.push(state("cN", "final cell states", "pass them as c0 to continue"));
  return { inputs, outputs };
}

/** The model as the bytes of an ONNX file. */
export function exportOnnx(model: SequenceModel, options: OnnxExportOptions = {}): Uint8Array {
  checkExportable(model, options);
  const rnn = model.rnn;
  const L = rnn.numLayers;
  const D = rnn.directions;
  const O = model.outputSize;
  const lstm = rnn.mode === "lstm";
  const graph = new OnnxGraph();
  const { inputs, outputs } = onnxInterface(model, options);
  for (const spec of inputs) graph.input(spec);
  const has = (name: string): string | null => (inputs.some((spec) => spec.name === name) ? name : null);

  let x = "features";
  if (model.embedding) {
    const { numEmbeddings: V, embeddingDim: E } = model.embedding;
    const table = graph.floatInitializer("embedding.weight", [V, E], model.embedding.weight.value, "embedding.weight");
    x = graph.node("Gather", [table, "tokens"], ["embedded"], [attribute.int("axis", 0)])[0]!;
  }

  // The recurrent stack, layer by layer, each from its slice [l·D, (l+1)·D) of the states.
  const layerStates = (state: string, l: number): string =>
    L === 1
      ? state
      : graph.node(
          "Slice",
          [state, graph.int64Constant([l * D]), graph.int64Constant([(l + 1) * D]), graph.int64Constant([0])],
          [`${state}.l${l}`],
        )[0]!;
  const hParts: string[] = [];
  const cParts: string[] = [];
  // A projected LSTM's Scans read padding as a mask (onnx-scan.ts), made once from the input.
  const sequenceLens = has("sequence_lens");
  const mask = rnn.projSize > 0 && sequenceLens ? addStepMask(graph, inputs[0]!.name, sequenceLens) : null;
  for (let l = 0; l < L; l++) {
    const output = `rnn.l${l}.output`;
    const hN = L === 1 ? "hN" : `rnn.l${l}.hN`;
    const cN = lstm ? (L === 1 ? "cN" : `rnn.l${l}.cN`) : null;
    const cells = layerCells(rnn.cells, l, D);
    const layerInputs = { x, h0: layerStates("h0", l), c0: lstm ? layerStates("c0", l) : null, sequenceLens };
    if (rnn.projSize > 0) addScanLayer(graph, cells, `rnn.l${l}`, layerInputs, { output, hN, cN }, mask);
    else addRecurrentLayer(graph, cells, `rnn.l${l}`, layerInputs, { output, hN, cN });
    x = output;
    hParts.push(hN);
    if (cN) cParts.push(cN);
  }
  if (L > 1) {
    graph.node("Concat", hParts, ["hN"], [attribute.int("axis", 0)]);
    if (lstm) graph.node("Concat", cParts, ["cN"], [attribute.int("axis", 0)]);
  }

  // The head at every step: logits = x · head.weightᵀ + head.bias.
  const F = model.head.inFeatures;
  const weightT = graph.floatInitializer(
    "head.weight_t",
    [F, O],
    transpose(model.head.weight.value, O, F),
    "head.weight transposed: (F, O)",
  );
  const product = graph.node("MatMul", [x, weightT], [model.head.bias ? "head.product" : "logits"])[0]!;
  if (model.head.bias) {
    const headBias = graph.floatInitializer("head.bias", [O], model.head.bias.value, "head.bias");
    graph.node("Add", [product, headBias], ["logits"]);
  }
  if (options.probabilities) {
    if (model.config.objective === "binary") graph.node("Sigmoid", ["logits"], ["probabilities"]);
    else graph.node("Softmax", ["logits"], ["probabilities"], [attribute.int("axis", -1)]);
  }
  for (const spec of outputs) graph.output(spec);

  return graph.toBytes({
    opset: ONNX_OPSET,
    irVersion: ONNX_IR_VERSION,
    producerName: "bptt",
    producerVersion: options.producerVersion ?? "",
    graphName: "bptt",
    docString: describeModel(model),
    metadata: { ...options.metadata, "bptt.model": JSON.stringify(model.config) },
  });
}

/** Refuses, in one line, whatever this exporter cannot write faithfully. */
function checkExportable(model: SequenceModel, options: OnnxExportOptions): void {
  const rnn = model.rnn;
  if (!isExportableCell(rnn.mode)) {
    throw new OnnxExportError(`the cell ${JSON.stringify(rnn.mode)} has no ONNX operator here`);
  }
  if (options.probabilities && model.config.objective === "regression") {
    throw new OnnxExportError("a regression model outputs values, not probabilities (drop the probabilities option)");
  }
  // Every parameter must land in the graph: anything else would be lost. These are what the layers'
  // writers read (onnx-recurrent.ts, and onnx-scan.ts for a projection).
  const written = new Set(["embedding.weight", "head.weight", "head.bias"]);
  for (const cell of rnn.cells) {
    const { weightIh, weightHh, biasIh, biasHh, weightHr, peephole } = cell.params;
    for (const p of [weightIh, weightHh, biasIh, biasHh, weightHr, peephole]) if (p) written.add(`rnn.${p.name}`);
  }
  for (const [name, p] of model.namedParameters()) {
    if (!written.has(name)) throw new OnnxExportError(`${name} has no place in the graph this exporter writes`);
    const bad = p.value.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new OnnxExportError(`${name} holds ${p.value[bad]} at index ${bad} (a diverged model?)`);
  }
}

/** rnn.cells[l·D + d] for d < D: layer l's cells, forward direction first. */
function layerCells(cells: readonly Cell[], l: number, D: number): Cell[] {
  return cells.slice(l * D, (l + 1) * D);
}

function describeOutputs(model: SequenceModel): string {
  switch (model.config.objective) {
    case "classes":
      return "unnormalised class scores (softmax gives the probabilities)";
    case "binary":
      return "the log-odds of the positive class (sigmoid gives its probability)";
    default:
      return "the regressed values";
  }
}

function describeModel(model: SequenceModel): string {
  const { rnn } = model;
  const input = model.embedding
    ? `${model.embedding.numEmbeddings} tokens embedded in ${model.embedding.embeddingDim}`
    : `${model.inputSize} features`;
  return (
    `bptt ${rnn.mode} model: ${input} → ${rnn.numLayers} layer(s) of ${rnn.hiddenSize} units` +
    `${rnn.projSize > 0 ? ` projected to ${rnn.projSize}` : ""}${rnn.peephole ? " with peepholes" : ""}` +
    `${rnn.bidirectional ? ", bidirectional" : ""} → ${model.outputSize} ${model.config.objective} output(s), time-major`
  );
}
