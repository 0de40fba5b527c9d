"""torch.mm GFLOP/s on the GEMM shapes of bench/gemm.ts, the peer of bptt's native GEMM.

    /usr/bin/python3 bench/peers/torch_mm.py THREADS [SAMPLES]

For each shape: C += op(A)·op(B) (torch.addmm into a preallocated C, as bptt accumulates), timed in
samples of several calls; prints the median GFLOP/s = 2·M·N·K / time by wall clock, one line per
shape, in the order and with the labels of bench/gemm.ts. PyTorch must be importable (Debian:
python3-torch with libopenblas0-openmp); nothing is installed or downloaded.
"""

import statistics
import sys
import time

import torch

SHAPES = [
    ("NT h·W_hhᵀ (32×256)·(256×1024)ᵀ", False, True, 32, 1024, 256),
    ("NT h·W_hhᵀ (64×512)·(512×2048)ᵀ", False, True, 64, 2048, 512),
    ("NT x·W_ihᵀ (1120×256)·(256×1024)ᵀ", False, True, 1120, 1024, 256),
    ("NN dh (32×1024)·(1024×256)", False, False, 32, 256, 1024),
    ("NN dx (1120×1024)·(1024×256)", False, False, 1120, 256, 1024),
    ("TN dW (1024×1120)·(1120×256)", True, False, 1024, 256, 1120),
    ("TN dW (2048×2240)·(2240×512)", True, False, 2048, 512, 2240),
]


def main():
    threads = int(sys.argv[1])
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); GFLOP/s, median of {samples} samples (wall clock)")
    for label, trans_a, trans_b, M, N, K in SHAPES:
        a = torch.rand(K, M) if trans_a else torch.rand(M, K)
        b = torch.rand(N, K) if trans_b else torch.rand(K, N)
        c = torch.rand(M, N)
        op_a = a.t() if trans_a else a
        op_b = b.t() if trans_b else b
        flops = 2 * M * N * K
        reps = max(1, round(2e7 / flops))
        torch.addmm(c, op_a, op_b, out=c)
        rates = []
        for _ in range(samples):
            t0 = time.perf_counter()
            for _ in range(reps):
                torch.addmm(c, op_a, op_b, out=c)
            rates.append(flops * reps / (time.perf_counter() - t0) / 1e9)
        print(f"{label:<38} {statistics.median(rates):8.2f}")


main()
