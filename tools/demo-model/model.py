"""The phi3-layout transformer (llama.cpp's phi3 graph): RMSNorm, fused attn_qkv (rows Q|K|V),
NEOX RoPE, GQA, softmax attention with Q scaled by 1/sqrt(head_dim), fused ffn_up (rows gate|up),
SwiGLU, untied output. No biases."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, n_vocab, n_embd=256, n_layer=4, n_head=8, n_head_kv=4, n_ff=768,
                 rope_base=10000.0, eps=1e-5, n_ctx=1024):
        self.n_vocab, self.n_embd, self.n_layer = n_vocab, n_embd, n_layer
        self.n_head, self.n_head_kv, self.n_ff = n_head, n_head_kv, n_ff
        self.rope_base, self.eps, self.n_ctx = rope_base, eps, n_ctx
        self.head_dim = n_embd // n_head

    def dict(self):
        return dict(self.__dict__)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_neox(x, pos, base):
    """x [B, H, T, D]; pos [B, T] (int64). Pairs (i, i + D/2) rotated by pos * base^(-2i/D)."""
    d = x.shape[-1]
    half = d // 2
    inv = base ** (-torch.arange(0, half, dtype=torch.float64) * 2.0 / d)
    ang = (pos.to(torch.float64)[..., None] * inv).to(x.dtype)  # [B, T, half]
    cos, sin = ang.cos()[:, None], ang.sin()[:, None]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        kvd = c.n_head_kv * c.head_dim
        self.attn_norm = nn.Parameter(torch.ones(c.n_embd))
        self.attn_qkv = nn.Parameter(torch.randn(c.n_embd + 2 * kvd, c.n_embd) * 0.02)
        self.attn_output = nn.Parameter(torch.randn(c.n_embd, c.n_embd) * 0.02 / math.sqrt(2 * c.n_layer))
        self.ffn_norm = nn.Parameter(torch.ones(c.n_embd))
        self.ffn_up = nn.Parameter(torch.randn(2 * c.n_ff, c.n_embd) * 0.02)
        self.ffn_down = nn.Parameter(torch.randn(c.n_embd, c.n_ff) * 0.02 / math.sqrt(2 * c.n_layer))

    def forward(self, x, pos, mask, past=None):
        """x [B, T, E]; pos [B, T]; mask [B or 1, 1, T, Tpast + T] bool (True = attend);
        past: (K, V) [B, Hkv, Tpast, D] or None. Returns (x, (K, V) of the whole sequence)."""
        c = self.c
        B, T, E = x.shape
        h = rms_norm(x, self.attn_norm, c.eps)
        qkv = h @ self.attn_qkv.t()
        kvd = c.n_head_kv * c.head_dim
        q = qkv[..., :E].view(B, T, c.n_head, c.head_dim).transpose(1, 2)
        k = qkv[..., E:E + kvd].view(B, T, c.n_head_kv, c.head_dim).transpose(1, 2)
        v = qkv[..., E + kvd:].view(B, T, c.n_head_kv, c.head_dim).transpose(1, 2)
        q = rope_neox(q, pos, c.rope_base) * (1.0 / math.sqrt(c.head_dim))
        k = rope_neox(k, pos, c.rope_base)
        if past is not None:
            pk, pv = past
            if pk.shape[0] != B:
                pk, pv = pk.expand(B, -1, -1, -1), pv.expand(B, -1, -1, -1)
            k = torch.cat([pk, k], dim=2)
            v = torch.cat([pv, v], dim=2)
        rep = c.n_head // c.n_head_kv
        kk = k.repeat_interleave(rep, dim=1)
        vv = v.repeat_interleave(rep, dim=1)
        att = q @ kk.transpose(-1, -2)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        o = (att @ vv).transpose(1, 2).reshape(B, T, E)
        x = x + o @ self.attn_output.t()
        h = rms_norm(x, self.ffn_norm, c.eps)
        gu = h @ self.ffn_up.t()
        g, u = gu[..., :c.n_ff], gu[..., c.n_ff:]
        x = x + (F.silu(g) * u) @ self.ffn_down.t()
        return x, (k, v)


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.token_embd = nn.Parameter(torch.randn(c.n_vocab, c.n_embd) * 0.02)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.n_layer)])
        self.output_norm = nn.Parameter(torch.ones(c.n_embd))
        self.output = nn.Parameter(torch.randn(c.n_vocab, c.n_embd) * 0.02)

    def forward(self, ids, pos, mask, past=None, logits_for=None):
        """ids [B, T]. Returns (logits [B, T, V] or of the rows logits_for selects, new past)."""
        x = self.token_embd[ids]
        new = []
        for i, b in enumerate(self.blocks):
            x, kv = b(x, pos, mask, None if past is None else past[i])
            new.append(kv)
        x = rms_norm(x, self.output_norm, self.c.eps)
        if logits_for is not None:
            x = x[logits_for]
        return x @ self.output.t(), new

    def logits_full(self, ids):
        """Plain causal forward of one sequence (list of ids): logits [T, V]."""
        t = torch.tensor([ids])
        T = t.shape[1]
        mask = torch.ones(T, T, dtype=torch.bool).tril()[None, None]
        out, _ = self.forward(t, torch.arange(T)[None], mask)
        return out[0]

    def tensors(self):
        """name -> float32 numpy array in GGUF row-major order ([rows = out, cols = in])."""
        d = {"token_embd.weight": self.token_embd, "output_norm.weight": self.output_norm,
             "output.weight": self.output}
        for i, b in enumerate(self.blocks):
            for n in ("attn_norm", "attn_qkv", "attn_output", "ffn_norm", "ffn_up", "ffn_down"):
                d["blk.%d.%s.weight" % (i, n)] = getattr(b, n)
        return {k: v.detach().float().numpy() for k, v in d.items()}
