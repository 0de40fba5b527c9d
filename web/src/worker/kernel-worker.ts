/**
 * A kernel thread: the library's own Web Worker entry (it waits for its KernelWorkerInit, then serves
 * GEMM blocks through shared memory). Its own file so that the bundler emits it as a worker chunk.
 */
import "bptt/kernel-worker";
