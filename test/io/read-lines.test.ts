/** readLines: streamed lines, CRLF, BOM, chunk boundaries inside characters, invalid UTF-8 with its line, empty and missing files. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseJsonlClassification } from "../../src/data/parse/jsonl.js";
import { readLines } from "../../src/io/read-lines.js";

const dir = mkdtempSync(join(tmpdir(), "bptt-read-lines-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(content: string | Uint8Array): string {
  const path = join(dir, `f${files++}.txt`);
  writeFileSync(path, content);
  return path;
}

async function lines(path: string, highWaterMark?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const line of readLines(path, highWaterMark ? { highWaterMark } : {})) out.push(line);
  return out;
}

const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...new TextEncoder().encode(p)] : p)));

describe("readLines", () => {
  it("splits on \\n; the final terminator does not add a line; a last line needs none", async () => {
    assert.deepEqual(await lines(file("a\nb\n")), ["a", "b"]);
    assert.deepEqual(await lines(file("a\n\nb")), ["a", "", "b"]);
    assert.deepEqual(await lines(file("\n")), [""]);
    assert.deepEqual(await lines(file("a\n\n")), ["a", ""]);
  });

  it("reads CRLF like LF and keeps a lone CR inside a line", async () => {
    assert.deepEqual(await lines(file("a\r\nb\r\n\r\nc")), ["a", "b", "", "c"]);
    assert.deepEqual(await lines(file("a\rb\r\n")), ["a\rb"]);
  });

  it("drops a UTF-8 byte order mark at the start only", async () => {
    assert.deepEqual(await lines(file("\uFEFFx,y\n\uFEFFz")), ["x,y", "\uFEFFz"]);
  });

  it("decodes characters cut across chunk boundaries, at every chunk size", async () => {
    const text = "h😀é\r\n€ 中文\n\uFEFF👩‍👧 end";
    const path = file(`\uFEFF${text}`);
    const expected = ["h😀é", "€ 中文", "\uFEFF👩‍👧 end"];
    for (const size of [1, 2, 3, 5, 7, 64]) assert.deepEqual(await lines(path, size), expected, `highWaterMark ${size}`);
  });

  it("reports invalid UTF-8 with its line, never replacement characters", async () => {
    const cases: Array<[Uint8Array, number]> = [
      [bytes("ok\nfine\nbad ", [0xff], " byte\nok\n"), 3],
      [bytes("ok\n", [0xc3, 0x28], "\n"), 2], // a lead byte followed by ASCII
      [bytes("ok\nok\nok\n", [0xe2, 0x82], "\nmore\n"), 4], // a sequence cut off by the line end
      [bytes("ok\n", [0xed, 0xa0, 0x80], "\n"), 2], // an encoded surrogate
      [bytes("ok\n", [0xc0, 0xaf], "\n"), 2], // an overlong encoding
      [bytes("ok\nend ", [0xf0, 0x9f, 0x98]), 2], // cut off by the end of the file
      [bytes([0xfe, 0xff], "utf-16 bom\n"), 1],
    ];
    for (const [content, line] of cases) {
      const path = file(content);
      for (const size of [1, 4, 64]) {
        await assert.rejects(lines(path, size), (e: Error) => {
          assert.ok(e instanceof RangeError, String(e));
          assert.equal(e.message, `${path}:${line}: invalid UTF-8`);
          return true;
        });
      }
    }
  });

  it("refuses empty, BOM-only and missing files and directories with one line naming the file", async () => {
    const empty = file("");
    await assert.rejects(lines(empty), { name: "RangeError", message: `${empty}: the file is empty` });
    const bomOnly = file("\uFEFF");
    await assert.rejects(lines(bomOnly), { name: "RangeError", message: `${bomOnly}: the file is empty` });
    const missing = join(dir, "nope.jsonl");
    await assert.rejects(lines(missing), { name: "RangeError", message: `${missing}: no such file` });
    const folder = join(dir, "folder");
    mkdirSync(folder);
    await assert.rejects(lines(folder), { name: "RangeError", message: `${folder}: is a directory, not a file` });
    await assert.rejects(async () => {
      for await (const _ of readLines(missing, { name: "train.jsonl" })) void _;
    }, { message: "train.jsonl: no such file" });
  });

  it("stops reading when the consumer stops", async () => {
    const path = file(Array.from({ length: 10000 }, (_, i) => `line ${i}`).join("\n"));
    let n = 0;
    for await (const line of readLines(path, { highWaterMark: 256 })) {
      if (++n === 3) {
        assert.equal(line, "line 2");
        break;
      }
    }
    assert.equal(n, 3);
  });

  it("gives parsers the same line numbers as the file", async () => {
    const path = file('{"text": "a", "label": "x"}\r\n\r\n{"text": "b", "label": "y"}\r\n{"text": 1, "label": "y"}\r\n');
    await assert.rejects(async () => {
      for await (const _ of parseJsonlClassification(readLines(path, { name: "data.jsonl" }), { source: "data.jsonl" })) void _;
    }, { message: 'data.jsonl:4: field "text" must be a string, got number 1' });
  });
});
