/**
 * The README's code examples are part of the API's documentation: each ```ts block that imports from
 * "bptt" must run as written against the built package (the import rewritten to dist/src/index.js).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const readme = readFileSync(fileURLToPath(new URL("../../../README.md", import.meta.url)), "utf8");
const entry = pathToFileURL(fileURLToPath(new URL("../../src/index.js", import.meta.url))).href;
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => code.includes('from "bptt"'));

it("the README has code examples that import bptt", () => {
  assert.ok(blocks.length >= 2, `found ${blocks.length} examples`);
});

for (const [index, code] of blocks.entries()) {
  it(`README example ${index + 1} runs as written`, () => {
    const dir = mkdtempSync(join(tmpdir(), "bptt-readme-"));
    try {
      const file = join(dir, `example-${index + 1}.mjs`);
      writeFileSync(file, code.replaceAll('from "bptt"', `from ${JSON.stringify(entry)}`));
      const run = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 60_000 });
      assert.equal(run.status, 0, `example ${index + 1} failed:\n${run.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
