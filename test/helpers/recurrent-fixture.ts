/**
 * test/fixtures/recurrent.json, written by test/fixtures/make_fixtures.py with torch 1.13 in float64:
 * nn.RNN / nn.LSTM (also with proj_size) / nn.GRU models and the LSTM with peepholes (PeepholeLSTM,
 * scripts/peephole_lstm.py), their inputs, outputs and the gradients of
 * loss = Σ output·gOut + Σ h_n·gH (+ Σ c_n·gC). Read by the layer parity test and the backends' suite.
 */
import { readFileSync } from "node:fs";
import type { CellKind } from "../../src/cells/cell.js";

export interface FixtureTensor {
  shape: number[];
  data: number[];
}

export interface FixtureCase {
  name: string;
  options: {
    mode: CellKind;
    inputSize: number;
    hiddenSize: number;
    numLayers: number;
    bidirectional: boolean;
    bias: boolean;
    T: number;
    B: number;
    lengths: number[] | null;
    /** The LSTM's variants (absent for the plain cells): P (0 for none), peepholes. */
    projSize?: number;
    peephole?: boolean;
  };
  stateDict: Record<string, FixtureTensor>;
  x: FixtureTensor;
  h0: FixtureTensor;
  c0: FixtureTensor | null;
  mask: FixtureTensor | null;
  gOut: FixtureTensor;
  gH: FixtureTensor;
  gC: FixtureTensor | null;
  output: FixtureTensor;
  hN: FixtureTensor;
  cN: FixtureTensor | null;
  grads: Record<string, FixtureTensor>;
  dx: FixtureTensor;
  dh0: FixtureTensor;
  dc0: FixtureTensor | null;
}

export interface RecurrentFixture {
  torch: string;
  dtype: string;
  cases: FixtureCase[];
}

/** The fixture, read from the repository (this file runs compiled, from dist/test/helpers/). */
export function loadRecurrentFixture(): RecurrentFixture {
  return JSON.parse(readFileSync(new URL("../../../test/fixtures/recurrent.json", import.meta.url), "utf8")) as RecurrentFixture;
}

/** The layer options of a fixture case, as Recurrent takes them (seed 7: every weight is loaded after). */
export function fixtureLayerOptions(c: FixtureCase): {
  inputSize: number; hiddenSize: number; numLayers: number; bidirectional: boolean; bias: boolean;
  projSize: number; peephole: boolean; seed: number;
} {
  const o = c.options;
  return {
    inputSize: o.inputSize, hiddenSize: o.hiddenSize, numLayers: o.numLayers, bidirectional: o.bidirectional,
    bias: o.bias, projSize: o.projSize ?? 0, peephole: o.peephole ?? false, seed: 7,
  };
}
