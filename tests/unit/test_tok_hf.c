// test_tok_hf.c — tokenizer.json files against Hugging Face tokenizers: every family listed in
// tests/data/tokenizers/hf/index.json, with the ids and texts HF (npm tokenizers 0.23.2, the Rust
// library) gave for each line of its golden file. A line is {"text"} (or {"b64"}: raw bytes,
// which HF saw through from_utf8_lossy), "ids" = encode(text, add_special_tokens) and "decoded" =
// decode(ids, skip_special_tokens = false).
//   spm-like: Prepend, Replace, NFKC, Lowercase (U+0130, final sigma) and Strip normalizers;
//     Digits, Metaspace (prepend_scheme first, split), WhitespaceSplit and Split (MergedWithNext,
//     Contiguous + invert); byte_fallback, unk_token with fuse_unk; lstrip/rstrip/single_word/
//     normalized added tokens; TemplateProcessing; Replace, ByteFallback, Fuse, Strip decoders.
//   byte-level: ByteLevel with add_prefix_space and use_regex, ignore_merges, merges as pairs, NFC.
//   bert (WordPiece: BertNormalizer, BertPreTokenizer, [CLS] .. [SEP], WordPiece decoder with
//   cleanup), t5, unigram-bytes and t5-charsmap (Unigram: Metaspace, </s> after, byte fallback,
//   a SentencePiece precompiled_charsmap built by bench/tok/vocab.js), wordlevel.
// Each family's "gguf" names: its tokenizer.json written as a GGUF vocabulary (model "gpt2", that
// tokenizer.ggml.pre, as llama.cpp's converter writes it; "bert" and "t5" for WordPiece and
// Unigram; tok_twin.h) gives the same lines.
// gemma4: llama.cpp's rule for Gemma 4's BPE (U+2581 for spaces, cut at newlines only, UTF-8
// tokens, byte fallback) as a tokenizer.json; its GGUF twins as tokenizer.ggml.pre names and
// (gemma4-model) as tokenizer.ggml.model "gemma4", which overrides the file's pre name.
// rwkv, rwkv-unk: no tokenizer.json; the GGUF keys of an RWKV vocabulary (tokenizer.ggml.model
// "rwkv", tokens escaped as llama.cpp's converter writes them; rwkv-unk without some single
// bytes, so unknown tokens) and the ids and texts of bench/tok/rwkv.js, an independent
// implementation of RWKV's trie tokenizer (raw bytes of "b64" lines, no lossy UTF-8).
// plamo2: the same for PLaMo 2's tokenizer (bench/tok/plamo2.js; ties, a duplicate token, a
// score that is not a number, byte fallback, a leading U+FEFF dropped per segment).
// Known difference: a normalized non-special added token that is also in model.vocab decodes as
// its vocabulary text; HF decodes it as its normalized content ("zz" -> " zz" in spm-like).
#include <jansson.h>

#include "harness.h"
#include "tok_twin.h"

// Decodes standard base64 (the golden files' "b64"); returns the length or -1.
static long b64(const char *s, unsigned char *out, size_t cap)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned v = 0;
    int bits = 0;
    size_t n = 0;
    for (; *s && *s != '='; s++) {
        const char *p = strchr(al, *s);
        if (!p) { return -1; }
        v = (v << 6) | (unsigned)(p - al);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap) { return -1; }
            out[n++] = (unsigned char)(v >> bits);
        }
    }
    return (long)n;
}

// Runs every line of golden through tk; returns the number of lines that match (ids and text).
static int run_golden(const char *name, wick_tokenizer *tk, const char *golden, int *n_lines)
{
    char *data = test_slurp(golden, NULL);
    CHECKF(data != NULL, "%s: cannot read", golden);
    int ok = 0, n = 0;
    for (char *line = data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) { *nl = '\0'; }
        json_error_t err;
        json_t *v = json_loads(line, JSON_ALLOW_NUL, &err);
        CHECKF(v != NULL, "%s:%d: %s", golden, n + 1, err.text);
        json_t *t = json_object_get(v, "text"), *want = json_object_get(v, "ids");
        unsigned char raw[4096];
        const char *text = json_string_value(t);
        long len = (long)json_string_length(t);
        if (!t) {
            len = b64(json_string_value(json_object_get(v, "b64")), raw, sizeof raw);
            text = (const char *)raw;
        }
        int32_t *ids = NULL, want_ids[4096];
        size_t ni = 0, nw = json_array_size(want);
        for (size_t k = 0; k < nw && k < 4096; k++) {
            want_ids[k] = (int32_t)json_integer_value(json_array_get(want, k));
        }
        CHECK_OK(wick_tokenize_alloc(tk, text ? text : "", len > 0 ? (size_t)len : 0,
                                     WICK_TOKENIZE_PARSE_SPECIAL | WICK_TOKENIZE_ADD_SPECIAL, &ids,
                                     &ni));
        bool same = ni == nw && (ni == 0 || memcmp(ids, want_ids, ni * sizeof *ids) == 0);
        CHECKF(same, "%s:%d: ids differ (%zu vs HF %zu)", name, n + 1, ni, nw);
        char *dec = NULL;
        size_t dl = 0;
        CHECK_OK(wick_detokenize(tk, want_ids, nw, 0, &dec, &dl));
        const char *wd = json_string_value(json_object_get(v, "decoded"));
        bool same_text = dec && wd && dl == json_string_length(json_object_get(v, "decoded")) &&
                         memcmp(dec, wd, dl) == 0;
        CHECKF(same_text, "%s:%d: decoded '%s', HF '%s'", name, n + 1, dec, wd);
        ok += same && same_text;
        n++;
        wick_free(dec);
        wick_free(ids);
        json_decref(v);
        line = nl ? nl + 1 : NULL;
    }
    free(data);
    *n_lines = n;
    return ok;
}

int main(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_data("tokenizers/hf"));
    char path[8192];
    snprintf(path, sizeof path, "%s/index.json", dir);
    json_error_t err;
    json_t *index = json_load_file(path, 0, &err);
    CHECKF(index != NULL, "%s: %s", path, err.text);
    json_t *fams = json_object_get(index, "families");
    int total = 0, total_ok = 0, gguf_total = 0, gguf_ok = 0, n_pre = 0, rwkv_total = 0,
        rwkv_ok = 0;
    for (size_t i = 0; i < json_array_size(fams); i++) {
        json_t *f = json_array_get(fams, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        snprintf(path, sizeof path, "%s/%s", dir, json_string_value(json_object_get(f, "json")));
        json_t *gm = json_object_get(json_object_get(f, "gguf"), "model");
        bool bpe = !gm || strcmp(json_string_value(gm), "gpt2") == 0 ||
                   strcmp(json_string_value(gm), "gemma4") == 0;
        // RWKV, PLaMo 2: no tokenizer.json, the GGUF keys and the goldens of bench/tok/MODEL.js
        bool rwkv = gm && (strcmp(json_string_value(gm), "rwkv") == 0 ||
                           strcmp(json_string_value(gm), "plamo2") == 0);
        wick_tokenizer *tk = NULL;
        int n = 0, ok;
        char golden[8192];
        snprintf(golden, sizeof golden, "%s/%s", dir,
                 json_string_value(json_object_get(f, "golden")));
        if (!rwkv) {
            CHECK_OK(wick_tokenizer_open_json(path, NULL, &tk));
            if (!tk) { continue; }
            ok = run_golden(name, tk, golden, &n);
            printf("%-16s tokenizer.json: %d/%d lines as Hugging Face\n", name, ok, n);
            total += n;
            total_ok += ok;
            wick_tokenizer_close(tk);
        }
        json_t *gg = json_object_get(json_object_get(f, "gguf"), "pre");
        for (size_t k = 0; k < (rwkv ? 1 : json_array_size(gg)); k++) {
            const char *pre = rwkv ? "" : json_string_value(json_array_get(gg, k));
            char out[8192];
            snprintf(out, sizeof out, "%s/tok-hf-%s-%zu.gguf",
                     getenv("WICK_BUILD_DIR") ? getenv("WICK_BUILD_DIR") : "/tmp", name, k);
            bool gemma4 = gm && strcmp(json_string_value(gm), "gemma4") == 0;
            if (rwkv
                    ? !keys_to_gguf(path, out)
                    : !json_to_gguf_model(path, gemma4 ? "gemma4" : NULL, pre, bpe ? 0 : -1, out)) {
                continue;
            }
            wick_gguf *g = NULL;
            tk = NULL;
            CHECK_OK(wick_gguf_open(out, &g));
            if (g) {
                CHECKF(wick_tokenizer_open_gguf(g, &tk) == WICK_OK, "pre '%s': %s", pre,
                       wick_errmsg());
            }
            wick_gguf_close(g);
            if (!tk) { continue; }
            ok = run_golden(name, tk, golden, &n);
            printf("%-16s GGUF %s '%s': %d/%d lines as %s%s%s\n", name, rwkv ? "model" : "pre",
                   rwkv ? json_string_value(gm) : pre, ok, n, rwkv ? "bench/tok/" : "Hugging Face",
                   rwkv ? json_string_value(gm) : "", rwkv ? ".js" : "");
            *(rwkv ? &rwkv_total : &gguf_total) += n;
            *(rwkv ? &rwkv_ok : &gguf_ok) += ok;
            n_pre += !rwkv;
            wick_tokenizer_close(tk);
            unlink(out);
        }
    }
    printf("all families: %d/%d lines as Hugging Face\n", total_ok, total);
    printf("GGUF twins: %d pre names, %d/%d lines as Hugging Face\n", n_pre, gguf_ok, gguf_total);
    printf("RWKV and PLaMo 2 GGUF vocabularies: %d/%d lines as bench/tok/{rwkv,plamo2}.js\n",
           rwkv_ok, rwkv_total);
    CHECKF(rwkv_total > 0, "no RWKV family in %s/index.json", dir);
    json_decref(index);
    return test_summary("tok_hf");
}
