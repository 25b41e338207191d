"""Trains the demo model. Usage (by hand, not by the tests; see README.md):
    /usr/bin/python3 train.py OUTDIR [--minutes 50] [--layers 4] [--embd 256] [--ff 768]
Writes OUTDIR/tokenizer.json, tokenizer_config.json, model.pt (checkpoints as it goes), train.log."""
import argparse
import json
import math
import os
import random
import re
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import data  # noqa: E402
from model import Config, Model  # noqa: E402

TOKENIZER_SEED = 7      # examples the BPE merges are learnt from
TRAIN_SEED = 1234       # the training stream
MONITOR_SEED = 4321     # questions for the accuracy printed while training
N_CTX = 1024


def log(f, *a):
    s = " ".join(str(x) for x in a)
    print(s, flush=True)
    f.write(s + "\n")
    f.flush()


def user_part(q):
    return "<|im_start|>user<|im_sep|>" + q + "<|im_end|><|im_start|>assistant<|im_sep|>"


def encode_example(tok, ex):
    q, t, a, _ = ex
    return tok.encode(user_part(q)), tok.encode(data.assistant_text(t, a) + "<|im_end|>")


def pad_batch(seqs):
    """[(user ids, answer ids)] -> ids [n, S] after the prefix, loss weights on the answer targets."""
    n, S = len(seqs), max(len(u) + len(r) for u, r in seqs)
    ids = torch.zeros(n, S, dtype=torch.long)
    w = torch.zeros(n, S)
    for i, (u, r) in enumerate(seqs):
        s = u + r
        ids[i, :len(s)] = torch.tensor(s)
        w[i, len(u) - 1:len(s) - 1] = 1.0   # position p predicts s[p + 1]: the answer tokens
    return ids, w


def batches(tok, rng, bs, n_bucket=8):
    """Endless batches; each group of n_bucket batches is sorted by length to limit padding."""
    while True:
        seqs = [encode_example(tok, data.example(rng)) for _ in range(bs * n_bucket)]
        seqs.sort(key=lambda s: len(s[0]) + len(s[1]))
        group = [seqs[i:i + bs] for i in range(0, len(seqs), bs)]
        rng.shuffle(group)
        for g in group:
            yield pad_batch(g)


def prefix_pass(model, prefix):
    P = len(prefix)
    mask = torch.ones(P, P, dtype=torch.bool).tril()[None, None]
    _, past = model(torch.tensor([prefix]), torch.arange(P)[None], mask, logits_for=(slice(None), slice(-1, None)))
    return past


def train_step_loss(model, prefix, ids, w):
    P = len(prefix)
    past = prefix_pass(model, prefix)
    B, S = ids.shape
    mask = torch.cat([torch.ones(S, P, dtype=torch.bool), torch.ones(S, S, dtype=torch.bool).tril()], 1)[None, None]
    pos = (P + torch.arange(S))[None].expand(B, S)
    logits, _ = model(ids, pos, mask, past)
    tgt = torch.cat([ids[:, 1:], torch.zeros(B, 1, dtype=torch.long)], 1)
    lp = torch.nn.functional.cross_entropy(logits.reshape(B * S, -1), tgt.reshape(-1), reduction="none")
    return (lp * w.reshape(-1)).sum() / w.sum()


@torch.no_grad()
def greedy(model, tok, prefix, questions, max_new=400):
    """Batched greedy continuation of each question's prompt; returns the generated texts."""
    P = len(prefix)
    past = prefix_pass(model, prefix)
    us = [tok.encode(user_part(q)) for q in questions]
    B, L = len(us), max(len(u) for u in us)
    lens = torch.tensor([len(u) for u in us])
    ids = torch.zeros(B, L, dtype=torch.long)
    for i, u in enumerate(us):
        ids[i, :len(u)] = torch.tensor(u)
    j = torch.arange(L)
    qmask = (j[None, None, :] <= j[None, :, None]) & (j[None, None, :] < lens[:, None, None])  # [B, L, L]
    mask = torch.cat([torch.ones(B, L, P, dtype=torch.bool), qmask], 2)[:, None]
    pos = (P + j)[None].expand(B, L)
    logits, past = model(ids, pos, mask, past, logits_for=(torch.arange(B), lens - 1))
    keymask = torch.cat([torch.ones(B, P, dtype=torch.bool), j[None] < lens[:, None]], 1)  # [B, P + L]
    end = tok.special_ids["<|im_end|>"]
    out = [[] for _ in range(B)]
    done = torch.zeros(B, dtype=torch.bool)
    for t in range(max_new):
        nxt = logits.argmax(-1)
        for i in range(B):
            if not done[i]:
                out[i].append(int(nxt[i]))
        done |= nxt == end
        if bool(done.all()):
            break
        keymask = torch.cat([keymask, torch.ones(B, 1, dtype=torch.bool)], 1)
        logits, past = model(nxt[:, None], (P + lens + t)[:, None], keymask[:, None, None, :], past)
        logits = logits[:, 0]
    return [tok.decode([x for x in o if x != end]) for o in out]


def final_number(text):
    ans = text.split("</think>")[-1] if "</think>" in text else ""
    m = re.findall(r"-?\d+", ans)
    return int(m[-1]) if m else None


def accuracy(model, tok, prefix, seed, n, bs=50):
    rng = random.Random(seed)
    ex = [data.example(rng) for _ in range(n)]
    ok = 0
    bad = []
    for i in range(0, n, bs):
        chunk = ex[i:i + bs]
        outs = greedy(model, tok, prefix, [e[0] for e in chunk])
        for e, o in zip(chunk, outs):
            if final_number(o) == e[3]:
                ok += 1
            else:
                bad.append((e[0], o[-200:]))
    return ok / n, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--minutes", type=float, default=50, help="wall-clock budget (the lr schedule follows it)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--embd", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ff", type=int, default=512)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=float, default=15, help="minutes between accuracy checks")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/model.pt (new schedule)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    lf = open(os.path.join(a.out, "train.log"), "a")
    trng = random.Random(TOKENIZER_SEED)
    texts = [data.conversation(*data.example(trng)[:3]) for _ in range(3000)]
    tok = bpe.Tokenizer(bpe.train(texts, 1000))
    bpe.save(tok, a.out, data.CHAT_TEMPLATE, N_CTX)
    prefix = tok.encode(data.PREFIX)
    ck = None
    if a.resume:
        ck = torch.load(os.path.join(a.out, "model.pt"))
        c = Config(**{k: v for k, v in ck["config"].items() if k != "head_dim"})
    else:
        c = Config(tok.n_vocab, n_embd=a.embd, n_layer=a.layers, n_head=a.heads, n_head_kv=a.kv_heads,
                   n_ff=a.ff, n_ctx=N_CTX)
    model = Model(c)
    decay = [p for p in model.parameters() if p.dim() == 2]
    nodecay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98))
    step, seen, cpu0 = 0, 0, 0.0
    if ck:
        model.load_state_dict(ck["state"])
        opt.load_state_dict(ck["opt"])
        step, seen, cpu0 = ck["step"], ck["seen"], ck["cpu"]
    n_par = sum(p.numel() for p in model.parameters())
    log(lf, "config", json.dumps(c.dict()), "params", n_par, "vocab", tok.n_vocab, "prefix", len(prefix),
        "args", json.dumps(vars(a)))
    rng = random.Random(TRAIN_SEED + step)
    it = batches(tok, rng, a.batch)
    t0, p0 = time.time(), time.process_time()
    budget = a.minutes * 60
    ema, warm, next_eval = None, 50, a.eval_every * 60

    def save():
        torch.save({"config": c.dict(), "state": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "seen": seen, "cpu": cpu0 + time.process_time() - p0}, os.path.join(a.out, "model.pt"))

    def monitor(n):
        model.eval()
        acc, bad = accuracy(model, tok, prefix, MONITOR_SEED, n)
        model.train()
        log(lf, "step %d  %.0fs  cpu %.0fs  seen %d  accuracy %.3f (monitor, %d questions)" % (
            step, time.time() - t0, cpu0 + time.process_time() - p0, seen, acc, n))
        for q, o in bad[:4]:
            log(lf, "  miss: %r -> %r" % (q, o))
        return acc

    first = step
    while True:
        el = time.time() - t0
        if el > budget:
            break
        frac = el / budget
        lr = a.lr * min(1.0, (step - first + 1) / warm) * (0.03 + 0.97 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        ids, w = next(it)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = train_step_loss(model, prefix, ids, w)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += ids.shape[0]
        ema = float(loss) if ema is None else 0.95 * ema + 0.05 * float(loss)
        if step % 20 == 0:
            log(lf, "step %d  %.0fs  lr %.2e  loss %.4f  ema %.4f  S %d" % (step, time.time() - t0, lr, float(loss),
                                                                          ema, ids.shape[1]))
        if time.time() - t0 > next_eval:
            next_eval += a.eval_every * 60
            save()
            monitor(30)
    save()
    acc = monitor(200)
    log(lf, "done: %d steps, %d examples, %.0f s wall, %.0f s cpu, monitor accuracy %.3f" % (
        step, seen, time.time() - t0, cpu0 + time.process_time() - p0, acc))


if __name__ == "__main__":
    main()
