/**
 * The training worker: the page's only compute. It starts the wasm-simd kernels and their threads,
 * then answers the page's messages (shared/protocol.ts). While a run is going it trains in slices of
 * SLICE_MS and yields between them, so pause, sampling and downloads are answered within a slice;
 * about every PROGRESS_MS it posts the new points of the curves.
 */
import { stringifyRunConfig } from "bptt";
import type { FromWorker, Progress, RunState, ToWorker } from "../shared/protocol.js";
import { settingsProblems } from "../shared/settings.js";
import { type PageModel, evaluateOnText, generateText } from "./inference.js";
import { startKernels } from "./kernel-threads.js";
import { type LoadedModel, loadRunFiles, serializeModel } from "./run-files.js";
import { TrainingSession } from "./session.js";

const SLICE_MS = 40;
const PROGRESS_MS = 200;
/** Held-out evaluation at most this often (it is also kept under a quarter of the time). */
const EVALUATION_MS = 300;

const scope = globalThis as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
};

let session: TrainingSession | null = null;
let loaded: LoadedModel | null = null;
let state: RunState = "idle";
let looping = false;

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function setState(next: RunState): void {
  state = next;
  post({ type: "state", state });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A zero-delay yield (setTimeout would be clamped to 4 ms when nested). */
const channel = new MessageChannel();
function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => {
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

function postProgress(s: TrainingSession, evaluation: "none" | "due" | "now"): void {
  const force = evaluation === "now";
  const progress: Progress = {
    state,
    updates: s.updates,
    epoch: s.epoch,
    epochs: s.settings.epochs,
    stepsPerSecond: s.stepsPerSecond,
    train: s.takeTrainPoints(),
    heldOut: evaluation === "none" ? null : s.heldOut(force),
    probe: evaluation === "none" ? null : s.probe(force),
    flow: s.flow(),
  };
  post({ type: "progress", progress });
}

async function trainLoop(): Promise<void> {
  if (looping) return;
  looping = true;
  let lastProgress = performance.now();
  let lastEvaluation = lastProgress;
  try {
    while (state === "running" && session) {
      const s = session;
      const more = s.advance(SLICE_MS);
      const now = performance.now();
      if (!more) {
        state = "finished";
        postProgress(s, "now");
        setState("finished");
        break;
      }
      if (now - lastProgress >= PROGRESS_MS) {
        const evaluate = now - lastEvaluation >= EVALUATION_MS;
        postProgress(s, evaluate ? "due" : "none");
        lastProgress = performance.now();
        if (evaluate) lastEvaluation = lastProgress;
      }
      await yieldToMessages();
    }
  } catch (error) {
    post({ type: "error", context: "training", message: message(error) });
    setState("paused");
  } finally {
    looping = false;
  }
}

function currentModel(): PageModel {
  if (session) return session.run;
  if (loaded) return loaded.run;
  throw new RangeError("there is no model yet: start training, or drop a run's config.json and model.safetensors");
}

function handle(request: ToWorker): void {
  switch (request.type) {
    case "start": {
      const problems = settingsProblems(request.settings);
      if (problems.length > 0) throw new RangeError(problems.join("; "));
      session = null;
      loaded = null;
      setState("idle");
      session = new TrainingSession(request.settings, request.text);
      post({ type: "started", model: session.summary() });
      state = "running";
      postProgress(session, "now"); // the curves start from the untrained model
      setState("running");
      void trainLoop();
      return;
    }
    case "pause":
      if (state !== "running") return;
      state = "paused";
      if (session) postProgress(session, "now"); // the numbers at the pause, before the state says so
      setState("paused");
      return;
    case "resume":
      if (state !== "paused" || !session) return;
      setState("running");
      void trainLoop();
      return;
    case "reset":
      session = null;
      loaded = null;
      setState("idle");
      return;
    case "sample": {
      post({ type: "sampled", id: request.request.id, text: generateText(currentModel(), request.request) });
      return;
    }
    case "export": {
      const config = session ? session.runConfig() : loaded?.config;
      const weights = serializeModel(currentModel().model);
      const heldOut = session ? session.task.heldOutFile() : null;
      post({ type: "exported", configText: stringifyRunConfig(config!), weights, heldOut }, [weights.buffer]);
      return;
    }
    case "import": {
      const next = loadRunFiles(request.configText, request.configName, request.weights, request.weightsName);
      session = null;
      loaded = next;
      post({ type: "imported", model: next.summary });
      setState("loaded");
      return;
    }
    case "evaluate-text": {
      post({ type: "evaluated", lines: evaluateOnText(currentModel(), request.text) });
      return;
    }
  }
}

const CONTEXT: Record<ToWorker["type"], Extract<FromWorker, { type: "error" }>["context"]> = {
  start: "start",
  pause: "training",
  resume: "training",
  reset: "training",
  sample: "sample",
  export: "export",
  import: "import",
  "evaluate-text": "evaluate",
};

const ready = startKernels().then(
  (backend) => post({ type: "ready", backend }),
  (error) => post({ type: "error", context: "start", message: `the kernels did not start: ${message(error)}` }),
);
scope.onmessage = (event) => {
  void ready.then(() => {
    try {
      handle(event.data);
    } catch (error) {
      post({ type: "error", context: CONTEXT[event.data.type], message: message(error) });
    }
  });
};
