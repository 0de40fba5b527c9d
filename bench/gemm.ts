/**
 * GEMM and cell-step throughput, reference vs wasm-simd vs native (when its addon is built), on the
 * shapes a recurrent network runs:
 *
 *   npm run build && node dist/bench/gemm.js [--runs 15] [--only NT] [--no-reference] [--threads 1,2]
 *
 * Shapes (B = 32 or 64 sequences, H = 256 or 512, T·B = 1120 rows, LSTM: 4H gates):
 *   NT  h·W_hhᵀ per step      (32×256)·(256×1024)ᵀ, (64×512)·(512×2048)ᵀ
 *   NT  x·W_ihᵀ, all steps    (1120×256)·(256×1024)ᵀ
 *   NN  dh += dGates·W_hh     (32×1024)·(1024×256)
 *   NN  dx = dGates·W_ih      (1120×1024)·(1024×256)
 *   TN  dW += dGatesᵀ·x       (1024×1120)·(1120×256), (2048×2240)·(2240×512)
 * Each sample is one call (several for tiny ones); the table gives the median over the samples of
 * GFLOP/s = 2·M·N·K / time, by wall clock and by the process's CPU time. On a shared machine the
 * wall clock also counts time the process spent descheduled; CPU time does not (it still counts cache
 * and core sharing), so it is the better estimate of what one core does.
 *
 * --threads 1,2 compares wasm-simd and native on those thread counts instead (no reference): GFLOP/s by
 * wall clock (CPU time then sums the threads), and the speed-up of the last count over the first.
 * The native peer is torch.mm at the same thread count: /usr/bin/python3 bench/peers/torch_mm.py THREADS.
 */
import { parseArgs } from "node:util";
import { type Kernels, createWasmKernelsSync, referenceKernels } from "../src/kernels/index.js";
import { nodeThreadSpawner } from "../src/io/worker-threads.js";
import { type NativeKernels, createNativeKernels } from "../src/native/index.js";
import { Rng } from "../src/tensor/rng.js";

const USAGE = `usage: node dist/bench/gemm.js [options]
  --runs n          samples per shape (default 15)
  --only NT|NN|TN   only the shapes of that transpose combination
  --no-reference    skip the (slow) TypeScript reference backend
  --threads a,b     wasm-simd and native on these thread counts, and the speed-up of the last over the first`;

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "15" },
    only: { type: "string", default: "" },
    "no-reference": { type: "boolean", default: false },
    threads: { type: "string", default: "" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const runs = Number(values.runs);

interface Shape {
  label: string;
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
}

const SHAPES: Shape[] = [
  { label: "NT h·W_hhᵀ (32×256)·(256×1024)ᵀ", transA: false, transB: true, M: 32, N: 1024, K: 256 },
  { label: "NT h·W_hhᵀ (64×512)·(512×2048)ᵀ", transA: false, transB: true, M: 64, N: 2048, K: 512 },
  { label: "NT x·W_ihᵀ (1120×256)·(256×1024)ᵀ", transA: false, transB: true, M: 1120, N: 1024, K: 256 },
  { label: "NN dh (32×1024)·(1024×256)", transA: false, transB: false, M: 32, N: 256, K: 1024 },
  { label: "NN dx (1120×1024)·(1024×256)", transA: false, transB: false, M: 1120, N: 256, K: 1024 },
  { label: "TN dW (1024×1120)·(1120×256)", transA: true, transB: false, M: 1024, N: 256, K: 1120 },
  { label: "TN dW (2048×2240)·(2240×512)", transA: true, transB: false, M: 2048, N: 512, K: 2240 },
];

interface Timing {
  wall: number;
  cpu: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Median wall and CPU milliseconds per call of `body`, over `samples` samples of `reps` calls. */
function time(body: () => void, samples: number, reps: number): Timing {
  body(); // warm-up (and tier-up of the wasm code)
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let s = 0; s < samples; s++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) body();
    const dt = performance.now() - t0;
    const dc = process.cpuUsage(c0);
    wall.push(dt / reps);
    cpu.push((dc.user + dc.system) / 1000 / reps);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

function random(k: Kernels, n: number, rng: Rng): Float32Array {
  const a = k.allocate(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

const threadCounts = values.threads ? values.threads.split(",").map(Number) : [];
const wasm = createWasmKernelsSync({ threads: 1 });
let native: NativeKernels | null = null;
try {
  native = createNativeKernels({ threads: 1 });
} catch (error) {
  console.log(`(${(error as Error).message})`);
}
/** The addon is one per process: a native column sets its thread count before it is timed. */
const nativeThreads = new Map<Kernels, number>();
let backends: Kernels[] = [...(values["no-reference"] ? [] : [referenceKernels]), wasm, ...(native ? [native] : [])];
if (native) nativeThreads.set(native, 1);
if (threadCounts.length > 0) {
  backends = [];
  for (const threads of threadCounts) {
    const k = createWasmKernelsSync({ threads, spawner: nodeThreadSpawner });
    await k.threadsReady();
    backends.push({ ...k, name: `wasm-simd ×${k.threads}` });
  }
  for (const threads of threadCounts) {
    if (!native) break;
    const column: Kernels = { ...native, name: `native ×${threads}` };
    nativeThreads.set(column, threads);
    backends.push(column);
  }
}
const byWall = threadCounts.length > 0;
const rng = new Rng(1);

console.log(`GEMM GFLOP/s, median of ${runs} samples (wall clock / CPU time); wasm-simd = ${wasm.description}${native ? `; native = ${native.description}` : ""}`);
console.log(`${"shape".padEnd(38)} ${backends.map((k) => k.name.padStart(22)).join(" ")}  speed-up (${byWall ? "wall" : "CPU"})`);
for (const s of SHAPES.filter((x) => x.label.includes(values.only!))) {
  const flops = 2 * s.M * s.N * s.K;
  const cells: string[] = [];
  const cpuTimes: number[] = [];
  for (const k of backends) {
    const threads = nativeThreads.get(k);
    if (threads !== undefined) native!.setThreads(threads);
    const A = random(k, s.M * s.K, rng);
    const B = random(k, s.K * s.N, rng);
    const C = k.allocate(s.M * s.N);
    const lda = s.transA ? s.M : s.K;
    const ldb = s.transB ? s.K : s.N;
    const call = (): void => k.gemm(s.transA, s.transB, s.M, s.N, s.K, A, 0, lda, B, 0, ldb, true, C, 0, s.N);
    // The reference is ~50× slower: fewer samples, one call each.
    const isReference = k === referenceKernels;
    const reps = isReference ? 1 : Math.max(1, Math.round(2e7 / flops));
    const t = time(call, isReference ? Math.min(runs, 3) : runs, reps);
    cpuTimes.push(byWall ? t.wall : t.cpu);
    cells.push(`${(flops / t.wall / 1e6).toFixed(2).padStart(8)} / ${(flops / t.cpu / 1e6).toFixed(2).padStart(6)}`.padStart(22));
  }
  const ratio = cpuTimes[0]! / cpuTimes[cpuTimes.length - 1]!;
  const speedUp = cpuTimes.length >= 2 ? `${ratio.toFixed(byWall ? 2 : 0)}×` : "";
  console.log(`${s.label.padEnd(38)} ${cells.join(" ")}  ${speedUp.padStart(8)}`);
}

// The fused LSTM step at B = 32, H = 256 (8192 cells: 4 gates, σ/tanh, state update).
if (!byWall && (values.only === "" || "lstm step".includes(values.only!))) {
  const B = 32;
  const H = 256;
  console.log(`\nLSTM step kernels, B=${B} H=${H}: microseconds per call (median, CPU time)`);
  if (native) native.setThreads(1);
  for (const k of backends) {
    const gates = random(k, 4 * B * H, rng);
    const saved = gates.slice();
    const [cPrev, hPrev, c, h, out, dOut, dh, dc] = Array.from({ length: 8 }, () => random(k, B * H, rng));
    const dGates = k.allocate(4 * B * H);
    const forward = time(() => {
      gates.set(saved);
      k.lstmStepForward(B, H, gates, 0, null, 0, cPrev!, 0, hPrev!, 0, null, 0, c!, 0, h!, 0, out!, 0);
    }, runs, 20);
    const backward = time(() => k.lstmStepBackward(B, H, gates, 0, null, 0, cPrev!, 0, c!, 0, dOut!, 0, null, 0, dh!, 0, dc!, 0, dGates, 0, null, 0), runs, 20);
    console.log(`  ${k.name.padEnd(10)} forward ${(forward.cpu * 1000).toFixed(1).padStart(7)}   backward ${(backward.cpu * 1000).toFixed(1).padStart(7)}`);
  }
}
