/**
 * How many cores this process actually gets: 1 and 2 worker threads each run a busy loop for 1.5 s;
 * the process's CPU time over wall time is the number of cores it was given. On an idle 2-core
 * machine the answer is ~1 and ~2; anything less bounds every multi-thread speed-up measured next to it.
 *
 *   npm run build && node dist/bench/cores.js
 */
import { Worker } from "node:worker_threads";

const BUSY = `
const until = Date.now() + 1500;
let x = 0;
while (Date.now() < until) for (let i = 0; i < 1e5; i++) x += Math.sqrt(i);
require("node:worker_threads").parentPort.postMessage(x);
`;

for (const threads of [1, 2]) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: threads }, () => new Promise((resolve) => new Worker(BUSY, { eval: true }).once("message", resolve))));
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  console.log(`${threads} busy thread${threads === 1 ? "" : "s"}: ${((cpu.user + cpu.system) / 1000 / wall).toFixed(2)} cores (CPU time / wall time)`);
}
