/**
 * The TBPTT playground in a real browser (issue #16): the built page (`npm run playground:build`)
 * served by `vite preview` with its cross-origin-isolation headers, driven by Playwright in headless
 * Chromium, every number read from the page itself. Between the page and the CLI the same files
 * travel both ways: a model downloaded from the page is read by `bptt generate` / `bptt eval`, and a
 * run trained by `bptt train` is dropped onto the page. The CLI runs on the wasm-simd backend
 * (BPTT_BACKEND=wasm), the page's, so greedy texts must agree character for character.
 *
 * Chromium is the browser tests' (test/browser/harness.ts): without one every step is skipped with one
 * line saying what to install, and with CI=true that is a failure. Screenshots of every state go to
 * dist/test-output/playground/ (BPTT_PLAYGROUND_OUTPUT).
 * Run with `npm run test:playground` (about a minute on 2 cores; not part of `npm test`).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import type { PreviewServer } from "vite";
import { skipLine } from "../../test/browser/chromium.js";
import { launchChromium } from "../../test/browser/harness.js";
import { BIN, OUTPUT, Playground, ROOT, servePlayground } from "./page-driver.js";

const MINUTE = 60_000;
const work = mkdtempSync(join(tmpdir(), "bptt-playground-"));

/** `bptt …` on the wasm-simd backend; returns stdout, failing the test on a non-zero exit. */
function bptt(...args: string[]): string {
  const run = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, BPTT_BACKEND: "wasm" },
  });
  assert.equal(run.status, 0, `bptt ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

/** English-like lines from a small seeded grammar: something a character model learns in seconds. */
function corpus(lines: number, seed: number): string {
  let state = seed;
  const pick = <T>(items: readonly T[]): T => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return items[state % items.length]!;
  };
  const subjects = ["The cat", "A dog", "The old man", "My sister", "The bird", "Our teacher"];
  const verbs = ["sat", "ran", "sang", "slept", "waited", "looked"];
  const places = ["on the mat.", "in the garden.", "by the river.", "under the tree.", "near the house."];
  return Array.from({ length: lines }, () => `${pick(subjects)} ${pick(verbs)} ${pick(places)}`).join("\n") + "\n";
}

describe("the TBPTT playground in headless Chromium", () => {
  let server: PreviewServer | null = null;
  let browser: Browser | null = null;
  let unavailable = "";
  let playground: Playground;

  before(async () => {
    ({ browser, unavailable } = await launchChromium());
    if (!browser) return;
    let url: string;
    ({ server, url } = await servePlayground());
    playground = await Playground.open(browser, url);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    rmSync(work, { recursive: true, force: true });
    if (browser) console.log(`screenshots: ${OUTPUT}`);
  });

  /** A step on the page: skipped with the browser tests' one line where there is no Chromium (fails under CI=true). */
  const step = (name: string, body: () => Promise<void>): void => {
    it(name, async (t) => {
      if (!browser) {
        t.skip(skipLine(unavailable));
        return;
      }
      await body();
    });
  };

  step("is served cross-origin isolated and trains on the wasm-simd kernels on every core, in a worker", async () => {
    const record = await playground.record();
    assert.equal(record.backend?.name, "wasm-simd");
    assert.ok(record.backend?.crossOriginIsolated, "COOP/COEP make the page cross-origin isolated");
    const cores = await playground.page.evaluate(() => navigator.hardwareConcurrency);
    assert.equal(record.backend?.threads, cores, "the kernels run on a thread per core");
    await playground.screenshot("start");
  });

  step(
    "sentiment, a loss every 30 words, TBPTT(30, 30): ≥ 90% held out; pause and resume while it trains",
    async () => {
      await playground.configure("sentiment", { k1: "30", k2: "30" }, "every-chunk");
      await playground.page.click("#start");
      await playground.waitForState(["running"], 30_000);
      // The page answers while the worker trains: a frame is drawn, and pause takes effect at once.
      const frame = await playground.page.evaluate(() => {
        const t0 = performance.now();
        return new Promise<number>((resolve) => requestAnimationFrame(() => resolve(performance.now() - t0)));
      });
      assert.ok(frame < 1000, `a frame within a second while training, took ${frame} ms`);
      await playground.page.click("#pause");
      await playground.waitForState(["paused"], 5_000);
      const paused = await playground.tile("stat-updates");
      await playground.page.waitForTimeout(500);
      assert.equal(await playground.tile("stat-updates"), paused, "no update while paused");
      await playground.screenshot("sentiment-paused");
      await playground.page.click("#resume");
      await playground.waitForState(["finished"], 5 * MINUTE);
      const accuracy = await playground.tile("stat-heldout-accuracy");
      assert.ok(accuracy >= 0.9, `held-out accuracy ${accuracy}`);
      assert.match((await playground.page.textContent("#diagram-text")) ?? "", /reaches the opening/);
      await playground.screenshot("sentiment-every-chunk-learned");
      await playground.page.evaluate(() => window.scrollTo(0, 0));
      await playground.screenshot("readme", { fullPage: false }); // docs/playground.png

      // The downloaded classifier, and the held-out texts, in `bptt eval`: the same accuracy.
      const dir = mkdtempSync(join(work, "sentiment-"));
      assert.deepEqual((await playground.download("#download-model", 2, dir)).sort(), [
        "config.json",
        "model.safetensors",
      ]);
      assert.deepEqual(await playground.download("#download-data", 1, dir), ["sentiment-held-out.jsonl"]);
      const evaluation = JSON.parse(
        bptt("eval", "--model", dir, "--data", join(dir, "sentiment-held-out.jsonl"), "--json"),
      ) as { accuracy: number };
      assert.equal(evaluation.accuracy, accuracy, "bptt eval on the page's held-out texts gives the page's accuracy");
    },
  );

  step(
    "sentiment, the loss at the end and k2 = 10 far shorter than the opening's ~100 words: near chance",
    async () => {
      await playground.configure("sentiment", { k1: "∞", k2: "10" }, "end");
      await playground.page.locator("#k2").dispatchEvent("change");
      assert.match((await playground.page.textContent("#diagram-text")) ?? "", /never reaches the opening/);
      await playground.train(5 * MINUTE);
      const accuracy = await playground.tile("stat-heldout-accuracy");
      assert.ok(accuracy <= 0.65, `held-out accuracy ${accuracy} should stay near chance`);
      await playground.screenshot("sentiment-end-k2-10-chance");
    },
  );

  step("char LM on pasted text: its loss falls; bptt generate on its files gives the page's greedy text", async () => {
    await playground.configure("char-lm", {
      hidden: "64",
      embedding: "16",
      lr: "0.01",
      epochs: "4",
      strips: "16",
      k1: "25",
      k2: "25",
    });
    await playground.page.fill("#corpus", corpus(1500, 11));
    const record = await playground.train(5 * MINUTE);
    const first = record.heldOut[0]!;
    const last = record.heldOut[record.heldOut.length - 1]!;
    assert.equal(first.update, 0);
    assert.ok(last.loss < 0.5 * first.loss, `held-out loss ${first.loss} → ${last.loss}`);
    assert.ok(record.train[record.train.length - 1]!.loss < record.train[0]!.loss, "the training loss falls");
    await playground.page.fill("#prime", "The ");
    await playground.page.fill("#sample-length", "200");
    const greedy = await playground.sample("#greedy");
    assert.ok(greedy.startsWith("The ") && greedy.length > 100, greedy);
    await playground.sample("#sample"); // temperature 0.8: a different text, just drawn
    await playground.screenshot("char-lm-trained");

    const dir = mkdtempSync(join(work, "char-lm-"));
    assert.deepEqual((await playground.download("#download-model", 2, dir)).sort(), [
      "config.json",
      "model.safetensors",
    ]);
    const cli = bptt("generate", "--model", dir, "--prime", "The ", "--length", "200", "--top-k", "1");
    assert.equal(
      cli,
      `${greedy}${greedy.endsWith("\n") ? "" : "\n"}`,
      "bptt generate --top-k 1 prints the page's greedy text",
    );
  });

  step("a model trained by bptt train, dropped onto the page, samples the CLI's greedy text", async () => {
    const dir = mkdtempSync(join(work, "cli-run-"));
    const data = join(dir, "corpus.txt");
    writeFileSync(data, corpus(800, 5));
    const run = join(dir, "run");
    bptt(
      "train",
      "--task",
      "lm",
      "--data",
      data,
      "--cell",
      "gru",
      "--hidden",
      "48",
      "--embedding",
      "16",
      "--k1",
      "20",
      "--epochs",
      "2",
      "--batch",
      "16",
      "--out",
      run,
    );
    const cli = bptt("generate", "--model", run, "--prime", "A dog ", "--length", "150", "--top-k", "1");
    await playground.page.click("#reset");
    await playground.page.fill("#prime", "A dog ");
    await playground.page.fill("#sample-length", "150");
    await playground.page.setInputFiles("#run-files", [
      join(run, "config.json"),
      join(run, "model.safetensors"),
      join(run, "metrics.json"),
    ]);
    await playground.waitForState(["loaded"], 30_000);
    const greedy = await playground.sample("#greedy");
    assert.equal(cli, `${greedy}${greedy.endsWith("\n") ? "" : "\n"}`, "the page's greedy text is the CLI's");
    await playground.page.fill("#eval-text", corpus(200, 99));
    await playground.page.click("#evaluate");
    await playground.page.waitForFunction(() =>
      (document.getElementById("eval-output")?.textContent ?? "").includes("bits per character"),
    );
    await playground.screenshot("cli-model-dropped");
  });

  step("bad input gets a clear message: an empty paste, a binary file, an oversized file, half a run", async () => {
    await playground.page.click("#reset");
    await playground.configure("char-lm");
    await playground.page.fill("#corpus", "   \n ");
    await playground.page.click("#start");
    await playground.notice(/the pasted text is empty/);
    assert.equal((await playground.record()).state, "idle");
    await playground.screenshot("bad-empty-paste");

    const binary = join(work, "picture.png");
    writeFileSync(binary, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
    await playground.page.setInputFiles("#corpus-file", binary);
    await playground.notice(/“picture\.png” looks like a binary file/);
    await playground.screenshot("bad-binary-file");

    const big = join(work, "huge.txt");
    writeFileSync(big, Buffer.alloc(10 * 1024 * 1024 + 1, 0x61));
    await playground.page.setInputFiles("#corpus-file", big);
    await playground.notice(/“huge\.txt” is 10\.0 MB: the playground takes texts of at most 10\.0 MB/);
    await playground.screenshot("bad-oversized-file");

    const lone = join(work, "config.json");
    writeFileSync(lone, readFileSync(join(ROOT, "package.json")));
    await playground.page.setInputFiles("#run-files", lone);
    await playground.notice(/model\.safetensors is missing/);
    const garbage = join(work, "model.safetensors");
    writeFileSync(garbage, Buffer.from("not a safetensors file at all"));
    await playground.page.setInputFiles("#run-files", [lone, garbage]);
    await playground.notice(/config\.json: not a bptt run configuration/);
    await playground.screenshot("bad-run-files");
  });

  step("one-anywhere and framewise labelling train and plot; bptt eval reads a framewise model", async () => {
    await playground.configure("one-anywhere", { epochs: "20" });
    let record = await playground.train(3 * MINUTE);
    assert.ok(record.heldOut.length >= 2 && record.train.length >= 2);
    await playground.screenshot("one-anywhere");
    await playground.configure("framewise", { epochs: "3", k1: "10", k2: "10" });
    record = await playground.train(3 * MINUTE);
    const [first, last] = [record.heldOut[0]!, record.heldOut[record.heldOut.length - 1]!];
    assert.ok(
      last.accuracy! > first.accuracy! + 0.2,
      `framewise held-out accuracy ${first.accuracy} → ${last.accuracy}`,
    );
    await playground.screenshot("framewise");

    // Feature inputs and per-step labels (task "label"): the CLI reads the page's files as its own.
    const dir = mkdtempSync(join(work, "framewise-"));
    await playground.download("#download-model", 2, dir);
    assert.deepEqual(await playground.download("#download-data", 1, dir), ["framewise-held-out.jsonl"]);
    const evaluation = JSON.parse(
      bptt("eval", "--model", dir, "--data", join(dir, "framewise-held-out.jsonl"), "--json"),
    ) as {
      accuracy: number;
    };
    assert.equal(evaluation.accuracy, await playground.tile("stat-heldout-accuracy"));
    assert.deepEqual(playground.errors, [], "no uncaught error in the page");
  });
});
