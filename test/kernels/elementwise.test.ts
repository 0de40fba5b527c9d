/**
 * Conformance of the small kernels, every backend, against the reference run in float64:
 * - addRowVector: one float32 addition per element, so the result is the exact sum rounded once:
 *   rtol u = 2⁻²⁴ (and bit-identical to the reference);
 * - sumRowsInto: a float32 sum of M + 1 terms in any order: |err| ≤ (M + 1)·u·(|out₀| + Σ|A|), checked
 *   as rtol 0 with atol (M + 1)·u·(1 + M) for values in [−1, 1];
 * - sumSquares: float64 sums of float64 squares of (a + b) exactly as the reference: rtol 1e-12.
 * Sizes: 1, 3, 4, 5, 17, 33, 257 columns (tails of every length), offsets 1…5, b null and not.
 */
import { describe, it } from "node:test";
import { Rng } from "../../src/tensor/rng.js";
import { U, assertBitIdentical, checkKernel } from "./conformance.js";

const COLUMNS = [1, 3, 4, 5, 17, 33, 257];
const ROWS = [1, 2, 5, 33];

describe("small kernels conformance", () => {
  it("addRowVector", () => {
    const rng = new Rng(21);
    for (const M of ROWS) for (const N of COLUMNS) {
      const results = checkKernel(
        `addRowVector M=${M} N=${N}`,
        [{ name: "C", length: M * N, fill: 1 }, { name: "bias", length: N, fill: 1 }],
        (k, a, off) => k.addRowVector(M, N, a.C!, off, a.bias!, off),
        { rtol: U, atol: 0 },
        rng,
      );
      assertBitIdentical(results.get("wasm-simd")!.C!, results.get("reference")!.C!, `addRowVector M=${M} N=${N}`);
      if (results.has("native")) assertBitIdentical(results.get("native")!.C!, results.get("reference")!.C!, `addRowVector M=${M} N=${N} native`);
    }
  });

  it("sumRowsInto", () => {
    const rng = new Rng(22);
    for (const M of ROWS) for (const N of COLUMNS) {
      checkKernel(
        `sumRowsInto M=${M} N=${N}`,
        [{ name: "A", length: M * N, fill: 1 }, { name: "out", length: N, fill: 1 }],
        (k, a, off) => k.sumRowsInto(M, N, a.A!, off, a.out!, off),
        { rtol: 0, atol: (M + 1) * U * (1 + M) },
        rng,
      );
    }
  });

  it("sumSquares, with and without b", () => {
    const rng = new Rng(23);
    for (const n of [1, 3, 4, 5, 17, 33, 257, 4099]) {
      for (const withB of [false, true]) {
        checkKernel(
          `sumSquares n=${n}${withB ? " + b" : ""}`,
          [{ name: "a", length: n, fill: 2 }, { name: "b", length: n, fill: withB ? 2 : "null" }],
          (k, a, off) => k.sumSquares(n, a.a!, off, a.b ?? null, off),
          { rtol: 1e-12, atol: 0 },
          rng,
        );
      }
    }
  });
});
