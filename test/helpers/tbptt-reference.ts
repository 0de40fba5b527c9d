/**
 * The brute-force reference of the TBPTT(k1, k2) tests (test/train/tbptt-bruteforce.test.ts, and
 * tbptt-ragged.test.ts for batches of rows of different lengths): the definition's schedule read
 * independently (`plan`), an independent float64 model written with plain scalar loops (`Reference`),
 * the trainer run in float64 recording every applied gradient (`runTrainer`), and `checkCase`, which
 * compares them at every update by central differences. See the test file's header for what it proves.
 */
import assert from "node:assert/strict";
import { createOptimizer } from "../../src/optim/index.js";
import type { Batch } from "../../src/train/batch.js";
import type { ModelConfig, Objective } from "../../src/train/model.js";
import { SequenceModel } from "../../src/train/model.js";
import { Trainer, type TrainerOptions, type UpdateInfo } from "../../src/train/trainer.js";
import { inFloat64 } from "./float64.js";

const RTOL = 1e-6;
const ATOL = 1e-9;
/**
 * Fourth-order central differences, (8(f(ε) − f(−ε)) − (f(2ε) − f(−2ε))) / 12ε: truncation O(ε⁴) ≈ 1e-12
 * and rounding ≈ 1e-16·|Σ ℓ|/ε ≈ 1e-12, so the brute force is good to ~1e-9 relative, far inside the
 * tolerance (plain ±ε differences with ε = 1e-6 carry ~1e-9 absolute rounding noise, as large as ATOL).
 */
const EPS = 1e-3;
export const IGNORE = -100;
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
export type Variant =
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

export interface Case {
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

export function runTrainer(c: Case): Run {
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

export function prepare(c: Case): Prepared {
  const run = runTrainer(c);
  const m = refModelOf(c);
  const { steps, updates, batchStarts } = plan(c, m);
  const ref = new Reference(
    m, steps, updates, run.versions, c.batches[0]!.B, c.k2, batchStarts, c.batches.map((b) => b.T), c.batches.map(lengthsOf),
  );
  return { run, ref, updates };
}

/** Worst violation of |a − e| ≤ atol + rtol·|e| over every parameter of one update, as a message, or null. */
export function mismatch(actual: Map<string, Float64Array>, expected: Map<string, Float64Array>, scale: number): string | null {
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

export function checkCase(c: Case): void {
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

/** Asserts that a deliberately wrong reading of the definition disagrees with the trainer at some update. */
export function assertDisagrees(c: Case, variant: Variant): void {
  const { run, ref, updates } = prepare(c);
  const bad = updates.map((u, ui) => mismatch(run.applied[ui]!, ref.gradient(ui, run.names, variant), u.scale));
  assert.ok(bad.some((b) => b !== null), `variant ${variant} of ${c.name} was not detected`);
}

/** A (T, B) mask of right-padded rows of these lengths. */
export function maskOf(T: number, lengths: number[]): Float32Array {
  const B = lengths.length;
  const m = new Float32Array(T * B);
  for (let b = 0; b < B; b++) for (let t = 0; t < lengths[b]!; t++) m[t * B + b] = 1;
  return m;
}

/** (T, B) starts: 1 at each (t, b) given. */
export function startsOf(T: number, B: number, at: Array<[number, number]>): Uint8Array {
  const s = new Uint8Array(T * B);
  for (const [t, b] of at) s[t * B + b] = 1;
  return s;
}
