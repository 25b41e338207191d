// hfdiff.js — random Unicode mixes (letters of every case class, marks, Han, digits of all kinds,
// every White_Space character, contractions, special-token texts, random code points) tokenized
// by Hugging Face tokenizers, written as golden-style JSONL for `bench_tok --compare`:
//   node bench/tok/hfdiff.js TOKENIZER_JSON OUT.jsonl [N [SEED]]
//   build/bench_tok --compare TOKENIZER_JSON OUT.jsonl
const path = require('path');
const fs = require('fs');
const { Tokenizer } = require(path.join(__dirname, 'node_modules', 'tokenizers'));

const [tj, out, n = '3000', seed0 = '1'] = process.argv.slice(2);
let seed = Number(seed0) >>> 0 || 1;
function rnd() { // xorshift32
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return seed;
}
const alpha = [..."abcdeflmrstvABCDELMRSTVZ0123456789   \t\n\r'\".,-/()_#!?<>|"]
    .map((c) => c.codePointAt(0))
    .concat([0x0B, 0x0C, 0x1C, 0x1F, 0x7F, 0x85, 0xA0, 0x1680, 0x2000, 0x2009, 0x200A, 0x2028,
             0x2029, 0x202F, 0x205F, 0x3000, 0x180E, 0xFEFF, 0x200B, 0x200D, 0x17F, 0x212A, 0xDF,
             0x130, 0x131, 0xE9, 0xC9, 0x301, 0x308, 0x903, 0x20DD, 0x1C5, 0x2B0, 0x5D0, 0x627,
             0x3B1, 0x416, 0x4E16, 0x754C, 0x3005, 0x3007, 0x2E80, 0x30BF, 0x30FC, 0x3042, 0xAC00,
             0xFF21, 0x663, 0x2162, 0xBD, 0xFF11, 0x1F916, 0x1F680, 0x2764, 0xFE0F, 0x3002,
             0xFF0C, 0x2014, 0x201C, 0xA9, 0x20AC, 0x1E9B, 0xFB01, 0x2126, 0x1F3FD]);
const specials = ['<|im_end|>', '<|endoftext|>', '<think>', '[BOS]', '<|im_start|>', "'s", "'LL",
                  "'re"];

(async () => {
    const tok = Tokenizer.fromFile(tj);
    const lines = [];
    for (let i = 0; i < Number(n); i++) {
        let s = '';
        const len = rnd() % 50;
        for (let k = 0; k < len; k++) {
            const x = rnd();
            if (x % 13 === 0) {
                s += specials[rnd() % specials.length];
            } else if (x % 29 === 0) {
                let cp;
                do { cp = rnd() % 0x110000; } while (cp >= 0xD800 && cp <= 0xDFFF);
                s += String.fromCodePoint(cp);
            } else {
                s += String.fromCodePoint(alpha[rnd() % alpha.length]);
            }
        }
        const ids = Array.from((await tok.encode(s, null, { addSpecialTokens: false })).getIds());
        lines.push(JSON.stringify({ text: s, ids, decoded: await tok.decode(ids, false) }));
    }
    fs.writeFileSync(out, lines.join('\n') + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
