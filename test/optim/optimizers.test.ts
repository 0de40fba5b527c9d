// Every optimizer against PyTorch: five steps of fixed gradients from test/fixtures/optim.json,
// written by test/fixtures/make_optim_fixtures.py (torch 1.13). Compared with rtol 1e-5, atol 1e-6.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type Optimizer, type OptimizerKind, type OptimizerState, createOptimizer } from "../../src/optim/index.js";
import { Adam, AdamW, Adagrad, RMSprop, SGD } from "../../src/optim/index.js";
import { Parameter } from "../../src/tensor/parameter.js";

interface OptimizerCase {
  kind: OptimizerKind;
  name: string;
  options: Record<string, unknown>;
  lrSchedule?: number[];
  /** Per step, per parameter: the values after the step. */
  trajectory: number[][][];
  /** Per parameter: PyTorch's state buffers after the last step. */
  state: Record<string, number[]>[];
}

interface Fixture {
  torch: string;
  parameters: { name: string; shape: number[]; value: number[] }[];
  /** Per step, per parameter. */
  grads: number[][][];
  optimizers: OptimizerCase[];
}

// Compiled, this file runs from dist/test/optim/: three levels up is the repository root.
const fixtureUrl = new URL("../../../test/fixtures/optim.json", import.meta.url);
const fixture = JSON.parse(readFileSync(fixtureUrl, "utf8")) as Fixture;

const RTOL = 1e-5;
const ATOL = 1e-6;

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= ATOL + RTOL * Math.abs(e), `${what}[${i}]: got ${a}, PyTorch ${e}`);
  }
}

function makeParams(): Parameter[] {
  return fixture.parameters.map((p) => {
    const param = new Parameter(p.name, p.shape);
    param.assign(Float32Array.from(p.value));
    return param;
  });
}

/** Runs steps [from, to) of a case: schedule, fixed gradients, step, compare with PyTorch. */
function runSteps(c: OptimizerCase, params: Parameter[], optimizer: Optimizer, from: number, to: number): void {
  for (let s = from; s < to; s++) {
    if (c.lrSchedule) optimizer.lr = c.lrSchedule[s]!;
    params.forEach((p, i) => p.grad.set(fixture.grads[s]![i]!));
    optimizer.step();
    params.forEach((p, i) => assertClose(p.value, c.trajectory[s]![i]!, `${c.name}, step ${s + 1}, ${p.name}`));
  }
}

test("the fixture is found from the compiled test and covers every optimizer", () => {
  assert.deepEqual(new Set(fixture.optimizers.map((c) => c.kind)), new Set(["sgd", "adam", "adamw", "rmsprop", "adagrad"]));
  assert.equal(fixture.grads.length, 5);
});

for (const c of fixture.optimizers) {
  test(`${c.name} follows PyTorch ${fixture.torch} for 5 steps, state included`, () => {
    const params = makeParams();
    const optimizer = createOptimizer(c.kind, params, c.options);
    assert.equal(optimizer.kind, c.kind);
    runSteps(c, params, optimizer, 0, 5);
    assert.equal(optimizer.steps, 5);
    const state = optimizer.stateDict();
    state.parameters.forEach((s, i) => {
      assert.deepEqual(Object.keys(s.buffers).sort(), Object.keys(c.state[i]!).sort(), `${c.name}: buffer names`);
      for (const [name, values] of Object.entries(s.buffers)) assertClose(values, c.state[i]![name]!, `${c.name}, ${name}`);
    });
  });

  test(`${c.name} resumes from its state after 2 steps as if never interrupted`, () => {
    const params = makeParams();
    const first = createOptimizer(c.kind, params, c.options);
    runSteps(c, params, first, 0, 2);
    const state = structuredClone(first.stateDict());
    const values = params.map((p) => p.value.slice());
    // A fresh model and optimizer, restored from the checkpoint.
    const resumedParams = makeParams();
    resumedParams.forEach((p, i) => p.assign(values[i]!));
    const resumed = createOptimizer(c.kind, resumedParams, c.options);
    resumed.lr = 123; // overwritten by the state, as PyTorch's load_state_dict does
    resumed.loadStateDict(state);
    assert.equal(resumed.steps, 2);
    assert.equal(resumed.lr, first.lr);
    runSteps(c, resumedParams, resumed, 2, 5);
  });
}

test("stateDict is a copy, and loadStateDict checks kind, parameters and buffers", () => {
  const params = makeParams();
  const adam = new Adam(params, { lr: 0.1 });
  params.forEach((p) => p.grad.fill(1));
  adam.step();
  const state = adam.stateDict();
  assert.deepEqual(state.hyperparameters, { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false });
  (state.parameters[0]!.buffers["exp_avg"] as Float32Array).fill(42);
  assert.notEqual(adam.stateDict().parameters[0]!.buffers["exp_avg"]![0], 42);
  const clone = (s: OptimizerState): OptimizerState => structuredClone(s);
  assert.throws(() => new AdamW(params).loadStateDict(clone(state)), /the state is for adam, not adamw/);
  assert.throws(() => new Adam(params, { amsgrad: true }).loadStateDict(clone(state)), /buffers \[exp_avg, exp_avg_sq\], expected \[exp_avg, exp_avg_sq, max_exp_avg_sq\]/);
  assert.throws(() => new Adam(params.slice(0, 1)).loadStateDict(clone(state)), /the state has 2 parameters, expected 1/);
  assert.throws(() => new Adam(params.slice().reverse()).loadStateDict(clone(state)), /parameter 0 is weight \(6 values\) in the state, expected bias \(4 values\)/);
  const bad = clone(state);
  bad.hyperparameters["eps"] = -1;
  assert.throws(() => new Adam(params).loadStateDict(bad), /eps must be a finite number ≥ 0, got -1/);
  const short = clone(state);
  short.parameters[1]!.buffers["exp_avg"] = [1, 2];
  assert.throws(() => new Adam(params).loadStateDict(short), /buffer exp_avg of bias has 2 values, expected 4/);
});

test("zeroGrad zeroes every gradient; lr can follow a schedule but stays finite and ≥ 0", () => {
  const params = makeParams();
  const sgd = new SGD(params, { lr: 0.5 });
  params.forEach((p) => p.grad.fill(3));
  sgd.zeroGrad();
  assert.ok(params.every((p) => p.grad.every((g) => g === 0)));
  sgd.lr = 0.25;
  assert.equal(sgd.lr, 0.25);
  assert.throws(() => (sgd.lr = -0.1), { name: "RangeError", message: "lr must be a finite number ≥ 0, got -0.1" });
  assert.throws(() => (sgd.lr = Infinity), /lr must be a finite number/);
  assert.equal(sgd.lr, 0.25);
});

test("optimizers reject bad arguments with RangeErrors naming them", () => {
  const params = makeParams();
  const cases: [() => unknown, RegExp][] = [
    [() => new SGD(params, { lr: -1 }), /lr must be a finite number ≥ 0, got -1/],
    [() => new SGD(params, { lr: NaN }), /lr must be a finite number/],
    [() => new SGD(params, { momentum: -0.5 }), /momentum must be a finite number ≥ 0/],
    [() => new SGD(params, { nesterov: true }), /nesterov requires momentum > 0 and dampening = 0/],
    [() => new SGD(params, { momentum: 0.9, dampening: 0.1, nesterov: true }), /nesterov requires/],
    [() => new SGD(params, { weight_decay: 0.1 } as object), /SGD: unknown option "weight_decay"; expected one of lr, momentum, dampening, nesterov, weightDecay/],
    [() => new Adam(params, { betas: [1, 0.999] }), /betas\[0\] must be a finite number in \[0, 1\), got 1/],
    [() => new Adam(params, { betas: [0.9] as unknown as [number, number] }), /betas must be a pair/],
    [() => new AdamW(params, { eps: -1e-8 }), /eps must be a finite number ≥ 0/],
    [() => new AdamW(params, { weightDecay: Infinity }), /weightDecay must be a finite number ≥ 0/],
    [() => new Adam(params, { amsgrad: 1 as unknown as boolean }), /amsgrad must be true or false/],
    [() => new RMSprop(params, { alpha: -0.9 }), /alpha must be a finite number ≥ 0/],
    [() => new Adagrad(params, { lrDecay: -1 }), /lrDecay must be a finite number ≥ 0/],
    [() => new Adagrad(params, { initialAccumulatorValue: -1 }), /initialAccumulatorValue must be a finite number ≥ 0/],
    [() => new SGD([]), /params must be a non-empty array of Parameter/],
    [() => new SGD([params[0]!, params[1]!, params[0]!]), /params\[2\] \(weight\) appears more than once/],
    [() => createOptimizer("lbfgs" as OptimizerKind, params), /unknown optimizer "lbfgs": expected one of sgd, adam, adamw, rmsprop, adagrad/],
  ];
  for (const [make, message] of cases) assert.throws(make, (e: Error) => e instanceof RangeError && message.test(e.message));
});
