/**
 * `bptt eval --model DIR --data FILE [--batch N] [--json]`: a trained run judged on a new file, read
 * the way training read its data (the saved tokenizer, vocabulary, labels and columns). Prints the
 * mean loss and, by task:
 *
 *   lm        perplexity, bits per token ("bits per character" for a character model), next-token accuracy
 *   classify  accuracy and a table of precision, recall and support per label
 *   label     the same, over the labelled steps
 *   regress   mean squared error per output value
 *
 * --json prints one JSON object instead: {task, model, data, loss, terms, …} with the figures of
 * `evaluate` under their names (perplexity and bitsPerToken for lm only), and perClass as
 * [{label, precision, recall, support}] for classify and label.
 * A language model is evaluated as training validated it: --batch parallel strips (default: the
 * training batch), the state carried through each strip; every token but the first is scored, whatever
 * --batch (tasks.ts, everyTokenBatches).
 */
import type { Command } from "commander";
import { type Evaluation, evaluate } from "../train/evaluate.js";
import { type LoadedRun, checkFiniteOutputs, integerFlag, loadRun } from "./inference.js";
import { languageModelSteps, prepareEvaluation } from "./tasks.js";

export interface EvalOptions {
  model: string;
  data: string;
  batch?: string;
  json?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command("eval")
    .description("evaluate a trained run on a data file (read as training read its data)")
    .requiredOption("--model <dir>", "the run directory (bptt train --out)")
    .requiredOption("--data <file>", "the data to evaluate, in the training data's format")
    .option("--batch <n>", "sequences (lm: parallel strips) per batch (default: the training batch)")
    .option("--json", "print one JSON object")
    .action(async (options: EvalOptions) => {
      const { run, evaluation } = await runEvaluation(options);
      process.stdout.write(options.json ? `${JSON.stringify(evaluationRecord(run, options.data, evaluation))}\n` : describeEvaluation(run, evaluation));
    });
}

/** Loads the run, reads the file and evaluates the model on it. */
export async function runEvaluation(options: EvalOptions): Promise<{ run: LoadedRun; evaluation: Evaluation }> {
  const batch = integerFlag(options.batch, "--batch", NaN, 1);
  const run = loadRun(options.model);
  const batchSize = Number.isNaN(batch) ? defaultBatch(run) : batch;
  const lossAt = run.spec.task === "classify" ? "last-step" : "every-step";
  const batches = await prepareEvaluation(run.spec, options.data, batchSize, evaluationSteps(run));
  const evaluation = evaluate(run.model, batches, { lossAt });
  checkFiniteOutputs([evaluation.loss], run, options.data);
  return { run, evaluation };
}

/** Steps per language-model batch: training's (the state is carried across batches, so only speed depends on it). */
function evaluationSteps(run: LoadedRun): number {
  const k1 = run.config.training?.k1;
  const steps = languageModelSteps({ k1: typeof k1 === "number" ? k1 : null });
  return Number.isSafeInteger(steps) && steps > 0 ? steps : 35;
}

function defaultBatch(run: LoadedRun): number {
  const b = run.config.training?.batch;
  return Number.isSafeInteger(b) && b > 0 ? b : 32;
}

/** What a loss term counts, for the report. */
function unitOf(run: LoadedRun): string {
  switch (run.spec.task) {
    case "lm":
      return run.tokenizer!.kind === "char" ? "characters" : "tokens";
    case "classify":
      return "examples";
    case "label":
      return "labelled steps";
    case "regress":
      return "steps";
  }
}

/** The --json record. */
export function evaluationRecord(run: LoadedRun, data: string, e: Evaluation): Record<string, unknown> {
  const out: Record<string, unknown> = { task: run.spec.task, model: run.dir, data, loss: e.loss, terms: e.terms };
  if (run.spec.task === "lm") out.tokenizer = run.tokenizer!.kind;
  if (e.accuracy !== undefined) out.accuracy = e.accuracy;
  if (run.spec.task === "lm") {
    out.perplexity = e.perplexity;
    out.bitsPerToken = e.bitsPerToken;
  }
  if (e.mse !== undefined) out.mse = e.mse;
  if (e.perClass && run.labels) {
    const labels = run.labels.toJSON();
    out.perClass = e.perClass.map((m, k) => ({ label: labels[k], precision: m.precision, recall: m.recall, support: m.support }));
  }
  return out;
}

/** The human-readable report. */
export function describeEvaluation(run: LoadedRun, e: Evaluation): string {
  const lines = [`loss ${e.loss.toFixed(4)} (mean over ${e.terms} ${unitOf(run)})`];
  switch (run.spec.task) {
    case "lm":
      lines.push(`perplexity ${e.perplexity!.toFixed(3)}`);
      lines.push(`bits per ${run.tokenizer!.kind === "char" ? "character" : "token"} ${e.bitsPerToken!.toFixed(4)}`);
      lines.push(`next-token accuracy ${percent(e.accuracy!)}`);
      break;
    case "classify":
    case "label": {
      lines.push(`accuracy ${percent(e.accuracy!)}`, "");
      const labels = run.labels!.toJSON();
      const width = Math.max(5, ...labels.map((l) => l.length));
      lines.push(`${"label".padEnd(width)}  precision  recall  support`);
      e.perClass!.forEach((m, k) => {
        lines.push(`${labels[k]!.padEnd(width)}  ${m.precision.toFixed(3).padStart(9)}  ${m.recall.toFixed(3).padStart(6)}  ${String(m.support).padStart(7)}`);
      });
      break;
    }
    case "regress":
      lines.push(`mse ${e.mse!.toPrecision(5)} (per output value)`);
      break;
  }
  return `${lines.join("\n")}\n`;
}

function percent(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
