/**
 * bptt/onnx: a trained SequenceModel as an ONNX file, for ONNX Runtime and the runtimes that read ONNX.
 * Isomorphic (it returns bytes; `bptt export` writes them), and apart from the main entry so that the
 * protobuf library it uses is loaded only by those who export.
 *
 *   import { exportOnnx } from "bptt/onnx";
 *   const bytes = exportOnnx(model, { probabilities: true });   // Uint8Array: write it, or hand it to
 *   const session = await ort.InferenceSession.create(bytes);   // onnxruntime-node / onnxruntime-web
 *
 * The graph's inputs, outputs and layouts: src/export/onnx.ts and docs/onnx.md.
 */
export {
  exportOnnx,
  onnxInterface,
  type OnnxExportOptions,
  type OnnxValue,
  OnnxExportError,
  ONNX_OPSET,
  ONNX_IR_VERSION,
} from "./export/onnx.js";
