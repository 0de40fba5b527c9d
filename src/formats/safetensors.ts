/**
 * safetensors, the tensor file format of the Hugging Face ecosystem (huggingface/safetensors):
 * a defensive reader and a writer that matches the reference writer byte for byte. Isomorphic: bytes in,
 * bytes out; reading and writing files lives in src/io/safetensors-file.ts.
 *
 *   bytes 0..8        N, the header length: a little-endian u64
 *   bytes 8..8+N      UTF-8 JSON object, starting with "{", possibly padded with spaces:
 *                     { "NAME": {"dtype": "F32", "shape": [..], "data_offsets": [BEGIN, END]}, …,
 *                       "__metadata__": {string: string} }
 *   bytes 8+N..       the byte buffer: each tensor little-endian, row-major, at [BEGIN, END)
 *
 * The reader trusts nothing: the header length is capped (100 MB) and checked against the file before
 * anything is allocated; the header must be valid UTF-8 and JSON with no duplicate keys; every entry needs
 * a known dtype, a shape of non-negative integers and offsets whose span equals prod(shape)·bits/8
 * (computed without overflow); sorted by offset, the tensors must tile the byte buffer exactly (no gap, no
 * overlap, no trailing bytes). Every failure is a one-line RangeError that starts with the source name.
 * Names land in a Map and metadata in a null-prototype object, so `__proto__` is just a name.
 *
 * bptt's tensors are float32: F32 is read as is, F16, BF16 and F64 are converted (F64 rounds to nearest,
 * overflowing to ±Infinity, as `tensor.float()` does in PyTorch); other dtypes are refused by name.
 */
import { Tensor, formatShape } from "../tensor/tensor.js";

/** What a safetensors file holds, as bptt reads it. */
export interface SafetensorsContents {
  /** Tensors by name, in the order of their data in the file. */
  tensors: Map<string, Tensor>;
  /** The `__metadata__` map; an empty null-prototype object when the file has none. */
  metadata: Record<string, string>;
}

/** The reference reader's limit on the header ("Prevent DOS attacks"). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bits per element of every dtype the format defines, in the reference enum's (increasing alignment) order. */
const DTYPE_BITS: ReadonlyMap<string, number> = new Map([
  ["BOOL", 8], ["F4", 4], ["F6_E2M3", 6], ["F6_E3M2", 6], ["U8", 8], ["I8", 8], ["F8_E5M2", 8], ["F8_E4M3", 8],
  ["F8_E8M0", 8], ["F8_E4M3FNUZ", 8], ["F8_E5M2FNUZ", 8], ["I16", 16], ["U16", 16], ["F16", 16], ["BF16", 16],
  ["I32", 32], ["U32", 32], ["F32", 32], ["C64", 64], ["F64", 64], ["I64", 64], ["U64", 64],
]);
const READABLE = ["F32", "F16", "BF16", "F64"];
const METADATA_KEY = "__metadata__";
const SPACE = 0x20;
const OPEN_BRACE = 0x7b;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A tensor as the header describes it; `begin` and `end` are byte offsets in the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A checked header: its entries sorted by offset, its metadata, and where the data section starts. */
export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  /** 8 + N: the data section is bytes [dataStart, fileLength). */
  dataStart: number;
}

/**
 * Reads a safetensors file's bytes. `source` (usually the file name) starts every error message.
 * The result owns its data: nothing aliases `bytes`.
 */
export function parseSafetensors(bytes: Uint8Array, source = "safetensors"): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${source}: parseSafetensors expects a Uint8Array`);
  const header = parseSafetensorsHeader(bytes, bytes.length, source);
  return { tensors: readSafetensorsData(header, bytes.subarray(header.dataStart), source), metadata: header.metadata };
}

/**
 * Step 1 alone: the header length N from the file's first 8 bytes, checked against the limit and a file
 * of `fileLength` bytes. A reader of a file calls this first, then reads 8 + N bytes for the header.
 */
export function safetensorsHeaderLength(first: Uint8Array, fileLength: number, source = "safetensors"): number {
  if (fileLength < 8 || first.length < 8) {
    fail(source, `the file has ${fileLength} bytes, fewer than the 8-byte header length; not a safetensors file`);
  }
  const headerLength = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    fail(source, `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit (the file has ${fileLength} bytes); not a safetensors file?`);
  }
  const N = Number(headerLength);
  if (8 + N > fileLength) {
    fail(source, `header length ${N} exceeds the file (${fileLength} bytes, so at most ${fileLength - 8}); truncated or not a safetensors file`);
  }
  return N;
}

/**
 * Steps 1–4: the header, checked against a file of `fileLength` bytes before any of its data is read.
 * `prefix` holds at least the file's first 8 + N bytes.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileLength: number, source = "safetensors"): SafetensorsHeader {
  const failHere = (message: string): never => fail(source, message);

  // 1. The header length, checked before anything is allocated.
  const N = safetensorsHeaderLength(prefix, fileLength, source);
  if (prefix.length < 8 + N) throw new RangeError(`${source}: parseSafetensorsHeader needs the first ${8 + N} bytes, got ${prefix.length}`);

  // 2. The header text: a JSON object, possibly padded with spaces.
  const headerBytes = prefix.subarray(8, 8 + N);
  if (N === 0 || headerBytes[0] !== OPEN_BRACE) {
    failHere(`the header must start with "{", found ${N === 0 ? "an empty header" : `byte 0x${headerBytes[0]!.toString(16).padStart(2, "0")}`}`);
  }
  const text = decodeUtf8(headerBytes, failHere);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    failHere(`the header is not valid JSON (${oneLine(error instanceof Error ? error.message : String(error))})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    failHere("the header must be a JSON object");
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) {
    failHere(duplicate.topLevel
      ? `the header names ${quote(duplicate.key)} twice; each tensor name must appear once`
      : `the header repeats the key ${quote(duplicate.key)} inside one object; keys must be unique`);
  }

  // 3. Every entry: metadata, or a tensor with a known dtype, a shape and offsets that agree.
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(header as object)) {
    if (name === METADATA_KEY) readMetadata(value, metadata, failHere);
    else entries.push(readEntry(name, value, failHere));
  }

  // 4. The layout: sorted by offset, the tensors tile the byte buffer [0, dataLength) exactly.
  const dataStart = 8 + N;
  const dataLength = fileLength - dataStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous: SafetensorsEntry | null = null;
  for (const entry of entries) {
    if (entry.begin > position) {
      failHere(`tensor ${quote(entry.name)} starts at byte ${entry.begin} but ${previous ? `${quote(previous.name)} ends at ${position}` : "the data starts at 0"}; the data must be contiguous, with no gaps`);
    }
    if (entry.begin < position) {
      failHere(`tensor ${quote(entry.name)} starts at byte ${entry.begin}, inside ${quote(previous!.name)} [${previous!.begin}, ${previous!.end}); tensors must not overlap`);
    }
    if (entry.end > dataLength) {
      failHere(`tensor ${quote(entry.name)} ends at byte ${entry.end} but the data has ${dataLength} bytes; truncated file?`);
    }
    position = entry.end;
    previous = entry;
  }
  if (position !== dataLength) {
    failHere(`${dataLength - position} bytes follow the last tensor (the tensors cover ${position} of ${dataLength} data bytes); every byte must belong to a tensor`);
  }
  const unreadable = entries.find((entry) => !READABLE.includes(entry.dtype));
  if (unreadable) failHere(`tensor ${quote(unreadable.name)} has dtype ${unreadable.dtype}; bptt reads ${READABLE.join(", ")}`);
  return { entries, metadata, dataStart };
}

/** Step 5: the values of a checked header's tensors from its data section, converted to float32 and copied. */
export function readSafetensorsData(header: SafetensorsHeader, data: Uint8Array, source = "safetensors"): Map<string, Tensor> {
  const last = header.entries[header.entries.length - 1];
  if (data.length !== (last?.end ?? 0)) throw new RangeError(`${source}: the data section has ${data.length} bytes, the header describes ${last?.end ?? 0}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tensors = new Map<string, Tensor>();
  for (const entry of header.entries) {
    tensors.set(entry.name, new Tensor(toFloat32(data, view, entry.begin, entry.end, entry.dtype), entry.shape));
  }
  return tensors;
}

function fail(source: string, message: string): never {
  throw new RangeError(`${source}: ${message}`);
}

/**
 * Writes tensors (stored as F32) and optional string metadata in the reference writer's layout: a compact
 * JSON header with `__metadata__` first, then the tensors sorted by name (the reference sorts by descending
 * dtype alignment, then name; with one dtype that is by name, compared as UTF-8 bytes), padded with spaces
 * to a multiple of 8 bytes, then the data little-endian in the same order. Empty metadata is left out, so
 * that reading and rewriting a file without metadata gives the same bytes.
 */
export function serializeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const encoder = new TextEncoder();
  const parts: string[] = [];
  const metadataKeys = metadata === undefined ? [] : Object.keys(metadata);
  if (metadataKeys.length > 0) {
    const fields = metadataKeys.map((key) => {
      const value = metadata![key];
      if (typeof value !== "string") {
        throw new RangeError(`safetensors: metadata ${quote(key)} must be a string, got ${value === null ? "null" : typeof value}`);
      }
      return `${jsonString(key, "metadata key")}:${jsonString(value, `metadata ${quote(key)}`)}`;
    });
    parts.push(`"${METADATA_KEY}":{${fields.join(",")}}`);
  }

  const names = [...tensors.keys()].map((name) => ({ name, utf8: encoder.encode(name) }));
  names.sort((a, b) => compareBytes(a.utf8, b.utf8));
  let offset = 0;
  for (const { name } of names) {
    if (name === METADATA_KEY) throw new RangeError(`safetensors: a tensor cannot be named ${METADATA_KEY}`);
    const tensor = tensors.get(name)!;
    const end = offset + 4 * tensor.size;
    parts.push(`${jsonString(name, "tensor name")}:{"dtype":"F32","shape":[${tensor.shape.join(",")}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }

  const json = encoder.encode(`{${parts.join(",")}}`);
  const N = Math.ceil(json.length / 8) * 8;
  if (N > MAX_HEADER_BYTES) throw new RangeError(`safetensors: the header would take ${N} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce`);
  const out = new Uint8Array(8 + N + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(N), true);
  out.set(json, 8);
  out.fill(SPACE, 8 + json.length, 8 + N);
  let position = 8 + N;
  for (const { name } of names) {
    const data = tensors.get(name)!.data;
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    } else {
      for (let i = 0; i < data.length; i++) view.setFloat32(position + 4 * i, data[i]!, true);
    }
    position += data.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Header checks

function decodeUtf8(headerBytes: Uint8Array, fail: (message: string) => never): string {
  // TextDecoder refuses views of shared memory in browsers; the header is small enough to copy then.
  const shared = typeof SharedArrayBuffer !== "undefined" && headerBytes.buffer instanceof SharedArrayBuffer;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(shared ? headerBytes.slice() : headerBytes);
  } catch {
    return fail("the header is not valid UTF-8");
  }
}

function readMetadata(value: unknown, into: Record<string, string>, fail: (message: string) => never): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`${METADATA_KEY} must be an object of strings, got ${describe(value)}`);
  }
  for (const [key, text] of Object.entries(value as object)) {
    if (typeof text !== "string") fail(`${METADATA_KEY} ${quote(key)} must be a string, got ${describe(text)}`);
    Object.defineProperty(into, key, { value: text, enumerable: true, writable: true, configurable: true });
  }
}

function readEntry(name: string, value: unknown, fail: (message: string) => never): SafetensorsEntry {
  const what = `tensor ${quote(name)}`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(`${what} must be an object with dtype, shape and data_offsets, got ${describe(value)}`);
  }
  const fields = value as Record<string, unknown>;
  const field = (key: string): unknown => {
    if (!Object.hasOwn(fields, key)) fail(`${what} has no ${key}; expected dtype, shape and data_offsets`);
    return fields[key];
  };

  const dtype = field("dtype");
  const bits = typeof dtype === "string" ? DTYPE_BITS.get(dtype) : undefined;
  if (typeof dtype !== "string" || bits === undefined) {
    fail(`${what} has unknown dtype ${describe(dtype)}; expected one of ${[...DTYPE_BITS.keys()].join(", ")}`);
  }

  const shape = field("shape");
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    fail(`${what} has shape ${describe(shape)}; expected an array of non-negative integers below 2^53`);
  }
  const dims = shape as number[];

  const offsets = field("data_offsets");
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    fail(`${what} has data_offsets ${describe(offsets)}; expected [begin, end], non-negative integers below 2^53`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`${what} has data_offsets [${begin}, ${end}]; expected end ≥ begin`);

  // Elements and bytes, exact: a zero anywhere makes the tensor empty, otherwise stop at the first overflow.
  let elements = 1;
  if (dims.includes(0)) elements = 0;
  else {
    for (const n of dims) {
      elements *= n; // both factors are safe integers, so an overflow shows as a product above the limit
      if (elements > Number.MAX_SAFE_INTEGER) fail(`${what} has shape ${formatShape(dims)}, more than 2^53 - 1 elements`);
    }
  }
  const totalBits = BigInt(elements) * BigInt(bits!);
  if (totalBits % 8n !== 0n) fail(`${what}: ${elements} elements of ${dtype} take ${totalBits} bits, not a whole number of bytes`);
  const byteSize = totalBits / 8n;
  if (byteSize !== BigInt(end - begin)) {
    fail(`${what} is ${dtype} ${formatShape(dims)}, ${byteSize} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, dtype: dtype as string, shape: dims, begin, end };
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * The first key that appears twice in one object of valid JSON `text` (JSON.parse silently keeps the last).
 * A scan, not a parser: it only tracks strings and brackets, so `text` must already have parsed.
 */
function findDuplicateKey(text: string): { key: string; topLevel: boolean } | null {
  const objects: Array<Set<string> | null> = []; // per open bracket: the keys seen, or null for an array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // a string: find its closing quote, skipping escapes
      const start = i;
      let escaped = false;
      for (i++; text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c) {
          escaped = true;
          i++;
        }
      }
      const keys = objects[objects.length - 1];
      if (expectKey && keys) {
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
        if (keys.has(key)) return { key, topLevel: objects.length === 1 };
        keys.add(key);
      }
      expectKey = false;
    } else if (c === 0x7b) { // {
      objects.push(new Set());
      expectKey = true;
    } else if (c === 0x5b) { // [
      objects.push(null);
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) { // } ]
      objects.pop();
      expectKey = false;
    } else if (c === 0x2c) { // , — a key follows inside an object
      expectKey = objects[objects.length - 1] != null;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Conversion to float32. Offsets are absolute in `bytes`; nothing assumes alignment or the host's byte order.

function toFloat32(bytes: Uint8Array, view: DataView, begin: number, end: number, dtype: string): Float32Array {
  switch (dtype) {
    case "F32": {
      const out = new Float32Array((end - begin) / 4);
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(bytes.subarray(begin, end));
      else for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(begin + 4 * i, true);
      return out;
    }
    case "F64": {
      const out = new Float32Array((end - begin) / 8);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(begin + 8 * i, true); // rounds to nearest
      return out;
    }
    case "F16":
    case "BF16": {
      const out = new Float32Array((end - begin) / 2);
      const outBits = new Uint32Array(out.buffer); // same elements, so no byte-order question
      for (let i = 0; i < out.length; i++) {
        const h = bytes[begin + 2 * i]! | (bytes[begin + 2 * i + 1]! << 8);
        if (dtype === "BF16") outBits[i] = h << 16; // bfloat16 is the top half of a float32
        else writeHalf(h, out, outBits, i);
      }
      return out;
    }
    default:
      throw new RangeError(`safetensors: cannot convert ${dtype}`);
  }
}

/** IEEE half → float32: sign s, exponent e (5 bits, bias 15), fraction f (10 bits). */
function writeHalf(h: number, out: Float32Array, outBits: Uint32Array, i: number): void {
  const sign = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) out[i] = (sign ? -1 : 1) * f * 2 ** -24; // zero or subnormal: f·2^-24, exact in float32
  else if (e === 31) outBits[i] = (sign | 0x7f800000 | (f << 13)) >>> 0; // ±Infinity, NaN (payload kept)
  else outBits[i] = (sign | ((e + 112) << 23) | (f << 13)) >>> 0; // rebias 15 → 127
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

function jsonString(value: string, what: string): string {
  if (/\p{Cs}/u.test(value)) throw new RangeError(`safetensors: ${what} ${quote(value)} has an unpaired surrogate, which UTF-8 cannot hold`);
  return JSON.stringify(value);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** A name as JSON, shortened, so that any name prints on one line. */
function quote(name: string): string {
  const json = JSON.stringify(name);
  return json.length > 80 ? `${json.slice(0, 76)}…"` : json;
}

/** A JSON value in a few words, without walking it (it may be huge or deeply nested). */
function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return quote(value);
  if (typeof value !== "object" || value === null) return String(value);
  if (!Array.isArray(value)) return "an object";
  const flat = value.length <= 8 && value.every((v) => typeof v !== "object" || v === null);
  return flat ? `[${value.map((v) => (typeof v === "string" ? quote(v) : String(v))).join(", ")}]` : `an array of ${value.length} items`;
}

function oneLine(message: string): string {
  const flat = message.replace(/[\u0000-\u001f\u2028\u2029]+/g, " ");
  return flat.length > 160 ? `${flat.slice(0, 157)}…` : flat;
}
