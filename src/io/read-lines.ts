/**
 * A text file (or a byte stream such as standard input) as lines, streamed (Node.js only): the bytes
 * are read in chunks of `highWaterMark` and never held whole.
 *
 *   - lines end at "\n"; a "\r" before it is dropped ("\r\n" files read the same as "\n" files); a
 *     lone "\r" is not a line break. A final line without a terminator is still a line; the
 *     terminator after the last line does not start an empty one ("a\nb\n" → "a", "b").
 *   - a UTF-8 byte order mark at the start is dropped.
 *   - bytes are decoded with a fatal UTF-8 decoder, a line at a time (a "\n" byte never occurs
 *     inside a multi-byte UTF-8 sequence, so cutting at it is safe): invalid UTF-8 is an error
 *     "data.txt:17: invalid UTF-8", never replacement characters.
 *   - a missing, unreadable or empty source (no byte, or only the byte order mark) is a one-line
 *     RangeError naming it; so are a device or socket where a file is expected (a named pipe is read
 *     as a stream), a file over `maxBytes` (checked before reading; a stream is counted as it is read)
 *     and, for `readLines`, a line over `maxLineChars`.
 *
 * `readLinePieces` gives each line in pieces of at most one chunk, so a consumer that can work on a
 * line piece by piece (a model reading a long text) needs memory independent of the line's length.
 * Lines are numbered from 1 in the same way by every parser in src/data/parse, so their errors agree.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { describeKind, formatBytes } from "./file-checks.js";

export interface ReadLinesOptions {
  /** The name used in errors. Default: the path as given ("stdin" for a stream). */
  name?: string;
  /** Bytes read at a time. Default 64 KiB. */
  highWaterMark?: number;
  /** The most bytes read from the source. Default: no limit. */
  maxBytes?: number;
  /** readLines: the longest line, in UTF-16 code units, held whole. Default 64 Mi. */
  maxLineChars?: number;
}

/** A piece of line `line`: its last piece has `end` set (the terminator is not part of `text`). */
export interface LinePiece {
  line: number;
  text: string;
  end: boolean;
}

const NEWLINE = 0x0a;
const EMPTY = new Uint8Array(0);
export const DEFAULT_MAX_LINE_CHARS = 64 * 1024 * 1024;

/** Lines as strings; see the file header. */
export async function* readLines(source: string | AsyncIterable<Uint8Array>, options: ReadLinesOptions = {}): AsyncGenerator<string> {
  const name = nameOf(source, options);
  const maxLineChars = options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
  let parts: string[] = [];
  let length = 0;
  for await (const piece of readLinePieces(source, options)) {
    length += piece.text.length;
    if (length > maxLineChars) {
      throw new RangeError(`${name}:${piece.line}: the line is longer than ${maxLineChars} characters; not a line-by-line file?`);
    }
    parts.push(piece.text);
    if (piece.end) {
      yield parts.length === 1 ? parts[0]! : parts.join("");
      parts = [];
      length = 0;
    }
  }
}

/** Lines in pieces of at most one chunk; see the file header. */
export async function* readLinePieces(source: string | AsyncIterable<Uint8Array>, options: ReadLinesOptions = {}): AsyncGenerator<LinePiece> {
  const name = nameOf(source, options);
  const maxBytes = options.maxBytes ?? Infinity;
  if (typeof source === "string") await checkFile(source, name, maxBytes);
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let line = 1;
  /** Whether pieces of the current line were given already. */
  let lineStarted = false;
  /** A "\r" at a piece's end is held back: it may be the first half of the line's "\r\n". */
  let heldCR = false;
  let bytesRead = 0;
  const decode = (bytes: Uint8Array, stream: boolean): string => {
    try {
      return decoder.decode(bytes, { stream });
    } catch {
      throw new RangeError(`${name}:${line}: invalid UTF-8`);
    }
  };
  const piece = (raw: string, end: boolean): LinePiece | null => {
    let text = heldCR ? `\r${raw}` : raw;
    heldCR = false;
    if (line === 1 && !lineStarted && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.endsWith("\r")) {
      text = text.slice(0, -1);
      heldCR = !end;
    }
    if (!end && text === "") return null;
    lineStarted = !end;
    return { line, text, end };
  };
  const stream = typeof source === "string" ? createReadStream(source, { highWaterMark: options.highWaterMark ?? 64 * 1024 }) : source;
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      bytesRead += chunk.length;
      if (bytesRead > maxBytes) throw new RangeError(`${name}: more than ${formatBytes(maxBytes)}, the limit for an input file`);
      let start = 0;
      let newline = chunk.indexOf(NEWLINE, start);
      while (newline >= 0) {
        // A non-streaming decode flushes: a sequence cut off by the line's end is invalid.
        yield piece(decode(chunk.subarray(start, newline), false), true)!;
        line++;
        start = newline + 1;
        newline = chunk.indexOf(NEWLINE, start);
      }
      const rest = piece(decode(chunk.subarray(start), true), false);
      if (rest) yield rest;
    }
    // The end: the last line, unless it is empty (the file ended with its terminator).
    const started = lineStarted;
    const last = piece(decode(EMPTY, false), true)!;
    if (started || last.text !== "") yield last;
    else if (line === 1) throw new RangeError(`${name}: ${typeof source === "string" ? "the file is empty" : "no input"}`);
  } catch (error) {
    throw fileError(error, name);
  } finally {
    const closable = stream as { destroy?: () => void };
    if (typeof source === "string") closable.destroy?.();
  }
}

function nameOf(source: string | AsyncIterable<Uint8Array>, options: ReadLinesOptions): string {
  return options.name ?? (typeof source === "string" ? source : "stdin");
}

/** A path must name a regular file (or a named pipe, read as a stream) of at most maxBytes. */
async function checkFile(path: string, name: string, maxBytes: number): Promise<void> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new RangeError(`${name}: is a directory, not a file`);
    const kind = describeKind(info);
    if (kind !== null && !info.isFIFO()) throw new RangeError(`${name}: not a regular file (${kind}); give a file`);
    if (info.isFile() && info.size === 0) throw new RangeError(`${name}: the file is empty`);
    if (info.isFile() && info.size > maxBytes) {
      throw new RangeError(`${name}: ${formatBytes(info.size)}, over the ${formatBytes(maxBytes)} limit for an input file`);
    }
  } catch (error) {
    throw fileError(error, name);
  }
}

/** Our own RangeErrors pass through; file-system errors become one line naming the file. */
function fileError(error: unknown, name: string): Error {
  if (error instanceof RangeError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === "ENOENT") return new RangeError(`${name}: no such file`);
  if (code === "EACCES" || code === "EPERM") return new RangeError(`${name}: permission denied`);
  if (code === "EISDIR") return new RangeError(`${name}: is a directory, not a file`);
  if (typeof code === "string") return new RangeError(`${name}: cannot read the file (${code})`);
  return error as Error;
}
