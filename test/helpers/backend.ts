/** Running test code on a chosen kernel backend. */
import { type Kernels, kernels, setKernels } from "../../src/kernels/index.js";

/** Runs `body` with `k` as the active backend, then restores the previous one. */
export function onBackend<T>(k: Kernels, body: () => T): T {
  const previous = kernels();
  setKernels(k);
  try {
    return body();
  } finally {
    setKernels(previous);
  }
}
