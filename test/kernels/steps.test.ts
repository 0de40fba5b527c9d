/**
 * Conformance of the fused cell-step kernels, every backend, against the reference run in float64.
 *
 * Tolerance |x − exact| ≤ atol + rtol·|exact| with rtol = atol = 1e-6 (≈ 17 u), for inputs of
 * magnitude ≤ 1 (state, gradients) and pre-activations up to ±4 or ±20 (saturated gates). The float32
 * reference rounds each stored value once (≤ 0.5 u); wasm-simd evaluates σ and tanh to ≤ 2.5 ulp
 * (activations.test.ts) and the rest in float32, so a value passes through a handful of roundings:
 * the worst observed excess is printed by the test ("margin") and stays well under 1.
 *
 * Shapes: B ∈ {1, 3, 5}, H ∈ {1, 3, 4, 5, 17, 33} (row tails of every length), with and without a
 * mask (~30% of rows masked), the LSTM's with and without peepholes (whose weight gradient accumulates
 * into random values), arrays at offsets 1…5 with guards around them.
 */
import { describe, it } from "node:test";
import type { Kernels } from "../../src/kernels/index.js";
import { Rng } from "../../src/tensor/rng.js";
import { type ArraySpec, type KernelCall, type Tolerance, checkKernel } from "./conformance.js";

const TOL: Tolerance = { rtol: 1e-6, atol: 1e-6 };
const BATCHES = [1, 3, 5];
const HIDDEN = [1, 3, 4, 5, 17, 33];

interface StepKernel {
  name: string;
  specs(B: number, H: number, masked: boolean, scale: number): ArraySpec[];
  call(B: number, H: number, relu: boolean): KernelCall;
  relu?: boolean;
}

const v = (name: string, length: number, fill: ArraySpec["fill"]): ArraySpec => ({ name, length, fill });
const maskSpec = (B: number, masked: boolean): ArraySpec => v("mask", B, masked ? "mask" : "null");

const KERNELS: StepKernel[] = [
  {
    name: "rnnStepForward (tanh)",
    specs: (B, H, m, s) => [v("pre", B * H, s), v("hPrev", B * H, 1), maskSpec(B, m), v("h", B * H, 1), v("out", B * H, 1)],
    call: (B, H, relu) => (k: Kernels, a, o) => k.rnnStepForward(B, H, relu, a.pre!, o, a.hPrev!, o, a.mask ?? null, o, a.h!, o, a.out!, o),
  },
  {
    name: "rnnStepForward (relu)",
    relu: true,
    specs: (B, H, m, s) => [v("pre", B * H, s), v("hPrev", B * H, 1), maskSpec(B, m), v("h", B * H, 1), v("out", B * H, 1)],
    call: (B, H, relu) => (k: Kernels, a, o) => k.rnnStepForward(B, H, relu, a.pre!, o, a.hPrev!, o, a.mask ?? null, o, a.h!, o, a.out!, o),
  },
  {
    name: "rnnStepBackward (tanh)",
    specs: (B, H, m) => [v("h", B * H, 1), v("dOut", B * H, 1), maskSpec(B, m), v("dh", B * H, 1), v("dPre", B * H, 1)],
    call: (B, H, relu) => (k: Kernels, a, o) => k.rnnStepBackward(B, H, relu, a.h!, o, a.dOut!, o, a.mask ?? null, o, a.dh!, o, a.dPre!, o),
  },
  {
    name: "rnnStepBackward (relu)",
    relu: true,
    specs: (B, H, m) => [v("h", B * H, 1), v("dOut", B * H, 1), maskSpec(B, m), v("dh", B * H, 1), v("dPre", B * H, 1)],
    call: (B, H, relu) => (k: Kernels, a, o) => k.rnnStepBackward(B, H, relu, a.h!, o, a.dOut!, o, a.mask ?? null, o, a.dh!, o, a.dPre!, o),
  },
  ...[false, true].flatMap((peephole): StepKernel[] => [
    {
      name: `lstmStepForward${peephole ? " (peephole)" : ""}`,
      specs: (B, H, m, s) => [
        v("gates", 4 * B * H, s), v("peephole", 3 * H, peephole ? 1 : "null"), v("cPrev", B * H, 2),
        v("hPrev", B * H, 1), maskSpec(B, m), v("c", B * H, 1), v("h", B * H, 1), v("out", B * H, 1),
      ],
      call: (B, H) => (k: Kernels, a, o) =>
        k.lstmStepForward(
          B, H, a.gates!, o, a.peephole ?? null, o, a.cPrev!, o, a.hPrev!, o, a.mask ?? null, o,
          a.c!, o, a.h!, o, a.out!, o,
        ),
    },
    {
      name: `lstmStepBackward${peephole ? " (peephole)" : ""}`,
      // gates holds activations: σ in (0, 1) and tanh in (−1, 1); uniform in (−1, 1) covers both ranges' arithmetic.
      specs: (B, H, m) => [
        v("gates", 4 * B * H, 1), v("peephole", 3 * H, peephole ? 1 : "null"), v("cPrev", B * H, 2), v("c", B * H, 2),
        v("dOut", B * H, 1), maskSpec(B, m), v("dh", B * H, 1), v("dc", B * H, 1), v("dGates", 4 * B * H, 1),
        v("dPeephole", 3 * H, peephole ? 1 : "null"),
      ],
      call: (B, H) => (k: Kernels, a, o) =>
        k.lstmStepBackward(
          B, H, a.gates!, o, a.peephole ?? null, o, a.cPrev!, o, a.c!, o, a.dOut!, o, a.mask ?? null, o,
          a.dh!, o, a.dc!, o, a.dGates!, o, a.dPeephole ?? null, o,
        ),
    },
  ]),
  {
    name: "gruStepForward",
    specs: (B, H, m, s) => [
      v("xGates", 3 * B * H, s), v("hGates", 3 * B * H, s), v("hPrev", B * H, 1), maskSpec(B, m), v("h", B * H, 1), v("out", B * H, 1),
    ],
    call: (B, H) => (k: Kernels, a, o) =>
      k.gruStepForward(B, H, a.xGates!, o, a.hGates!, o, a.hPrev!, o, a.mask ?? null, o, a.h!, o, a.out!, o),
  },
  {
    name: "gruStepBackward",
    specs: (B, H, m) => [
      v("gates", 3 * B * H, 1), v("hGates", 3 * B * H, 2), v("hPrev", B * H, 1), v("dOut", B * H, 1), maskSpec(B, m),
      v("dh", B * H, 1), v("dXGates", 3 * B * H, 1), v("dHGates", 3 * B * H, 1),
    ],
    call: (B, H) => (k: Kernels, a, o) =>
      k.gruStepBackward(B, H, a.gates!, o, a.hGates!, o, a.hPrev!, o, a.dOut!, o, a.mask ?? null, o, a.dh!, o, a.dXGates!, o, a.dHGates!, o),
  },
];

describe("cell step kernels conformance", () => {
  for (const kernel of KERNELS) {
    it(kernel.name, (t) => {
      const rng = new Rng(31);
      const margin = new Map<string, number>();
      for (const B of BATCHES) for (const H of HIDDEN) for (const masked of [false, true]) for (const scale of [4, 20]) {
        const results = checkKernel(
          `${kernel.name} B=${B} H=${H}${masked ? " masked" : ""} scale ${scale}`,
          kernel.specs(B, H, masked, scale),
          kernel.call(B, H, kernel.relu ?? false),
          TOL,
          rng,
        );
        for (const [name, m] of results.margin) margin.set(name, Math.max(margin.get(name) ?? 0, m));
      }
      t.diagnostic(`margin (worst |x − exact| / tolerance): ${[...margin].map(([n, m]) => `${n} ${m.toFixed(3)}`).join(", ")}`);
    });
  }

  it("a larger block (B = 32, H = 256) with a mask", () => {
    const rng = new Rng(32);
    for (const kernel of KERNELS) {
      checkKernel(`${kernel.name} B=32 H=256`, kernel.specs(32, 256, true, 6), kernel.call(32, 256, kernel.relu ?? false), TOL, rng);
    }
  });
});
