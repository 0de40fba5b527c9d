/**
 * A text file as lines, streamed (Node.js only): the file is read in chunks of `highWaterMark` bytes
 * and never held whole, so a large corpus costs one chunk plus one line of memory here.
 *
 *   - lines end at "\n"; a "\r" before it is dropped ("\r\n" files read the same as "\n" files); a
 *     lone "\r" is not a line break. A final line without a terminator is still a line; the
 *     terminator after the last line does not start an empty one ("a\nb\n" → "a", "b").
 *   - a UTF-8 byte order mark at the start of the file is dropped.
 *   - bytes are decoded with a fatal UTF-8 decoder, one line at a time (a "\n" byte never occurs
 *     inside a multi-byte UTF-8 sequence, so cutting at it is safe): invalid UTF-8 is an error
 *     "data.txt:17: invalid UTF-8", never replacement characters.
 *   - a missing, unreadable or empty file (no byte, or only the byte order mark) is a one-line
 *     RangeError naming the file.
 * Lines are numbered from 1 in the same way by every parser in src/data/parse, so their errors agree.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";

export interface ReadLinesOptions {
  /** The name used in errors. Default: the path as given. */
  name?: string;
  /** Bytes read at a time. Default 64 KiB. */
  highWaterMark?: number;
}

const NEWLINE = 0x0a;
const EMPTY = new Uint8Array(0);

export async function* readLines(path: string, options: ReadLinesOptions = {}): AsyncGenerator<string> {
  const name = options.name ?? path;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new RangeError(`${name}: is a directory, not a file`);
    if (info.isFile() && info.size === 0) throw new RangeError(`${name}: the file is empty`);
  } catch (error) {
    throw fileError(error, name);
  }
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let lineNumber = 1;
  let text = "";
  const decode = (bytes: Uint8Array, stream: boolean): string => {
    try {
      return decoder.decode(bytes, { stream });
    } catch {
      throw new RangeError(`${name}:${lineNumber}: invalid UTF-8`);
    }
  };
  const finish = (line: string): string => {
    if (lineNumber === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    return line.endsWith("\r") ? line.slice(0, -1) : line;
  };
  const stream = createReadStream(path, { highWaterMark: options.highWaterMark ?? 64 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      let start = 0;
      let newline = chunk.indexOf(NEWLINE, start);
      while (newline >= 0) {
        // A non-streaming decode flushes: a sequence cut off by the line's end is invalid.
        text += decode(chunk.subarray(start, newline), false);
        yield finish(text);
        lineNumber++;
        text = "";
        start = newline + 1;
        newline = chunk.indexOf(NEWLINE, start);
      }
      text += decode(chunk.subarray(start), true);
    }
    text += decode(EMPTY, false);
  } catch (error) {
    throw fileError(error, name);
  } finally {
    stream.destroy();
  }
  const last = finish(text);
  if (last !== "") yield last;
  else if (lineNumber === 1) throw new RangeError(`${name}: the file is empty`);
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
