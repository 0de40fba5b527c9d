"""PyTorch peer of the bptt benchmark (bench/run.ts): the same model, data and update as bptt.

    PYTHON bench/peers/pytorch_lm.py CONFIG THREADS ITERATIONS [--warmup N] [--budget SECONDS] [--system ID]
        [--layout packed|padded]

CONFIG is a configuration name (tiny, small, medium, large, cls, small-gru, medium-gru, small-rnn,
medium-rnn, sample) or the configuration as a JSON object (what the harness passes, from
bench/configs.ts, which is authoritative). Prints one line "BENCH_RESULT {json}" on stdout.

It installs nothing and downloads nothing. PyTorch must already be importable. Two are used:
PyTorch 2 (MKL + oneDNN) from the virtual environment .peers (`npm run peers` creates it:
python3 -m venv .peers && .peers/bin/pip install torch numpy), run with .peers/bin/python; and Debian's
1.13 (`apt-get install python3-torch libopenblas0-openmp`: Debian's build uses the system BLAS through
libblas.so.3, which libopenblas0-openmp provides), run with /usr/bin/python3. Without torch it prints
"PyTorch skipped: ..." on stderr and exits with status 3, which the harness reports.

After the warm-up, one more (untimed) update runs under torch.profiler to record which oneDNN
(mkldnn) operators PyTorch dispatched to: env.onednn lists them (PyTorch 2 runs nn.LSTM on oneDNN's
RNN primitive on the CPU; GRU and RNN have no such path).

Model: nn.Embedding(V, H) -> nn.LSTM / nn.GRU / nn.RNN(tanh)(H, H, L), time-major -> nn.Linear(H, O),
CrossEntropyLoss (mean), Adam(lr), clip_grad_norm_(5).
  lm      TBPTT with k1 = k2 = T: the state is carried from chunk to chunk and detached, one update per
          chunk, loss at every step.
  cls     many-to-one: a fresh batch of sequences each update (zero state), loss at the last step.
  sample  1000 tokens one at a time from the untrained small model (B = 1, no_grad), each drawn with
          torch.multinomial from softmax(logits) and fed back.
  ragged  many-to-one over texts of real lengths (config["lengths"]), one timed iteration an epoch:
          per batch, nn.utils.rnn.pack_padded_sequence (enforce_sorted=False) so that only real tokens
          are computed, the loss on h_n of the top layer (each text's last real token). Full BPTT; with
          config["k2"], TBPTT(inf, k2): each text's prefix runs packed under no_grad, then its last k2
          tokens packed from that state with the gradient. ragged-eval: the packed forward, no_grad.
          With --layout padded (full BPTT and ragged-eval only): the padded batch as it is, through
          oneDNN's LSTM, each text's output read at its last real token — what a user does who does not
          pack, and on the CPU far faster than packing for long texts: PyTorch's packed LSTM backward
          takes seconds per thousand steps of its longest row.
Data: the same hash of the token index as bench/configs.ts, so every system sees the same ids.
"""

import json
import statistics
import sys
import time

CONFIGS = {
    # name: (task, cell, B, T, H, L, V, classes)
    "tiny": ("lm", "lstm", 16, 25, 32, 1, 65, None),
    "small": ("lm", "lstm", 32, 50, 128, 1, 65, None),
    "medium": ("lm", "lstm", 32, 35, 256, 2, 1000, None),
    "large": ("lm", "lstm", 64, 35, 512, 2, 1000, None),
    "cls": ("cls", "lstm", 32, 100, 128, 1, 5000, 2),
    "small-gru": ("lm", "gru", 32, 50, 128, 1, 65, None),
    "medium-gru": ("lm", "gru", 32, 35, 256, 2, 1000, None),
    "small-rnn": ("lm", "rnn", 32, 50, 128, 1, 65, None),
    "medium-rnn": ("lm", "rnn", 32, 35, 256, 2, 1000, None),
    "sample": ("sample", "lstm", 1, 1000, 128, 1, 65, None),
}

PREFIX = "BENCH_RESULT "
SKIP_MESSAGE = (
    "PyTorch skipped: install Debian's python3-torch and libopenblas0-openmp "
    "(apt-get install python3-torch libopenblas0-openmp)"
)


def parse_config(text):
    if text.lstrip().startswith("{"):
        return json.loads(text)
    if text not in CONFIGS:
        raise SystemExit(f"unknown configuration {text!r}: expected one of {', '.join(CONFIGS)}")
    task, cell, B, T, H, L, V, classes = CONFIGS[text]
    c = dict(name=text, task=task, cell=cell, B=B, T=T, H=H, L=L, V=V, lr=1e-3, clipNorm=5, seed=1234,
             tokensPerIteration=B * T)
    if classes is not None:
        c["classes"] = classes
    return c


def tokens(np, start, count, seed, V):
    """hash32(k + seed * 0x9E3779B9) mod V for k in [start, start + count): bench/configs.ts's token()."""
    k = np.arange(start, start + count, dtype=np.uint64)
    x = ((k + np.uint64((seed * 0x9E3779B9) & 0xFFFFFFFF)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return (x % np.uint32(V)).astype(np.int64)


def chunk_data(np, c, n):
    B, T, V, seed = c["B"], c["T"], c["V"], c["seed"]
    if c["task"] == "cls":
        ids = tokens(np, n * T * B, T * B, seed + 1, V).reshape(T, B)
        labels = tokens(np, n * B, B, seed + 2, c["classes"])
        return ids, labels
    ids = tokens(np, n * T * B, T * B, seed, V).reshape(T, B)
    targets = tokens(np, n * T * B + B, T * B, seed, V).reshape(T, B)
    return ids, targets


def blas_info(torch):
    """What torch says about its BLAS, and which BLAS library the process actually mapped."""
    show = torch.__config__.show()
    lines = [l.strip() for l in show.splitlines() if any(w in l for w in ("BLAS", "LAPACK", "MKL", "OpenMP"))]
    info = {"config": lines}
    settings = [s for s in show.split(",") if "BLAS_INFO" in s or "LAPACK_INFO" in s]
    info["settings"] = [s.strip().split("Build settings: ")[-1] for s in settings]
    mapped = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                if any(w in path for w in ("blas", "lapack", "mkl", "gomp", "omp.so")):
                    mapped.add(path)
    except OSError:
        pass
    info["loaded"] = sorted(mapped)
    return info


def onednn_operators(torch, step, n):
    """The oneDNN (mkldnn) operators one step dispatches to, from the profiler; [] when none ran."""
    try:
        from torch.profiler import ProfilerActivity, profile
    except ImportError:
        return None
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(n)
    names = {e.key for e in prof.key_averages()}
    return sorted(k for k in names if k.startswith("aten::") and ("mkldnn" in k or "onednn" in k))


def ragged_batches(np, c):
    """bench/configs.ts's raggedBatches: (ids (T, B) padded with 0, lengths (B), labels (B)) per batch."""
    lengths, B = c["lengths"], c["B"]
    batches, offset = [], 0
    for first in range(0, len(lengths), B):
        rows = lengths[first:first + B]
        ids = np.zeros((max(rows), len(rows)), dtype=np.int64)
        for b, n in enumerate(rows):
            ids[:n, b] = tokens(np, offset, n, c["seed"], c["V"])
            offset += n
        labels = tokens(np, first, len(rows), c["seed"] + 2, c["classes"])
        batches.append((ids, np.array(rows, dtype=np.int64), labels))
    return batches


def ragged_step(torch, np, c, model, loss_fn, optimizer, params, zero_state, state, layout):
    """One epoch over the ragged texts, packed or padded: see the module docstring."""
    from torch.nn.utils.rnn import pack_padded_sequence

    data = [tuple(torch.from_numpy(a) for a in batch) for batch in ragged_batches(np, c)]
    real = int(sum(c["lengths"]))
    k2 = c.get("k2")

    def run(ids, lengths, hidden):
        """The packed stack over ids (T, B) from hidden; returns the top layer's h_n (B, H)."""
        if layout == "padded":
            out, h_n = model.rnn(model.embedding(ids), hidden)
            return out[lengths - 1, torch.arange(ids.shape[1])], h_n
        packed = pack_padded_sequence(model.embedding(ids), lengths, enforce_sorted=False)
        _, h_n = model.rnn(packed, hidden)
        return (h_n[0] if isinstance(h_n, tuple) else h_n)[-1], h_n

    def suffix(ids, lengths):
        """The last k2 tokens of every row, (k2', B) left-aligned, and their lengths."""
        n = torch.clamp(lengths, max=k2)
        start = lengths - n
        t = torch.arange(int(n.max())).unsqueeze(1)
        index = torch.clamp(start.unsqueeze(0) + t, max=ids.shape[0] - 1)
        return torch.gather(ids, 0, index), n, start

    def epoch(_n):
        total = 0.0
        state["fed"] = real
        if c["task"] == "ragged-eval":
            with torch.no_grad():
                for ids, lengths, labels in data:
                    h, _ = run(ids, lengths, zero_state(ids.shape[1]))
                    total += loss_fn(model.head(h), labels).item()
            return total / len(data)
        for ids, lengths, labels in data:
            optimizer.zero_grad(set_to_none=False)
            hidden = zero_state(ids.shape[1])
            if k2 is not None:
                tail, n, start = suffix(ids, lengths)
                with torch.no_grad():
                    has_prefix = start > 0
                    if bool(has_prefix.any()):
                        rows = torch.nonzero(has_prefix).squeeze(1)
                        _, h_n = run(ids[:, rows], start[rows], tuple(s[:, rows] for s in hidden) if isinstance(hidden, tuple) else hidden[:, rows])
                        if isinstance(hidden, tuple):
                            for s, p in zip(hidden, h_n):
                                s[:, rows] = p
                        else:
                            hidden[:, rows] = h_n
                h, _ = run(tail, n, hidden)
            else:
                h, _ = run(ids, lengths, hidden)
            loss = loss_fn(model.head(h), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, c["clipNorm"])
            optimizer.step()
            total += loss.item()
        return total / len(data)

    return epoch


def main():
    args = sys.argv[1:]
    warmup, budget, system, layout = 3, 10.0, None, "packed"
    positional = []
    i = 0
    while i < len(args):
        if args[i] == "--warmup":
            warmup = int(args[i + 1])
            i += 2
        elif args[i] == "--budget":
            budget = float(args[i + 1])
            i += 2
        elif args[i] == "--system":
            system = args[i + 1]
            i += 2
        elif args[i] == "--layout":
            layout = args[i + 1]
            i += 2
        else:
            positional.append(args[i])
            i += 1
    if len(positional) != 3:
        raise SystemExit(__doc__)
    c = parse_config(positional[0])
    threads = int(positional[1])
    iterations = int(positional[2])

    try:
        import numpy as np
        import torch
        import torch.nn as nn
    except ImportError as error:
        print(f"{SKIP_MESSAGE} [{error}]", file=sys.stderr)
        sys.exit(3)

    torch.set_num_threads(threads)
    torch.manual_seed(c["seed"])
    task, cell, B, T, H, L, V = c["task"], c["cell"], c["B"], c["T"], c["H"], c["L"], c["V"]
    O = c["classes"] if task in ("cls", "ragged", "ragged-eval") else V
    E = c.get("E", H)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(V, E)
            rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
            self.rnn = rnn(E, H, L)
            self.head = nn.Linear(H, O)

    model = Model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=c["lr"])
    params = list(model.parameters())
    clip = c["clipNorm"]

    def zero_state(batch):
        h = torch.zeros(L, batch, H)
        return (h, torch.zeros(L, batch, H)) if cell == "lstm" else h

    def detach(state):
        return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

    chunks = max(1, min(warmup + iterations, 64))
    if task in ("lm", "cls"):
        data = [tuple(torch.from_numpy(a) for a in chunk_data(np, c, n)) for n in range(chunks)]
    state = {"hidden": zero_state(B), "fed": 0}

    def train_step(n):
        ids, targets = data[n % chunks]
        state["fed"] = ids.numel()
        optimizer.zero_grad(set_to_none=False)
        if task == "cls":
            out, _ = model.rnn(model.embedding(ids), zero_state(B))
            loss = loss_fn(model.head(out[-1]), targets)
        else:
            out, hidden = model.rnn(model.embedding(ids), state["hidden"])
            state["hidden"] = detach(hidden)
            loss = loss_fn(model.head(out).view(T * B, O), targets.view(T * B))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        return loss.item()

    generator = torch.Generator().manual_seed(c["seed"])

    def sample_step(_n):
        with torch.no_grad():
            hidden = zero_state(1)
            x = torch.zeros(1, 1, dtype=torch.long)
            state["fed"] = T
            for _ in range(T):
                out, hidden = model.rnn(model.embedding(x), hidden)
                probs = torch.softmax(model.head(out[0]), dim=-1)
                x = torch.multinomial(probs, 1, generator=generator)
            return int(x.item())

    step = sample_step if task == "sample" else train_step
    if task in ("ragged", "ragged-eval"):
        if layout == "padded" and c.get("k2") is not None:
            raise SystemExit("--layout padded: TBPTT(inf, k2) runs packed only")
        step = ragged_step(torch, np, c, model, loss_fn, optimizer, params, zero_state, state, layout)

    first = last = None
    n = 0
    warm_start = time.perf_counter()
    done = 0
    while True:
        v = step(n)
        n += 1
        done += 1
        if first is None:
            first = v
        if done >= warmup or time.perf_counter() - warm_start >= budget / 2:
            break
    onednn = None
    if task in ("lm", "cls", "sample"):  # a ragged epoch is too long to profile op by op
        onednn = onednn_operators(torch, step, n)
        n += 1
    step_ms = []
    total = 0.0
    limited = False
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        last = step(n)
        t1 = time.perf_counter()
        n += 1
        step_ms.append((t1 - t0) * 1000)
        total += t1 - t0
        if len(step_ms) >= iterations:
            break
        if total >= budget:
            limited = True
            break
    cpu_per_wall = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    med = statistics.median(step_ms)
    result = {
        "system": system or f"torch/{threads}t",
        "config": c["name"],
        "threads": torch.get_num_threads(),
        "warmup": done,
        "iterations": len(step_ms),
        "stepMs": step_ms,
        "medianStepMs": med,
        "tokensPerSec": c["tokensPerIteration"] / (med / 1000),
        "tokensFed": state["fed"],
        "budgetLimited": limited,
        "cpuPerWall": cpu_per_wall,
        "env": {
            "torch": torch.__version__,
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "threads": torch.get_num_threads(),
            "interopThreads": torch.get_num_interop_threads(),
            "parallel": torch.__config__.parallel_info().splitlines()[:6],
            "blas": blas_info(torch),
            "mkldnn": torch.backends.mkldnn.is_available(),
            "onednn": onednn,
            "parameters": sum(p.numel() for p in params),
        },
    }
    if task != "sample":
        result["firstLoss"] = first
        result["lastLoss"] = last
    if task in ("ragged", "ragged-eval"):
        import resource

        result["peakRssBytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
