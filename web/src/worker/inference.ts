/**
 * Using a model on the page: text sampled from a language model exactly as `bptt generate` samples it
 * (src/cli/generate.ts), a language model evaluated on a text, a classifier's answer for a text. Text
 * is read with the model's own tokenizer and vocabulary (config.json's "data", read by the library's
 * dataFromSpec or modelFromRunConfig), as the CLI reads it.
 *
 * Sampling: the prime's tokens (default: the line-end token) run through the model as one chunk to
 * set the state; then each token is drawn from softmax(logits / temperature) over the top k (0: all)
 * with a seeded generator (never "<pad>") and fed back. With top-k 1 the draw is the argmax, so the
 * page and the CLI give the same text from the same weights.
 */
import {
  type DataSpec,
  PAD_ID,
  Rng,
  type RunModel,
  Sampler,
  Stepper,
  type Tokenizer,
  UNK_ID,
  type Vocabulary,
  batchify,
  defaultLineEnd,
  evaluate,
  languageModelBatches,
  softmax,
  textTokens,
} from "bptt";
import type { SampleRequest } from "../shared/protocol.js";

/** Steps per batch when evaluating a language model on a text (the state is carried, so only speed depends on it). */
const EVALUATION_STEPS = 64;

/** A model on the page, trained here or loaded from a run's files, with its data spec and pieces. */
export interface PageModel extends RunModel {
  spec: DataSpec;
}

function languageModel(run: PageModel): { tokenizer: Tokenizer; vocabulary: Vocabulary } {
  if (run.spec.task !== "lm" || !run.tokenizer || !run.vocabulary) {
    throw new RangeError(`this is a ${run.spec.task} model: only a language model generates text`);
  }
  return { tokenizer: run.tokenizer, vocabulary: run.vocabulary };
}

/** What `bptt generate` prints, without the final line break it adds. */
export function generateText(run: PageModel, request: SampleRequest): string {
  const { tokenizer, vocabulary } = languageModel(run);
  const end = defaultLineEnd(tokenizer.kind);
  const primeTokens = request.prime === "" ? [end] : tokenizer.tokenize(request.prime);
  if (primeTokens.length === 0) throw new RangeError(`the prime ${JSON.stringify(request.prime)} has no tokens`);
  const stepper = new Stepper(run.model);
  const sampler = new Sampler(vocabulary.size, {
    temperature: request.temperature,
    topK: request.topK,
    rng: new Rng(request.seed),
    excluded: [PAD_ID], // never drawn, as in the CLI
  });
  const pieces = [request.prime];
  let atBreak = request.prime === "" || /\s$/.test(request.prime);
  let logits = stepper.feed(vocabulary.encode(primeTokens), false);
  for (let n = 0; n < request.length; n++) {
    const id = sampler.sample(logits);
    const token = vocabulary.token(id);
    if (tokenizer.kind === "char") pieces.push(token);
    else if (token === end) {
      pieces.push("\n");
      atBreak = true;
    } else {
      pieces.push(atBreak ? token : ` ${token}`);
      atBreak = false;
    }
    if (n + 1 < request.length) logits = stepper.stepToken(id);
  }
  return pieces.join("");
}

/** Lines describing the model on a text: bits per token (language model) or the label probabilities (classifier). */
export function evaluateOnText(run: PageModel, text: string): string[] {
  const { model, spec } = run;
  if (spec.task === "lm") {
    const { tokenizer, vocabulary } = languageModel(run);
    const ids = vocabulary.encode(textTokens(text, { tokenizer }));
    if (ids.length < 2) throw new RangeError("the text is too short to evaluate: it needs at least 2 tokens");
    const B = Math.max(1, Math.min(16, Math.floor(ids.length / 64)));
    const batches = languageModelBatches(batchify(ids, B), { bptt: EVALUATION_STEPS });
    const e = evaluate(model, batches, { lossAt: "every-step" });
    const unit = tokenizer.kind === "char" ? "character" : "token";
    const unknown = ids.reduce((n, id) => n + (id === UNK_ID ? 1 : 0), 0);
    return [
      `${e.terms.toLocaleString("en-US")} ${unit}s predicted: loss ${e.loss.toFixed(4)}, ` +
        `${e.bitsPerToken!.toFixed(3)} bits per ${unit}, ` +
        `next-${unit} accuracy ${(100 * e.accuracy!).toFixed(1)}%`,
      ...(unknown > 0 ? [`${unknown} ${unit}s of the text are not in the model's vocabulary (read as <unk>)`] : []),
    ];
  }
  if (spec.task === "classify" && run.tokenizer && run.vocabulary && run.labels) {
    const ids = run.vocabulary.encode(run.tokenizer.tokenize(text));
    if (ids.length === 0) throw new RangeError("the text has no tokens to classify");
    const labels = run.labels.toJSON();
    const p = softmax(new Stepper(model).feed(ids, false), 0, labels.length);
    const ranked = labels.map((label, k) => ({ label, p: p[k]! })).sort((a, b) => b.p - a.p);
    return [`label: ${ranked[0]!.label}`, ...ranked.map(({ label, p: q }) => `P(${label}) = ${q.toFixed(3)}`)];
  }
  const reads = spec.task === "label" ? "labelled sequences" : "CSV columns";
  throw new RangeError(`a ${spec.task} model reads ${reads}: evaluate it with bptt eval`);
}
