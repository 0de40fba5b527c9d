/**
 * The status tiles, the run line and the notice box. Tiles show the latest numbers; each also keeps
 * the raw value in data-value, and `window.bpttPlayground` keeps the curves, for whoever reads the
 * page programmatically (the Playwright test).
 */
import type { BackendInfo, HeldOutPoint, ModelSummary, Progress, RunState, TrainPoint } from "../shared/protocol.js";

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

function tile(id: string, text: string, value: number | string | null, detail?: string): void {
  const el = byId(id);
  el.textContent = text;
  if (detail) {
    const small = document.createElement("small");
    small.textContent = detail;
    el.append(small);
  }
  el.dataset["value"] = value === null ? "" : String(value);
}

const percent = (x: number): string => `${(100 * x).toFixed(1)}%`;
/** Three decimals, or two in scientific notation below 0.01 (a loss that has fallen to 1e-5 still shows). */
const loss = (x: number): string => (x >= 0.01 || x === 0 ? x.toFixed(3) : x.toExponential(2));

/** What the page has seen, for programmatic readers. */
export interface PlaygroundRecord {
  backend: BackendInfo | null;
  state: RunState;
  model: ModelSummary | null;
  train: TrainPoint[];
  heldOut: HeldOutPoint[];
  /** The answer to the latest sample request (null while it is pending). */
  lastSample: string | null;
  notice: string | null;
}

export const record: PlaygroundRecord = {
  backend: null,
  state: "idle",
  model: null,
  train: [],
  heldOut: [],
  lastSample: null,
  notice: null,
};
(globalThis as { bpttPlayground?: PlaygroundRecord }).bpttPlayground = record;

export function showBackend(info: BackendInfo): void {
  record.backend = info;
  const el = byId("backend");
  const threads = `${info.threads} thread${info.threads === 1 ? "" : "s"}`;
  if (info.name !== "wasm-simd") {
    el.dataset["state"] = "warning";
    el.textContent = `${info.name} kernels (slow): ${info.reason}`;
  } else if (!info.crossOriginIsolated) {
    el.dataset["state"] = "warning";
    el.textContent = `wasm-simd · 1 thread (the page is not cross-origin isolated: serve it with npm run playground)`;
  } else {
    el.dataset["state"] = "ready";
    el.textContent = `wasm-simd kernels · ${threads} · cross-origin isolated`;
  }
  el.title = info.reason;
}

export function showState(state: RunState): void {
  record.state = state;
  tile("stat-state", state, state);
}

export function resetTiles(): void {
  record.train = [];
  record.heldOut = [];
  for (const id of ["stat-epoch", "stat-train-loss", "stat-heldout-loss", "stat-heldout-accuracy", "stat-speed"])
    tile(id, "–", null);
  tile("stat-updates", "0", 0);
}

export function showProgress(p: Progress, languageModel: boolean): void {
  tile("stat-updates", p.updates.toLocaleString("en-US"), p.updates);
  tile("stat-epoch", `${Math.min(p.epoch, p.epochs)} / ${p.epochs}`, p.epoch);
  tile(
    "stat-speed",
    p.stepsPerSecond > 0 ? Math.round(p.stepsPerSecond).toLocaleString("en-US") : "–",
    p.stepsPerSecond,
  );
  record.train.push(...p.train);
  const last = p.train[p.train.length - 1];
  if (last) tile("stat-train-loss", loss(last.loss), last.loss);
  if (p.heldOut) {
    record.heldOut.push(p.heldOut);
    const h = p.heldOut;
    const bits =
      languageModel && h.bitsPerToken !== null ? `${h.bitsPerToken.toFixed(3)} bits per character` : undefined;
    tile("stat-heldout-loss", loss(h.loss), h.loss, bits);
    tile("stat-heldout-accuracy", h.accuracy === null ? "–" : percent(h.accuracy), h.accuracy);
  }
}

export function showModel(model: ModelSummary | null): void {
  record.model = model;
  const el = byId("model-summary");
  if (!model) {
    el.textContent = "No model yet.";
    return;
  }
  const layers = `${model.numLayers} layer${model.numLayers === 1 ? "" : "s"}`;
  el.innerHTML = "";
  const strong = document.createElement("strong");
  const parameters = `${model.parameters.toLocaleString("en-US")} parameters`;
  strong.textContent = `${model.cell.toUpperCase()} · hidden ${model.hiddenSize} · ${layers} · ${parameters}`;
  el.append(strong, document.createElement("br"), `${model.description}; ${model.schedule}. From: ${model.origin}.`);
}

export function setRunLine(text: string): void {
  byId("run-line").textContent = text;
}

/** Shows a message in the notice box (kind "error" unless said otherwise); null hides it. */
export function notice(text: string | null, kind: "error" | "info" = "error"): void {
  record.notice = text;
  const el = byId("notice");
  el.hidden = text === null;
  el.textContent = text ?? "";
  el.dataset["kind"] = kind;
}
