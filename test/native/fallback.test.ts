/**
 * Without the native addon bptt still installs and runs, on WebAssembly, and says so:
 * 1. the build script, when the compiler fails (CC=false CXX=false, in a copy of the sources so this
 *    checkout's build is untouched), prints one line and exits 0, records the reason, and does not
 *    retry (nor print again) until something changes;
 * 2. with the addon missing (BPTT_NATIVE_ADDON pointing nowhere), bptt/node selects wasm-simd and
 *    says why; BPTT_BACKEND=native is then an error; `bptt info` reports it.
 * With the addon present, bptt/node prefers it (BPTT_BACKEND unset).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { nativeKernels } from "../kernels/conformance.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const NODE_ENTRY = join(ROOT, "dist", "src", "node.js");
const CLI = join(ROOT, "bin", "bptt.js");

function node(args: string[], env: Record<string, string | undefined>, cwd = ROOT) {
  const environment: Record<string, string | undefined> = { ...process.env };
  for (const key of ["BPTT_BACKEND", "BPTT_NATIVE_ADDON", "BPTT_THREADS", "BPTT_NATIVE_ISA"]) delete environment[key];
  Object.assign(environment, env);
  const r = spawnSync(process.execPath, args, { env: environment as NodeJS.ProcessEnv, cwd, encoding: "utf8" });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const selection = (env: Record<string, string | undefined>) =>
  node(["--input-type=module", "-e", `import * as m from ${JSON.stringify(NODE_ENTRY)}; console.log(JSON.stringify(m.kernelsInfo()))`], env);

describe("native fallback", () => {
  it("a failing compiler: one line, exit 0, the reason recorded, no retry", () => {
    const dir = mkdtempSync(join(tmpdir(), "bptt-native-"));
    try {
      for (const path of ["native/src", "binding.gyp", "scripts/build-native.mjs"]) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
      const broken = { CC: "false", CXX: "false" };
      const first = node(["scripts/build-native.mjs"], broken, dir);
      assert.equal(first.status, 0, first.err);
      assert.match(first.out, /^bptt: native backend not built \(compiler failed: [^\n]*\); using WebAssembly\n$/);
      const status = JSON.parse(readFileSync(join(dir, "build", "native-build.json"), "utf8")) as { ok: boolean; reason: string };
      assert.equal(status.ok, false);
      assert.match(status.reason, /compiler failed/);
      const again = node(["scripts/build-native.mjs"], broken, dir);
      assert.equal(again.status, 0);
      assert.equal(again.out, "", "the same failure is reported once");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("addon missing: bptt/node runs on wasm-simd and says why; BPTT_BACKEND=native is an error", () => {
    const missing = { BPTT_NATIVE_ADDON: join(ROOT, "no-such-addon.node") };
    const r = selection(missing);
    assert.equal(r.status, 0, r.err);
    const info = JSON.parse(r.out) as { name: string; reason: string };
    assert.equal(info.name, "wasm-simd");
    assert.match(info.reason, /^native backend not built \(.*no-such-addon\.node\); WebAssembly SIMD available/);
    const forced = selection({ ...missing, BPTT_BACKEND: "native" });
    assert.notEqual(forced.status, 0);
    assert.match(forced.err, /BPTT_BACKEND=native, but native backend not built/);
  });

  it("addon missing: `bptt info` reports the backend, the reason, the CPU features and threads", () => {
    const r = node([CLI, "info", "--json"], { BPTT_NATIVE_ADDON: join(ROOT, "no-such-addon.node") });
    assert.equal(r.status, 0, r.err);
    const report = JSON.parse(r.out) as { backend: string; threads: number; native: { loaded: boolean; reason: string }; cpuFeatures: string[] };
    assert.match(report.backend, /^wasm-simd/);
    assert.equal(report.native.loaded, false);
    assert.match(report.native.reason, /native backend not built/);
    assert.ok(Array.isArray(report.cpuFeatures));
    assert.ok(report.threads >= 1);
  });

  if (nativeKernels !== null) {
    it("addon present: bptt/node prefers it; BPTT_THREADS sets its threads; `bptt info` says so", () => {
      const r = selection({ BPTT_THREADS: "1" });
      assert.equal(r.status, 0, r.err);
      const info = JSON.parse(r.out) as { name: string; reason: string };
      assert.equal(info.name, "native");
      assert.match(info.reason, /^native addon loaded: native \(\w+ \d+x\d+ GEMM, 1 thread\)/);
      const cli = node([CLI, "info", "--json"], { BPTT_THREADS: "2" });
      const report = JSON.parse(cli.out) as { backend: string; threads: number; nativeIsa: string };
      assert.equal(report.threads, 2);
      assert.match(report.backend, /^native/);
      assert.ok(["avx512", "avx2", "generic"].includes(report.nativeIsa));
      const bad = selection({ BPTT_THREADS: "zero" });
      assert.notEqual(bad.status, 0);
    });
  }
});
