/**
 * `bptt info [--json]`: the kernel backend in use and why, the CPU features found, the thread count,
 * and the native addon's state. BPTT_BACKEND (auto | native | wasm | reference), BPTT_THREADS and
 * BPTT_NATIVE_ISA (auto | avx512 | avx2 | generic) change what it reports, as they change what runs.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { kernels, kernelsInfo } from "../kernels/index.js";
import { loadAddon } from "../native/index.js";
import { UsageError } from "./errors.js";

export interface BackendReport {
  backend: string;
  reason: string;
  threads: number;
  cpuFeatures: string[];
  /** The instruction set the native GEMM and step kernels run ("avx512", "avx2", "generic"), or null without the addon. */
  nativeIsa: string | null;
  native: { loaded: boolean; reason: string };
  node: string;
  cores: number;
}

/** The features the native backend dispatches on, as /proc/cpuinfo names them (Linux), when the addon cannot say. */
const CPUINFO_FEATURES: Array<[string, string]> = [
  ["sse4_2", "sse4.2"], ["avx", "avx"], ["avx2", "avx2"], ["fma", "fma"],
  ["avx512f", "avx512f"], ["avx512dq", "avx512dq"], ["avx512bw", "avx512bw"], ["avx512vl", "avx512vl"],
];

export function backendReport(): BackendReport {
  let k;
  try {
    k = kernels();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { name, reason } = kernelsInfo();
  const loaded = loadAddon();
  const nativeInfo = loaded.addon?.info() ?? null;
  return {
    backend: k.description ?? name,
    reason,
    threads: k.threads ?? 1,
    cpuFeatures: nativeInfo ? nativeInfo.features.split(" ").filter(Boolean) : cpuinfoFeatures(),
    nativeIsa: name === "native" && nativeInfo ? nativeInfo.isa : null,
    native: loaded.addon ? { loaded: true, reason: `loaded (best instruction set here: ${nativeInfo!.best})` } : { loaded: false, reason: loaded.reason },
    node: process.version,
    cores: availableParallelism(),
  };
}

function cpuinfoFeatures(): string[] {
  if (!existsSync("/proc/cpuinfo")) return [];
  const flags = new Set(/^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim().split(/\s+/) ?? []);
  return CPUINFO_FEATURES.filter(([flag]) => flags.has(flag)).map(([, name]) => name);
}

export function registerInfo(root: Command): void {
  root
    .command("info")
    .description("show the kernel backend in use and why, the CPU features found and the thread count")
    .option("--json", "one JSON object")
    .action((options: { json?: boolean }) => {
      const r = backendReport();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const lines = [
        `backend:      ${r.backend}`,
        `why:          ${r.reason}`,
        `threads:      ${r.threads}`,
        `cpu features: ${r.cpuFeatures.join(" ") || "(none detected)"}`,
        `native addon: ${r.native.reason}`,
        `node:         ${r.node}, ${r.cores} cores available`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
