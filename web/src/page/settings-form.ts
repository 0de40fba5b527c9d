/**
 * The settings form: PlaygroundSettings to and from the page's inputs (ids in index.html), which task
 * fieldset shows, and which loss placements a task allows.
 */
import {
  type LossChoice,
  type PlaygroundSettings,
  type TaskName,
  classifiesSequences,
  defaultSettings,
  formatLength,
} from "../shared/settings.js";

function input(id: string): HTMLInputElement | HTMLSelectElement {
  const el = document.getElementById(id);
  if (!(el instanceof HTMLInputElement || el instanceof HTMLSelectElement)) {
    throw new Error(`the page has no input #${id}`);
  }
  return el;
}

const number = (id: string): number => (input(id).value.trim() === "" ? NaN : Number(input(id).value));

/** "∞", "inf", "infinity" (any case) or an integer. */
function length(id: string): number {
  const text = input(id).value.trim().toLowerCase();
  return text === "∞" || text === "inf" || text === "infinity" ? Infinity : text === "" ? NaN : Number(text);
}

function set(id: string, value: string | number): void {
  input(id).value = String(value);
}

export function readSettings(): PlaygroundSettings {
  const clip = input("clip").value.trim().toLowerCase();
  const loss = (document.querySelector<HTMLInputElement>('input[name="loss"]:checked')?.value ??
    "every-step") as LossChoice;
  return {
    task: input("task").value as TaskName,
    sentiment: {
      minLength: number("min-length"),
      maxLength: number("max-length"),
      openingDistance: input("opening-at").value === "start" ? null : number("opening-distance"),
    },
    oneAnywhere: { length: number("oa-length"), first: number("oa-first"), end: number("oa-end") },
    framewise: {
      frames: number("fw-frames"),
      classes: number("fw-classes"),
      features: number("fw-features"),
      noise: number("fw-noise"),
      delay: number("fw-delay"),
    },
    charLm: { strips: number("strips") },
    cell: input("cell").value as PlaygroundSettings["cell"],
    hiddenSize: number("hidden"),
    numLayers: number("layers"),
    embeddingDim: number("embedding"),
    k1: length("k1"),
    k2: length("k2"),
    loss,
    optimizer: input("optimizer").value as PlaygroundSettings["optimizer"],
    learningRate: number("lr"),
    clipNorm: clip === "" || clip === "off" || clip === "none" ? null : Number(clip),
    batchSize: number("batch"),
    epochs: number("epochs"),
    epochSize: number("epoch-size"),
    seed: number("seed"),
  };
}

export function writeSettings(s: PlaygroundSettings): void {
  set("task", s.task);
  set("min-length", s.sentiment.minLength);
  set("max-length", s.sentiment.maxLength);
  set("opening-at", s.sentiment.openingDistance === null ? "start" : "distance");
  set("opening-distance", s.sentiment.openingDistance ?? Math.min(20, s.sentiment.minLength));
  set("oa-length", s.oneAnywhere.length);
  set("oa-first", s.oneAnywhere.first);
  set("oa-end", s.oneAnywhere.end);
  set("fw-frames", s.framewise.frames);
  set("fw-classes", s.framewise.classes);
  set("fw-features", s.framewise.features);
  set("fw-noise", s.framewise.noise);
  set("fw-delay", s.framewise.delay);
  set("strips", s.charLm.strips);
  set("cell", s.cell);
  set("hidden", s.hiddenSize);
  set("layers", s.numLayers);
  set("embedding", s.embeddingDim);
  set("k1", formatLength(s.k1));
  set("k2", formatLength(s.k2));
  const radio = document.querySelector<HTMLInputElement>(`input[name="loss"][value="${s.loss}"]`);
  if (radio) radio.checked = true;
  set("optimizer", s.optimizer);
  set("lr", s.learningRate);
  set("clip", s.clipNorm === null ? "off" : s.clipNorm);
  set("batch", s.batchSize);
  set("epochs", s.epochs);
  set("epoch-size", s.epochSize);
  set("seed", s.seed);
  syncForm();
}

/** Shows the current task's fieldset and enables only the loss placements it allows. */
export function syncForm(): void {
  const task = input("task").value as TaskName;
  for (const el of document.querySelectorAll<HTMLElement>("[data-task]"))
    el.hidden = !el.dataset["task"]!.split(" ").includes(task);
  const perSequence = classifiesSequences(task);
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="loss"]')) {
    radio.disabled = !perSequence && radio.value !== "every-step";
    if (radio.disabled && radio.checked) {
      document.querySelector<HTMLInputElement>('input[name="loss"][value="every-step"]')!.checked = true;
    }
  }
  input("opening-distance").disabled = input("opening-at").value === "start";
}

/** The task's defaults, keeping the char LM's text. */
export function resetToTaskDefaults(): void {
  writeSettings(defaultSettings(input("task").value as TaskName));
}

export interface Preset {
  label: string;
  apply: Partial<PlaygroundSettings>;
}

/** The experiments' arms (docs/experiments.md), one click each. */
export const PRESETS: Record<TaskName, Preset[]> = {
  sentiment: [
    { label: "Loss every 30 words, TBPTT(30, 30)", apply: { k1: 30, k2: 30, loss: "every-chunk" } },
    { label: "Loss at the end, k2 = 30", apply: { k1: Infinity, k2: 30, loss: "end" } },
    { label: "Loss at the end, full BPTT", apply: { k1: Infinity, k2: Infinity, loss: "end" } },
  ],
  "one-anywhere": [
    {
      label: "1s early, k2 = 10",
      apply: { k1: Infinity, k2: 10, loss: "end", oneAnywhere: { length: 20, first: 0, end: 10 } },
    },
    {
      label: "1s anywhere, k2 = 10",
      apply: { k1: Infinity, k2: 10, loss: "end", oneAnywhere: { length: 20, first: 0, end: 20 } },
    },
    {
      label: "1s early, full BPTT",
      apply: { k1: Infinity, k2: Infinity, loss: "end", oneAnywhere: { length: 20, first: 0, end: 10 } },
    },
  ],
  "char-lm": [
    { label: "char-rnn: TBPTT(25, 25)", apply: { k1: 25, k2: 25 } },
    { label: "Overlapping windows: TBPTT(10, 40)", apply: { k1: 10, k2: 40 } },
    { label: "Short memory: TBPTT(25, 5)", apply: { k1: 25, k2: 5 } },
  ],
  framewise: [
    { label: "k2 = 10 ≥ delay", apply: { k1: 10, k2: 10 } },
    { label: "k2 = 2 < delay", apply: { k1: 10, k2: 2 } },
    { label: "Full BPTT", apply: { k1: Infinity, k2: Infinity } },
  ],
};
