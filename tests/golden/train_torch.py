#!/usr/bin/env python3
"""train_torch.py - the PyTorch reference trainer of mm-train's golden test.

    train_torch.py [--task T [--run RUN]] [--tol X] INIT TRAINED STEPLOG LABELS LR WD WARMUP_STEPS STEPS BATCH A.tsv [B.tsv ...]
    train_torch.py --mt NAME:KIND:LABELS[:W] [--mt ...] [--tol X] INIT TRAINED STEPLOG - LR WD ...

Starts from the head INIT (mm-train --lr 0 wrote it), trains the same network
in PyTorch on the same batches (the items in file order, as mm-train
--no-shuffle --dropout 0), with torch.optim.AdamW (weight decay on weights
only, as mm-train) and the same warm-up + cosine schedule, for STEPS steps;
then compares every step's loss with STEPLOG and every parameter with the head
TRAINED. Prints the largest relative differences; status 1 above 1e-4 (the
parameters' bound: X with --tol).

The loss is the task's (mm-train(1)): classification cross_entropy,
multilabel binary_cross_entropy_with_logits (LABELS: one line per label),
regression mse_loss (LABELS: id<TAB>value), pair (A.tsv the queries, B.tsv
the documents, LABELS the qrels, RUN the candidates): per query, the
cross-entropy of the softmax over its candidates against 1/|relevant| on
each relevant one; an example is a query, its candidates the run's in
trec_eval's order, then the relevant documents the run missed.

With --mt (a multi-task head, mm-train --task NAME:KIND:LABELS[:W]): the
batch loss is sum_t W_t * loss_t, each task's loss (as above) over the
batch's items that have a label in its LABELS; a task with none adds nothing.
"""
import math
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 3)[0] + "/scripts")
from head import load_head, read_tsv  # noqa: E402


def read_labels(path):
    """id -> list of labels (TSV or qrels with rel > 0), in file order"""
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) == 4:
            if int(f[3]) > 0:
                out.setdefault(f[0], []).append(f[2])
        elif len(f) == 2:
            out.setdefault(f[0], []).append(f[1])
    return out


def pair_examples(run, qrels):
    """[(qid, [docs], [targets])] as mm-train builds them"""
    items = {}
    for line in open(run):
        q, _, d, _, score, _ = line.split()
        items.setdefault(q, []).append((float(score), d))
    rel = read_labels(qrels)
    out = []
    for q in sorted(items):
        ranked = sorted(items[q], key=lambda sd: sd[1], reverse=True)  # ties: the greater docno first
        ranked = [d for _, d in sorted(ranked, key=lambda sd: -sd[0])]
        pos = set(rel.get(q, []))
        docs = ranked + [d for d in sorted(pos) if d not in ranked]
        if not pos:
            continue
        out.append((q, docs, [1.0 / len(pos) if d in pos else 0.0 for d in docs]))
    return out


def main(argv):
    task, run, tol, mt = "classification", None, 1e-4, []
    while argv and argv[0].startswith("--"):
        if argv[0] == "--mt":
            f = argv[1].split(":")
            mt.append((f[0], f[1], f[2], float(f[3]) if len(f) > 3 else 1.0))
            task = "multitask"
        elif argv[0] == "--task":
            task = argv[1]
        elif argv[0] == "--run":
            run = argv[1]
        elif argv[0] == "--tol":
            tol = float(argv[1])
        argv = argv[2:]
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
    for fids, x in loaded if task != "pair" else []:
        pos = {i: k for k, i in enumerate(fids)}
        xs.append(x[[pos[i] for i in ids]])
    cls = {c: k for k, c in enumerate(model.classes)}
    lab = read_labels(labels) if labels != "-" else {}
    if task == "classification":
        y = torch.tensor([cls[lab[i][0]] for i in ids])
    elif task == "multilabel":
        y = torch.zeros(len(ids), len(cls))
        for r, i in enumerate(ids):
            for c in lab[i]:
                y[r, cls[c]] = 1
    elif task == "regression":
        y = torch.tensor([float(lab[i][0]) for i in ids])
    elif task == "multitask":  # per task: its targets and which items have one
        tasks = []
        for name, kind, path, w in mt:
            tl = read_labels(path)
            tcls = {c: k for k, c in enumerate([t["classes"] for t in config["tasks"] if t["name"] == name][0])}
            has = torch.tensor([i in tl for i in ids])
            if kind == "classification":
                ty = torch.tensor([tcls[tl[i][0]] if i in tl else 0 for i in ids])
            elif kind == "multilabel":
                ty = torch.zeros(len(ids), len(tcls))
                for r, i in enumerate(ids):
                    for c in tl.get(i, []):
                        ty[r, tcls[c]] = 1
            else:
                ty = torch.tensor([float(tl[i][0]) if i in tl else 0.0 for i in ids])
            tasks.append((name, kind, ty, has, w))
    else:
        qpos = {i: k for k, i in enumerate(loaded[0][0])}
        gpos = {i: k for k, i in enumerate(loaded[1][0])}
        examples = pair_examples(run, labels)
        ids = examples
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
        F = torch.nn.functional
        if task == "classification":
            loss = F.cross_entropy(model([x[sl] for x in xs]), y[sl])
        elif task == "multilabel":
            loss = F.binary_cross_entropy_with_logits(model([x[sl] for x in xs]), y[sl])
        elif task == "regression":
            loss = F.mse_loss(model([x[sl] for x in xs])[:, 0], y[sl])
        elif task == "multitask":
            outs = model.forward_all([x[sl] for x in xs])
            loss = 0
            for name, kind, ty, has, w in tasks:
                m = has[sl]
                if not m.any():
                    continue
                o, t_ = outs[name][m], ty[sl][m]
                if kind == "classification":
                    lt = F.cross_entropy(o, t_)
                elif kind == "multilabel":
                    lt = F.binary_cross_entropy_with_logits(o, t_)
                else:
                    lt = F.mse_loss(o[:, 0], t_)
                loss = loss + w * lt
        else:
            terms = []
            for q, docs, t in examples[sl]:
                qx = loaded[0][1][[qpos[q]] * len(docs)]
                gx = loaded[1][1][[gpos[d] for d in docs]]
                s_ = model([qx, gx])[:, 0]
                terms.append(-(torch.tensor(t) * torch.log_softmax(s_, dim=0)).sum())
            loss = torch.stack(terms).mean()
        loss.backward()
        if task == "pair":  # the output bias does not move a softmax over candidates: frozen
            model.out.bias.grad = None
            if config["fusion"] == "none":  # nor do a linear head's weights on the query alone
                model.out.weight.grad[:, :config["inputs"][0]["dim"]] = 0
            if config["fusion"] == "attention":  # nor the final norm's bias (out.weight . bias on every score)
                model.norm.bias.grad = None
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
    return 0 if dl <= 1e-4 and dp <= tol else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
