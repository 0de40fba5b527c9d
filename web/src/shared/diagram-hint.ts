/**
 * What the schedule diagram shows of a task: a typical sequence's length and the steps that matter
 * (the sentiment opening, where one-anywhere's 1s fall, framewise frames without a label yet).
 */
import type { PlaygroundSettings } from "./settings.js";

/** A stretch of a sequence the diagram highlights: steps [start, end), 0-based. */
export interface DiagramMark {
  start: number;
  end: number;
  label: string;
}

export interface DiagramHint {
  /** Steps of a typical sequence; null for a stream that never ends (a language model). */
  steps: number | null;
  marks: DiagramMark[];
  /** The first step (1-based) with a target, when the loss is at every step. Default 1. */
  lossFrom?: number;
}

/** The opening's length in words, as the diagram marks it ("i love this"; some openings have 4). */
const OPENING_WORDS = 3;

export function diagramHint(s: PlaygroundSettings): DiagramHint {
  switch (s.task) {
    case "sentiment": {
      const { maxLength, openingDistance } = s.sentiment;
      const start = maxLength - (openingDistance ?? maxLength);
      return { steps: maxLength, marks: [{ start, end: start + OPENING_WORDS, label: "opening" }] };
    }
    case "one-anywhere":
      return {
        steps: s.oneAnywhere.length,
        marks: [{ start: s.oneAnywhere.first, end: s.oneAnywhere.end, label: "1s fall here" }],
      };
    case "framewise": {
      const { frames, delay } = s.framewise;
      return {
        steps: frames,
        marks: delay > 0 ? [{ start: 0, end: delay, label: "no label yet" }] : [],
        lossFrom: delay + 1,
      };
    }
    case "char-lm":
      return { steps: null, marks: [] };
  }
}
