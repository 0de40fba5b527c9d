/**
 * Driving the built playground in headless Chromium (the browser tests' own, test/browser/harness.ts:
 * BPTT_CHROMIUM, else the one `npm ci` installs, else Debian's): serving dist/playground with
 * `vite preview` (the server `npm run playground` starts, with its COOP/COEP headers), setting the form,
 * pressing buttons, waiting for the run's state and reading what the page shows.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Download, Page } from "playwright-core";
import { type PreviewServer, preview } from "vite";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const BIN = join(ROOT, "bin", "bptt.js");
/** Screenshots of each state, for a person to look at. */
export const OUTPUT = process.env["BPTT_PLAYGROUND_OUTPUT"] ?? join(ROOT, "dist", "test-output", "playground");

export async function servePlayground(): Promise<{ server: PreviewServer; url: string }> {
  const server = await preview({
    configFile: join(ROOT, "web", "vite.config.ts"),
    preview: { port: 0, host: "127.0.0.1", strictPort: false },
    logLevel: "silent",
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error("vite preview reported no URL");
  return { server, url };
}

/** What the page keeps in window.bpttPlayground (web/src/page/status.ts). */
export interface PageRecord {
  backend: { name: string; threads: number; crossOriginIsolated: boolean } | null;
  state: string;
  model: { task: string; parameters: number } | null;
  train: Array<{ update: number; loss: number; accuracy: number | null }>;
  heldOut: Array<{ update: number; loss: number; accuracy: number | null; bitsPerToken: number | null }>;
  lastSample: string | null;
  notice: string | null;
}

export class Playground {
  readonly errors: string[] = [];
  private shot = 0;

  constructor(readonly page: Page) {
    page.on("pageerror", (error) => this.errors.push(String(error)));
    rmSync(OUTPUT, { recursive: true, force: true });
    mkdirSync(OUTPUT, { recursive: true });
  }

  static async open(browser: Browser, url: string): Promise<Playground> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
    const playground = new Playground(page);
    await page.goto(url);
    await page.waitForFunction(
      () => (globalThis as { bpttPlayground?: { backend: unknown } }).bpttPlayground?.backend != null,
      null,
      { timeout: 60_000 },
    );
    return playground;
  }

  record(): Promise<PageRecord> {
    return this.page.evaluate(() => (globalThis as unknown as { bpttPlayground: PageRecord }).bpttPlayground);
  }

  /** Chooses a task (its defaults fill the form), then sets fields by id; `loss` picks the placement. */
  async configure(
    task: string,
    fields: Record<string, string> = {},
    loss?: "every-step" | "end" | "every-chunk",
  ): Promise<void> {
    await this.page.selectOption("#task", task);
    for (const [id, value] of Object.entries(fields)) {
      const field = this.page.locator(`#${id}`);
      if ((await field.evaluate((el) => el.tagName)) === "SELECT") await field.selectOption(value);
      else await field.fill(value);
      await field.dispatchEvent("change");
    }
    if (loss) await this.page.check(`input[name="loss"][value="${loss}"]`);
  }

  async waitForState(states: string[], timeout: number): Promise<string> {
    const handle = await this.page.waitForFunction(
      (wanted) => {
        const r = (globalThis as unknown as { bpttPlayground: PageRecord }).bpttPlayground;
        return wanted.includes(r.state) ? r.state : false;
      },
      states,
      { timeout, polling: 100 },
    );
    return (await handle.jsonValue()) as string;
  }

  /** Starts training and waits until every epoch is done. */
  async train(timeout: number): Promise<PageRecord> {
    await this.page.click("#start");
    await this.waitForState(["running"], 30_000);
    await this.waitForState(["finished"], timeout);
    return this.record();
  }

  /** The number a tile shows, from its data-value. */
  async tile(id: string): Promise<number> {
    return Number(await this.page.getAttribute(`#${id}`, "data-value"));
  }

  /** Waits until the notice box shows a message matching `pattern`; returns the message. */
  async notice(pattern: RegExp): Promise<string> {
    try {
      await this.page.waitForFunction(
        ([source, flags]) =>
          new RegExp(source, flags).test(
            document.getElementById("notice")?.hidden ? "" : (document.getElementById("notice")?.textContent ?? ""),
          ),
        [pattern.source, pattern.flags] as const,
        { timeout: 10_000 },
      );
    } catch {
      throw new Error(
        `the page's notice should match ${pattern}, it says: ${JSON.stringify(await this.page.textContent("#notice"))}`,
      );
    }
    return (await this.page.textContent("#notice")) ?? "";
  }

  /** Asks for a sample and returns it (the page forgets the last sample when it sends a request). */
  async sample(button: "#sample" | "#greedy"): Promise<string> {
    await this.page.click(button);
    const handle = await this.page.waitForFunction(
      () => (globalThis as unknown as { bpttPlayground: PageRecord }).bpttPlayground.lastSample,
      null,
      { timeout: 30_000 },
    );
    return (await handle.jsonValue()) as string;
  }

  /** Clicks a download button and saves the files it offers into `dir`; returns their names. */
  async download(button: string, count: number, dir: string): Promise<string[]> {
    const downloads: Download[] = [];
    const collect = (d: Download): void => void downloads.push(d);
    this.page.on("download", collect);
    await this.page.click(button);
    const deadline = Date.now() + 30_000;
    while (downloads.length < count && Date.now() < deadline) await this.page.waitForTimeout(50);
    this.page.off("download", collect);
    const names: string[] = [];
    for (const d of downloads) {
      names.push(d.suggestedFilename());
      await d.saveAs(join(dir, d.suggestedFilename()));
    }
    return names;
  }

  /** A full-page screenshot (or only what the window shows), numbered in the order taken. */
  async screenshot(name: string, options: { fullPage: boolean } = { fullPage: true }): Promise<string> {
    const path = join(OUTPUT, `${String(++this.shot).padStart(2, "0")}-${name}.png`);
    await this.page.screenshot({ path, fullPage: options.fullPage });
    return path;
  }
}
