/**
 * The ONNX export in a browser: a model built by bptt, exported by `exportOnnx` and run by ONNX
 * Runtime Web (WebAssembly), all on the page. Given the modules as arguments (the page imports them
 * as plain ES modules; onnx-web.test.ts runs the bptt part again in Node.js to compare), it returns the
 * file's bytes and ONNX Runtime's outputs.
 */
import type * as OrtWeb from "onnxruntime-web";
import type * as Bptt from "../../src/index.js";
import type * as BpttOnnx from "../../src/onnx.js";

/** The model and the chunk both sides use: a 2-layer bidirectional LSTM over tokens, sequences of 5, 3 and 1 steps. */
export const MODEL = {
  cell: "lstm",
  vocabSize: 12,
  embeddingDim: 5,
  hiddenSize: 7,
  numLayers: 2,
  bidirectional: true,
  outputSize: 3,
  objective: "classes",
  seed: 4,
} as const;
export const T = 5;
export const B = 3;
export const LENGTHS = [5, 3, 1];
const STATES = MODEL.numLayers * 2 * B * MODEL.hiddenSize;

/** Deterministic inputs: ids (T, B), h0 and c0 (L·D, B, H). */
export function chunk(): { ids: Int32Array; h0: Float32Array; c0: Float32Array } {
  return {
    ids: Int32Array.from({ length: T * B }, (_, i) => (i * 7 + 3) % MODEL.vocabSize),
    h0: Float32Array.from({ length: STATES }, (_, i) => 0.5 * Math.sin(i)),
    c0: Float32Array.from({ length: STATES }, (_, i) => 0.5 * Math.cos(i)),
  };
}

export interface OnnxScenarioResult {
  /** The exported file. */
  bytes: number[];
  /** ONNX Runtime Web's outputs by name: logits, probabilities, hN, cN. */
  outputs: Record<string, number[]>;
}

export async function onnxScenario(
  bptt: typeof Bptt,
  onnx: typeof BpttOnnx,
  ort: typeof OrtWeb,
): Promise<OnnxScenarioResult> {
  const model = new bptt.SequenceModel({ ...MODEL });
  const bytes = onnx.exportOnnx(model, { probabilities: true, sequenceLengths: true });
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(bytes);
  const { ids, h0, c0 } = chunk();
  const stateShape = [MODEL.numLayers * 2, B, MODEL.hiddenSize];
  const results = await session.run({
    tokens: new ort.Tensor(
      "int64",
      BigInt64Array.from(ids, (id) => BigInt(id)),
      [T, B],
    ),
    h0: new ort.Tensor("float32", h0, stateShape),
    c0: new ort.Tensor("float32", c0, stateShape),
    sequence_lens: new ort.Tensor("int32", Int32Array.from(LENGTHS), [B]),
  });
  const outputs = Object.fromEntries(
    Object.entries(results).map(([name, tensor]) => [name, Array.from(tensor.data as Float32Array)]),
  );
  return { bytes: Array.from(bytes), outputs };
}
