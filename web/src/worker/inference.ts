/**
 * Using a model on the page: text sampled from a language model exactly as `bptt generate` samples it
 * (src/cli/generate.ts), a language model evaluated on a text, a classifier's answer for a text.
 *
 * Sampling: the prime's tokens (default: the line-end token) run through the model as one chunk to
 * set the state; then each token is drawn from softmax(logits / temperature) over the top k (0: all)
 * with a seeded generator (never "<pad>") and fed back. With top-k 1 the draw is the argmax, so the
 * page and the CLI give the same text from the same weights.
 */
import { Rng, Sampler, type SequenceModel, Stepper, evaluate, softmax } from "bptt";
import type { SampleRequest } from "../shared/protocol.js";
import { type DataSpec, PAD_ID } from "../shared/run-config.js";
import { cutStrips, encode, lineEnd, streamTokens, stripBatches, tokenize } from "../tasks/text.js";

/** Steps per batch when evaluating a language model on a text (the state is carried, so only speed depends on it). */
const EVALUATION_STEPS = 64;

function languageModelSpec(data: DataSpec): { kind: "char" | "word"; lowercase: boolean; vocabulary: string[] } {
  if (data.task !== "lm" || !data.tokenizer || !data.vocabulary) {
    throw new RangeError(`this is a ${data.task} model: only a language model generates text`);
  }
  return { kind: data.tokenizer.kind, lowercase: data.tokenizer.lowercase, vocabulary: data.vocabulary };
}

/** What `bptt generate` prints, without the final line break it adds. */
export function generateText(model: SequenceModel, data: DataSpec, request: SampleRequest): string {
  const { kind, lowercase, vocabulary } = languageModelSpec(data);
  const end = lineEnd(kind);
  const primeTokens = request.prime === "" ? [end] : tokenize(request.prime, kind, lowercase);
  if (primeTokens.length === 0) throw new RangeError(`the prime ${JSON.stringify(request.prime)} has no tokens`);
  const stepper = new Stepper(model);
  const sampler = new Sampler(vocabulary.length, {
    temperature: request.temperature,
    topK: request.topK,
    rng: new Rng(request.seed),
    excluded: [PAD_ID], // never drawn, as in the CLI
  });
  const pieces = [request.prime];
  let atBreak = request.prime === "" || /\s$/.test(request.prime);
  let logits = stepper.feed(encode(primeTokens, vocabulary), false);
  for (let n = 0; n < request.length; n++) {
    const id = sampler.sample(logits);
    const token = vocabulary[id]!;
    if (kind === "char") pieces.push(token);
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
export function evaluateOnText(model: SequenceModel, data: DataSpec, text: string): string[] {
  if (data.task === "lm") {
    const { kind, lowercase, vocabulary } = languageModelSpec(data);
    const ids = encode(streamTokens(text, kind, lowercase), vocabulary);
    if (ids.length < 2) throw new RangeError("the text is too short to evaluate: it needs at least 2 tokens");
    const B = Math.max(1, Math.min(16, Math.floor(ids.length / 64)));
    const e = evaluate(model, stripBatches(cutStrips(ids, B), EVALUATION_STEPS), { lossAt: "every-step" });
    const unit = kind === "char" ? "character" : "token";
    const unknown = ids.reduce((n, id) => n + (id === 1 ? 1 : 0), 0);
    return [
      `${e.terms.toLocaleString("en-US")} ${unit}s predicted: loss ${e.loss.toFixed(4)}, ` +
        `${e.bitsPerToken!.toFixed(3)} bits per ${unit}, ` +
        `next-${unit} accuracy ${(100 * e.accuracy!).toFixed(1)}%`,
      ...(unknown > 0 ? [`${unknown} ${unit}s of the text are not in the model's vocabulary (read as <unk>)`] : []),
    ];
  }
  if (data.task === "classify" && data.tokenizer && data.vocabulary && data.labels) {
    const ids = encode(tokenize(text, data.tokenizer.kind, data.tokenizer.lowercase), data.vocabulary);
    if (ids.length === 0) throw new RangeError("the text has no tokens to classify");
    const stepper = new Stepper(model);
    const p = softmax(stepper.feed(ids, false), 0, data.labels.length);
    const ranked = data.labels.map((label, k) => ({ label, p: p[k]! })).sort((a, b) => b.p - a.p);
    return [`label: ${ranked[0]!.label}`, ...ranked.map(({ label, p: q }) => `P(${label}) = ${q.toFixed(3)}`)];
  }
  const reads = data.task === "label" ? "labelled sequences" : "CSV columns";
  throw new RangeError(`a ${data.task} model reads ${reads}: evaluate it with bptt eval`);
}
