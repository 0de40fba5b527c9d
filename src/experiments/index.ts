/** The experiments `bptt experiment` knows, in the order `--list` shows them. */
import { beyondTruncation } from "./beyond-truncation.js";
import { charRnn } from "./char-rnn.js";
import type { Experiment } from "./experiment.js";
import { framewiseLabelling } from "./framewise-labelling.js";
import { longTextSentiment } from "./long-text-sentiment.js";
import { oneAnywhere } from "./one-anywhere.js";
import { vanishingGradients } from "./vanishing-gradients.js";
import { weightSharing } from "./weight-sharing.js";

export { type Experiment, type ExperimentSettings, type Job, type JobRun, type Report, type ReportContext, type Scale, runSequentially } from "./experiment.js";

export const EXPERIMENTS: readonly Experiment[] = [
  longTextSentiment as Experiment,
  oneAnywhere as Experiment,
  charRnn as Experiment,
  framewiseLabelling as Experiment,
  vanishingGradients as Experiment,
  weightSharing as Experiment,
  beyondTruncation as Experiment,
];

export function findExperiment(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}
