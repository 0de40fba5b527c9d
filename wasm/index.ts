/**
 * The WebAssembly SIMD kernels (AssemblyScript, compiled by scripts/build-wasm.mjs into
 * src/kernels/wasm-binary.ts). No runtime, no allocation: every array lives in the imported memory
 * and is addressed by byte pointers that src/kernels/wasm.ts computes.
 */
export { gemm, GEMM_WORKSPACE_BYTES } from "./gemm";
export { addRowVector, sumRowsInto, sumSquares } from "./elementwise";
export { gatherRows, scatterAddRows } from "./rows";
export { rnnStepForward, rnnStepBackward, lstmStepForward, lstmStepBackward, gruStepForward, gruStepBackward } from "./steps";
export { activate } from "./activations";
export { softmaxCrossEntropy, softmaxHits } from "./softmax";
export { adamStep } from "./adam";

/** The first byte after the module's static data: allocations start above it. */
export function heapBase(): usize {
  return __heap_base;
}
