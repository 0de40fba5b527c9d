/**
 * The CLI's kernel backend: registers the native backend (the C addon) with the selection, so that
 * BPTT_BACKEND=auto prefers it where it was built. Where it was not, the install said so once
 * ("bptt: native backend not built (…); using WebAssembly") and `bptt info` says why; the commands
 * themselves stay quiet (their stderr is for their own one-line errors).
 */
import { useNativeBackend } from "../native/index.js";

/** Call once at start-up, before anything computes. */
export function setUpBackend(): void {
  useNativeBackend();
}
