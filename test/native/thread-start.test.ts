/**
 * The native thread pool's start: a GEMM split across threads right after the workers are created must
 * finish even when the system starts the workers late. BPTT_NATIVE_TEST_WORKER_DELAY_US delays every
 * worker's start (native/src/threads.c), so the first split GEMM is handed out before any worker runs;
 * a worker that counted tasks from the generation it found on starting would never acknowledge that
 * one, and the caller would wait forever (the child is then killed by the timeout).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { nativeKernels } from "../kernels/conformance.js";

const child = `
  const { createNativeKernels } = await import(${JSON.stringify(fileURLToPath(new URL("../../src/native/index.js", import.meta.url)))});
  const k = createNativeKernels({ threads: 2 });
  const n = 256; // 2·n³ flops: well above the split threshold
  const a = k.allocate(n * n).fill(1), b = k.allocate(n * n).fill(1), c = k.allocate(n * n);
  for (let i = 0; i < 3; i++) k.gemm(false, false, n, n, n, a, 0, n, b, 0, n, false, c, 0, n);
  process.stdout.write(String(c[0]) + " " + k.threads);
`;

it("a GEMM split across threads finishes when the workers start after it was handed out", { skip: nativeKernels === null ? "no native addon" : false }, () => {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", child], {
    encoding: "utf8", timeout: 30_000, env: { ...process.env, BPTT_NATIVE_TEST_WORKER_DELAY_US: "200000" },
  });
  assert.equal(r.signal, null, `the child hung (killed by ${r.signal}): a worker missed the first task`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "256 2");
});
