/**
 * The kernel table (KERNEL_TABLE in src/kernels/kernels.ts) and the glue generated from it
 * (scripts/build-glue.mjs):
 * 1. the table lists every kernel of the reference backend, with its number of arguments, and the
 *    wasm module's exports take the arguments the glue passes them;
 * 2. a malformed line fails the build with an error naming the kernel and the argument;
 * 3. on wasm-simd and native, a call built from the table runs, and the same call with any one array
 *    a single element short, or with a negative offset, throws a RangeError naming that argument
 *    before anything is written.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Kernels, referenceKernels } from "../../src/kernels/index.js";
import { nativeKernels, wasmKernels } from "./conformance.js";

type Extent = object;
interface TableArg {
  name: string;
  kind: "count" | "flag" | "f64" | "i32" | "f32" | "rows" | "classes";
  nullable?: boolean;
  extent?: Extent;
  rows?: Extent;
  cols?: Extent;
  ld?: string;
}
interface TableKernel {
  name: keyof Kernels;
  args: TableArg[];
}
interface GlueScript {
  parseTable(text?: string): TableKernel[];
  evaluate(e: Extent, values: Record<string, number | boolean>): number;
  interfaceParameters(kernel: TableKernel): Array<[string, string]>;
  moduleParameters(kernel: TableKernel): string[];
}

// From dist/test/kernels/ back to the repository's scripts/.
const SCRIPT = fileURLToPath(new URL("../../../scripts/build-glue.mjs", import.meta.url));
const glue = (await import(SCRIPT)) as GlueScript;
const table = glue.parseTable();

describe("the kernel table", () => {
  it("lists every kernel of the reference, each with the reference's number of arguments", () => {
    const methods = Object.keys(referenceKernels).filter((k) => !["name", "allocate", "allocateIndices"].includes(k));
    assert.deepEqual(table.map((k) => k.name).sort(), methods.sort());
    for (const k of table) {
      const reference = referenceKernels[k.name] as (...a: unknown[]) => unknown;
      assert.equal(glue.interfaceParameters(k).length, reference.length, k.name);
    }
  });

  it("the wasm module's kernels take the arguments the glue passes (gemm a workspace as well)", () => {
    const exports = wasmKernels.exports as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const k of table) {
      assert.equal(exports[k.name]!.length, glue.moduleParameters(k).length + (k.name === "gemm" ? 1 : 0), k.name);
    }
  });

  it("a malformed line is an error naming the kernel and the argument", () => {
    const bad: Array<[string, RegExp]> = [
      ["f(n, a: in f32[m])", /f \(argument a\): its extent mentions "m", which is not a size or a flag/],
      ["f(n, a: in f32[n], a: out f32[n])", /f \(argument a\): "a" is declared twice/],
      ["f(n, a: sideways f32[n])", /f \(argument a\): expected a type .* or a direction .*, got "sideways"/],
      ["f(n, x: f64, a: in f32[x])", /f \(argument a\): its extent mentions "x", which is not a size or a flag/],
      ["f(n, ids: rows[n] < w)", /f \(argument ids\): its bound "w" is not a size/],
      ["f(n, t: classes[n] < n or n)", /f \(argument t\): its exception "n" is not an i32 argument/],
      ["f(n, array: in f32[n])", /"array" is a name the generated glue uses itself/],
      ["f(n) -> f32", /f: unknown result "f32"/],
      ["f(n)\nf(n)", /f is listed twice/],
      ["f(n, a: in f32[n)", /f \(argument a\): expected "\]" or ",", got "\)"/],
    ];
    for (const [text, message] of bad) assert.throws(() => glue.parseTable(text), message, text);
  });
});

/** Whether `message` names `kernel` and the argument `name` (or its offset, nameOffset). */
function named(message: string, kernel: string, name: string): boolean {
  const offset = `${name[0]!.toLowerCase()}${name.slice(1)}Offset`;
  return [`${name} `, `${name}[`, `${offset} `].some((named) => message.includes(`${kernel}: ${named}`));
}

/** Sizes 2, 3, 4 … in the table's order, flags false, numbers ½, i32 values −1, every ld its block's width. */
function sizes(k: TableKernel): Record<string, number | boolean> {
  const values: Record<string, number | boolean> = {};
  let next = 2;
  for (const arg of k.args) {
    if (arg.kind === "count") values[arg.name] = next++;
    else if (arg.kind === "flag") values[arg.name] = false;
    else if (arg.kind === "f64") values[arg.name] = 0.5;
    else if (arg.kind === "i32") values[arg.name] = -1;
  }
  for (const arg of k.args) if (arg.ld !== undefined) values[arg.ld] = glue.evaluate(arg.cols!, values);
  return values;
}

/** Elements an array argument spans for `values`. */
function span(arg: TableArg, values: Record<string, number | boolean>): number {
  if (arg.ld === undefined) return glue.evaluate(arg.extent!, values);
  const rows = glue.evaluate(arg.rows!, values);
  return (rows - 1) * (values[arg.ld] as number) + glue.evaluate(arg.cols!, values);
}

/** The call's arguments, every array long enough but `short` (one element short) or `negative` (offset −1). */
function call(k: Kernels, kernel: TableKernel, change: { short?: string; negative?: string } = {}): unknown[] {
  const values = sizes(kernel);
  const args: unknown[] = [];
  for (const arg of kernel.args) {
    if (arg.kind !== "f32" && arg.kind !== "rows" && arg.kind !== "classes") {
      args.push(values[arg.name]);
      continue;
    }
    const length = span(arg, values) - (change.short === arg.name ? 1 : 0);
    const array = arg.kind === "f32" ? k.allocate(length).fill(7) : k.allocateIndices(length); // ids 0: valid
    args.push(array, change.negative === arg.name ? -1 : 0);
    if (arg.ld !== undefined) args.push(values[arg.ld]);
  }
  return args;
}

for (const k of [wasmKernels, ...(nativeKernels ? [nativeKernels] : [])]) {
  describe(`the generated glue on ${k.name}`, () => {
    for (const kernel of table) {
      it(`${kernel.name}: runs on a call built from the table, and names a short array or a negative offset`, () => {
        const run = (args: unknown[]) => (k[kernel.name] as (...a: unknown[]) => unknown)(...args);
        run(call(k, kernel));
        for (const arg of kernel.args.filter((a) => a.kind === "f32" || a.kind === "rows" || a.kind === "classes")) {
          for (const change of [{ short: arg.name }, { negative: arg.name }]) {
            const args = call(k, kernel, change);
            const arrays = args.filter((a): a is Float32Array => a instanceof Float32Array);
            assert.throws(
              () => run(args),
              (e: Error) => e instanceof RangeError && named(e.message, kernel.name, arg.name),
              `${kernel.name}: ${JSON.stringify(change)}`,
            );
            for (const a of arrays) {
              assert.ok(a.every((x) => x === 7), `${kernel.name}: ${JSON.stringify(change)} wrote before throwing`);
            }
          }
        }
      });
    }
  });
}
