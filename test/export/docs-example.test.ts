/**
 * docs/onnx.md's example runs as written: its ```js block that imports "bptt" and "bptt/onnx" is run
 * from a directory inside this package, so that both names resolve to the package itself (as they do
 * for a user who installed it) and onnxruntime-node to its devDependency; it prints what the comment says.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const docs = readFileSync(join(root, "docs", "onnx.md"), "utf8");
const examples = [...docs.matchAll(/```js\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((code) => code.includes('from "bptt/onnx"'));

it("docs/onnx.md's example exports a model and runs it in ONNX Runtime, printing what it says", () => {
  assert.equal(examples.length, 1);
  const code = examples[0]!;
  const printed = /console\.log\(.*\/\/ (.*)\n/.exec(code)?.[1];
  assert.ok(printed, "the example says what it prints");
  mkdirSync(join(root, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(root, ".tmp", "docs-onnx-"));
  try {
    writeFileSync(join(dir, "example.mjs"), code);
    const run = spawnSync(process.execPath, [join(dir, "example.mjs")], { encoding: "utf8", timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), printed.trim());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
