// pre_table.c — tokenizer.ggml.pre: the name a GGUF vocabulary gives its pre-tokenizer, and the
// rules each name stands for: the normalizers and pre-tokenizer steps of that model family's
// tokenizer.json, so that a GGUF vocabulary tokenizes as the tokenizer.json it was converted from.
//
// Sources: the families' published tokenizer.json files where their pre_tokenizer is known
// (gpt2, Llama 3, Qwen 2 with its NFC, DeepSeek LLM / Coder / V3, Falcon, StarCoder 2, SmolLM,
// Refact, Command-R with its NFC, GPT-4o, Tekken, BLOOM: Hugging Face tokenizers' own spelling,
// e.g.
// (?i:'s|...) where llama.cpp writes '[sS]), otherwise the regex lists of llama.cpp's
// src/llama-vocab.cpp (llm_tokenizer_bpe), whose regexes split one after the other, each keeping
// the text between its matches (a Split with behavior Isolated per regex). Names and model flags
// (ignore_merges, add_bos) as llama.cpp's llama_vocab::impl::load. bench/tok/families.js writes
// the same rules as tokenizer.json files for the goldens that prove each name.
#include <stdio.h>
#include <string.h>

#include "tok/tok.h"

// Steps: R regex (Split, Isolated); D Digits(individual); d Digits(contiguous); P Punctuation
// (Contiguous); B ByteLevel with GPT-2's regex; b ByteLevel (from here the GPT-2 alphabet);
// W WhitespaceSplit; normalizers N NFC, E Replace " " -> U+2581 (escape whitespace).
typedef struct step {
    char op;
    const char *arg;
} step;

enum {
    F_IGNORE = 1, // model.ignore_merges: a piece that is a token is that token
    F_BOS = 2,    // add_bos_token defaults to true
    F_RAW = 4,    // tokens are UTF-8 text, not the GPT-2 alphabet; <0xXX> byte fallback
};

typedef struct pre_def {
    const char *names; // space-separated
    unsigned flags;
    step steps[8];
} pre_def;

#define CI "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
#define CS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define TAIL "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define LLAMA3 CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}" TAIL
#define QWEN2 CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" TAIL
#define QWEN35                                                                                     \
    CI "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| "                                           \
       "?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"                                         \
       "|\\s+(?!\\S)|\\s+"
#define JAIS2                                                                                      \
    CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"   \
       "|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!" \
       "\\S)"                                                                                      \
       "|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}"
#define UP "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
#define LO "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"
#define PRE "[^\\r\\n\\p{L}\\p{N}]?"
#define O200K                                                                                      \
    PRE UP "*" LO "+" CI "?|" PRE UP "+" LO "*" CI "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*" \
           "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define TEKKEN                                                                                     \
    PRE UP "*" LO "+|" PRE UP "+" LO "*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+"      \
           "|\\s+(?!\\S)|\\s+"
#define YOUTU2                                                                                     \
    PRE UP "*" LO "+" CS "?|" PRE UP "+" LO "*" CS "?|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*"      \
           "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define GPT2_NO_TAIL "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define DS3                                                                                        \
    "[!\"#$%&'()*+,\\-./"                                                                          \
    ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"               \
    "| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define BAILING                                                                                    \
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*"  \
    "|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"
#define SEED                                                                                       \
    CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| "                                                \
       "?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define EXAONE_MOE                                                                                 \
    CI "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+" \
       "[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"
#define MINICPM5 CI "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+" TAIL
#define CHAMELEON_PUNCT "[\\p{P}!-/:-@\\[-`{-~]"
#define DS_LETTERS                                                                                 \
    "\\s?[A-Za-z\xC2\xB5\xC3\x80-\xC3\x96\xC3\x98-\xC3\xB6\xC3\xB8-\xC6\xBA\xC6\xBC-\xC6\xBF\xC7"  \
    "\x84-\xCA\x93\xCA\x95-\xCA\xAF\xCD\xB0-\xCD\xB3\xCD\xB6\xCD\xB7\xCD\xBB-\xCD\xBD\xCD\xBF\xCE" \
    "\x86\xCE\x88-\xCE\x8A\xCE\x8C\xCE\x8E-\xCE\xA1\xCE\xA3-\xCF\xB5\xCF\xB7-\xD2\x81\xD2\x8A-"    \
    "\xD4\xAF\xD4\xB1-\xD5\x96\xE1\x82\xA0-\xE1\x83\x85\xE1\x8E\xA0-\xE1\x8F\xB5\xE1\x8F\xB8-\xE1" \
    "\x8F\xBD\xE1\xB2\x90-\xE1\xB2\xBA\xE1\xB2\xBD-\xE1\xB2\xBF\xE1\xB4\x80-\xE1\xB4\xAB\xE1\xB5"  \
    "\xAB-\xE1\xB5\xB7\xE1\xB5\xB9-\xE1\xB6\x9A\xE1\xB8\x80-\xE1\xBC\x95\xE1\xBC\x98-\xE1\xBC\x9D" \
    "\xE1\xBC\xA0-\xE1\xBD\x85\xE1\xBD\x88-\xE1\xBD\x8D\xE1\xBD\x90-\xE1\xBD\x97\xE1\xBD\x99\xE1"  \
    "\xBD\x9B\xE1\xBD\x9D\xE1\xBD\x9F-\xE1\xBD\xBD\xE1\xBE\x80-\xE1\xBE\xB4\xE1\xBE\xB6-\xE1\xBE"  \
    "\xBC\xE1\xBE\xBE\xE1\xBF\x82-\xE1\xBF\x84\xE1\xBF\x86-\xE1\xBF\x8C\xE1\xBF\x90-\xE1\xBF\x93"  \
    "\xE1\xBF\x96-\xE1\xBF\x9B\xE1\xBF\xA0-\xE1\xBF\xAC\xE1\xBF\xB2-\xE1\xBF\xB4\xE1\xBF\xB6-\xE1" \
    "\xBF\xBC\xE2\x84\x82\xE2\x84\x87\xE2\x84\x8A-\xE2\x84\x93\xE2\x84\x95\xE2\x84\x99-\xE2\x84"   \
    "\x9D\xE2\x84\xA4\xE2\x84\xA6\xE2\x84\xA8\xE2\x84\xAA-\xE2\x84\xAD\xE2\x84\xAF-\xE2\x84\xB4"   \
    "\xE2\x84\xB9\xE2\x84\xBC-\xE2\x84\xBF\xE2\x85\x85-\xE2\x85\x89\xE2\x85\x8E\xE2\x86\x83\xE2"   \
    "\x86\x84\xE2\xB0\x80-\xE2\xB1\xBB\xE2\xB1\xBE-\xE2\xB3\xA4\xE2\xB3\xAB-\xE2\xB3\xAE\xE2\xB3"  \
    "\xB2\xE2\xB3\xB3\xEA\x99\x80-\xEA\x99\xAD\xEA\x9A\x80-\xEA\x9A\x9B\xEA\x9C\xA2-\xEA\x9D\xAF"  \
    "\xEA\x9D\xB1-\xEA\x9E\x87\xEA\x9E\x8B-\xEA\x9E\x8E\xEA\xAD\xB0-\xEA\xAE\xBF\xEF\xAC\x80-\xEF" \
    "\xAC\x86\xEF\xAC\x93-\xEF\xAC\x97\xEF\xBC\xA1-\xEF\xBC\xBA\xEF\xBD\x81-\xEF\xBD\x9A\xF0\x90"  \
    "\x90\x80-\xF0\x90\x91\x8F\xF0\x90\x92\xB0-\xF0\x90\x93\x93\xF0\x90\x93\x98-\xF0\x90\x93\xBB"  \
    "\xF0\x90\xB2\x80-\xF0\x90\xB2\xB2\xF0\x90\xB3\x80-\xF0\x90\xB3\xB2\xF0\x91\xA2\xA0-\xF0\x91"  \
    "\xA3\x9F\xF0\x9E\xA4\x80-\xF0\x9E\xA5\x83]+"
#define DS_PUNCT                                                                                   \
    "\\s?[!-/:-~\xEF\xBC\x81-\xEF\xBC\x8F\xEF\xBC\x9A-\xEF\xBD\x9E\xE2\x80\x98-\xE2\x80\x9F\xE3"   \
    "\x80\x80-\xE3\x80\x82]+"
#define DS_CJK "[\xE4\xB8\x80-\xE9\xBE\xA5\xE0\xA0\x80-\xE4\xB8\x80\xEA\xB0\x80-\xED\x9F\xBF]+"
#define YOUTU1                                                                                     \
    "[\xEA\xB0\x80-\xED\x9E\xA3\xE3\x84\xB1-\xE3\x86\x8E]+|[\xEF\xBC\x81\xE2\x80\xA6\xE2\x80\x9C"  \
    "\xE2\x80\x9D\xE2\x80\x98\xE2\x80\x99\xE2\x80\x94\xEF\xBC\x9A\xEF\xBC\x9B\xEF\xBC\x8C\xE3\x80" \
    "\x81-\xE3\x80\xBF\xEF\xB8\xB0-\xEF\xB9\x8F]+|[\xE3\x84\x85-\xE3\x84\xAF]+|[\xE4\xB8\x80-\xE9" \
    "\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+"
#define AFMOE_CJK                                                                                  \
    "[\xE4\xB8\x80-\xE9\xBF\xBF\xE3\x90\x80-\xE4\xB6\xBF\xE8\xB1\x88-\xEF\xAB\xBF\xE3\x81\x80-"    \
    "\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF\xEF\xBD\xA5-\xEF\xBE\x9F\xE2\xBC\x80-\xE2\xBF\x9F\xE0"  \
    "\xB9\x80-\xE0\xB9\xBF\xE0\xBA\x80-\xE0\xBB\xBF\xE1\x9E\x80-\xE1\x9F\xBF\xE1\x80\x80-\xE1\x82" \
    "\x9F\xEA\xA9\xA0-\xEA\xA9\xBF\xEA\xA7\xA0-\xEA\xA7\xBF\xEA\xB0\x80-\xED\x9E\xAF\xE1\x84\x80-" \
    "\xE1\x87\xBF]+"
#define DS3_CJK "[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+"
#define BLOOM                                                                                      \
    " ?[^(\\s|[.,!?\xE2\x80\xA6\xE3\x80\x82\xEF\xBC\x8C\xE3\x80\x81\xE0\xA5\xA4\xDB\x94\xD8\x8C])" \
    "]+"

static const pre_def pres[] = {
    {"gpt-2 gpt2 phi-2 jina-es jina-de gigachat jina-v2-es jina-v2-de a.x-4.0 mellum modern-bert "
     "mpt olmo jais trillion granite-docling exaone4 jina-v1-en jina-v2-code roberta-bpe",
     0,
     {{'B', 0}}},
    {"llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2 jina-v5-nano",
     F_IGNORE | F_BOS,
     {{'R', LLAMA3}}},
    {"dbrx smaug-bpe glm4 chatglm-bpe", 0, {{'R', LLAMA3}}},
    {"jais-2", 0, {{'R', JAIS2}}},
    {"qwen2 deepseek-r1-qwen kormo f2llmv2", 0, {{'N', 0}, {'R', QWEN2}}},
    {"stablelm2 hunyuan solar-open grok-2 megrez", 0, {{'R', QWEN2}}},
    {"qwen35", 0, {{'N', 0}, {'R', QWEN35}}},
    {"deepseek-llm",
     0,
     {{'R', "[\r\n]"},
      {'R', DS_LETTERS},
      {'R', DS_PUNCT},
      {'R', "\\s+$"},
      {'R', DS_CJK},
      {'D', 0}}},
    {"deepseek-coder",
     0,
     {{'R', "[\r\n]"}, {'R', "\\s?\\p{L}+"}, {'R', "\\s?\\p{P}+"}, {'R', DS_CJK}, {'D', 0}}},
    {"deepseek-v3 hunyuan-dense joyai-llm", 0, {{'R', "\\p{N}{1,3}"}, {'R', DS3_CJK}, {'R', DS3}}},
    {"youtu", F_IGNORE, {{'R', YOUTU1}, {'R', YOUTU2}}},
    {"falcon", 0, {{'P', 0}, {'B', 0}, {'d', 0}, {'R', "[0-9][0-9][0-9]"}}},
    {"starcoder refact smollm codeshell exaone minerva-7b mellum2", 0, {{'D', 0}, {'B', 0}}},
    {"command-r", 0, {{'N', 0}, {'D', 0}, {'B', 0}}},
    {"bloom poro-chat gpt3-finnish", 0, {{'R', BLOOM}}},
    {"viking", 0, {{'R', BLOOM}, {'D', 0}}},
    {"tekken", F_IGNORE | F_BOS, {{'R', TEKKEN}}},
    {"chameleon",
     F_BOS,
     {{'R', "<sentinel:[0-9]+>"},
      {'R', "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z"},
      {'R', "([\\t\\n]|    |  )"},
      {'R', "\\p{N}"},
      {'R', CHAMELEON_PUNCT},
      {'B', 0}}},
    {"gpt-4o llama4 kanana2 talkie minimax-m2", 0, {{'R', O200K}}},
    {"granite-embed-multi-97m", F_IGNORE, {{'R', O200K}}},
    {"tiny_aya cohere2moe", 0, {{'R', "\\d{1,3}(?=(?:\\d{3})*\\b)"}, {'R', O200K}}},
    {"superbpe", 0, {{'R', "\\p{N}+"}, {'R', "(?=(\\d{3})+(?!\\d))"}}},
    {"bailingmoe bailingmoe2 llada-moe", 0, {{'R', BAILING}}},
    {"seed-coder", 0, {{'R', SEED}}},
    {"afmoe", 0, {{'R', "\\p{N}{1,3}(?=(?:\\p{N}{3})*(?!\\p{N}))"}, {'R', AFMOE_CJK}, {'R', DS3}}},
    {"exaone-moe", 0, {{'R', EXAONE_MOE}}},
    {"minicpm5", F_IGNORE, {{'R', "\\p{N}{1,3}"}, {'R', MINICPM5}}},
    {"kimi-k2", 0, {{'K', 0}}},
    {"default",
     0,
     {{'R', "[\\p{P}\\$\\+<=>\\^~\\|]+"},
      {'R', GPT2_NO_TAIL},
      {'R', "\\p{N}+"},
      {'R', "[0-9][0-9][0-9]"}}},
    // SentencePiece-style BPE inside a gpt2 vocabulary (UTF-8 tokens, U+2581 for spaces)
    {"gemma4 granite-embed-multi-311m sarvam-moe", F_RAW, {{'E', 0}, {'R', "[^\\n]+|[\\n]+"}}},
    {"whitespace", F_RAW, {{'W', 0}}},
};

static bool has_name(const char *names, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = names; *p;) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        if (len == n && memcmp(p, name, n) == 0) { return true; }
        p += len + (sp ? 1 : 0);
    }
    return false;
}

wick_status wk_tok_gguf_pre(wick_tokenizer *t, const char *name, const char *what, unsigned *flags)
{
    const pre_def *d = NULL;
    for (size_t i = 0; i < WK_ARRAY_LEN(pres) && !d; i++) {
        if (has_name(pres[i].names, name)) { d = &pres[i]; }
    }
    if (!d) {
        return wk_fail(WICK_E_UNSUPPORTED, "%s: tokenizer.ggml.pre '%s' is not supported", what,
                       name);
    }
    *flags = (d->flags & F_IGNORE ? WK_GGUF_PRE_IGNORE : 0) |
             (d->flags & F_BOS ? WK_GGUF_PRE_BOS : 0) | (d->flags & F_RAW ? WK_GGUF_PRE_RAW : 0);
    char msg[300];
    snprintf(msg, sizeof msg, "%s: tokenizer.ggml.pre '%s'", what, name);
    wick_status rc = WICK_OK;
    for (int k = 0; k < 8 && d->steps[k].op && rc == WICK_OK; k++) {
        const step *s = &d->steps[k];
        wk_pre *p = NULL;
        switch (s->op) {
        case 'R':
            rc = wk_tok_add_split(t, s->arg, strlen(s->arg), true, WK_SPLIT_ISOLATED, false, msg);
            break;
        case 'K':
            rc = wk_tok_add_split(t, wk_tok_kimi_pattern, strlen(wk_tok_kimi_pattern), true,
                                  WK_SPLIT_ISOLATED, false, msg);
            break;
        case 'D':
        case 'd':
            rc = wk_tok_pre_push(t, WK_PRE_DIGITS, &p);
            if (rc == WICK_OK) { p->individual = s->op == 'D'; }
            break;
        case 'P':
            rc = wk_tok_pre_push(t, WK_PRE_PUNCT, &p);
            if (rc == WICK_OK) { p->behavior = WK_SPLIT_CONTIG; }
            break;
        case 'B': rc = wk_tok_add_bytelevel(t, false, true); break;
        case 'W': rc = wk_tok_pre_push(t, WK_PRE_WSPLIT, &p); break;
        case 'N': rc = wk_tok_add_norm(t, WK_NORM_NFC, NULL, NULL); break;
        case 'E': rc = wk_tok_add_norm(t, WK_NORM_REPLACE, " ", "\xE2\x96\x81"); break;
        default: rc = wk_fail(WICK_E_INTERNAL, "pre step '%c'", s->op);
        }
    }
    return rc;
}
