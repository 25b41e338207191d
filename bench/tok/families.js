// families.js — the tokenizer families of the goldens: each a tokenizer.json pipeline (as the
// model family's published tokenizer.json has it, or as llama.cpp's src/llama-vocab.cpp splits
// where no published file was at hand; see src/tok/pre_table.c, which must agree) on one of the
// small vocabularies of vocab.js, and the GGUF names that stand for it.
'use strict';
const V = require('./vocab');
const corpus = require('./corpus');
const RWKV = require('./rwkv');
const PLAMO2 = require('./plamo2');

const R = String.raw;
// String.raw with \u{HEX} escapes turned into the characters (the exact code points of the
// published patterns, safe from editors that normalize text).
const U = (t, ...a) => String.raw(t, ...a).replace(/\\u\{([0-9a-f]+)\}/g,
                                                     (m, h) => String.fromCodePoint(parseInt(h, 16)));
const split = (re, behavior = 'Isolated', invert = false) =>
    ({ type: 'Split', pattern: { Regex: re }, behavior, invert });
const BL = (useRegex) =>
    ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const digits = (individual) => ({ type: 'Digits', individual_digits: individual });
const seq = (...p) => ({ type: 'Sequence', pretokenizers: p });
const NFC = { type: 'NFC' };

const CI = R`(?i:'s|'t|'re|'ve|'m|'ll|'d)`;
const TAIL = R`| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const LLAMA3 = CI + R`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}` + TAIL;
const QWEN2 = CI + R`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}` + TAIL;
const QWEN35 = CI + R`|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const JAIS2 = CI + R`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}`;
const UP = R`[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`, LO = R`[\p{Ll}\p{Lm}\p{Lo}\p{M}]`;
const O200K = R`[^\r\n\p{L}\p{N}]?` + UP + '*' + LO + '+' + CI + R`?|[^\r\n\p{L}\p{N}]?` + UP + '+' +
    LO + '*' + CI + R`?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const TEKKEN = R`[^\r\n\p{L}\p{N}]?` + UP + '*' + LO + R`+|[^\r\n\p{L}\p{N}]?` + UP + '+' + LO +
    R`*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const GPT2_NO_TAIL = R`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`;
const DS3 = R`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + '`' + R`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const DS_LETTERS = U`\s?[A-Za-z\u{b5}\u{c0}-\u{d6}\u{d8}-\u{f6}\u{f8}-\u{1ba}\u{1bc}-\u{1bf}\u{1c4}-\u{293}\u{295}-\u{2af}\u{370}-\u{373}\u{376}\u{377}\u{37b}-\u{37d}\u{37f}\u{386}\u{388}-\u{38a}\u{38c}\u{38e}-\u{3a1}\u{3a3}-\u{3f5}\u{3f7}-\u{481}\u{48a}-\u{52f}\u{531}-\u{556}\u{10a0}-\u{10c5}\u{13a0}-\u{13f5}\u{13f8}-\u{13fd}\u{1c90}-\u{1cba}\u{1cbd}-\u{1cbf}\u{1d00}-\u{1d2b}\u{1d6b}-\u{1d77}\u{1d79}-\u{1d9a}\u{1e00}-\u{1f15}\u{1f18}-\u{1f1d}\u{1f20}-\u{1f45}\u{1f48}-\u{1f4d}\u{1f50}-\u{1f57}\u{1f59}\u{1f5b}\u{1f5d}\u{1f5f}-\u{1f7d}\u{1f80}-\u{1fb4}\u{1fb6}-\u{1fbc}\u{1fbe}\u{1fc2}-\u{1fc4}\u{1fc6}-\u{1fcc}\u{1fd0}-\u{1fd3}\u{1fd6}-\u{1fdb}\u{1fe0}-\u{1fec}\u{1ff2}-\u{1ff4}\u{1ff6}-\u{1ffc}\u{2102}\u{2107}\u{210a}-\u{2113}\u{2115}\u{2119}-\u{211d}\u{2124}\u{2126}\u{2128}\u{212a}-\u{212d}\u{212f}-\u{2134}\u{2139}\u{213c}-\u{213f}\u{2145}-\u{2149}\u{214e}\u{2183}\u{2184}\u{2c00}-\u{2c7b}\u{2c7e}-\u{2ce4}\u{2ceb}-\u{2cee}\u{2cf2}\u{2cf3}\u{a640}-\u{a66d}\u{a680}-\u{a69b}\u{a722}-\u{a76f}\u{a771}-\u{a787}\u{a78b}-\u{a78e}\u{ab70}-\u{abbf}\u{fb00}-\u{fb06}\u{fb13}-\u{fb17}\u{ff21}-\u{ff3a}\u{ff41}-\u{ff5a}\u{10400}-\u{1044f}\u{104b0}-\u{104d3}\u{104d8}-\u{104fb}\u{10c80}-\u{10cb2}\u{10cc0}-\u{10cf2}\u{118a0}-\u{118df}\u{1e900}-\u{1e943}]+`;
const DS_PUNCT = U`\s?[!-/:-~\u{ff01}-\u{ff0f}\u{ff1a}-\u{ff5e}\u{2018}-\u{201f}\u{3000}-\u{3002}]+`;
const DS_CJK = U`[\u{4e00}-\u{9fa5}\u{800}-\u{4e00}\u{ac00}-\u{d7ff}]+`;
const BLOOM = U` ?[^(\s|[.,!?\u{2026}\u{3002}\u{ff0c}\u{3001}\u{964}\u{6d4}\u{60c}])]+`;
const YOUTU1 = U`[\u{ac00}-\u{d7a3}\u{3131}-\u{318e}]+|[\u{ff01}\u{2026}\u{201c}\u{201d}\u{2018}\u{2019}\u{2014}\u{ff1a}\u{ff1b}\u{ff0c}\u{3001}-\u{303f}\u{fe30}-\u{fe4f}]+|[\u{3105}-\u{312f}]+|[\u{4e00}-\u{9fa5}\u{3040}-\u{309f}\u{30a0}-\u{30ff}]+`;
const CS = R`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const YOUTU2 = R`[^\r\n\p{L}\p{N}]?` + UP + '*' + LO + '+' + CS + R`?|[^\r\n\p{L}\p{N}]?` + UP +
    '+' + LO + '*' + CS + R`?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const BAILING = R`'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`;
const SEED = CI + R`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`;
const EXAONE_MOE = CI + R`|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+`;
const MINICPM5 = CI + R`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+` + TAIL;
const AFMOE_CJK = U`[\u{4e00}-\u{9fff}\u{3400}-\u{4dbf}\u{8c48}-\u{faff}\u{3040}-\u{309f}\u{30a0}-\u{30ff}\u{ff65}-\u{ff9f}\u{2f00}-\u{2fdf}\u{e40}-\u{e7f}\u{e80}-\u{eff}\u{1780}-\u{17ff}\u{1000}-\u{109f}\u{aa60}-\u{aa7f}\u{a9e0}-\u{a9ff}\u{ac00}-\u{d7af}\u{1100}-\u{11ff}]+`;
const KUP = R`[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]`, KLO = R`[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]`;
const KIMI = R`[\p{Han}]+|[^\r\n\p{L}\p{N}]?` + KUP + '*' + KLO + '+' + CI + R`?|[^\r\n\p{L}\p{N}]?` +
    KUP + '+' + KLO + '*' + CI + R`?|\p{N}{1,3}` + TAIL;

// Byte-level BPE families: [name, pre_tokenizer, normalizer, ignore_merges, GGUF pre names].
const BYTE_LEVEL = [
    ['gpt2', BL(true), null, false,
     ['gpt-2', 'gpt2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de',
      'a.x-4.0', 'mellum', 'modern-bert', 'mpt', 'olmo', 'jais', 'trillion', 'granite-docling',
      'exaone4', 'jina-v1-en', 'jina-v2-code', 'roberta-bpe']],
    ['llama3', seq(split(LLAMA3), BL(false)), null, true,
     ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2',
      'jina-v5-nano']],
    ['dbrx', seq(split(LLAMA3), BL(false)), null, false, ['dbrx', 'smaug-bpe', 'glm4', 'chatglm-bpe']],
    ['jais-2', seq(split(JAIS2), BL(false)), null, false, ['jais-2']],
    ['qwen2', seq(split(QWEN2), BL(false)), NFC, false, ['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2']],
    ['stablelm2', seq(split(QWEN2), BL(false)), null, false,
     ['stablelm2', 'hunyuan', 'solar-open', 'grok-2', 'megrez']],
    ['qwen35', seq(split(QWEN35), BL(false)), NFC, false, ['qwen35']],
    ['deepseek-llm', seq(split('[\r\n]'), split(DS_LETTERS), split(DS_PUNCT), split(R`\s+$`),
                         split(DS_CJK), digits(true), BL(false)), null, false, ['deepseek-llm']],
    ['deepseek-coder', seq(split('[\r\n]'), split(R`\s?\p{L}+`), split(R`\s?\p{P}+`), split(DS_CJK),
                           digits(true), BL(false)), null, false, ['deepseek-coder']],
    ['deepseek-v3', seq(split(R`\p{N}{1,3}`), split(U`[\u{4e00}-\u{9fa5}\u{3040}-\u{309f}\u{30a0}-\u{30ff}]+`), split(DS3), BL(false)), null,
     false, ['deepseek-v3', 'hunyuan-dense', 'joyai-llm']],
    ['youtu', seq(split(YOUTU1), split(YOUTU2), BL(false)), null, true, ['youtu']],
    ['falcon', seq({ type: 'Punctuation', behavior: 'Contiguous' }, BL(true), digits(false),
                   split('[0-9][0-9][0-9]')), null, false, ['falcon']],
    ['starcoder', seq(digits(true), BL(true)), null, false,
     ['starcoder', 'refact', 'smollm', 'codeshell', 'exaone', 'minerva-7b', 'mellum2']],
    ['command-r', seq(digits(true), BL(true)), NFC, false, ['command-r']],
    ['bloom', seq(split(BLOOM), BL(false)), null, false, ['bloom', 'poro-chat', 'gpt3-finnish']],
    ['viking', seq(split(BLOOM), digits(true), BL(false)), null, false, ['viking']],
    ['tekken', seq(split(TEKKEN), BL(false)), null, true, ['tekken']],
    ['chameleon', seq(split('<sentinel:[0-9]+>'), split('(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z'),
                      split('([\t\n]|    |  )'), split(R`\p{N}`), split(R`[\p{P}!-/:-@\[-` + '`' + '{-~]'),
                      BL(true)), null, false, ['chameleon']],
    ['gpt-4o', seq(split(O200K), BL(false)), null, false,
     ['gpt-4o', 'llama4', 'kanana2', 'talkie', 'minimax-m2']],
    ['granite-97m', seq(split(O200K), BL(false)), null, true, ['granite-embed-multi-97m']],
    ['tiny-aya', seq(split(R`\d{1,3}(?=(?:\d{3})*\b)`), split(O200K), BL(false)), null, false,
     ['tiny_aya', 'cohere2moe']],
    ['superbpe', seq(split(R`\p{N}+`), split(R`(?=(\d{3})+(?!\d))`), BL(false)), null, false,
     ['superbpe']],
    ['bailingmoe', seq(split(BAILING), BL(false)), null, false,
     ['bailingmoe', 'bailingmoe2', 'llada-moe']],
    ['seed-coder', seq(split(SEED), BL(false)), null, false, ['seed-coder']],
    ['afmoe', seq(split(R`\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))`), split(AFMOE_CJK), split(DS3),
                  BL(false)), null, false, ['afmoe']],
    ['exaone-moe', seq(split(EXAONE_MOE), BL(false)), null, false, ['exaone-moe']],
    ['minicpm5', seq(split(R`\p{N}{1,3}`), split(MINICPM5), BL(false)), null, true, ['minicpm5']],
    ['kimi-k2', seq(split(KIMI), BL(false)), null, false, ['kimi-k2']],
    ['default', seq(split(R`[\p{P}\$\+<=>\^~\|]+`), split(GPT2_NO_TAIL), split(R`\p{N}+`),
                    split('[0-9][0-9][0-9]'), BL(false)), null, false, ['default', '']],
];

const ADDED_BL = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

function added(list, first) {
    return list.map((c, i) => ({ id: first + i, content: c, single_word: false, lstrip: false,
                                 rstrip: false, normalized: false, special: c !== '<tool>' }));
}

function tokenizerJson(parts) {
    return Object.assign({ version: '1.0', truncation: null, padding: null, added_tokens: [],
                           normalizer: null, pre_tokenizer: null, post_processor: null,
                           decoder: null }, parts);
}

function bpeModel(vocab, merges, opts) {
    return Object.assign({ type: 'BPE', dropout: null, unk_token: null,
                           continuing_subword_prefix: null, end_of_word_suffix: null,
                           fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab,
                           merges }, opts);
}

function families() {
    const out = [];
    const blv = V.byteLevel(corpus.TRAIN, 700, [' unreachable', 'xyzzy', '        ', '\n\n\n\n']);
    for (const [name, pre, norm, ignore, pres] of BYTE_LEVEL) {
        out.push({
            name,
            json: tokenizerJson({
                added_tokens: added(ADDED_BL.concat(['<tool>']), blv.size),
                normalizer: norm,
                pre_tokenizer: pre,
                decoder: BL(true),
                model: bpeModel(blv.vocab, blv.merges, { ignore_merges: ignore }),
            }),
            gguf: { model: 'gpt2', pre: pres },
        });
    }
    // WordPiece (BERT uncased) and its GGUF twin (model "bert")
    const wp = V.wordPiece(corpus.TRAIN, 600);
    const special = (list) => list.map(([c, id]) => ({ id, content: c, single_word: false,
                                                      lstrip: false, rstrip: false,
                                                      normalized: false, special: true }));
    out.push({
        name: 'bert',
        json: tokenizerJson({
            added_tokens: special([['[PAD]', 0], ['[UNK]', 1], ['[CLS]', 2], ['[SEP]', 3],
                                   ['[MASK]', 4]]),
            normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true,
                          strip_accents: null, lowercase: true },
            pre_tokenizer: { type: 'BertPreTokenizer' },
            post_processor: {
                type: 'TemplateProcessing',
                single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } },
                         { Sequence: { id: 'A', type_id: 0 } },
                         { SpecialToken: { id: '[SEP]', type_id: 0 } }],
                pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } },
                       { Sequence: { id: 'A', type_id: 0 } },
                       { SpecialToken: { id: '[SEP]', type_id: 0 } },
                       { Sequence: { id: 'B', type_id: 1 } },
                       { SpecialToken: { id: '[SEP]', type_id: 1 } }],
                special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
                                  '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
            },
            decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
            model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
                     max_input_chars_per_word: 100, vocab: wp.vocab },
        }),
        gguf: { model: 'bert', pre: ['default'] },
    });
    // Unigram (T5 style: Metaspace, </s> after) and its GGUF twin (model "t5"), without and with
    // byte fallback
    // a few NFKC-like mappings of a SentencePiece charsmap (fullwidth, ligatures, circled digits,
    // spaces, a decomposed accent, a key that is a prefix of another)
    const CM = V.charsmap([['\uFF21', 'A'], ['\uFF41', 'a'], ['\uFF11', '1'], ['\uFB01', 'fi'],
                           ['\uFB03', 'ffi'], ['\u2460', '1'], ['\u00A0', ' '], ['\u3000', ' '],
                           ['e\u0301', '\u00E9'], ['\u2126', '\u03A9'], ['\u212B', '\u00C5'],
                           ['\u00BD', '1\u20442'], ['\u2122', 'TM'], ['\u200B', '']]);
    for (const [name, bf, cm] of [['t5', false, false], ['unigram-bytes', true, false],
                                  ['t5-charsmap', false, true]]) {
        const ug = V.unigram(corpus.TRAIN, 500, bf);
        out.push({
            name,
            json: tokenizerJson({
                added_tokens: special([['<unk>', 0], ['<s>', 1], ['</s>', 2]]),
                normalizer: { type: 'Sequence', normalizers: (cm ?
                    [{ type: 'Precompiled', precompiled_charsmap: CM }] : []).concat([
                    { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }]) },
                pre_tokenizer: { type: 'Metaspace', replacement: '\u2581',
                                 prepend_scheme: 'always', split: true },
                post_processor: {
                    type: 'TemplateProcessing',
                    single: [{ Sequence: { id: 'A', type_id: 0 } },
                             { SpecialToken: { id: '</s>', type_id: 0 } }],
                    pair: [{ Sequence: { id: 'A', type_id: 0 } },
                           { SpecialToken: { id: '</s>', type_id: 0 } },
                           { Sequence: { id: 'B', type_id: 0 } },
                           { SpecialToken: { id: '</s>', type_id: 0 } }],
                    special_tokens: { '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
                },
                // with byte fallback, the decoder HF's converter writes for such models
                decoder: bf ? { type: 'Sequence', decoders: [
                    { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
                    { type: 'ByteFallback' }, { type: 'Fuse' },
                    { type: 'Strip', content: ' ', start: 1, stop: 0 }] } :
                    { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always',
                      split: true },
                model: { type: 'Unigram', unk_id: 0, vocab: ug.vocab, byte_fallback: bf },
            }),
            gguf: { model: 't5', pre: ['default'] },
        });
    }
    // WordLevel (no GGUF twin: llama.cpp has no such vocabulary type): whole words or [UNK]
    const wl = { '[UNK]': 0 };
    let wn = 1;
    for (const [w] of V.countWords(corpus.TRAIN.match(/\w+|[^\w\s]+/gu))) wl[w] = wn++;
    out.push({
        name: 'wordlevel',
        json: tokenizerJson({
            added_tokens: special([['[UNK]', 0]]),
            normalizer: { type: 'NFKC' },
            pre_tokenizer: { type: 'Whitespace' },
            model: { type: 'WordLevel', vocab: wl, unk_token: '[UNK]' },
        }),
    });
    // Gemma 4's SentencePiece-style BPE inside a BPE GGUF (llama.cpp: spaces become U+2581, the
    // text is cut only at newlines, UTF-8 tokens with <0xXX> byte fallback): the tokenizer.json
    // of that rule, as tokenizer.ggml.pre names and as tokenizer.ggml.model "gemma4"
    const gm = V.spmBpe(corpus.TRAIN, 300, { lines: true });
    const gemmaJson = tokenizerJson({
        added_tokens: special([['<unk>', 0], ['<s>', 1], ['</s>', 2]]),
        normalizer: { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
        model: bpeModel(gm.vocab, gm.merges, { byte_fallback: true, unk_token: '<unk>' }),
        decoder: { type: 'Sequence', decoders: [
            { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
            { type: 'ByteFallback' }, { type: 'Fuse' }] },
    });
    out.push({ name: 'gemma4', json: gemmaJson,
               gguf: { model: 'gpt2', pre: ['gemma4', 'granite-embed-multi-311m', 'sarvam-moe'] } });
    out.push({ name: 'gemma4-model', json: gemmaJson, gguf: { model: 'gemma4', pre: ['llama3'] } });
    // RWKV's trie tokenizer (no tokenizer.json: rwkv.js is the reference and writes the GGUF keys)
    for (const [name, gaps] of [['rwkv', null],
                                ['rwkv-unk', (b) => b < 9 || (b >= 0x80 && b < 0xC0)]]) {
        out.push({ name, file: name + '.json', gguf: { model: 'rwkv' },
                   write: (dir, c) => RWKV.write(dir, name, V, c, gaps) });
    }
    // PLaMo 2's tokenizer (no tokenizer.json: plamo2.js is the reference, as rwkv.js)
    out.push({ name: 'plamo2', file: 'plamo2.json', gguf: { model: 'plamo2' },
               write: (dir, c) => PLAMO2.write(dir, 'plamo2', V, c) });
    return out;
}

module.exports = { families, BYTE_LEVEL };
