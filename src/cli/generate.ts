/**
 * `bptt generate --model DIR [--prime TEXT] [--length N] [--temperature X] [--top-k N] [--seed N]`:
 * text from a language-model run. The prime's tokens (default: the line-end token) are run through
 * the model as one chunk to set the state; then `length` tokens are drawn one at a time from
 * softmax(logits / temperature) over the top k (0: all), each fed back as the next input, the state
 * carried. The same seed gives the same text. <pad> is never drawn (a language model never sees it
 * as a target); an unknown character or word of the prime reads as <unk>.
 *
 * Printed: the prime as given (nothing for the default one), then the generated text: characters
 * concatenated, words joined with spaces, "<eos>" as a line break, "<unk>" as itself; then a line
 * break unless the text ends with one.
 */
import type { Command } from "commander";
import { Rng } from "../tensor/rng.js";
import { UsageError } from "./errors.js";
import {
  NEVER_SAMPLED, Output, Sampler, Stepper, checkFiniteOutputs, integerFlag, lineEndOf, loadRun, positiveFlag,
} from "./inference.js";

export interface GenerateOptions {
  model: string;
  prime?: string;
  length?: string;
  temperature?: string;
  topK?: string;
  seed?: string;
}

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("sample text from a language model (a run of bptt train --task lm)")
    .requiredOption("--model <dir>", "the run directory (bptt train --out)")
    .option("--prime <text>", "text to continue (default: start of a line)")
    .option("--length <n>", "tokens to generate (default: 200)")
    .option("--temperature <x>", "divide the logits by this (> 0): below 1 safer, above 1 wilder (default: 1)")
    .option("--top-k <n>", "sample from the k most likely tokens only (0: all; default: 0)")
    .option("--seed <n>", "random seed: the same seed gives the same text (default: 1)")
    .action(async (options: GenerateOptions) => {
      // Written as drawn (64 KiB at a time): memory does not grow with --length, and a reader that goes
      // away (`| head`) ends the run quietly (exitQuietlyOnBrokenPipe), noticed at the next yield.
      const output = new Output();
      let pieces = 0;
      try {
        for (const piece of generatedPieces(options)) {
          output.write(piece);
          if (++pieces % 4096 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        output.flush();
      }
    });
}

/** Runs `bptt generate` and returns what it prints. */
export function generateText(options: GenerateOptions): string {
  return [...generatedPieces(options)].join("");
}

/** What `bptt generate` prints, piece by piece as the tokens are drawn. */
export function* generatedPieces(options: GenerateOptions): Generator<string> {
  const length = integerFlag(options.length, "--length", 200, 1);
  const temperature = positiveFlag(options.temperature, "--temperature", 1);
  const topK = integerFlag(options.topK, "--top-k", 0, 0);
  const seed = integerFlag(options.seed, "--seed", 1, 0);
  const run = loadRun(options.model);
  if (run.spec.task !== "lm") {
    throw new UsageError(`generate needs a language model (a run trained with --task lm); ${options.model} is a ${run.spec.task} model: use bptt predict`);
  }
  if (run.model.rnn.bidirectional) throw new UsageError(`${options.model}: a bidirectional model cannot generate (it reads the future)`);
  const tokenizer = run.tokenizer!;
  const vocabulary = run.vocabulary!;
  const words = tokenizer.kind === "word";
  const lineEnd = lineEndOf(run);
  const primeTokens = options.prime === undefined ? [lineEnd] : tokenizer.tokenize(options.prime);
  if (primeTokens.length === 0) throw new UsageError(`--prime ${JSON.stringify(options.prime)} has no tokens`);

  const stepper = new Stepper(run.model);
  const sampler = new Sampler(vocabulary.size, { temperature, topK, rng: new Rng(seed), excluded: NEVER_SAMPLED });
  const tokens = vocabulary.toJSON();
  const prime = options.prime ?? "";
  yield prime;
  let atBreak = prime === "" || /\s$/.test(prime);
  let logits = stepper.feed(vocabulary.encode(primeTokens), false);
  let last = "";
  for (let n = 0; n < length; n++) {
    checkFiniteOutputs(logits, run, `--model ${options.model}: token ${n + 1}`);
    const id = sampler.sample(logits);
    const token = tokens[id]!;
    if (words) {
      if (token === lineEnd) {
        last = "\n";
        atBreak = true;
      } else {
        last = atBreak ? token : ` ${token}`;
        atBreak = false;
      }
    } else {
      last = token;
    }
    yield last;
    if (n + 1 < length) logits = stepper.stepToken(id);
  }
  if (!last.endsWith("\n")) yield "\n";
}
