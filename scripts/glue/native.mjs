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

/** Kernels the glue runs through native/src/split.c (split across the thread pool by rows), not directly. */
const SPLIT_KERNELS = new Set([
  "lstm_step_forward", "lstm_step_backward", "gru_step_forward", "gru_step_backward", "adam_step",
]);

const C_RESULT = { null: "void", f64: "double", SoftmaxCrossEntropySums: "double" };
/** What a kernel returns when every array it writes is empty. */
const EMPTY_RESULT = {
  null: "undefined(env)", f64: "number_value(env, 0)", SoftmaxCrossEntropySums: "loss_and_hits(env, 0, 0)",
};

export function renderPrototypes(kernels) {
  const entries = kernels.map(
    (k) => `  X(${C_RESULT[k.result]}, ${snakeCase(k.name)}, (${cParameters(k).join(", ")}))`,
  );
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
  const lines = [
    `/* ${kernel.name}(${params.join(", ")}) */`,
    `static napi_value js_${c}(napi_env env, napi_callback_info info) {`,
    "  call js;",
    // addon.c reads at most MAX_ARGS arguments: a longer kernel must fail to compile, not read past argv.
    `  _Static_assert(${params.length} <= MAX_ARGS, "${kernel.name}: more arguments than MAX_ARGS in addon.c");`,
    `  if (!begin(&js, env, info, ${K}, ${params.length})) return NULL;`,
  ];
  /** The reader of an integer argument (a size, an offset or a leading dimension). */
  const integer = (name) => `integer(&js, ${position.get(name)}, "${name}")`;
  // Scalars and leading dimensions first: the extents below need them.
  for (const arg of kernel.args) {
    const at = position.get(arg.name);
    const n = arg.name;
    if (arg.kind === "count") lines.push(`  const long ${n} = ${integer(n)};`);
    else if (arg.kind === "flag") lines.push(`  const int ${n} = boolean(&js, ${at});`);
    else if (arg.kind === "f64" || arg.kind === "i32") lines.push(`  const double ${n} = number(&js, ${at}, "${n}");`);
    else if (isMatrix(arg)) lines.push(`  const long ${arg.ld} = ${integer(arg.ld)};`);
  }
  for (const arg of kernel.args.filter((a) => a.kind === "rows" || a.kind === "classes")) {
    const head = `&js, ${position.get(arg.name)}, "${arg.name}", ${integer(offsetName(arg))}, ${render(arg.extent)}`;
    const read = arg.kind === "rows"
      ? `row_indices(${head}, ${arg.bound})`
      : `class_indices(${head}, ${arg.bound}, ${arg.except}, "${arg.except}")`;
    lines.push(`  const int32_t* ${arg.name} = ${read};`);
  }
  for (const arg of kernel.args.filter((a) => a.kind === "f32")) {
    const extent = isMatrix(arg)
      ? `extent(&js, "${arg.ld}", ${render(arg.rows)}, ${render(arg.cols)}, ${arg.ld})`
      : render(arg.extent);
    const type = arg.direction === "in" ? "const float*" : "float*";
    const offset = integer(offsetName(arg));
    const read = `array(&js, ${position.get(arg.name)}, "${arg.name}", ${offset}, ${extent}, ${arg.nullable ? 1 : 0})`;
    lines.push(`  ${type} ${arg.name} = ${read};`);
  }
  lines.push("  if (js.failed) return NULL;");
  const empty = emptyTest(kernel);
  const emptyResult = EMPTY_RESULT[kernel.result];
  if (empty !== null) lines.push(`  if (${empty.replaceAll("===", "==")}) return ${emptyResult};`);
  const args = kernel.args.flatMap((arg) => {
    if (arg.kind === "i32") return [`int32_or_none(${arg.name})`];
    return isMatrix(arg) ? [arg.name, arg.ld] : [arg.name];
  });
  const target = SPLIT_KERNELS.has(c) ? `split_${c}` : `active_paths()->kernels->${c}`;
  const call = (extra) => `${target}(${[...args, ...extra].join(", ")})`;
  if (kernel.result === null) lines.push(`  ${call([])};`, "  return undefined(env);");
  else if (kernel.result === "f64") lines.push(`  return number_value(env, ${call([])});`);
  else {
    lines.push("  long hits = 0;", `  const double loss = ${call(["&hits"])};`);
    lines.push("  return loss_and_hits(env, loss, hits);");
  }
  lines.push("}", "");
  return lines;
}

export function renderNapiGlue(kernels) {
  const properties = kernels.map(
    (k) => `      {"${k.name}", NULL, js_${snakeCase(k.name)}, NULL, NULL, NULL, napi_enumerable, NULL},`,
  );
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
