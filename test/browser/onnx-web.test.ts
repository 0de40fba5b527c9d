/**
 * The ONNX export in a real browser: headless Chromium (harness.ts; skipped or failed as browser.test.ts is), loads
 * dist/src/index.js and dist/src/onnx.js as plain ES modules (an import map names @bufbuild/protobuf
 * and onnxruntime-web in node_modules — no bundler) and runs onnx-scenario.ts: bptt builds a model (an
 * LSTM, and an LSTM with a projection and peepholes, whose layers are Scans), exports it, and ONNX Runtime
 * Web (WebAssembly) runs the file. The file must be byte for byte the one Node.js exports, and ONNX
 * Runtime Web's outputs must equal bptt's own forward pass, to 1e-5.
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import * as bptt from "../../src/index.js";
import * as onnx from "../../src/onnx.js";
import { assertClose, bpttForward } from "../export/ort.js";
import { skipLine } from "./chromium.js";
import { launchChromium, openPage, pageResult, servePage } from "./harness.js";
import { B, LENGTHS, MODELS, type ModelName, type OnnxScenarioResult, T, chunk } from "./onnx-scenario.js";

/** What the page may load: the build, and the two packages it imports from node_modules. */
const SERVED = ["dist", "node_modules/@bufbuild/protobuf/dist/esm", "node_modules/onnxruntime-web/dist"];

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

describe("ONNX export in a browser (headless Chromium, onnxruntime-web)", () => {
  let server: Server;
  let browser: Browser | null = null;
  let unavailable = "";
  before(async () => {
    ({ browser, unavailable } = await launchChromium());
    if (browser) server = await servePage(PAGE, SERVED);
  });
  after(async () => {
    await browser?.close();
    server?.close();
  });

  it("exports in the browser the file Node.js exports, and ONNX Runtime Web runs it with bptt's outputs", async (t) => {
    if (!browser) {
      t.skip(skipLine(unavailable));
      return;
    }
    const { page, errors } = await openPage(browser, server);
    type Results = Record<ModelName, OnnxScenarioResult>;
    const outcome = await pageResult<{ ok: true; result: Results } | { ok: false; error: string }>(page, "onnxResult");
    assert.ok(outcome.ok, outcome.ok ? "" : outcome.error);
    assert.deepEqual(errors, []);
    await page.close();
    const results: Results = outcome.ok ? outcome.result : ({} as Results);

    for (const [name, config] of Object.entries(MODELS) as Array<[ModelName, (typeof MODELS)[ModelName]]>) {
      const { bytes, outputs }: OnnxScenarioResult = results[name];
      const model = new bptt.SequenceModel({ ...config });
      assert.deepEqual(
        bytes,
        Array.from(onnx.exportOnnx(model, { probabilities: true, sequenceLengths: true })),
        `${name}: the same bytes as in Node.js`,
      );
      const expected = bpttForward(model, { T, B, ...chunk(config), lengths: Int32Array.from(LENGTHS) });
      assertClose(Float32Array.from(outputs["logits"]!), expected.logits, `${name}: onnxruntime-web logits`);
      assertClose(Float32Array.from(outputs["hN"]!), expected.hN, `${name}: onnxruntime-web hN`);
      assertClose(Float32Array.from(outputs["cN"]!), expected.cN!, `${name}: onnxruntime-web cN`);
      const O = config.outputSize;
      for (let r = 0; r < T * B; r++) {
        const p = outputs["probabilities"]!.slice(r * O, (r + 1) * O);
        assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-6, `${name}, row ${r}: the probabilities sum to 1`);
      }
    }
  });
});
