/**
 * What the page accepts from the user, checked before anything is sent to the worker. Every refusal
 * is one sentence that names the file (or the paste) and what was expected.
 *
 *   text        UTF-8 without NUL bytes, not empty (white space only counts as empty), at most
 *               MAX_TEXT_BYTES (a book is about 1 MB)
 *   run files   config.json (at most MAX_CONFIG_BYTES, UTF-8) and model.safetensors (at most
 *               MAX_WEIGHTS_BYTES); other files of a run directory (metrics.json, checkpoint…) are ignored
 */
export const MAX_TEXT_BYTES = 10 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
export const MAX_WEIGHTS_BYTES = 512 * 1024 * 1024;

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** Size limit check on the file's size alone, before its bytes are read. */
export function checkSize(name: string, size: number, limit: number, what: string): void {
  if (size > limit) {
    throw new RangeError(
      `“${name}” is ${formatBytes(size)}: the playground takes ${what} of at most ${formatBytes(limit)}`,
    );
  }
}

/** Decodes UTF-8 text, refusing binary content (a NUL byte, or bytes that are not UTF-8). */
export function decodeText({ name, bytes }: NamedBytes): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new RangeError(`“${name}” looks like a binary file (a NUL byte at offset ${nul}): give a UTF-8 text file`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new RangeError(`“${name}” is not UTF-8 text: give a UTF-8 text file`);
  }
}

/** The text to train a language model on, from a paste or a file. */
export function checkTrainingText(text: string, source: string): string {
  if (text.trim() === "") throw new RangeError(`${source} is empty: paste or drop a text to train on`);
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_TEXT_BYTES) {
    throw new RangeError(
      `${source} is ${formatBytes(bytes)}: the playground takes texts of at most ${formatBytes(MAX_TEXT_BYTES)}`,
    );
  }
  if (text.includes("\u0000")) {
    throw new RangeError(`${source} holds NUL characters: it looks like binary data, not text`);
  }
  return text;
}

/** Picks config.json and model.safetensors out of dropped files (by name, else by extension). */
export function pickRunFiles<F extends { name: string }>(files: readonly F[]): { config: F; weights: F } {
  const byName = (wanted: string, extension: string): F | undefined =>
    files.find((f) => f.name === wanted) ??
    files.find((f) => f.name.toLowerCase().endsWith(extension) && !f.name.startsWith("checkpoint"));
  const config = byName("config.json", ".json");
  const weights = byName("model.safetensors", ".safetensors");
  const names = files.map((f) => `“${f.name}”`).join(", ");
  if (!config && !weights) {
    throw new RangeError(
      `${names}: drop a run's config.json and model.safetensors (the files bptt train --out writes)`,
    );
  }
  if (!config) throw new RangeError(`${names}: config.json is missing — drop it together with model.safetensors`);
  if (!weights) throw new RangeError(`${names}: model.safetensors is missing — drop it together with config.json`);
  return { config, weights };
}
