/** CSV (RFC 4180): quoting, doubled quotes, line breaks in fields, CRLF; every malformed case with its line. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCsvClassification, parseCsvRecords, readCsv } from "../../src/data/parse/csv.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const records = (lines: string[]) => collect(parseCsvRecords(lines, { source: "data.csv" }));

describe("parseCsvRecords", () => {
  it("splits plain fields, keeping spaces and empty fields", async () => {
    assert.deepEqual(await records(["a,b,c", " x ,,", ","]), [
      { line: 1, fields: ["a", "b", "c"] },
      { line: 2, fields: [" x ", "", ""] },
      { line: 3, fields: ["", ""] },
    ]);
  });

  it("reads quoted fields with commas, doubled quotes and empty quotes", async () => {
    assert.deepEqual(await records(['"a, b","say ""hi""",""', '"",x,""""']), [
      { line: 1, fields: ["a, b", 'say "hi"', ""] },
      { line: 2, fields: ["", "x", '"'] },
    ]);
  });

  it("joins a quoted field across lines with \\n and numbers the record by its first line", async () => {
    assert.deepEqual(await records(["h1,h2", '"first', "", 'third, line",x', "y,z"]), [
      { line: 1, fields: ["h1", "h2"] },
      { line: 2, fields: ["first\n\nthird, line", "x"] },
      { line: 5, fields: ["y", "z"] },
    ]);
  });

  it("drops the CR of CRLF lines and skips blank lines outside quotes", async () => {
    const text = 'a,b\r\n"x\r\ny",2\r\n\r\nz,3\r\n';
    assert.deepEqual(await records(text.split("\n")), [
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["x\ny", "2"] },
      { line: 5, fields: ["z", "3"] },
    ]);
  });

  const bad: Array<[string[], RegExp]> = [
    [["a,b", 'x,y"z'], /^RangeError: data\.csv:2: column 2: a quote inside an unquoted field \(enclose the field in quotes and double the quote\)$/],
    [["a,b", ' "x",y'], /^RangeError: data\.csv:2: column 1: a quote inside an unquoted field/],
    [["a,b", '"x"y,z'], /^RangeError: data\.csv:2: column 1: characters after the closing quote/],
    [["a,b", 'z,"x" '], /^RangeError: data\.csv:2: column 2: characters after the closing quote/],
    [["a,b", "1,2", '"open,3', "4,5"], /^RangeError: data\.csv:3: a quoted field is never closed$/],
  ];
  for (const [lines, pattern] of bad) {
    it(`refuses ${JSON.stringify(lines.slice(1).join("⏎"))}`, async () => {
      await assert.rejects(records(lines), pattern);
    });
  }
});

describe("readCsv", () => {
  it("trims header names and checks every row's field count", async () => {
    const table = await readCsv([" text , label", "hi,pos"], { source: "data.csv" });
    assert.deepEqual(table.header, ["text", "label"]);
    assert.equal(table.column("label"), 1);
    assert.deepEqual(await collect(table.rows), [{ line: 2, fields: ["hi", "pos"] }]);
  });

  const bad: Array<[string[], RegExp]> = [
    [["a,b", "1,2", "1,2,3"], /^RangeError: data\.csv:3: 3 fields, the header has 2$/],
    [["a,b", "1,2", "", "1"], /^RangeError: data\.csv:4: 1 fields, the header has 2$/],
    [["a,b", '"1,2"'], /^RangeError: data\.csv:2: 1 fields, the header has 2$/],
    [["a,b"], /^RangeError: data\.csv: no data rows after the header$/],
    [["", "  "], /^RangeError: data\.csv: no header row \(the file has only blank lines\)$/],
    [["a,,b", "1,2,3"], /^RangeError: data\.csv:1: column 2 of the header has no name$/],
    [["a,b,a", "1,2,3"], /^RangeError: data\.csv:1: the header names column "a" twice \(columns 1 and 3\)$/],
  ];
  for (const [lines, pattern] of bad) {
    it(`refuses ${JSON.stringify(lines.join("⏎"))}`, async () => {
      await assert.rejects(async () => collect((await readCsv(lines, { source: "data.csv" })).rows), pattern);
    });
  }

  it("refuses a missing required column at the header, listing the columns", async () => {
    await assert.rejects(readCsv(["", "txt,label", "a,b"], { source: "data.csv", required: ["text"] }), /^RangeError: data\.csv:2: no column "text" \(the columns are "txt", "label"\)$/);
  });
});

describe("parseCsvClassification", () => {
  it("reads the text and label columns, ignoring others", async () => {
    const examples = await collect(parseCsvClassification(["id,label,text", '1,pos,"Great, really"', "2,neg,meh"], { source: "d.csv" }));
    assert.deepEqual(examples, [{ text: "Great, really", label: "pos", line: 2 }, { text: "meh", label: "neg", line: 3 }]);
  });

  it("takes other column names, and refuses an empty label naming the line", async () => {
    const examples = await collect(parseCsvClassification(["review,stars", "ok,4"], { source: "d.csv", textColumn: "review", labelColumn: "stars" }));
    assert.deepEqual(examples, [{ text: "ok", label: "4", line: 2 }]);
    await assert.rejects(collect(parseCsvClassification(["text,label", "a,b", "c, "], { source: "d.csv" })), /^RangeError: d\.csv:3: column "label" is empty$/);
    await assert.rejects(collect(parseCsvClassification(["text,y", "a,b"], { source: "d.csv" })), /^RangeError: d\.csv:1: no column "label"/);
  });
});
