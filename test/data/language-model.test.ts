/**
 * Language-model batches: PyTorch's batchify + get_batch. Row b of every batch is a contiguous piece
 * of strip b, batch n + 1 continues where batch n stopped, the targets are the next tokens, and the
 * streamed version (pieces, blocks) equals batchify on each block.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  batchify, collectStream, countLineTokens, encodeLines, languageModelBatches, lineTokens, streamLanguageModelBatches,
} from "../../src/data/language-model.js";
import { CharTokenizer, WordTokenizer } from "../../src/data/tokenizer.js";
import { Vocabulary } from "../../src/data/vocabulary.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** 0, 1, …, N − 1: each token is its own position in the stream. */
const iota = (N: number): Int32Array => Int32Array.from({ length: N }, (_, i) => i);

/** PyTorch's layout, written independently: source[i][b] = stream[b·L + i]. */
function referenceBatches(stream: Int32Array, B: number, bptt: number): Array<{ ids: number[][]; targets: number[][] }> {
  const L = Math.floor(stream.length / B);
  const source = (i: number, b: number): number => stream[b * L + i]!;
  const out = [];
  for (let i = 0; i < L - 1; i += bptt) {
    const T = Math.min(bptt, L - 1 - i);
    const rows = (shift: number): number[][] => Array.from({ length: T }, (_, t) => Array.from({ length: B }, (_, b) => source(i + t + shift, b)));
    out.push({ ids: rows(0), targets: rows(1) });
  }
  return out;
}

function grid(values: Int32Array | Float32Array | undefined, T: number, B: number): number[][] {
  return Array.from({ length: T }, (_, t) => Array.from({ length: B }, (_, b) => values![t * B + b]!));
}

describe("batchify and languageModelBatches", () => {
  it("cuts the stream into B contiguous strips, time-major, dropping the remainder", () => {
    const strips = batchify(iota(23), 4);
    assert.equal(strips.L, 5);
    assert.equal(strips.B, 4);
    assert.equal(strips.data.length, 20);
    for (let b = 0; b < 4; b++) for (let t = 0; t < 5; t++) assert.equal(strips.data[t * 4 + b], b * 5 + t);
  });

  it("matches PyTorch's get_batch, the last batch shorter", () => {
    for (const [N, B, bptt] of [[23, 4, 2], [23, 4, 3], [100, 3, 7], [10, 5, 35], [8, 1, 1]] as const) {
      const batches = [...languageModelBatches(batchify(iota(N), B), { bptt })];
      const expected = referenceBatches(iota(N), B, bptt);
      assert.equal(batches.length, expected.length, `N=${N} B=${B} bptt=${bptt}`);
      batches.forEach((batch, n) => {
        assert.equal(batch.B, B);
        assert.deepEqual(grid(batch.ids, batch.T, B), expected[n]!.ids);
        assert.deepEqual(grid(batch.stepTargets, batch.T, B), expected[n]!.targets);
      });
      const L = Math.floor(N / B);
      assert.equal(batches.at(-1)!.T, (L - 1) % bptt || Math.min(bptt, L - 1));
    }
  });

  it("continues each row: row b of batch n + 1 starts where row b of batch n stopped, targets are the next tokens", () => {
    const rng = new Rng(3);
    const stream = Int32Array.from({ length: 203 }, () => rng.int(50));
    const B = 4;
    const L = Math.floor(203 / B);
    const batches = [...languageModelBatches(batchify(stream, B), { bptt: 6 })];
    assert.deepEqual(batches.map((b) => b.continues), batches.map((_, n) => n > 0));
    const position = new Int32Array(B); // next offset in each strip
    for (const batch of batches) {
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < batch.T; t++) {
          assert.equal(batch.ids![t * B + b], stream[b * L + position[b]! + t]);
          assert.equal(batch.stepTargets![t * B + b], stream[b * L + position[b]! + t + 1]);
          if (t + 1 < batch.T) assert.equal(batch.stepTargets![t * B + b], batch.ids![(t + 1) * B + b]);
        }
        position[b] += batch.T;
      }
    }
    assert.deepEqual([...position], [L - 1, L - 1, L - 1, L - 1]);
  });

  it("refuses a stream too short for the strips and bad sizes", () => {
    assert.throws(() => batchify(iota(7), 4), /a stream of 7 tokens is too short for 4 strips/);
    assert.throws(() => batchify(iota(7), 0), /batchSize must be a positive integer/);
    assert.throws(() => [...languageModelBatches(batchify(iota(8), 2), { bptt: 0 })], /bptt must be a positive integer/);
  });
});

describe("text → token stream", () => {
  it("appends <eos> to every line for words (blank lines too) and \\n for characters", async () => {
    const words = await collect(lineTokens(["Hello world", "", "Hi!\r"], { tokenizer: new WordTokenizer() }));
    assert.deepEqual(words, [["Hello", "world", "<eos>"], ["<eos>"], ["Hi", "!", "<eos>"]]);
    const chars = await collect(lineTokens(["ab", "😀"], { tokenizer: new CharTokenizer() }));
    assert.deepEqual(chars, [["a", "b", "\n"], ["😀", "\n"]]);
    const bare = await collect(lineTokens(["ab", ""], { tokenizer: new CharTokenizer(), lineEnd: null }));
    assert.deepEqual(bare, [["a", "b"], []]);
  });

  it("counts, encodes and collects the stream", async () => {
    const lines = ["the cat", "the dog sat", "a zebra"];
    const tokenizer = new WordTokenizer();
    const { counts, total } = await countLineTokens(lines, { tokenizer });
    assert.equal(total, 10);
    assert.deepEqual([...counts.keys()], ["the", "cat", "<eos>", "dog", "sat", "a", "zebra"]);
    const vocabulary = Vocabulary.fromCounts(counts, { minCount: 2 });
    assert.deepEqual(vocabulary.toJSON(), ["<pad>", "<unk>", "<eos>", "the"]);
    const pieces = await collect(encodeLines(lines, { tokenizer, vocabulary }));
    assert.deepEqual(pieces.map((p) => [...p]), [[3, 1, 2], [3, 1, 1, 2], [1, 1, 2]]);
    const sized = await collectStream(pieces, total);
    const grown = await collectStream(encodeLines(lines, { tokenizer, vocabulary }));
    assert.deepEqual([...sized], [3, 1, 2, 3, 1, 1, 2, 1, 1, 2]);
    assert.deepEqual(grown, sized);
    await assert.rejects(collectStream(pieces, 9), /longer than the 9 tokens announced/);
  });

  it("grows past its first allocation", async () => {
    const pieces = Array.from({ length: 30 }, (_, k) => iota(100).map((x) => x + 100 * k));
    assert.deepEqual(await collectStream(pieces), iota(3000));
  });
});

describe("streamLanguageModelBatches", () => {
  /** The stream cut into pieces of random sizes, some empty. */
  function* pieces(stream: Int32Array, seed: number): Generator<Int32Array> {
    const rng = new Rng(seed);
    for (let i = 0; i < stream.length;) {
      const n = rng.int(13);
      yield stream.slice(i, i + n);
      i += n;
    }
  }

  const plain = (batches: Batch[]): unknown[] => batches.map((b) => ({ T: b.T, B: b.B, ids: [...b.ids!], targets: [...b.stepTargets!], continues: b.continues }));

  it("equals batchify when the stream is exactly one block", async () => {
    const B = 3;
    const blockSteps = 12;
    const stream = iota(B * (blockSteps + 1));
    const streamed = await collect(streamLanguageModelBatches(pieces(stream, 1), { batchSize: B, bptt: 5, blockSteps }));
    assert.deepEqual(plain(streamed), plain([...languageModelBatches(batchify(stream, B), { bptt: 5 })]));
  });

  it("batchifies each block on its own, restarting the state at each block, and keeps a last partial block", async () => {
    const B = 2;
    const blockSteps = 6;
    const block = B * (blockSteps + 1); // 14 tokens
    const stream = iota(2 * block + 9);
    const streamed = await collect(streamLanguageModelBatches(pieces(stream, 2), { batchSize: B, bptt: 3, blockSteps }));
    const expected = [
      ...languageModelBatches(batchify(stream.slice(0, block), B), { bptt: 3 }),
      ...languageModelBatches(batchify(stream.slice(block, 2 * block), B), { bptt: 3 }),
      ...languageModelBatches(batchify(stream.slice(2 * block), B), { bptt: 3 }),
    ];
    assert.deepEqual(plain(streamed), plain(expected));
    assert.deepEqual(streamed.map((b) => b.continues), [false, true, false, true, false]);
  });

  it("drops a last piece too short for the strips, and refuses a stream too short for one", async () => {
    const streamed = await collect(streamLanguageModelBatches([iota(14), iota(3)], { batchSize: 2, bptt: 3, blockSteps: 6 }));
    assert.equal(streamed.length, 2);
    await assert.rejects(collect(streamLanguageModelBatches([iota(3)], { batchSize: 2, bptt: 3 })), /a stream of 3 tokens is too short for 2 strips/);
  });

  it("reads async pieces", async () => {
    async function* slowly(): AsyncGenerator<Int32Array> {
      for (let k = 0; k < 4; k++) yield iota(5).map((x) => x + 5 * k);
    }
    const streamed = await collect(streamLanguageModelBatches(slowly(), { batchSize: 2, bptt: 4 }));
    assert.deepEqual(plain(streamed), plain([...languageModelBatches(batchify(iota(20), 2), { bptt: 4 })]));
  });
});
