#!/usr/bin/env python3
"""Load a bptt run directory into PyTorch modules and check they compute what bptt computes.

    /usr/bin/python3 scripts/load_in_pytorch.py RUN_DIR [--ids 3,1,4,1,5]

Builds nn.Embedding (or nothing, for feature inputs) + nn.RNN/nn.LSTM/nn.GRU + nn.Linear from
RUN_DIR/config.json, loads RUN_DIR/model.safetensors into them with load_state_dict(strict=True)
(the names are PyTorch's: embedding.weight, rnn.weight_ih_l0, ..., head.weight, head.bias), runs
the given token ids (time-major, batch 1) and prints the logits of the last step as JSON. An LSTM
with a projection (--proj) is nn.LSTM(proj_size=P); one with peepholes (--peephole), which PyTorch's
nn.LSTM has not, is PeepholeLSTM from peephole_lstm.py beside this script.

Needs only torch (Debian's python3-torch); the safetensors file is read by hand from its
documented layout, so the `safetensors` package is not required.
"""
import argparse
import json
import struct
import sys

import torch
from torch import nn

from peephole_lstm import PeepholeLSTM

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=DTYPES[info["dtype"]])
        tensors[name] = t.reshape(info["shape"]).clone()
    return tensors


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        m = config["model"]
        cell = {"rnn": nn.RNN, "rnn_relu": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[m["cell"]]
        extra = {"nonlinearity": "relu"} if m["cell"] == "rnn_relu" else {}
        if m.get("vocabSize") is not None:
            self.embedding = nn.Embedding(m["vocabSize"], m["embeddingDim"])
            input_size = m["embeddingDim"]
        else:
            self.embedding = None
            input_size = m["inputSize"]
        proj = m.get("projSize", 0)
        if proj:
            extra["proj_size"] = proj
        if m.get("peephole", False):
            cell = PeepholeLSTM
        self.rnn = cell(input_size, m["hiddenSize"], num_layers=m.get("numLayers", 1),
                        bidirectional=m.get("bidirectional", False), **extra)
        directions = 2 if m.get("bidirectional", False) else 1
        self.head = nn.Linear(directions * (proj or m["hiddenSize"]), m["outputSize"])

    def forward(self, x):
        if self.embedding is not None:
            x = self.embedding(x)
        out, _ = self.rnn(x)
        return self.head(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--ids", default="2,3,4,5,6", help="comma-separated token ids (token models)")
    args = parser.parse_args()
    with open(f"{args.run_dir}/config.json") as f:
        config = json.load(f)
    model = Model(config)
    model.load_state_dict(read_safetensors(f"{args.run_dir}/model.safetensors"), strict=True)
    ids = torch.tensor([int(i) for i in args.ids.split(",")]).reshape(-1, 1)
    with torch.no_grad():
        logits = model(ids)[-1, 0]
    json.dump({"logits": logits.tolist()}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
