/** JSON Lines: fields by task; every malformed line is refused with its exact line number. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseJsonlClassification, parseJsonlLabelling, parseJsonlRecords } from "../../src/data/parse/jsonl.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const classify = (lines: string[]) => collect(parseJsonlClassification(lines, { source: "data.jsonl" }));
const label = (lines: string[]) => collect(parseJsonlLabelling(lines, { source: "data.jsonl" }));

describe("parseJsonlRecords", () => {
  it("skips blank lines but counts them, drops a CR, and reads async lines", async () => {
    async function* lines(): AsyncGenerator<string> {
      yield '{"a": 1}\r';
      yield "";
      yield "   ";
      yield '{"a": 2}';
    }
    const records = await collect(parseJsonlRecords(lines(), { source: "x.jsonl" }));
    assert.deepEqual(records, [{ line: 1, value: { a: 1 } }, { line: 4, value: { a: 2 } }]);
  });

  it("refuses a file of blank lines", async () => {
    await assert.rejects(collect(parseJsonlRecords(["", " "], { source: "x.jsonl" })), /^RangeError: x\.jsonl: no records \(every line is blank\)$/);
  });
});

describe("classify records", () => {
  it("reads text and label, ignoring other fields; a numeric label becomes its decimal string", async () => {
    const examples = await classify(['{"text": "fine", "label": "pos", "id": 7}', "", '{"label": 1, "text": ""}']);
    assert.deepEqual(examples, [{ text: "fine", label: "pos", line: 1 }, { text: "", label: "1", line: 3 }]);
  });

  const bad: Array<[string, RegExp]> = [
    ['{"text": "a", "label": "b"', /^RangeError: data\.jsonl:3: invalid JSON \(.+\)$/],
    ["not json", /^RangeError: data\.jsonl:3: invalid JSON/],
    ['["a", "b"]', /^RangeError: data\.jsonl:3: expected a JSON object, got an array$/],
    ['"text"', /^RangeError: data\.jsonl:3: expected a JSON object, got the string "text"$/],
    ["null", /^RangeError: data\.jsonl:3: expected a JSON object, got null$/],
    ["42", /^RangeError: data\.jsonl:3: expected a JSON object, got number 42$/],
    ['{"text": "a"}', /^RangeError: data\.jsonl:3: missing field "label" \(fields: "text"\)$/],
    ['{"label": "a"}', /^RangeError: data\.jsonl:3: missing field "text" \(fields: "label"\)$/],
    ["{}", /^RangeError: data\.jsonl:3: missing field "text" \(fields: none\)$/],
    ['{"text": 3, "label": "a"}', /^RangeError: data\.jsonl:3: field "text" must be a string, got number 3$/],
    ['{"text": ["a"], "label": "a"}', /^RangeError: data\.jsonl:3: field "text" must be a string, got an array$/],
    ['{"text": "a", "label": null}', /^RangeError: data\.jsonl:3: field "label" must be a non-empty string or a number, got null$/],
    ['{"text": "a", "label": ""}', /^RangeError: data\.jsonl:3: field "label" must be a non-empty string or a number, got an empty string$/],
    ['{"text": "a", "label": true}', /^RangeError: data\.jsonl:3: field "label" must be a non-empty string or a number, got boolean true$/],
    ['{"text": "a", "label": {"x": 1}}', /^RangeError: data\.jsonl:3: field "label" must be a non-empty string or a number, got an object$/],
    ['{"text": "a", "label": 1e999}', /^RangeError: data\.jsonl:3: field "label" must be a non-empty string or a number, got number Infinity$/],
  ];
  for (const [line, pattern] of bad) {
    it(`refuses ${line}`, async () => {
      await assert.rejects(classify(['{"text": "ok", "label": "pos"}', "", line, '{"text": "ok", "label": "pos"}']), pattern);
    });
  }
});

describe("label records", () => {
  it("reads token inputs and feature inputs with their labels, null for no loss", async () => {
    const examples = await label([
      '{"inputs": ["The", "cat"], "labels": ["DET", "NOUN"]}',
      '{"inputs": [[0.5, 1], [2, -3]], "labels": [null, 7]}',
    ]);
    assert.deepEqual(examples, [
      { inputs: ["The", "cat"], labels: ["DET", "NOUN"], line: 1 },
      { inputs: [[0.5, 1], [2, -3]], labels: [null, "7"], line: 2 },
    ]);
  });

  const bad: Array<[string, RegExp]> = [
    ['{"labels": ["a"]}', /^RangeError: data\.jsonl:2: missing field "inputs" \(fields: "labels"\)$/],
    ['{"inputs": ["a"]}', /^RangeError: data\.jsonl:2: missing field "labels" \(fields: "inputs"\)$/],
    ['{"inputs": "a b", "labels": ["a"]}', /^RangeError: data\.jsonl:2: field "inputs" must be a non-empty array \(tokens or feature vectors\), got the string "a b"$/],
    ['{"inputs": [], "labels": []}', /^RangeError: data\.jsonl:2: field "inputs" must be a non-empty array \(tokens or feature vectors\), got an empty array$/],
    ['{"inputs": [1, 2], "labels": ["a", "b"]}', /^RangeError: data\.jsonl:2: field "inputs"\[0\] must be a token \(string\) or a feature vector \(array of numbers\), got number 1$/],
    ['{"inputs": ["a", 2], "labels": ["a", "b"]}', /^RangeError: data\.jsonl:2: field "inputs"\[1\] must be a non-empty string \(inputs\[0\] is a token\), got number 2$/],
    ['{"inputs": ["a", ""], "labels": ["a", "b"]}', /^RangeError: data\.jsonl:2: field "inputs"\[1\] must be a non-empty string/],
    ['{"inputs": [[1], "b"], "labels": ["a", "b"]}', /^RangeError: data\.jsonl:2: field "inputs"\[1\] must be an array of numbers \(inputs\[0\] is a feature vector\), got the string "b"$/],
    ['{"inputs": [[1, 2], [3]], "labels": ["a", "b"]}', /^RangeError: data\.jsonl:2: field "inputs"\[1\] has 1 features, inputs\[0\] has 2/],
    ['{"inputs": [[], []], "labels": ["a", "b"]}', /^RangeError: data\.jsonl:2: field "inputs"\[0\] has 0 features/],
    ['{"inputs": [[1, "x"]], "labels": ["a"]}', /^RangeError: data\.jsonl:2: field "inputs"\[0\]\[1\] must be a finite number, got the string "x"$/],
    ['{"inputs": [[1, 1e999]], "labels": ["a"]}', /^RangeError: data\.jsonl:2: field "inputs"\[0\]\[1\] must be a finite number, got number Infinity$/],
    ['{"inputs": ["a", "b"], "labels": "a"}', /^RangeError: data\.jsonl:2: field "labels" must be an array, got the string "a"$/],
    ['{"inputs": ["a", "b"], "labels": ["a"]}', /^RangeError: data\.jsonl:2: field "labels" has 1 entries but "inputs" has 2 \(one label per step\)$/],
    ['{"inputs": ["a", "b"], "labels": ["a", false]}', /^RangeError: data\.jsonl:2: field "labels"\[1\] must be a non-empty string or a number, got boolean false$/],
  ];
  for (const [line, pattern] of bad) {
    it(`refuses ${line}`, async () => {
      await assert.rejects(label(['{"inputs": ["ok"], "labels": ["a"]}', line]), pattern);
    });
  }
});
