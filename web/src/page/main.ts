/**
 * The playground page: the settings form, the buttons, the schedule diagram, the live plots, the
 * samples and the model files. Everything that computes runs in the training worker
 * (worker/train-worker.ts); this thread only draws, so the page stays responsive while it trains.
 */
import { diagramHint } from "../shared/diagram-hint.js";
import {
  MAX_CONFIG_BYTES,
  MAX_TEXT_BYTES,
  MAX_WEIGHTS_BYTES,
  checkSize,
  checkTrainingText,
  decodeText,
  formatBytes,
  pickRunFiles,
} from "../shared/input-checks.js";
import type { FromWorker, ModelSummary, RunState, SampleRequest } from "../shared/protocol.js";
import { type TaskName, defaultSettings, settingsProblems } from "../shared/settings.js";
import { Charts } from "./charts.js";
import { download, dropzone } from "./dropzone.js";
import { drawSchedule } from "./schedule-diagram.js";
import { PRESETS, readSettings, resetToTaskDefaults, syncForm, writeSettings } from "./settings-form.js";
import { notice, record, resetTiles, setRunLine, showBackend, showModel, showProgress, showState } from "./status.js";
import { WorkerClient } from "./worker-client.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const LIVE_SAMPLE_MS = 2500;

let state: RunState = "idle";
let ready = false;
let model: ModelSummary | null = null;
/** A text file's contents when it is too large to show in the box (else the box holds the text). */
let corpusFile: { name: string; text: string } | null = null;
let sampleId = 0;
let pendingDownload: "model" | "data" | null = null;
let lastLiveSample = 0;

const charts = await Charts.create({
  loss: $("plot-loss"),
  accuracy: $("plot-accuracy"),
  flow: $("plot-flow"),
  norm: $("plot-norm"),
  probe: $("plot-probe"),
});
const worker = new WorkerClient(onMessage, (message) => notice(`The training worker stopped: ${message}`));

function onMessage(m: FromWorker): void {
  switch (m.type) {
    case "ready":
      ready = true;
      showBackend(m.backend);
      updateButtons();
      return;
    case "started":
      setModel(m.model);
      setRunLine(
        `${m.model.description}. ${m.model.schedule}; ${m.model.parameters.toLocaleString("en-US")} parameters.`,
      );
      return;
    case "progress":
      $("charts").dataset["empty"] = "false";
      showProgress(m.progress, model?.task === "lm");
      charts.addTraining(m.progress.train);
      if (m.progress.heldOut) charts.addHeldOut(m.progress.heldOut);
      if (m.progress.flow) charts.setFlow(m.progress.flow);
      if (m.progress.probe) charts.setProbe(m.progress.probe);
      maybeLiveSample();
      return;
    case "state":
      state = m.state;
      showState(state);
      updateButtons();
      if (state === "finished") {
        notice(
          "Training finished: every epoch is done. Sample, download the model, or change a setting and start again.",
          "info",
        );
      }
      return;
    case "sampled":
      if (m.id === sampleId) {
        record.lastSample = m.text;
        $("sample-output").textContent = m.text;
      }
      return;
    case "exported":
      if (pendingDownload === "model") {
        download("model.safetensors", m.weights, "application/octet-stream");
        download("config.json", m.configText, "application/json");
      } else if (pendingDownload === "data" && m.heldOut) {
        download(m.heldOut.name, m.heldOut.text, "text/plain");
      }
      pendingDownload = null;
      return;
    case "imported":
      setModel(m.model);
      clearCurves();
      notice(`Loaded ${m.model.origin}: ${m.model.description}.`, "info");
      setRunLine(`A run loaded from its files: ${m.model.description}; ${m.model.schedule}.`);
      if (m.model.task === "lm") requestSample(1);
      return;
    case "evaluated":
      $("eval-output").textContent = m.lines.join("\n");
      return;
    case "error":
      notice(m.context === "training" ? `Training stopped: ${m.message}` : m.message);
      if (m.context === "sample") $("sample-output").textContent = "";
      pendingDownload = null;
      return;
  }
}

function clearCurves(): void {
  resetTiles();
  charts.clear();
  charts.setClip(null);
  $("charts").dataset["empty"] = "true";
  $("sample-output").textContent = "";
  $("eval-output").textContent = "";
}

function setModel(summary: ModelSummary | null): void {
  model = summary;
  showModel(summary);
  updateButtons();
}

function updateButtons(): void {
  const disable = (id: string, off: boolean): void => {
    ($(id) as HTMLButtonElement).disabled = off;
  };
  disable("start", !ready || state === "running");
  disable("pause", state !== "running");
  disable("resume", state !== "paused");
  disable("reset", state === "idle" && model === null);
  const lm = model?.task === "lm";
  disable("sample", !lm);
  disable("greedy", !lm);
  disable("download-model", model === null);
  disable("download-data", model === null || model.origin !== "trained here");
  disable("evaluate", model === null);
  $("samples-card").hidden = !(lm || ($("task") as HTMLSelectElement).value === "char-lm");
  $("probe-card").hidden = ($("task") as HTMLSelectElement).value !== "sentiment";
}

/** Redraws the schedule diagram and the probe's k2 line from the form (no-op while it is invalid). */
function refreshSchedule(): void {
  const s = readSettings();
  const problems = settingsProblems(s);
  if (problems.length > 0) {
    $("diagram-text").textContent = `Fix the settings to see the schedule: ${problems[0]}.`;
    return;
  }
  const box = $("diagram-box");
  $("diagram-text").textContent = drawSchedule(
    $("diagram") as unknown as SVGSVGElement,
    { k1: s.k1, k2: s.k2, loss: s.loss, hint: diagramHint(s) },
    box.clientWidth || 800,
  );
  charts.setReach(s.loss === "end" ? s.k2 : Infinity);
}

function corpusText(): { text: string; source: string } {
  if (corpusFile) return { text: corpusFile.text, source: `“${corpusFile.name}”` };
  return { text: ($("corpus") as HTMLTextAreaElement).value, source: "the pasted text" };
}

function start(): void {
  const settings = readSettings();
  const problems = settingsProblems(settings);
  if (problems.length > 0) {
    notice(`Cannot start: ${problems.join("; ")}.`);
    return;
  }
  let text = "";
  if (settings.task === "char-lm") {
    const corpus = corpusText();
    try {
      text = checkTrainingText(corpus.text, corpus.source);
    } catch (error) {
      notice((error as Error).message);
      return;
    }
  }
  notice(null);
  clearCurves();
  charts.setClip(settings.clipNorm);
  refreshSchedule();
  worker.send({ type: "start", settings, text });
}

function sampleRequest(topK: number | null): SampleRequest {
  const number = (id: string): number => Number(($(id) as HTMLInputElement).value);
  return {
    id: ++sampleId,
    prime: ($("prime") as HTMLInputElement).value,
    length: number("sample-length"),
    temperature: number("temperature"),
    topK: topK ?? number("top-k"),
    seed: number("sample-seed"),
  };
}

function requestSample(topK: number | null): void {
  const request = sampleRequest(topK);
  if (!(Number.isInteger(request.length) && request.length >= 1 && request.length <= 5000)) {
    notice("Sample length must be a whole number from 1 to 5000.");
    return;
  }
  if (!(request.temperature > 0) || !(Number.isInteger(request.topK) && request.topK >= 0)) {
    notice("Temperature must be > 0 and top-k a whole number ≥ 0 (0: all).");
    return;
  }
  record.lastSample = null; // the answer to this request, when it comes (older answers are dropped)
  worker.send({ type: "sample", request });
}

function maybeLiveSample(): void {
  const now = performance.now();
  if (model?.task !== "lm" || state !== "running" || !($("live-samples") as HTMLInputElement).checked) return;
  if (now - lastLiveSample < LIVE_SAMPLE_MS) return;
  lastLiveSample = now;
  requestSample(null);
}

async function readCorpusFile(files: File[]): Promise<void> {
  const file = files[0]!;
  try {
    if (files.length > 1) throw new RangeError(`${files.length} files dropped: drop one text file`);
    checkSize(file.name, file.size, MAX_TEXT_BYTES, "texts");
    if (file.size === 0) throw new RangeError(`“${file.name}” is empty: give a text to train on`);
    const text = checkTrainingText(
      decodeText({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) }),
      `“${file.name}”`,
    );
    const box = $("corpus") as HTMLTextAreaElement;
    if (text.length <= 200_000) {
      corpusFile = null;
      box.value = text;
    } else {
      corpusFile = { name: file.name, text };
      box.value = "";
      const characters = text.length.toLocaleString("en-US");
      box.placeholder = `${file.name}: ${characters} characters loaded (typing here replaces it)`;
    }
    $("corpus-info").textContent = `${file.name}: ${formatBytes(file.size)}`;
    notice(null);
  } catch (error) {
    notice((error as Error).message);
  }
}

async function readRunFiles(files: File[]): Promise<void> {
  try {
    const { config, weights } = pickRunFiles(files);
    checkSize(config.name, config.size, MAX_CONFIG_BYTES, "config files");
    checkSize(weights.name, weights.size, MAX_WEIGHTS_BYTES, "weight files");
    if (weights.size === 0) throw new RangeError(`“${weights.name}” is empty`);
    const configText = decodeText({ name: config.name, bytes: new Uint8Array(await config.arrayBuffer()) });
    const bytes = new Uint8Array(await weights.arrayBuffer());
    notice(null);
    worker.send({ type: "import", configText, configName: config.name, weights: bytes, weightsName: weights.name }, [
      bytes.buffer,
    ]);
  } catch (error) {
    notice((error as Error).message);
  }
}

function fillPresets(): void {
  const select = $("preset") as HTMLSelectElement;
  const task = ($("task") as HTMLSelectElement).value as TaskName;
  select.replaceChildren(
    new Option("— the experiments' settings —", ""),
    ...PRESETS[task].map((p, i) => new Option(p.label, String(i))),
  );
}

function applyPreset(): void {
  const select = $("preset") as HTMLSelectElement;
  const preset = PRESETS[readSettings().task][Number(select.value)];
  if (select.value === "" || !preset) return;
  const current = readSettings();
  writeSettings({ ...current, ...preset.apply });
  refreshSchedule();
}

// Wiring.
writeSettings(defaultSettings(($("task") as HTMLSelectElement).value as TaskName));
fillPresets();
$("task").addEventListener("change", () => {
  resetToTaskDefaults();
  fillPresets();
  updateButtons();
  refreshSchedule();
});
$("preset").addEventListener("change", applyPreset);
for (const el of document.querySelectorAll(".controls input, .controls select")) {
  el.addEventListener("change", () => {
    syncForm();
    refreshSchedule();
  });
}
$("corpus").addEventListener("input", () => {
  corpusFile = null;
  $("corpus-info").textContent =
    `${($("corpus") as HTMLTextAreaElement).value.length.toLocaleString("en-US")} characters pasted`;
});
$("start").addEventListener("click", start);
$("pause").addEventListener("click", () => worker.send({ type: "pause" }));
$("resume").addEventListener("click", () => worker.send({ type: "resume" }));
$("reset").addEventListener("click", () => {
  worker.send({ type: "reset" });
  setModel(null);
  clearCurves();
  notice(null);
  setRunLine("Choose a task and press Start.");
});
$("sample").addEventListener("click", () => requestSample(null));
$("greedy").addEventListener("click", () => requestSample(1));
$("download-model").addEventListener("click", () => {
  pendingDownload = "model";
  worker.send({ type: "export" });
});
$("download-data").addEventListener("click", () => {
  pendingDownload = "data";
  worker.send({ type: "export" });
});
$("evaluate").addEventListener("click", () => {
  const own = ($("eval-text") as HTMLTextAreaElement).value;
  const text = own.trim() !== "" ? own : corpusText().text;
  if (text.trim() === "") {
    notice("Nothing to evaluate on: type a text in the box (or paste one in the task's text box).");
    return;
  }
  worker.send({ type: "evaluate-text", text });
});
// A file dropped outside the drop zones must not make the browser open it (and lose the run).
for (const type of ["dragover", "drop"]) window.addEventListener(type, (event) => event.preventDefault());
dropzone($("corpus-drop"), $("corpus-file") as HTMLInputElement, (files) => void readCorpusFile(files));
dropzone($("run-drop"), $("run-files") as HTMLInputElement, (files) => void readRunFiles(files));
new ResizeObserver(() => {
  refreshSchedule();
  charts.resize();
}).observe($("diagram-box"));
showState("idle");
updateButtons();
refreshSchedule();
