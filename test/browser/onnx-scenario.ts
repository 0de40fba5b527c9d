/**
 * The ONNX export in a browser: models built by bptt, exported by `exportOnnx` and run by ONNX
 * Runtime Web (WebAssembly), all on the page. Given the modules as arguments (the page imports them
 * as plain ES modules; onnx-web.test.ts runs the bptt part again in Node.js to compare), it returns
 * each file's bytes and ONNX Runtime's outputs.
 */
import type * as OrtWeb from "onnxruntime-web";
import type * as Bptt from "../../src/index.js";
import type * as BpttOnnx from "../../src/onnx.js";

/** A 2-layer bidirectional LSTM over tokens (ONNX's LSTM operator). */
const LSTM = {
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

/** The models both sides build: the LSTM, and the same with a projection and peepholes (a Scan per direction). */
export const MODELS = {
  lstm: LSTM,
  "lstm with a projection and peepholes": { ...LSTM, projSize: 3, peephole: true, seed: 5 },
} as const;
export type ModelName = keyof typeof MODELS;
type Config = (typeof MODELS)[ModelName];

/** The chunk: sequences of 5, 3 and 1 steps. */
export const T = 5;
export const B = 3;
export const LENGTHS = [5, 3, 1];

/** h (L·D, B, P or H) and c (L·D, B, H). */
export function stateShapes(config: Config): { h: number[]; c: number[] } {
  const R = "projSize" in config ? config.projSize : config.hiddenSize;
  return { h: [config.numLayers * 2, B, R], c: [config.numLayers * 2, B, config.hiddenSize] };
}

/** Deterministic inputs: ids (T, B), h0 and c0. */
export function chunk(config: Config): { ids: Int32Array; h0: Float32Array; c0: Float32Array } {
  const { h, c } = stateShapes(config);
  return {
    ids: Int32Array.from({ length: T * B }, (_, i) => (i * 7 + 3) % config.vocabSize),
    h0: Float32Array.from({ length: h[0]! * h[1]! * h[2]! }, (_, i) => 0.5 * Math.sin(i)),
    c0: Float32Array.from({ length: c[0]! * c[1]! * c[2]! }, (_, i) => 0.5 * Math.cos(i)),
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
): Promise<Record<ModelName, OnnxScenarioResult>> {
  ort.env.wasm.numThreads = 1;
  const results: Partial<Record<ModelName, OnnxScenarioResult>> = {};
  for (const [name, config] of Object.entries(MODELS) as Array<[ModelName, Config]>) {
    const model = new bptt.SequenceModel({ ...config });
    const bytes = onnx.exportOnnx(model, { probabilities: true, sequenceLengths: true });
    const session = await ort.InferenceSession.create(bytes);
    const { ids, h0, c0 } = chunk(config);
    const shapes = stateShapes(config);
    const outputs = await session.run({
      tokens: new ort.Tensor(
        "int64",
        BigInt64Array.from(ids, (id) => BigInt(id)),
        [T, B],
      ),
      h0: new ort.Tensor("float32", h0, shapes.h),
      c0: new ort.Tensor("float32", c0, shapes.c),
      sequence_lens: new ort.Tensor("int32", Int32Array.from(LENGTHS), [B]),
    });
    results[name] = {
      bytes: Array.from(bytes),
      outputs: Object.fromEntries(
        Object.entries(outputs).map(([output, tensor]) => [output, Array.from(tensor.data as Float32Array)]),
      ),
    };
  }
  return results as Record<ModelName, OnnxScenarioResult>;
}
