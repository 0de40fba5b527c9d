// Generates the fast backends' glue from the kernel table (KERNEL_TABLE in src/kernels/kernels.ts):
//
//   src/kernels/wasm-calls.generated.ts      wasm-simd: each kernel's checks, addresses, module call,
//                                            and its slow path (copies, or the reference)   glue/wasm.mjs
//   native/src/kernels.generated.h           native: every kernel's C prototype, an X-macro list
//   native/src/napi_kernels.generated.h      native: each kernel's N-API function (argument checks,
//                                            then the C kernel of the active instruction set) glue/native.mjs
//
//   node scripts/build-glue.mjs              regenerate (a file is written only when its text changes)
//
// build-wasm.mjs and build-native.mjs run it first (`npm run build`, and `npm install` for the native
// part), so the glue follows the table without a step of its own. The generated files are committed:
// an installed package compiles native/src without TypeScript sources, and a change to the table shows
// up in review as the code it generates. The table is read as text (glue/table.mjs), before TypeScript
// is compiled.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderNapiGlue, renderPrototypes } from "./glue/native.mjs";
import { TABLE_SOURCE, parseTable } from "./glue/table.mjs";
import { renderWasmGlue } from "./glue/wasm.mjs";

export { evaluate, interfaceParameters, parseTable } from "./glue/table.mjs";
export { moduleParameters } from "./glue/wasm.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WASM_GLUE = join(ROOT, "src", "kernels", "wasm-calls.generated.ts");
const C_PROTOTYPES = join(ROOT, "native", "src", "kernels.generated.h");
const NAPI_GLUE = join(ROOT, "native", "src", "napi_kernels.generated.h");

/** Writes `text` to `path` unless it is there already. */
function update(path, text) {
  if (existsSync(path) && readFileSync(path, "utf8") === text) return;
  writeFileSync(path, text);
  console.log(`build-glue: ${path.slice(ROOT.length)}`);
}

/** Regenerates the wasm-simd glue from the table. */
export function generateWasmGlue() {
  update(WASM_GLUE, renderWasmGlue(parseTable()));
}

/** Regenerates the native glue from the table, when the table is here (not in an installed package). */
export function generateNativeGlue() {
  if (!existsSync(TABLE_SOURCE)) return;
  const kernels = parseTable();
  update(C_PROTOTYPES, renderPrototypes(kernels));
  update(NAPI_GLUE, renderNapiGlue(kernels));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  generateWasmGlue();
  generateNativeGlue();
}
