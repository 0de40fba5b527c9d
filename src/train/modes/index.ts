/**
 * The trainer's modes beyond truncation, each a TruncationWindow with the same part to play (forward
 * a chunk, back-propagate or carry its gradient into the parameters' grad, keep what later updates
 * need), chosen here from the resolved schedule:
 *
 *   TBPTT(k1, k2)   window.ts          rtrl       rtrl.ts (online.ts, row-step.ts)
 *   k2 "adaptive"   adaptive-k2.ts     uoro       uoro.ts
 *                                      artbp      artbp.ts
 *
 * The maths, costs, bias and variance of each are in docs/tbptt.md.
 */
import type { ModeState } from "../checkpoint.js";
import type { SequenceModel } from "../model.js";
import type { Schedule } from "../schedule.js";
import { TruncationWindow } from "../window.js";
import { AdaptiveWindow } from "./adaptive-k2.js";
import { ArtbpWindow } from "./artbp.js";
import { RtrlWindow } from "./rtrl.js";
import { UoroWindow } from "./uoro.js";

/** What a mode adds to TBPTT's window; the trainer uses each when present. */
export interface ModeHooks {
  /** Where the chunk from batch step `start` of a batch of T steps ends (a batch step): its update comes there. */
  chunkEnd?(start: number, T: number): number;
  /** What the mode carries between batches besides the window, for checkpoints. */
  exportMode?(): ModeState;
  importMode?(state: ModeState | undefined): void;
}

export type ModeWindow = TruncationWindow & ModeHooks;

export interface ModeOptions {
  /** Seeds the random draws of uoro (signs) and artbp (truncation lengths). */
  seed: number;
  /** Whether the gradient-flow diagnostics are on. */
  diagnostics: boolean;
}

/**
 * Refuses, before any work, what a mode cannot do, with the cost where there is one: a bidirectional
 * model (every mode beyond TBPTT), dropout and diagnostics in the online modes. RTRL's size limit is
 * checked by its window (rtrl.ts), once per batch size.
 */
export function checkMode(model: SequenceModel, schedule: Schedule): void {
  const method = schedule.method ?? (schedule.biasTolerance !== undefined ? "adaptive k2" : null);
  if (method === null) return;
  const name = method === "adaptive k2" ? 'k2 "adaptive"' : `mode "${method}"`;
  if (model.rnn.bidirectional) {
    throw new RangeError(
      `${name} runs forward in time, but a bidirectional model's reverse direction reads each sequence from its end: ` +
        "it needs the whole sequence before its first step, O(T) memory and O(T) time per update; " +
        'use mode "full" (k1 = k2 = the sequence length) or a unidirectional model',
    );
  }
}

/** The online modes' extra refusals: they recompute each row's step without dropout, and never back-propagate. */
export function checkOnline(model: SequenceModel, schedule: Schedule, options: { diagnostics: boolean }): void {
  if (schedule.method !== "rtrl" && schedule.method !== "uoro") return;
  if (model.rnn.dropout > 0 && model.rnn.numLayers > 1) {
    throw new RangeError(
      `mode "${schedule.method}" takes each step's derivatives from the step recomputed without dropout: ` +
        "set dropout to 0",
    );
  }
  if (options.diagnostics) {
    throw new RangeError(
      `diagnostics record the gradient flowing back through time; mode "${schedule.method}" carries sensitivities ` +
        "forward instead: drop diagnostics",
    );
  }
}

/** The window of the schedule's mode. */
export function createWindow(model: SequenceModel, schedule: Schedule, options: ModeOptions): ModeWindow {
  checkMode(model, schedule);
  checkOnline(model, schedule, options);
  switch (schedule.method) {
    case "rtrl":
      return new RtrlWindow(model);
    case "uoro":
      return new UoroWindow(model, { seed: options.seed });
    case "artbp":
      return new ArtbpWindow(model, {
        meanTruncation: schedule.k2, k1: schedule.updateAtCuts ? null : schedule.k1, seed: options.seed,
      });
    default:
      if (schedule.biasTolerance !== undefined) {
        return new AdaptiveWindow(model, { maxK2: schedule.k2, tolerance: schedule.biasTolerance });
      }
      return new TruncationWindow(model);
  }
}
