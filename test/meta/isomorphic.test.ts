/**
 * The core must run unchanged in a browser: nothing outside src/cli, src/io and src/native (the addon loader) may import a Node.js
 * module or touch Node-only globals.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const NODE_ONLY = ["src/cli/", "src/io/", "src/native/", "src/node.ts"];
const BUILTINS = /\b(from|import)\s*\(?\s*["'](node:[^"']+|(fs|path|os|url|util|worker_threads|child_process|crypto|stream|zlib|process)(\/[^"']*)?)["']/;
const GLOBALS = /\b(process\.|Buffer\.|require\(|__dirname|__filename)/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : [];
  });
}

it("the core imports no Node.js module and uses no Node-only global", () => {
  const offenders: string[] = [];
  const files = sources(join(root, "src"));
  assert.ok(files.length > 20, `expected the sources under ${root}src, found ${files.length}`);
  for (const file of files) {
    const rel = relative(root, file).split("\\").join("/");
    if (NODE_ONLY.some((dir) => rel.startsWith(dir))) continue;
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      // Code only: not a // comment, nor a line inside a /** … */ block (generated files quote prose there).
      const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
      if (BUILTINS.test(code) || GLOBALS.test(code)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, [], `Node-only code in the isomorphic core:\n${offenders.join("\n")}`);
});

it("the detector itself catches a Node import", () => {
  assert.ok(BUILTINS.test('import { readFileSync } from "node:fs";'));
  assert.ok(BUILTINS.test('import fs from "fs/promises";'));
  assert.ok(BUILTINS.test('const m = await import("node:worker_threads");'));
  assert.ok(!BUILTINS.test('import { Tensor } from "../tensor/tensor.js";'));
  assert.ok(GLOBALS.test("const x = process.env.HOME;"));
});
