#!/usr/bin/env python3
"""Replay a delayed-recall training run of bptt in PyTorch and compare the loss update by update.

    node scripts/delayed-recall-dump.mjs OUT_DIR lstm 32 1     # bptt: train, write weights + batches
    /usr/bin/python3 scripts/delayed_recall_in_pytorch.py OUT_DIR [--own-init SEED]

Builds nn.Embedding -> nn.LSTM/nn.GRU/nn.RNN -> nn.Linear (last step), loads OUT_DIR/init.safetensors
(or, with --own-init, draws PyTorch's own initialisation from torch.manual_seed(SEED), with the same
forget-gate bias rule: bias_ih forget block = value, bias_hh forget block = 0), trains on the same
batches with cross-entropy at the last step, clip_grad_norm_ and Adam, float32, one thread, and prints
the largest |loss difference| against bptt's losses and the mean loss per 200 updates of both.
"""
import argparse
import json

import numpy as np
import torch
from torch import nn

from load_in_pytorch import read_safetensors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--own-init", type=int, default=None, metavar="SEED")
    args = parser.parse_args()
    torch.set_num_threads(1)
    meta = json.load(open(f"{args.run_dir}/bptt.json"))
    cell = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[meta["cell"]]
    if args.own_init is not None:
        torch.manual_seed(args.own_init)
    model = nn.ModuleDict({
        "embedding": nn.Embedding(9, meta["embeddingDim"]),
        "rnn": cell(meta["embeddingDim"], meta["hiddenSize"]),
        "head": nn.Linear(meta["hiddenSize"], 4),
    })
    H = meta["hiddenSize"]
    if args.own_init is None:
        model.load_state_dict(read_safetensors(f"{args.run_dir}/init.safetensors"), strict=True)
    elif meta["forgetGateBias"] is not None:
        with torch.no_grad():
            model["rnn"].bias_ih_l0[H:2 * H] = meta["forgetGateBias"]
            model["rnn"].bias_hh_l0[H:2 * H] = 0
    U, T, B = meta["updates"], meta["delay"] + 1, meta["batchSize"]
    ids = torch.from_numpy(np.fromfile(f"{args.run_dir}/ids.bin", dtype=np.int32).astype(np.int64)).reshape(U, T, B)
    targets = torch.from_numpy(np.fromfile(f"{args.run_dir}/targets.bin", dtype=np.int32).astype(np.int64)).reshape(U, B)
    optimizer = torch.optim.Adam(model.parameters(), lr=meta["lr"])
    losses = []
    for u in range(U):
        optimizer.zero_grad()
        out, _ = model["rnn"](model["embedding"](ids[u]))
        loss = nn.functional.cross_entropy(model["head"](out[-1]), targets[u])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), meta["clipNorm"])
        optimizer.step()
        losses.append(loss.item())
    ours, theirs = np.array(meta["losses"]), np.array(losses)
    blocks = lambda a: " ".join(f"{a[i:i + 200].mean():.3f}" for i in range(0, U, 200))
    print(f"bptt    loss per 200 updates: {blocks(ours)}  (test accuracy {meta['accuracy'] * 100:.1f}%)")
    print(f"PyTorch loss per 200 updates: {blocks(theirs)}")
    if args.own_init is None:
        diff = np.abs(ours - theirs)
        apart = np.nonzero(diff > 1e-3)[0]
        print(f"max |loss difference|: first 200 updates {diff[:200].max():.1e}, first 1000 {diff[:1000].max():.1e}, all {diff.max():.1e}; "
              f"first update more than 1e-3 apart: {apart[0] + 1 if len(apart) else 'none'}")


if __name__ == "__main__":
    main()
