// The wasm-simd glue generated from the kernel table: src/kernels/wasm-calls.generated.ts.
import { HEADER, emptyTest, interfaceParameters, isArray, isMatrix, offsetName, render } from "./table.mjs";

const TS_RESULT = { null: "void", f64: "number", SoftmaxCrossEntropySums: "SoftmaxCrossEntropySums" };
const TS_EMPTY = { null: "", f64: " 0", SoftmaxCrossEntropySums: " { loss: 0, hits: 0 }" };

/** The module call's arguments: pointers for arrays (and each matrix's ld), 0/1 for flags. */
function moduleArguments(kernel, pointer, ld) {
  let index = 0;
  return kernel.args.flatMap((arg) => {
    if (arg.kind === "flag") return [`${arg.name} ? 1 : 0`];
    if (!isArray(arg)) return [arg.name];
    const at = index++;
    return isMatrix(arg) ? [pointer(arg, at), ld(arg, at)] : [pointer(arg, at)];
  });
}

export function moduleParameters(kernel) {
  return kernel.args.flatMap((arg) => (isArray(arg) ? [arg.name, ...(isMatrix(arg) ? [arg.ld] : [])] : [arg.name]));
}

function wasmKernel(kernel) {
  const K = JSON.stringify(kernel.name);
  const params = interfaceParameters(kernel).map(([n, t]) => `${n}: ${t}`);
  const callArgs = interfaceParameters(kernel).map(([n]) => n).join(", ");
  const arrays = kernel.args.filter(isArray);
  const floats = arrays.filter((a) => a.kind === "f32");
  const indices = arrays.filter((a) => a.kind !== "f32");
  const int32s = kernel.args.filter((a) => a.kind === "i32");
  const lines = wrapCall(`${kernel.name}(`, params, `): ${TS_RESULT[kernel.result]} {`, "    ");
  for (const arg of kernel.args.filter((a) => a.kind === "count")) {
    lines.push(`      requireCount(${K}, "${arg.name}", ${arg.name});`);
  }
  for (const arg of indices) {
    const bounds = arg.kind === "rows" ? `${arg.bound}` : `${arg.bound}, ${arg.except}, "${arg.except}"`;
    const check = arg.kind === "rows" ? "requireRows" : "requireClasses";
    const args = [K, `"${arg.name}"`, render(arg.extent), bounds, arg.name, offsetName(arg)];
    lines.push(`      ${check}(${args.join(", ")});`);
  }
  for (const arg of floats) {
    const [rows, cols, ld] = isMatrix(arg)
      ? [render(arg.rows), render(arg.cols), arg.ld]
      : ["1", render(arg.extent), render(arg.extent)];
    const args = [K, `"${arg.name}"`, arg.name, offsetName(arg), rows, cols, ld];
    lines.push(...wrapCall(`const $${arg.name} = address($memory, `, args, ");", "      "));
  }
  for (const arg of indices) {
    const address = `${arg.name}.byteOffset + ${offsetName(arg)} * 4`;
    lines.push(`      const $${arg.name} = $memory.contains(${arg.name}) ? ${address} : FOREIGN;`);
  }
  const empty = emptyTest(kernel);
  if (empty !== null) lines.push(`      if (${empty}) return${TS_EMPTY[kernel.result]};`);
  const direct = [
    ...arrays.map((a) => (a.nullable ? `$${a.name} >= 0` : `$${a.name} > 0`)),
    ...int32s.map((a) => `isInt32(${a.name})`),
  ];
  lines.push(`      if (${direct.join(" && ")}) {`);
  const addresses = moduleArguments(kernel, (a) => `$${a.name}`, (a) => a.ld);
  lines.push(...wrapCall(`return $wasm.${kernel.name}(`, addresses, ");", "        "));
  lines.push("      }");
  const reference = wrapCall(`return referenceKernels.${kernel.name}(`, callArgs.split(", "), ");", "        ");
  if (indices.length > 0 || int32s.length > 0) {
    // Integer arguments are not copied: the reference computes where the arrays are.
    lines.push("      $marshal.onReference++;", ...reference.map((l) => l.slice(2)));
  } else {
    const staged = floats.map((a) => {
      const mode = { in: "IN", out: "OUT", inout: "INOUT" }[a.direction];
      return isMatrix(a)
        ? `matrix("${a.name}", ${a.name}, ${offsetName(a)}, ${render(a.rows)}, ${render(a.cols)}, ${a.ld}, ${mode})`
        : `vector("${a.name}", ${a.name}, ${offsetName(a)}, ${render(a.extent)}, ${mode})`;
    });
    lines.push(...wrapCall("const $staged = $marshal.prepare([", staged, "]);", "      "));
    lines.push("      if ($staged === null) {", "        $marshal.onReference++;", ...reference, "      }");
    lines.push("      $marshal.copied++;");
    const call = moduleArguments(kernel, (_, at) => `$staged.pointers[${at}]!`, (_, at) => `$staged.lds[${at}]!`);
    lines.push(...wrapCall(`const $result = $wasm.${kernel.name}(`, call, ");", "      "));
    lines.push("      $staged.finish();", "      return $result;");
  }
  lines.push("    },");
  return lines;
}

/** `items` joined with ", " on lines of at most ~110 characters, each starting with `indent`. */
function wrapList(items, indent) {
  const lines = [];
  let line = "";
  for (const item of items) {
    const piece = `${item},`;
    if (line !== "" && indent.length + line.length + 1 + piece.length > 110) {
      lines.push(indent + line);
      line = piece;
    } else {
      line = line === "" ? piece : `${line} ${piece}`;
    }
  }
  if (line !== "") lines.push(indent + line);
  return lines;
}

/** `open` + items + `close` on one line when it fits, else the items wrapped below. */
function wrapCall(open, items, close, indent) {
  const one = `${indent}${open}${items.join(", ")}${close}`;
  if (one.length <= 110) return [one];
  return [`${indent}${open}`, ...wrapList(items, `${indent}  `), `${indent}${close}`];
}

export function renderWasmGlue(kernels) {
  const same = kernels.map((k) => {
    const types = interfaceParameters(k).map(([, t]) => t).join(", ");
    return [
      `  Check<Same<Parameters<KernelCalls["${k.name}"]>, [${types}]>>,`,
      `  Check<Same<ReturnType<KernelCalls["${k.name}"]>, ${TS_RESULT[k.result]}>>,`,
    ];
  });
  const targets = kernels.map((k) => {
    const params = moduleParameters(k).map((n) => `${n}: number`);
    return wrapCall(`${k.name}(`, params, `): ${TS_RESULT[k.result]};`, "  ");
  });
  const body = [
    "/** The module's kernels as the glue calls them: byte addresses for arrays (0 for null), 0/1 for flags. */",
    "export interface WasmKernelTargets {",
    ...targets.flat(),
    "}",
    "",
    "/** The kernels on `$wasm`, addressing arrays in `$memory`; `$marshal` stages the slow path and counts it. */",
    "export function wasmKernelCalls(",
    "  $wasm: WasmKernelTargets, $memory: KernelMemory, $marshal: Marshal,",
    "): KernelCalls {",
    "  return {",
    ...kernels.flatMap(wasmKernel),
    "  };",
    "}",
    "",
    "// The table's signatures are the interface's: a difference fails to compile here.",
    "type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;",
    "type Check<T extends true> = T;",
    "export type TableMatchesInterface = [",
    `  Check<Same<keyof KernelCalls, ${kernels.map((k) => `"${k.name}"`).join(" | ")}>>,`,
    ...same.flat(),
    "];",
    "",
  ];
  return [
    `// ${HEADER}`,
    "/**",
    " * The wasm-simd backend's kernels (wasm.ts): each validates its sizes and index arrays, takes every",
    " * array's address after checking its block against the array's bounds (RangeError naming the",
    " * argument), and calls the module on those addresses when every array is in the module's memory.",
    " * Otherwise it runs on copies of the arrays (wasm-marshal.ts), or on the reference kernel where copies",
    " * cannot stand in for them (an array that is not a Float32Array, overlapping copies, integer",
    " * arguments). A kernel whose written arrays are all empty returns at once.",
    " */",
    ...imports(body, [
      ["./kernels.js", ["type KernelCalls", "type SoftmaxCrossEntropySums"]],
      ["./reference.js", ["referenceKernels"]],
      ["./targets.js", ["requireClasses", "requireRows"]],
      ["./wasm-marshal.js", [
        "FOREIGN", "IN", "INOUT", "type Marshal", "OUT", "address", "isInt32", "matrix", "requireCount", "vector",
      ]],
      ["./wasm-memory.js", ["type KernelMemory"]],
    ]),
    "",
    ...body,
  ].join("\n");
}

/** Import lines for the names `body` uses ("type X": a type-only import). */
function imports(body, modules) {
  const text = body.join("\n");
  const lines = [];
  for (const [module, names] of modules) {
    const used = names.filter((n) => new RegExp(`\\b${n.replace("type ", "")}\\b`).test(text));
    if (used.length === 0) continue;
    const typeOnly = used.every((n) => n.startsWith("type "));
    const list = typeOnly ? used.map((n) => n.replace("type ", "")) : used;
    lines.push(`import ${typeOnly ? "type " : ""}{ ${list.join(", ")} } from "${module}";`);
  }
  return lines;
}
