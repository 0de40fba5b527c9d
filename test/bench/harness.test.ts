/**
 * The benchmark harness (bench/run.ts) must not rot: one tiny configuration, one iteration, bptt only,
 * checked for the shape of its JSON and of its table. No timing is asserted.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { fileURLToPath } from "node:url";
import { findConfig } from "../../bench/configs.js";
import type { UpdateProfile } from "../../bench/profile.js";
import { type Measurement, type SystemSpec, checkResult, summarize } from "../../bench/run.js";

const harness = fileURLToPath(new URL("../../bench/run.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bptt-bench-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const saved = join(dir, "report.json");
const tiny = ["--configs", "tiny", "--peers", "bptt", "--rounds", "1", "--iterations", "1", "--warmup", "1", "--budget", "1", "--quiet"];

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [harness, ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

it("--json reports one measured configuration with its environment and heap statistics", () => {
  const r = run(...tiny, "--json", "--out", saved);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    command: string;
    environment: Record<string, string>;
    summaries: Array<{ config: string; systems: Record<string, { tokensPerSec: number; processes: number; iterations: number }> }>;
    measurements: Array<{ system: string; config: string; iterations: number; stepMs: number[]; tokensPerSec: number; env: { backend: string }; memory: Record<string, unknown> }>;
    failures: unknown[];
  };
  assert.match(report.command, /--configs tiny/);
  assert.ok(report.environment.cpu && report.environment.node && report.environment.bptt, JSON.stringify(report.environment));
  assert.deepEqual(report.failures, []);
  assert.equal(report.summaries.length, 1);
  const summary = report.summaries[0]!;
  assert.equal(summary.config, "tiny");
  assert.deepEqual(Object.keys(summary.systems), ["bptt"]);
  assert.equal(summary.systems.bptt!.processes, 1);
  assert.ok(summary.systems.bptt!.tokensPerSec > 0);
  assert.equal(report.measurements.length, 1);
  const m = report.measurements[0]!;
  assert.equal(m.system, "bptt");
  assert.equal(m.iterations, 1);
  assert.equal(m.stepMs.length, 1);
  assert.equal(typeof m.env.backend, "string");
  for (const key of ["gcDuringTimed", "heapBytesPerIteration", "arrayBufferBytesPerIteration", "heapUsedAfter"]) {
    assert.ok(key in m.memory, `memory.${key} missing`);
  }
  // The worker fed the configuration's tokens and trained: a finite loss near ln V at the start.
  const m2 = m as typeof m & { tokensFed: number; firstLoss: number; lastLoss: number };
  assert.equal(m2.tokensFed, 16 * 25);
  assert.ok(Math.abs(m2.firstLoss - Math.log(65)) < 0.5 && Number.isFinite(m2.lastLoss), `losses ${m2.firstLoss} → ${m2.lastLoss}`);
});

it("--from renders a saved report as Markdown without measuring anything", () => {
  const r = run("--from", saved, "--markdown");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^### Results of \d{4}-\d\d-\d\d$/m);
  assert.match(r.stdout, /^node dist\/bench\/run\.js --configs tiny /m);
  assert.match(r.stdout, /^- bptt: kernels\(\)\.name = \S+; threads 1 \(BPTT_BACKEND=auto, BPTT_THREADS=1\)/m);
  assert.match(r.stdout, /^\| tiny \| lstm B=16 T=25 H=32 L=1 V=65 \| [\d,.]+ \(1×1\) \|$/m);
  assert.match(r.stdout, /^\| tiny \| 4\.174 \| \d\.\d{3} → \d\.\d{3} \|$/m);
  const bad = join(dir, "bad.json");
  writeFileSync(bad, "{}");
  const refused = run("--from", bad, "--markdown");
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /--from .*bad\.json: expected a JSON report/);
});

it("rejects a result that fed other tokens or lost its loss", () => {
  const c = findConfig("tiny");
  const good = { system: "x", config: "tiny", threads: 1, warmup: 1, iterations: 1, stepMs: [1], medianStepMs: 1, tokensPerSec: 400_000, tokensFed: 400, firstLoss: 4.2, lastLoss: 4.1, budgetLimited: false, env: {} };
  assert.equal(checkResult(c, good), null);
  assert.match(checkResult(c, { ...good, tokensFed: 16 })!, /fed 16 tokens per iteration, the configuration has 400/);
  assert.match(checkResult(c, { ...good, lastLoss: NaN })!, /last loss is NaN/);
  assert.equal(checkResult(findConfig("sample"), { ...good, tokensFed: 1000, firstLoss: undefined, lastLoss: undefined }), null);
});

it("prints the environment, the speed table and the heap table", () => {
  const r = run(...tiny);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^- cpu: /m);
  assert.match(r.stdout, /^- bptt: kernels\(\)\.name = /m);
  assert.match(r.stdout, /^\| config \| model \| bptt tok\/s \|$/m);
  assert.match(r.stdout, /^\| tiny \| lstm B=16 T=25 H=32 L=1 V=65 \| [\d,.]+ \(1×1\) \|$/m);
  assert.match(r.stdout, /^\| config \| V8 heap \/ it \| ArrayBuffers \/ it \| kernel memory \/ it \| copying calls \/ it \| GCs while timed \| GC ms \| heap used \|$/m);
});

it("rejects an unknown configuration or system with a one-line error", () => {
  for (const args of [["--configs", "huge"], ["--peers", "jax"]]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

it("compares bptt with each PyTorch at its own thread count, falling back to the best one run", () => {
  const systems: SystemSpec[] = [
    { id: "bptt/1t", kind: "bptt", threads: 1, backend: "auto" },
    { id: "bptt/2t", kind: "bptt", threads: 2, backend: "auto" },
    { id: "torch/1t", kind: "torch", threads: 1, flavour: "torch" },
    { id: "torch/2t", kind: "torch", threads: 2, flavour: "torch" },
    { id: "torch-debian/1t", kind: "torch", threads: 1, flavour: "torch-debian" },
  ];
  const rates: Record<string, number> = { "bptt/1t": 300, "bptt/2t": 500, "torch/1t": 100, "torch/2t": 250, "torch-debian/1t": 60 };
  const measurements = Object.entries(rates).map(([id, tokensPerSec]) => ({ id, config: "tiny", tokensPerSec, iterations: 1 }) as unknown as Measurement);
  const [summary] = summarize([findConfig("tiny")], systems, measurements);
  assert.deepEqual(summary!.ratios["bptt/1t"], { vsTorch: 3, vsDebian: 5, vsTfjs: null });
  // 2 threads: PyTorch 2 on 2 threads; Debian's ran on 1 only, so its best.
  assert.deepEqual(summary!.ratios["bptt/2t"], { vsTorch: 2, vsDebian: 500 / 60, vsTfjs: null });
  assert.equal(summary!.threadSpeedup["torch"], 2.5);
  assert.equal(summary!.threadSpeedup["bptt/auto"], 500 / 300);
});

it("--profile reports where an update's time goes and how near the GEMM-bound limit it runs", () => {
  const out = join(dir, "profile.json");
  const r = run(...tiny, "--profile", "--out", out);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(readFileSync(out, "utf8")) as { measurements: Array<{ profile?: UpdateProfile }> };
  const p = report.measurements[0]!.profile!;
  assert.ok(p, "no profile in the measurement");
  assert.equal(p.iterations, 1);
  for (const c of ["recurrentGemm", "gatesForward", "gatesBackward", "headLoss", "optimizer", "javascript"] as const) {
    assert.ok(p.ms[c] > 0, `${c}: ${p.ms[c]}`);
  }
  assert.ok(p.gemmFlops > 0 && p.gemmGflops > 0 && p.limitFraction > 0 && p.limitFraction < 2, JSON.stringify(p));
  assert.match(r.stdout, /^\| tiny \| bptt \| [\d.]+ \| [\d.]+ \| [\d.]+ \(\d+%\) \|/m);
  const rendered = run("--from", out, "--markdown");
  assert.match(rendered.stdout, /^#### Where the time goes \(--profile\)$/m);
});
