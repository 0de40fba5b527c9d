/**
 * The ONNX export in a real browser: headless Chromium, launched as browser.test.ts launches it, loads
 * dist/src/index.js and dist/src/onnx.js as plain ES modules (an import map names @bufbuild/protobuf
 * and onnxruntime-web in node_modules — no bundler) and runs onnx-scenario.ts: bptt builds a model,
 * exports it, and ONNX Runtime Web (WebAssembly) runs the file. The file must be byte for byte the one
 * Node.js exports, and ONNX Runtime Web's outputs must equal bptt's own forward pass, to 1e-5.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import * as bptt from "../../src/index.js";
import * as onnx from "../../src/onnx.js";
import { assertClose, bpttForward } from "../export/ort.js";
import { B, LENGTHS, MODEL, type OnnxScenarioResult, T, chunk } from "./onnx-scenario.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CHROMIUM = process.env["BPTT_CHROMIUM"] ?? "/usr/bin/chromium";
/** What the page may load: the build, and the two packages it imports from node_modules. */
const SERVED = ["dist", "node_modules/@bufbuild/protobuf/dist/esm", "node_modules/onnxruntime-web/dist"].map((dir) =>
  join(ROOT, dir),
);
const TYPES: Record<string, string> = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".html": "text/html",
};

const IMPORTS = {
  "@bufbuild/protobuf": "/node_modules/@bufbuild/protobuf/dist/esm/index.js",
  "@bufbuild/protobuf/codegenv2": "/node_modules/@bufbuild/protobuf/dist/esm/codegenv2/index.js",
  "onnxruntime-web/wasm": "/node_modules/onnxruntime-web/dist/ort.wasm.bundle.min.mjs",
};

const PAGE = `<!doctype html><meta charset="utf-8"><title>bptt ONNX export in a browser</title>
<script type="importmap">${JSON.stringify({ imports: IMPORTS })}</script>
<script type="module">
  try {
    const bptt = await import("/dist/src/index.js");
    const onnx = await import("/dist/src/onnx.js");
    const ort = await import("onnxruntime-web/wasm");
    const { onnxScenario } = await import("/dist/test/browser/onnx-scenario.js");
    window.onnxResult = { ok: true, result: await onnxScenario(bptt, onnx, ort) };
  } catch (error) {
    window.onnxResult = { ok: false, error: String(error && error.stack || error) };
  }
</script>`;

function serve(): Promise<Server> {
  const server = createServer(async (request, response) => {
    const headers = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    if (path === "/") {
      response.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(PAGE);
      return;
    }
    const file = normalize(join(ROOT, path));
    if (!SERVED.some((dir) => file.startsWith(dir))) {
      response.writeHead(404, headers).end();
      return;
    }
    try {
      const body = await readFile(file);
      response
        .writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" })
        .end(body);
    } catch {
      response.writeHead(404, headers).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

describe("ONNX export in a browser (headless Chromium, onnxruntime-web)", () => {
  let server: Server;
  let browser: Browser;
  before(async () => {
    server = await serve();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  it("exports in the browser the file Node.js exports, and ONNX Runtime Web runs it with bptt's outputs", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (globalThis as { onnxResult?: unknown }).onnxResult !== undefined, null, {
      timeout: 120_000,
    });
    const outcome = (await page.evaluate(() => (globalThis as unknown as { onnxResult: unknown }).onnxResult)) as
      { ok: true; result: OnnxScenarioResult } | { ok: false; error: string };
    assert.ok(outcome.ok, outcome.ok ? "" : outcome.error);
    assert.deepEqual(errors, []);
    await page.close();
    const { bytes, outputs } = outcome.result;

    const model = new bptt.SequenceModel({ ...MODEL });
    assert.deepEqual(
      bytes,
      Array.from(onnx.exportOnnx(model, { probabilities: true, sequenceLengths: true })),
      "the same bytes as in Node.js",
    );
    const expected = bpttForward(model, { T, B, ...chunk(), lengths: Int32Array.from(LENGTHS) });
    assertClose(Float32Array.from(outputs["logits"]!), expected.logits, "onnxruntime-web logits");
    assertClose(Float32Array.from(outputs["hN"]!), expected.hN, "onnxruntime-web hN");
    assertClose(Float32Array.from(outputs["cN"]!), expected.cN!, "onnxruntime-web cN");
    const O = MODEL.outputSize;
    for (let r = 0; r < T * B; r++) {
      const p = outputs["probabilities"]!.slice(r * O, (r + 1) * O);
      assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-6, `row ${r}: the probabilities sum to 1`);
    }
  });
});
