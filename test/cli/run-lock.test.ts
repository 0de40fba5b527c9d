/**
 * One writer per run directory, and a run that is interrupted (SIGINT, SIGTERM) saves a checkpoint,
 * says how to resume, and resumes to the same weights as a run never interrupted.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { LOCK_FILE, RunLock } from "../../src/cli/run-lock.js";
import { Rng } from "../../src/tensor/rng.js";
import { BIN, bptt } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "bptt-lock-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("the run directory's lock", () => {
  it("refuses a second writer, naming the holder; released, it can be taken again", () => {
    const run = join(dir, "a");
    const lock = RunLock.acquire(run);
    assert.throws(() => RunLock.acquire(run), new RegExp(`a is in use by another bptt train \\(pid ${process.pid} on ${hostname()}, since .*\\): wait for it to finish, or choose another --out`));
    lock.release();
    assert.ok(!existsSync(join(run, LOCK_FILE)));
    RunLock.acquire(run).release();
  });

  it("takes over a stale lock (its process is gone) and removes leftover temporary files", () => {
    const run = join(dir, "b");
    mkdirSync(run);
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(join(run, LOCK_FILE), JSON.stringify({ pid: Number(gone.stdout), host: hostname(), started: "yesterday" }));
    writeFileSync(join(run, ".model.safetensors.0123456789ab.tmp"), "left by a killed run");
    writeFileSync(join(run, "notes.tmp"), "not ours");
    const lock = RunLock.acquire(run);
    assert.equal(JSON.parse(readFileSync(join(run, LOCK_FILE), "utf8")).pid, process.pid);
    assert.deepEqual(readdirSync(run).sort(), [LOCK_FILE, "notes.tmp"]);
    lock.release();
  });

  it("a failed start leaves no empty run directory behind", () => {
    const run = join(dir, "never-made");
    RunLock.acquire(run).release();
    assert.ok(!existsSync(run));
  });
});

const rng = new Rng(9);
const words = "the cat sat on a mat and dog ran to big red house".split(" ");
const corpus = join(dir, "corpus.txt");
writeFileSync(corpus, `${Array.from({ length: 1500 }, () => Array.from({ length: 8 }, () => words[rng.int(words.length)]).join(" ")).join("\n")}\n`);
const args = (out: string): string[] => ["train", "--data", corpus, "--out", out, "--hidden", "24", "--batch", "8", "--epochs", "3", "--seed", "3", "--checkpoint-every", "1000"];

describe("two writers, and an interrupted run", () => {
  it("a second train on the same --out is refused; SIGINT saves, says how to resume; the resumed run ends bit-identical", async () => {
    const out = join(dir, "interrupted");
    const child = spawn(process.execPath, [BIN, ...args(out)], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // Wait until it trains (its first progress line), then try a second writer and interrupt the first.
    const deadline = Date.now() + 60_000;
    while (!/epoch 1\/3 /.test(stdout) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.throws(() => RunLock.acquire(out), new RegExp(`interrupted is in use by another bptt train \\(pid ${child.pid} on `));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /^bptt: interrupted \(SIGINT\) in epoch [1-3] after \d+ updates; checkpoint saved: continue with bptt train --resume .*interrupted\n$/);
    assert.ok(!existsSync(join(out, LOCK_FILE)), "the lock is released");
    assert.ok(!existsSync(join(out, "metrics.json")), "the run did not finish");

    const resumed = bptt(["train", "--resume", out]);
    assert.equal(resumed.status, 0, resumed.stderr);
    const straight = join(dir, "straight");
    assert.equal(bptt(args(straight)).status, 0);
    assert.ok(readFileSync(join(out, "model.safetensors")).equals(readFileSync(join(straight, "model.safetensors"))), "bit-identical weights");
  });
});
