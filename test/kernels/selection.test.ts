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

function select(env: string | undefined, flags: string[] = [], script = "console.log(JSON.stringify(m.kernelsInfo()))") {
  const environment = { ...process.env };
  delete environment["BPTT_BACKEND"];
  if (env !== undefined) environment["BPTT_BACKEND"] = env;
  const result = spawnSync(process.execPath, [...flags, "--input-type=module", "-e", `import * as m from ${JSON.stringify(INDEX)}; ${script}`], {
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
    assert.deepEqual(answer(select("reference")), { name: "reference", reason: "BPTT_BACKEND=reference" });
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
    assert.deepEqual(answer(set), { name: "reference", reason: "set by setKernels" });
    const best = select(undefined, [], "const k = await m.useBestKernels(); console.log(JSON.stringify({ name: k.name, same: k === m.kernels() }))");
    assert.deepEqual(answer(best), { name: "wasm-simd", same: true });
  });
});
