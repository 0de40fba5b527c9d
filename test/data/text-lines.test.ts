/**
 * A text held in memory reads as the same text read from a file: textLines splits it as readLines
 * splits the file (whatever the chunk size), and textTokens gives the tokens lineTokens gives.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readLines } from "../../src/io/read-lines.js";
import { countLineTokens, encodeLines, collectStream, textTokens } from "../../src/data/language-model.js";
import { textLines } from "../../src/data/text-lines.js";
import { CharTokenizer, WordTokenizer } from "../../src/data/tokenizer.js";
import { Vocabulary, countTokens } from "../../src/data/vocabulary.js";

const dir = mkdtempSync(join(tmpdir(), "bptt-text-lines-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const TEXTS = [
  "a", "a\n", "a\nb", "a\r\nb\r\n", "\ufeffa\nb\n", "a\r\r\n", "a\rb\n", "a\r", "\n", "\n\n", "\r\n",
  " \n\t\n", "héllo wörld 😀\n\nsecond <eos> line\r\nthird", "\ufeff\n", "last line without end\r",
];

async function fileLines(text: string, highWaterMark: number): Promise<string[]> {
  const path = join(dir, "text.txt");
  writeFileSync(path, text);
  const lines: string[] = [];
  for await (const line of readLines(path, { highWaterMark })) lines.push(line);
  return lines;
}

describe("textLines", () => {
  it("splits a text as readLines splits the same bytes in a file, in chunks of any size", async () => {
    for (const text of TEXTS) {
      for (const highWaterMark of [1, 2, 3, 65536]) {
        const what = `${JSON.stringify(text)}, chunks of ${highWaterMark}`;
        assert.deepEqual(textLines(text), await fileLines(text, highWaterMark), what);
      }
    }
  });

  it("gives no line for an empty text (where readLines refuses the empty file)", async () => {
    assert.deepEqual(textLines(""), []);
    assert.deepEqual(textLines("\ufeff"), []);
    await assert.rejects(fileLines("", 64), /the file is empty/);
  });
});

describe("textTokens", () => {
  it("gives the tokens, counts and stream that lineTokens gives for the same text in a file", async () => {
    const text = TEXTS.join("\n");
    for (const tokenizer of [new CharTokenizer(), new WordTokenizer({ lowercase: true })]) {
      const tokens = textTokens(text, { tokenizer });
      const counted = await countLineTokens(await fileLines(text, 5), { tokenizer });
      assert.equal(tokens.length, counted.total);
      assert.deepEqual([...countTokens([tokens])], [...counted.counts], "the same counts, in order of appearance");
      const vocabulary = Vocabulary.fromCounts(counted.counts);
      const stream = await collectStream(encodeLines(await fileLines(text, 7), { tokenizer, vocabulary }));
      assert.deepEqual(vocabulary.encode(tokens), stream);
    }
  });

  it("appends the line end after every line: \"\\n\" for characters, \"<eos>\" for words, or the one given", () => {
    assert.deepEqual(textTokens("ab\r\nc", { tokenizer: new CharTokenizer() }), ["a", "b", "\n", "c", "\n"]);
    const words = textTokens("Hi there\n\nyou", { tokenizer: new WordTokenizer() });
    assert.deepEqual(words, ["Hi", "there", "<eos>", "<eos>", "you", "<eos>"]);
    assert.deepEqual(textTokens("a\nb", { tokenizer: new CharTokenizer(), lineEnd: null }), ["a", "b"]);
  });
});
