/**
 * What the ONNX export tests share: a model run in bptt (the reference) and the same model's exported
 * file run in ONNX Runtime, on the same time-major inputs and states, and the comparison of the two.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { Tensor } from "../../src/tensor/tensor.js";
import type { SequenceModel } from "../../src/train/model.js";

/** One chunk's inputs, time-major. */
export interface ChunkInputs {
  T: number;
  B: number;
  /** (T, B) token ids, for a token model. */
  ids?: Int32Array;
  /** (T, B, I) features, for a feature model. */
  features?: Float32Array;
  /** (L·D, B, R) and (L·D, B, H) initial states; zeros when omitted. */
  h0?: Float32Array;
  c0?: Float32Array;
  /** (B) steps of each sequence (padding after them); all T when omitted. */
  lengths?: Int32Array;
}

export interface ChunkOutputs {
  /** (T, B, O) */
  logits: Float32Array;
  /** (L·D, B, R) */
  hN: Float32Array;
  /** (L·D, B, H) */
  cN: Float32Array | null;
}

/** h's (L·D, B, R), or c's (L·D, B, H): R = P for an LSTM with a projection, else H. */
export function stateShape(model: SequenceModel, B: number, part: "h" | "c" = "h"): number[] {
  return [model.rnn.numLayers * model.rnn.directions, B, model.rnn.stateSizes[part]];
}

/** bptt's own forward pass: embedding, the recurrent stack (with the mask the lengths make), the head at every step. */
export function bpttForward(model: SequenceModel, input: ChunkInputs): ChunkOutputs {
  const { T, B } = input;
  const x = model.embedding
    ? new Tensor(model.embedding.forward(input.ids!, T * B).out.slice(), [T, B, model.inputSize])
    : new Tensor(input.features!, [T, B, model.inputSize]);
  const shape = stateShape(model, B);
  const lengths = input.lengths;
  const mask = lengths
    ? new Tensor(
        Float32Array.from({ length: T * B }, (_, i) => (Math.floor(i / B) < lengths[i % B]! ? 1 : 0)),
        [T, B],
      )
    : null;
  const out = model.rnn.forward(x, {
    h0: input.h0 ? new Tensor(input.h0, shape) : null,
    c0: input.c0 ? new Tensor(input.c0, stateShape(model, B, "c")) : null,
    mask,
  });
  const logits = model.head.forward(out.output.data, T * B).out.slice();
  return { logits, hN: out.hN.data.slice(), cN: out.cN ? out.cN.data.slice() : null };
}

/** A session on one thread (the test machine is shared). */
export function openSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

/** The exported model run in ONNX Runtime; every output it has, by name. */
export async function onnxForward(
  session: ort.InferenceSession,
  model: SequenceModel,
  input: ChunkInputs,
): Promise<Record<string, Float32Array>> {
  const { T, B } = input;
  const shape = stateShape(model, B);
  const cellShape = stateShape(model, B, "c");
  const zeros = (s: number[]): Float32Array => new Float32Array(s[0]! * s[1]! * s[2]!);
  const feeds: Record<string, ort.Tensor> = {
    h0: new ort.Tensor("float32", input.h0 ?? zeros(shape), shape),
  };
  if (model.embedding)
    feeds["tokens"] = new ort.Tensor(
      "int64",
      BigInt64Array.from(input.ids!, (id) => BigInt(id)),
      [T, B],
    );
  else feeds["features"] = new ort.Tensor("float32", input.features!, [T, B, model.inputSize]);
  if (model.rnn.mode === "lstm") feeds["c0"] = new ort.Tensor("float32", input.c0 ?? zeros(cellShape), cellShape);
  if (session.inputNames.includes("sequence_lens"))
    feeds["sequence_lens"] = new ort.Tensor("int32", input.lengths ?? new Int32Array(B).fill(T), [B]);
  const results = await session.run(feeds);
  return Object.fromEntries(Object.entries(results).map(([name, tensor]) => [name, tensor.data as Float32Array]));
}

/** |actual − expected| ≤ tolerance · max(1, |expected|) everywhere, else a message naming the worst element. */
export function assertClose(actual: Float32Array, expected: Float32Array, what: string, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = -1;
  let worstError = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    if (Number.isNaN(error) || error > worstError) {
      worst = i;
      worstError = error;
      if (Number.isNaN(error)) break;
    }
  }
  assert.ok(
    worstError <= tolerance,
    `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (error ${worstError})`,
  );
}
