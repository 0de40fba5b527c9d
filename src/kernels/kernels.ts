/**
 * The kernel interface: every floating-point loop in bptt's cells, layers and losses runs behind it.
 *
 * A backend (the pure-TypeScript reference in `reference.ts`, WebAssembly SIMD in `wasm.ts`, the
 * native addon in src/native/) implements these few operations on whole batched blocks. The reference
 * is the specification: every other backend is tested against it. `KERNEL_TABLE` at the end describes
 * each kernel's arguments once, for the glue of the fast backends, which the build generates from it
 * (docs/kernels.md: adding a kernel).
 *
 * Conventions:
 * - Matrices are row-major blocks of a `Float32Array`, addressed by (array, offset, leading
 *   dimension), as in BLAS. `ld` is the distance between consecutive rows.
 * - `accumulate = true` adds into the output (C += …); false overwrites it (C = …).
 * - Arrays must come from `allocate` of the same backend (a fast backend may need them in its own memory).
 * - Gate blocks follow PyTorch: LSTM (i, f, g, o), GRU (r, z, n), each block H wide within a row.
 * - `mask` is a (B) slice of 0/1 floats for the current step, or null when every row is valid. A row
 *   with mask 0 is a sequence that has ended (or not begun): its state is carried unchanged, its
 *   output is 0, and it passes no gradient through the cell.
 *
 * Legend: B = batch rows, H = hidden size, M×K · K×N = M×N.
 */
export interface Kernels extends KernelCalls {
  readonly name: string;

  /** A zero-filled array this backend can compute on. */
  allocate(length: number): Float32Array;

  /** A zero-filled integer array this backend can compute on (class targets). */
  allocateIndices(length: number): Int32Array;

  // What a backend may say about itself, and its threads; the reference has none of these.

  /** One line for people, e.g. "wasm-simd (shared memory, up to 4096 MiB; 2 threads)" (absent: `name`). */
  readonly description?: string;
  /** Threads that large GEMMs run on, the calling one included (absent: 1). Results do not depend on it. */
  readonly threads?: number;
  /** Runs large GEMMs on `n` threads from now on (RangeError unless n is a positive integer). */
  setThreads?(n: number): void;
  /** Resolves with `threads` once every worker thread has started (or failed to). */
  threadsReady?(): Promise<number>;
  /** Bytes of the backend's own memory handed out so far (where arrays must live in it). */
  memoryInUse?(): number;
  /** Kernel calls so far that ran on copies of arrays outside the backend's memory, or on the reference. */
  slowCalls?(): { copied: number; reference: number };
  /**
   * Turns the backend's own timing on or off (profile.ts) and returns its counters so far:
   * [0] nanoseconds the calling thread spent waiting for its other threads.
   */
  profileCounters?(enable: boolean): Float64Array;
}

/** The kernels themselves: the operations every backend implements, each with its line in KERNEL_TABLE. */
export interface KernelCalls {
  /**
   * C[M,N] = op(A)[M,K] · op(B)[K,N]  (+ C when accumulate), op(X) = X or Xᵀ.
   * A is stored (M,K) with lda ≥ K, or (K,M) with lda ≥ M when transA; likewise B.
   */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    A: Float32Array, aOffset: number, lda: number,
    B: Float32Array, bOffset: number, ldb: number,
    accumulate: boolean,
    C: Float32Array, cOffset: number, ldc: number,
  ): void;

  /** C[m, :] += bias[:] for m < M (C is (M,N), contiguous rows). */
  addRowVector(M: number, N: number, C: Float32Array, cOffset: number, bias: Float32Array, biasOffset: number): void;

  /** Σ_i (a[i] + b[i])² over n elements (b may be null), accumulated in float64: a squared norm for diagnostics. */
  sumSquares(n: number, a: Float32Array, aOffset: number, b: Float32Array | null, bOffset: number): number;

  /** out[n] += Σ_m A[m, n] (A is (M,N), contiguous rows): the gradient of a broadcast bias. */
  sumRowsInto(M: number, N: number, A: Float32Array, aOffset: number, out: Float32Array, outOffset: number): void;

  /**
   * Row gather, the embedding lookup: out[r, :] = table[ids[r], :] for r < N; table (V, D) and out
   * (N, D) are contiguous rows. Every id must lie in [0, V): RangeError otherwise, before any write.
   */
  gatherRows(
    N: number, D: number, V: number,
    table: Float32Array, tableOffset: number,
    ids: Int32Array, idsOffset: number,
    out: Float32Array, outOffset: number,
  ): void;

  /**
   * Row scatter-add, the embedding gradient: table[ids[r], :] += src[r, :] for r = 0 … N−1 in that
   * order (one float32 add per element, so every backend gives the same bits), skipping the rows whose
   * id is skipId (−1: none). Every id must lie in [0, V): RangeError otherwise, before any write.
   */
  scatterAddRows(
    N: number, D: number, V: number,
    src: Float32Array, srcOffset: number,
    ids: Int32Array, idsOffset: number, skipId: number,
    table: Float32Array, tableOffset: number,
  ): void;

  /**
   * Vanilla RNN step, forward. pre: (B,H) pre-activations W_ih·x + b_ih + W_hh·h + b_hh.
   *   h = act(pre) where mask = 1, h = hPrev where mask = 0;  out = mask·h.
   */
  rnnStepForward(
    B: number, H: number, relu: boolean,
    pre: Float32Array, preOffset: number,
    hPrev: Float32Array, hPrevOffset: number,
    mask: Float32Array | null, maskOffset: number,
    h: Float32Array, hOffset: number,
    out: Float32Array, outOffset: number,
  ): void;

  /**
   * Vanilla RNN step, backward. On entry dh holds dL/dh_t from later steps; dOut (B,H) is dL/d out_t.
   *   g = dh + mask·dOut;  dPre = mask·g·act'(h);  on exit dh = (1 − mask)·g
   * (the caller then adds dPre·W_hh to dh to obtain dL/dh_{t−1}). h is the step's state.
   */
  rnnStepBackward(
    B: number, H: number, relu: boolean,
    h: Float32Array, hOffset: number,
    dOut: Float32Array, dOutOffset: number,
    mask: Float32Array | null, maskOffset: number,
    dh: Float32Array, dhOffset: number,
    dPre: Float32Array, dPreOffset: number,
  ): void;

  /**
   * LSTM step, forward. gates: (B,4H) pre-activations, overwritten with the activations
   * i = σ, f = σ, g = tanh, o = σ.  c = f⊙cPrev + i⊙g,  h = o⊙tanh(c) (masked rows carry cPrev, hPrev);
   * out = mask·h. With peephole weights p = (p_i, p_f, p_o), (3H) (Gers & Schmidhuber 2000), the gates
   * also see the cell state: i = σ(pre_i + p_i⊙cPrev), f = σ(pre_f + p_f⊙cPrev), o = σ(pre_o + p_o⊙c̃)
   * with c̃ = f⊙cPrev + i⊙g the new state (computed on masked rows too, for their gates); null: none.
   */
  lstmStepForward(
    B: number, H: number,
    gates: Float32Array, gatesOffset: number,
    peephole: Float32Array | null, peepholeOffset: number,
    cPrev: Float32Array, cPrevOffset: number,
    hPrev: Float32Array, hPrevOffset: number,
    mask: Float32Array | null, maskOffset: number,
    c: Float32Array, cOffset: number,
    h: Float32Array, hOffset: number,
    out: Float32Array, outOffset: number,
  ): void;

  /**
   * LSTM step, backward. gates: the activations (i, f, g, o) saved by forward; cPrev, c: the cell
   * states before and after the step. On entry dh, dc hold dL/dh_t, dL/dc_t from later steps and dOut
   * is dL/d out_t. On valid rows, with δh = dh + dOut:
   *   δo = δh⊙tanh(c)⊙o(1−o)
   *   δc = dc + δh⊙o⊙(1 − tanh²c)  [+ δo⊙p_o with peepholes]
   *   dGates = (δc⊙g⊙i(1−i),  δc⊙cPrev⊙f(1−f),  δc⊙i⊙(1−g²),  δo)   (pre-activations)
   *   on exit dc = δc⊙f [+ δi⊙p_i + δf⊙p_f] and dh = 0 (the caller adds dGates·W_hh to obtain dL/dh_{t−1});
   *   with peepholes and dPeephole: dPeephole += (δi⊙cPrev, δf⊙cPrev, δo⊙c), row after row (b = 0 … B−1).
   * Masked rows keep dh and dc, get dGates = 0 and add nothing to dPeephole.
   */
  lstmStepBackward(
    B: number, H: number,
    gates: Float32Array, gatesOffset: number,
    peephole: Float32Array | null, peepholeOffset: number,
    cPrev: Float32Array, cPrevOffset: number,
    c: Float32Array, cOffset: number,
    dOut: Float32Array, dOutOffset: number,
    mask: Float32Array | null, maskOffset: number,
    dh: Float32Array, dhOffset: number,
    dc: Float32Array, dcOffset: number,
    dGates: Float32Array, dGatesOffset: number,
    dPeephole: Float32Array | null, dPeepholeOffset: number,
  ): void;

  /**
   * GRU step, forward (PyTorch's form). xGates: (B,3H) = W_ih·x + b_ih, overwritten with the
   * activations r, z, n. hGates: (B,3H) = W_hh·hPrev + b_hh, kept (its n block is needed by backward).
   *   r = σ(x_r + h_r),  z = σ(x_z + h_z),  n = tanh(x_n + r⊙h_n),  h = (1 − z)⊙n + z⊙hPrev;
   * masked rows carry hPrev; out = mask·h.
   */
  gruStepForward(
    B: number, H: number,
    xGates: Float32Array, xGatesOffset: number,
    hGates: Float32Array, hGatesOffset: number,
    hPrev: Float32Array, hPrevOffset: number,
    mask: Float32Array | null, maskOffset: number,
    h: Float32Array, hOffset: number,
    out: Float32Array, outOffset: number,
  ): void;

  /**
   * GRU step, backward. gates: the (r, z, n) activations saved by forward; hGates: W_hh·hPrev + b_hh.
   * On entry dh is dL/dh_t from later steps. With g = dh + dOut on valid rows it writes
   *   dXGates = dL/d(x_r, x_z, x_n),  dHGates = dL/d(h_r, h_z, h_n)  (dh_n = dx_n ⊙ r),
   * and on exit dh = g⊙z on valid rows (the caller adds dHGates·W_hh); masked rows keep dh and get zeros.
   */
  gruStepBackward(
    B: number, H: number,
    gates: Float32Array, gatesOffset: number,
    hGates: Float32Array, hGatesOffset: number,
    hPrev: Float32Array, hPrevOffset: number,
    dOut: Float32Array, dOutOffset: number,
    mask: Float32Array | null, maskOffset: number,
    dh: Float32Array, dhOffset: number,
    dXGates: Float32Array, dXGatesOffset: number,
    dHGates: Float32Array, dHGatesOffset: number,
  ): void;

  /**
   * Softmax cross-entropy of N rows of C logits against class targets, loss and gradient in one pass
   * per row (z = logits row r, t = targets[r], w = weights[r] or 1 without weights):
   *   rows with t = ignoreIndex or w = 0 are skipped (their dLogits row is 0);
   *   ℓ_r = logsumexp(z) − z[t],  logsumexp(z) = m + log Σ_j exp(z_j − m),  m = max_j z
   *   loss = Σ_r w·ℓ_r (float64),  hits = #{r : argmax z = t} (the first maximum wins ties)
   *   dLogits[r, j] = scale·w·(softmax(z)[j] − [j = t])   (overwritten; dLogits null: loss only)
   * logits, dLogits: (N, C) contiguous rows; targets, weights: (N). Every target must be a class in
   * [0, C) or ignoreIndex (RangeError otherwise). A row whose maximum is ±∞ or NaN gives
   * logsumexp = m, as the float64 formula does.
   */
  softmaxCrossEntropy(
    N: number, C: number,
    logits: Float32Array, logitsOffset: number,
    targets: Int32Array, targetsOffset: number,
    weights: Float32Array | null, weightsOffset: number,
    ignoreIndex: number, scale: number,
    dLogits: Float32Array | null, dLogitsOffset: number,
  ): SoftmaxCrossEntropySums;

  /**
   * One Adam/AdamW update of n elements, in float64 per element (each array rounded to float32 once):
   *   p = θ·shrink,  g = grad + l2·p,  m = β1·m + (1 − β1)·g,  v = β2·v + (1 − β2)·g·g
   *   v̂ = max(vMax, v) (vMax = v̂ when vMax is given, else v̂ = v)
   *   θ = p − stepSize·m / (√v̂ / biasCorrection2Sqrt + eps)
   * The caller computes stepSize = lr / (1 − β1ᵗ), biasCorrection2Sqrt = √(1 − β2ᵗ), and chooses
   * Adam (l2 = weightDecay, shrink = 1) or AdamW (l2 = 0, shrink = 1 − lr·weightDecay).
   * The arithmetic is fixed operation by operation, so every backend gives the same bits.
   */
  adamStep(
    n: number,
    theta: Float32Array, thetaOffset: number,
    grad: Float32Array, gradOffset: number,
    m: Float32Array, mOffset: number,
    v: Float32Array, vOffset: number,
    vMax: Float32Array | null, vMaxOffset: number,
    beta1: number, beta2: number, eps: number, stepSize: number, biasCorrection2Sqrt: number, l2: number, shrink: number,
  ): void;
}

/** What `softmaxCrossEntropy` returns. */
export interface SoftmaxCrossEntropySums {
  /** Σ_r w_r·ℓ_r over the rows not skipped. */
  loss: number;
  /** Rows not skipped whose largest logit is their target. */
  hits: number;
}

/**
 * The kernel table: every kernel of `KernelCalls`, its arguments in the same order, with what the fast
 * backends' glue must know of each. scripts/build-glue.mjs generates from it the wasm-simd marshalling
 * (wasm-calls.generated.ts) and the native addon's N-API functions (native/src/*.generated.h): each
 * array's extent is checked against the array before a pointer reaches wasm or C (RangeError naming the
 * argument), and its direction says what wasm-simd copies in and out for an array outside its memory.
 * The generated TypeScript fails to compile where a line and its signature above differ.
 *
 *   name                         a size: a non-negative integer
 *   name: flag                   a boolean (0/1 to wasm and C)
 *   name: f64                    any number
 *   name: i32                    a number compared with int32 values (wasm-simd runs the reference when it is not one)
 *   name: in f32[n]              a Float32Array, then its offset (nameOffset): n elements from there, only read
 *   name: out f32?[n]            written only (inout: read and written); `?`: or null
 *   name: in f32[r, c; ld]       an r × c block with row stride ld, an argument after the offset (ld ≥ c)
 *   name: rows[n] < V            an Int32Array, then its offset: n row indices, each in [0, V)
 *   name: classes[n] < C or x    n class indices, each in [0, C) or equal to the i32 argument x
 *   (…) -> f64                   the result: a number, or SoftmaxCrossEntropySums (none: void)
 * Extents are expressions of sizes and flags: integers, names, *, + and flag ? a : b.
 * The build reads this text before it compiles TypeScript: keep it a plain template literal.
 */
export const KERNEL_TABLE = `
gemm(transA: flag, transB: flag, M, N, K,
  A: in f32[transA ? K : M, transA ? M : K; lda], B: in f32[transB ? N : K, transB ? K : N; ldb],
  accumulate: flag, C: inout f32[M, N; ldc])
addRowVector(M, N, C: inout f32[M * N], bias: in f32[N])
sumSquares(n, a: in f32[n], b: in f32?[n]) -> f64
sumRowsInto(M, N, A: in f32[M * N], out: inout f32[N])
gatherRows(N, D, V, table: in f32[V * D], ids: rows[N] < V, out: out f32[N * D])
scatterAddRows(N, D, V, src: in f32[N * D], ids: rows[N] < V, skipId: i32, table: inout f32[V * D])
rnnStepForward(B, H, relu: flag,
  pre: in f32[B * H], hPrev: in f32[B * H], mask: in f32?[B], h: out f32[B * H], out: out f32[B * H])
rnnStepBackward(B, H, relu: flag,
  h: in f32[B * H], dOut: in f32[B * H], mask: in f32?[B], dh: inout f32[B * H], dPre: out f32[B * H])
lstmStepForward(B, H, gates: inout f32[4 * B * H], peephole: in f32?[3 * H], cPrev: in f32[B * H],
  hPrev: in f32[B * H], mask: in f32?[B], c: out f32[B * H], h: out f32[B * H], out: out f32[B * H])
lstmStepBackward(B, H, gates: in f32[4 * B * H], peephole: in f32?[3 * H], cPrev: in f32[B * H], c: in f32[B * H],
  dOut: in f32[B * H], mask: in f32?[B], dh: inout f32[B * H], dc: inout f32[B * H], dGates: out f32[4 * B * H],
  dPeephole: inout f32?[3 * H])
gruStepForward(B, H, xGates: inout f32[3 * B * H], hGates: in f32[3 * B * H], hPrev: in f32[B * H],
  mask: in f32?[B], h: out f32[B * H], out: out f32[B * H])
gruStepBackward(B, H, gates: in f32[3 * B * H], hGates: in f32[3 * B * H], hPrev: in f32[B * H],
  dOut: in f32[B * H], mask: in f32?[B], dh: inout f32[B * H], dXGates: out f32[3 * B * H],
  dHGates: out f32[3 * B * H])
softmaxCrossEntropy(N, C, logits: in f32[N * C], targets: classes[N] < C or ignoreIndex,
  weights: in f32?[N], ignoreIndex: i32, scale: f64, dLogits: out f32?[N * C]) -> SoftmaxCrossEntropySums
adamStep(n, theta: inout f32[n], grad: in f32[n], m: inout f32[n], v: inout f32[n], vMax: inout f32?[n],
  beta1: f64, beta2: f64, eps: f64, stepSize: f64, biasCorrection2Sqrt: f64, l2: f64, shrink: f64)
`;
