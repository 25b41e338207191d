// plamo2.js — the reference for PLaMo 2's tokenizer (tokenizer.ggml.model "plamo2"), written for
// this project from the rule of PLaMo 2's tokenization_plamo.py as llama.cpp's
// llm_tokenizer_plamo2 runs it: each token's score becomes an integer, round(score * 1e4) (half
// away from zero; not finite: the token is never used); the text, as code points (a first U+FEFF
// dropped), is cut into the pieces whose integer scores add up highest, a character no token
// covers costing 1e7 and spelled as the <0xXX> byte tokens of its UTF-8; between equal totals,
// the longest token at the earliest position. Every token but the BYTE ones is a piece (CONTROL
// ones too); of tokens with the same text the last one counts. Around it, as for the other GGUF
// vocabularies: CONTROL, USER_DEFINED and UNKNOWN tokens split off first (PARSE_SPECIAL), nothing
// added at the ends, decoding joins the tokens' texts with byte tokens as their bytes.
// Writes FAMILY.json (the GGUF keys llama.cpp's converter writes) and FAMILY.jsonl (golden lines
// {text or b64, ids, decoded}) for goldens.js.
'use strict';
const fs = require('fs');
const path = require('path');

const UNKNOWN_COST = 10000000;

const intScore = (f) => {
    const x = Math.fround(f) * 1e4;
    return Math.sign(x) * Math.round(Math.abs(x));
};

// tokens: [{text, score, type}] (1 NORMAL, 2 UNKNOWN, 3 CONTROL, 6 BYTE)
function tokenizer(tokens) {
    const pieces = new Map(); // text -> {id, cost}
    const bytes = new Array(256);
    let maxLen = 1;
    tokens.forEach((t, id) => {
        if (t.type === 6) {
            bytes[parseInt(t.text.slice(3, 5), 16)] = id;
            return;
        }
        const ok = Number.isFinite(Math.fround(t.score));
        pieces.set(t.text, ok ? { id, gain: intScore(t.score) } : null);
        maxLen = Math.max(maxLen, [...t.text].length);
    });
    const specials = [];
    tokens.forEach((t, id) => { if (t.type === 2 || t.type === 3) specials.push([t.text, id]); });
    specials.sort((a, b) => b[0].length - a[0].length);

    const model = (text, out) => {
        let cps = [...text];
        if (cps[0] === '\uFEFF') cps = cps.slice(1);
        const n = cps.length;
        const best = new Array(n + 1).fill(Infinity), step = new Array(n + 1);
        best[n] = 0;
        for (let i = n - 1; i >= 0; i--) {
            for (let len = Math.min(maxLen, n - i); len >= 1; len--) { // longest first: ties keep it
                const p = pieces.get(cps.slice(i, i + len).join(''));
                if (!p) continue;
                const c = best[i + len] - p.gain;
                if (c < best[i]) { best[i] = c; step[i] = [len, p.id]; }
            }
            const u = best[i + 1] + UNKNOWN_COST;
            if (u < best[i]) { best[i] = u; step[i] = [1, -1]; }
        }
        for (let i = 0; i < n; i += step[i][0]) {
            if (step[i][1] >= 0) out.push(step[i][1]);
            else for (const b of Buffer.from(cps[i], 'utf8')) out.push(bytes[b]);
        }
    };
    const encode = (text) => {
        const out = [];
        let seg = 0;
        for (let i = 0; i < text.length;) {
            const sp = specials.find(([s]) => text.startsWith(s, i));
            if (!sp) { i++; continue; }
            model(text.slice(seg, i), out);
            out.push(sp[1]);
            i += sp[0].length;
            seg = i;
        }
        model(text.slice(seg), out);
        return out;
    };
    const decode = (ids) => Buffer.concat(ids.map((id) => (tokens[id].type === 6 ?
        Buffer.from([parseInt(tokens[id].text.slice(3, 5), 16)]) : Buffer.from(tokens[id].text))))
        .toString('utf8');
    return { encode, decode };
}

// The vocabulary: <|plamo:unk|> (UNKNOWN), bos, eos, pad, op (CONTROL), <0x00>..<0xFF>, then the
// valid UTF-8 tokens of a byte-level BPE vocabulary of the training text (spaces as they are)
// scored by log frequency, hand-made ties, a duplicate and a token without a finite score, and
// [PADn] (score -1000) up to a multiple of 64, as the converter pads.
function vocabulary(V, train) {
    const U2B = new Map(V.B2U.map((c, b) => [c, b]));
    const bl = V.byteLevel(train, 300, []);
    const texts = new Set();
    for (const k of Object.keys(bl.vocab)) {
        const b = Buffer.from([...k].map((c) => U2B.get(c)));
        const s = b.toString('utf8');
        if (Buffer.from(s, 'utf8').equals(b) && !s.includes('\0')) texts.add(s); // NUL: bytes
    }
    const count = (p) => { let c = 0; for (let i = train.indexOf(p); i >= 0; i = train.indexOf(p, i + 1)) c++; return c; };
    const tokens = [{ text: '<|plamo:unk|>', score: 0, type: 2 }];
    for (const s of ['bos', 'eos', 'pad', 'op']) tokens.push({ text: `<|plamo:${s}|>`, score: 0, type: 3 });
    for (let b = 0; b < 256; b++) {
        tokens.push({ text: '<0x' + b.toString(16).toUpperCase().padStart(2, '0') + '>', score: 0, type: 6 });
    }
    const total = train.length;
    for (const s of [...texts].sort()) {
        tokens.push({ text: s, score: Math.fround(Math.log((count(s) + 1) / total)), type: 1 });
    }
    // ties: "āē"+"ī" and "ā"+"ēī" score the same; "ōū" twice (the second counts); "ǖ" never used
    for (const [text, score] of [['āē', -3], ['ī', -3], ['ā', -3], ['ēī', -3], ['ōū', -9],
                                 ['ǖ', NaN], ['ōū', -1], ['the quick', -2.00005], [' lazy dog', -4.5]]) {
        tokens.push({ text, score: Math.fround(score), type: 1 });
    }
    let pad = 1;
    while (tokens.length % 64) tokens.push({ text: `[PAD${pad++}]`, score: -1000, type: 1 });
    return tokens;
}

function write(out, name, V, corpus) {
    const tokens = vocabulary(V, corpus.TRAIN);
    const keys = { model: 'plamo2', pre: 'default', tokens: tokens.map((t) => t.text),
                   scores: tokens.map((t) => (Number.isNaN(t.score) ? 'nan' : t.score)),
                   token_type: tokens.map((t) => t.type), bos_token_id: 1, eos_token_id: 2,
                   padding_token_id: 3, eot_token_id: 4 };
    fs.writeFileSync(path.join(out, name + '.json'), JSON.stringify(keys) + '\n');
    const tk = tokenizer(tokens);
    const lines = [];
    const one = (text, b64) => {
        const ids = tk.encode(text);
        const o = b64 ? { b64 } : { text };
        o.ids = ids;
        o.decoded = tk.decode(ids);
        lines.push(JSON.stringify(o));
    };
    const extraTexts = ['āēī ā ēī āē ī', 'ōū ǖ ōūǖ', 'The quick brown fox jumps over the lazy dog',
                        '[PAD1] [PAD2][PAD9]', '\uFEFF\uFEFFtwo boms', 'a<|plamo:bos|>\uFEFFb',
                        '<|plamo:op|><|plamo:unk|><|plamo:pad', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∮ ℕ'];
    for (const t of corpus.fixed().concat(extraTexts)) one(t);
    for (const b of corpus.invalid()) one(b.toString('utf8'), b.toString('base64'));
    for (const t of corpus.random(60, 7)) one(t);
    fs.writeFileSync(path.join(out, name + '.jsonl'), lines.join('\n') + '\n');
    return name + '.json';
}

module.exports = { tokenizer, vocabulary, write };
