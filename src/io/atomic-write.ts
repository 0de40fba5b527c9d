/**
 * File writes that never leave a half-written file, and reads that fail with one clear line (and read
 * only regular files, of a size checked before reading).
 *
 * writeFileAtomic: write a temporary file beside the target, fsync it, rename it over the target (atomic
 * on POSIX filesystems within one directory), then fsync the directory so that the rename itself survives
 * a crash. Until the rename, the old target is untouched; on any failure the temporary file is removed.
 * Synchronous on purpose: it runs at checkpoints, between training steps.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync, constants, fchmodSync, fstatSync, fsyncSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { describeKind, formatBytes } from "./file-checks.js";

/** Replaces `path` with `data` (a string is written as UTF-8), all or nothing. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const directory = dirname(path);
  const temporary = join(directory, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(temporary, "wx", 0o666); // "wx": never reuse an existing file
    const mode = existingMode(path);
    if (mode !== null) fchmodSync(fd, mode); // a replaced file keeps its permissions
    for (let written = 0; written < bytes.length; ) {
      written += writeSync(fd, bytes, written, bytes.length - written);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temporary, path);
  } catch (error) {
    if (fd !== null) ignoreErrors(() => closeSync(fd!));
    ignoreErrors(() => unlinkSync(temporary));
    throw fileError(error, path, "cannot write");
  }
  fsyncDirectory(directory);
}

/**
 * The bytes of `path`, or a one-line RangeError naming it: missing, a directory or another non-regular
 * file (a device, a pipe: refused before reading), unreadable, empty, or over `maxBytes` (checked
 * before reading). `what` names the expected content in messages ("model.safetensors: the safetensors
 * file is empty").
 */
export function readFileChecked(path: string, what = "file", maxBytes = DEFAULT_MAX_READ): Uint8Array {
  return withRegularFile(path, what, maxBytes, (fd, size) => readExactly(fd, 0, size, path));
}

/** Files read whole are capped by default at 1 GiB. */
export const DEFAULT_MAX_READ = 2 ** 30;

/**
 * Opens `path` for reading without blocking (a named pipe would wait for a writer), checks that it is a
 * regular file of 1 to `maxBytes` bytes and hands the descriptor and size to `read`; closes it after.
 */
export function withRegularFile<T>(path: string, what: string, maxBytes: number, read: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw fileError(error, path, "cannot read", what);
  }
  try {
    const info = fstatSync(fd);
    if (info.isDirectory()) throw new RangeError(`${path}: cannot read: it is a directory, expected a ${what}`);
    if (!info.isFile()) throw new RangeError(`${path}: not a regular file (${describeKind(info)}), expected a ${what}`);
    if (info.size === 0) throw new RangeError(`${path}: the ${what} is empty (0 bytes)`);
    if (info.size > maxBytes) throw new RangeError(`${path}: the ${what} is ${formatBytes(info.size)}, over the ${formatBytes(maxBytes)} limit`);
    return read(fd, info.size);
  } catch (error) {
    throw fileError(error, path, "cannot read", what);
  } finally {
    ignoreErrors(() => closeSync(fd));
  }
}

/** `length` bytes of an open file from `position`; a file that shrank meanwhile is an error naming it. */
export function readExactly(fd: number, position: number, length: number, path: string): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let done = 0; done < length; ) {
    const n = readSync(fd, bytes, done, length - done, position + done);
    if (n === 0) throw new RangeError(`${path}: the file ended after ${position + done} bytes while it was read (changed meanwhile?)`);
    done += n;
  }
  return bytes;
}

/** Node's file errors as one line that names the path; anything unexpected is rethrown as it is. */
export function fileError(error: unknown, path: string, action: string, what = "file"): unknown {
  const code = error !== null && typeof error === "object" && "code" in error ? String(error.code) : "";
  const reasons: Record<string, string> = {
    ENOENT: action === "cannot read" ? `no such ${what}` : `${action}: the directory ${dirname(path)} does not exist`,
    ENOTDIR: `${action}: a parent of this path is not a directory`,
    EISDIR: `${action}: it is a directory, expected a ${what}`,
    EACCES: `${action}: permission denied`,
    EPERM: `${action}: operation not permitted`,
    EROFS: `${action}: read-only filesystem`,
    ENOSPC: `${action}: no space left on the device`,
    EDQUOT: `${action}: disk quota exceeded`,
    ENOTEMPTY: `${action}: it is a non-empty directory, expected a ${what}`,
    ERR_FS_FILE_TOO_LARGE: `${action}: the ${what} is too large to read into memory`,
  };
  const reason = Object.hasOwn(reasons, code) ? reasons[code] : undefined;
  return reason === undefined ? error : new RangeError(`${path}: ${reason}`);
}

function existingMode(path: string): number | null {
  try {
    const stat = statSync(path);
    return stat.isFile() ? stat.mode & 0o7777 : null;
  } catch {
    return null;
  }
}

/** Makes the rename durable. Some platforms cannot open or fsync a directory; there it is skipped. */
function fsyncDirectory(directory: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(directory, "r");
    fsyncSync(fd);
  } catch (error) {
    const code = error !== null && typeof error === "object" && "code" in error ? String(error.code) : "";
    if (!["EISDIR", "EINVAL", "EPERM", "EACCES", "ENOTSUP", "EBADF"].includes(code)) throw error;
  } finally {
    if (fd !== null) ignoreErrors(() => closeSync(fd!));
  }
}

function ignoreErrors(action: () => void): void {
  try {
    action();
  } catch {
    // cleanup after an earlier failure: that failure is the one to report
  }
}
