/**
 * `npm run fuzz`: the fuzzer's long run (fuzz.ts), the command line's file loaders fed mutated and
 * generated inputs in this process.
 *
 *   npm run fuzz                                   100,000 cases, seed 1, BPTT_MEMORY_LIMIT 64 MiB
 *   node dist/fuzz/run.js --cases 5000 --seed 7 --json
 *
 * Prints a table of cases per target (accepted, refused with a one-line error, crashes), the peak
 * memory, and the first crashes; exits 1 if any case crashed or memory went over the cap.
 */
import { parseArgs } from "node:util";
import { formatBytes } from "../src/io/file-checks.js";
import { type FuzzReport, runFuzz } from "./fuzz.js";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "100000" },
    seed: { type: "string", default: "1" },
    "memory-limit": { type: "string", default: String(64 << 20) },
    json: { type: "boolean", default: false },
  },
});

const report = await runFuzz({
  cases: Number(values.cases), seed: Number(values.seed), memoryLimit: Number(values["memory-limit"]), progressEvery: 5000,
  onProgress: (done, r) => process.stderr.write(`fuzz: ${done} cases, ${r.crashes} crashes, peak ${formatBytes(r.peakRss)}\n`),
});
process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : table(report));
if (report.crashes > 0 || report.overCap) process.exitCode = 1;

function table(r: FuzzReport): string {
  const width = Math.max(...r.targets.map((t) => t.target.length));
  const lines = [
    `${"target".padEnd(width)}  ${"cases".padStart(7)}  ${"accepted".padStart(8)}  ${"refused".padStart(7)}  ${"crashes".padStart(7)}`,
    ...r.targets.map((t) => `${t.target.padEnd(width)}  ${String(t.cases).padStart(7)}  ${String(t.accepted).padStart(8)}  ${String(t.refused).padStart(7)}  ${String(t.crashes).padStart(7)}`),
    `${"all".padEnd(width)}  ${String(r.cases).padStart(7)}  ${String(r.targets.reduce((n, t) => n + t.accepted, 0)).padStart(8)}  ${String(r.targets.reduce((n, t) => n + t.refused, 0)).padStart(7)}  ${String(r.crashes).padStart(7)}`,
    "",
    `peak resident memory ${formatBytes(r.peakRss)} (baseline ${formatBytes(r.baselineRss)}; BPTT_MEMORY_LIMIT ${formatBytes(r.memoryLimit)}${r.overCap ? "; OVER THE CAP" : ""}); slowest case ${r.slowestCaseMs.toFixed(0)} ms; ${r.seconds.toFixed(0)} s`,
    ...r.samples.map((c) => `crash  ${c.target}  [${c.what}]  ${c.error}`),
  ];
  return `${lines.join("\n")}\n`;
}
