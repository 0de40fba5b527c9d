/**
 * The isomorphic core in a real browser: headless Chromium (the one `npm ci` installs, or another:
 * chromium.ts; driven by playwright-core) loads dist/src/index.js as plain ES modules from a local server — no bundler — and runs
 * scenario.ts: WebAssembly SIMD kernels selected with useBestKernels(), a TBPTT training run, evaluation
 * and sampling. The page is cross-origin isolated (COOP/COEP), so SharedArrayBuffer exists and the
 * wasm backend's large products may run on Web Workers. The result must equal, bit for bit, the same
 * scenario run here in Node.js on the same backend.
 *
 * With no Chromium the test is skipped with one line saying what to install; with CI=true it fails.
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { skipLine } from "./chromium.js";
import { launchChromium, openPage, pageResult, servePage } from "./harness.js";
import * as bptt from "../../src/index.js";
import { type ScenarioResult, scenario } from "./scenario.js";

const PAGE = `<!doctype html><meta charset="utf-8"><title>bptt in a browser</title>
<script type="module">
  try {
    const bptt = await import("/dist/src/index.js");
    const { scenario } = await import("/dist/test/browser/scenario.js");
    window.bpttResult = { ok: true, crossOriginIsolated, cores: navigator.hardwareConcurrency, result: await scenario(bptt) };
  } catch (error) {
    window.bpttResult = { ok: false, error: String(error && error.stack || error) };
  }
</script>`;

describe("in a browser (headless Chromium)", () => {
  let server: Server;
  let browser: Browser | null = null;
  let unavailable = "";
  before(async () => {
    ({ browser, unavailable } = await launchChromium());
    if (browser) server = await servePage(PAGE);
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  it("trains, evaluates and samples with the wasm-simd kernels, bit-identical to Node.js", async (t) => {
    if (!browser) {
      t.skip(skipLine(unavailable));
      return;
    }
    const { page, errors } = await openPage(browser, server);
    const outcome = await pageResult<
      { ok: true; crossOriginIsolated: boolean; cores: number; result: ScenarioResult } | { ok: false; error: string }
    >(page, "bpttResult");
    assert.ok(outcome.ok, outcome.ok ? "" : outcome.error);
    assert.deepEqual(errors, []);
    const inBrowser = outcome.result;
    assert.equal(inBrowser.backend, "wasm-simd");
    assert.ok(outcome.crossOriginIsolated, "the page is cross-origin isolated");
    assert.equal(inBrowser.threads, outcome.cores, "the kernels run on every core the browser reports, through Web Workers");
    assert.ok(inBrowser.losses[3]! < inBrowser.losses[0]!, `the loss falls: ${inBrowser.losses}`);

    // The same scenario in Node.js, on the same backend (this test process uses the core only: wasm-simd, one thread).
    const inNode = await scenario(bptt);
    assert.equal(inNode.backend, "wasm-simd");
    assert.deepEqual({ ...inBrowser, threads: 0 }, { ...inNode, threads: 0 }, "bit-identical in the browser and in Node.js");
    await page.close();
  });
});
