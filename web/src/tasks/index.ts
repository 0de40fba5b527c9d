/** The task the settings name, built with its data (the char LM from the user's text). */
import type { PlaygroundSettings } from "../shared/settings.js";
import { charLmTask } from "./char-lm.js";
import { framewiseTask } from "./framewise.js";
import { oneAnywhereTask } from "./one-anywhere.js";
import { sentimentTask } from "./sentiment.js";
import type { Task } from "./task.js";

export type { ProbePoint, Task } from "./task.js";

export function createTask(settings: PlaygroundSettings, text: string): Task {
  switch (settings.task) {
    case "sentiment":
      return sentimentTask(settings);
    case "one-anywhere":
      return oneAnywhereTask(settings);
    case "framewise":
      return framewiseTask(settings);
    case "char-lm":
      return charLmTask(settings, text);
  }
}
