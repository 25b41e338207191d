"""A GGUF v3 writer and the quantizers the demo files need (Q8_0, Q4_K, Q6_K), after the block
layouts ggml defines (shared facts: GGUF §1, quantization formats §4). numpy only."""
import struct

import numpy as np

T_F32, T_F16, T_Q8_0, T_Q4_K, T_Q6_K = 0, 1, 8, 12, 14
BLOCK = {T_F32: (1, 4), T_F16: (1, 2), T_Q8_0: (32, 34), T_Q4_K: (256, 144), T_Q6_K: (256, 210)}
NAMES = {T_F32: "F32", T_F16: "F16", T_Q8_0: "Q8_0", T_Q4_K: "Q4_K", T_Q6_K: "Q6_K"}

# GGUF value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(t, v):
    if t == STR:
        return _str(v)
    if t == ARR:
        et, items = v
        out = struct.pack("<IQ", et, len(items))
        if et == STR:
            return out + b"".join(_str(x) for x in items)
        fmt = {I32: "<i", U32: "<I", F32: "<f"}[et]
        return out + b"".join(struct.pack(fmt, x) for x in items)
    fmt = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
           U64: "<Q", I64: "<q", F64: "<d"}[t]
    return struct.pack(fmt, v)


def write(path, kvs, tensors, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, ggml_type, shape ne (ne0 first), bytes)]."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        head += _str(k) + struct.pack("<I", t) + _value(t, v)
    off = 0
    offs = []
    for name, t, ne, data in tensors:
        be, bb = BLOCK[t]
        assert ne[0] % be == 0 and len(data) == int(np.prod(ne)) // be * bb, name
        offs.append(off)
        off += (len(data) + alignment - 1) // alignment * alignment
    for (name, t, ne, data), o in zip(tensors, offs):
        head += _str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        head += struct.pack("<IQ", t, o)
    with open(path, "wb") as f:
        f.write(head)
        f.write(b"\0" * (-len(head) % alignment))
        for (name, t, ne, data), o in zip(tensors, offs):
            f.write(data)
            f.write(b"\0" * (-len(data) % alignment))


def f16(x):
    return np.ascontiguousarray(x, dtype=np.float32).astype(np.float16).tobytes()


def q8_0(x):
    """quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d) (half away from zero)."""
    b = np.asarray(x, dtype=np.float32).reshape(-1, 32)
    amax = np.abs(b).max(1)
    d = amax / 127.0
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1), 0.0).astype(np.float32)
    v = b * inv[:, None]
    q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)
    out = np.zeros(b.shape[0], dtype=[("d", "<f2"), ("q", "i1", 32)])
    out["d"] = d.astype(np.float16)
    out["q"] = q
    return out.tobytes()


def _round(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def q4_k(x):
    """Q4_K: per 32-element sub-block an affine fit x ~ sc*q - m (q in 0..15), sc and m as 6-bit
    multiples of the super-block's fp16 d and dmin; the quants re-fitted to the stored scales."""
    b = np.asarray(x, dtype=np.float32).reshape(-1, 8, 32)
    nb = b.shape[0]
    lo = np.minimum(b.min(2), 0.0)            # [nb, 8]  (ggml keeps min <= 0)
    hi = b.max(2)
    sc = (hi - lo) / 15.0
    mn = -lo
    dmax = sc.max(1) / 63.0
    mmax = mn.max(1) / 63.0
    d = dmax.astype(np.float16).astype(np.float32)
    dm = mmax.astype(np.float16).astype(np.float32)
    ls = np.clip(_round(sc / np.where(d > 0, d, 1)[:, None]), 0, 63).astype(np.uint8)
    lm = np.clip(_round(mn / np.where(dm > 0, dm, 1)[:, None]), 0, 63).astype(np.uint8)
    S = d[:, None] * ls
    M = dm[:, None] * lm
    q = np.clip(_round((b + M[:, :, None]) / np.where(S > 0, S, 1)[:, :, None]), 0, 15).astype(np.uint8)
    q[S == 0] = 0
    scales = np.zeros((nb, 12), dtype=np.uint8)
    for j in range(8):
        if j < 4:
            scales[:, j] = ls[:, j]
            scales[:, j + 4] = lm[:, j]
        else:
            scales[:, j + 4] = (ls[:, j] & 15) | ((lm[:, j] & 15) << 4)
            scales[:, j - 4] |= (ls[:, j] >> 4) << 6
            scales[:, j] |= (lm[:, j] >> 4) << 6
    qs = np.zeros((nb, 128), dtype=np.uint8)
    for c in range(4):
        qs[:, 32 * c:32 * c + 32] = q[:, 2 * c] | (q[:, 2 * c + 1] << 4)
    out = np.zeros(nb, dtype=[("d", "<f2"), ("dmin", "<f2"), ("scales", "u1", 12), ("qs", "u1", 128)])
    out["d"] = d.astype(np.float16)
    out["dmin"] = dm.astype(np.float16)
    out["scales"] = scales
    out["qs"] = qs
    return out.tobytes()


def q6_k(x):
    """Q6_K: per 16-element sub-block a signed scale (int8 multiple of the fp16 d), q in -32..31."""
    b = np.asarray(x, dtype=np.float32).reshape(-1, 16, 16)
    nb = b.shape[0]
    amax_i = np.abs(b).argmax(2)
    maxv = np.take_along_axis(b, amax_i[:, :, None], 2)[:, :, 0]
    sc = maxv / -32.0                          # as ggml: the largest value maps to -32
    big = np.abs(sc).max(1)
    d = (big / 127.0).astype(np.float16).astype(np.float32)
    ls = np.clip(_round(sc / np.where(d > 0, d, 1)[:, None]), -128, 127).astype(np.int64)
    S = d[:, None] * ls
    q = np.clip(_round(b / np.where(S != 0, S, 1)[:, :, None]), -32, 31).astype(np.int64)
    q[S == 0] = 0
    q = (q + 32).reshape(nb, 256).astype(np.uint8)
    ql = np.zeros((nb, 128), dtype=np.uint8)
    qh = np.zeros((nb, 64), dtype=np.uint8)
    for n in range(2):
        base = 128 * n
        for l in range(32):
            q1, q2, q3, q4 = q[:, base + l], q[:, base + l + 32], q[:, base + l + 64], q[:, base + l + 96]
            ql[:, 64 * n + l] = (q1 & 15) | ((q3 & 15) << 4)
            ql[:, 64 * n + l + 32] = (q2 & 15) | ((q4 & 15) << 4)
            qh[:, 32 * n + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)
    out = np.zeros(nb, dtype=[("ql", "u1", 128), ("qh", "u1", 64), ("scales", "i1", 16), ("d", "<f2")])
    out["ql"] = ql
    out["qh"] = qh
    out["scales"] = ls.astype(np.int8)
    out["d"] = d.astype(np.float16)
    return out.tobytes()


def dequant_q4_k(data):
    """For the self-check: ggml's dequantize_row_q4_K."""
    blk = np.frombuffer(data, dtype=[("d", "<f2"), ("dmin", "<f2"), ("scales", "u1", 12), ("qs", "u1", 128)])
    out = np.zeros((len(blk), 256), dtype=np.float32)
    for i, bk in enumerate(blk):
        d, dm, s, qs = float(bk["d"]), float(bk["dmin"]), bk["scales"], bk["qs"]

        def sm(j):
            if j < 4:
                return s[j] & 63, s[j + 4] & 63
            return (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4)
        for c in range(4):
            q = qs[32 * c:32 * c + 32]
            a, m = sm(2 * c)
            out[i, 64 * c:64 * c + 32] = d * a * (q & 15) - dm * m
            a, m = sm(2 * c + 1)
            out[i, 64 * c + 32:64 * c + 64] = d * a * (q >> 4) - dm * m
    return out.reshape(-1)


def dequant_q6_k(data):
    blk = np.frombuffer(data, dtype=[("ql", "u1", 128), ("qh", "u1", 64), ("scales", "i1", 16), ("d", "<f2")])
    out = np.zeros((len(blk), 256), dtype=np.float32)
    for i, bk in enumerate(blk):
        d = float(bk["d"])
        for n in range(2):
            ql, qh, sc = bk["ql"][64 * n:], bk["qh"][32 * n:], bk["scales"][8 * n:]
            for l in range(32):
                is_ = l // 16
                q1 = int((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32
                q2 = int((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32
                q3 = int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                y = out[i, 128 * n:]
                y[l] = d * sc[is_] * q1
                y[l + 32] = d * sc[is_ + 2] * q2
                y[l + 64] = d * sc[is_ + 4] * q3
                y[l + 96] = d * sc[is_ + 6] * q4
    return out.reshape(-1)
