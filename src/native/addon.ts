/**
 * Loading the native addon (build/Release/bptt.node, built from native/ by scripts/build-native.mjs at
 * install time). Node.js only. The addon may be missing — no compiler at install time, another
 * platform — and then `loadAddon()` says why, in one line, from the build's status file.
 *
 * BPTT_NATIVE_ADDON=<path> loads another file (tests use a path that does not exist to check the
 * fallback).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { KernelCalls } from "../kernels/kernels.js";

/** What the addon reports about itself. */
export interface NativeInfo {
  /** The instruction set in use: "avx512", "avx2" or "generic". */
  isa: string;
  /** The best instruction set this CPU runs. */
  best: string;
  /** CPU features detected, space-separated ("sse4.2 avx avx2 fma avx512f …"). */
  features: string;
  /** Threads the GEMM runs on, the caller included. */
  threads: number;
  /** The GEMM micro-kernel's tile, e.g. "8x32". */
  tile: string;
}

/** The addon's functions: the kernels with the Kernels signatures (generated from the kernel table), and a few of its own. */
export interface NativeAddon {
  readonly kernels: KernelCalls;
  info(): NativeInfo;
  /** Sets the thread count (≥ 1) and the instruction set (null: the best available); returns the new state. */
  configure(threads: number, isa: string | null): NativeInfo;
  /** The address of the array's first element modulo 64 (for aligned allocation). */
  byteMisalignment(array: Float32Array): number;
  /** out[i] = exp | σ | tanh (kind 0 | 1 | 2) of x[i], for the accuracy tests. */
  activate(kind: number, n: number, x: Float32Array, out: Float32Array): void;
  /** Turns the profile counters on or off and returns them: [0] ns the calling thread waited for the pool. */
  profileCounters(enable: boolean): Float64Array;
}

/** The package root: dist/src/native/ → three levels up. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The default location of the addon, as node-gyp builds it. */
export const ADDON_PATH = `${ROOT}build/Release/bptt.node`;
/** Written by scripts/build-native.mjs: { ok, reason }. */
export const BUILD_STATUS_PATH = `${ROOT}build/native-build.json`;

let loaded: { addon: NativeAddon } | { addon: null; reason: string } | null = null;

/** The addon, or the reason it cannot be loaded (computed once per process). */
export function loadAddon(): { addon: NativeAddon } | { addon: null; reason: string } {
  loaded ??= load();
  return loaded;
}

function load(): { addon: NativeAddon } | { addon: null; reason: string } {
  const path = process.env["BPTT_NATIVE_ADDON"] || ADDON_PATH;
  if (!existsSync(path)) {
    const failure = path === ADDON_PATH ? buildFailure() : null;
    return { addon: null, reason: `native backend not built (${failure ?? `no ${path}`})` };
  }
  try {
    return { addon: createRequire(import.meta.url)(path) as NativeAddon };
  } catch (error) {
    return { addon: null, reason: `native addon ${path} failed to load (${(error as Error).message.split("\n")[0]})` };
  }
}

/** The reason recorded by a failed build, if there was one. */
function buildFailure(): string | null {
  try {
    const status = JSON.parse(readFileSync(BUILD_STATUS_PATH, "utf8")) as { ok?: boolean; reason?: string };
    return status.ok === false && typeof status.reason === "string" ? status.reason : null;
  } catch {
    return null;
  }
}
