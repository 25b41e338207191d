"""Writes the trained model as GGUF (arch phi3; F16, Q8_0, Q4_K_M) with the tokenizer inside, and
the golden logits of the script's own forward pass. Usage:
    /usr/bin/python3 export.py RUNDIR HUBDIR GOLDEN.json QUESTIONS.json
RUNDIR holds model.pt and tokenizer.json (train.py's output); HUBDIR is demo/hub."""
import json
import os
import random
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import data  # noqa: E402
import gguf  # noqa: E402
import train  # noqa: E402
from model import Config, Model  # noqa: E402

GOLDEN_SEED = 2024  # the 20 prompts of the golden logits
QUESTION_SEED = 99  # the accuracy test's 200 questions (no training stream uses it)
FTYPE = {"F16": 1, "Q8_0": 7, "Q4_K_M": 15}


def use_more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def tensor_type(name, ftype, n_layer):
    """llama-quantize's choice for this tensor (MODELS.md §4.1)."""
    if not name.endswith(".weight") or "_norm" in name:
        return gguf.T_F32
    if ftype == "F16":
        return gguf.T_F16
    if ftype == "Q8_0":
        return gguf.T_Q8_0
    if name == "output.weight":
        return gguf.T_Q6_K
    if ".attn_qkv." in name or ".ffn_down." in name:
        return gguf.T_Q6_K if use_more_bits(int(name.split(".")[1]), n_layer) else gguf.T_Q4_K
    return gguf.T_Q4_K


def encode(t, x):
    return {gguf.T_F32: lambda v: np.ascontiguousarray(v, dtype=np.float32).tobytes(), gguf.T_F16: gguf.f16,
            gguf.T_Q8_0: gguf.q8_0, gguf.T_Q4_K: gguf.q4_k, gguf.T_Q6_K: gguf.q6_k}[t](x)


def metadata(c, tok, ftype):
    toks, types = tok.gguf_tokens()
    sid = tok.special_ids
    A = "phi3."
    kv = [("general.architecture", gguf.STR, "phi3"),
          ("general.name", gguf.STR, "wick demo arith"),
          ("general.file_type", gguf.U32, FTYPE[ftype]),
          ("general.quantization_version", gguf.U32, 2),
          (A + "context_length", gguf.U32, c.n_ctx),
          (A + "rope.scaling.original_context_length", gguf.U32, c.n_ctx),
          (A + "embedding_length", gguf.U32, c.n_embd),
          (A + "feed_forward_length", gguf.U32, c.n_ff),
          (A + "block_count", gguf.U32, c.n_layer),
          (A + "attention.head_count", gguf.U32, c.n_head),
          (A + "attention.head_count_kv", gguf.U32, c.n_head_kv),
          (A + "attention.layer_norm_rms_epsilon", gguf.F32, c.eps),
          (A + "rope.dimension_count", gguf.U32, c.head_dim),
          (A + "rope.freq_base", gguf.F32, c.rope_base),
          (A + "attention.sliding_window", gguf.U32, 0),
          ("tokenizer.ggml.model", gguf.STR, "gpt2"),
          ("tokenizer.ggml.pre", gguf.STR, "dbrx"),
          ("tokenizer.ggml.tokens", gguf.ARR, (gguf.STR, toks)),
          ("tokenizer.ggml.token_type", gguf.ARR, (gguf.I32, types)),
          ("tokenizer.ggml.merges", gguf.ARR, (gguf.STR, ["%s %s" % m for m in tok.merges])),
          ("tokenizer.ggml.bos_token_id", gguf.U32, sid["<|endoftext|>"]),
          ("tokenizer.ggml.eos_token_id", gguf.U32, sid["<|im_end|>"]),
          ("tokenizer.ggml.padding_token_id", gguf.U32, sid["<|dummy_0|>"]),
          ("tokenizer.ggml.add_bos_token", gguf.BOOL, False),
          ("tokenizer.chat_template", gguf.STR, data.CHAT_TEMPLATE)]
    if ftype == "F16":
        kv = [x for x in kv if x[0] != "general.quantization_version"]
    return kv


def main():
    run, hub, golden, questions = sys.argv[1:5]
    ck = torch.load(os.path.join(run, "model.pt"))
    c = Config(**{k: v for k, v in ck["config"].items() if k != "head_dim"})
    model = Model(c)
    model.load_state_dict(ck["state"])
    model.eval()
    tok = bpe.Tokenizer(bpe.load_merges(os.path.join(run, "tokenizer.json")))
    gdir = os.path.join(hub, "wick-demo", "arith-GGUF")
    tdir = os.path.join(hub, "wick-demo", "arith")
    os.makedirs(gdir, exist_ok=True)
    os.makedirs(tdir, exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(run, f), os.path.join(tdir, f))
    ts = model.tensors()
    order = ["token_embd.weight"]
    for i in range(c.n_layer):
        order += ["blk.%d.%s.weight" % (i, n) for n in
                  ("attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_up", "ffn_down")]
    order += ["output_norm.weight", "output.weight"]
    for ft in ("F16", "Q8_0", "Q4_K_M"):
        tens = []
        for n in order:
            x = ts[n]
            t = tensor_type(n, ft, c.n_layer)
            tens.append((n, t, list(reversed(x.shape)), encode(t, x.reshape(-1))))
        path = os.path.join(gdir, "arith-%s.gguf" % ft)
        gguf.write(path, metadata(c, tok, ft), tens)
        print(path, os.path.getsize(path))
    # golden: the script's own float32 forward pass over 20 prompts (prompt tokens only)
    rng = random.Random(GOLDEN_SEED)
    out = {"about": "logits of tools/demo-model's float32 torch forward pass (model.py Model.logits_full) "
                    "for 20 rendered prompts; top 16 of the last position and the full row's max|logit|",
           "prompts": []}
    with torch.no_grad():
        for _ in range(20):
            q = data.example(rng)[0]
            ids = tok.encode(data.prompt(q))
            lg = model.logits_full(ids)[-1].numpy()
            top = np.argsort(-lg, kind="stable")[:16]
            out["prompts"].append({"question": q, "tokens": ids, "max_abs": float(np.abs(lg).max()),
                                   "logits": [float(v) for v in lg], "top": [int(i) for i in top]})
    with open(golden, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(golden, os.path.getsize(golden))
    rng = random.Random(QUESTION_SEED)
    qs = [data.example(rng) for _ in range(200)]
    # the script's own float32 greedy answers: the reference wick's answers are compared with
    prefix = tok.encode(data.PREFIX)
    ref = []
    for i in range(0, len(qs), 50):
        ref += train.greedy(model, tok, prefix, [e[0] for e in qs[i:i + 50]])
    ok = sum(train.final_number(o) == e[3] for o, e in zip(ref, qs))
    print("torch float32 greedy: %d/%d correct" % (ok, len(qs)))
    with open(questions, "w") as f:
        json.dump({"about": "200 arithmetic questions from tools/demo-model/data.py with seed %d (unseen in "
                            "training), their exact answers and the final number of the torch model's "
                            "float32 greedy answer (null: none)" % QUESTION_SEED,
                   "torch_correct": ok,
                   "questions": [{"q": e[0], "answer": e[3], "torch": train.final_number(o)}
                                 for e, o in zip(qs, ref)]}, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
