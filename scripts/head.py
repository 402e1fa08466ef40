#!/usr/bin/env python3
"""head.py - an mmkit head (mm-train's HEAD directory) as a PyTorch module.

    from head import load_head
    model, config = load_head("HEAD")          # an nn.Module in eval mode
    probs = model.predict([img, txt])          # inputs: float tensors [N, dim_i]
    model, config = load_head("HEAD", task="category")   # a multi-task head's task
    outs = model.forward_all([img, txt])       # every task's raw outputs {name: [N, n]}

The module normalises each input as config.json says (L2), concatenates
them and applies the fusion network (a pair head, task "pair", takes the
query and the document and adds their elementwise product as a third input
when config.json lists one with role "product"):
  none:   out(x)
  concat: out(dropout(GELU(fc(x))))
  gated:  z_i = GELU(proj[i](x_i)), a = softmax(gate(x)), out(dropout(sum_i a_i z_i))
  attention: tokens [cls, proj[0](x_0), ..., proj[M-1](x_{M-1})] through
          encoder (torch's pre-LN TransformerEncoder, GELU, MLP 4x width),
          out(dropout(norm(token 0)))
with the tensors of model.safetensors under their own names. A multi-task
head (config.json "tasks") has one output layer per task, heads[NAME] in
place of out, on the same fusion output; forward() gives the selected
task's outputs (load_head's task, default the first), forward_all() all.

    head.py --check RUN HEAD [--task NAME] A.tsv [B.tsv ...]
compares the probabilities of RUN (mm-predict -k 0 [-T NAME]; for regression
its 'item<TAB>value' lines) with this module's on
the TSV features (id<TAB>v1 v2 ...) and prints max |d|; status 1 if > 1e-5.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        a, b = t["data_offsets"]
        arr = np.frombuffer(data[base + a:base + b], dtype="<f4").reshape(t["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


class Head(nn.Module):
    def __init__(self, config, task=None):
        super().__init__()
        self.config = config
        dims = [i["dim"] for i in config["inputs"]]
        D = sum(dims)
        # the tasks: [(name, kind, classes)]; a single-task head's one task is unnamed
        if "tasks" in config:
            self.tasks = [(t["name"], t["kind"], t["classes"]) for t in config["tasks"]]
        else:
            self.tasks = [(None, config.get("task", "classification"), config["classes"])]
        names = [t[0] for t in self.tasks]
        if task is not None and task not in names:
            raise ValueError("no task %r (the head's: %s)" % (task, ", ".join(str(n) for n in names)))
        self.task = task if task is not None else names[0]
        self.kind, self.classes = [(k, c) for n, k, c in self.tasks if n == self.task][0]
        width = D if config["fusion"] == "none" else config["hidden"]
        if config["fusion"] == "none":
            pass
        elif config["fusion"] == "concat":
            H = config["hidden"]
            self.fc = nn.Linear(D, H)
            self.act = nn.GELU()
            self.drop = nn.Dropout(config["dropout"])
        elif config["fusion"] == "gated":
            H = config["hidden"]
            self.proj = nn.ModuleList([nn.Linear(d, H) for d in dims])
            self.act = nn.GELU()
            self.gate = nn.Linear(D, len(dims))
            self.drop = nn.Dropout(config["dropout"])
        elif config["fusion"] == "attention":
            W = config["hidden"]
            self.proj = nn.ModuleList([nn.Linear(d, W) for d in dims])
            self.cls = nn.Parameter(torch.zeros(W))
            layer = nn.TransformerEncoderLayer(W, config["heads"], 4 * W, dropout=0.0, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, config["layers"], enable_nested_tensor=False)
            self.norm = nn.LayerNorm(W)
            self.drop = nn.Dropout(config["dropout"])
        else:
            raise ValueError("unknown fusion " + config["fusion"])
        if "tasks" in config:
            self.heads = nn.ModuleDict({n: nn.Linear(width, len(c)) for n, _, c in self.tasks})
        else:
            self.out = nn.Linear(width, len(config["classes"]))

    def output(self, z, task):
        return self.heads[task](z) if task is not None else self.out(z)

    def forward(self, inputs):
        """the selected task's raw outputs"""
        return self.output(self.features(inputs), self.task)

    def forward_all(self, inputs):
        """every task's raw outputs, {name: [N, n]}, on one fusion output"""
        z = self.features(inputs)
        return {n: self.output(z, n) for n, _, _ in self.tasks}

    @staticmethod
    def normalise(x, spec):
        """one input as config.json's inputs[i].norm says: l2 (unit length),
        zscore (l2, then (x - mean) / std per dimension, the training
        statistics), none"""
        norm = spec.get("norm", "l2")
        if norm in ("l2", "zscore"):
            x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-30)
        if norm == "zscore":
            x = (x - torch.tensor(spec["mean"], dtype=x.dtype)) / torch.tensor(spec["std"], dtype=x.dtype)
        return x

    def features(self, inputs):
        """the fusion output (after dropout), the output layers' input"""
        xs = []
        for x, spec in zip(inputs, self.config["inputs"]):
            xs.append(self.normalise(x, spec))
        if self.config["inputs"][-1].get("role") == "product" and len(xs) == 2:
            xs.append(xs[0] * xs[1])
        x = torch.cat(xs, dim=1)
        if self.config["fusion"] == "none":
            return x
        if self.config["fusion"] == "attention":
            toks = [self.cls.expand(x.shape[0], -1)] + [p(xi) for p, xi in zip(self.proj, xs)]
            t = self.encoder(torch.stack(toks, dim=1))  # [B, M + 1, W]
            return self.drop(self.norm(t[:, 0]))
        if self.config["fusion"] == "gated":
            z = torch.stack([self.act(p(xi)) for p, xi in zip(self.proj, xs)], dim=1)  # [B, M, H]
            a = torch.softmax(self.gate(x), dim=1)  # [B, M]
            self.last_gates = a.detach()
            return self.drop((a.unsqueeze(2) * z).sum(dim=1))
        return self.drop(self.act(self.fc(x)))

    def cls_attention(self, inputs):
        """attention: the [CLS] row's attention over the tokens ([CLS], input 1, ...)
        in the last encoder layer, averaged over the heads (mm-predict --explain)"""
        with torch.no_grad():
            xs = []
            for x, spec in zip(inputs, self.config["inputs"]):
                xs.append(self.normalise(x, spec))
            if self.config["inputs"][-1].get("role") == "product" and len(xs) == 2:
                xs.append(xs[0] * xs[1])
            t = torch.stack([self.cls.expand(xs[0].shape[0], -1)] + [p(xi) for p, xi in zip(self.proj, xs)], dim=1)
            for layer in self.encoder.layers[:-1]:
                t = layer(t)
            last = self.encoder.layers[-1]
            u = last.norm1(t)
            _, w = last.self_attn(u, u, u, need_weights=True, average_attn_weights=True)  # [B, T, T]
            return w[:, 0, :]

    def predict(self, inputs):
        """the selected task's predictions: classification softmax; multilabel
        sigmoid; regression, pair the outputs"""
        with torch.no_grad():
            out = self.forward(inputs)
            if self.kind == "classification":
                return torch.softmax(out, dim=1)
            if self.kind == "multilabel":
                return torch.sigmoid(out)
            return out


def load_head(path, task=None):
    with open(path + "/config.json") as f:
        config = json.load(f)
    model = Head(config, task)
    model.load_state_dict(read_safetensors(path + "/model.safetensors"))
    model.eval()
    return model, config


def read_tsv(path):
    ids, rows = [], []
    for line in open(path):
        i, v = line.rstrip("\n").split("\t")
        ids.append(i)
        rows.append([float(x) for x in v.split()])
    return ids, torch.tensor(rows, dtype=torch.float32)


def main(argv):
    if len(argv) < 4 or argv[0] != "--check":
        print(__doc__, file=sys.stderr)
        return 2
    run, head_dir, feats = argv[1], argv[2], argv[3:]
    task = None
    if feats[:1] == ["--task"]:
        task, feats = feats[1], feats[2:]
    model, config = load_head(head_dir, task)
    loaded = [read_tsv(p) for p in feats]
    ids = loaded[0][0]
    inputs = []
    for fids, x in loaded:
        pos = {i: k for k, i in enumerate(fids)}
        inputs.append(x[[pos[i] for i in ids]])
    probs = model.predict(inputs).numpy()
    cls = {c: k for k, c in enumerate(model.classes)}
    row = {i: k for k, i in enumerate(ids)}
    worst, n = 0.0, 0
    for line in open(run):
        if model.kind == "regression":  # item<TAB>value...
            f = line.split()
            for k, v in enumerate(f[1:]):
                worst = max(worst, abs(float(v) - float(probs[row[f[0]], k])))
                n += 1
            continue
        item, _, label, _, p, _ = line.split()
        worst = max(worst, abs(float(p) - float(probs[row[item], cls[label]])))
        n += 1
    print("%d probabilities, max |d| %.3g" % (n, worst))
    return 0 if n == probs.size and worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
