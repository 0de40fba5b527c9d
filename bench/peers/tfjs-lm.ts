/**
 * TensorFlow.js peer of the bptt benchmark (started by bench/run.ts, one process per configuration
 * and round): the same model, data, loss, clipping and Adam update as bptt, in @tensorflow/tfjs 4.22
 * on the WebAssembly backend (tf.setBackend("wasm"): XNNPACK with SIMD; one thread, because the
 * backend's multi-threaded build needs browser workers and reports no multithread support in Node).
 *
 *   node dist/bench/peers/tfjs-lm.js --spec '<WorkerSpec as JSON>'      (spec.variant picks the formulation)
 *
 * Formulation choices (the wasm backend's limits, measured on this machine; see docs/benchmarks.md):
 *
 * - Transposed matrix products. The wasm backend runs matMul(a, b, transposeA, transposeB) with a
 *   transpose flag 10–40× slower than the plain product (1120×256·256×1024: plain 31 ms, transposeB
 *   339 ms, transposeA 1038 ms), and tfjs's own gradient of matMul uses exactly those. So every product
 *   here is plain: weights are stored in the (in, out) orientation the forward pass multiplies by, and a
 *   gradient that needs a transpose materialises it with tf.transpose (a copy) and then multiplies.
 * - Embedding. tf.gather's gradient needs UnsortedSegmentSum, which the wasm backend lacks; the
 *   gradient is dE = scatterND(ids, dX, [V, E]) (ScatterNd is in the wasm backend and sums duplicate
 *   ids), i.e. O(T·B·E), not a one-hot product (O(T·B·V·E)).
 * - Loss. Softmax cross-entropy by hand: logSoftmax for the value, dLogits = (softmax − onehot) / N.
 * - "manual" (default, the fastest): tfjs as a tensor library, backward written out like bptt's — the
 *   input projections of all T steps in one product (X·W_x), per step only h·W_h and the gate maths,
 *   saved activations; backward per step the gate derivatives and dG·W_hᵀ (W_hᵀ transposed once per
 *   chunk), then the weight gradients of all steps in one product each (Xᵀ·dG, Hᵀ·dG). Same arithmetic
 *   as bptt and cuDNN.
 * - "autograd-split" / "autograd-concat": the cell written forward only and differentiated by
 *   tf.variableGrads (the tape), with matMul, gather and the loss replaced by tf.customGrad ops that
 *   follow the rules above. split: X·W_x hoisted out of the loop and h·W_h per step (two products);
 *   concat: one fused 4H-gate product [x_t, h]·[W_x; W_h] per step (LSTM and RNN; GRU needs h·W_hn
 *   on its own, so it uses split). The tape transposes W_h (or [W_x; W_h]) at every step of backward,
 *   which is what makes these slower than "manual".
 * - TBPTT k1 = k2 = T: the final state of a chunk is kept as a constant (tf.keep, no tape) and enters
 *   the next chunk; Adam is tf.train.adam(lr, 0.9, 0.999, 1e-8); global-norm clipping at 5 is
 *   computed on the device (coefficient min(1, 5 / (‖g‖ + 1e-6)), as PyTorch's clip_grad_norm_).
 * - Sampling: per token gather → one step per layer → head → tf.multinomial(logits) on the device, the
 *   drawn id fed straight back (no host round trip per token; the ids are read at the end).
 */
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { parseArgs } from "node:util";
import { type BenchConfig, RESULT_PREFIX, type WorkerResult, type WorkerSpec, chunkData } from "../configs.js";
import { emitResult, timeIterations } from "../timing.js";

type T2 = tf.Tensor2D;

export const VARIANTS = ["manual", "autograd-split", "autograd-concat"] as const;
export type Variant = (typeof VARIANTS)[number];

interface Layer {
  wx: tf.Variable; // (I, G·H)
  wh: tf.Variable; // (H, G·H)
  bx: tf.Variable; // (G·H): b_ih (+ b_hh folded in for the LSTM and RNN, whose b_hh only ever adds to it)
  bh: tf.Variable | null; // (G·H) GRU's b_hh (its n block is multiplied by r)
}

interface Model {
  c: BenchConfig;
  G: number;
  embedding: tf.Variable; // (V, H)
  layers: Layer[];
  wo: tf.Variable; // (H, O)
  bo: tf.Variable; // (O)
  variables: tf.Variable[];
}

/** PyTorch's initialisation: embedding N(0, 1), recurrent and linear U(±1/√H). */
function buildModel(c: BenchConfig): Model {
  const { H, L, V } = c;
  const G = c.cell === "lstm" ? 4 : c.cell === "gru" ? 3 : 1;
  const O = c.task === "cls" ? c.classes! : V;
  const k = 1 / Math.sqrt(H);
  let seed = c.seed;
  const u = (shape: number[]) => tf.randomUniform(shape, -k, k, "float32", seed++);
  const embedding = tf.variable(tf.randomNormal([V, H], 0, 1, "float32", seed++), true, "embedding");
  const layers: Layer[] = [];
  for (let l = 0; l < L; l++) {
    layers.push({
      wx: tf.variable(u([H, G * H]), true, `wx${l}`),
      wh: tf.variable(u([H, G * H]), true, `wh${l}`),
      // Two U(±k) biases summed, as b_ih + b_hh (only the sum matters for the LSTM and RNN).
      bx: tf.variable(c.cell === "gru" ? u([G * H]) : tf.tidy(() => tf.add(u([G * H]), u([G * H]))), true, `bx${l}`),
      bh: c.cell === "gru" ? tf.variable(u([G * H]), true, `bh${l}`) : null,
    });
  }
  const wo = tf.variable(u([H, O]), true, "wo");
  const bo = tf.variable(u([O]), true, "bo");
  const variables = [embedding, ...layers.flatMap((l) => (l.bh ? [l.wx, l.wh, l.bx, l.bh] : [l.wx, l.wh, l.bx])), wo, bo];
  return { c, G, embedding, layers, wo, bo, variables };
}

/** Carried state per layer: h, and c for the LSTM. */
type State = {
  h: T2[];
  c: T2[];
};

function zeroState(m: Model, B: number): State {
  const z = () => tf.keep(tf.zeros([B, m.c.H])) as T2;
  return { h: m.layers.map(z), c: m.c.cell === "lstm" ? m.layers.map(z) : [] };
}

function disposeState(s: State): void {
  for (const t of [...s.h, ...s.c]) t.dispose();
}

// ---------------------------------------------------------------------------------------------------
// Shared pieces.

/** softmax cross-entropy, mean over N rows: value and dLogits. */
function crossEntropy(logits: T2, targets: tf.Tensor1D, O: number): { loss: tf.Scalar; dLogits: T2 } {
  const N = logits.shape[0];
  const onehot = tf.cast(tf.oneHot(targets, O), "float32") as T2; // oneHot's dtype argument is ignored by the wasm kernel (int32 bits);
  const logp = tf.logSoftmax(logits) as T2;
  const loss = tf.div(tf.neg(tf.sum(tf.mul(logp, onehot))), N) as tf.Scalar;
  const dLogits = tf.div(tf.sub(tf.exp(logp), onehot), N) as T2;
  return { loss, dLogits };
}

/** Global-norm clipping as clip_grad_norm_, on the device. */
function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): tf.Tensor[] {
  const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
  const coefficient = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
  return grads.map((g) => tf.mul(g, coefficient));
}

// ---------------------------------------------------------------------------------------------------
// "manual": forward with saved activations, backward written out.

interface LayerTape {
  x: T2; // (T·B, I) the layer's input
  hPrev: T2[]; // h entering each step
  cPrev: T2[];
  acts: T2[][]; // per step, the cell's saved activations
  out: T2; // (T·B, H)
  hN: T2;
  cN: T2 | null;
}

/** One step of the cell: returns the new h (and c) and the activations backward needs. */
function cellStep(m: Model, layer: Layer, xg: T2, h: T2, c: T2 | null): { h: T2; c: T2 | null; acts: T2[] } {
  const H = m.c.H;
  if (m.c.cell === "lstm") {
    const g = tf.add(xg, tf.matMul(h, layer.wh)) as T2;
    const s = tf.sigmoid(g) as T2;
    const [i, f, , o] = tf.split(s, 4, 1) as T2[];
    const gg = tf.tanh(tf.slice(g, [0, 2 * H], [-1, H])) as T2;
    const c2 = tf.add(tf.mul(f!, c!), tf.mul(i!, gg)) as T2;
    const tc = tf.tanh(c2) as T2;
    const h2 = tf.mul(o!, tc) as T2;
    return { h: h2, c: c2, acts: [i!, f!, gg, o!, tc] };
  }
  if (m.c.cell === "gru") {
    const hg = tf.add(tf.matMul(h, layer.wh), layer.bh!) as T2;
    const [xr, xz, xn] = tf.split(xg, 3, 1) as T2[];
    const [hr, hz, hn] = tf.split(hg, 3, 1) as T2[];
    const r = tf.sigmoid(tf.add(xr!, hr!)) as T2;
    const z = tf.sigmoid(tf.add(xz!, hz!)) as T2;
    const n = tf.tanh(tf.add(xn!, tf.mul(r, hn!))) as T2;
    const h2 = tf.add(n, tf.mul(z, tf.sub(h, n))) as T2;
    return { h: h2, c: null, acts: [r, z, n, hn!] };
  }
  const h2 = tf.tanh(tf.add(xg, tf.matMul(h, layer.wh))) as T2;
  return { h: h2, c: null, acts: [h2] };
}

function layerForward(m: Model, layer: Layer, x: T2, T: number, state: State, l: number): LayerTape {
  const xgAll = tf.add(tf.matMul(x, layer.wx), layer.bx) as T2;
  const xgs = tf.split(xgAll, T, 0) as T2[];
  let h = state.h[l]!;
  let c = m.c.cell === "lstm" ? state.c[l]! : null;
  const tape: LayerTape = { x, hPrev: [], cPrev: [], acts: [], out: x, hN: h, cN: c };
  const outs: T2[] = [];
  for (let t = 0; t < T; t++) {
    tape.hPrev.push(h);
    if (c) tape.cPrev.push(c);
    const r = cellStep(m, layer, xgs[t]!, h, c);
    tape.acts.push(r.acts);
    h = r.h;
    c = r.c;
    outs.push(h);
  }
  tape.out = tf.concat(outs, 0) as T2;
  tape.hN = h;
  tape.cN = c;
  return tape;
}

/** Back through one layer: accumulates weight gradients into grads, returns dX (T·B, I). */
function layerBackward(m: Model, layer: Layer, tape: LayerTape, dOut: T2[] | null, T: number, grads: Map<tf.Variable, tf.Tensor>): T2 {
  const whT = tf.transpose(layer.wh) as T2;
  const dG: T2[] = new Array(T);
  const dHG: T2[] = new Array(T);
  let dh: T2 | null = null;
  let dc: T2 | null = null;
  for (let t = T - 1; t >= 0; t--) {
    const dOutT = dOut ? dOut[t] ?? null : null;
    const g: T2 | null = dh && dOutT ? (tf.add(dh, dOutT) as T2) : (dh ?? dOutT);
    if (g === null) {
      // No gradient reaches this step (cls before the last step has none only after the last step).
      continue;
    }
    const acts = tape.acts[t]!;
    if (m.c.cell === "lstm") {
      const [i, f, gg, o, tc] = acts as [T2, T2, T2, T2, T2];
      const one = 1;
      const dO = tf.mul(tf.mul(g, tc), tf.mul(o, tf.sub(one, o)));
      let dcc = tf.mul(tf.mul(g, o), tf.sub(one, tf.square(tc))) as T2;
      if (dc) dcc = tf.add(dcc, dc) as T2;
      const dI = tf.mul(tf.mul(dcc, gg), tf.mul(i, tf.sub(one, i)));
      const dF = tf.mul(tf.mul(dcc, tape.cPrev[t]!), tf.mul(f, tf.sub(one, f)));
      const dGG = tf.mul(tf.mul(dcc, i), tf.sub(one, tf.square(gg)));
      dc = tf.mul(dcc, f) as T2;
      dG[t] = tf.concat([dI, dF, dGG, dO], 1) as T2;
      dh = tf.matMul(dG[t]!, whT) as T2;
    } else if (m.c.cell === "gru") {
      const [r, z, n, hn] = acts as [T2, T2, T2, T2];
      const hPrev = tape.hPrev[t]!;
      const dn = tf.mul(tf.mul(g, tf.sub(1, z)), tf.sub(1, tf.square(n))) as T2; // d(n pre-activation)
      const dz = tf.mul(tf.mul(g, tf.sub(hPrev, n)), tf.mul(z, tf.sub(1, z)));
      const dr = tf.mul(tf.mul(dn, hn), tf.mul(r, tf.sub(1, r)));
      dG[t] = tf.concat([dr, dz, dn], 1) as T2;
      dHG[t] = tf.concat([dr, dz, tf.mul(dn, r)], 1) as T2;
      dh = tf.add(tf.mul(g, z), tf.matMul(dHG[t]!, whT)) as T2;
    } else {
      const [h2] = acts as [T2];
      dG[t] = tf.mul(g, tf.sub(1, tf.square(h2))) as T2;
      dh = tf.matMul(dG[t]!, whT) as T2;
    }
  }
  // Steps no gradient reached (none in these configurations) count as zeros.
  const H = m.c.H;
  const B = m.c.B;
  for (let t = 0; t < T; t++) if (!dG[t]) dG[t] = tf.zeros([B, m.G * H]);
  const dGAll = tf.concat(dG, 0) as T2;
  const hPrevAll = tf.concat(tape.hPrev, 0) as T2;
  const add = (v: tf.Variable, g: tf.Tensor) => grads.set(v, g);
  add(layer.wx, tf.matMul(tf.transpose(tape.x), dGAll));
  add(layer.bx, tf.sum(dGAll, 0));
  if (m.c.cell === "gru") {
    for (let t = 0; t < T; t++) if (!dHG[t]) dHG[t] = tf.zeros([B, m.G * H]);
    const dHGAll = tf.concat(dHG, 0) as T2;
    add(layer.wh, tf.matMul(tf.transpose(hPrevAll), dHGAll));
    add(layer.bh!, tf.sum(dHGAll, 0));
  } else {
    add(layer.wh, tf.matMul(tf.transpose(hPrevAll), dGAll));
  }
  return tf.matMul(dGAll, tf.transpose(layer.wx)) as T2;
}

function manualStep(m: Model, ids: tf.Tensor1D, targets: tf.Tensor1D, state: State): { loss: tf.Scalar; grads: Map<tf.Variable, tf.Tensor>; next: State } {
  const { T, B, H } = m.c;
  const cls = m.c.task === "cls";
  const O = cls ? m.c.classes! : m.c.V;
  const x0 = tf.gather(m.embedding, ids) as T2;
  const tapes: LayerTape[] = [];
  let x = x0;
  for (let l = 0; l < m.layers.length; l++) {
    const tape = layerForward(m, m.layers[l]!, x, T, state, l);
    tapes.push(tape);
    x = tape.out;
  }
  const top = cls ? (tf.slice(x, [(T - 1) * B, 0], [B, H]) as T2) : x;
  const logits = tf.add(tf.matMul(top, m.wo), m.bo) as T2;
  const { loss, dLogits } = crossEntropy(logits, targets, O);
  const grads = new Map<tf.Variable, tf.Tensor>();
  grads.set(m.wo, tf.matMul(tf.transpose(top), dLogits));
  grads.set(m.bo, tf.sum(dLogits, 0));
  const dTop = tf.matMul(dLogits, tf.transpose(m.wo)) as T2;
  let dOut: T2[] | null = cls ? new Array<T2>(T) : (tf.split(dTop, T, 0) as T2[]);
  if (cls) dOut![T - 1] = dTop;
  for (let l = m.layers.length - 1; l >= 0; l--) {
    const dX = layerBackward(m, m.layers[l]!, tapes[l]!, dOut, T, grads);
    if (l > 0) dOut = tf.split(dX, T, 0) as T2[];
    else grads.set(m.embedding, tf.scatterND(tf.reshape(ids, [T * B, 1]), dX, [m.c.V, H]));
  }
  const next: State = { h: tapes.map((tape) => tape.hN), c: m.c.cell === "lstm" ? tapes.map((tape) => tape.cN!) : [] };
  return { loss, grads, next };
}

// ---------------------------------------------------------------------------------------------------
// "autograd-*": forward only, differentiated by the tape through custom ops with plain products.

/** a·b with a gradient of plain products only (the wasm backend's transposed products are slow). */
const mm = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [T2, T2, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as T2, b as T2),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [T2, T2];
      return [tf.matMul(dy as T2, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as T2)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => T2;

/** Embedding rows with a ScatterNd gradient (gather's own needs UnsortedSegmentSum). */
function embed(m: Model, ids: tf.Tensor1D): T2 {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [e, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([]);
    return {
      value: tf.gather(e, ids),
      gradFunc: (dy: tf.Tensor) => [tf.scatterND(tf.reshape(ids, [ids.shape[0], 1]), dy, [m.c.V, m.c.H])],
    };
  }) as (e: tf.Tensor) => T2;
  return f(m.embedding);
}

/** Mean softmax cross-entropy with the (softmax − onehot)/N gradient. */
function lossOp(targets: tf.Tensor1D, O: number): (logits: tf.Tensor) => tf.Scalar {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [logits, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const { loss, dLogits } = crossEntropy(logits as T2, targets, O);
    save([dLogits]);
    return { value: loss, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(saved[0]!, dy)] };
  }) as (logits: tf.Tensor) => tf.Scalar;
}

function autogradStep(m: Model, ids: tf.Tensor1D, targets: tf.Tensor1D, state: State, concat: boolean): { loss: tf.Scalar; grads: Map<tf.Variable, tf.Tensor>; next: State } {
  const { T, B, H } = m.c;
  const cls = m.c.task === "cls";
  const O = cls ? m.c.classes! : m.c.V;
  const next: State = { h: [], c: [] };
  const fused = concat && m.c.cell !== "gru";
  const { value, grads } = tf.variableGrads(() => {
    let x = embed(m, ids);
    for (let l = 0; l < m.layers.length; l++) {
      const layer = m.layers[l]!;
      let h = state.h[l]!;
      let c = m.c.cell === "lstm" ? state.c[l]! : null;
      const w = fused ? (tf.concat([layer.wx, layer.wh], 0) as T2) : null;
      const xs = fused ? (tf.split(x, T, 0) as T2[]) : null;
      const xgs = fused ? null : (tf.split(tf.add(mm(x, layer.wx), layer.bx), T, 0) as T2[]);
      const outs: T2[] = [];
      for (let t = 0; t < T; t++) {
        if (m.c.cell === "lstm") {
          const g = fused ? tf.add(mm(tf.concat([xs![t]!, h], 1), w!), layer.bx) : tf.add(xgs![t]!, mm(h, layer.wh));
          const [gi, gf, gc, go] = tf.split(g, 4, 1);
          c = tf.add(tf.mul(tf.sigmoid(gf!), c!), tf.mul(tf.sigmoid(gi!), tf.tanh(gc!))) as T2;
          h = tf.mul(tf.sigmoid(go!), tf.tanh(c)) as T2;
        } else if (m.c.cell === "gru") {
          const [xr, xz, xn] = tf.split(xgs![t]!, 3, 1);
          const [hr, hz, hn] = tf.split(tf.add(mm(h, layer.wh), layer.bh!), 3, 1);
          const r = tf.sigmoid(tf.add(xr!, hr!));
          const z = tf.sigmoid(tf.add(xz!, hz!));
          const n = tf.tanh(tf.add(xn!, tf.mul(r, hn!)));
          h = tf.add(n, tf.mul(z, tf.sub(h, n))) as T2;
        } else {
          h = tf.tanh(fused ? tf.add(mm(tf.concat([xs![t]!, h], 1), w!), layer.bx) : tf.add(xgs![t]!, mm(h, layer.wh))) as T2;
        }
        outs.push(h);
      }
      next.h.push(tf.keep(h));
      if (c) next.c.push(tf.keep(c));
      x = tf.concat(outs, 0) as T2;
    }
    const top = cls ? (tf.slice(x, [(T - 1) * B, 0], [B, H]) as T2) : x;
    return lossOp(targets, O)(tf.add(mm(top, m.wo), m.bo));
  }, m.variables);
  const map = new Map<tf.Variable, tf.Tensor>();
  for (const v of m.variables) map.set(v, grads[v.name]!);
  return { loss: value, grads: map, next };
}

// ---------------------------------------------------------------------------------------------------

function sampler(m: Model): (n: number) => number {
  const { T } = m.c;
  return () => {
    let state = zeroState(m, 1);
    let id = tf.keep(tf.zeros([1], "int32")) as tf.Tensor1D;
    for (let s = 0; s < T; s++) {
      const out = tf.tidy(() => {
        let x = tf.gather(m.embedding, id) as T2;
        const next: State = { h: [], c: [] };
        for (let l = 0; l < m.layers.length; l++) {
          const layer = m.layers[l]!;
          const xg = tf.add(tf.matMul(x, layer.wx), layer.bx) as T2;
          const r = cellStep(m, layer, xg, state.h[l]!, m.c.cell === "lstm" ? state.c[l]! : null);
          next.h.push(tf.keep(r.h));
          if (r.c) next.c.push(tf.keep(r.c));
          x = r.h;
        }
        const logits = tf.add(tf.matMul(x, m.wo), m.bo) as T2;
        const drawn = tf.keep(tf.reshape(tf.multinomial(logits, 1), [1])) as tf.Tensor1D;
        return { next, drawn };
      });
      disposeState(state);
      id.dispose();
      state = out.next;
      id = out.drawn;
    }
    const v = id.dataSync()[0]!;
    id.dispose();
    disposeState(state);
    return v;
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { spec: { type: "string" } } });
  if (!values.spec) throw new Error("usage: tfjs-lm.js --spec '<json>'");
  const spec = JSON.parse(values.spec) as WorkerSpec;
  const c = spec.config;
  const variant = (spec.variant ?? "manual") as Variant;
  if (!VARIANTS.includes(variant)) throw new RangeError(`variant must be one of ${VARIANTS.join(", ")}, got ${JSON.stringify(variant)}`);
  if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: the wasm backend did not initialise");
  await tf.ready();
  const model = buildModel(c);
  const optimizer = tf.train.adam(c.lr, 0.9, 0.999, 1e-8);
  let step: (n: number) => number;
  let tokensFed = 0;
  if (c.task === "sample") {
    const sample = sampler(model);
    step = (n) => {
      tokensFed = c.T;
      return sample(n);
    };
  } else {
    const chunks = Math.max(1, Math.min(spec.warmup + spec.iterations, 64));
    const data = Array.from({ length: chunks }, (_, n) => {
      const d = chunkData(c, n);
      return { ids: tf.keep(tf.tensor1d(d.ids, "int32")), targets: tf.keep(tf.tensor1d(d.targets, "int32")) };
    });
    let state = zeroState(model, c.B);
    step = (n) => {
      const { ids, targets } = data[n % chunks]!;
      tokensFed = ids.size;
      const entering = c.task === "cls" ? zeroState(model, c.B) : state;
      const result = tf.tidy(() => {
        const r = variant === "manual" ? manualStep(model, ids, targets, entering) : autogradStep(model, ids, targets, entering, variant === "autograd-concat");
        const vars = model.variables;
        const clipped = clipByGlobalNorm(vars.map((v) => r.grads.get(v)!), c.clipNorm);
        optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: clipped[i]! })));
        for (const t of [...r.next.h, ...r.next.c]) tf.keep(t);
        return { loss: r.loss, next: r.next };
      });
      const loss = result.loss.dataSync()[0]!;
      result.loss.dispose();
      if (c.task === "cls") {
        disposeState(entering);
        disposeState(result.next);
      } else {
        disposeState(state);
        state = result.next;
      }
      return loss;
    };
  }
  const run = await timeIterations(spec, step, { memory: false });
  const flags = tf.env();
  const result: WorkerResult = {
    system: "tfjs",
    config: c.name,
    threads: wasm.getThreadsCount(),
    warmup: run.warmup,
    iterations: run.iterations,
    stepMs: run.stepMs,
    medianStepMs: run.medianStepMs,
    tokensPerSec: c.tokensPerIteration / (run.medianStepMs / 1000),
    tokensFed,
    budgetLimited: run.budgetLimited,
    cpuPerWall: run.cpuPerWall,
    env: {
      tfjs: tf.version.tfjs,
      backend: tf.getBackend(),
      wasm: wasm.version_wasm,
      simd: flags.getBool("WASM_HAS_SIMD_SUPPORT"),
      multithread: flags.getBool("WASM_HAS_MULTITHREAD_SUPPORT"),
      threads: wasm.getThreadsCount(),
      variant,
      tensorsAfter: tf.memory().numTensors,
    },
    ...(c.task !== "sample" ? { firstLoss: run.first, lastLoss: run.last } : {}),
    note: `formulation ${variant}`,
  };
  emitResult(RESULT_PREFIX, result);
}

main().catch((error: unknown) => {
  process.stderr.write(`tfjs-lm: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
