/**
 * Reads within limits: readLinePieces gives a line of any length in bounded pieces; readLines caps a
 * line, a source's bytes and refuses devices; readFileChecked and loadSafetensors refuse non-regular
 * files and files over their cap before reading, and a safetensors header is checked before its body.
 */
import assert from "node:assert/strict";
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { readFileChecked } from "../../src/io/atomic-write.js";
import { type LinePiece, readLinePieces, readLines } from "../../src/io/read-lines.js";
import { loadSafetensors, saveSafetensors } from "../../src/io/safetensors-file.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { scratch } from "../helpers/scratch.js";
import { estimateMemory } from "../../src/cli/memory-estimate.js";
import { CELL_NAMES, SequenceModel } from "../../src/train/model.js";

const { dir, file } = scratch("limits");

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe("readLinePieces", () => {
  it("gives a long line in pieces of at most a chunk; joined, they are readLines' lines", async () => {
    const text = `short\r\n${"é".repeat(5000)}ab\r\n\r\nlast`;
    const path = file("pieces.txt", text);
    for (const highWaterMark of [7, 64, 1000]) {
      const pieces: LinePiece[] = await collect(readLinePieces(path, { highWaterMark }));
      assert.ok(pieces.every((p) => p.text.length <= highWaterMark), "no piece longer than a chunk");
      const lines: string[] = [];
      let current = "";
      for (const p of pieces) {
        current += p.text;
        if (p.end) {
          lines.push(current);
          current = "";
        }
      }
      assert.deepEqual(lines, ["short", `${"é".repeat(5000)}ab`, "", "last"]);
      assert.deepEqual(await collect(readLines(path, { highWaterMark })), lines);
      assert.deepEqual([...new Set(pieces.map((p) => p.line))], [1, 2, 3, 4]);
    }
  });

  it("reads a stream (standard input) the same way, and names it", async () => {
    const stream = Readable.from([Buffer.from("\uFEFFa\nb"), Buffer.from("c\r"), Buffer.from("\n")]);
    assert.deepEqual(await collect(readLines(stream)), ["a", "bc"]);
    await assert.rejects(collect(readLines(Readable.from([]))), { message: "stdin: no input" });
  });
});

describe("readLines within limits", () => {
  it("refuses a device, a file over maxBytes (before reading) and a stream past it, and a line over maxLineChars", async () => {
    await assert.rejects(collect(readLines("/dev/zero")), { message: "/dev/zero: not a regular file (a character device); give a file" });
    const path = file("ten.txt", "0123456789\n");
    await assert.rejects(collect(readLines(path, { maxBytes: 10 })), { message: `${path}: 11 bytes, over the 10 bytes limit for an input file` });
    await assert.rejects(collect(readLines(Readable.from([Buffer.alloc(8, 65), Buffer.alloc(8, 65)]), { maxBytes: 10 })), { message: "stdin: more than 10 bytes, the limit for an input file" });
    await assert.rejects(collect(readLines(file("long.txt", `ok\n${"x".repeat(100)}\n`), { maxLineChars: 50, highWaterMark: 16 })), /long\.txt:2: the line is longer than 50 characters/);
  });
});

describe("whole-file reads within limits", () => {
  it("readFileChecked: a device and a file over its cap are refused before reading", () => {
    assert.throws(() => readFileChecked("/dev/zero", "config file"), { message: "/dev/zero: not a regular file (a character device), expected a config file" });
    const path = file("cfg.json", "{}".padEnd(2000));
    assert.throws(() => readFileChecked(path, "config file", 1000), { message: `${path}: the config file is 2.0 kB, over the 1.0 kB limit` });
  });

  it("loadSafetensors checks the header before the body: a 3 GB file with a bad header costs its header", () => {
    const path = join(dir, "sparse.safetensors");
    const fd = openSync(path, "w");
    const header = Buffer.from(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`);
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    writeSync(fd, Buffer.concat([prefix, header]));
    ftruncateSync(fd, 3e9); // sparse: no disk used
    closeSync(fd);
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(() => loadSafetensors(path, { maxBytes: 4e9 }), /sparse\.safetensors: 2999999930 bytes follow the last tensor/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 1e6, "the body was not read");
    assert.throws(() => loadSafetensors(path), /sparse\.safetensors: the safetensors file is 3\.0 GB, over the 1\.1 GB limit/);
    assert.throws(() => loadSafetensors("/dev/zero"), /\/dev\/zero: not a regular file \(a character device\)/);
  });

  it("checkHeader refuses a file before its data is read", () => {
    const path = join(dir, "checked.safetensors");
    saveSafetensors(path, new Map([["w", Tensor.from([1, 2, 3], [3])]]));
    let seen: string[] = [];
    assert.throws(() => loadSafetensors(path, { checkHeader: (h) => {
      seen = h.entries.map((e) => `${e.name} ${e.dtype} [${e.shape}]`);
      throw new RangeError("not this one");
    } }), /not this one/);
    assert.deepEqual(seen, ["w F32 [3]"]);
  });
});

describe("the memory estimate", () => {
  it("counts exactly the parameters SequenceModel allocates, for every cell, tokens or features, stacked and bidirectional", () => {
    for (const cell of CELL_NAMES) {
      for (const config of [
        { cell, vocabSize: 11, embeddingDim: 5, hiddenSize: 7, numLayers: 3, outputSize: 11, objective: "classes" as const },
        { cell, inputSize: 4, hiddenSize: 6, numLayers: 2, bidirectional: true, outputSize: 2, objective: "regression" as const },
      ]) {
        const estimate = estimateMemory(config, { optimizer: "adam", batch: 1, steps: 1 });
        assert.equal(estimate.parameters, 4 * new SequenceModel(config).parameterCount, `${cell} ${JSON.stringify(config)}`);
        assert.equal(estimate.gradients, estimate.parameters);
        assert.equal(estimate.optimizerState, 2 * estimate.parameters);
      }
    }
  });
});
