// The native glue generated from the kernel table: native/src/kernels.generated.h (the C prototypes)
// and native/src/napi_kernels.generated.h (the N-API functions).
import { HEADER, emptyTest, interfaceParameters, isMatrix, offsetName, render, snakeCase } from "./table.mjs";

/** A kernel's C parameters: sizes long, flags int, numbers double, i32 long, arrays pointers (+ ld). */
function cParameters(kernel) {
  const out = kernel.args.flatMap((arg) => {
    if (arg.kind === "count" || arg.kind === "i32") return [`long ${arg.name}`];
    if (arg.kind === "flag") return [`int ${arg.name}`];
    if (arg.kind === "f64") return [`double ${arg.name}`];
    if (arg.kind !== "f32") return [`const int32_t* ${arg.name}`];
    const pointer = `${arg.direction === "in" ? "const " : ""}float* ${arg.name}`;
    return isMatrix(arg) ? [pointer, `long ${arg.ld}`] : [pointer];
  });
  if (kernel.result === "SoftmaxCrossEntropySums") out.push("long* hits");
  return out;
}

const C_RESULT = { null: "void", f64: "double", SoftmaxCrossEntropySums: "double" };

export function renderPrototypes(kernels) {
  const entries = kernels.map((k) => `  X(${C_RESULT[k.result]}, ${snakeCase(k.name)}, (${cParameters(k).join(", ")}))`);
  return [
    `/* ${HEADER} */`,
    "/*",
    " * Every kernel of the table as C implements it, X(result, name, (parameters)): sizes are long, flags",
    " * int, numbers double, i32 values long (2^40, which no int32 equals, for a number that is not an",
    " * int32), arrays pointers to their block's first element (const when only read), each matrix",
    " * followed by its row stride; a SoftmaxCrossEntropySums result is the loss, with the hits through",
    " * the last parameter. Every instruction set defines each as STEP(name) (kernels_impl.h).",
    " */",
    "#ifndef BPTT_KERNELS_GENERATED_H",
    "#define BPTT_KERNELS_GENERATED_H",
    "",
    "#define BPTT_KERNELS(X) \\",
    entries.join(" \\\n"),
    "",
    "#endif",
    "",
  ].join("\n");
}

/** One kernel's N-API function. */
function napiKernel(kernel) {
  const c = snakeCase(kernel.name);
  const K = JSON.stringify(kernel.name);
  const params = interfaceParameters(kernel).map(([n]) => n);
  const position = new Map(params.map((n, at) => [n, at]));
  const lines = [`/* ${kernel.name}(${params.join(", ")}) */`, `static napi_value js_${c}(napi_env env, napi_callback_info info) {`];
  lines.push("  call js;", `  if (!begin(&js, env, info, ${K}, ${params.length})) return NULL;`);
  for (const arg of kernel.args) {
    const at = position.get(arg.name);
    if (arg.kind === "count") lines.push(`  const long ${arg.name} = integer(&js, ${at}, "${arg.name}");`);
    else if (arg.kind === "flag") lines.push(`  const int ${arg.name} = boolean(&js, ${at});`);
    else if (arg.kind === "f64" || arg.kind === "i32") lines.push(`  const double ${arg.name} = number(&js, ${at}, "${arg.name}");`);
    else if (isMatrix(arg)) lines.push(`  const long ${arg.ld} = integer(&js, ${position.get(arg.ld)}, "${arg.ld}");`);
  }
  for (const arg of kernel.args.filter((a) => a.kind === "rows" || a.kind === "classes")) {
    const offset = `integer(&js, ${position.get(offsetName(arg))}, "${offsetName(arg)}")`;
    const head = `  const int32_t* ${arg.name} = `;
    if (arg.kind === "rows") {
      lines.push(`${head}row_indices(&js, ${position.get(arg.name)}, "${arg.name}", ${offset}, ${render(arg.extent)}, ${arg.bound});`);
    } else {
      const rest = `${render(arg.extent)}, ${arg.bound}, ${arg.except}, "${arg.except}"`;
      lines.push(`${head}class_indices(&js, ${position.get(arg.name)}, "${arg.name}", ${offset}, ${rest});`);
    }
  }
  for (const arg of kernel.args.filter((a) => a.kind === "f32")) {
    const offset = `integer(&js, ${position.get(offsetName(arg))}, "${offsetName(arg)}")`;
    const extent = isMatrix(arg) ? `extent(&js, "${arg.ld}", ${render(arg.rows)}, ${render(arg.cols)}, ${arg.ld})` : render(arg.extent);
    const type = arg.direction === "in" ? "const float*" : "float*";
    lines.push(`  ${type} ${arg.name} = array(&js, ${position.get(arg.name)}, "${arg.name}", ${offset}, ${extent}, ${arg.nullable ? 1 : 0});`);
  }
  lines.push("  if (js.failed) return NULL;");
  const empty = emptyTest(kernel);
  const emptyResult = { null: "undefined(env)", f64: "number_value(env, 0)", SoftmaxCrossEntropySums: "loss_and_hits(env, 0, 0)" }[kernel.result];
  if (empty !== null) lines.push(`  if (${empty.replaceAll("===", "==")}) return ${emptyResult};`);
  const args = kernel.args.flatMap((arg) => {
    if (arg.kind === "i32") return [`int32_or_none(${arg.name})`];
    return isMatrix(arg) ? [arg.name, arg.ld] : [arg.name];
  });
  const call = (extra) => `active_paths()->kernels->${c}(${[...args, ...extra].join(", ")})`;
  if (kernel.result === null) lines.push(`  ${call([])};`, "  return undefined(env);");
  else if (kernel.result === "f64") lines.push(`  return number_value(env, ${call([])});`);
  else lines.push("  long hits = 0;", `  const double loss = ${call(["&hits"])};`, "  return loss_and_hits(env, loss, hits);");
  lines.push("}", "");
  return lines;
}

export function renderNapiGlue(kernels) {
  const properties = kernels.map((k) => `      {"${k.name}", NULL, js_${snakeCase(k.name)}, NULL, NULL, NULL, napi_enumerable, NULL},`);
  return [
    `/* ${HEADER} */`,
    "/*",
    " * The N-API function of each kernel of the table, included by addon.c after its argument readers:",
    " * every size, offset and array is checked (RangeError or TypeError naming the kernel and the",
    " * argument) before a pointer is formed, then the kernel of the active instruction set runs. A kernel",
    " * whose written arrays are all empty returns at once.",
    " */",
    "",
    ...kernels.flatMap(napiKernel),
    "/* The kernels, as the enumerable properties of one object (the addon's `kernels`). */",
    "static napi_value kernel_functions(napi_env env) {",
    "  const napi_property_descriptor functions[] = {",
    ...properties,
    "  };",
    "  napi_value object;",
    "  napi_create_object(env, &object);",
    "  napi_define_properties(env, object, sizeof functions / sizeof functions[0], functions);",
    "  return object;",
    "}",
    "",
  ].join("\n");
}
