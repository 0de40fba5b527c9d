/**
 * safetensors: round trips, byte-exact agreement with the reference writer's layout (files written by
 * test/fixtures/make_safetensors_fixture.py, and the byte vectors of the reference's own unit tests), and a
 * reader that refuses every malformed file with a one-line RangeError (hand-made hostile files plus a seeded
 * fuzz loop).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { MAX_HEADER_BYTES, parseSafetensors, serializeSafetensors } from "../../src/formats/safetensors.js";
import { Rng } from "../../src/tensor/rng.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { SequenceModel } from "../../src/train/model.js";

// From dist/test/formats/ (where this file runs, compiled) back to the repository's test/fixtures/.
const fixturePath = (name: string): URL => new URL(`../../../test/fixtures/${name}`, import.meta.url);
const readFixture = (name: string): Uint8Array => new Uint8Array(readFileSync(fixturePath(name)));

type Value = number | "NaN" | "Infinity" | "-Infinity";
interface ExpectedFile {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; data: Value[] }>;
}
const expected = JSON.parse(readFileSync(fixturePath("safetensors.json"), "utf8")) as Record<string, ExpectedFile>;
const toNumber = (v: Value): number => (typeof v === "number" ? v : Number(v));

const SOURCE = "test.safetensors";
const encoder = new TextEncoder();

/** A file from a header text (not padded unless the text is) and a data buffer of `data` bytes (0, 1, 2, …). */
function fileOf(header: string | Uint8Array, data: number | Uint8Array = 0, headerLength?: bigint): Uint8Array {
  const json = typeof header === "string" ? encoder.encode(header) : header;
  const bytes = typeof data === "number" ? Uint8Array.from({ length: data }, (_, i) => i & 0xff) : data;
  const out = new Uint8Array(8 + json.length + bytes.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes, 8 + json.length);
  return out;
}

const f32 = (shape: number[], begin: number): string => {
  const size = shape.reduce((a, b) => a * b, 1);
  return `{"dtype":"F32","shape":[${shape.join(",")}],"data_offsets":[${begin},${begin + 4 * size}]}`;
};

/** Asserts a RangeError with a one-line message that starts with the source and matches `pattern`. */
function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => parseSafetensors(bytes, SOURCE), (e: unknown) => {
    assert.ok(e instanceof RangeError, `expected a RangeError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${SOURCE}: `), `message should start with the source: ${e.message}`);
    assert.ok(!/[\n\r]/.test(e.message), `message should be one line: ${JSON.stringify(e.message)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

/** Same bits (NaN payloads and −0 included). */
function assertSameBits(actual: Float32Array, wanted: Float32Array, what: string): void {
  assert.deepEqual(new Uint32Array(actual.slice().buffer), new Uint32Array(wanted.slice().buffer), what);
}

describe("safetensors: round trip", () => {
  it("keeps names, shapes (0-rank and empty included) and every bit of the values", () => {
    const rng = new Rng(7);
    const tensors = new Map<string, Tensor>();
    for (const [name, shape] of [["b.matrix", [2, 3]], ["a.scalar", []], ["c.empty", [0, 3]], ["d.cube", [2, 1, 3]], ["e.vector", [5]]] as const) {
      const t = Tensor.zeros(shape);
      rng.fillNormal(t.data);
      tensors.set(name, t);
    }
    tensors.get("e.vector")!.data.set([NaN, Infinity, -Infinity, -0, 1e-45]);

    const bytes = serializeSafetensors(tensors);
    const { tensors: back, metadata } = parseSafetensors(bytes, SOURCE);
    assert.deepEqual(Object.keys(metadata), []);
    assert.deepEqual([...back.keys()], ["a.scalar", "b.matrix", "c.empty", "d.cube", "e.vector"], "written sorted by name");
    for (const [name, t] of tensors) {
      const got = back.get(name)!;
      assert.deepEqual(got.shape, t.shape, name);
      assertSameBits(got.data, t.data, name);
      assert.notEqual(got.data.buffer, bytes.buffer, "the result owns its data");
    }
    assert.deepEqual(serializeSafetensors(back), bytes, "parse → serialize gives the same bytes");
  });

  it("keeps metadata, including awkward keys and non-ASCII text", () => {
    const metadata = { format: "pt", ["__proto__"]: "not a prototype", note: "héllo, 世界 \"quoted\"\n", empty: "" };
    const tensors = new Map([["w", Tensor.from([1, 2], [2])]]);
    const parsed = parseSafetensors(serializeSafetensors(tensors, metadata), SOURCE);
    assert.deepEqual({ ...parsed.metadata }, { ...metadata });
    assert.equal(Object.getPrototypeOf(parsed.metadata), null);
    assert.equal(parsed.metadata["__proto__"], "not a prototype");
  });

  it("writes no tensors as the bare header", () => {
    const parsed = parseSafetensors(serializeSafetensors(new Map()), SOURCE);
    assert.equal(parsed.tensors.size, 0);
  });

  it("refuses to write what it could not read back", () => {
    const t = Tensor.from([1], [1]);
    assert.throws(() => serializeSafetensors(new Map([["__metadata__", t]])), /cannot be named __metadata__/);
    assert.throws(() => serializeSafetensors(new Map([["bad\ud800", t]])), /unpaired surrogate/);
    assert.throws(() => serializeSafetensors(new Map(), { n: 1 as unknown as string }), /metadata "n" must be a string/);
  });
});

describe("safetensors: the reference writer's layout", () => {
  // The byte vectors of huggingface/safetensors' own unit tests (safetensors/src/tensor.rs:
  // test_serialization, test_serialization_forced_alignement, test_empty), written here as header text.
  const values = Tensor.from([0, 1, 2, 3, 4, 5], [1, 2, 3]);
  const dataBytes = new Uint8Array(values.data.buffer);

  it("one F32 tensor: a 64-byte header that needs no padding", () => {
    const out = serializeSafetensors(new Map([["attn.0", values]]));
    assert.deepEqual(out, fileOf('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', dataBytes));
    assert.equal(out.length, 8 + 64 + 24);
  });

  it("pads the header with spaces to a multiple of 8 bytes", () => {
    const out = serializeSafetensors(new Map([["attn0", values.reshape([1, 1, 2, 3])]]));
    assert.deepEqual(out, fileOf('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ', dataBytes));
    assert.equal(new DataView(out.buffer).getBigUint64(0, true), 72n);
  });

  it("no tensors, with and without metadata (__metadata__ comes first)", () => {
    assert.deepEqual(serializeSafetensors(new Map()), fileOf("{}      "));
    assert.deepEqual(serializeSafetensors(new Map(), { framework: "pt" }), fileOf('{"__metadata__":{"framework":"pt"}}     '));
  });

  it("data starts 8-byte aligned in the file", () => {
    const out = serializeSafetensors(new Map([["x", Tensor.from([1], [1])], ["yy", Tensor.from([2, 3], [2])]]), { a: "b" });
    assert.equal(Number(new DataView(out.buffer).getBigUint64(0, true)) % 8, 0);
  });
});

describe("safetensors: files written by PyTorch (make_safetensors_fixture.py)", () => {
  const config = { cell: "lstm", vocabSize: 5, embeddingDim: 3, hiddenSize: 4, outputSize: 2, objective: "classes" } as const;

  function checkAgainstExpected(name: string, bytes: Uint8Array): void {
    const want = expected[name]!;
    const { tensors, metadata } = parseSafetensors(bytes, name);
    assert.deepEqual({ ...metadata }, want.metadata);
    assert.deepEqual([...tensors.keys()].sort(), Object.keys(want.tensors).sort());
    for (const [key, spec] of Object.entries(want.tensors)) {
      const got = tensors.get(key)!;
      assert.deepEqual(got.shape, spec.shape, key);
      // Every stored value is exactly representable: compare exactly (F64 rounds to the nearest float32).
      const wanted = Float32Array.from(spec.data.map(toNumber));
      assertSameBits(got.data, wanted, `${key} (${spec.dtype})`);
    }
  }

  it("reads the LSTM state_dict exactly, and SequenceModel loads it", () => {
    const bytes = readFixture("tiny_lstm.safetensors");
    checkAgainstExpected("tiny_lstm.safetensors", bytes);

    const { tensors } = parseSafetensors(bytes, "tiny_lstm.safetensors");
    const model = new SequenceModel(config);
    model.loadStateDict(tensors);
    for (const [name, value] of model.stateDict()) {
      assertSameBits(value.data, tensors.get(name)!.data, name);
    }
  });

  it("our writer reproduces the PyTorch-written file byte for byte", () => {
    const bytes = readFixture("tiny_lstm.safetensors");
    const { tensors, metadata } = parseSafetensors(bytes, "tiny_lstm.safetensors");
    assert.deepEqual(serializeSafetensors(tensors, metadata), bytes);

    const model = new SequenceModel(config);
    model.loadStateDict(tensors);
    assert.deepEqual(serializeSafetensors(model.stateDict(), { format: "pt" }), bytes, "from the model's own state_dict");
  });

  it("converts F64, BF16 and F16 to float32 (rounding, overflow, subnormals, ±0, ±Inf, NaN)", () => {
    checkAgainstExpected("tiny_mixed.safetensors", readFixture("tiny_mixed.safetensors"));
    const f64 = parseSafetensors(readFixture("tiny_mixed.safetensors")).tensors.get("mixed.f64")!;
    assert.equal(f64.data[3], Infinity, "3.5e38 overflows float32");
    assert.equal(f64.data[2], 0, "1e-50 underflows to 0");
  });

  it("reads at any byte offset (unaligned views) without looking outside the view", () => {
    for (const name of ["tiny_lstm.safetensors", "tiny_mixed.safetensors"]) {
      const file = readFixture(name);
      for (const shift of [1, 2, 3, 5]) {
        const host = new Uint8Array(file.length + shift + 7).fill(0xee);
        host.set(file, shift);
        checkAgainstExpected(name, host.subarray(shift, shift + file.length));
      }
    }
  });

  it("refuses dtypes bptt cannot use, naming the tensor and the dtype", () => {
    const header = '{"rnn.weight_ih_l0":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}';
    rejects(fileOf(header, 16), /tensor "rnn\.weight_ih_l0" has dtype I64; bptt reads F32, F16, BF16, F64/);
  });
});

describe("safetensors: hostile files", () => {
  it("too short for the header length", () => {
    rejects(new Uint8Array(0), /the file has 0 bytes, fewer than the 8-byte header length/);
    rejects(new Uint8Array(5), /the file has 5 bytes/);
  });

  it("a header length beyond the file, the 100 MB cap, or 2^63", () => {
    rejects(fileOf("{}", 0, 1000n), /header length 1000 exceeds the file \(10 bytes, so at most 2\)/);
    rejects(fileOf("{}", 0, 3n), /header length 3 exceeds the file/);
    rejects(fileOf("{}", 0, BigInt(MAX_HEADER_BYTES + 1)), /header length 100000001 exceeds the 100000000-byte limit/);
    rejects(fileOf("{}", 0, 9999999999n), /header length 9999999999 exceeds the 100000000-byte limit \(the file has 10 bytes\)/);
    rejects(fileOf("{}", 0, 2n ** 63n), /header length 9223372036854775808 exceeds/);
    rejects(fileOf("{}", 0, 2n ** 64n - 1n), /header length 18446744073709551615 exceeds/);
  });

  it("a header that is not UTF-8, does not start with {, or is not a JSON object", () => {
    rejects(fileOf(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), /the header is not valid UTF-8/);
    rejects(fileOf(Uint8Array.from([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])), /not valid UTF-8/); // an encoded surrogate
    rejects(fileOf(""), /must start with "\{", found an empty header/);
    rejects(fileOf(" {}"), /must start with "\{", found byte 0x20/);
    rejects(fileOf("\ufeff{}"), /must start with "\{", found byte 0xef/);
    rejects(fileOf("[]"), /must start with "\{"/);
    rejects(fileOf('{"a":}'), /the header is not valid JSON/);
    rejects(fileOf("{        "), /not valid JSON/);
    rejects(fileOf('{"a":1}\n{"b":2}'), /not valid JSON/);
    rejects(fileOf('{"a":1}\u0000\u0000'), /not valid JSON/);
  });

  it("space padding (and JSON whitespace) after the object is fine", () => {
    assert.equal(parseSafetensors(fileOf("{}        ")).tensors.size, 0);
    assert.equal(parseSafetensors(fileOf('{ "__metadata__" : { } }\n')).tensors.size, 0);
  });

  it("duplicate keys, which JSON.parse would silently merge", () => {
    rejects(fileOf(`{"a":${f32([1], 0)},"a":${f32([1], 4)}}`, 8), /names "a" twice; each tensor name must appear once/);
    rejects(fileOf(`{"a":${f32([1], 0)},"\\u0061":${f32([1], 0)}}`, 4), /names "a" twice/);
    rejects(fileOf(`{"__metadata__":{},"__metadata__":{}}`), /names "__metadata__" twice/);
    rejects(fileOf(`{"__metadata__":{"k":"1","k":"2"}}`), /repeats the key "k" inside one object/);
    rejects(fileOf(`{"a":{"dtype":"F32","dtype":"F16","shape":[],"data_offsets":[0,4]}}`, 4), /repeats the key "dtype"/);
    // Strings that look like keys inside values and arrays are not keys.
    const ok = `{"__metadata__":{"x":"\\"a\\":","y":"{\\"x\\":1}"},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4],"extra":[{"q":1},{"q":2}]}}`;
    assert.equal(parseSafetensors(fileOf(ok, 4)).tensors.get("a")!.rank, 0);
  });

  it("entries without a known dtype, a valid shape or valid offsets", () => {
    rejects(fileOf('{"a":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}', 1), /tensor "a" has unknown dtype "Q8"; expected one of BOOL, F4/);
    rejects(fileOf('{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}', 4), /unknown dtype 32/);
    rejects(fileOf('{"a":{"dtype":"constructor","shape":[1],"data_offsets":[0,4]}}', 4), /unknown dtype "constructor"/);
    rejects(fileOf('{"a":{"shape":[1],"data_offsets":[0,4]}}', 4), /tensor "a" has no dtype/);
    rejects(fileOf('{"a":{"dtype":"F32","data_offsets":[0,4]}}', 4), /has no shape/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":[1]}}', 4), /has no data_offsets/);
    rejects(fileOf('{"a":[1,2]}'), /tensor "a" must be an object with dtype, shape and data_offsets, got \[1, 2\]/);
    rejects(fileOf('{"a":null}'), /got null/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4), /has shape \[-1\]; expected an array of non-negative integers/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', 4), /has shape \[1\.5\]/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}', 8), /has shape \["2"\]/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}', 8), /has shape 2;/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":[1e300],"data_offsets":[0,4]}}', 4), /has shape \[1e\+300\]/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":[9007199254740992],"data_offsets":[0,4]}}', 4), /expected an array of non-negative integers below 2\^53/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":[67108864,67108864,67108864],"data_offsets":[0,4]}}', 4), /more than 2\^53 - 1 elements/);
    rejects(fileOf('{"a":{"dtype":"F64","shape":[4503599627370496,4],"data_offsets":[0,8]}}', 8), /more than 2\^53 - 1 elements/);
    rejects(fileOf('{"a":{"dtype":"F64","shape":[4503599627370495],"data_offsets":[0,8]}}', 8), /36028797018963960 bytes, but data_offsets \[0, 8\] hold 8/);
    rejects(fileOf('{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', 2), /12 bits, not a whole number of bytes/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', 4), /data_offsets \[4, 0\]; expected end ≥ begin/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', 4), /data_offsets \[0\]; expected \[begin, end\]/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', 4), /data_offsets \[-4, 0\]/);
    rejects(fileOf('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4e400]}}', 4), /data_offsets \[0, Infinity\]/);
    // A zero anywhere makes the tensor empty, however large the other sizes.
    const empty = parseSafetensors(fileOf('{"a":{"dtype":"F32","shape":[4503599627370495,0],"data_offsets":[0,0]}}')).tensors.get("a")!;
    assert.equal(empty.size, 0);
  });

  it("size mismatches, overlaps, gaps, data past the end, trailing bytes", () => {
    rejects(fileOf(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8), /tensor "a" is F32 \[3\], 12 bytes, but data_offsets \[0, 8\] hold 8/);
    rejects(fileOf(`{"a":${f32([2], 0)},"b":${f32([2], 4)}}`, 12), /tensor "b" starts at byte 4, inside "a" \[0, 8\); tensors must not overlap/);
    rejects(fileOf(`{"a":${f32([2], 0)},"b":${f32([2], 0)}}`, 8), /tensor "[ab]" starts at byte 0, inside "[ab]"/);
    rejects(fileOf(`{"a":${f32([2], 0)},"b":${f32([2], 12)}}`, 20), /tensor "b" starts at byte 12 but "a" ends at 8; the data must be contiguous/);
    rejects(fileOf(`{"a":${f32([2], 4)}}`, 12), /tensor "a" starts at byte 4 but the data starts at 0/);
    rejects(fileOf(`{"a":${f32([2], 0)}}`, 4), /tensor "a" ends at byte 8 but the data has 4 bytes/);
    rejects(fileOf(`{"a":${f32([2], 0)}}`, 12), /4 bytes follow the last tensor \(the tensors cover 8 of 12 data bytes\)/);
    rejects(fileOf("{}", 1), /1 bytes follow the last tensor/);
    rejects(fileOf(`{"a":${f32([2], 0)}}`, 0), /ends at byte 8 but the data has 0 bytes/);
    // Offsets in any order are fine as long as they tile the data; empty tensors may share an offset.
    const ok = parseSafetensors(fileOf(`{"z":${f32([1], 4)},"e1":${f32([0], 4)},"a":${f32([1], 0)},"e2":${f32([0, 9], 8)}}`, 8));
    assert.deepEqual([...ok.tensors.keys()], ["a", "e1", "z", "e2"], "in data order (by begin, then end)");
  });

  it("metadata that is not a map of strings", () => {
    rejects(fileOf('{"__metadata__":{"k":1}}'), /__metadata__ "k" must be a string, got 1/);
    rejects(fileOf('{"__metadata__":{"k":{"x":"y"}}}'), /__metadata__ "k" must be a string, got an object/);
    rejects(fileOf('{"__metadata__":{"k":null}}'), /must be a string, got null/);
    rejects(fileOf('{"__metadata__":["a"]}'), /__metadata__ must be an object of strings, got \["a"\]/);
    rejects(fileOf('{"__metadata__":"pt"}'), /__metadata__ must be an object of strings, got "pt"/);
  });

  it("__proto__ and constructor are plain names: no prototype is touched", () => {
    const header = `{"__proto__":${f32([1], 0)},"constructor":${f32([1], 4)},"__metadata__":{"__proto__":"x","toString":"y"}}`;
    const data = new Uint8Array(new Float32Array([1.5, 2.5]).buffer);
    const { tensors, metadata } = parseSafetensors(fileOf(header, data));
    assert.deepEqual([...tensors.keys()], ["__proto__", "constructor"]);
    assert.equal(tensors.get("__proto__")!.data[0], 1.5);
    assert.equal(tensors.get("constructor")!.data[0], 2.5);
    assert.equal(metadata["__proto__"], "x");
    assert.equal(metadata["toString"], "y");
    assert.equal(Object.getPrototypeOf(metadata), null);
    const plain: Record<string, unknown> = {};
    assert.equal(plain["dtype"], undefined);
    assert.equal(plain["shape"], undefined);
    assert.equal(typeof plain.toString, "function");
    // A tensor entry that is missing dtype must not find one on a prototype.
    rejects(fileOf('{"a":{"__proto__":{"dtype":"F32"},"shape":[1],"data_offsets":[0,4]}}', 4), /tensor "a" has no dtype/);
  });

  it("deep nesting and long names stay one-line errors (no stack overflow, no huge messages)", () => {
    const deep = `{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    rejects(fileOf(deep), /tensor "a" must be an object.*an array of 1 items/);
    const deepObject = `{"__metadata__":{"k":${'{"k":'.repeat(100_000)}1${"}".repeat(100_000)}}}`;
    rejects(fileOf(deepObject), /__metadata__ "k" must be a string, got an object/);
    const long = "n".repeat(10_000);
    assert.throws(() => parseSafetensors(fileOf(`{"${long}":{"dtype":"X"}}`), SOURCE), (e: unknown) => e instanceof RangeError && e.message.length < 400);
  });
});

describe("safetensors: fuzz", () => {
  it("random mutations and truncations either parse or throw a RangeError, quickly", () => {
    // Valid files: metadata, F32; F64/BF16/F16 with unaligned data; a 0-rank and an empty tensor.
    const seeds = [readFixture("tiny_lstm.safetensors"), readFixture("tiny_mixed.safetensors"), serializeSafetensors(new Map([["s", Tensor.from([1], [])], ["e", Tensor.zeros([0, 2])]]), { k: "v" })];
    const rng = new Rng(20240601);
    const digits = encoder.encode("0123456789");
    const started = performance.now();
    let parsed = 0;
    let refused = 0;
    const iterations = 4000;
    for (let iteration = 0; iteration < iterations; iteration++) {
      const base = seeds[iteration % seeds.length]!;
      let bytes = base.slice();
      const headerEnd = Math.min(bytes.length, 8 + Number(new DataView(base.buffer).getBigUint64(0, true)));
      const mutations = 1 + rng.int(3);
      for (let m = 0; m < mutations; m++) {
        const kind = rng.int(7);
        const at = rng.int(Math.max(1, bytes.length));
        if (kind === 0) bytes[at] = rng.int(256); // any byte
        else if (kind === 1) { // a digit in the header becomes another digit: shapes and offsets change
          const candidates = [];
          for (let i = 8; i < Math.min(headerEnd, bytes.length); i++) if (bytes[i]! >= 0x30 && bytes[i]! <= 0x39) candidates.push(i);
          if (candidates.length > 0) bytes[candidates[rng.int(candidates.length)]!] = digits[rng.int(10)]!;
        } else if (kind === 2) bytes = bytes.slice(0, at); // truncation
        else if (kind === 3) { // append bytes
          const extra = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
          const grown = new Uint8Array(bytes.length + extra.length);
          grown.set(bytes);
          grown.set(extra, bytes.length);
          bytes = grown;
        } else if (kind === 4 && bytes.length >= 8) { // the header length's byte
          bytes[rng.int(8)] = rng.int(256);
        } else if (kind === 5) { // delete one byte
          bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]);
        } else if (kind === 6) bytes[at] = 0x20 ^ (bytes[at] ?? 0); // flip case / spaces
      }
      try {
        const { tensors } = parseSafetensors(bytes, SOURCE);
        for (const t of tensors.values()) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
        parsed++;
      } catch (error) {
        if (!(error instanceof RangeError)) {
          assert.fail(`iteration ${iteration}: ${String(error)} is not a RangeError`);
        }
        assert.ok(error.message.startsWith(`${SOURCE}: `) && !/[\n\r]/.test(error.message), error.message);
        refused++;
      }
    }
    const elapsed = performance.now() - started;
    assert.equal(parsed + refused, iterations);
    assert.ok(refused > iterations / 2 && parsed > 0, `parsed ${parsed}, refused ${refused}`);
    assert.ok(elapsed < 5000, `took ${elapsed.toFixed(0)} ms`);
  });
});
