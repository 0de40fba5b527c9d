/**
 * What this file proves: at EVERY update, the trainer applies exactly the gradient that the TBPTT(k1, k2)
 * definition says, to 1e-6 relative (atol 1e-9), for every parameter element of the model.
 *
 * The definition (schedule.ts, trainer.ts): at an update at time t (every k1 steps and at the end of a
 * batch; chunks without a loss make none) the applied gradient is
 *
 *   g_t = ∇θ Σ_{τ in the chunk (t−k1, t]} ℓ_τ,  every path through a state h_s with s ≤ t − k2 cut
 *
 * (all layers; for a padded row, t is its sequence end if that comes first: see PADDING_IS_TIME), where
 * the forward trajectory is the one actually run (steps after the n-th update use the weights after that
 * update, older kept steps are back-propagated with the Jacobians of their time), ∇θ is the derivative
 * when the same δ is added to every version of θ, resets (starts, a batch that does not continue) are
 * constants, and lossScale "mean" divides by B × (min(k1, T) every-step, 1 last-step).
 *
 * How: the library runs in float64 with SGD and a sizeable lr (the weights really move between
 * updates, so staleness matters), recording through `beforeStep` the gradient it applies and through
 * `onUpdate` the weights after each update. An INDEPENDENT reference written below with plain scalar
 * loops (embedding lookup or features, stacked RNN-tanh/LSTM/GRU with PyTorch's equations and
 * parameter layout, masks, resets, reverse direction, dense head, softmax-CE / sigmoid-BCE / squared
 * error) re-runs the whole stream with the recorded weight versions, records every state, and for each
 * update recomputes that update's losses from the recorded (constant) states at the cut with one
 * parameter element perturbed by ±ε, ±2ε in every version: central differences give the brute-force
 * gradient of every element. Nothing of the library (cells, kernels, layers, losses, loss positions,
 * schedule) is used by the reference. Update counts and times, loss sums and term counts are checked too.
 *
 * The comparison is shown to be able to fail: the last tests run deliberately wrong references
 * (weights of the update time instead of each step's; no cut; the cut one step off; no gradient across
 * a batch boundary; padding counted as time) and assert that each disagrees with the trainer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createOptimizer } from "../../src/optim/index.js";
import { Rng } from "../../src/tensor/rng.js";
import type { Batch } from "../../src/train/batch.js";
import type { ModelConfig, Objective } from "../../src/train/model.js";
import { SequenceModel } from "../../src/train/model.js";
import { Trainer, type TrainerOptions, type UpdateInfo } from "../../src/train/trainer.js";
import { float64Kernels, inFloat64 } from "../helpers/float64.js";

const RTOL = 1e-6;
const ATOL = 1e-9;
/**
 * Fourth-order central differences, (8(f(ε) − f(−ε)) − (f(2ε) − f(−2ε))) / 12ε: truncation O(ε⁴) ≈ 1e-12
 * and rounding ≈ 1e-16·|Σ ℓ|/ε ≈ 1e-12, so the brute force is good to ~1e-9 relative, far inside the
 * tolerance (plain ±ε differences with ε = 1e-6 carry ~1e-9 absolute rounding noise, as large as ATOL).
 */
const EPS = 1e-3;
const IGNORE = -100;
/**
 * How padded rows are truncated. The issue states the cut at t − k2 for the update time t; the trainer
 * (backwardWindow, "per-row truncation") takes for each row the update time t_b = min(t, the row's
 * sequence end): padding carries the state unchanged and is not time. They differ only for padded rows.
 * false: check the trainer's per-row rule (a "padding-is-time" test below shows the difference).
 */
const PADDING_IS_TIME = false;

// ───────────────────────────── the independent reference ─────────────────────────────

/** One weight version: PyTorch state_dict name → values. */
type Weights = Map<string, Float64Array>;
interface LayerState {
  readonly h: readonly number[];
  readonly c: readonly number[];
}
/** The state of one row: one entry per layer (forward direction). */
type RowState = readonly LayerState[];

interface RefModel {
  cell: "rnn" | "lstm" | "gru";
  L: number;
  D: number;
  H: number;
  O: number;
  /** Embedding dimension (token input). */
  E: number;
  objective: Objective;
}

/** One time step of the stream, for all rows. */
interface StreamStep {
  batch: number;
  /** Step within its batch. */
  t: number;
  ids: number[] | null;
  features: number[][] | null;
  mask: number[];
  /** State reset to zero before this step. */
  reset: boolean[];
  /** Index of the weight version used by this step's forward. */
  version: number;
}

interface LossTerm {
  /** Global step whose output carries the loss. */
  g: number;
  b: number;
  target: number | number[];
}

interface PlannedUpdate {
  /** Stream time of the update (steps done so far in the whole run). */
  time: number;
  batch: number;
  terms: LossTerm[];
  /** The factor lossScale applies (1 for "sum"). */
  scale: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const zeros = (n: number): number[] => new Array<number>(n).fill(0);

function get(W: Weights, name: string): Float64Array {
  const v = W.get(name);
  if (!v) throw new Error(`reference: no parameter ${name}`);
  return v;
}

/** One cell step of PyTorch's RNN(tanh) / LSTM (i, f, g, o) / GRU (r, z, n). */
function cellStep(m: RefModel, W: Weights, suffix: string, x: readonly number[], h: readonly number[], c: readonly number[]): LayerState {
  const H = m.H;
  const G = (m.cell === "lstm" ? 4 : m.cell === "gru" ? 3 : 1) * H;
  const In = x.length;
  const Wih = get(W, `rnn.weight_ih${suffix}`);
  const Whh = get(W, `rnn.weight_hh${suffix}`);
  const bih = get(W, `rnn.bias_ih${suffix}`);
  const bhh = get(W, `rnn.bias_hh${suffix}`);
  assert.equal(Wih.length, G * In);
  assert.equal(Whh.length, G * H);
  const gi = zeros(G);
  const gh = zeros(G);
  for (let j = 0; j < G; j++) {
    let a = bih[j]!;
    for (let k = 0; k < In; k++) a += Wih[j * In + k]! * x[k]!;
    let b = bhh[j]!;
    for (let k = 0; k < H; k++) b += Whh[j * H + k]! * h[k]!;
    gi[j] = a;
    gh[j] = b;
  }
  const hNew = zeros(H);
  const cNew = zeros(H);
  for (let j = 0; j < H; j++) {
    if (m.cell === "rnn") {
      hNew[j] = Math.tanh(gi[j]! + gh[j]!);
    } else if (m.cell === "lstm") {
      const i = sigmoid(gi[j]! + gh[j]!);
      const f = sigmoid(gi[H + j]! + gh[H + j]!);
      const g = Math.tanh(gi[2 * H + j]! + gh[2 * H + j]!);
      const o = sigmoid(gi[3 * H + j]! + gh[3 * H + j]!);
      cNew[j] = f * c[j]! + i * g;
      hNew[j] = o * Math.tanh(cNew[j]!);
    } else {
      const r = sigmoid(gi[j]! + gh[j]!);
      const z = sigmoid(gi[H + j]! + gh[H + j]!);
      const n = Math.tanh(gi[2 * H + j]! + r * gh[2 * H + j]!);
      hNew[j] = (1 - z) * n + z * h[j]!;
    }
  }
  return { h: hNew, c: cNew };
}

function zeroRowState(m: RefModel): RowState {
  return Array.from({ length: m.L }, () => ({ h: zeros(m.H), c: zeros(m.H) }));
}

/** The input vector of row b at a step: an embedding row (of that step's weights) or the features. */
function stepInput(m: RefModel, W: Weights, s: StreamStep, b: number): number[] {
  if (s.features) return s.features[b]!;
  const E = get(W, "embedding.weight");
  const id = s.ids![b]!;
  return Array.from(E.subarray(id * m.E, (id + 1) * m.E));
}

/** The unidirectional stack over one step of one row: (top output, new state). Masked: carried, output 0. */
function stackStep(m: RefModel, W: Weights, x0: number[], state: RowState, real: boolean): { out: number[]; state: RowState } {
  if (!real) return { out: zeros(m.H), state };
  let x: readonly number[] = x0;
  const next: LayerState[] = [];
  for (let l = 0; l < m.L; l++) {
    const s = cellStep(m, W, `_l${l}`, x, state[l]!.h, state[l]!.c);
    next.push(s);
    x = s.h;
  }
  return { out: [...x], state: next };
}

/** The head and the loss of one output. */
function headLoss(m: RefModel, W: Weights, o: readonly number[], target: number | number[]): number {
  const Wh = get(W, "head.weight");
  const bh = get(W, "head.bias");
  const F = o.length;
  assert.equal(Wh.length, m.O * F);
  const z = zeros(m.O);
  for (let j = 0; j < m.O; j++) {
    let a = bh[j]!;
    for (let k = 0; k < F; k++) a += Wh[j * F + k]! * o[k]!;
    z[j] = a;
  }
  if (m.objective === "classes") {
    const y = target as number;
    const max = Math.max(...z);
    let s = 0;
    for (const v of z) s += Math.exp(v - max);
    return max + Math.log(s) - z[y]!;
  }
  if (m.objective === "binary") {
    const y = target as number;
    const x = z[0]!;
    return Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
  }
  const y = target as number[];
  let s = 0;
  for (let j = 0; j < m.O; j++) s += (z[j]! - y[j]!) ** 2;
  return s;
}

/**
 * A deliberately wrong reading of the definition, to show that the comparison can fail; and
 * "padding-is-time", the literal reading for padded rows (see PADDING_IS_TIME).
 */
type Variant =
  | "exact" | "current-weights" | "no-cut" | "cut-one-later" | "cut-one-earlier" | "cut-at-batch-start" | "padding-is-time";

class Reference {
  /** outputs[g][b]: the top layer's output of the unperturbed run. */
  readonly outputs: number[][][] = [];
  /** states[g][b]: the state entering step g (before any reset), unperturbed. */
  readonly states: RowState[][] = [];

  constructor(
    readonly m: RefModel, readonly steps: StreamStep[], readonly updates: PlannedUpdate[],
    readonly versions: Weights[], readonly B: number, readonly k2: number,
    readonly batchStarts: number[], readonly batchLengths: number[], readonly rowLengths: number[][],
  ) {
    if (m.D === 1) {
      // The whole stream, unperturbed, each step with the weights of its time; every state recorded.
      for (let b = 0; b < B; b++) {
        let state = zeroRowState(m);
        for (let g = 0; g < steps.length; g++) {
          (this.states[g] ??= [])[b] = state;
          const r = this.step(g, b, state, this.versions[steps[g]!.version]!);
          state = r.state;
          (this.outputs[g] ??= [])[b] = r.out;
        }
        (this.states[steps.length] ??= [])[b] = state;
      }
    }
  }

  /** Step g of row b from `state` with weights W (a reset first zeroes the state). */
  private step(g: number, b: number, state: RowState, W: Weights): { out: number[]; state: RowState } {
    const s = this.steps[g]!;
    return stackStep(this.m, W, stepInput(this.m, W, s, b), s.reset[b] ? zeroRowState(this.m) : state, s.mask[b] === 1);
  }

  /**
   * Where row b's cut is for update u: the states entering steps < s0 are constants. The update
   * time of a row is the update's t, or the row's sequence end if it came earlier: padding steps
   * carry the state unchanged and do not count as time (the trainer's per-row truncation).
   */
  private cutFor(u: PlannedUpdate, b: number, variant: Variant): number {
    const paddingIsTime = PADDING_IS_TIME !== (variant === "padding-is-time");
    const t = paddingIsTime ? u.time : Math.min(u.time, this.batchStarts[u.batch]! + this.rowLengths[u.batch]![b]!);
    const exact = this.k2 === Infinity ? 0 : Math.max(0, t - this.k2);
    switch (variant) {
      case "no-cut": return 0;
      case "cut-one-later": return Math.min(t - 1, exact + 1);
      case "cut-one-earlier": return Math.max(0, exact - 1);
      case "cut-at-batch-start": return Math.max(exact, this.batchStarts[u.batch]!);
      default: return exact;
    }
  }

  /** Σ ℓ of update u with the current (possibly perturbed) versions, from the recorded states at the cut. */
  loss(ui: number, variant: Variant = "exact"): number {
    const u = this.updates[ui]!;
    if (this.m.D === 2) return this.bidirectionalLoss(u);
    const current = variant === "current-weights" ? this.versions[ui]! : null;
    let sum = 0;
    for (let b = 0; b < this.B; b++) {
      const terms = u.terms.filter((term) => term.b === b);
      if (terms.length === 0) continue;
      const s0 = this.cutFor(u, b, variant);
      const outputs = new Map<number, number[]>();
      let state = this.states[s0]![b]!;
      for (let g = s0; g < u.time; g++) {
        const r = this.step(g, b, state, current ?? this.versions[this.steps[g]!.version]!);
        state = r.state;
        outputs.set(g, r.out);
      }
      for (const term of terms) {
        // A loss before the cut sees the perturbation only through the head.
        const o = term.g >= s0 ? outputs.get(term.g)! : this.outputs[term.g]![b]!;
        sum += headLoss(this.m, current ?? this.versions[this.steps[term.g]!.version]!, o, term.target);
      }
    }
    return sum;
  }

  /**
   * Full BPTT of a bidirectional stack over the update's whole batch, from zero state. The reverse
   * direction reads each sequence backwards from its last real step, from zero state; a row whose
   * sequence restarts at step t (starts) begins a fresh reverse sequence at step t − 1.
   */
  private bidirectionalLoss(u: PlannedUpdate): number {
    const m = this.m;
    const g0 = this.batchStarts[u.batch]!;
    const T = this.batchLengths[u.batch]!;
    const W = this.versions[this.steps[g0]!.version]!;
    const top: number[][][] = []; // [t][b]
    for (let b = 0; b < this.B; b++) {
      let input: number[][] = [];
      for (let t = 0; t < T; t++) input.push(stepInput(m, W, this.steps[g0 + t]!, b));
      for (let l = 0; l < m.L; l++) {
        const out: number[][] = Array.from({ length: T }, () => []);
        for (const reverse of [false, true]) {
          const suffix = `_l${l}${reverse ? "_reverse" : ""}`;
          let st: LayerState = { h: zeros(m.H), c: zeros(m.H) };
          for (let k = 0; k < T; k++) {
            const t = reverse ? T - 1 - k : k;
            const s = this.steps[g0 + t]!;
            if (!reverse && s.reset[b]) st = { h: zeros(m.H), c: zeros(m.H) };
            if (s.mask[b] === 1) {
              st = cellStep(m, W, suffix, input[t]!, st.h, st.c);
              out[t]!.push(...st.h);
            } else {
              out[t]!.push(...zeros(m.H));
            }
            if (reverse && s.reset[b]) st = { h: zeros(m.H), c: zeros(m.H) };
          }
        }
        input = out;
      }
      for (let t = 0; t < T; t++) (top[t] ??= [])[b] = input[t]!;
    }
    let sum = 0;
    for (const term of u.terms) sum += headLoss(m, W, top[term.g - g0]![term.b]!, term.target);
    return sum;
  }

  /** Central differences for every element of every parameter, the same δ in every version. */
  gradient(ui: number, names: string[], variant: Variant = "exact"): Map<string, Float64Array> {
    const out = new Map<string, Float64Array>();
    for (const name of names) {
      const n = get(this.versions[0]!, name).length;
      const grad = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const saved = this.versions.map((v) => get(v, name)[i]!);
        const at = (delta: number): number => {
          this.versions.forEach((v, k) => (get(v, name)[i] = saved[k]! + delta));
          return this.loss(ui, variant);
        };
        grad[i] = (8 * (at(EPS) - at(-EPS)) - (at(2 * EPS) - at(-2 * EPS))) / (12 * EPS);
        this.versions.forEach((v, k) => (get(v, name)[i] = saved[k]!));
      }
      out.set(name, grad);
    }
    return out;
  }
}

// ───────────────────────────── the definition's schedule, read independently ─────────────────────────────

interface Case {
  name: string;
  model: ModelConfig;
  trainer: TrainerOptions;
  /** The schedule as the definition states it. */
  k1: number;
  k2: number;
  batches: Batch[];
  expectedUpdates: number;
  lr?: number;
}

function lengthsOf(batch: Batch): number[] {
  const { T, B, mask } = batch;
  return Array.from({ length: B }, (_, b) => {
    let n = 0;
    for (let t = 0; t < T; t++) if (!mask || mask[t * B + b] === 1) n = t + 1;
    return n;
  });
}

function plan(c: Case, m: RefModel): { steps: StreamStep[]; updates: PlannedUpdate[]; batchStarts: number[] } {
  const steps: StreamStep[] = [];
  const updates: PlannedUpdate[] = [];
  const batchStarts: number[] = [];
  const lossAt = c.trainer.lossAt ?? "every-step";
  const O = m.O;
  const I = c.model.inputSize ?? 0;
  let offset = 0;
  c.batches.forEach((batch, bi) => {
    const { T, B } = batch;
    batchStarts.push(offset);
    const lengths = lengthsOf(batch);
    for (let t = 0; t < T; t++) {
      steps.push({
        batch: bi, t,
        ids: batch.ids ? Array.from(batch.ids.subarray(t * B, (t + 1) * B)) : null,
        features: batch.features
          ? Array.from({ length: B }, (_, b) => Array.from(batch.features!.subarray((t * B + b) * I, (t * B + b + 1) * I)))
          : null,
        mask: Array.from({ length: B }, (_, b) => (batch.mask ? batch.mask[t * B + b]! : 1)),
        reset: Array.from({ length: B }, (_, b) => (t === 0 && !batch.continues) || (batch.starts?.[t * B + b] ?? 0) === 1),
        version: -1,
      });
    }
    const stepTarget = (t: number, b: number): number | number[] | null => {
      const y = batch.stepTargets!;
      if (m.objective === "regression") {
        const v = Array.from(y.subarray((t * B + b) * O, (t * B + b + 1) * O));
        return v.some(Number.isNaN) ? null : v;
      }
      const v = y[t * B + b]!;
      return (m.objective === "classes" && v === IGNORE) || Number.isNaN(v) ? null : v;
    };
    const seqTarget = (b: number): number | number[] =>
      m.objective === "regression" ? Array.from(batch.sequenceTargets!.subarray(b * O, (b + 1) * O)) : batch.sequenceTargets![b]!;
    const K = Math.min(c.k1, T);
    const mean = (c.trainer.lossScale ?? "mean") === "mean";
    const scale = mean ? 1 / (B * (lossAt === "every-step" ? K : 1)) : 1;
    for (let start = 0; start < T; start += K) {
      const end = Math.min(start + K, T);
      const terms: LossTerm[] = [];
      for (let t = start; t < end; t++) {
        for (let b = 0; b < B; b++) {
          if (t >= lengths[b]!) continue;
          const last = lengths[b]! - 1;
          let target: number | number[] | null = null;
          if (lossAt === "every-step") target = stepTarget(t, b);
          else if (t === last) target = batch.sequenceTargets ? seqTarget(b) : stepTarget(t, b);
          else if (c.trainer.lossEveryChunk && t === end - 1) target = seqTarget(b);
          if (target !== null) terms.push({ g: offset + t, b, target });
        }
      }
      if (terms.length > 0) updates.push({ time: offset + end, batch: bi, terms, scale });
    }
    offset += T;
  });
  // Steps after the n-th update use version n.
  for (let g = 0; g < steps.length; g++) steps[g]!.version = updates.filter((u) => u.time <= g).length;
  return { steps, updates, batchStarts };
}

// ───────────────────────────── running the trainer ─────────────────────────────

interface Run {
  names: string[];
  versions: Weights[];
  applied: Map<string, Float64Array>[];
  infos: UpdateInfo[];
  times: number[];
  schedule: { k1: number; k2: number };
}

function snapshot(named: Array<[string, { value: Float32Array }]>): Weights {
  return new Map(named.map(([n, p]) => [n, Float64Array.from(p.value)]));
}

function runTrainer(c: Case): Run {
  return inFloat64(() => {
    const model = new SequenceModel(c.model);
    const named = model.namedParameters();
    const versions = [snapshot(named)];
    const applied: Map<string, Float64Array>[] = [];
    const infos: UpdateInfo[] = [];
    const times: number[] = [];
    let offset = 0;
    const optimizer = createOptimizer("sgd", model.parameters(), { lr: c.lr ?? 0.5 });
    const trainer = new Trainer(model, optimizer, {
      ...c.trainer,
      beforeStep: () => applied.push(new Map(named.map(([n, p]) => [n, Float64Array.from(p.grad)]))),
      onUpdate: (info) => {
        versions.push(snapshot(named));
        infos.push(info);
        times.push(offset + info.step);
      },
    });
    for (const batch of c.batches) {
      trainer.trainBatch(batch);
      offset += batch.T;
    }
    return { names: named.map(([n]) => n), versions, applied, infos, times, schedule: { ...trainer.schedule } };
  });
}

function refModelOf(c: Case): RefModel {
  const cell = c.model.cell;
  assert.ok(cell === "rnn" || cell === "lstm" || cell === "gru");
  return {
    cell, L: c.model.numLayers ?? 1, D: c.model.bidirectional ? 2 : 1, H: c.model.hiddenSize,
    O: c.model.outputSize, E: c.model.embeddingDim ?? c.model.hiddenSize, objective: c.model.objective,
  };
}

interface Prepared {
  run: Run;
  ref: Reference;
  updates: PlannedUpdate[];
}

function prepare(c: Case): Prepared {
  const run = runTrainer(c);
  const m = refModelOf(c);
  const { steps, updates, batchStarts } = plan(c, m);
  const ref = new Reference(
    m, steps, updates, run.versions, c.batches[0]!.B, c.k2, batchStarts, c.batches.map((b) => b.T), c.batches.map(lengthsOf),
  );
  return { run, ref, updates };
}

/** Worst violation of |a − e| ≤ atol + rtol·|e| over every parameter of one update, as a message, or null. */
function mismatch(actual: Map<string, Float64Array>, expected: Map<string, Float64Array>, scale: number): string | null {
  let worst: string | null = null;
  let worstExcess = 0;
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    for (let i = 0; i < e.length; i++) {
      const want = e[i]! * scale;
      const excess = Math.abs(a[i]! - want) - (ATOL + RTOL * Math.abs(want));
      if (!(excess <= 0) && (worst === null || excess > worstExcess)) {
        worst = `${name}[${i}] = ${a[i]}, brute force ${want}`;
        worstExcess = excess;
      }
    }
  }
  return worst;
}

function checkCase(c: Case): void {
  const { run, ref, updates } = prepare(c);
  assert.deepEqual(run.schedule, { k1: c.k1, k2: c.k2 }, "schedule");
  assert.equal(updates.length, c.expectedUpdates, "the definition's update count (test setup)");
  assert.equal(run.infos.length, c.expectedUpdates, "updates made by the trainer");
  assert.deepEqual(run.times, updates.map((u) => u.time), "update times");
  // The weights really move between updates (staleness matters).
  for (let n = 1; n < run.versions.length; n++) {
    let moved = 0;
    for (const [name, v] of run.versions[n]!) {
      const prev = get(run.versions[n - 1]!, name);
      for (let i = 0; i < v.length; i++) moved = Math.max(moved, Math.abs(v[i]! - prev[i]!));
    }
    assert.ok(moved > 1e-2, `update ${n} moved the weights by only ${moved}`);
  }
  updates.forEach((u, ui) => {
    const info = run.infos[ui]!;
    assert.equal(info.update, ui + 1);
    assert.equal(info.lossTerms, u.terms.length, `update ${ui + 1}: loss terms`);
    assert.ok(info.lossSum < 100, `update ${ui + 1}: Σ ℓ = ${info.lossSum}, training diverged (the check would be meaningless)`);
    const loss = ref.loss(ui);
    assert.ok(Math.abs(info.lossSum - loss) <= 1e-6 * Math.abs(loss) + 1e-9, `update ${ui + 1}: Σ ℓ ${info.lossSum}, reference ${loss}`);
    const brute = ref.gradient(ui, run.names);
    const bad = mismatch(run.applied[ui]!, brute, u.scale);
    assert.equal(bad, null, `update ${ui + 1} at t = ${u.time}: ${bad}`);
  });
}

// ───────────────────────────── the cases ─────────────────────────────

const rng = new Rng(20240607);
const ints = (n: number, below: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(below));
const uniforms = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));
function maskOf(T: number, lengths: number[]): Float32Array {
  const B = lengths.length;
  const m = new Float32Array(T * B);
  for (let b = 0; b < B; b++) for (let t = 0; t < lengths[b]!; t++) m[t * B + b] = 1;
  return m;
}
function startsOf(T: number, B: number, at: Array<[number, number]>): Uint8Array {
  const s = new Uint8Array(T * B);
  for (const [t, b] of at) s[t * B + b] = 1;
  return s;
}

const lstmEveryStep: Case = (() => {
  const T = 8, B = 2, V = 5;
  const stepTargets = ints(T * B, V);
  stepTargets[4 * B + 1] = IGNORE; // one step without a target
  return {
    name: "LSTM, 2 layers, TBPTT(3, 3), T = 8 (last chunk 2 steps), every-step classes",
    model: { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 3, numLayers: 2, outputSize: V, objective: "classes", seed: 1 },
    trainer: { k1: 3, k2: 3, lossScale: "sum" },
    k1: 3, k2: 3,
    batches: [{ T, B, ids: ints(T * B, V), stepTargets }],
    expectedUpdates: 3,
  };
})();

const gruOverlapping: Case = (() => {
  const T = 9, B = 3, V = 4;
  return {
    name: "GRU, 2 layers, TBPTT(2, 5): overlapping windows through stale weights, lossScale mean",
    model: { cell: "gru", vocabSize: V, embeddingDim: 3, hiddenSize: 3, numLayers: 2, outputSize: V, objective: "classes", seed: 2 },
    trainer: { k1: 2, k2: 5, lossScale: "mean" },
    k1: 2, k2: 5,
    batches: [{ T, B, ids: ints(T * B, V), stepTargets: ints(T * B, V) }],
    expectedUpdates: 5,
  };
})();

const rnnShortK2: Case = (() => {
  const T = 10, B = 2, V = 5;
  return {
    name: "RNN(tanh), 2 layers, TBPTT(4, 2): k2 < k1, early losses reach only the head",
    model: { cell: "rnn", vocabSize: V, embeddingDim: 2, hiddenSize: 4, numLayers: 2, outputSize: V, objective: "classes", seed: 3 },
    trainer: { k1: 4, k2: 2, lossScale: "sum" },
    k1: 4, k2: 2,
    batches: [{ T, B, ids: ints(T * B, V), stepTargets: ints(T * B, V) }],
    expectedUpdates: 3,
  };
})();

/** LSTM many-to-one over B = 3 rows of lengths 8/5/3: last-step + lossEveryChunk, sequenceTargets, TBPTT(3, 3), mean. */
function manyToOneCase(name: string, V: number, seed: number): Case {
  const T = 8, B = 3;
  return {
    name,
    model: { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 3, outputSize: 3, objective: "classes", seed },
    trainer: { k1: 3, k2: 3, lossAt: "last-step", lossEveryChunk: true, lossScale: "mean" },
    k1: 3, k2: 3,
    batches: [{ T, B, ids: ints(T * B, V), mask: maskOf(T, [8, 5, 3]), sequenceTargets: Int32Array.from([2, 0, 1]) }],
    expectedUpdates: 3,
  };
}

const lstmManyToOne = manyToOneCase("LSTM many-to-one: last-step + lossEveryChunk, sequenceTargets, lengths 8/5/3, TBPTT(3, 3), mean", 6, 4);

const gruLastStepSkips: Case = (() => {
  const T = 8, B = 3, V = 4;
  const stepTargets = ints(T * B, 3);
  return {
    name: "GRU last-step (step targets), lengths 3/6/8, TBPTT(2, 5): the first chunk has no loss and makes no update",
    model: { cell: "gru", vocabSize: V, embeddingDim: 2, hiddenSize: 3, outputSize: 3, objective: "classes", seed: 5 },
    trainer: { k1: 2, k2: 5, lossAt: "last-step", lossScale: "sum" },
    k1: 2, k2: 5,
    batches: [{ T, B, ids: ints(T * B, V), mask: maskOf(T, [3, 6, 8]), stepTargets }],
    expectedUpdates: 3,
  };
})();

const gruRegressionStarts: Case = (() => {
  const T = 10, B = 3, I = 2, O = 2;
  const stepTargets = uniforms(T * B * O);
  stepTargets.fill(NaN, (5 * B + 0) * O, (5 * B + 1) * O); // no loss at (t 5, row 0)
  return {
    name: "GRU, features, regression (O = 2), starts mid-batch, TBPTT(3, 6)",
    model: { cell: "gru", inputSize: I, hiddenSize: 3, outputSize: O, objective: "regression", seed: 6 },
    trainer: { k1: 3, k2: 6, lossScale: "sum" },
    k1: 3, k2: 6,
    lr: 0.05, // squared errors: a larger step diverges
    batches: [{
      T, B, features: uniforms(T * B * I), stepTargets,
      starts: startsOf(T, B, [[4, 1], [3, 2], [7, 2], [8, 0]]),
    }],
    expectedUpdates: 4,
  };
})();

const lstmOnlineBinary: Case = (() => {
  const T = 6, B = 2, V = 4;
  const stepTargets = Float32Array.from({ length: T * B }, () => rng.int(2));
  stepTargets[5 * B + 0] = NaN; // step 5: row 0 has no target, row 1 is padding → no update
  return {
    name: 'mode "online" (k1 = 1, k2 = ∞), binary, a padded row: one update per step with a loss',
    model: { cell: "lstm", vocabSize: V, embeddingDim: 2, hiddenSize: 2, outputSize: 1, objective: "binary", seed: 7 },
    trainer: { mode: "online", lossScale: "sum" },
    k1: 1, k2: Infinity,
    batches: [{ T, B, ids: ints(T * B, V), mask: maskOf(T, [6, 4]), stepTargets }],
    expectedUpdates: 5,
  };
})();

/** Mode "full" over two masked batches of B = 3 sequences, a 2-layer bidirectional stack, lossScale mean. */
function fullBidirectionalCase(name: string, cell: "lstm" | "rnn", V: number, E: number, H: number, seed: number): Case {
  const B = 3;
  const batch = (T: number, lengths: number[]): Batch => ({ T, B, ids: ints(T * B, V), mask: maskOf(T, lengths), stepTargets: ints(T * B, V) });
  return {
    name,
    model: { cell, vocabSize: V, embeddingDim: E, hiddenSize: H, numLayers: 2, bidirectional: true, outputSize: V, objective: "classes", seed },
    trainer: { mode: "full", lossScale: "mean" },
    k1: Infinity, k2: Infinity,
    batches: [batch(6, [6, 4, 2]), batch(5, [3, 5, 1])],
    expectedUpdates: 2,
    lr: 2,
  };
}

const fullBidirectional = fullBidirectionalCase('mode "full": 2-layer bidirectional LSTM with a mask, two batches, lossScale mean (÷ B·T)', "lstm", 5, 3, 2, 8);

/** Two continuing batches (7 + 5 steps) of B = 2 LSTM streams, TBPTT(3, 5), sequences restarting in the second. */
function continuingStreams(name: string, V: number, seed: number): Case {
  const B = 2;
  return {
    name,
    model: { cell: "lstm", vocabSize: V, embeddingDim: 3, hiddenSize: 3, outputSize: V, objective: "classes", seed },
    trainer: { k1: 3, k2: 5, lossScale: "sum" },
    k1: 3, k2: 5,
    batches: [
      { T: 7, B, ids: ints(7 * B, V), stepTargets: ints(7 * B, V) },
      { T: 5, B, ids: ints(5 * B, V), stepTargets: ints(5 * B, V), continues: true, starts: startsOf(5, B, [[0, 1], [4, 0]]) },
    ],
    expectedUpdates: 5,
  };
}

const continuing = continuingStreams("two continuing batches (7 + 5 steps), LSTM, TBPTT(3, 5): windows cross the batch boundary", 5, 9);

const continuingShort: Case = (() => {
  const B = 2, V = 4;
  return {
    name: "a continuing batch shorter than k1 (6 + 2 steps), GRU, TBPTT(3, 3): its update reaches into the previous batch",
    model: { cell: "gru", vocabSize: V, embeddingDim: 2, hiddenSize: 3, outputSize: V, objective: "classes", seed: 10 },
    trainer: { k1: 3, k2: 3, lossScale: "sum" },
    k1: 3, k2: 3,
    batches: [
      { T: 6, B, ids: ints(6 * B, V), stepTargets: ints(6 * B, V) },
      { T: 2, B, ids: ints(2 * B, V), stepTargets: ints(2 * B, V), continues: true },
    ],
    expectedUpdates: 3,
  };
})();

const bidirectionalStarts: Case = (() => {
  const T = 6, B = 2, V = 4;
  return {
    name: 'mode "full": bidirectional GRU over packed sequences (starts): the reverse direction restarts at each sequence end',
    model: { cell: "gru", vocabSize: V, embeddingDim: 2, hiddenSize: 2, bidirectional: true, outputSize: V, objective: "classes", seed: 11 },
    trainer: { mode: "full", lossScale: "sum" },
    k1: Infinity, k2: Infinity,
    batches: [{ T, B, ids: ints(T * B, V), stepTargets: ints(T * B, V), starts: startsOf(T, B, [[3, 0]]) }],
    expectedUpdates: 1,
  };
})();

const cases = [
  lstmEveryStep, gruOverlapping, rnnShortK2, lstmManyToOne, gruLastStepSkips, gruRegressionStarts,
  lstmOnlineBinary, fullBidirectional, continuing, continuingShort,
];

describe("TBPTT(k1, k2): the applied gradient equals the definition's, by brute force", () => {
  for (const c of cases) it(c.name, () => checkCase(c));
  it(`${bidirectionalStarts.name} (or a clear refusal)`, () => {
    let refusal: unknown = null;
    try {
      runTrainer(bidirectionalStarts);
    } catch (e) {
      refusal = e;
    }
    if (refusal === null) checkCase(bidirectionalStarts);
    else assert.match(String(refusal), /RangeError: .*starts/);
  });
});

// Token models whose vocabulary is small against a chunk's T·B rows: the first layer projects each
// vocabulary row once and returns the embedding's gradient per row (cells/input-table.ts).
/** One batch of token streams (one per row), 2 layers, a class target at every step. */
function tokenStreams(name: string, cell: "lstm" | "gru", T: number, B: number, V: number, k1: number, k2: number, seed: number, expectedUpdates: number): Case {
  return {
    name,
    model: { cell, vocabSize: V, embeddingDim: 3, hiddenSize: 3, numLayers: 2, outputSize: V, objective: "classes", seed },
    trainer: { k1, k2, lossScale: k1 === k2 ? "sum" : "mean" },
    k1, k2,
    batches: [{ T, B, ids: ints(T * B, V), stepTargets: ints(T * B, V) }],
    expectedUpdates,
  };
}

const tableCases: Case[] = [
  tokenStreams("LSTM, 2 layers, TBPTT(3, 3), V = 2, B = 4", "lstm", 8, 4, 2, 3, 3, 21, 3),
  tokenStreams("GRU, 2 layers, TBPTT(2, 5), V = 3, mean: overlapping windows back-propagated with stale weights and embeddings", "gru", 9, 4, 3, 2, 5, 22, 5),
  manyToOneCase("LSTM many-to-one, V = 3, lengths 8/5/3 (per-row cuts), last-step + lossEveryChunk, TBPTT(3, 3)", 3, 23),
  fullBidirectionalCase('mode "full", V = 3: 2-layer bidirectional RNN with a mask (both directions through the table)', "rnn", 3, 2, 3, 24),
  continuingStreams("continuing batches with starts, V = 2: segments of 1 step (per step) and 3 (table) in one window", 2, 25),
];

describe("the same, through the input table (V ≤ T·B/2: the first layer works per vocabulary row)", () => {
  for (const c of tableCases) {
    it(c.name, () => {
      // Counts the gathers of projected table rows (gate-wide rows), which only the table path makes.
      const original = float64Kernels.gatherRows;
      const embeddingDim = c.model.embeddingDim!;
      let tableGathers = 0;
      float64Kernels.gatherRows = (N, D, ...rest) => {
        if (D !== embeddingDim) tableGathers++;
        original(N, D, ...rest);
      };
      try {
        checkCase(c);
      } finally {
        float64Kernels.gatherRows = original;
      }
      assert.ok(tableGathers > 0, "the input table was not used");
    });
  }
});

describe("the brute-force comparison can fail (deliberately wrong references disagree with the trainer)", () => {
  const disagrees = (c: Case, variant: Variant): void => {
    const { run, ref, updates } = prepare(c);
    const bad = updates.map((u, ui) => mismatch(run.applied[ui]!, ref.gradient(ui, run.names, variant), u.scale));
    assert.ok(bad.some((b) => b !== null), `variant ${variant} of ${c.name} was not detected`);
  };
  it("back-propagating through older steps with the weights of the update time", () => disagrees(gruOverlapping, "current-weights"));
  it("no cut (full BPTT instead of k2 steps)", () => disagrees(gruOverlapping, "no-cut"));
  it("the cut one step too late", () => disagrees(gruOverlapping, "cut-one-later"));
  it("the cut one step too early", () => disagrees(gruRegressionStarts, "cut-one-earlier"));
  it("no gradient across the batch boundary of a continuing stream", () => disagrees(continuing, "cut-at-batch-start"));
  it("k2 < k1: back-propagating from losses before the cut", () => disagrees(rnnShortK2, "cut-one-earlier"));
  it("padded rows: counting padding as time (the issue's literal cut at t − k2) is a different gradient", () =>
    disagrees(lstmManyToOne, "padding-is-time"));
});
