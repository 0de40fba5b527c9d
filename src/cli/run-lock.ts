/**
 * One writer per run directory. `bptt train` holds DIR/.lock while it works: a JSON record of its pid,
 * host and start time, created atomically (written to a temporary file, then hard-linked to the name,
 * which fails if the lock exists), so a reader never sees half a record. A second `train` on the same
 * directory is refused with one line naming the holder. A lock whose process is gone (same host, the pid
 * no longer alive) is stale: it is taken over. Once the lock is held, temporary files that a killed run
 * left behind (writeFileAtomic's ".NAME.XXXXXXXXXXXX.tmp") are removed: no writer can own them.
 */
import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { UsageError } from "./errors.js";

export const LOCK_FILE = ".lock";
const LEFTOVER = /^\..+\.[0-9a-f]{12}\.tmp$/;

interface LockRecord {
  pid: number;
  host: string;
  started: string;
}

export class RunLock {
  private released = false;
  private readonly onExit = (): void => this.release();

  private constructor(
    readonly dir: string,
    /** Whether acquiring created the directory (removed on release if still empty). */
    private readonly created: boolean,
  ) {
    process.once("exit", this.onExit);
  }

  /** Takes the lock of `dir` (creating the directory), or throws a one-line UsageError naming the holder. */
  static acquire(dir: string): RunLock {
    const created = !existsSync(dir);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, LOCK_FILE);
    const record: LockRecord = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
    for (let attempt = 0; ; attempt++) {
      if (tryCreate(path, record)) break;
      const holder = readRecord(path);
      if (holder !== null && isStale(holder) && attempt < 2) {
        unlinkQuietly(path);
        continue;
      }
      throw new UsageError(
        holder === null
          ? `${dir} is locked by another bptt train (${path} exists); if none runs, delete ${path}`
          : `${dir} is in use by another bptt train (pid ${holder.pid} on ${holder.host}, since ${holder.started}): ` +
              "wait for it to finish, or choose another --out",
      );
    }
    for (const name of readdirSync(dir)) {
      if (LEFTOVER.test(name) && !name.startsWith(`${LOCK_FILE}.`)) unlinkQuietly(join(dir, name));
    }
    return new RunLock(dir, created);
  }

  /** Gives the lock up (once; also at process exit). */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener("exit", this.onExit);
    const path = join(this.dir, LOCK_FILE);
    if (readRecord(path)?.pid === process.pid) unlinkQuietly(path);
    if (this.created) {
      try {
        rmdirSync(this.dir); // only if nothing was written: a failed start leaves no empty run directory
      } catch {
        // not empty: the run's files stay
      }
    }
  }
}

function tryCreate(path: string, record: LockRecord): boolean {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record)}\n`, { flag: "wx" });
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    unlinkQuietly(temporary);
  }
}

function readRecord(path: string): LockRecord | null {
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as Partial<LockRecord> | null;
    if (record && Number.isSafeInteger(record.pid) && typeof record.host === "string") {
      return { pid: record.pid!, host: record.host, started: String(record.started) };
    }
  } catch {
    // unreadable or not a record: not ours to judge
  }
  return null;
}

/** A lock of this host whose process no longer exists. */
function isStale(record: LockRecord): boolean {
  if (record.host !== hostname()) return false;
  try {
    process.kill(record.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
