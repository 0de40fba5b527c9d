// clipGradNorm and clipGradValue against torch.nn.utils.clip_grad_norm_ / clip_grad_value_
// (values in test/fixtures/optim.json, from test/fixtures/make_optim_fixtures.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { clipGradNorm, clipGradValue, gradNorm } from "../../src/optim/clip.js";
import { Parameter } from "../../src/tensor/parameter.js";

interface Fixture {
  parameters: { name: string; shape: number[] }[];
  clipGradNorm: { maxNorm: number; normType: number | "inf"; gradsBefore: number[][]; totalNorm: number; gradsAfter: number[][] }[];
  clipGradValue: { clipValue: number; gradsBefore: number[][]; gradsAfter: number[][] };
}

const fixture = JSON.parse(readFileSync(new URL("../../../test/fixtures/optim.json", import.meta.url), "utf8")) as Fixture;

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= atol + 1e-5 * Math.abs(expected[i]!), `${what}[${i}]: got ${actual[i]}, PyTorch ${expected[i]}`);
  }
}

function paramsWithGrads(grads: number[][]): Parameter[] {
  return fixture.parameters.map((p, i) => {
    const param = new Parameter(p.name, p.shape);
    param.grad.set(grads[i]!);
    return param;
  });
}

for (const c of fixture.clipGradNorm) {
  test(`clipGradNorm(maxNorm ${c.maxNorm}, normType ${c.normType}) matches clip_grad_norm_`, () => {
    const params = paramsWithGrads(c.gradsBefore);
    const normType = c.normType === "inf" ? Infinity : c.normType;
    const before = gradNorm(params, normType);
    const total = clipGradNorm(params, c.maxNorm, normType);
    assert.equal(total, before, "returns the norm before clipping");
    assert.ok(Math.abs(total - c.totalNorm) <= 1e-5 * c.totalNorm, `norm ${total} vs ${c.totalNorm}`);
    // Relative tolerance only: the tiny case's gradients are ~1e-8.
    params.forEach((p, i) => assertClose(p.grad, c.gradsAfter[i]!, p.name, 0));
    // c = maxNorm / (norm + 1e-6): at ordinary scales the clipped norm is maxNorm.
    if (c.maxNorm < c.totalNorm) {
      const expected = (c.maxNorm * c.totalNorm) / (c.totalNorm + 1e-6);
      assert.ok(Math.abs(gradNorm(params, normType) - expected) < 1e-4 * expected);
    }
  });
}

test("clipGradNorm uses the 2-norm by default", () => {
  const params = paramsWithGrads([[3, 0, 0, 0, 0, 0], [0, 4, 0, 0]]);
  assert.equal(clipGradNorm(params, 1), 5);
  assertClose(params[0]!.grad, [0.6, 0, 0, 0, 0, 0], "weight");
  assertClose(params[1]!.grad, [0, 0.8, 0, 0], "bias");
});

test("clipGradNorm returns a non-finite norm as it is and leaves the gradients alone", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const normType of [2, 1, Infinity]) {
      const params = paramsWithGrads([[1, 2, bad, 3, 4, 5], [6, 7, 8, 9]]);
      const total = clipGradNorm(params, 1, normType);
      assert.ok(!Number.isFinite(total), `norm ${total} for ${bad}, p = ${normType}`);
      if (Number.isNaN(bad)) assert.ok(Number.isNaN(total));
      assert.deepEqual([...params[1]!.grad], [6, 7, 8, 9]);
    }
  }
});

test("clipGradValue matches clip_grad_value_ and keeps NaN", () => {
  const params = paramsWithGrads(fixture.clipGradValue.gradsBefore);
  clipGradValue(params, fixture.clipGradValue.clipValue);
  params.forEach((p, i) => assertClose(p.grad, fixture.clipGradValue.gradsAfter[i]!, p.name));
  const withNaN = paramsWithGrads([[NaN, 0, 0, 0, 0, 0], [0, 0, 0, 0]]);
  clipGradValue(withNaN, 1);
  assert.ok(Number.isNaN(withNaN[0]!.grad[0]));
});

test("clipping rejects bad arguments with RangeErrors naming them", () => {
  const params = paramsWithGrads(fixture.clipGradValue.gradsBefore);
  assert.throws(() => clipGradNorm(params, -1), /maxNorm must be a finite number ≥ 0, got -1/);
  assert.throws(() => clipGradNorm(params, NaN), /maxNorm must be a finite number/);
  assert.throws(() => clipGradNorm(params, 1, 0), /normType must be a number > 0 or Infinity, got 0/);
  assert.throws(() => clipGradValue(params, -0.5), /clipValue must be a finite number ≥ 0/);
});
