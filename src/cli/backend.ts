/**
 * The CLI's kernel backend: registers the native backend (the C addon) with the selection, and when
 * BPTT_BACKEND is auto but the addon is not there, says so once, on stderr:
 *   bptt: native backend not built (…); using WebAssembly
 */
import { requestedBackend } from "../kernels/index.js";
import { loadAddon, useNativeBackend } from "../native/index.js";

let noticed = false;

/** Call once at start-up, before anything computes; `quiet` skips the notice (e.g. `bptt info`, which reports it). */
export function setUpBackend(options: { quiet?: boolean } = {}): void {
  useNativeBackend();
  if (options.quiet || noticed) return;
  noticed = true;
  let choice: string;
  try {
    choice = requestedBackend();
  } catch {
    return; // a bad BPTT_BACKEND is reported where the backend is first used
  }
  const loaded = loadAddon();
  if (choice === "auto" && loaded.addon === null) process.stderr.write(`bptt: ${loaded.reason}; using WebAssembly\n`);
}
