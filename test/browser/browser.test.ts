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
import { readFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { findChromium, skipLine } from "./chromium.js";
import * as bptt from "../../src/index.js";
import { type ScenarioResult, scenario } from "./scenario.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CI = process.env["CI"] === "true";
const lookup = findChromium();
if (!lookup.found && CI) throw new Error(`CI=true and the browser test cannot run: ${lookup.reason}`);
const TYPES: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".map": "application/json" };

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

/** Serves the repository's dist/ (and the test page) with the headers that make the page cross-origin isolated. */
function serve(): Promise<Server> {
  const server = createServer(async (request, response) => {
    const headers = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    if (path === "/") {
      response.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(PAGE);
      return;
    }
    const file = normalize(join(ROOT, path));
    if (!file.startsWith(join(ROOT, "dist"))) {
      response.writeHead(404, headers).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      response.writeHead(404, headers).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("in a browser (headless Chromium)", () => {
  let server: Server;
  let browser: Browser | null = null;
  let unavailable = lookup.found ? "" : lookup.reason;
  before(async () => {
    if (!lookup.found) return;
    server = await serve();
    browser = await chromium.launch({
      executablePath: lookup.path,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }).catch((error: unknown) => {
      // A Chromium that is there but cannot start (a missing system library, say) is a skip outside CI.
      unavailable = `${lookup.found ? lookup.source : ""} Chromium did not start (${String(error).split("\n")[0]}): ` +
        "install its libraries (apt-get install libnss3), or set BPTT_CHROMIUM";
      if (CI) throw error;
      return null;
    });
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
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (globalThis as { bpttResult?: unknown }).bpttResult !== undefined, null, { timeout: 120_000 });
    const outcome = await page.evaluate(() => (globalThis as unknown as { bpttResult: unknown }).bpttResult) as
      { ok: true; crossOriginIsolated: boolean; cores: number; result: ScenarioResult } | { ok: false; error: string };
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
