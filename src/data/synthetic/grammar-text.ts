/**
 * English-like text from a small probabilistic grammar: the built-in corpus of the char-rnn
 * experiment. It has structure a small character model can learn in a minute or two and that a
 * reader can check in its samples — spelling, spaces, capitals after a full stop, number agreement
 * between subject and verb, matched quotation marks — and no more entropy than it needs.
 *
 *   paragraph  sentence (" " sentence){2–4} "\n"
 *   sentence   clause ("," conjunction clause)? "."   |   name " said, \"" clause ".\""
 *   clause     subject verb (preposition object)?     (verb agrees with the subject: "the cat sleeps",
 *                                                       "the cats sleep", "Anna sleeps")
 *   subject    name | determiner adjective? noun(s)
 *
 * Deterministic: the same generator state gives the same text. Only the characters a–z, A–Z, space,
 * ",", ".", "\"" and "\n" occur.
 */
import type { Rng } from "../../tensor/rng.js";

const NAMES = ["Anna", "Tom", "Maria", "Ben", "Lucy", "Sam"];
const DETERMINERS = { singular: ["the", "a", "this", "my"], plural: ["the", "some", "these", "my"] };
const ADJECTIVES = ["big", "little", "happy", "quiet", "green", "clever", "tired"];
const NOUNS = ["cat", "dog", "bird", "farmer", "teacher", "child", "horse", "friend"];
const PLURAL: Record<string, string> = { child: "children" };
/** Verbs in the plural (base) form; the singular adds "s" or "es". */
const VERBS = ["sleep", "run", "sing", "wait", "walk", "watch", "play", "look"];
const PREPOSITIONS = ["in", "near", "behind", "with", "under"];
const PLACES = ["the garden", "the house", "the river", "the old tree", "a small boat", "the market"];
const CONJUNCTIONS = ["and", "but", "because", "while"];

export interface GrammarTextOptions {
  /** Generate paragraphs until the text holds at least this many characters. */
  characters: number;
}

/** Text of at least `characters` characters, whole paragraphs, each ending with "\n". */
export function grammarText(rng: Rng, options: GrammarTextOptions): string {
  const { characters } = options;
  if (!Number.isInteger(characters) || characters < 1) throw new RangeError(`characters must be a positive integer, got ${characters}`);
  const paragraphs: string[] = [];
  let size = 0;
  while (size < characters) {
    const count = 3 + rng.int(3);
    const sentences = Array.from({ length: count }, () => sentence(rng));
    const paragraph = `${sentences.join(" ")}\n`;
    paragraphs.push(paragraph);
    size += paragraph.length;
  }
  return paragraphs.join("");
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function sentence(rng: Rng): string {
  if (rng.next() < 0.2) return `${pick(rng, NAMES)} said, "${capitalize(clause(rng))}."`;
  const first = clause(rng);
  return rng.next() < 0.4 ? `${capitalize(first)}, ${pick(rng, CONJUNCTIONS)} ${clause(rng)}.` : `${capitalize(first)}.`;
}

function clause(rng: Rng): string {
  const { text, plural } = subject(rng);
  const base = pick(rng, VERBS);
  const verb = plural ? base : /(ch|sh|s|x)$/.test(base) ? `${base}es` : `${base}s`;
  const place = rng.next() < 0.6 ? ` ${pick(rng, PREPOSITIONS)} ${pick(rng, PLACES)}` : "";
  return `${text} ${verb}${place}`;
}

function subject(rng: Rng): { text: string; plural: boolean } {
  if (rng.next() < 0.25) return { text: pick(rng, NAMES), plural: false };
  const plural = rng.next() < 0.4;
  const determiner = pick(rng, plural ? DETERMINERS.plural : DETERMINERS.singular);
  const adjective = rng.next() < 0.5 ? ` ${pick(rng, ADJECTIVES)}` : "";
  const noun = pick(rng, NOUNS);
  const form = plural ? PLURAL[noun] ?? `${noun}s` : noun;
  return { text: `${determiner}${adjective} ${form}`, plural };
}

/** The verb forms the grammar uses after a singular and after a plural subject (for tests and sample checks). */
export function grammarVerbForms(): { singular: string[]; plural: string[] } {
  return {
    singular: VERBS.map((v) => (/(ch|sh|s|x)$/.test(v) ? `${v}es` : `${v}s`)),
    plural: [...VERBS],
  };
}
