/**
 * What every browser test shares: a local server for one test page and the repository files it may
 * load, with the headers that make the page cross-origin isolated (COOP/COEP: SharedArrayBuffer, so the
 * wasm backend's threads run on Web Workers); the Chromium chromium.ts finds, launched headless; and
 * the page's result, read once the page has set it on window.
 *
 * No Chromium, or one that does not start: `browser` is null and `unavailable` says why, for the test's
 * one skip line — unless CI=true, where a missing browser fails the suite.
 */
import { readFile } from "node:fs/promises";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type Page, chromium } from "playwright-core";
import { findChromium } from "./chromium.js";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CI = process.env["CI"] === "true";
const TYPES: Record<string, string> = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".html": "text/html",
  ".map": "application/json",
};

/** Serves `page` at / and the files under `served` (folders relative to the repository). */
export function servePage(page: string, served: readonly string[] = ["dist"]): Promise<Server> {
  const roots = served.map((dir) => join(ROOT, dir));
  const server = createServer(async (request, response) => {
    const headers = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    if (path === "/") {
      response.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(page);
      return;
    }
    const file = normalize(join(ROOT, path));
    if (!roots.some((dir) => file.startsWith(dir))) {
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

function serverUrl(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** Headless Chromium, or null with the reason (thrown instead under CI=true). */
export async function launchChromium(): Promise<{ browser: Browser | null; unavailable: string }> {
  const lookup = findChromium();
  if (!lookup.found) {
    if (CI) throw new Error(`CI=true and the browser test cannot run: ${lookup.reason}`);
    return { browser: null, unavailable: lookup.reason };
  }
  try {
    const browser = await chromium.launch({
      executablePath: lookup.path,
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
      ],
    });
    return { browser, unavailable: "" };
  } catch (error) {
    // A Chromium that is there but cannot start (a missing system library, say) is a skip outside CI.
    if (CI) throw error;
    const reason = `${lookup.source} Chromium did not start (${String(error).split("\n")[0]}): ` +
      "install its libraries (apt-get install libnss3), or set BPTT_CHROMIUM";
    return { browser: null, unavailable: reason };
  }
}

/** A new page at the server's test page, with the page's uncaught errors collected from the start. */
export async function openPage(browser: Browser, server: Server): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(serverUrl(server));
  return { page, errors };
}

/** Waits for the page to set window[key] (up to two minutes) and returns it. */
export async function pageResult<T>(page: Page, key: string): Promise<T> {
  await page.waitForFunction((k) => (globalThis as Record<string, unknown>)[k] !== undefined, key, { timeout: 120_000 });
  return (await page.evaluate((k) => (globalThis as Record<string, unknown>)[k], key)) as T;
}
