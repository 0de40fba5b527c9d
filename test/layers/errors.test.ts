/**
 * Argument checking of the recurrent layers: every bad argument throws a RangeError whose message
 * names the argument and, for shapes, the expected shape (and what was given).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GRU, LSTM, RNN, type Recurrent, RecurrentCache } from "../../src/layers/recurrent.js";
import { loadStateDict, stateDict } from "../../src/tensor/parameter.js";
import { Tensor } from "../../src/tensor/tensor.js";

/** Asserts that `fn` throws a RangeError whose message matches `message`. */
function throwsRange(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof RangeError, `expected a RangeError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

// T = 5 steps, B = 3 sequences, I = 4 inputs, H = 6 hidden, L = 2 layers.
const T = 5, B = 3, I = 4, H = 6, L = 2;
const lstm = (): LSTM => new LSTM({ inputSize: I, hiddenSize: H, numLayers: L, seed: 1 });
const gru = (): GRU => new GRU({ inputSize: I, hiddenSize: H, numLayers: L, seed: 1 });
const x = (): Tensor => Tensor.zeros([T, B, I]);
const state = (): Tensor => Tensor.zeros([L, B, H]);

describe("errors: constructor options", () => {
  it("hiddenSize, inputSize, numLayers must be positive integers", () => {
    throwsRange(() => new LSTM({ inputSize: I, hiddenSize: 0 }), /hiddenSize must be a positive integer, got 0/);
    throwsRange(() => new RNN({ inputSize: I, hiddenSize: 2.5 }), /hiddenSize must be a positive integer, got 2\.5/);
    throwsRange(() => new GRU({ inputSize: 0, hiddenSize: H }), /inputSize must be a positive integer, got 0/);
    throwsRange(() => new LSTM({ inputSize: I, hiddenSize: H, numLayers: 0 }), /numLayers must be a positive integer, got 0/);
    throwsRange(() => new GRU({ inputSize: I, hiddenSize: H, numLayers: -1 }), /numLayers must be a positive integer, got -1/);
  });

  it("dropout must be in [0, 1)", () => {
    throwsRange(() => new LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, dropout: 1 }), /dropout must be in \[0, 1\), got 1/);
    throwsRange(() => new GRU({ inputSize: I, hiddenSize: H, dropout: -0.1 }), /dropout must be in \[0, 1\), got -0\.1/);
    throwsRange(() => new RNN({ inputSize: I, hiddenSize: H, dropout: Number.NaN }), /dropout must be in \[0, 1\), got NaN/);
  });

  it("nonlinearity must be tanh or relu; init.recurrent must be known", () => {
    throwsRange(() => new RNN({ inputSize: I, hiddenSize: H, nonlinearity: "sigmoid" as "tanh" }),
      /nonlinearity must be "tanh" or "relu", got "sigmoid"/);
    throwsRange(() => new LSTM({ inputSize: I, hiddenSize: H, init: { recurrent: "xavier" as "uniform" } }),
      /init\.recurrent must be "uniform", "orthogonal" or "identity", got "xavier"/);
  });
});

describe("errors: the LSTM's variants", () => {
  it("projSize is an integer in [1, H), for the LSTM only; peephole is for the LSTM only", () => {
    for (const P of [H, H + 1, -1, 1.5]) {
      throwsRange(() => new LSTM({ inputSize: I, hiddenSize: H, projSize: P }),
        new RegExp(`projSize must be an integer in \\[1, hiddenSize = 6\\) \\(PyTorch's proj_size < hidden_size\\), or 0 for none, got ${P}`));
    }
    throwsRange(() => new GRU({ inputSize: I, hiddenSize: H, projSize: 2 }), /projSize and peephole apply to the LSTM only/);
    throwsRange(() => new RNN({ inputSize: I, hiddenSize: H, peephole: true }), /projSize and peephole apply to the LSTM only/);
  });

  it("states of the wrong size: h0 and dhN are (L, B, P), c0 and dcN (L, B, H)", () => {
    const layer = new LSTM({ inputSize: I, hiddenSize: H, numLayers: L, projSize: 2, seed: 1 });
    throwsRange(() => layer.forward(x(), { h0: state() }), /h0 must have shape \[2, 3, 2\], got \[2, 3, 6\]/);
    throwsRange(() => layer.forward(x(), { c0: Tensor.zeros([L, B, 2]) }), /c0 must have shape \[2, 3, 6\], got \[2, 3, 2\]/);
    const { output, hN, cN, cache } = layer.forward(x(), { h0: Tensor.zeros([L, B, 2]), c0: state() });
    assert.deepEqual([output.shape, hN.shape, cN!.shape], [[T, B, 2], [L, B, 2], [L, B, H]]);
    throwsRange(() => layer.backward(cache, { dOutput: Tensor.zeros([T, B, H]) }), /dOutput must have shape \[5, 3, 2\]/);
    throwsRange(() => layer.backward(cache, { dcN: Tensor.zeros([L, B, 2]) }), /dcN must have shape \[2, 3, 6\]/);
  });
});

describe("errors: forward arguments", () => {
  it("x must be (T, B, I) with T, B ≥ 1", () => {
    const layer = lstm();
    throwsRange(() => layer.forward(Tensor.zeros([T, B])), /x must have shape \(T, B, 4\) with T, B ≥ 1, got \[5, 3\]/);
    throwsRange(() => layer.forward(Tensor.zeros([T, B, I, 1])), /x must have shape \(T, B, 4\).*got \[5, 3, 4, 1\]/);
    throwsRange(() => layer.forward(Tensor.zeros([T, B, I + 1])), /x must have shape \(T, B, 4\).*got \[5, 3, 5\]/);
    throwsRange(() => layer.forward(Tensor.zeros([0, B, I])), /x must have shape \(T, B, 4\) with T, B ≥ 1, got \[0, 3, 4\]/);
    throwsRange(() => layer.forward(Tensor.zeros([T, 0, I])), /x must have shape \(T, B, 4\) with T, B ≥ 1, got \[5, 0, 4\]/);
  });

  it("x must be finite", () => {
    const layer = gru();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const input = x();
      input.data[7] = bad;
      throwsRange(() => layer.forward(input), new RegExp(`x must be finite, got ${bad} at flat index 7`));
    }
  });

  it("finiteChecked: the caller's word replaces the scan of values, never the shape checks", () => {
    const layer = gru();
    const input = x();
    input.data[7] = Number.NaN;
    assert.doesNotThrow(() => layer.forward(input, { finiteChecked: true }));
    throwsRange(() => layer.forward(Tensor.zeros([T, B, I + 1]), { finiteChecked: true }), /x must have shape/);
    throwsRange(() => layer.forward(x(), { h0: Tensor.zeros([B, H]), finiteChecked: true }), /h0 must have shape/);
  });

  it("h0 and c0 must be (L·D, B, H) and finite", () => {
    const layer = lstm();
    throwsRange(() => layer.forward(x(), { h0: Tensor.zeros([L, B + 1, H]) }), /h0 must have shape \[2, 3, 6\], got \[2, 4, 6\]/);
    throwsRange(() => layer.forward(x(), { h0: Tensor.zeros([B, H]) }), /h0 must have shape \[2, 3, 6\], got \[3, 6\]/);
    throwsRange(() => layer.forward(x(), { h0: state(), c0: Tensor.zeros([1, B, H]) }), /c0 must have shape \[2, 3, 6\], got \[1, 3, 6\]/);
    const bad = state();
    bad.data[0] = Number.NaN;
    throwsRange(() => layer.forward(x(), { h0: bad }), /h0 must be finite/);
    throwsRange(() => layer.forward(x(), { c0: bad }), /c0 must be finite/);
    // A bidirectional stack wants L·D = 4 states.
    const bi = new GRU({ inputSize: I, hiddenSize: H, numLayers: L, bidirectional: true });
    throwsRange(() => bi.forward(x(), { h0: state() }), /h0 must have shape \[4, 3, 6\], got \[2, 3, 6\]/);
  });

  it("c0 is refused for a GRU and an RNN", () => {
    throwsRange(() => gru().forward(x(), { c0: state() }), /c0 is only for the LSTM, not gru/);
    const rnn = new RNN({ inputSize: I, hiddenSize: H, numLayers: L, nonlinearity: "relu" });
    throwsRange(() => rnn.forward(x(), { c0: state() }), /c0 is only for the LSTM, not rnn_relu/);
  });

  it("mask must be (T, B) of 0 and 1", () => {
    const layer = lstm();
    throwsRange(() => layer.forward(x(), { mask: Tensor.zeros([T, B + 1]) }), /mask must have shape \[5, 3\] \(T, B\), got \[5, 4\]/);
    throwsRange(() => layer.forward(x(), { mask: Tensor.zeros([T * B]) }), /mask must have shape \[5, 3\] \(T, B\), got \[15\]/);
    throwsRange(() => layer.forward(x(), { mask: Tensor.zeros([B, T]) }), /mask must have shape \[5, 3\] \(T, B\), got \[3, 5\]/);
    for (const bad of [0.5, -1, 2, Number.NaN]) {
      const mask = new Tensor(new Float32Array(T * B).fill(1), [T, B]);
      mask.data[4] = bad;
      throwsRange(() => layer.forward(x(), { mask }), new RegExp(`mask must hold only 0 and 1, got ${bad} at index 4`));
    }
  });
});

describe("errors: backward arguments", () => {
  it("dOutput, dhN, dcN must have the forward pass's shapes", () => {
    const layer = lstm();
    const { cache } = layer.forward(x());
    throwsRange(() => layer.backward(cache, { dOutput: Tensor.zeros([T, B, H + 1]) }), /dOutput must have shape \[5, 3, 6\], got \[5, 3, 7\]/);
    throwsRange(() => layer.backward(cache, { dhN: Tensor.zeros([1, B, H]) }), /dhN must have shape \[2, 3, 6\], got \[1, 3, 6\]/);
    throwsRange(() => layer.backward(cache, { dcN: Tensor.zeros([L, B, 1]) }), /dcN must have shape \[2, 3, 6\], got \[2, 3, 1\]/);
  });

  it("backward needs a forward pass of this layer", () => {
    const layer = lstm();
    throwsRange(() => layer.backward(new RecurrentCache()), /backward: the cache holds no forward pass of this layer/);
    const deeper = new LSTM({ inputSize: I, hiddenSize: H, numLayers: 3 });
    throwsRange(() => deeper.backward(layer.forward(x()).cache), /backward: the cache holds no forward pass of this layer/);
  });

  it("firstStep is refused for a bidirectional layer and must lie in [0, T)", () => {
    const bi = new LSTM({ inputSize: I, hiddenSize: H, bidirectional: true });
    const { cache: biCache } = bi.forward(x());
    throwsRange(() => bi.backward(biCache, { firstStep: 2 }), /firstStep \(truncation\) needs a unidirectional layer/);
    const layer = lstm();
    const { cache } = layer.forward(x());
    throwsRange(() => layer.backward(cache, { firstStep: T }), /firstStep must be an integer in \[0, 5\), got 5/);
    throwsRange(() => layer.backward(cache, { firstStep: -1 }), /firstStep must be an integer in \[0, 5\), got -1/);
    throwsRange(() => layer.backward(cache, { firstStep: 1.5 }), /firstStep must be an integer in \[0, 5\), got 1\.5/);
  });
});

describe("errors: loadStateDict", () => {
  const weights = (layer: Recurrent): Map<string, Tensor> => stateDict(layer);

  it("an unknown name is refused", () => {
    const layer = lstm();
    const values = weights(layer);
    values.set("weight_ih_l2", Tensor.zeros([4 * H, H]));
    throwsRange(() => loadStateDict(layer, values), /loadStateDict: unexpected parameter weight_ih_l2/);
    // A bidirectional name on a unidirectional layer.
    const values2 = weights(layer);
    values2.set("bias_hh_l0_reverse", Tensor.zeros([4 * H]));
    throwsRange(() => loadStateDict(layer, values2), /unexpected parameter bias_hh_l0_reverse/);
  });

  it("a missing name is refused", () => {
    const layer = gru();
    const values = weights(layer);
    values.delete("weight_hh_l1");
    throwsRange(() => loadStateDict(layer, values), /loadStateDict: missing parameter weight_hh_l1/);
    // Biases of a bias=true layer cannot be omitted (a bias=false state_dict does not fit).
    const noBias = weights(new GRU({ inputSize: I, hiddenSize: H, numLayers: L, bias: false }));
    throwsRange(() => loadStateDict(layer, noBias), /missing parameter bias_ih_l0/);
  });

  it("a wrong shape is refused, naming the parameter and both shapes", () => {
    const layer = lstm();
    const values = weights(layer);
    values.set("weight_ih_l0", Tensor.zeros([4 * H, I + 1]));
    throwsRange(() => loadStateDict(layer, values), /weight_ih_l0: expected shape \[24, 4\], got \[24, 5\]/);
    // Same size, transposed: still refused.
    const values2 = weights(layer);
    values2.set("weight_hh_l1", Tensor.zeros([H, 4 * H]));
    throwsRange(() => loadStateDict(layer, values2), /weight_hh_l1: expected shape \[24, 6\], got \[6, 24\]/);
    // A GRU's weights (3 gates) in an LSTM (4 gates).
    throwsRange(() => loadStateDict(layer, weights(gru())), /weight_ih_l0: expected shape \[24, 4\], got \[18, 4\]/);
  });

  it("with a prefix, the names carry it", () => {
    const layer = lstm();
    const values = new Map([...weights(layer)].map(([k, v]) => [`rnn.${k}`, v]));
    loadStateDict(layer, values, "rnn");
    values.delete("rnn.bias_hh_l1");
    throwsRange(() => loadStateDict(layer, values, "rnn"), /missing parameter rnn\.bias_hh_l1/);
  });
});
