/**
 * `--threads N`: checked like every flag, and a speed setting only — `bptt train` writes the same
 * model bytes on 1 and 2 threads (hidden 64, batch 32, k1 10: the all-steps products such as
 * (320×64)·(64×256), 10⁷ operations, are split).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../../bin/bptt.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bptt-threads-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function bptt(...args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, BPTT_THREADS: "" } });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe("bptt --threads", () => {
  it("refuses a count that is not a positive integer, in one line", () => {
    for (const command of [["train"], ["generate", "--model", dir], ["eval", "--model", dir, "--data", dir], ["predict", "--model", dir, "--data", dir]]) {
      const r = bptt(...command, "--threads", "0");
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, 'bptt: --threads must be an integer ≥ 1, got "0"\n');
    }
  });

  it("train writes bit-identical models on 1 and 2 threads", () => {
    const text = join(dir, "text.txt");
    writeFileSync(text, "the quick brown fox jumps over the lazy dog. ".repeat(60));
    const models: Buffer[] = [];
    for (const threads of ["1", "2"]) {
      const out = join(dir, `run-${threads}`);
      const r = bptt("train", "--data", text, "--hidden", "64", "--batch", "32", "--k1", "10", "--epochs", "1", "--seed", "3", "--out", out, "--threads", threads);
      assert.equal(r.status, 0, r.stderr);
      models.push(readFileSync(join(out, "model.safetensors")));
    }
    assert.ok(models[0]!.equals(models[1]!), "model.safetensors differs between 1 and 2 threads");
  });
});
