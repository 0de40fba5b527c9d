/**
 * `bptt train --resume`: a run killed with SIGKILL in the middle ends, once resumed, with weights
 * bit-identical to a run that was never interrupted (same seed, dropout, a kept window with k2 > k1).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Rng } from "../../src/tensor/rng.js";

const bin = fileURLToPath(new URL("../../../bin/bptt.js", import.meta.url));

function corpus(path: string): void {
  const rng = new Rng(7);
  const words = "the cat sat on a mat and dog ran to big red house in it was".split(" ");
  const lines = Array.from({ length: 400 }, () => Array.from({ length: 4 + rng.int(8) }, () => words[rng.int(words.length)]).join(" "));
  writeFileSync(path, `${lines.join("\n")}\n`);
}

const made: string[] = [];
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it("a run killed with SIGKILL and resumed ends bit-identical to an uninterrupted one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bptt-resume-"));
  made.push(dir);
  const data = join(dir, "corpus.txt");
  corpus(data);
  const args = (out: string) => [
    bin, "train", "--data", data, "--out", out, "--hidden", "24", "--layers", "2", "--dropout", "0.2", "--batch", "8",
    "--k1", "10", "--k2", "25", "--epochs", "3", "--checkpoint-every", "4", "--seed", "5",
  ];

  const straight = spawnSync(process.execPath, args(join(dir, "straight")), { encoding: "utf8" });
  assert.equal(straight.status, 0, straight.stderr);

  const killedDir = join(dir, "killed");
  const child = spawn(process.execPath, args(killedDir), { stdio: "ignore" });
  const checkpoint = join(killedDir, "checkpoint.safetensors");
  const deadline = Date.now() + 60_000;
  let seen = 0;
  // Wait for the second checkpoint to be written (so the first has been replaced), then kill.
  while (Date.now() < deadline) {
    if (existsSync(checkpoint)) {
      const stamp = statSync(checkpoint).mtimeMs;
      if (stamp !== seen) {
        if (seen !== 0) break;
        seen = stamp;
      }
    }
    await sleep(5);
  }
  child.kill("SIGKILL");
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on("exit", (c, s) => resolve([c, s])));
  assert.equal(signal, "SIGKILL", `the run finished (exit ${code}) before it could be killed: make it longer`);
  assert.ok(!existsSync(join(killedDir, "metrics.json")), "the killed run must not have reached its end");

  const resumed = spawnSync(process.execPath, [bin, "train", "--resume", killedDir], { encoding: "utf8" });
  assert.equal(resumed.status, 0, resumed.stderr);
  const expected = readFileSync(join(dir, "straight", "model.safetensors"));
  const actual = readFileSync(join(killedDir, "model.safetensors"));
  assert.ok(expected.equals(actual), "the resumed run's weights differ from the uninterrupted run's");
  const metrics = (file: string) => JSON.parse(readFileSync(file, "utf8")) as { updates: number };
  assert.equal(metrics(join(killedDir, "metrics.json")).updates, metrics(join(dir, "straight", "metrics.json")).updates);
});

it("--resume refuses changed settings and a missing run, in one line", () => {
  const dir = mkdtempSync(join(tmpdir(), "bptt-resume-bad-"));
  made.push(dir);
  const missing = spawnSync(process.execPath, [bin, "train", "--resume", join(dir, "nothing")], { encoding: "utf8" });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^bptt: .*config\.json: no such run configuration\n$/);
  const data = join(dir, "corpus.txt");
  corpus(data);
  const out = join(dir, "run");
  const first = spawnSync(process.execPath, [bin, "train", "--data", data, "--out", out, "--hidden", "8", "--epochs", "1", "--batch", "8"], { encoding: "utf8" });
  assert.equal(first.status, 0, first.stderr);
  const changed = spawnSync(process.execPath, [bin, "train", "--resume", out, "--hidden", "16"], { encoding: "utf8" });
  assert.equal(changed.status, 2);
  assert.match(changed.stderr, /^bptt: --resume .*hidden = 8.*\n$/);
  const again = spawnSync(process.execPath, [bin, "train", "--data", data, "--out", out], { encoding: "utf8" });
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already holds a run/);
  const more = spawnSync(process.execPath, [bin, "train", "--resume", out, "--epochs", "2"], { encoding: "utf8" });
  assert.equal(more.status, 0, more.stderr);
  assert.equal((JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as { epochs: unknown[] }).epochs.length, 2);
});
