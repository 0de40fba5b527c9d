/**
 * The profile table of a benchmark report (run.ts --profile): per configuration and bptt system, the
 * median over its processes of each quantity of bench/profile.ts's UpdateProfile.
 */
import { CATEGORIES, type Category } from "../src/kernels/profile.js";
import { median } from "./configs.js";
import type { UpdateProfile } from "./profile.js";

/** What formatProfiles reads of a report. */
export interface ProfiledMeasurement {
  id: string;
  config: string;
  medianStepMs: number;
  profile?: UpdateProfile;
}

const LABELS: Record<Category, string> = {
  inputGemm: "input GEMM",
  recurrentGemm: "recurrent GEMM",
  gatesForward: "gates fwd",
  gatesBackward: "gates bwd",
  weightGradGemm: "weight-grad GEMM",
  headLoss: "head + loss",
  embedding: "embedding",
  clipping: "clipping",
  optimizer: "optimizer",
  otherKernels: "other kernels",
  javascript: "JavaScript",
};

/** The Markdown table, "" when no measurement carries a profile. */
export function formatProfiles(configs: readonly string[], systems: readonly string[], measurements: readonly ProfiledMeasurement[]): string {
  const rows: string[] = [];
  for (const config of configs) {
    for (const id of systems) {
      const ms = measurements.filter((m) => m.config === config && m.id === id && m.profile);
      if (ms.length === 0) continue;
      const of = (f: (p: UpdateProfile) => number): number => median(ms.map((m) => f(m.profile!)));
      const update = median(ms.map((m) => m.medianStepMs));
      const wall = of((p) => p.wallMs);
      const cells = CATEGORIES.map((c) => {
        const v = of((p) => p.ms[c]);
        return `${fmtMs(v)} (${Math.round((100 * v) / wall)}%)`;
      });
      rows.push(
        `| ${config} | ${id} | ${fmtMs(update)} | ${fmtMs(wall)} | ${cells.join(" | ")} | ${fmtMs(of((p) => p.threadsWaitingMs))} | ` +
          `${(of((p) => p.gemmFlops) / 1e9).toPrecision(3)} | ${of((p) => p.gemmGflops).toFixed(1)} | ${fmtMs(of((p) => p.limitMs))} | ` +
          `${Math.round(100 * of((p) => p.limitFraction))}% |`,
      );
    }
  }
  if (rows.length === 0) return "";
  const header = [
    "config", "system", "update ms", "profiled ms", ...CATEGORIES.map((c) => LABELS[c]), "of which threads waiting",
    "GEMM GFLOP / update", "GEMM GFLOP/s", "GEMM-bound ms", "GEMM-bound ÷ update",
  ];
  return [
    `| ${header.join(" | ")} |`,
    `|---|---|${header.slice(2).map(() => "---:").join("|")}|`,
    ...rows,
    "",
    "Milliseconds per update (median over processes of each one's mean over its profiled updates) and their share of the",
    "profiled update. Update ms: the timed (unprofiled) median; profiled ms: the same updates with every kernel call timed.",
    "A GEMM counts where it runs: the input projection, the per-step recurrent products, the weight and input gradients",
    "after each block of steps, the head; gates: the fused step kernels; JavaScript: the time of each phase outside",
    "kernels. Threads waiting: the calling thread waiting for the others inside kernels (part of their time). GEMM-bound:",
    "the update's GEMM operations ÷ the GEMM's rate on the configuration's all-steps input projection at the same thread",
    "count (GEMM GFLOP/s), against the timed update.",
  ].join("\n");
}

function fmtMs(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}
