/**
 * Input files of the commands, read within the limits (limits.ts): `--data FILE`, or standard input
 * for "-" where a command takes it. Lines as `readLines` reads them: "\r\n" or "\n", fatal UTF-8, a
 * leading byte order mark dropped, a device refused, empty input an error naming it.
 */
import { type LinePiece, readLinePieces, readLines } from "../io/read-lines.js";
import { inputFileLimit } from "./limits.js";

/** How errors name standard input. */
export const STDIN = "stdin";

/** The name errors use for a --data value. */
export function sourceName(path: string): string {
  return path === "-" ? STDIN : path;
}

function source(path: string): string | AsyncIterable<Uint8Array> {
  return path === "-" ? (process.stdin as AsyncIterable<Uint8Array>) : path;
}

/** The lines of a file, or of standard input for "-" (read once). */
export function inputLines(path: string): AsyncGenerator<string> {
  return readLines(source(path), { name: sourceName(path), maxBytes: inputFileLimit() });
}

/** The lines of a data file (no stdin: training reads its data more than once). */
export function dataLines(path: string): AsyncGenerator<string> {
  return readLines(path, { maxBytes: inputFileLimit() });
}

/** The same in pieces of at most 64 KiB of a line (readLinePieces): for lines of any length. */
export function inputLinePieces(path: string): AsyncGenerator<LinePiece> {
  return readLinePieces(source(path), { name: sourceName(path), maxBytes: inputFileLimit() });
}
