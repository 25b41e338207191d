// rwkv.js — the reference for RWKV's trie tokenizer (tokenizer.ggml.model "rwkv"), written for
// this project from the rule of RWKV's rwkv_tokenizer.py (TRIE_TOKENIZER): tokens are byte
// strings; encoding takes, from left to right, the longest token the bytes there start with;
// decoding joins the tokens' bytes. Around it, what llama.cpp adds for a GGUF vocabulary: the
// converter's token list ("<s>" CONTROL first, each token written as Python's repr(bytes)
// without b'', [PADn] UNUSED up to the vocabulary size) and special tokens split off first
// (PARSE_SPECIAL), a byte where no token starts becoming the unknown token, and of tokens with
// the same bytes the last one matching (llama.cpp's trie insert; the vocabulary here has three).
// Writes FAMILY.json (the GGUF keys the converter writes) and FAMILY.jsonl (golden lines
// {text or b64, ids, decoded}) for goldens.js.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

// Python's repr(bytes)[2:-1]: printable ASCII as it is, a backslash before \ and before the
// quote repr chose (' unless the bytes hold ' and no "), \t \n \r, \xhh for the rest.
function pyEscape(buf) {
    const quote = buf.includes(0x27) && !buf.includes(0x22) ? 0x22 : 0x27;
    let s = '';
    for (const b of buf) {
        if (b === 0x5C || b === quote) s += '\\' + String.fromCharCode(b);
        else if (b === 0x09) s += '\\t';
        else if (b === 0x0A) s += '\\n';
        else if (b === 0x0D) s += '\\r';
        else if (b < 0x20 || b >= 0x7F) s += '\\x' + b.toString(16).padStart(2, '0');
        else s += String.fromCharCode(b);
    }
    return s;
}

// The same escapes through python3 itself when it is there (a check of pyEscape).
function checkWithPython(bufs, escaped) {
    const r = spawnSync('python3', ['-c',
        'import sys\nfor h in sys.stdin.read().split():\n' +
        '    print(repr(bytes.fromhex(h[1:]))[2:-1])'],
    { input: bufs.map((b) => 'x' + b.toString('hex')).join('\n'), encoding: 'utf8' });
    if (r.error || r.status !== 0) {
        console.warn('rwkv.js: no python3, escapes not cross-checked');
        return;
    }
    const got = r.stdout.split('\n');
    bufs.forEach((b, i) => {
        if (got[i] !== escaped[i]) throw new Error(`escape of ${b.toString('hex')}: ${escaped[i]} vs python ${got[i]}`);
    });
}

class Trie {
    constructor() { this.root = new Map(); }
    add(buf, id) {
        let node = { kids: this.root };
        for (const b of buf) {
            if (!node.kids.has(b)) node.kids.set(b, { kids: new Map(), id: -1 });
            node = node.kids.get(b);
        }
        node.id = id;
    }
    // the ids of buf: longest match at each position; unk (one byte) where none matches
    encode(buf, unk, out) {
        let i = 0;
        while (i < buf.length) {
            let kids = this.root, best = -1, end = i + 1;
            for (let j = i; j < buf.length && kids.has(buf[j]); j++) {
                const n = kids.get(buf[j]);
                if (n.id >= 0) { best = n.id; end = j + 1; }
                kids = n.kids;
            }
            if (best < 0) {
                if (unk < 0) throw new Error('no token for byte ' + buf[i]);
                best = unk;
            }
            out.push(best);
            i = end;
        }
    }
}

// tokens: [{bytes, type}] (1 NORMAL, 2 UNKNOWN, 3 CONTROL, 5 UNUSED); unk: the unknown id or -1.
function tokenizer(tokens, unk) {
    const trie = new Trie();
    const specials = [];
    tokens.forEach((t, id) => {
        if (t.type === 1) trie.add(t.bytes, id);
        else if (t.type === 2 || t.type === 3) specials.push([t.bytes, id]);
    });
    specials.sort((a, b) => b[0].length - a[0].length); // the longest first where several start
    const encode = (buf) => {
        const out = [];
        let seg = 0;
        for (let i = 0; i < buf.length;) {
            const sp = specials.find(([b]) => i + b.length <= buf.length &&
                                              buf.compare(b, 0, b.length, i, i + b.length) === 0);
            if (!sp) { i++; continue; }
            trie.encode(buf.subarray(seg, i), unk, out);
            out.push(sp[1]);
            i += sp[0].length;
            seg = i;
        }
        trie.encode(buf.subarray(seg), unk, out);
        return out;
    };
    const decode = (ids) => Buffer.concat(ids.map((id) => tokens[id].bytes)).toString('utf8');
    return { encode, decode };
}

// The vocabulary: "<s>", the 256 bytes, then the byte-level BPE tokens of the training text (as
// bytes: partial UTF-8 characters among them) and extra ones, by length then bytes, as RWKV's
// vocabulary file orders them; [PADn] up to a multiple of 64. gaps: single bytes left out (their
// bytes become the unknown token "<unk>", which then follows "<s>").
function vocabulary(V, train, gaps) {
    const U2B = new Map(V.B2U.map((c, b) => [c, b]));
    const bl = V.byteLevel(train, 300, []);
    const multi = new Map();
    for (const k of Object.keys(bl.vocab)) {
        const b = Buffer.from([...k].map((c) => U2B.get(c)));
        if (b.length > 1) multi.set(b.toString('hex'), b);
    }
    const extra = ['\\', '\\\\', '\\x41', '\\n', "'", '"', "it's", 'say "hi"', `'"'`, '\t\t', '\r\n',
                   '\n\n', '    ', 'quick brown fox jumps', 'the lazy dog.', '<s', 's>', '[PAD',
                   '<|im_end|>', 'ing the', '東京', '自然语言'];
    for (const e of extra) multi.set(Buffer.from(e).toString('hex'), Buffer.from(e));
    for (const h of ['7f', 'fffe', 'e4b8', '80bf', '00ff']) multi.set(h, Buffer.from(h, 'hex'));
    const sorted = [...multi.values()].sort((a, b) => a.length - b.length || a.compare(b));
    const tokens = [{ bytes: Buffer.from('<s>'), type: 3 }];
    if (gaps) tokens.push({ bytes: Buffer.from('<unk>'), type: 2 });
    for (let b = 0; b < 256; b++) {
        if (!gaps || !gaps(b)) tokens.push({ bytes: Buffer.from([b]), type: 1 });
    }
    for (const b of sorted) tokens.push({ bytes: b, type: 1 });
    while (tokens.length % 64) {
        tokens.push({ bytes: Buffer.from('[PAD' + tokens.length + ']'), type: 5 });
    }
    return tokens;
}

// Writes OUT/NAME.json and OUT/NAME.jsonl; returns the file name of the vocabulary.
function write(out, name, V, corpus, gaps) {
    const tokens = vocabulary(V, corpus.TRAIN, gaps);
    const unk = gaps ? 1 : -1;
    const escaped = tokens.map((t) => pyEscape(t.bytes));
    checkWithPython(tokens.map((t) => t.bytes), escaped);
    const keys = { model: 'rwkv', tokens: escaped, token_type: tokens.map((t) => t.type),
                   bos_token_id: 0, eos_token_id: 0 };
    if (unk >= 0) keys.unknown_token_id = unk;
    fs.writeFileSync(path.join(out, name + '.json'), JSON.stringify(keys) + '\n');
    const tk = tokenizer(tokens, unk);
    const lines = [];
    const one = (buf, b64) => {
        const ids = tk.encode(buf);
        const o = b64 ? { b64: buf.toString('base64') } : { text: buf.toString('utf8') };
        o.ids = ids;
        o.decoded = tk.decode(ids);
        lines.push(JSON.stringify(o));
    };
    const extraTexts = ['back\\slash \\x41 \\n \\\\', "it's \"quoted\" '\"' say \"hi\"",
                        'quick brown fox jumps over the lazy dog.', 'quick brown fox jump',
                        '<s<s>s> [PAD1] [PAD511] <s>', '\u007f\u0000\u00ff'];
    for (const t of corpus.fixed().concat(extraTexts)) one(Buffer.from(t, 'utf8'), false);
    for (const b of corpus.invalid()) one(b, true);
    for (const t of corpus.random(60, 7)) one(Buffer.from(t, 'utf8'), false);
    fs.writeFileSync(path.join(out, name + '.jsonl'), lines.join('\n') + '\n');
    return name + '.json';
}

module.exports = { pyEscape, tokenizer, vocabulary, write };
