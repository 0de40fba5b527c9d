/**
 * ONNX export checked in ONNX Runtime (onnxruntime-node, CPU): for every cell × 1–2 layers × uni- or
 * bidirectional × token or feature input, random and trained models give the logits and final states
 * bptt gives, to 1e-5, from non-zero initial states and with sequences of different lengths; a stream
 * run chunk by chunk with the states passed along equals one pass; and what cannot be exported is
 * refused in one line. The LSTM's variants alike: peepholes (ONNX's LSTM input P), a projection and
 * both (a Scan per direction).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { ONNX_OPSET, OnnxExportError, exportOnnx } from "../../src/onnx.js";
import { ModelProtoSchema } from "../../src/export/proto/onnx_pb.js";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { type CellName, type ModelConfig, SequenceModel } from "../../src/train/model.js";
import { Trainer } from "../../src/train/trainer.js";
import { type ChunkInputs, assertClose, bpttForward, onnxForward, openSession, stateShape } from "./ort.js";

const CELLS: CellName[] = ["rnn", "rnn_relu", "lstm", "gru"];
const V = 11;
const I = 3;
const H = 6;
const O = 4;

function makeModel(
  cell: CellName,
  numLayers: number,
  bidirectional: boolean,
  tokens: boolean,
  seed: number,
  objective: ModelConfig["objective"] = "classes",
  variant: Pick<ModelConfig, "projSize" | "peephole"> = {},
): SequenceModel {
  const input = tokens ? { vocabSize: V, embeddingDim: 5 } : { inputSize: I };
  return new SequenceModel({
    cell,
    ...input,
    hiddenSize: H,
    numLayers,
    bidirectional,
    outputSize: objective === "binary" ? 1 : O,
    objective,
    seed,
    ...variant,
  });
}

/** The LSTM's variants: peepholes (ONNX's LSTM with P), a projection and both (Scan). */
const VARIANTS: Array<[string, Pick<ModelConfig, "projSize" | "peephole">]> = [
  ["peepholes", { peephole: true }],
  ["a projection", { projSize: 4 }],
  ["a projection and peepholes", { projSize: 3, peephole: true }],
];

/** Random inputs and states for a chunk of T steps and B sequences. */
function randomChunk(model: SequenceModel, T: number, B: number, rng: Rng): ChunkInputs {
  const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
  const normal = (n: number, scale: number): Float32Array => {
    const out = new Float32Array(n);
    rng.fillNormal(out, 0, scale);
    return out;
  };
  const chunk: ChunkInputs = { T, B, h0: normal(size(stateShape(model, B)), 0.5) };
  if (model.rnn.mode === "lstm") chunk.c0 = normal(size(stateShape(model, B, "c")), 0.5);
  if (model.embedding) chunk.ids = Int32Array.from({ length: T * B }, () => rng.int(V));
  else chunk.features = normal(T * B * I, 1);
  return chunk;
}

/** Logits and final states of the exported model equal bptt's. */
async function assertSameAsBptt(
  model: SequenceModel,
  bytes: Uint8Array,
  chunk: ChunkInputs,
  what: string,
): Promise<void> {
  const expected = bpttForward(model, chunk);
  const actual = await onnxForward(await openSession(bytes), model, chunk);
  assertClose(actual["logits"]!, expected.logits, `${what}: logits`);
  assertClose(actual["hN"]!, expected.hN, `${what}: hN`);
  if (expected.cN) assertClose(actual["cN"]!, expected.cN, `${what}: cN`);
}

/** A few Adam updates on random targets with full BPTT, so that the weights are far from their initial law. */
function trainBriefly(model: SequenceModel, rng: Rng): void {
  const trainer = new Trainer(model, createOptimizer("adam", model.parameters(), { lr: 0.05 }), { mode: "full" });
  for (let n = 0; n < 8; n++) {
    const chunk = randomChunk(model, 7, 3, rng);
    trainer.trainBatch({
      T: 7,
      B: 3,
      ...(chunk.ids ? { ids: chunk.ids } : { features: chunk.features! }),
      stepTargets: Int32Array.from({ length: 21 }, () => rng.int(O)),
    });
  }
}

describe("ONNX export, run in ONNX Runtime", () => {
  it("gives bptt's logits and final states for every cell, 1–2 layers, uni/bidirectional, tokens or features", async () => {
    const rng = new Rng(7);
    let seed = 0;
    for (const cell of CELLS) {
      for (const numLayers of [1, 2]) {
        for (const bidirectional of [false, true]) {
          for (const tokens of [true, false]) {
            const model = makeModel(cell, numLayers, bidirectional, tokens, ++seed);
            const what = `${cell}, ${numLayers} layer(s), ${bidirectional ? "bi" : "uni"}directional, ${tokens ? "tokens" : "features"}`;
            // Every sequence runs all T steps, from non-zero states.
            await assertSameAsBptt(model, exportOnnx(model), randomChunk(model, 5, 3, rng), what);
            // Sequences of different lengths: bptt's mask, ONNX's sequence_lens.
            const ragged = { ...randomChunk(model, 6, 3, rng), lengths: Int32Array.from([6, 2, 4]) };
            await assertSameAsBptt(
              model,
              exportOnnx(model, { sequenceLengths: true }),
              ragged,
              `${what}, lengths 6, 2, 4`,
            );
          }
        }
      }
    }
  });

  it("gives bptt's logits and final states for the LSTM's variants, 1–2 layers, uni/bidirectional, tokens or features", async () => {
    const rng = new Rng(17);
    let seed = 200;
    for (const [name, variant] of VARIANTS) {
      for (const numLayers of [1, 2]) {
        for (const bidirectional of [false, true]) {
          for (const tokens of [true, false]) {
            const model = makeModel("lstm", numLayers, bidirectional, tokens, ++seed, "classes", variant);
            const what = `LSTM with ${name}, ${numLayers} layer(s), ${bidirectional ? "bi" : "uni"}directional, ` +
              `${tokens ? "tokens" : "features"}`;
            await assertSameAsBptt(model, exportOnnx(model), randomChunk(model, 5, 3, rng), what);
            const ragged = { ...randomChunk(model, 6, 3, rng), lengths: Int32Array.from([6, 2, 4]) };
            await assertSameAsBptt(model, exportOnnx(model, { sequenceLengths: true }), ragged, `${what}, lengths 6, 2, 4`);
          }
        }
      }
      // Trained, so that the variants' weights are far from their initial law.
      const trained = makeModel("lstm", 2, true, true, ++seed, "classes", variant);
      const before = trained.rnn.cells[1]!.params.list().map((p) => p.value.slice());
      trainBriefly(trained, rng);
      trained.rnn.cells[1]!.params.list().forEach((p, k) => assert.notDeepEqual(p.value, before[k], `${p.name} moved`));
      await assertSameAsBptt(trained, exportOnnx(trained), randomChunk(trained, 9, 2, rng), `trained LSTM with ${name}`);
    }
  });

  it("writes peepholes as the LSTM operator's P (i, o, f) and a projection as a Scan per direction", () => {
    const graphOf = (variant: Pick<ModelConfig, "projSize" | "peephole">) =>
      fromBinary(ModelProtoSchema, exportOnnx(makeModel("lstm", 1, true, false, 3, "classes", variant))).graph!;
    const peephole = graphOf({ peephole: true });
    const lstm = peephole.node.find((n) => n.opType === "LSTM")!;
    assert.equal(lstm.input.length, 8, "X, W, R, B, sequence_lens, initial_h, initial_c, P");
    const P = peephole.initializer.find((t) => t.name === lstm.input[7])!;
    assert.deepEqual(P.dims.map(Number), [2, 3 * H]);
    const projected = graphOf({ projSize: 2 });
    assert.equal(projected.node.filter((n) => n.opType === "LSTM").length, 0);
    assert.equal(projected.node.filter((n) => n.opType === "Scan").length, 2, "one per direction");
  });

  it("runs a projected LSTM's stream chunk by chunk, with the final states passed back, as one pass", async () => {
    const rng = new Rng(19);
    const model = makeModel("lstm", 2, false, true, 41, "classes", { projSize: 2, peephole: true });
    const session = await openSession(exportOnnx(model));
    const whole = randomChunk(model, 12, 2, rng);
    const onePass = await onnxForward(session, model, whole);
    let h0 = whole.h0!;
    let c0 = whole.c0!;
    let t0 = 0;
    for (const T of [5, 1, 6]) {
      const ids = whole.ids!.slice(t0 * 2, (t0 + T) * 2);
      const chunk = await onnxForward(session, model, { T, B: 2, ids, h0, c0 });
      assertClose(chunk["logits"]!, onePass["logits"]!.subarray(t0 * 2 * O, (t0 + T) * 2 * O), `logits of steps ${t0}…`);
      h0 = chunk["hN"]!;
      c0 = chunk["cN"]!;
      t0 += T;
    }
    assertClose(h0, onePass["hN"]!, "hN after the last chunk");
    assertClose(c0, onePass["cN"]!, "cN after the last chunk");
    assertClose(onePass["logits"]!, bpttForward(model, whole).logits, "one pass equals bptt");
  });

  it("gives bptt's outputs for trained models too", async () => {
    const rng = new Rng(11);
    for (const cell of CELLS) {
      for (const tokens of [true, false]) {
        const model = makeModel(cell, 2, true, tokens, 100 + CELLS.indexOf(cell));
        const before = model.head.weight.value.slice();
        trainBriefly(model, rng);
        assert.notDeepEqual(model.head.weight.value, before, "training moved the weights");
        await assertSameAsBptt(
          model,
          exportOnnx(model),
          randomChunk(model, 9, 2, rng),
          `trained ${cell}, ${tokens ? "tokens" : "features"}`,
        );
      }
    }
  });

  it("runs a stream chunk by chunk, with the final states passed back as initial states, as one pass", async () => {
    const rng = new Rng(3);
    for (const cell of CELLS) {
      const model = makeModel(cell, 2, false, true, 40);
      const session = await openSession(exportOnnx(model));
      const whole = randomChunk(model, 12, 2, rng);
      const onePass = await onnxForward(session, model, whole);
      let h0 = whole.h0!;
      let c0 = whole.c0;
      let t0 = 0;
      for (const T of [5, 1, 6]) {
        const ids = whole.ids!.slice(t0 * 2, (t0 + T) * 2);
        const chunk = await onnxForward(session, model, { T, B: 2, ids, h0, ...(c0 ? { c0 } : {}) });
        assertClose(
          chunk["logits"]!,
          onePass["logits"]!.subarray(t0 * 2 * O, (t0 + T) * 2 * O),
          `${cell}: logits of steps ${t0}…${t0 + T - 1}`,
        );
        h0 = chunk["hN"]!;
        c0 = chunk["cN"];
        t0 += T;
      }
      assertClose(h0, onePass["hN"]!, `${cell}: hN after the last chunk`);
      if (c0) assertClose(c0, onePass["cN"]!, `${cell}: cN after the last chunk`);
      assertClose(onePass["logits"]!, bpttForward(model, whole).logits, `${cell}: one pass equals bptt`);
    }
  });

  it("adds probabilities: softmax for classes, sigmoid for the binary objective", async () => {
    const rng = new Rng(5);
    for (const objective of ["classes", "binary"] as const) {
      const model = makeModel("gru", 1, false, false, 9, objective);
      const chunk = randomChunk(model, 4, 2, rng);
      const out = await onnxForward(await openSession(exportOnnx(model, { probabilities: true })), model, chunk);
      const logits = bpttForward(model, chunk).logits;
      const expected = new Float32Array(logits.length);
      const K = model.outputSize;
      for (let r = 0; r < logits.length / K; r++) {
        const row = logits.subarray(r * K, (r + 1) * K);
        if (objective === "binary") expected[r] = 1 / (1 + Math.exp(-row[0]!));
        else {
          const max = Math.max(...row);
          const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
          row.forEach((v, k) => (expected[r * K + k] = Math.exp(v - max) / sum));
        }
      }
      assertClose(out["probabilities"]!, expected, `${objective}: probabilities`);
      assertClose(out["logits"]!, logits, `${objective}: logits`);
    }
  });

  it("writes opset 14, symbolic T and B, producer bptt and the model's configuration", () => {
    const model = makeModel("lstm", 2, true, true, 1);
    const file = fromBinary(
      ModelProtoSchema,
      exportOnnx(model, { metadata: { vocabulary: "[]" }, producerVersion: "9.9.9" }),
    );
    assert.deepEqual(
      file.opsetImport.map((o) => [o.domain, Number(o.version)]),
      [["", ONNX_OPSET]],
    );
    assert.ok(ONNX_OPSET >= 14);
    assert.equal(file.producerName, "bptt");
    assert.equal(file.producerVersion, "9.9.9");
    const metadata = Object.fromEntries(file.metadataProps.map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(metadata["bptt.model"]!), model.config);
    assert.equal(metadata["vocabulary"], "[]");
    const dims = (values: NonNullable<typeof file.graph>["input"]): Record<string, Array<string | number>> =>
      Object.fromEntries(
        values.map((v) => {
          const type = v.type!.value;
          assert.equal(type.case, "tensorType");
          return [
            v.name,
            type.value!.shape!.dim.map((d) => (d.value.case === "dimParam" ? d.value.value : Number(d.value.value))),
          ];
        }),
      );
    assert.deepEqual(dims(file.graph!.input), { tokens: ["T", "B"], h0: [4, "B", H], c0: [4, "B", H] });
    assert.deepEqual(dims(file.graph!.output), { logits: ["T", "B", O], hN: [4, "B", H], cN: [4, "B", H] });
    assert.deepEqual(
      file.graph!.node.filter((n) => n.opType === "LSTM").map((n) => n.attribute.map((a) => a.name).sort()),
      [
        ["direction", "hidden_size"],
        ["direction", "hidden_size"],
      ],
    );
  });

  it("refuses, in one line, what it cannot write faithfully", () => {
    /** An OnnxExportError (a RangeError, which the CLI prints as one line) whose message matches. */
    const refusal =
      (pattern: RegExp) =>
      (e: unknown): boolean =>
        e instanceof OnnxExportError && e instanceof RangeError && pattern.test(e.message) && !e.message.includes("\n");
    const regression = makeModel("rnn", 1, false, false, 1, "regression");
    assert.throws(
      () => exportOnnx(regression, { probabilities: true }),
      refusal(/^cannot export to ONNX: a regression model outputs values/),
    );

    const diverged = makeModel("gru", 1, false, false, 1);
    diverged.rnn.cells[0]!.params.weightHh.value[5] = NaN;
    assert.throws(
      () => exportOnnx(diverged),
      refusal(/^cannot export to ONNX: rnn\.weight_hh_l0 holds NaN at index 5 /),
    );

    // A parameter the graph has no place for (a variant this exporter does not know) is named, not dropped.
    const unknown = makeModel("lstm", 1, false, false, 1);
    const named = unknown.namedParameters();
    const extra = unknown.rnn.cells[0]!.params.weightHh;
    Object.defineProperty(unknown, "namedParameters", { value: () => [...named, ["rnn.weight_xx_l0", extra]] });
    assert.throws(
      () => exportOnnx(unknown),
      refusal(/^cannot export to ONNX: rnn\.weight_xx_l0 has no place in the graph this exporter writes$/),
    );
  });
});
