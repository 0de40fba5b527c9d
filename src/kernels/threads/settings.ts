/**
 * The `threads` setting: how many threads the wasm-simd backend's large GEMMs run on.
 *
 * Precedence: an explicit option (createWasmKernels({ threads }), useBestKernels({ threads }),
 * setThreads, the CLI's --threads) over the environment variable BPTT_THREADS (Node.js) over the
 * default, every core (os.availableParallelism() in Node.js, navigator.hardwareConcurrency in
 * browsers, as the thread spawner reports it).
 */

/** BPTT_THREADS as a positive integer, or null when unset or "auto"; throws on anything else. */
export function threadsFromEnvironment(): number | null {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const text = (env?.["BPTT_THREADS"] ?? "").trim().toLowerCase();
  if (text === "" || text === "auto") return null;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`BPTT_THREADS must be a positive integer or "auto", got "${text}"`);
  return n;
}

/** Checks an explicit thread count. */
export function requireThreads(what: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${what}: threads must be a positive integer, got ${n}`);
  return n;
}
