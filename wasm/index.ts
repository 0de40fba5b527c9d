/**
 * The WebAssembly SIMD kernels (AssemblyScript, compiled by scripts/build-wasm.mjs into
 * src/kernels/wasm-binary.ts). No runtime, no allocation: every array lives in the imported memory
 * and is addressed by byte pointers that the glue computes (src/kernels/wasm-calls.generated.ts, from
 * the kernel table): each kernel takes the table's arguments in its order, arrays as pointers.
 */
// A kernel file exports its kernels only (helpers shared between files live in vector.ts and
// activations.ts), so that a kernel added to one is exported without a line here.
export * from "./gemm";
export * from "./elementwise";
export * from "./rows";
export * from "./steps";
export * from "./softmax";
export * from "./adam";
export { activate } from "./activations";

/** The first byte after the module's static data: allocations start above it. */
export function heapBase(): usize {
  return __heap_base;
}
