#!/usr/bin/env python3
"""train_torch.py - the PyTorch reference trainer of mm-train's golden test.

    train_torch.py INIT TRAINED STEPLOG LABELS LR WD WARMUP_STEPS STEPS BATCH A.tsv [B.tsv ...]

Starts from the head INIT (mm-train --lr 0 wrote it), trains the same network
in PyTorch on the same batches (the items in file order, as mm-train
--no-shuffle --dropout 0), with torch.optim.AdamW (weight decay on weights
only, as mm-train) and the same warm-up + cosine schedule, for STEPS steps;
then compares every step's loss with STEPLOG and every parameter with the head
TRAINED. Prints the largest relative differences; status 1 above 1e-4.
"""
import math
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 3)[0] + "/scripts")
from head import load_head, read_tsv  # noqa: E402


def main(argv):
    init, trained, steplog, labels = argv[:4]
    lr, wd = float(argv[4]), float(argv[5])
    warmup, steps, batch = int(argv[6]), int(argv[7]), int(argv[8])
    feats = argv[9:]
    torch.manual_seed(0)
    model, config = load_head(init)
    model.train()  # dropout is 0: nothing random
    loaded = [read_tsv(p) for p in feats]
    ids = loaded[0][0]
    xs = []
    for fids, x in loaded:
        pos = {i: k for k, i in enumerate(fids)}
        xs.append(x[[pos[i] for i in ids]])
    lab = dict(l.rstrip("\n").split("\t") for l in open(labels))
    cls = {c: k for k, c in enumerate(config["classes"])}
    y = torch.tensor([cls[lab[i]] for i in ids])
    # weight decay on weights, not on biases, layer norms or the [CLS] token (as mm-train)
    def decays(n):
        return n.endswith("weight") and "norm" not in n
    decay = [p for n, p in model.named_parameters() if decays(n)]
    nodecay = [p for n, p in model.named_parameters() if not decays(n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)

    def sched(s):
        if s < warmup:
            return (s + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (s - warmup) / (steps - warmup)))

    lrs = torch.optim.lr_scheduler.LambdaLR(opt, sched)
    n = len(ids)
    losses = []
    for s in range(steps):
        b0 = (s * batch) % n
        sl = slice(b0, min(b0 + batch, n))
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model([x[sl] for x in xs]), y[sl])
        loss.backward()
        opt.step()
        lrs.step()
        losses.append(loss.item())
    theirs = [float(l.split()[1]) for l in open(steplog)]
    assert len(theirs) == steps, (len(theirs), steps)
    dl = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(theirs, losses))
    out, _ = load_head(trained)
    mine = dict(model.named_parameters())
    dp, dabs, worst = 0.0, 0.0, ""
    for name, p in out.named_parameters():
        ref = mine[name].detach()
        got = p.detach()
        if name.endswith("self_attn.in_proj_bias"):
            # the key bias (the middle third) shifts every score of a query by
            # the same amount, which the softmax ignores: its true gradient is
            # 0, both trainers see only rounding noise, and Adam's normalised
            # step turns noise into lr-sized moves. Compare q and v biases only.
            W = ref.shape[0] // 3
            ref = torch.cat([ref[:W], ref[2 * W:]])
            got = torch.cat([got[:W], got[2 * W:]])
        d = (got - ref).abs()
        # relative to the value, with the tensor's own scale as the floor
        # (a weight that passes through 0 has no meaningful relative error)
        floor = 1e-2 * ref.abs().max().item()
        rel = (d / ref.abs().clamp_min(floor)).max().item()
        if rel > dp:
            dp, worst = rel, name
        dabs = max(dabs, d.max().item())
    print("%s: %d steps, loss max rel %.3g, parameters max rel %.3g in %s (max |d| %.3g)" %
          (config["fusion"], steps, dl, dp, worst, dabs))
    return 0 if dl <= 1e-4 and dp <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
