/**
 * The cells by kind: the one place that maps a CellKind to its class. A new cell is a file beside
 * rnn.ts, lstm.ts and gru.ts, plus its line here.
 */
import type { Cell, CellKind, CellOptions } from "./cell.js";
import { GRUCell } from "./gru.js";
import { LSTMCell } from "./lstm.js";
import { RNNCell } from "./rnn.js";

export function createCell(kind: CellKind, options: CellOptions): Cell {
  switch (kind) {
    case "rnn_tanh":
      return new RNNCell({ ...options, nonlinearity: "tanh" });
    case "rnn_relu":
      return new RNNCell({ ...options, nonlinearity: "relu" });
    case "lstm":
      return new LSTMCell(options);
    case "gru":
      return new GRUCell(options);
    default:
      throw new RangeError(`cell kind must be "rnn_tanh", "rnn_relu", "lstm" or "gru", got ${JSON.stringify(kind)}`);
  }
}
