/**
 * Mutators of the fuzzer: bytes (bit flips, set, insert, delete, duplicate, truncate, append, splice in
 * "interesting" text) and JSON values (replace a node by a value of another type or an extreme one,
 * delete or add a key), each returning a short description of what it did, for the report. Deterministic
 * for a given Rng.
 */
import type { Rng } from "../src/tensor/rng.js";

/** Text that parsers trip on: extremes, wrong types, markers, separators, invalid UTF-8 as escapes. */
const INTERESTING = [
  "NaN", "Infinity", "-Infinity", "1e309", "-1", "0", "-0", "4294967296", "9007199254740993", "1e-400", "99999999999999999999999",
  "null", "true", "[]", "{}", '""', '"', ",", ":", "{", "}", "[", "]", "\n", "\r\n", "\r", "\t", " ", "\u0000", "\uFEFF", "\uFFFD",
  "<unk>", "<pad>", "<eos>", "__proto__", "constructor", "toString", "inf", "\\", "\\u0000", "\\ud800", "😀", "e\u0301", "Σ",
];

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

const encoder = new TextEncoder();

/** One to four byte-level mutations of `bytes` (a new array). */
export function mutateBytes(rng: Rng, bytes: Uint8Array, protect = 0): { bytes: Uint8Array; what: string } {
  let out = bytes;
  const done: string[] = [];
  const count = 1 + rng.int(4);
  for (let i = 0; i < count; i++) {
    const at = protect + rng.int(Math.max(1, out.length - protect + 1));
    switch (rng.int(8)) {
      case 0: {
        if (out.length === 0) break;
        out = out.slice();
        const k = Math.min(at, out.length - 1);
        out[k] = out[k]! ^ (1 << rng.int(8));
        done.push(`flip@${k}`);
        break;
      }
      case 1: {
        if (out.length === 0) break;
        out = out.slice();
        const k = Math.min(at, out.length - 1);
        out[k] = pick(rng, [0x00, 0xff, 0x0a, 0x22, 0x7b, 0x7d, 0x2c, 0x30, 0x39, 0x2d, 0x80, 0xc3, rng.int(256)]);
        done.push(`set@${k}`);
        break;
      }
      case 2: {
        const insert = rng.int(2) === 0 ? encoder.encode(pick(rng, INTERESTING)) : randomBytes(rng, 1 + rng.int(16));
        out = concat(out.subarray(0, at), insert, out.subarray(at));
        done.push(`insert@${at}`);
        break;
      }
      case 3: {
        const n = 1 + rng.int(Math.max(1, Math.min(64, out.length - at)));
        out = concat(out.subarray(0, at), out.subarray(at + n));
        done.push(`delete${n}@${at}`);
        break;
      }
      case 4: {
        const n = 1 + rng.int(64);
        out = concat(out.subarray(0, at + n), out.subarray(at, at + n), out.subarray(at + n));
        done.push(`duplicate${n}@${at}`);
        break;
      }
      case 5:
        out = out.subarray(0, at).slice();
        done.push(`truncate@${at}`);
        break;
      case 6:
        out = concat(out, randomBytes(rng, 1 + rng.int(64)));
        done.push("append");
        break;
      default: {
        const text = encoder.encode(pick(rng, INTERESTING));
        out = concat(out.subarray(0, at), text, out.subarray(at + text.length));
        done.push(`overwrite@${at}`);
      }
    }
  }
  return { bytes: out, what: done.join(",") };
}

/** One to three structural mutations of a JSON value (a deep copy is mutated). */
export function mutateJson(rng: Rng, value: unknown): { value: unknown; what: string } {
  const root = { v: structuredClone(value) as unknown };
  const done: string[] = [];
  const count = 1 + rng.int(3);
  for (let i = 0; i < count; i++) {
    const nodes: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number; path: string }> = [];
    collect(root, "v", "", nodes, 0);
    const node = pick(rng, nodes);
    const parent = node.parent as Record<string | number, unknown>;
    const choice = rng.int(6);
    if (choice === 0 && !Array.isArray(node.parent)) {
      delete parent[node.key];
      done.push(`delete ${node.path}`);
    } else if (choice === 1) {
      const target = parent[node.key];
      if (target !== null && typeof target === "object" && !Array.isArray(target)) {
        const key = pick(rng, ["__proto__", "constructor", "toString", "x", "", "format", "version", "model", "cell", "numLayers"]);
        Object.defineProperty(target, key, { value: randomJson(rng, 2), enumerable: true, writable: true, configurable: true });
        done.push(`add ${node.path}.${key}`);
      } else {
        parent[node.key] = randomJson(rng, 2);
        done.push(`replace ${node.path}`);
      }
    } else {
      parent[node.key] = randomJson(rng, 2);
      done.push(`replace ${node.path}`);
    }
  }
  return { value: root.v, what: done.join(",") };
}

function collect(parent: Record<string, unknown> | unknown[], key: string | number, path: string, into: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number; path: string }>, depth: number): void {
  into.push({ parent, key, path });
  const value = (parent as Record<string | number, unknown>)[key];
  if (depth > 6 || value === null || typeof value !== "object") return;
  const entries = Array.isArray(value) ? value.slice(0, 8).map((_, i) => i) : Object.keys(value).slice(0, 64);
  for (const k of entries) collect(value as Record<string, unknown>, k, `${path}.${k}`, into, depth + 1);
}

/** A random JSON value: extreme numbers, odd strings, nested arrays and objects. */
export function randomJson(rng: Rng, depth: number): unknown {
  switch (rng.int(depth > 0 ? 9 : 6)) {
    case 0:
      return pick(rng, [0, -1, 1, 2, 3, 0.5, -0.5, 1e9, 1e15, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, -1e300, Number.MAX_SAFE_INTEGER + 2, 1.5e-300]);
    case 1:
      return rng.int(1000) - 100;
    case 2:
      return pick(rng, INTERESTING);
    case 3:
      return pick(rng, ["lm", "classify", "label", "regress", "char", "word", "lstm", "gru", "rnn", "rnn_relu", "adam", "sgd", "inf", "full", "bptt-run", "classes", "regression", "binary"]);
    case 4:
      return pick(rng, [null, true, false]);
    case 5:
      return "";
    case 6:
      return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth - 1));
    case 7:
      return Array.from({ length: rng.int(3) === 0 ? 1000 + rng.int(5000) : rng.int(4) }, () => rng.int(10));
    default:
      return Object.fromEntries(Array.from({ length: rng.int(4) }, () => [pick(rng, ["a", "task", "cell", "hiddenSize", "1", "__proto__"]), randomJson(rng, depth - 1)]));
  }
}

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
