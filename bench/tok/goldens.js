// goldens.js — writes tests/data/tokenizers/hf/: one small tokenizer.json per tokenizer family
// (vocabularies trained by vocab.js on corpus.js's text), the ids and texts Hugging Face
// tokenizers (npm, pinned in package-lock.json) gives for the corpus (FAMILY.jsonl), and
// index.json: each family with the GGUF vocabulary type and the tokenizer.ggml.pre names whose
// rules are that family's (the GGUF made from the tokenizer.json with any of those names must
// tokenize the same; see tests/unit/test_tok_hf.c).
//   cd bench/tok && npm ci && node goldens.js [OUT_DIR]
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require(path.join(__dirname, 'node_modules', 'tokenizers'));
const corpus = require('./corpus');
const V = require('./vocab');
const { families } = require('./families');

const OUT = process.argv[2] || path.join(__dirname, '..', '..', 'tests', 'data', 'tokenizers', 'hf');

async function golden(tok, extra) {
    const lines = [];
    const one = async (text, b64) => {
        const ids = Array.from((await tok.encode(text, null, { addSpecialTokens: true })).getIds());
        const decoded = await tok.decode(ids, false);
        const o = b64 === undefined ? { text } : { b64 };
        o.ids = ids;
        o.decoded = decoded;
        lines.push(JSON.stringify(o));
    };
    for (const t of corpus.fixed().concat(extra || [])) await one(t);
    for (const b of corpus.invalid()) await one(b.toString('utf8'), b.toString('base64'));
    for (const t of corpus.random(60, 7)) await one(t);
    return lines.join('\n') + '\n';
}

(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    const index = [];
    for (const f of families()) {
        const file = f.name + '.json';
        const entry = { name: f.name, json: file, golden: f.name + '.jsonl' };
        if (f.gguf) entry.gguf = f.gguf;
        if (f.json) {
            fs.writeFileSync(path.join(OUT, file), JSON.stringify(f.json) + '\n');
            const tok = Tokenizer.fromFile(path.join(OUT, file));
            fs.writeFileSync(path.join(OUT, entry.golden), await golden(tok, f.extraTexts));
        } else {
            // no Hugging Face equivalent (RWKV): the family writes its own files and golden
            f.write(OUT, corpus);
            entry.json = f.file;
        }
        index.push(entry);
        process.stdout.write(f.name + ' ');
    }
    // the two hand-made tokenizers whose vectors came first (test_tok_hf.c's originals)
    index.push({ name: 'spm-like', json: 'spm-like.json', golden: 'spm-like.jsonl' });
    index.push({ name: 'byte-level', json: 'byte-level.json', golden: 'byte-level.jsonl' });
    fs.writeFileSync(path.join(OUT, 'index.json'),
                     '{"families": [\n' + index.map((e) => ' ' + JSON.stringify(e)).join(',\n') +
                     '\n]}\n');
    console.log('\nwrote ' + OUT);
})().catch((e) => { console.error(e); process.exit(1); });
