/**
 * Which Chromium the browser test drives, looked for in this order:
 *
 *   1. BPTT_CHROMIUM=/path/to/chromium, when set (it must exist);
 *   2. the headless Chromium that `npm ci` installs from the npm registry (the dev dependency
 *      @sparticuz/chromium ships a brotli-compressed Linux x64 build inside its tarball: nothing is
 *      downloaded). It is unpacked once, here, into node_modules/.cache/bptt/, and needs only the
 *      system's libnss3, libnspr4 and libexpat1, which a Debian machine of this kind has;
 *   3. Debian's /usr/bin/chromium.
 *
 * None found (another platform, say): the test is skipped with one line that says what to install,
 * unless CI=true, where a missing browser fails the suite.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { brotliDecompressSync } from "node:zlib";

export type ChromiumLookup = { found: true; path: string; source: string } | { found: false; reason: string };

const INSTALL_HINT =
  "run `npm ci` on Linux x64 (it installs @sparticuz/chromium), `apt-get install chromium`, or set BPTT_CHROMIUM=/path/to/chromium";

export function findChromium(): ChromiumLookup {
  const given = process.env["BPTT_CHROMIUM"];
  if (given) {
    return existsSync(given)
      ? { found: true, path: given, source: "BPTT_CHROMIUM" }
      : { found: false, reason: `BPTT_CHROMIUM=${given} does not exist` };
  }
  const packaged = unpackRegistryChromium();
  if (packaged) return { found: true, path: packaged, source: "@sparticuz/chromium (npm)" };
  if (existsSync("/usr/bin/chromium")) return { found: true, path: "/usr/bin/chromium", source: "/usr/bin/chromium" };
  return { found: false, reason: `no Chromium found: ${INSTALL_HINT}` };
}

/** The test's one line when the browser cannot run. */
export function skipLine(reason: string): string {
  return `browser test skipped: ${reason}`;
}

/** The path of the unpacked npm Chromium, or null where the package is absent or not for this platform. */
function unpackRegistryChromium(): string | null {
  if (process.platform !== "linux" || process.arch !== "x64") return null;
  let root: string;
  try {
    const entry = createRequire(import.meta.url).resolve("@sparticuz/chromium");
    root = entry.slice(0, entry.lastIndexOf("/build/"));
  } catch {
    return null;
  }
  const packed = join(root, "bin", "chromium.br");
  if (!existsSync(packed)) return null;
  const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
  const cache = join(root, "..", "..", ".cache", "bptt", `chromium-${version}`);
  const binary = join(cache, "chromium");
  const size = statSync(packed).size;
  const stamp = join(cache, "packed-size");
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, "utf8") === String(size)) return binary;
  // One unpacked version at a time (190 MB each): those of earlier versions go.
  const parent = join(cache, "..");
  if (existsSync(parent)) {
    for (const name of readdirSync(parent)) if (name.startsWith("chromium-") && join(parent, name) !== cache) rmSync(join(parent, name), { recursive: true, force: true });
  }
  mkdirSync(cache, { recursive: true });
  // Unpacked beside the target, then renamed: two test processes never see half a binary.
  const temporary = `${binary}.${process.pid}.tmp`;
  writeFileSync(temporary, brotliDecompressSync(readFileSync(packed)));
  chmodSync(temporary, 0o755);
  renameSync(temporary, binary);
  writeFileSync(stamp, String(size));
  return binary;
}
