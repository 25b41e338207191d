// vocab.js — small vocabularies for the tokenizer goldens, trained on corpus.js's TRAIN text:
// byte-level BPE (GPT-2 alphabet), SentencePiece-style BPE (chars, U+2581, <0xXX> byte
// fallback), WordPiece, Unigram (scores), RWKV (byte strings). Deterministic. Written for this
// project.
'use strict';

// GPT-2 bytes_to_unicode.
const B2U = (() => {
    const bs = [];
    for (let b = 0x21; b <= 0x7E; b++) bs.push(b);
    for (let b = 0xA1; b <= 0xAC; b++) bs.push(b);
    for (let b = 0xAE; b <= 0xFF; b++) bs.push(b);
    const m = new Array(256);
    for (const b of bs) m[b] = String.fromCodePoint(b);
    let n = 0;
    for (let b = 0; b < 256; b++) {
        if (m[b] === undefined) m[b] = String.fromCodePoint(256 + n++);
    }
    return m;
})();

const bl = (s) => [...Buffer.from(s, 'utf8')].map((b) => B2U[b]).join('');

const GPT2_RE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

// Greedy BPE training over words (arrays of symbols) with counts: the most frequent adjacent pair
// first, ties broken by the pair's text. Returns the merges in order.
function trainMerges(words, nMerges) {
    const merges = [];
    for (let it = 0; it < nMerges; it++) {
        const counts = new Map();
        for (const [syms, c] of words) {
            for (let i = 0; i + 1 < syms.length; i++) {
                const k = syms[i] + '\u0000' + syms[i + 1];
                counts.set(k, (counts.get(k) || 0) + c);
            }
        }
        let best = null, bc = 1;
        for (const [k, c] of counts) {
            if (c > bc || (c === bc && best !== null && k < best)) {
                best = k;
                bc = c;
            }
        }
        if (best === null) break;
        const [a, b] = best.split('\u0000');
        merges.push([a, b]);
        for (const w of words) {
            const s = w[0], o = [];
            for (let i = 0; i < s.length; i++) {
                if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
                    o.push(a + b);
                    i++;
                } else {
                    o.push(s[i]);
                }
            }
            w[0] = o;
        }
    }
    return merges;
}

function countWords(pieces) {
    const m = new Map();
    for (const p of pieces) m.set(p, (m.get(p) || 0) + 1);
    return [...m.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

// Byte-level BPE: ids 0-255 the bytes' alphabet chars, then one id per merge, then `extra`
// (vocabulary tokens no merge makes: ignore_merges tells them apart).
function byteLevel(text, nMerges, extra) {
    const words = countWords(text.match(GPT2_RE)).map(([w, c]) => [[...bl(w)], c]);
    const merges = trainMerges(words, nMerges);
    const vocab = {};
    for (let b = 0; b < 256; b++) vocab[B2U[b]] = b;
    let id = 256;
    for (const [a, b] of merges) {
        if (vocab[a + b] === undefined) vocab[a + b] = id++;
    }
    for (const e of extra) {
        if (vocab[bl(e)] === undefined) vocab[bl(e)] = id++;
    }
    return { vocab, merges: merges.map(([a, b]) => a + ' ' + b), size: id };
}

// SentencePiece-style BPE over characters: <unk> <s> </s>, <0x00>..<0xFF>, the characters of the
// text, then the merged pieces. `space`: words carry U+2581 in front (split at spaces) or the text
// is cut at newlines only (spaces replaced, as Gemma's normalizer does).
function spmBpe(text, nMerges, opts) {
    const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2 };
    let id = 3;
    for (let b = 0; b < 256; b++) {
        vocab['<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>'] = id++;
    }
    let pieces;
    if (opts.lines) {
        pieces = text.replace(/ /g, '\u2581').match(/[^\n]+|\n+/g);
    } else {
        pieces = text.replace(/\n/g, ' ').split(' ').filter((w) => w).map((w) => '\u2581' + w);
    }
    const chars = new Set();
    for (const p of pieces) for (const c of p) chars.add(c);
    for (const c of [...chars].sort()) {
        if (c !== '\n' || !opts.noNewline) vocab[c] = id++;
    }
    const words = countWords(pieces).map(([w, c]) => [[...w], c]);
    const merges = trainMerges(words, nMerges);
    const order = []; // the merged pieces in training order: their scores
    for (const [a, b] of merges) {
        if (vocab[a + b] === undefined) {
            vocab[a + b] = id++;
            order.push(a + b);
        }
    }
    return { vocab, merges: merges.map(([a, b]) => [a, b]), order, size: id };
}

// WordPiece (BERT uncased): [PAD] [UNK] [CLS] [SEP] [MASK], each character of the lowercased,
// accent-stripped text alone and as a continuation (##c), then the pieces of greedy merges (a
// continuation keeps its ## in front).
function wordPiece(text, nMerges) {
    const norm = text.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
    const words = norm.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu);
    const vocab = { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, '[MASK]': 4 };
    let id = 5;
    const chars = new Set();
    for (const w of words) for (const c of w) chars.add(c);
    for (const c of [...chars].sort()) vocab[c] = id++;
    for (const c of [...chars].sort()) vocab['##' + c] = id++;
    const syms = countWords(words).map(([w, c]) => [[...w].map((ch, i) => (i ? '##' : '') + ch), c]);
    const clean = (s) => (s.startsWith('##') ? '##' : '') + s.replace(/##/g, '');
    for (const [a, b] of trainMerges(syms, nMerges)) {
        const tok = clean(a + b);
        if (vocab[tok] === undefined) vocab[tok] = id++;
    }
    return { vocab, size: id };
}

// Unigram (SentencePiece style): <unk> <s> </s>, with byteFallback <0x00>..<0xFF>, then the
// characters and merged pieces of spmBpe, each scored by the log of its frequency in the text's
// words (U+2581 in front of each).
function unigram(text, nMerges, byteFallback) {
    const sp = spmBpe(text, nMerges, {});
    const words = countWords(text.replace(/\n/g, ' ').split(' ').filter((w) => w).map((w) => '\u2581' + w));
    const pieces = Object.keys(sp.vocab).filter((k) => sp.vocab[k] >= 259);
    let total = 0;
    const count = new Map();
    for (const p of pieces) {
        let c = 0;
        for (const [w, n] of words) {
            for (let i = w.indexOf(p); i >= 0; i = w.indexOf(p, i + p.length)) c += n;
        }
        count.set(p, c + 1);
        total += c + 1;
    }
    const vocab = [['<unk>', 0], ['<s>', 0], ['</s>', 0]];
    if (byteFallback) {
        for (let b = 0; b < 256; b++) {
            vocab.push(['<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>', 0]);
        }
    }
    for (const p of pieces) vocab.push([p, Math.log(count.get(p) / total)]);
    return { vocab, size: vocab.length };
}

// A SentencePiece precompiled_charsmap (base64) mapping each key string to its replacement: u32 LE
// trie size, a darts-clone double array over the keys' UTF-8 bytes, the replacements NUL-ended.
// Each node with children gets a block of 256 units of its own (child c of a node whose children
// start at B sits at B ^ c = B + c; a leaf's value unit at B itself).
function charsmap(map) {
    const strings = [];
    const value = new Map();
    let off = 0;
    for (const [k, v] of map) {
        value.set(k, off);
        const b = Buffer.from(v, 'utf8');
        strings.push(b, Buffer.from([0]));
        off += b.length + 1;
    }
    const root = { kids: new Map(), leaf: -1 };
    for (const [k] of map) {
        let n = root;
        for (const c of Buffer.from(k, 'utf8')) {
            if (!n.kids.has(c)) n.kids.set(c, { kids: new Map(), leaf: -1 });
            n = n.kids.get(c);
        }
        n.leaf = value.get(k);
    }
    const units = [0];
    let blocks = 0;
    const place = (n, pos) => { // n sits at pos; its label and has_leaf are set by the parent
        if (n.kids.size === 0 && n.leaf < 0) return;
        const base = 256 * ++blocks;
        while (units.length < base + 256) units.push(0);
        units[pos] |= (pos ^ base) << 10;
        if (n.leaf >= 0) units[base] = (0x80000000 | n.leaf) >>> 0;
        for (const [c, k] of n.kids) {
            units[base ^ c] = c | (k.leaf >= 0 ? 1 << 8 : 0);
            place(k, base ^ c);
        }
    };
    place(root, 0);
    const head = Buffer.alloc(4 + 4 * units.length);
    head.writeUInt32LE(4 * units.length, 0);
    units.forEach((u, i) => head.writeUInt32LE(u >>> 0, 4 + 4 * i));
    return Buffer.concat([head].concat(strings)).toString('base64');
}

module.exports = { B2U, bl, GPT2_RE, trainMerges, countWords, byteLevel, spmBpe, wordPiece, unigram,
                   charsmap };
