/** Vocabulary: specials in place, min count, max size, deterministic ties, unknown tokens, a defensive loader. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PAD_ID, UNK_ID, Vocabulary, countTokens } from "../../src/data/vocabulary.js";

describe("Vocabulary.fromCounts", () => {
  // First appearances: b, a, c, d, e.
  const counts = countTokens([["b", "a", "c"], ["a", "d", "b"], ["c", "a", "e"]]);

  it("counts tokens in first-appearance order", () => {
    assert.deepEqual([...counts], [["b", 2], ["a", 3], ["c", 2], ["d", 1], ["e", 1]]);
    countTokens([["z"]], counts);
    assert.equal(counts.get("z"), 1);
    counts.delete("z");
  });

  it("puts <pad> at 0 and <unk> at 1, then the most frequent first, ties by first appearance", () => {
    assert.deepEqual(Vocabulary.fromCounts(counts).toJSON(), ["<pad>", "<unk>", "a", "b", "c", "d", "e"]);
    assert.equal(PAD_ID, 0);
    assert.equal(UNK_ID, 1);
  });

  it("drops tokens below minCount and cuts at maxSize (specials included)", () => {
    assert.deepEqual(Vocabulary.fromCounts(counts, { minCount: 2 }).toJSON(), ["<pad>", "<unk>", "a", "b", "c"]);
    assert.deepEqual(Vocabulary.fromCounts(counts, { maxSize: 4 }).toJSON(), ["<pad>", "<unk>", "a", "b"]);
    assert.deepEqual(Vocabulary.fromCounts(counts, { maxSize: 2 }).toJSON(), ["<pad>", "<unk>"]);
    assert.deepEqual(Vocabulary.fromCounts(counts, { minCount: 3, maxSize: 100 }).toJSON(), ["<pad>", "<unk>", "a"]);
  });

  it("never duplicates a special that occurs in the corpus", () => {
    const v = Vocabulary.fromCounts(new Map([["<unk>", 9], ["x", 1], ["<pad>", 4]]));
    assert.deepEqual(v.toJSON(), ["<pad>", "<unk>", "x"]);
  });

  it("refuses bad options and counts", () => {
    assert.throws(() => Vocabulary.fromCounts(counts, { minCount: 0 }), /minCount must be an integer ≥ 1/);
    assert.throws(() => Vocabulary.fromCounts(counts, { maxSize: 1 }), /maxSize counts the specials/);
    assert.throws(() => Vocabulary.fromCounts(new Map([["a", 1.5]])), /count of "a" must be a non-negative integer/);
  });
});

describe("Vocabulary encode/decode", () => {
  const v = Vocabulary.fromCounts(countTokens([["the", "cat", "the"]]));

  it("maps unknown tokens to <unk> and back", () => {
    assert.deepEqual([...v.encode(["the", "dog", "cat"])], [2, UNK_ID, 3]);
    assert.deepEqual(v.decode([2, 1, 3, 0]), ["the", "<unk>", "cat", "<pad>"]);
    assert.equal(v.size, 4);
    assert.ok(v.has("cat") && !v.has("dog"));
    assert.equal(v.id("__proto__"), UNK_ID);
  });

  it("refuses ids outside the vocabulary", () => {
    assert.throws(() => v.token(4), /id 4 is outside the vocabulary \[0, 4\)/);
    assert.throws(() => v.decode([-1]), /outside/);
    assert.throws(() => v.token(1.5), /outside/);
  });
});

describe("Vocabulary.fromJSON", () => {
  it("round-trips through JSON", () => {
    const v = Vocabulary.fromCounts(countTokens([["x", "y", "__proto__", "constructor", "y"]]));
    const back = Vocabulary.fromJSON(JSON.parse(JSON.stringify(v)), "vocab.json");
    assert.deepEqual(back.toJSON(), v.toJSON());
    assert.equal(back.id("__proto__"), v.id("__proto__"));
    assert.ok(back.id("constructor") > UNK_ID);
  });

  it("refuses hostile data, naming the source", () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ 0: "<pad>", 1: "<unk>" }, /^model\/vocab\.json: a vocabulary must be an array of token strings, got an object$/],
      ["<pad>", /got the string "<pad>"/],
      [null, /got null/],
      [42, /got number 42/],
      [[], /starts with \["<pad>","<unk>"\], got 0 entries/],
      [["<pad>"], /got 1 entries/],
      [["<unk>", "<pad>", "a"], /vocabulary\[0\] must be "<pad>", got "<unk>"/],
      [["<pad>", "a", "<unk>"], /vocabulary\[1\] must be "<unk>", got "a"/],
      [["<pad>", "<unk>", "a", 7], /vocabulary\[3\] must be a string, got number 7/],
      [["<pad>", "<unk>", null], /vocabulary\[2\] must be a string, got null/],
      [["<pad>", "<unk>", ["a"]], /vocabulary\[2\] must be a string, got an array/],
      [["<pad>", "<unk>", ""], /vocabulary\[2\] is an empty string/],
      [["<pad>", "<unk>", "a", "b", "a"], /vocabulary\[4\] "a" repeats vocabulary\[2\]/],
      [["<pad>", "<unk>", "<pad>"], /vocabulary\[2\] "<pad>" repeats vocabulary\[0\]/],
      // eslint-disable-next-line no-sparse-arrays
      [["<pad>", "<unk>", , "a"], /vocabulary\[2\] must be a string, got nothing/],
    ];
    for (const [data, pattern] of cases) {
      assert.throws(() => Vocabulary.fromJSON(data, "model/vocab.json"), (e: Error) => {
        assert.ok(e instanceof RangeError);
        assert.match(e.message, /^model\/vocab\.json: /);
        assert.match(e.message, pattern);
        return true;
      }, JSON.stringify(data));
    }
  });
});
