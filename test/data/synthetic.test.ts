/** The synthetic generators of the experiments: where the label is decided, what the text may hold, determinism. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { grammarText, grammarVerbForms } from "../../src/data/synthetic/grammar-text.js";
import { oneAnywhereSequences, singleOne } from "../../src/data/synthetic/one-anywhere.js";
import { SENTIMENT_VOCABULARY, sentimentTexts } from "../../src/data/synthetic/sentiment.js";
import { Rng } from "../../src/tensor/rng.js";

describe("sentimentTexts", () => {
  it("decides the label by the opening only: the filler after it is the same vocabulary for both classes", () => {
    const set = sentimentTexts(new Rng(3), { count: 400, length: 60, minLength: 20 });
    const words = (ids: Int32Array): string[] => Array.from(ids, (id) => SENTIMENT_VOCABULARY[id]!);
    const fillerByClass: Array<Set<string>> = [new Set(), new Set()];
    for (let n = 0; n < 400; n++) {
      const text = words(set.texts[n]!);
      const label = set.labels[n]!;
      assert.ok(text.length >= 20 && text.length <= 60);
      const openingLength = text[1] === "really" ? 4 : 3;
      const opening = text.slice(0, openingLength).join(" ");
      assert.ok((label === 1 ? ["i love this", "i really love this", "i adore this"] : ["i hate this", "i really hate this", "i despise this"]).includes(opening), opening);
      for (const w of text.slice(openingLength)) {
        assert.ok(!["love", "hate", "adore", "despise", "really", "i"].includes(w), `sentiment word "${w}" in the filler`);
        fillerByClass[label]!.add(w);
      }
    }
    assert.deepEqual([...fillerByClass[0]!].sort(), [...fillerByClass[1]!].sort(), "both classes draw the filler from the same words");
    const positives = set.labels.reduce((a, b) => a + b, 0);
    assert.ok(positives > 150 && positives < 250, `balanced classes (${positives} of 400 positive)`);
  });
});

describe("oneAnywhereSequences", () => {
  it("labels 1 exactly when a 1 appears, puts 1s only in [first, end), and leaves about half without any", () => {
    const set = oneAnywhereSequences(new Rng(5), { count: 2000, length: 20, first: 0, end: 10 });
    let positives = 0;
    for (let n = 0; n < 2000; n++) {
      const x = set.sequences[n]!;
      assert.equal(x.length, 20);
      assert.ok(x.every((v) => v === 0 || v === 1));
      assert.ok(x.subarray(10).every((v) => v === 0), "no 1 in the last 10 steps");
      assert.equal(set.labels[n], x.includes(1) ? 1 : 0);
      positives += set.labels[n]!;
    }
    assert.ok(positives > 900 && positives < 1100, `about half positive: ${positives} of 2000`);
    const anywhere = oneAnywhereSequences(new Rng(5), { count: 2000, length: 20 });
    assert.ok(anywhere.sequences.some((x) => x[19] === 1) && anywhere.sequences.some((x) => x[0] === 1), "1s at both ends");
  });

  it("is deterministic and refuses bad ranges", () => {
    assert.deepEqual(oneAnywhereSequences(new Rng(9), { count: 5, length: 8 }), oneAnywhereSequences(new Rng(9), { count: 5, length: 8 }));
    assert.throws(() => oneAnywhereSequences(new Rng(1), { count: 5, length: 8, first: 4, end: 4 }), /\[first, end\) = \[4, 4\)/);
    assert.throws(() => oneAnywhereSequences(new Rng(1), { count: 5, length: 8, end: 9 }), /inside \[0, 8\)/);
    assert.throws(() => oneAnywhereSequences(new Rng(1), { count: 0, length: 8 }), /count/);
  });

  it("singleOne puts one 1 at the position, or none", () => {
    assert.deepEqual(Array.from(singleOne(5, 3)), [0, 0, 0, 1, 0]);
    assert.deepEqual(Array.from(singleOne(5, null)), [0, 0, 0, 0, 0]);
    assert.throws(() => singleOne(5, 5), /position must be an integer in \[0, 5\)/);
  });
});

describe("grammarText", () => {
  const text = grammarText(new Rng(11), { characters: 20_000 });

  it("is deterministic, whole paragraphs, and uses only its small alphabet", () => {
    assert.equal(grammarText(new Rng(11), { characters: 20_000 }), text);
    assert.ok(text.length >= 20_000 && text.length < 21_000);
    assert.ok(text.endsWith("\n"));
    assert.match(text, /^[a-zA-Z ,."\n]+$/);
    assert.throws(() => grammarText(new Rng(1), { characters: 0 }), /characters/);
  });

  it("starts sentences with capitals, closes quotations, and makes verbs agree with their subjects", () => {
    for (const line of text.split("\n").filter(Boolean)) {
      assert.match(line, /^[A-Z]/);
      assert.equal((line.match(/"/g) ?? []).length % 2, 0, `balanced quotes: ${line}`);
      for (const sentence of line.split(/(?<=[."]) (?=[A-Z])/)) assert.match(sentence, /^[A-Z][^.]*\.("?)$/, sentence);
    }
    const { singular, plural } = grammarVerbForms();
    // "the cats sleep" / "the cat sleeps": a plural noun form is followed by a plural verb.
    const pairs = [...text.matchAll(/\b(cats|dogs|birds|farmers|teachers|children|horses|friends|cat|dog|bird|farmer|teacher|child|horse|friend) (\w+)/g)];
    assert.ok(pairs.length > 100);
    for (const [, noun, verb] of pairs) {
      const isPlural = noun!.endsWith("s") || noun === "children";
      assert.ok((isPlural ? plural : singular).includes(verb!), `${noun} ${verb}`);
    }
  });
});
