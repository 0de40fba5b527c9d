/**
 * Backend selection, in fresh Node.js processes (the choice is made once per process):
 * BPTT_BACKEND unset or "auto" → wasm-simd here; "reference" → reference; "wasm" → wasm-simd, and an
 * error where WebAssembly is missing (node --jitless has none), where "auto" falls back to the
 * reference; an unknown value is an error. setKernels before first use overrides the choice.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const INDEX = fileURLToPath(new URL("../../src/kernels/index.js", import.meta.url));
const NODE = fileURLToPath(new URL("../../src/node.js", import.meta.url));

function select(
  env: string | undefined, flags: string[] = [], script = "console.log(JSON.stringify(m.kernelsInfo()))", extra: Record<string, string> = {}, module = INDEX,
) {
  const environment = { ...process.env, ...extra };
  delete environment["BPTT_BACKEND"];
  if (env !== undefined) environment["BPTT_BACKEND"] = env;
  const result = spawnSync(process.execPath, [...flags, "--input-type=module", "-e", `import * as m from ${JSON.stringify(module)}; ${script}`], {
    env: environment,
    encoding: "utf8",
  });
  return { status: result.status, out: result.stdout.trim(), err: result.stderr };
}

/** The child's JSON answer, failing with its stderr when it printed none. */
function answer(r: { status: number | null; out: string; err: string }): unknown {
  assert.equal(r.status, 0, `child process failed:\n${r.err}`);
  return JSON.parse(r.out);
}

describe("backend selection", () => {
  it("automatic: wasm-simd where WebAssembly SIMD is available", () => {
    const info = answer(select(undefined)) as { name: string; reason: string };
    assert.equal(info.name, "wasm-simd");
    assert.match(info.reason, /WebAssembly SIMD available/);
    assert.equal((answer(select("auto")) as { name: string }).name, "wasm-simd");
  });

  it("BPTT_BACKEND=reference and BPTT_BACKEND=wasm", () => {
    assert.deepEqual(answer(select("reference")), { name: "reference", reason: "BPTT_BACKEND=reference", threads: 1 });
    assert.equal((answer(select(" WASM ")) as { name: string }).name, "wasm-simd");
  });

  it("without WebAssembly (node --jitless): auto falls back to the reference, wasm is an error", () => {
    const info = answer(select(undefined, ["--jitless"])) as { name: string; reason: string };
    assert.equal(info.name, "reference");
    assert.match(info.reason, /wasm-simd unavailable \(.*no WebAssembly/);
    const forced = select("wasm", ["--jitless"]);
    assert.notEqual(forced.status, 0);
    assert.match(forced.err, /BPTT_BACKEND=wasm, but bptt wasm-simd: this JavaScript engine has no WebAssembly/);
  });

  it("an unknown BPTT_BACKEND is an error", () => {
    const r = select("fast");
    assert.notEqual(r.status, 0);
    assert.match(r.err, /BPTT_BACKEND must be "auto", "reference", "wasm" or "native", got "fast"/);
  });

  it("setKernels before first use wins; useBestKernels() selects asynchronously", () => {
    const set = select(undefined, [], "m.setKernels(m.referenceKernels); console.log(JSON.stringify(m.kernelsInfo()))");
    assert.deepEqual(answer(set), { name: "reference", reason: "set by setKernels", threads: 1 });
    const best = select(undefined, [], "const k = await m.useBestKernels(); console.log(JSON.stringify({ name: k.name, same: k === m.kernels() }))");
    assert.deepEqual(answer(best), { name: "wasm-simd", same: true });
  });

  it("threads: one from the core alone, BPTT_THREADS or setThreads with bptt/node, and a bad BPTT_THREADS is an error", () => {
    // wasm-simd: worker threads need bptt/node's spawner
    const info = "await m.kernels().threadsReady(); console.log(JSON.stringify(m.kernelsInfo().threads))";
    assert.equal(answer(select("wasm", [], info, { BPTT_THREADS: "2" })), 1, "no spawner without bptt/node");
    assert.equal(answer(select("wasm", [], info, { BPTT_THREADS: "2" }, NODE)), 2);
    assert.equal(answer(select("wasm", [], `m.setThreads(2); ${info}`, { BPTT_THREADS: "1" }, NODE)), 2);
    // native: its own pool, the same settings (before or after the backend exists)
    const nativeInfo = "console.log(JSON.stringify([m.kernelsInfo().name, m.kernelsInfo().threads]))";
    assert.deepEqual(answer(select("native", [], nativeInfo, { BPTT_THREADS: "2" }, NODE)), ["native", 2]);
    assert.deepEqual(answer(select("native", [], `m.setThreads(1); ${nativeInfo}`, { BPTT_THREADS: "2" }, NODE)), ["native", 1]);
    assert.deepEqual(answer(select("native", [], `m.kernels(); m.setThreads(2); ${nativeInfo}`, { BPTT_THREADS: "1" }, NODE)), ["native", 2]);
    const bad = select(undefined, [], info, { BPTT_THREADS: "lots" }, NODE);
    assert.notEqual(bad.status, 0);
    assert.match(bad.err, /BPTT_THREADS must be a positive integer or "auto", got "lots"/);
  });
});
