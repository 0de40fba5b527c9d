/**
 * The lines of a text held in memory (a pasted text, a fetched file, a string in a test), split as
 * `readLines` (src/io/read-lines.ts) splits a file, so that the same text reads the same in a browser
 * and in the command line:
 *
 *   - a byte order mark (U+FEFF) at the start is dropped;
 *   - lines end at "\n", and one "\r" before it is dropped ("\r\n" and "\n" texts read the same); a
 *     lone "\r" inside a line is not a line break;
 *   - a final line without a terminator is still a line; the terminator after the last line does not
 *     start an empty one ("a\nb\n" → "a", "b"); an empty text has no line.
 */

const BYTE_ORDER_MARK = 0xfeff;

/** The lines of `text`, without their terminators (see the file header). */
export function textLines(text: string): string[] {
  const body = text.charCodeAt(0) === BYTE_ORDER_MARK ? text.slice(1) : text;
  if (body === "") return [];
  const lines = body.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
}
