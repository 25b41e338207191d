"""A byte-level BPE tokenizer trained on the synthetic data, written as tokenizer.json and as
GGUF tokenizer.ggml.* keys (Phi-4's pre-tokenizer: tokenizer.ggml.pre = dbrx).

Digits are never merged (each digit stays one token), so the model sees numbers digit by digit.
"""
import collections
import json
import regex

# Phi-4's Split pattern (its tokenizer.json); llama.cpp calls it dbrx (same as llama3's).
PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
           r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPLIT = regex.compile(PATTERN)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|im_sep|>", "<think>", "</think>"]
SPECIAL_RE = regex.compile("(" + "|".join(regex.escape(s) for s in sorted(SPECIALS, key=len, reverse=True)) + ")")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def pieces(text):
    """Pre-tokenize text without specials: the byte-level strings of its pieces."""
    return ["".join(B2U[b] for b in p.encode("utf-8")) for p in SPLIT.findall(text)]


def has_digit(s):
    return any(U2B[c] in b"0123456789" for c in s)


class Tokenizer:
    def __init__(self, merges, n_pad_to=64):
        self.merges = merges  # list of (a, b)
        self.vocab = {B2U[b]: b for b in range(256)}
        for a, b in merges:
            self.vocab[a + b] = len(self.vocab)
        n = len(self.vocab)
        self.special_ids = {}
        for s in SPECIALS:
            self.special_ids[s] = n
            n += 1
        k = 0
        while n % n_pad_to:
            self.special_ids["<|dummy_%d|>" % k] = n
            n, k = n + 1, k + 1
        self.n_vocab = n
        self.rank = {m: i for i, m in enumerate(merges)}
        self.cache = {}
        self.id_to_text = {i: t for t, i in self.vocab.items()}
        self.id_to_text.update({i: t for t, i in self.special_ids.items()})

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            best, bi = None, -1
            for i in range(len(parts) - 1):
                r = self.rank.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            parts[bi:bi + 2] = [parts[bi] + parts[bi + 1]]
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        out = []
        for chunk in SPECIAL_RE.split(text):
            if not chunk:
                continue
            if chunk in self.special_ids:
                out.append(self.special_ids[chunk])
            else:
                for w in pieces(chunk):
                    out.extend(self.bpe(w))
        return out

    def decode(self, ids):
        bs = bytearray()
        for i in ids:
            t = self.id_to_text[i]
            if i >= len(self.vocab):
                bs += t.encode("utf-8")
            else:
                bs += bytes(U2B[c] for c in t)
        return bs.decode("utf-8", errors="replace")

    # --- files -------------------------------------------------------------------------------
    def tokenizer_json(self):
        added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for s, i in self.special_ids.items()]
        return {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": PATTERN}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": False, "vocab": self.vocab,
                      "merges": ["%s %s" % m for m in self.merges]},
        }

    def tokenizer_config(self, chat_template, n_ctx):
        return {
            "added_tokens_decoder": {str(i): {"content": s, "lstrip": False, "normalized": False,
                                               "rstrip": False, "single_word": False, "special": True}
                                     for s, i in self.special_ids.items()},
            "bos_token": "<|endoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|dummy_0|>",
            "unk_token": "<|endoftext|>", "model_max_length": n_ctx, "tokenizer_class": "GPT2Tokenizer",
            "clean_up_tokenization_spaces": False, "chat_template": chat_template,
        }

    def gguf_tokens(self):
        """(tokens, token_types) in id order: NORMAL 1 for BPE tokens, CONTROL 3 for specials."""
        toks = [None] * self.n_vocab
        types = [1] * self.n_vocab
        for t, i in self.vocab.items():
            toks[i] = t
        for t, i in self.special_ids.items():
            toks[i] = t
            types[i] = 3
        return toks, types


def train(texts, n_merges):
    """Greedy BPE over the pre-tokenized texts (specials removed); ties broken by the pair text."""
    counts = collections.Counter()
    for text in texts:
        for chunk in SPECIAL_RE.split(text):
            if chunk and chunk not in SPECIALS:
                counts.update(pieces(chunk))
    words = [(list(w), c) for w, c in counts.items()]
    merges = []
    for _ in range(n_merges):
        pc = collections.Counter()
        for parts, c in words:
            for i in range(len(parts) - 1):
                a, b = parts[i], parts[i + 1]
                if not has_digit(a) and not has_digit(b):
                    pc[(a, b)] += c
        if not pc:
            break
        best = min(pc.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[1] < 2:
            break
        a, b = best[0]
        merges.append((a, b))
        for parts, c in words:
            i = 0
            while i < len(parts) - 1:
                if parts[i] == a and parts[i + 1] == b:
                    parts[i:i + 2] = [a + b]
                i += 1
    return merges


def save(tok, dirpath, chat_template, n_ctx):
    with open(dirpath + "/tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(tok.tokenizer_json(), f, ensure_ascii=False, indent=1)
        f.write("\n")
    with open(dirpath + "/tokenizer_config.json", "w", encoding="utf-8") as f:
        json.dump(tok.tokenizer_config(chat_template, n_ctx), f, ensure_ascii=False, indent=1)
        f.write("\n")


def load_merges(path):
    with open(path, encoding="utf-8") as f:
        t = json.load(f)
    return [tuple(m.split(" ")) for m in t["model"]["merges"]]
