/**
 * `bptt export --model DIR --out FILE [--format onnx] [--probabilities] [--sequence-lengths]`: a trained
 * run as an ONNX file (the graph, its inputs and outputs: src/export/onnx.ts and docs/onnx.md), written
 * atomically. Its metadata holds the model's configuration ("bptt.model") and the run's data spec
 * ("bptt.data": task, tokenizer, vocabulary, labels or columns), so that a deployment can turn text into
 * ids and outputs into labels without the run directory.
 *
 * Printed: one line per graph input and output (name, element type, dimensions).
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { exportOnnx, onnxInterface, type OnnxExportOptions, type OnnxValue } from "../export/onnx.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { UsageError } from "./errors.js";
import { loadRun } from "./inference.js";

export interface ExportOptions {
  model: string;
  out: string;
  format?: string;
  probabilities?: boolean;
  sequenceLengths?: boolean;
}

const FORMATS = ["onnx"];

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("write a trained model in another format: ONNX (for ONNX Runtime and the runtimes that read ONNX)")
    .requiredOption("--model <dir>", "the run directory (bptt train --out)")
    .requiredOption("--out <file>", "the file to write (e.g. model.onnx)")
    .option("--format <name>", `the format: ${FORMATS.join(" | ")} (default: onnx)`)
    .option("--probabilities", "also output probabilities: softmax over the classes, or the sigmoid of a binary model")
    .option("--sequence-lengths", "add a sequence_lens input, for batches of sequences of different lengths")
    .action((options: ExportOptions) => {
      process.stdout.write(exportRun(options));
    });
}

/** Runs `bptt export` and returns what it prints. */
export function exportRun(options: ExportOptions): string {
  const format = options.format ?? "onnx";
  if (!FORMATS.includes(format)) {
    throw new UsageError(`--format must be ${FORMATS.join(" or ")}, got ${JSON.stringify(format)}`);
  }
  const run = loadRun(options.model);
  const exportOptions: OnnxExportOptions = {
    probabilities: options.probabilities === true,
    sequenceLengths: options.sequenceLengths === true,
    producerVersion: packageVersion(),
    metadata: { "bptt.data": JSON.stringify(run.spec) },
  };
  if (exportOptions.probabilities && run.model.config.objective === "regression") {
    throw new UsageError(
      `--probabilities: ${options.model} is a regression model: its outputs are values, not probabilities`,
    );
  }
  const bytes = exportOnnx(run.model, exportOptions);
  writeFileAtomic(options.out, bytes);
  const { inputs, outputs } = onnxInterface(run.model, exportOptions);
  const lines = [`wrote ${options.out} (ONNX, ${bytes.length} bytes)`];
  for (const value of inputs) lines.push(`  input   ${describe(value)}`);
  for (const value of outputs) lines.push(`  output  ${describe(value)}`);
  return `${lines.join("\n")}\n`;
}

function describe(value: OnnxValue): string {
  return `${value.name.padEnd(14)} ${value.type.padEnd(8)} (${value.dims.join(", ")})`;
}

/** bptt's version, for the file's producer_version. */
function packageVersion(): string {
  try {
    const json = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof json.version === "string" ? json.version : "";
  } catch {
    return "";
  }
}
