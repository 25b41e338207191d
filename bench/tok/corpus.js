// corpus.js — the texts of the tokenizer goldens (goldens.js) and the text their small
// vocabularies are trained on. Written for this project.
//   fixed(): mixed texts (English, code, numbers, whitespace runs, CJK, emoji, accents in both
//            normal forms, special-token look-alikes, scripts with combining marks)
//   invalid(): byte strings that are not UTF-8 (wick replaces them as from_utf8_lossy does)
//   random(n, seed): random mixes of edge characters
'use strict';

const TRAIN = `The quick brown fox jumps over the lazy dog. It's a tokenizer test, and they're
testing it: we'll see what the model does when the text isn't plain English. Don't worry!
Tokenizers split the text into pieces, then merge the most frequent pairs of symbols into tokens.
A language model reads the tokens, not the characters; the vocabulary decides how many tokens a
sentence needs. Numbers like 42, 3.14159, 2024 and 1,000,000 are split into digits or groups.
In 1969 the first people walked on the Moon; the mission lasted 8 days, 3 hours and 18 minutes.
The weather in Paris, London and New York was mild: 18 degrees, with rain in the afternoon.
Information retrieval, understanding, responsibility and international development.
the the the of of and and to to in in is is that that for for it it as as with with
def forward(self, x):
    h = self.norm(x)
    return x + self.attn(h)

for (int i = 0; i < n; ++i) {
    sum += x[i] * w[i];
}
if (rc < 0) { return fail("bad header: %s", path); }
const result = await fetch(\`\${base}/api/v1/items?id=\${id}\`);
SELECT name, COUNT(*) FROM users WHERE age >= 21 GROUP BY name;
<div class="container"><span id="x42">&nbsp;</span></div>
Der schnelle braune Fuchs springt über den faulen Hund. Größe, Straße, Übung, schön.
Le café est très bon à Paris; l'été dernier, nous étions à Nice. Où est la bibliothèque ?
El niño comió una manzana; mañana será otro día. ¿Dónde está la estación?
Привет, мир! Это тест токенизатора. Москва и Санкт-Петербург.
Καλημέρα κόσμε, αυτό είναι ένα τεστ. ΟΔΟΣ, οδός.
自然语言处理是人工智能的一个重要领域。我们今天在北京开会，讨论模型的性能。
東京タワーは東京都港区芝公園にある電波塔です。日本語のテキストを正しく分割します。
한국어 문장도 포함되어 있습니다. 서울은 대한민국의 수도입니다.
مرحبا بالعالم، هذا اختبار. اللغة العربية جميلة.
नमस्ते दुनिया, यह एक परीक्षण है। हिन्दी भाषा।
สวัสดีชาวโลก นี่คือการทดสอบ
Emoji: 🤖 🚀 🎉 😀 👍🏽 ❤️ 🔥 ✨ 🧠 📈 👩‍👩‍👧‍👦 🇫🇷
naïve café résumé Zürich Ångström façade coöperate São Paulo Kraków Dvořák
    indented line
\t\ttabbed line
trailing spaces   
multiple    spaces    between    words
1234567890 12345678901234567890 9876543210 1000000 2024-06-15 12:30:45 3.14159265358979
0.000001 42424242 777 8888 99999 123456 654321 1234567890 12345678901234567890 100200300
`;

const FIXED = [
    '', ' ', '  ', '   ', '\n', '\n\n', '\n\n\n', '\t', ' \t \n ', '\r\n', 'a', 'A', 'é',
    'Hello world', 'Hello, World!', ' Hello', 'hello   world  ', 'HELLO WORLD', 'hElLo WoRlD',
    "It's a test, and they're testing it. I'LL SEE. She'd've known. don't DON'T",
    "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'ſ x'ſ",
    'The quick brown fox jumps over the lazy dog.',
    'Tokenizers split text into pieces, then merge the most frequent pairs.',
    '12345678901234567890', '3.14159 and -42 and 1,000,000', '1969 2024 007 0.5 1e-9 0x1F',
    '١٢٣ ٤٥٦ ²³ ½ ¼ ¾ Ⅻ ① ５６７', 'CamelCaseWord snake_case_word kebab-case-word',
    'def forward(self, x):\n    h = self.norm(x)\n    return x + self.attn(h)\n',
    'for (int i = 0; i < n; ++i) {\n\tsum += x[i] * w[i];\n}\n',
    'if (a != b && c <= d || e >= f) { x->y = z[0]; }', 'https://example.com/path?q=1&r=2#frag',
    'user@example.org, /usr/local/bin, C:\\Windows\\System32', '#!/bin/sh\necho "$HOME" | wc -l\n',
    '<div class="x">&amp;&lt;&gt;</div>', '{"key": [1, 2, {"nested": null}]}',
    '    indented\n        more\n\t\ttabs\n', 'trailing spaces   ', '   leading spaces',
    'multiple    spaces    between    words', 'line one\nline two\r\nline three\rend',
    'a\u00A0b\u2003c\u3000d\u200Be\u2028f\u2029g\u0085h\u180Ei',
    '自然语言处理是人工智能的一个重要领域。', '我们今天在北京开会，讨论模型的性能。',
    '東京タワーは東京都港区芝公園にある電波塔です。', 'ひらがな カタカナ ｶﾀｶﾅ 漢字',
    '한국어 문장도 포함되어 있습니다.', '中文English混合Text123测试',
    'Привет, мир! Это тест.', 'Καλημέρα κόσμε ΟΔΟΣ οδός Σ ς', 'İstanbul ıi İI ǅ ǈ',
    'مرحبا بالعالم، هذا اختبار.', 'नमस्ते दुनिया, यह एक परीक्षण है। कि की कु',
    'สวัสดีชาวโลก', 'עברית שלום', 'ሰላም ዓለም',
    '🤖🚀🎉 😀 👍🏽 ❤️ 🔥✨', '👩‍👩‍👧‍👦 🇫🇷🇩🇪 🏳️‍🌈 1️⃣', 'emoji🤖inside😀words',
    'naïve café résumé Zürich Ångström', 'nai\u0308ve cafe\u0301 re\u0301sume\u0301',
    'e\u0301 e\u0301\u0301 \u0301a A\u030A \u212B \u2126 \uFB01 \uFB03 \u2460 \u2122 \u00BD',
    'Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ！？', 'ﬁle ﬂow ǆ ǲ ß ẞ ſt',
    '<|endoftext|>', '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    'text<|endoftext|>more text', '<|endoftext', '<|im_end |>', '< |im_end|>', '<<|im_end|>>',
    '<s>hello</s>', '<unk> <pad> <mask>', '[CLS] hello [SEP] world [SEP]', '[UNK][MASK]',
    '<tool>call</tool>', 'x<tool>y', ' <tool> ',
    '\u0000nul\u0001ctl\u007Fdel\u009Fc1', '\uFFFD replacement \uFFFD\uFFFD', '\uFEFFbom',
    'zero\u200Dwidth\u200Cjoiners\u2060', 'soft\u00ADhyphen', '\u202Ertl override',
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    'supercalifragilisticexpialidocious antidisestablishmentarianism',
    'unreachable xyzzy unreachablexyzzy', '.,;:!?…。，、।۔،()[]{}<>', '$+<=>^`|~ @#%&*',
    '--- *** ___ === ~~~ ...', "'quoted' \"double\" «guillemets» „low“ ‘single’",
    'word.word,word;word', '3.14€ £5 ¥100 $1,000.00', 'a1b2c3 1a2b3c', 'x²+y²=z² √2 π≈3.14',
    '\u0915\u093F\u0915\u0940 \u0BA4\u0BAE\u0BBF\u0BB4\u0BCD', 'ḁ̘̟ ẚ Ǻ̈́ q̃',
    'Thequickbrownfox jumpsoverthelazydog', 'the the the the', 'of and to in is',
];

// Bytes that are not UTF-8 (hex), each also embedded in text.
const INVALID = [
    'ff', 'fe', 'c0af', 'e080af', 'eda080', 'edbfbf', 'f4908080', 'f09f98', 'e4b8',
    '616263c3', '68656c6c6fff776f726c64', 'c328', 'e28228', 'f0288c28', '80', 'bfbfbf',
    '20ff20', '3cfe7c656e646f66746578747c3e', 'f8888080', 'fc8480808080',
];

function fixed() {
    return FIXED.slice();
}

function invalid() {
    return INVALID.map((h) => Buffer.from(h, 'hex'));
}

// Random mixes of the characters the pre-tokenizers and normalizers treat differently.
function random(n, seed) {
    let s = seed >>> 0 || 1;
    const rnd = () => {
        s ^= s << 13; s >>>= 0;
        s ^= s >>> 17;
        s ^= s << 5; s >>>= 0;
        return s;
    };
    const alpha = [...'abcdeflmrstvxzABCDELMRSTVZ0123456789   \t\n\r\'".,-/()_#!?<>|$+=^`~']
        .map((c) => c.codePointAt(0))
        .concat([0x0B, 0x0C, 0x1C, 0x1F, 0x7F, 0x85, 0xA0, 0x1680, 0x2000, 0x2009, 0x200A,
                 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0x180E, 0xFEFF, 0x200B, 0x200D, 0x17F,
                 0x212A, 0xDF, 0x130, 0x131, 0xE9, 0xC9, 0x301, 0x308, 0x903, 0x20DD, 0x1C5,
                 0x2B0, 0x5D0, 0x627, 0x3B1, 0x3A3, 0x416, 0x4E16, 0x754C, 0x3005, 0x3007,
                 0x2E80, 0x30BF, 0x30FC, 0x3042, 0xAC00, 0x1100, 0xFF21, 0xFF41, 0x663, 0x2162,
                 0xBD, 0xB2, 0xFF11, 0x1F916, 0x1F680, 0x2764, 0xFE0F, 0x3002, 0xFF0C, 0x2014,
                 0x201C, 0xA9, 0x20AC, 0x1E9B, 0xFB01, 0x2126, 0x1F3FD, 0x915, 0x93F, 0xE01,
                 0xE31, 0x2026, 0x60C, 0x6D4, 0x964, 0x3001, 0xFF61, 0xFF76, 0x20000, 0x2A700]);
    const words = ['the', 'The', 'tokenizer', ' model', 'ing', "'s", "'LL", '<|endoftext|>',
                   '<|im_end|>', '<tool>', '[SEP]', '<s>', '123', '4567', 'über', '東京',
                   '语言', 'Привет', '   ', '\n\n'];
    const out = [];
    for (let i = 0; i < n; i++) {
        let t = '';
        const len = rnd() % 40;
        for (let k = 0; k < len; k++) {
            const x = rnd();
            if (x % 11 === 0) {
                t += words[rnd() % words.length];
            } else if (x % 31 === 0) {
                let cp;
                do { cp = rnd() % 0x30000; } while (cp >= 0xD800 && cp <= 0xDFFF);
                t += String.fromCodePoint(cp);
            } else {
                t += String.fromCodePoint(alpha[rnd() % alpha.length]);
            }
        }
        out.push(t);
    }
    return out;
}

module.exports = { TRAIN, fixed, invalid, random };
