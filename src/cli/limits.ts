/**
 * The limits the command line works within, so that no input can make it allocate without bound:
 *
 *   memory      BPTT_MEMORY_LIMIT (bytes, or with a suffix: 512M, 8G), default 3/4 of the machine's
 *               memory: the most a model's parameters, gradients, optimizer state and activations may
 *               take (estimated before anything is allocated: memory-estimate.ts), and the largest
 *               weights file read
 *   data files  1/8 of it: training, evaluation and prediction inputs (a character corpus of N bytes
 *               takes about 8N while it is encoded and cut into strips)
 *   --config    1 MiB;  a run's config.json  64 MiB (it holds the vocabulary)
 *
 * Sizes are checked before reading (a stream is counted as it is read).
 */
import { totalmem } from "node:os";
import { UsageError } from "./errors.js";

export const CONFIG_FILE_LIMIT = 1 << 20;
export const RUN_CONFIG_LIMIT = 64 << 20;

const SUFFIX: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** The memory limit in bytes (see the file header). */
export function memoryLimit(): number {
  const text = process.env["BPTT_MEMORY_LIMIT"];
  if (text === undefined || text === "") return Math.floor(0.75 * totalmem());
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  const bytes = match ? Number(match[1]) * SUFFIX[match[2]!.toLowerCase()]! : NaN;
  if (!(bytes >= 1 && Number.isFinite(bytes))) {
    throw new UsageError(`BPTT_MEMORY_LIMIT expects a size in bytes such as 8G, 512M or 1000000, got ${JSON.stringify(text)}`);
  }
  return Math.floor(bytes);
}

/** The largest data file read (see the file header). */
export function inputFileLimit(): number {
  return Math.floor(memoryLimit() / 8);
}
