/**
 * The benchmark harness (bench/run.ts) must not rot: one tiny configuration, one iteration, bptt only,
 * checked for the shape of its JSON and of its table. No timing is asserted.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { it } from "node:test";
import { fileURLToPath } from "node:url";

const harness = fileURLToPath(new URL("../../bench/run.js", import.meta.url));
const tiny = ["--configs", "tiny", "--peers", "bptt", "--rounds", "1", "--iterations", "1", "--warmup", "1", "--budget", "1", "--quiet"];

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [harness, ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

it("--json reports one measured configuration with its environment and heap statistics", () => {
  const r = run(...tiny, "--json");
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
