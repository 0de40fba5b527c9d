/**
 * What one forward and backward pass of a recurrent layer gives, as the layer tests compare it: the
 * outputs, the final state, every parameter's gradient (in parameter order), and the gradients of the
 * input and of the initial state (cN and dc0 for the LSTM only).
 */
export interface LayerRunResult {
  output: Float32Array;
  hN: Float32Array;
  cN: Float32Array | null;
  grads: Float32Array[];
  dx: Float32Array;
  dh0: Float32Array;
  dc0: Float32Array | null;
}
