/**
 * Training speed of bptt against its peers, on the same model, data and update:
 *
 *   npm run bench                       every configuration, bptt vs PyTorch 2 and Debian's PyTorch 1.13
 *                                       (1 and 2 threads each) vs tfjs-wasm
 *   npm run bench -- --quick            a < 3 minute subset (one round, small configurations)
 *   node dist/bench/run.js --configs tiny,small --peers bptt,torch --torch-threads 1 --rounds 5 --json
 *
 * For every configuration (bench/configs.ts) each system runs in its own child process (a clean heap,
 * nothing shared), one process per system per round, the systems alternating within a round and the
 * order rotated from round to round. A process trains warm-up iterations, then times whole update
 * steps (forward, loss, backward, clipping, Adam), stopping at --iterations or when --budget seconds
 * of timed iterations are spent (at least one); a system whose processes for a configuration have
 * taken --config-budget seconds gets no further rounds of it (the reference backend's large
 * configuration takes minutes per step). The table reports, per system, the median over processes
 * of each process's median tokens/s, with the number of processes × timed iterations behind it.
 *
 * Systems (--peers): bptt (bench/bptt-worker.ts; --backend picks the kernels, --bptt-threads sets
 * BPTT_THREADS); torch, PyTorch 2 (MKL + oneDNN) from the virtual environment .peers (`npm run peers`
 * creates it; --python for another interpreter), and torch-debian, Debian's PyTorch 1.13 (OpenBLAS;
 * --python-debian, default /usr/bin/python3), both bench/peers/pytorch_lm.py on each of --torch-threads
 * (columns torch/1t, torch/2t, torch-debian/1t, …); tfjs (bench/peers/tfjs-lm.ts, the wasm backend;
 * --tfjs-variant). Ratios are bptt ÷ PyTorch 2 at the same thread count (the peer that matters), and
 * bptt ÷ Debian's PyTorch and ÷ tfjs.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { formatProfiles } from "./profile-report.js";
import { type BenchConfig, CONFIGS, RESULT_PREFIX, type WorkerResult, type WorkerSpec, findConfig, median } from "./configs.js";

export const PYTORCH_SKIPPED =
  "PyTorch skipped: install Debian's python3-torch and libopenblas0-openmp (apt-get install python3-torch libopenblas0-openmp)";
export const PYTORCH2_SKIPPED =
  "PyTorch 2 skipped: no virtual environment .peers; create it with `npm run peers` " +
  "(python3 -m venv .peers && .peers/bin/pip install torch numpy)";
/** The systems --peers accepts. */
export const PEERS = ["bptt", "torch", "torch-padded", "torch-debian", "tfjs"] as const;

const USAGE = `usage: node dist/bench/run.js [options]
  --configs a,b,…      configurations (default: all): ${CONFIGS.map((c) => c.name).join(", ")}
  --peers a,b,…        systems (default: ${PEERS.join(",")}): torch is PyTorch 2 from .peers
                       (pack_padded_sequence on the ragged configurations), torch-padded the same on the padded
                       batches (ragged full BPTT and evaluation only), torch-debian Debian's PyTorch 1.13
  --rounds n           processes per system and configuration, alternating (default 3)
  --iterations n       timed iterations per process, at most (default 5)
  --warmup n           warm-up iterations per process, at most, within half the budget (default 100; at least 1 always runs)
  --budget s           seconds of timed iterations per process before stopping early (default 4)
  --config-budget s    seconds per system and configuration after which no further rounds start (default 60)
  --backend a,b        bptt kernel backends (BPTT_BACKEND: auto, native, wasm, reference), each its own system (default: auto)
  --bptt-threads a,b   thread counts for bptt (BPTT_THREADS), each its own system (default: 1)
  --tfjs-variant v     manual | autograd-split | autograd-concat (default: manual)
  --torch-threads a,b  thread counts for both PyTorch systems, each its own column (default: 1,2)
  --python path        Python with PyTorch 2 (default: .peers/bin/python, which \`npm run peers\` creates)
  --python-debian path Python with Debian's PyTorch 1.13 (default: /usr/bin/python3)
  --timeout s          kill a child after this long (default 900)
  --profile            bptt: after the timed iterations, as many again with every kernel timed: where an
                       update's time goes, and how near it runs to the GEMM-bound limit (bench/profile.ts)
  --quick              tiny,small,cls,small-gru,small-rnn,sample; 1 round, 3 iterations, budget 2 s
  --json               print the results as JSON instead of the tables
  --markdown           print the results as a Markdown section (for docs/benchmarks.md)
  --out file           also write the JSON report to this file
  --from file          measure nothing: render a JSON report written by --out (with --markdown or --json)
  --quiet              no progress lines on stderr
  --list               list the configurations and exit`;

export interface SystemSpec {
  /** Column name. */
  id: string;
  kind: "bptt" | "torch" | "tfjs";
  threads: number;
  backend?: string;
  /** torch: "torch" (PyTorch 2, the peer ratios are against) or "torch-debian" (Debian's 1.13). */
  flavour?: "torch" | "torch-debian";
  /** torch on the ragged configurations: pack_padded_sequence (default), or the padded batch as it is. */
  layout?: "packed" | "padded";
}

export interface Measurement extends WorkerResult {
  /** System id (column) and round. */
  id: string;
  round: number;
  /** 1-minute load average just before the process started. */
  loadBefore: number;
  /** Wall time of the whole process, seconds. */
  processSeconds: number;
}

export interface Failure {
  id: string;
  config: string;
  round: number;
  error: string;
}

export interface SystemSummary {
  /** Median over processes of each process's median tokens/s. */
  tokensPerSec: number;
  processes: number;
  /** Timed iterations per process (median). */
  iterations: number;
  budgetLimited: boolean;
  cpuPerWall: number | null;
}

export interface ConfigSummary {
  config: string;
  shape: string;
  systems: Record<string, SystemSummary>;
  /**
   * Per bptt system: ÷ PyTorch 2 and ÷ Debian's PyTorch at the bptt system's thread count (the best
   * thread count when that one was not run), ÷ tfjs.
   */
  ratios: Record<string, { vsTorch: number | null; vsDebian: number | null; vsTfjs: number | null }>;
  /** 2-thread ÷ 1-thread tokens/s, per system family that was run with both. */
  threadSpeedup: Record<string, number>;
}

export interface BenchReport {
  command: string;
  /** The columns, in order. */
  systems: SystemSpec[];
  started: string;
  seconds: number;
  options: Record<string, unknown>;
  environment: Record<string, unknown>;
  summaries: ConfigSummary[];
  measurements: Measurement[];
  failures: Failure[];
  notes: string[];
}

function list(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

function positive(value: string, flag: string, integer: boolean): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new RangeError(`${flag} must be a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    if (line) return line.split(":")[1]!.trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? "unknown";
}

function shapeOf(c: BenchConfig): string {
  if (c.task === "sample") return `${c.cell} H=${c.H} V=${c.V}, ${c.T} tokens, B=1`;
  if (c.task === "ragged" || c.task === "ragged-eval") {
    const what = c.task === "ragged-eval" ? "evaluation" : c.k2 !== undefined ? `TBPTT(∞, ${c.k2})` : "full BPTT";
    return `${c.cell} B=${c.B} E=${c.E} H=${c.H} V=${c.V} →${c.classes}, ${c.lengths!.length} texts of ${c.tokensPerIteration} tokens, ${what}`;
  }
  return `${c.cell} B=${c.B} T=${c.T} H=${c.H} L=${c.L} V=${c.V}${c.task === "cls" ? ` →${c.classes} (last step)` : ""}`;
}

interface ChildOutcome {
  result: WorkerResult | null;
  error: string | null;
  status: number | null;
  seconds: number;
}

function runChild(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutSeconds: number): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutSeconds * 1000);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ result: null, error: `${command}: ${error.message}`, status: null, seconds: (performance.now() - started) / 1000 });
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      const line = stdout.split("\n").reverse().find((l) => l.startsWith(RESULT_PREFIX));
      if (status === 0 && line) {
        try {
          resolve({ result: JSON.parse(line.slice(RESULT_PREFIX.length)) as WorkerResult, error: null, status, seconds });
          return;
        } catch (error) {
          resolve({ result: null, error: `unparsable result: ${(error as Error).message}`, status, seconds });
          return;
        }
      }
      const lastLines = stderr.trim().split("\n").filter((l) => l.trim() !== "").slice(-3).join(" | ");
      const error = timedOut ? `killed after ${timeoutSeconds} s (--timeout)` : `exit ${status}: ${lastLines || "no result line"}`;
      resolve({ result: null, error, status, seconds });
    });
  });
}

/**
 * Why a child's result cannot be compared, or null: it must have fed the configuration's tokens per
 * iteration (the same work in every system) and, when training, have finite losses.
 */
export function checkResult(c: BenchConfig, r: WorkerResult): string | null {
  if (r.tokensFed !== c.tokensPerIteration) {
    return `fed ${String(r.tokensFed)} tokens per iteration, the configuration has ${c.tokensPerIteration}`;
  }
  if (c.task !== "sample") {
    for (const [name, v] of [["first", r.firstLoss], ["last", r.lastLoss]] as const) {
      if (typeof v !== "number" || !Number.isFinite(v)) return `${name} loss is ${String(v)}: expected a finite number`;
    }
  }
  if (!(r.tokensPerSec > 0) || !Number.isFinite(r.tokensPerSec)) return `tokens/s is ${r.tokensPerSec}`;
  return null;
}

export function summarize(configs: BenchConfig[], systems: SystemSpec[], measurements: Measurement[]): ConfigSummary[] {
  return configs.map((c) => {
    const out: ConfigSummary = { config: c.name, shape: shapeOf(c), systems: {}, ratios: {}, threadSpeedup: {} };
    for (const s of systems) {
      const ms = measurements.filter((m) => m.config === c.name && m.id === s.id);
      if (ms.length === 0) continue;
      const cpu = ms.map((m) => m.cpuPerWall).filter((v): v is number => typeof v === "number");
      out.systems[s.id] = {
        tokensPerSec: median(ms.map((m) => m.tokensPerSec)),
        processes: ms.length,
        iterations: median(ms.map((m) => m.iterations)),
        budgetLimited: ms.some((m) => m.budgetLimited),
        cpuPerWall: cpu.length ? median(cpu) : null,
      };
    }
    /**
     * A PyTorch flavour's rate at `threads` (the faster of its packed and padded runs), or its best rate
     * when it was not run on that many.
     */
    const torchRate = (flavour: SystemSpec["flavour"], threads: number): number | null => {
      const runs = systems.filter((s) => s.kind === "torch" && (s.flavour ?? "torch") === flavour && out.systems[s.id]);
      const same = runs.filter((s) => s.threads === threads);
      const chosen = same.length ? same : runs;
      return chosen.length ? Math.max(...chosen.map((s) => out.systems[s.id]!.tokensPerSec)) : null;
    };
    const tfjs = systems.find((s) => s.kind === "tfjs" && out.systems[s.id]);
    const tfjsRate = tfjs ? out.systems[tfjs.id]!.tokensPerSec : null;
    for (const s of systems.filter((x) => x.kind === "bptt" && out.systems[x.id])) {
      const rate = out.systems[s.id]!.tokensPerSec;
      const torch = torchRate("torch", s.threads);
      const debian = torchRate("torch-debian", s.threads);
      out.ratios[s.id] = { vsTorch: torch ? rate / torch : null, vsDebian: debian ? rate / debian : null, vsTfjs: tfjsRate ? rate / tfjsRate : null };
    }
    // 2-thread ÷ 1-thread for each family (each PyTorch; bptt per backend).
    const families = new Map<string, Map<number, string>>();
    for (const s of systems) {
      if (!out.systems[s.id]) continue;
      const family = s.kind === "bptt" ? `bptt${s.backend ? `/${s.backend}` : ""}` : s.kind === "torch" ? s.flavour ?? "torch" : s.kind;
      if (!families.has(family)) families.set(family, new Map());
      families.get(family)!.set(s.threads, s.id);
    }
    for (const [family, byThreads] of families) {
      const one = byThreads.get(1);
      const two = byThreads.get(2);
      if (one && two) out.threadSpeedup[family] = out.systems[two]!.tokensPerSec / out.systems[one]!.tokensPerSec;
    }
    return out;
  });
}

function fmtRate(v: number): string {
  if (!Number.isFinite(v)) return "–";
  if (v >= 100) return Math.round(v).toLocaleString("en-US");
  return v.toPrecision(3);
}

function fmtRatio(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return v >= 10 ? `${v.toFixed(1)}×` : v >= 0.1 ? `${v.toFixed(2)}×` : `${v.toPrecision(2)}×`;
}

function fmtBytes(v: number | null): string {
  if (v === null) return "–";
  if (Math.abs(v) < 1024) return `${Math.round(v)} B`;
  if (Math.abs(v) < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * The ragged configurations: time per epoch, real tokens per second and peak resident set size per
 * system, and for bptt its growth over the resident set before the model existed against the bytes the
 * run must hold (parameters, gradients, Adam, the activations of the real tokens it keeps).
 */
export function formatRagged(report: BenchReport): string {
  const rows: string[] = [];
  for (const x of report.summaries) {
    const c = CONFIGS.find((k) => k.name === x.config);
    if (!c || !c.task.startsWith("ragged")) continue;
    for (const s of report.systems) {
      const ms = report.measurements.filter((m) => m.config === x.config && m.id === s.id);
      if (ms.length === 0) continue;
      const peak = ms.map((m) => m.peakRssBytes).filter((v): v is number => typeof v === "number");
      const base = ms.map((m) => m.baselineRssBytes).filter((v): v is number => typeof v === "number");
      const required = ms.find((m) => typeof m.requiredBytes === "number")?.requiredBytes ?? null;
      const growth = peak.length && base.length ? median(peak) - median(base) : null;
      rows.push(
        `| ${x.config} | ${s.id} | ${(median(ms.map((m) => m.medianStepMs)) / 1000).toFixed(2)} | ${fmtRate(median(ms.map((m) => m.tokensPerSec)))} | ` +
          `${peak.length ? fmtBytes(median(peak)) : "–"} | ${fmtBytes(growth)} | ${fmtBytes(required)} | ${growth !== null && required ? fmtRatio(growth / required) : "–"} |`,
      );
    }
  }
  if (rows.length === 0) return "";
  return [
    "| config | system | s / epoch | real tokens/s | peak RSS | RSS growth | required | growth ÷ required |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "Real tokens: padding not counted. RSS growth: the peak resident set minus the resident set before the model",
    "existed (bptt only). Required: 4 floats per parameter (weights, gradients, Adam's moments) and, when training, the",
    "saved activations (x, gates, c, h_{t−1}, output: E + 7H floats per token) of the largest batch's real tokens (full",
    "BPTT) or of B·k2 tokens (TBPTT(∞, k2)).",
  ].join("\n");
}

/** The profile table (bench/profile-report.ts) of the bptt systems that ran with --profile. */
export function formatReportProfiles(report: BenchReport): string {
  const bptt = report.systems.filter((s) => s.kind === "bptt").map((s) => s.id);
  return formatProfiles(report.summaries.map((x) => x.config), bptt, report.measurements);
}

/** Markdown tables: speed, then bptt's heap during the timed iterations. */
export function formatTables(report: BenchReport, systems: SystemSpec[]): string {
  const lines: string[] = [];
  const bptt = systems.filter((s) => s.kind === "bptt");
  const present = systems.filter((s) => report.summaries.some((x) => x.systems[s.id]));
  const headers = ["config", "model", ...present.map((s) => `${s.id} tok/s`)];
  const hasTorch = present.some((p) => p.kind === "torch" && (p.flavour ?? "torch") === "torch");
  const hasDebian = present.some((p) => p.kind === "torch" && p.flavour === "torch-debian");
  const hasTfjs = present.some((p) => p.kind === "tfjs");
  for (const s of bptt.filter((x) => present.includes(x))) {
    const suffix = bptt.length > 1 ? ` (${s.id})` : "";
    if (hasTorch) headers.push(`bptt ÷ torch${suffix}`);
    if (hasDebian) headers.push(`bptt ÷ torch-debian${suffix}`);
    if (hasTfjs) headers.push(`bptt ÷ tfjs${suffix}`);
  }
  const families = [...new Set(report.summaries.flatMap((x) => Object.keys(x.threadSpeedup)))];
  for (const f of families) headers.push(`${f} 2t ÷ 1t`);
  lines.push(`| ${headers.join(" | ")} |`);
  lines.push(`|${headers.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`);
  for (const x of report.summaries) {
    const row = [x.config, x.shape];
    for (const s of present) {
      const v = x.systems[s.id];
      const failed = report.failures.find((f) => f.config === x.config && f.id === s.id);
      row.push(v ? `${fmtRate(v.tokensPerSec)} (${v.processes}×${v.iterations})` : failed ? "failed" : "–");
    }
    for (const s of bptt.filter((b) => present.includes(b))) {
      if (hasTorch) row.push(fmtRatio(x.ratios[s.id]?.vsTorch));
      if (hasDebian) row.push(fmtRatio(x.ratios[s.id]?.vsDebian));
      if (hasTfjs) row.push(fmtRatio(x.ratios[s.id]?.vsTfjs));
    }
    for (const f of families) row.push(fmtRatio(x.threadSpeedup[f]));
    lines.push(`| ${row.join(" | ")} |`);
  }
  lines.push("");
  lines.push("tok/s: tokens (B·T per update; generated tokens for sample) per second, median over processes of each process's");
  lines.push("median iteration; (p×i) = p processes × i timed iterations each (median). Ratios > 1: bptt is faster; against each");
  lines.push("PyTorch at bptt's own thread count (torch: PyTorch 2 with MKL and oneDNN; torch-debian: Debian's 1.13 with OpenBLAS).");
  const limited = report.summaries.flatMap((x) => Object.entries(x.systems).filter(([, v]) => v.budgetLimited).map(([id]) => `${x.config}/${id}`));
  if (limited.length) lines.push(`Cut short by the time budget (fewer iterations than asked): ${limited.join(", ")}.`);

  const memoryRows = report.summaries.flatMap((x) =>
    bptt.flatMap((s) => {
      const ms = report.measurements.filter((m) => m.config === x.config && m.id === s.id && m.memory);
      if (ms.length === 0) return [];
      const mem = ms.map((m) => m.memory!);
      const heap = mem.map((m) => m.heapBytesPerIteration);
      const buffers = mem.map((m) => m.arrayBufferBytesPerIteration);
      const gcs: Record<string, number> = {};
      for (const m of mem) for (const [k, n] of Object.entries(m.gcDuringTimed)) gcs[k] = (gcs[k] ?? 0) + n;
      const iterations = ms.reduce((n, m) => n + m.iterations, 0);
      const kernelBytes = mem.map((m) => m.kernelBytesPerIteration).filter((v): v is number => typeof v === "number");
      const slow = mem.map((m) => m.slowCallsPerIteration).filter((v): v is number => typeof v === "number");
      const gcText = Object.keys(gcs).length ? Object.entries(gcs).map(([k, n]) => `${n} ${k}`).join(", ") : "none";
      return [
        `| ${x.config} | ${bptt.length > 1 ? `${s.id} | ` : ""}${heap.length ? fmtBytes(median(heap)) : "–"} | ${buffers.length ? fmtBytes(median(buffers)) : "–"} | ` +
          `${kernelBytes.length ? fmtBytes(median(kernelBytes)) : "–"} | ${slow.length ? String(median(slow)) : "–"} | ` +
          `${gcText} in ${iterations} it | ${mem.reduce((n, m) => n + m.gcMsDuringTimed, 0).toFixed(1)} | ${fmtBytes(median(mem.map((m) => m.heapUsedAfter)))} |`,
      ];
    }),
  );
  if (memoryRows.length) {
    lines.push("");
    lines.push("bptt allocation per training iteration after the first chunk, and GCs during the timed iterations:");
    lines.push("");
    lines.push(`| config | ${bptt.length > 1 ? "system | " : ""}V8 heap / it | ArrayBuffers / it | kernel memory / it | copying calls / it | GCs while timed | GC ms | heap used |`);
    lines.push(`|---|${bptt.length > 1 ? "---|" : ""}---:|---:|---:|---:|---|---:|---:|`);
    lines.push(...memoryRows);
    lines.push("");
    lines.push("Bytes allocated per timed iteration (after warm-up, so after the first chunk), median over processes, by v8.GCProfiler");
    lines.push("accounting (growth + what each GC freed): on the V8 heap (JS objects, typed-array views) and in ArrayBuffers (typed-");
    lines.push("array storage; exact without GC, a lower bound with). 0 B and no GC is the goal \"no allocation in the training loop");
    lines.push("once the first chunk has run\". Kernel memory / it: growth of the backend's own memory (wasm-simd's memoryInUse());");
    lines.push("copying calls / it: kernel calls that ran on copies of arrays outside it (slowCalls()); – where the backend has neither.");
  }
  return lines.join("\n");
}

/**
 * The training losses every system reported (median over processes of the first and the last
 * iteration's mean loss): the same model from the same init family starts near ln(outputs) in every
 * system, and the loss must move the same way.
 */
export function formatLosses(report: BenchReport): string {
  const present = report.systems.filter((s) => report.measurements.some((m) => m.id === s.id && m.firstLoss !== undefined));
  if (present.length === 0) return "";
  const lines = [`| config | ln(outputs) | ${present.map((s) => `${s.id} first → last`).join(" | ")} |`, `|---|---:|${present.map(() => "---:").join("|")}|`];
  for (const x of report.summaries) {
    const c = CONFIGS.find((k) => k.name === x.config);
    if (!c || c.task === "sample") continue;
    const cells = present.map((s) => {
      const ms = report.measurements.filter((m) => m.config === x.config && m.id === s.id && m.firstLoss !== undefined);
      if (ms.length === 0) return "–";
      return `${median(ms.map((m) => m.firstLoss!)).toFixed(3)} → ${median(ms.map((m) => m.lastLoss!)).toFixed(3)}`;
    });
    lines.push(`| ${x.config} | ${Math.log(c.classes ?? c.V).toFixed(3)} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The whole report as a Markdown section: what docs/benchmarks.md pastes in. */
export function formatMarkdown(report: BenchReport): string {
  const o = report.options;
  const out: string[] = [];
  out.push(`### Results of ${report.started.slice(0, 10)}`);
  out.push("");
  out.push("```sh");
  out.push(report.command);
  out.push("```");
  out.push("");
  out.push(
    `Started ${report.started}, ${(report.seconds / 60).toFixed(1)} min; ${String(o.rounds)} process(es) per system and configuration, ` +
      `≤ ${String(o.iterations)} timed iterations after ≤ ${String(o.warmup)} warm-up, ${String(o.budget)} s of timed iterations per process at most, ` +
      `${String(o.configBudget)} s per system and configuration at most.`,
  );
  out.push("");
  out.push("Environment (as reported by each system's own process):");
  out.push("");
  out.push(formatEnvironment(report.environment));
  out.push("");
  out.push("#### Speed");
  out.push("");
  out.push(formatTables(report, report.systems));
  const raggedTable = formatRagged(report);
  if (raggedTable) {
    out.push("");
    out.push("#### Real lengths: time, real tokens and memory");
    out.push("");
    out.push(raggedTable);
  }
  const profileTable = formatReportProfiles(report);
  if (profileTable) {
    out.push("");
    out.push("#### Where the time goes (--profile)");
    out.push("");
    out.push(profileTable);
  }
  const losses = formatLosses(report);
  if (losses) {
    out.push("");
    out.push("#### Sanity: training loss, first (warm-up) → last timed iteration");
    out.push("");
    out.push(losses);
  }
  if (report.notes.length || report.failures.length) {
    out.push("");
    out.push("#### Notes");
    out.push("");
    for (const n of report.notes) out.push(`- ${n}`);
    for (const x of report.failures) out.push(`- failed: ${x.config}/${x.id} round ${x.round}: ${x.error}`);
  }
  return out.join("\n");
}

/**
 * A PyTorch column's environment line: version, BLAS (from its build settings and the libraries the
 * process mapped), the threads it ran on, and the oneDNN operators one update dispatched to, per
 * configuration (nn.LSTM runs on oneDNN's RNN primitive in PyTorch 2; GRU and RNN do not).
 */
function describeTorch(ms: Measurement[], notes: string[]): string {
  const t = ms[0]!;
  const blas = t.env.blas as { settings?: string[]; loaded?: string[] } | undefined;
  const loaded = blas?.loaded ?? [];
  if (!loaded.some((p) => /openblas|mkl|blis/i.test(p)) && !(blas?.settings ?? []).some((x) => /mkl/i.test(x))) {
    notes.push(
      `${t.system}: PyTorch mapped no optimised BLAS (${loaded.filter((p) => /blas/.test(p)).join(", ") || "none found"}): Debian's torch then ` +
        "runs on the reference BLAS, 5–25× slower; install libopenblas0-openmp for meaningful PyTorch numbers",
    );
  }
  const onednn = new Map<string, string>();
  for (const m of ms) {
    const ops = m.env.onednn as string[] | null | undefined;
    if (Array.isArray(ops)) onednn.set(m.config, ops.length ? ops.join(", ") : "none");
  }
  const byOps = new Map<string, string[]>();
  for (const [config, ops] of onednn) byOps.set(ops, [...(byOps.get(ops) ?? []), config]);
  const onednnText = byOps.size
    ? [...byOps].map(([ops, configs]) => `${configs.join(", ")}: ${ops}`).join("; ")
    : "not recorded";
  const threads = [...new Set(ms.map((m) => m.threads))].join(", ");
  // numpy brings an OpenBLAS of its own; PyTorch 2's wheels link MKL statically (no library to see).
  const mapped = loaded.filter((p) => /blas|lapack|mkl/.test(p) && !/numpy/.test(p)).join(", ") ||
    ((blas?.settings ?? []).some((x) => /BLAS_INFO=mkl/i.test(x)) ? "MKL, linked into libtorch" : "?");
  return `${String(t.env.torch)} (Python ${String(t.env.python)}), ${blas?.settings?.join(", ") ?? ""}; BLAS loaded: ${mapped}; ` +
    `threads per process: ${threads} (torch.get_num_threads); oneDNN operators run: ${onednnText}`;
}

export function formatEnvironment(env: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    lines.push(`- ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      configs: { type: "string" },
      peers: { type: "string" },
      rounds: { type: "string" },
      iterations: { type: "string" },
      warmup: { type: "string" },
      budget: { type: "string" },
      "config-budget": { type: "string" },
      backend: { type: "string" },
      "bptt-threads": { type: "string" },
      "tfjs-variant": { type: "string" },
      "torch-threads": { type: "string" },
      python: { type: "string" },
      "python-debian": { type: "string" },
      timeout: { type: "string" },
      profile: { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      markdown: { type: "boolean", default: false },
      out: { type: "string" },
      from: { type: "string" },
      quiet: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.list) {
    for (const c of CONFIGS) process.stdout.write(`${c.name.padEnd(12)} ${shapeOf(c)}\n`);
    return;
  }
  if (values.from) {
    let report: BenchReport;
    try {
      report = JSON.parse(readFileSync(values.from, "utf8")) as BenchReport;
    } catch (error) {
      throw new RangeError(`--from ${values.from}: expected a JSON report written by --out (${(error as Error).message})`);
    }
    if (!Array.isArray(report.systems) || !Array.isArray(report.summaries)) {
      throw new RangeError(`--from ${values.from}: expected a JSON report written by --out (no systems or summaries)`);
    }
    process.stdout.write(`${values.json ? JSON.stringify(report, null, 2) : formatMarkdown(report)}\n`);
    return;
  }
  const quick = values.quick ?? false;
  const configs = (values.configs ? list(values.configs) : quick ? ["tiny", "small", "cls", "small-gru", "small-rnn", "sample"] : CONFIGS.map((c) => c.name)).map(findConfig);
  const peers = list(values.peers ?? PEERS.join(","));
  for (const p of peers) {
    if (!(PEERS as readonly string[]).includes(p)) throw new RangeError(`--peers: unknown system ${JSON.stringify(p)} (${PEERS.join(", ")})`);
  }
  const rounds = positive(values.rounds ?? (quick ? "1" : "3"), "--rounds", true);
  const iterations = positive(values.iterations ?? (quick ? "3" : "5"), "--iterations", true);
  const warmup = positive(values.warmup ?? (quick ? "20" : "100"), "--warmup", true);
  const budget = positive(values.budget ?? (quick ? "2" : "4"), "--budget", false);
  const configBudget = positive(values["config-budget"] ?? (quick ? "20" : "60"), "--config-budget", false);
  const timeout = positive(values.timeout ?? "900", "--timeout", false);
  const backends = list(values.backend ?? "auto");
  const bpttThreads = list(values["bptt-threads"] ?? "1").map((t) => positive(t, "--bptt-threads", true));
  const variant = values["tfjs-variant"] ?? "manual";
  const torchThreads = list(values["torch-threads"] ?? "1,2").map((t) => positive(t, "--torch-threads", true));
  const venvPython = fileURLToPath(new URL("../../.peers/bin/python", import.meta.url));
  const python = values.python ?? venvPython;
  const pythonDebian = values["python-debian"] ?? "/usr/bin/python3";
  const log = (line: string): void => {
    if (!values.quiet) process.stderr.write(`${line}\n`);
  };

  const systems: SystemSpec[] = [];
  for (const p of peers) {
    if (p === "bptt") {
      for (const backend of backends) {
        for (const threads of bpttThreads) {
          let id = "bptt";
          if (backends.length > 1) id += `/${backend}`;
          if (bpttThreads.length > 1) id += `/${threads}t`;
          systems.push({ id, kind: "bptt", threads, backend });
        }
      }
    } else if (p === "tfjs") {
      systems.push({ id: "tfjs", kind: "tfjs", threads: 1 });
    } else {
      const flavour = p === "torch-debian" ? "torch-debian" : "torch";
      const layout = p === "torch-padded" ? "padded" : "packed";
      for (const threads of torchThreads) systems.push({ id: `${p}/${threads}t`, kind: "torch", threads, flavour, layout });
    }
  }

  const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
  const bpttWorker = here("./bptt-worker.js");
  const tfjsWorker = here("./peers/tfjs-lm.js");
  const torchScript = here("../../bench/peers/pytorch_lm.py");

  const started = new Date();
  const t0 = performance.now();
  const notes: string[] = [];
  const measurements: Measurement[] = [];
  const failures: Failure[] = [];
  /** PyTorch flavours found missing (skipped from then on). */
  const torchMissing = new Set<string>();
  if (values.python === undefined && systems.some((s) => s.flavour === "torch") && !existsSync(venvPython)) {
    torchMissing.add("torch");
    notes.push(PYTORCH2_SKIPPED);
    log(PYTORCH2_SKIPPED);
  }
  let tfjsMissing = false;
  const loadStart = loadavg();

  for (const c of configs) {
    const spent = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      // Rotate the order every round so that no system always runs first (or right after another).
      const order = systems.map((_, i) => systems[(i + round) % systems.length]!);
      for (const s of order) {
        if (s.kind === "torch" && torchMissing.has(s.flavour!)) continue;
        if (s.kind === "tfjs" && tfjsMissing) continue;
        if ((spent.get(s.id) ?? 0) >= configBudget) continue;
        if (s.kind === "tfjs" && c.task.startsWith("ragged")) continue; // its peer has no masks or packing
        // The padded PyTorch runs only where padding is the question: full BPTT and evaluation of ragged texts.
        if (s.layout === "padded" && (!c.task.startsWith("ragged") || c.k2 !== undefined)) continue;
        if (failures.some((f) => f.id === s.id && f.config === c.name)) continue;
        const spec: WorkerSpec = { config: c, warmup, iterations, budget, threads: s.threads };
        let outcome: ChildOutcome;
        const env = { ...process.env };
        if (s.kind === "bptt") {
          spec.backend = s.backend!;
          if (values.profile) spec.profile = true;
          env.BPTT_BACKEND = s.backend!;
          env.BPTT_THREADS = String(s.threads);
          outcome = await runChild(process.execPath, [bpttWorker, "--spec", JSON.stringify(spec)], env, timeout);
        } else if (s.kind === "tfjs") {
          spec.variant = variant;
          outcome = await runChild(process.execPath, [tfjsWorker, "--spec", JSON.stringify(spec)], env, timeout);
          if (!outcome.result && /Cannot find (package|module) '@tensorflow/.test(outcome.error ?? "")) {
            tfjsMissing = true;
            const message = "tfjs skipped: @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm are not installed (npm install)";
            notes.push(message);
            log(message);
            continue;
          }
        } else {
          const args = [
            torchScript, JSON.stringify(c), String(s.threads), String(iterations),
            "--warmup", String(warmup), "--budget", String(budget), "--system", s.id, "--layout", s.layout ?? "packed",
          ];
          const interpreter = s.flavour === "torch-debian" ? pythonDebian : python;
          outcome = await runChild(interpreter, args, env, timeout);
          if (!outcome.result && (outcome.status === 3 || /ENOENT/.test(outcome.error ?? ""))) {
            torchMissing.add(s.flavour!);
            const skipped = s.flavour === "torch-debian" ? PYTORCH_SKIPPED
              : values.python === undefined ? PYTORCH2_SKIPPED : `PyTorch 2 skipped: ${python} cannot import torch`;
            const message = `${skipped}${outcome.status === 3 ? "" : ` [${interpreter} not found]`}`;
            notes.push(message);
            log(message);
            continue;
          }
        }
        spent.set(s.id, (spent.get(s.id) ?? 0) + outcome.seconds);
        const load = loadavg()[0]!;
        if (!outcome.result) {
          failures.push({ id: s.id, config: c.name, round: round + 1, error: outcome.error ?? "failed" });
          log(`[${c.name} round ${round + 1}/${rounds}] ${s.id}: FAILED ${outcome.error}`);
          continue;
        }
        const r = outcome.result;
        const problem = checkResult(c, r);
        if (problem) {
          failures.push({ id: s.id, config: c.name, round: round + 1, error: problem });
          log(`[${c.name} round ${round + 1}/${rounds}] ${s.id}: REJECTED ${problem}`);
          continue;
        }
        measurements.push({ ...r, id: s.id, round: round + 1, loadBefore: load, processSeconds: outcome.seconds });
        log(
          `[${c.name} round ${round + 1}/${rounds}] ${s.id.padEnd(8)} ${fmtRate(r.tokensPerSec).padStart(9)} tok/s  ` +
            `${r.iterations} it × ${r.medianStepMs.toFixed(1)} ms${r.budgetLimited ? " (budget)" : ""}  cpu/wall ${r.cpuPerWall?.toFixed(2) ?? "?"}  ` +
            `process ${outcome.seconds.toFixed(1)} s  load ${load.toFixed(2)}`,
        );
      }
    }
    for (const s of systems) {
      if ((spent.get(s.id) ?? 0) >= configBudget && measurements.filter((m) => m.id === s.id && m.config === c.name).length < rounds) {
        notes.push(`${c.name}/${s.id}: ${measurements.filter((m) => m.id === s.id && m.config === c.name).length} of ${rounds} processes (--config-budget ${configBudget} s reached)`);
      }
    }
  }

  for (const s of systems.filter((x) => x.kind === "bptt")) {
    const reported = [...new Set(measurements.filter((m) => m.id === s.id).map((m) => m.threads))];
    if (reported.length && reported.some((t) => t !== s.threads)) {
      const backend = measurements.find((m) => m.id === s.id)?.env.backend;
      notes.push(`${s.id}: asked for ${s.threads} thread(s) (BPTT_THREADS), the backend (${String(backend)}) reports ${reported.join(", ")}: it does not use threads yet`);
    }
  }

  // The environment, from the machine and from what each system reported about itself.
  const first = (kind: SystemSpec["kind"]): WorkerResult | undefined => {
    const ids = new Set(systems.filter((s) => s.kind === kind).map((s) => s.id));
    return measurements.find((m) => ids.has(m.id));
  };
  const environment: Record<string, unknown> = {
    cpu: `${cpuModel()}, ${availableParallelism()} logical cores`,
    os: `${platform()} ${release()}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    loadAverage: `start ${loadStart.map((v) => v.toFixed(2)).join(" ")}, end ${loadavg().map((v) => v.toFixed(2)).join(" ")} (1/5/15 min)`,
  };
  const b = first("bptt");
  if (b) {
    // Per column, what its processes said about themselves (kernels().name, kernels().threads).
    const described = systems.filter((s) => s.kind === "bptt").flatMap((s) => {
      const ms = measurements.filter((m) => m.id === s.id);
      if (ms.length === 0) return [];
      const names = [...new Set(ms.map((m) => String(m.env.backend)))].join(", ");
      const threads = [...new Set(ms.map((m) => m.threads))].join(", ");
      return [`${systems.filter((x) => x.kind === "bptt").length > 1 ? `${s.id}: ` : ""}kernels().name = ${names}; threads ${threads} (BPTT_BACKEND=${s.backend}, BPTT_THREADS=${s.threads})`];
    });
    environment.bptt = `${described.join("; ")}; node ${String(b.env.node)}, V8 ${String(b.env.v8)}`;
  }
  for (const flavour of ["torch", "torch-debian"] as const) {
    const ids = new Set(systems.filter((s) => s.flavour === flavour).map((s) => s.id));
    const ms = measurements.filter((m) => ids.has(m.id));
    const key = flavour === "torch" ? "pytorch" : "pytorchDebian";
    if (ms.length === 0) {
      if (torchMissing.has(flavour)) environment[key] = flavour === "torch" ? PYTORCH2_SKIPPED : PYTORCH_SKIPPED;
      continue;
    }
    environment[key] = describeTorch(ms, notes);
  }
  const f = first("tfjs");
  if (f) {
    environment.tfjs = `@tensorflow/tfjs ${String(f.env.tfjs)}, backend ${String(f.env.backend)} (tfjs-backend-wasm ${String(f.env.wasm)}, SIMD ${String(f.env.simd)}, multithread ${String(f.env.multithread)}, threads ${String(f.env.threads)}), formulation ${String(f.env.variant)}`;
  }

  const report: BenchReport = {
    command: `node dist/bench/run.js ${process.argv.slice(2).join(" ")}`.trim(),
    systems,
    started: started.toISOString(),
    seconds: (performance.now() - t0) / 1000,
    options: {
      configs: configs.map((c) => c.name), peers, rounds, iterations, warmup, budget, configBudget, backends, bpttThreads, variant,
      python, quick, profile: values.profile ?? false,
    },
    environment,
    summaries: summarize(configs, systems, measurements),
    measurements,
    failures,
    notes,
  };
  if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else if (values.markdown) {
    process.stdout.write(`${formatMarkdown(report)}\n`);
  } else {
    const out: string[] = [];
    out.push(`bptt benchmark — ${report.started}, ${report.seconds.toFixed(0)} s`);
    out.push(`command: ${report.command}`);
    out.push(`options: rounds ${rounds}, iterations ≤ ${iterations}, warm-up ≤ ${warmup}, budget ${budget} s/process, ${configBudget} s/system/config`);
    out.push("");
    out.push(formatEnvironment(environment));
    out.push("");
    out.push(formatTables(report, systems));
    const raggedTable = formatRagged(report);
    if (raggedTable) out.push("", "real lengths (ragged): time per epoch, real tokens per second, memory:", "", raggedTable);
    const profileTable = formatReportProfiles(report);
    if (profileTable) out.push("", "where an update's time goes (--profile):", "", profileTable);
    const losses = formatLosses(report);
    if (losses) out.push("", "training loss, first (warm-up) → last timed iteration (median over processes):", "", losses);
    if (notes.length || failures.length) {
      out.push("");
      for (const n of notes) out.push(`note: ${n}`);
      for (const x of failures) out.push(`failed: ${x.config}/${x.id} round ${x.round}: ${x.error}`);
    }
    process.stdout.write(`${out.join("\n")}\n`);
  }
  if (measurements.length === 0) process.exitCode = 1;
}

// Run only as a program: the tests import the formatting and checking functions.
if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  });
}
