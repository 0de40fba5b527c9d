/**
 * What the playground refuses before anything reaches the worker (web/src/shared/input-checks.ts and
 * settingsProblems): each refusal one sentence naming the file or setting and what was expected.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MAX_TEXT_BYTES,
  checkSize,
  checkTrainingText,
  decodeText,
  pickRunFiles,
} from "../../web/src/shared/input-checks.js";
import { defaultSettings, settingsProblems } from "../../web/src/shared/settings.js";

describe("the playground's input checks", () => {
  it("refuses empty text, binary files, invalid UTF-8 and oversized files, naming them", () => {
    assert.throws(
      () => checkTrainingText(" \n\t", "the pasted text"),
      /^RangeError: the pasted text is empty: paste or drop a text/,
    );
    assert.throws(
      () => decodeText({ name: "a.png", bytes: new Uint8Array([0x89, 0x50, 0, 1]) }),
      /“a\.png” looks like a binary file \(a NUL byte at offset 2\)/,
    );
    assert.throws(
      () => decodeText({ name: "b.txt", bytes: new Uint8Array([0x61, 0xff, 0x62]) }),
      /“b\.txt” is not UTF-8 text/,
    );
    assert.throws(
      () => checkSize("book.txt", MAX_TEXT_BYTES + 1, MAX_TEXT_BYTES, "texts"),
      /“book\.txt” is 10\.0 MB: the playground takes texts of at most 10\.0 MB/,
    );
    assert.equal(decodeText({ name: "ok.txt", bytes: new TextEncoder().encode("naïve 👍\n") }), "naïve 👍\n");
    checkSize("book.txt", MAX_TEXT_BYTES, MAX_TEXT_BYTES, "texts");
  });

  it("picks config.json and model.safetensors out of a run directory's files, and says which is missing", () => {
    const files = ["metrics.json", "checkpoint.safetensors", "model.safetensors", "config.json"].map((name) => ({
      name,
    }));
    assert.deepEqual(pickRunFiles(files), { config: { name: "config.json" }, weights: { name: "model.safetensors" } });
    assert.throws(() => pickRunFiles([{ name: "config.json" }]), /model\.safetensors is missing/);
    assert.throws(() => pickRunFiles([{ name: "model.safetensors" }]), /config\.json is missing/);
    assert.throws(() => pickRunFiles([{ name: "notes.txt" }]), /drop a run's config\.json and model\.safetensors/);
  });

  it("says what is wrong with the settings before training starts", () => {
    assert.deepEqual(settingsProblems(defaultSettings("sentiment")), []);
    assert.deepEqual(settingsProblems({ ...defaultSettings("sentiment"), k1: Infinity, loss: "every-chunk" }), [
      "a loss every chunk needs chunks: give a finite k1",
    ]);
    assert.deepEqual(settingsProblems({ ...defaultSettings("char-lm"), k2: Infinity }), [
      "a language model reads the text as one stream carried across batches: give finite k1 and k2",
    ]);
    assert.deepEqual(settingsProblems({ ...defaultSettings("framewise"), loss: "end" }), [
      "framewise labelling has a target at every step: choose the loss at every step",
    ]);
    assert.deepEqual(settingsProblems({ ...defaultSettings("one-anywhere"), k2: 2.5, hiddenSize: 0 }), [
      "hidden size must be a whole number from 1 to 1024, got 0",
      "k2 must be a whole number ≥ 1 or ∞, got 2.5",
    ]);
  });
});
