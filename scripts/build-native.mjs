// Builds the native backend (build/Release/bptt.node) from native/src/*.c with node-gyp, against the
// running Node's own headers (no download). Run by `npm install` / `npm ci` (the install script) and by
// `npm run build`.
//
//   node scripts/build-native.mjs            build when the sources, flags, compiler settings or Node changed
//   node scripts/build-native.mjs --force    build regardless
//
// First the N-API glue is regenerated from the kernel table (build-glue.mjs), where the table is (a
// checkout; an installed package compiles the generated files it ships in native/src).
//
// A failed build is not a failed install: the script prints one line ("bptt: native backend not built
// (…); using WebAssembly"), records the reason in build/native-build.json (which `bptt info` shows) and
// the compiler's output in build/native-build.log, and exits 0. The same failure is not retried (nor
// reported again) until something it depends on changes, or with --force. BPTT_SKIP_NATIVE=1 skips the
// build.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BUILD = join(ROOT, "build");
const ADDON = join(BUILD, "Release", "bptt.node");
const STATUS = join(BUILD, "native-build.json");
const LOG = join(BUILD, "native-build.log");
const SOURCES = join(ROOT, "native", "src");

/** SHA-256 over the sources, binding.gyp, this script, the Node ABI and the compiler environment. */
function buildHash() {
  const hash = createHash("sha256");
  for (const name of readdirSync(SOURCES).sort()) hash.update(name).update(readFileSync(join(SOURCES, name)));
  hash.update(readFileSync(join(ROOT, "binding.gyp")));
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  hash.update(`${process.version} ${process.versions.modules} ${process.platform} ${process.arch}`);
  for (const key of ["CC", "CXX", "CFLAGS", "LDFLAGS", "BPTT_SKIP_NATIVE"]) hash.update(`${key}=${process.env[key] ?? ""}`);
  return hash.digest("hex");
}

function readStatus() {
  try {
    return JSON.parse(readFileSync(STATUS, "utf8"));
  } catch {
    return null;
  }
}

function record(ok, reason, hash) {
  mkdirSync(BUILD, { recursive: true });
  writeFileSync(STATUS, `${JSON.stringify({ ok, reason, hash }, null, 2)}\n`);
}

/** node-gyp: npm's own (npm passes its path to scripts), else the copy bundled with npm next to node. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  return candidates.find((path) => path && existsSync(path)) ?? null;
}

/** Node's headers next to the running node (official builds and distribution packages ship them), so nothing is downloaded. */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : null;
}

function fail(reason, hash) {
  record(false, reason, hash);
  console.log(`bptt: native backend not built (${reason}); using WebAssembly`);
}

async function main() {
  const glue = join(ROOT, "scripts", "build-glue.mjs");
  if (existsSync(glue)) (await import(pathToFileURL(glue).href)).generateNativeGlue();
  const force = process.argv.includes("--force");
  const hash = buildHash();
  const status = readStatus();
  if (!force && status?.hash === hash && (status.ok ? existsSync(ADDON) : true)) return; // up to date, or the same failure already reported
  if (process.env.BPTT_SKIP_NATIVE === "1") return fail("BPTT_SKIP_NATIVE=1", hash);
  const gyp = nodeGyp();
  if (gyp === null) return fail("node-gyp not found", hash);
  const headers = nodeDir();
  if (headers === null) return fail("Node.js headers not found next to node (set npm_config_nodedir)", hash);
  const result = spawnSync(process.execPath, [gyp, "rebuild", `--nodedir=${headers}`], { cwd: ROOT, encoding: "utf8", env: process.env });
  mkdirSync(BUILD, { recursive: true });
  writeFileSync(LOG, `${result.stdout ?? ""}\n${result.stderr ?? ""}`);
  if (result.status !== 0 || !existsSync(ADDON)) {
    const lines = `${result.stderr ?? ""}\n${result.stdout ?? ""}`.split("\n").map((l) => l.trim());
    const first = lines.find((l) => /error|not found|No such file/i.test(l) && !l.startsWith("gyp info")) ?? result.error?.message ?? `exit ${result.status}`;
    return fail(`compiler failed: ${first.replace(/^gyp ERR! /, "").slice(0, 160)}; see build/native-build.log`, hash);
  }
  record(true, "built", hash);
}

await main();
