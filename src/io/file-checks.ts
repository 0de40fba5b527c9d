/** Words for the file checks' one-line errors: what a non-regular file is, and sizes for people. */

/** What a file-system entry is when it is not a regular file ("a character device"), or null for a regular file. */
export function describeKind(info: {
  isFile(): boolean; isDirectory(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean; isSocket(): boolean;
}): string | null {
  if (info.isFile()) return null;
  if (info.isDirectory()) return "a directory";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  if (info.isFIFO()) return "a named pipe";
  if (info.isSocket()) return "a socket";
  return "not a file";
}

/** Bytes for people: "1.5 GB", "512 MB", "700 bytes" (powers of 1000, as `ls -lh --si`). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} bytes`;
  const units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${value} bytes`;
  return `${value >= 100 ? value.toFixed(0) : value.toPrecision(2)} ${units[unit]}`;
}
