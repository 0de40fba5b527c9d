/**
 * Training that has gone wrong is stopped at the first update that shows it, before the optimizer
 * applies that update, so that nothing non-finite is ever saved (run-directory.ts also refuses to
 * write non-finite weights):
 *
 *   - a loss or a gradient norm that is NaN or ±Infinity;
 *   - a classifier's mean loss per term over DIVERGENCE_FACTOR times that of a uniform guess, ln(K)
 *     for K classes (ln 2 for binary): a model starts near ln(K), and one a hundred times worse has
 *     diverged even while every number is finite (an LSTM language model at --lr 1e6 sits at 10^6).
 *
 * The check runs in the Trainer's beforeStep hook, which sees the final gradient just before the step.
 */
import type { Objective } from "../train/model.js";
import type { UpdateInfo } from "../train/trainer.js";
import { UsageError } from "./errors.js";

export const DIVERGENCE_FACTOR = 100;

/** Training stopped because it diverged; the message names the epoch, the update and the likely cause. */
export class TrainingDiverged extends UsageError {}

export interface DivergenceOptions {
  objective: Objective;
  outputSize: number;
  lr: number;
  clip: number | null;
}

/** The mean loss per term above which a classifier has diverged, or Infinity (regression has no scale). */
export function divergenceThreshold(objective: Objective, outputSize: number): number {
  if (objective === "regression") return Infinity;
  return DIVERGENCE_FACTOR * Math.log(objective === "binary" ? 2 : Math.max(2, outputSize));
}

/** A beforeStep check that throws TrainingDiverged; `epoch` gives the epoch under way. */
export function divergenceCheck(options: DivergenceOptions, epoch: () => number): (info: UpdateInfo) => void {
  const threshold = divergenceThreshold(options.objective, options.outputSize);
  return (info) => {
    const mean = info.lossTerms > 0 ? info.lossSum / info.lossTerms : 0;
    let what: string | null = null;
    if (!Number.isFinite(info.lossSum)) what = `the loss is ${info.lossSum}`;
    else if (!Number.isFinite(info.gradNorm)) what = `the gradient norm is ${info.gradNorm}`;
    else if (mean > threshold) {
      what = `the mean loss ${mean.toPrecision(3)} is over ${DIVERGENCE_FACTOR} times that of a uniform guess (${(threshold / DIVERGENCE_FACTOR).toFixed(3)})`;
    }
    if (what !== null) throw new TrainingDiverged(`training diverged in epoch ${epoch()}, update ${info.update}: ${what}; ${likelyCause(options)}`);
  };
}

/** The same judgement of a validation loss at the end of an epoch. */
export function checkValidationLoss(loss: number, options: DivergenceOptions, epoch: number): void {
  const threshold = divergenceThreshold(options.objective, options.outputSize);
  if (Number.isFinite(loss) && !(loss > threshold)) return;
  throw new TrainingDiverged(`training diverged in epoch ${epoch}: the validation loss is ${loss.toPrecision(3)}; ${likelyCause(options)}`);
}

function likelyCause({ lr, clip }: DivergenceOptions): string {
  const clipping = clip === null ? ", or clip the gradient (--clip 1)" : "";
  return `the learning rate (--lr ${lr}) is likely too high (try ${lr / 10})${clipping}, or the data holds extreme values`;
}
