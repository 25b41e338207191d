// test_tok_gguf.c — the GGUF vocabulary paths beyond the fixture models, proven by equivalence
// (CONVENTIONS.md: where no golden exists, write the same thing both ways):
//   - Phi-4's and Qwen3's tokenizer.json converted to GGUF vocabularies (pre "dbrx", "llama-bpe",
//     "qwen2"; llama.cpp's regex spellings) give the golden ids of phi4/cl100k/qwen3.jsonl;
//   - a SentencePiece-style vocabulary ("llama": scores, byte fallback, U+2581) written as GGUF
//     and as its Llama-2-style tokenizer.json twin gives the same ids and text;
//   - wick_tokenizer_open_for_model takes tokenizer.json, else the GGUF vocabulary, else
//     tiktoken.model.
#include <jansson.h>

#include "harness.h"
#include "tok_twin.h"

static const char *build_path(const char *name)
{
    static char p[4][4096];
    static int k;
    const char *b = getenv("WICK_BUILD_DIR");
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", b ? b : "/tmp", name);
    return p[k];
}

static int golden(const wick_tokenizer *tk, const char *rel)
{
    char *data = test_slurp(test_data(rel), NULL);
    int n = 0, ok = 0;
    for (char *line = data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) { *nl = '\0'; }
        json_t *v = json_loads(line, 0, NULL);
        json_t *t = json_object_get(v, "text"), *want = json_object_get(v, "ids");
        int32_t *ids = NULL;
        size_t ni = 0;
        CHECK_OK(wick_tokenize_alloc(tk, json_string_value(t), json_string_length(t),
                                     WICK_TOKENIZE_PARSE_SPECIAL, &ids, &ni));
        bool same = ni == json_array_size(want);
        for (size_t k = 0; same && k < ni; k++) {
            same = ids[k] == json_integer_value(json_array_get(want, k));
        }
        CHECKF(same, "%s: %s", rel, json_string_value(t));
        ok += same;
        n++;
        wick_free(ids);
        json_decref(v);
        line = nl ? nl + 1 : NULL;
    }
    free(data);
    return ok == n ? n : -1;
}

static void converted(const char *json_path, const char *pre, const char *rel, const char *rel2)
{
    char name[64];
    snprintf(name, sizeof name, "tok-conv-%s.gguf", pre);
    const char *out = build_path(name);
    if (!json_to_gguf(json_path, pre, out)) { return; }
    wick_gguf *g = NULL;
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_gguf_open(out, &g));
    if (g) { CHECK_OK(wick_tokenizer_open_gguf(g, &tk)); }
    wick_gguf_close(g);
    if (!tk) { return; }
    int a = golden(tk, rel), b = rel2 ? golden(tk, rel2) : 0;
    printf("GGUF pre %-10s converted from tokenizer.json, %s: %d exact%s%s%s\n", pre, rel,
           a, rel2 ? ", " : "", rel2 ? rel2 : "", rel2 ? (b > 0 ? " exact" : " FAILED") : "");
    wick_tokenizer_close(tk);
}

// --- SentencePiece: GGUF "llama" vs a tokenizer.json twin ----------------------------------------
#define SP "\xE2\x96\x81" // U+2581
static const struct {
    const char *text;
    float score;
} spm_vocab[] = {
    {SP, -1},          {SP "t", -2},          {SP "th", -3},
    {SP "the", -4},       {"he", -5},                     {"th", -6},
    {"in", -7},                    {SP "a", -8},          {"an", -9},
    {SP "an", -10},       {SP "and", -11},       {"nd", -12},
    {"er", -13},                   {SP "w", -14},         {"or", -15},
    {SP "wor", -16},      {"ld", -17},                    {SP "world", -18},
    {SP SP, -19}, {"\xE4\xB8\x96", -20},      {"\xE7\x95\x8C", -21},
    {"\xE4\xB8\x96\xE7\x95\x8C", -22}, {"e", -30}, {"t", -31}, {"h", -32}, {"a", -33}, {"n", -34},
    {"d", -35}, {"w", -36}, {"o", -37}, {"r", -38}, {"l", -39}, {"i", -40}, {"s", -41},
    {"\xC3\xA9", -42}, {SP SP SP, -43}, {"wor", -44}, {"world", -45},
};
#define SPM_N (sizeof spm_vocab / sizeof spm_vocab[0])
#define SPM_FIRST 259 // <unk> <s> </s> <0x00>..<0xFF>, then the pieces

static void spm_equivalence(void)
{
    size_t n = SPM_FIRST + SPM_N;
    const char **toks = calloc(n, sizeof *toks);
    float *scores = calloc(n, sizeof *scores);
    int32_t *types = calloc(n, sizeof *types);
    char bytes[256][8];
    toks[0] = "<unk>", types[0] = 2;
    toks[1] = "<s>", types[1] = 3;
    toks[2] = "</s>", types[2] = 3;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[3 + b] = bytes[b];
        types[3 + b] = 6;
    }
    for (size_t i = 0; i < SPM_N; i++) {
        toks[SPM_FIRST + i] = spm_vocab[i].text;
        scores[SPM_FIRST + i] = spm_vocab[i].score;
        types[SPM_FIRST + i] = 1;
    }
    const char *gp = build_path("tok-spm.gguf");
    wick_gguf_writer *w = NULL;
    CHECK_OK(wick_gguf_writer_create(&w));
    CHECK_OK(wick_gguf_writer_add_str(w, "general.architecture", "llama"));
    CHECK_OK(wick_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama"));
    CHECK_OK(wick_gguf_writer_add_array(w, "tokenizer.ggml.tokens", WICK_GGUF_STRING, toks, n));
    CHECK_OK(wick_gguf_writer_add_array(w, "tokenizer.ggml.scores", WICK_GGUF_FLOAT32, scores, n));
    CHECK_OK(wick_gguf_writer_add_array(w, "tokenizer.ggml.token_type", WICK_GGUF_INT32, types, n));
    CHECK_OK(wick_gguf_writer_write(w, gp, NULL, NULL));
    wick_gguf_writer_destroy(w);

    // The twin: merges = every split of every piece into two pieces, ordered by the piece's score.
    json_t *vocab = json_object(), *merges = json_array();
    for (size_t i = 0; i < n; i++) {
        json_object_set_new(vocab, toks[i], json_integer((json_int_t)i));
    }
    for (size_t i = 0; i < SPM_N; i++) { // spm_vocab is in descending score order
        const char *s = spm_vocab[i].text;
        size_t len = strlen(s);
        for (size_t k = 1; k < len; k++) {
            if (((unsigned char)s[k] & 0xC0) == 0x80) { continue; }
            char a[64], b[64];
            snprintf(a, sizeof a, "%.*s", (int)k, s);
            snprintf(b, sizeof b, "%s", s + k);
            if (json_object_get(vocab, a) && json_object_get(vocab, b)) {
                json_array_append_new(merges, json_pack("[ss]", a, b));
            }
        }
    }
    json_t *root = json_pack(
        "{s:[{s:i,s:s,s:b},{s:i,s:s,s:b},{s:i,s:s,s:b}],"
        "s:{s:s,s:[{s:s,s:s},{s:s,s:{s:s},s:s}]},s:n,"
        "s:{s:s,s:[{s:s,s:{s:s},s:s},{s:s},{s:s},{s:s,s:s,s:i,s:i}]},"
        "s:{s:s,s:s,s:b,s:o,s:o}}",
        "added_tokens", "id", 0, "content", "<unk>", "special", 1, "id", 1, "content", "<s>",
        "special", 1, "id", 2, "content", "</s>", "special", 1, "normalizer", "type", "Sequence",
        "normalizers", "type", "Prepend", "prepend", "\xE2\x96\x81", "type", "Replace", "pattern",
        "String", " ", "content", "\xE2\x96\x81", "pre_tokenizer", "decoder", "type", "Sequence",
        "decoders", "type", "Replace", "pattern", "String", "\xE2\x96\x81", "content", " ", "type",
        "ByteFallback", "type", "Fuse", "type", "Strip", "content", " ", "start", 1, "stop", 0,
        "model", "type", "BPE", "unk_token", "<unk>", "byte_fallback", 1, "vocab", vocab,
        "merges", merges);
    json_object_set_new(root, "post_processor",
                        json_loads("{\"type\": \"TemplateProcessing\", \"single\": "
                                   "[{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, "
                                   "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], "
                                   "\"special_tokens\": {\"<s>\": {\"id\": \"<s>\", "
                                   "\"ids\": [1], \"tokens\": [\"<s>\"]}}}",
                                   0, NULL));
    const char *jp = build_path("tok-spm.json");
    CHECK(root && json_dump_file(root, jp, 0) == 0);
    json_decref(root);

    wick_gguf *g = NULL;
    wick_tokenizer *a = NULL, *b = NULL;
    CHECK_OK(wick_gguf_open(gp, &g));
    if (g) { CHECK_OK(wick_tokenizer_open_gguf(g, &a)); }
    wick_gguf_close(g);
    CHECK_OK(wick_tokenizer_open_json(jp, NULL, &b));
    static const char *const texts[] = {
        "the world", " and the  world ", "世界 and 世 界", "théâtre", "<s>the</s>world", "",
        "   ", "worldworld", "a\nb", "xyz 🤖",
    };
    int same = 0;
    for (size_t i = 0; a && b && i < sizeof texts / sizeof texts[0]; i++) {
        int32_t *ia = NULL, *ib = NULL;
        size_t na = 0, nb = 0;
        CHECK_OK(wick_tokenize_alloc(a, texts[i], strlen(texts[i]), 3, &ia, &na));
        CHECK_OK(wick_tokenize_alloc(b, texts[i], strlen(texts[i]), 3, &ib, &nb));
        bool eq = na == nb && (na == 0 || memcmp(ia, ib, na * sizeof *ia) == 0);
        CHECKF(eq, "spm: '%s' differs", texts[i]);
        char *ta = NULL, *tb = NULL;
        size_t la = 0, lb = 0;
        CHECK_OK(wick_detokenize(a, ia, na, WICK_DETOKENIZE_SKIP_SPECIAL, &ta, &la));
        CHECK_OK(wick_detokenize(b, ib, nb, WICK_DETOKENIZE_SKIP_SPECIAL, &tb, &lb));
        CHECKF(ta && tb && la == lb && memcmp(ta, tb, la) == 0, "spm decode '%s' / '%s'", ta, tb);
        same += eq;
        wick_free(ia);
        wick_free(ib);
        wick_free(ta);
        wick_free(tb);
    }
    // a few facts: BOS added by default, spaces as U+2581 pieces, bytes for unknown characters
    if (a) {
        int32_t ids[16];
        size_t ni = 0;
        CHECK_OK(wick_tokenize(a, "the world", 9, WICK_TOKENIZE_ADD_SPECIAL, ids, 16, &ni));
        CHECK(ni == 3 && ids[0] == 1 && ids[1] == SPM_FIRST + 3 && ids[2] == SPM_FIRST + 17);
        CHECK_OK(wick_tokenize(a, "q", 1, 0, ids, 16, &ni)); // ▁ then <0x71>
        CHECK(ni == 2 && ids[0] == SPM_FIRST && ids[1] == 3 + 'q');
    }
    printf("SentencePiece GGUF vs tokenizer.json twin: %d/10 texts same ids and text\n", same);
    wick_tokenizer_close(a);
    wick_tokenizer_close(b);
    free(toks);
    free(scores);
    free(types);
}

static void source_order(void)
{
    const char *dir = build_path("tok-model-dir");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s' '%s'/", dir, dir,
             test_data("tokenizers/kimi-tiktoken/tiktoken.model"), dir);
    CHECK(system(cmd) == 0);
    wick_gguf *g = NULL;
    CHECK_OK(wick_gguf_open(test_data("models/llama-F32.gguf"), &g));
    wick_tokenizer *tk = NULL;
    // GGUF vocabulary before tiktoken.model
    CHECK_OK(wick_tokenizer_open_for_model(dir, g, NULL, &tk));
    CHECK(tk && wick_tokenizer_n_vocab(tk) == 1536);
    wick_tokenizer_close(tk);
    // tiktoken.model when there is no GGUF
    CHECK_OK(wick_tokenizer_open_for_model(dir, NULL, NULL, &tk));
    CHECK(tk && wick_tokenizer_n_vocab(tk) == 7936); // no tokenizer_config.json: no specials
    wick_tokenizer_close(tk);
    // tokenizer.json first
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'/", test_data("tokenizers/phi4/tokenizer.json"), dir);
    CHECK(system(cmd) == 0);
    CHECK_OK(wick_tokenizer_open_for_model(dir, g, NULL, &tk));
    CHECK(tk && wick_tokenizer_n_vocab(tk) == 100352);
    wick_tokenizer_close(tk);
    wick_gguf_close(g);
    CHECK_FAIL(wick_tokenizer_open_for_model(build_path("tok-no-such-dir"), NULL, NULL, &tk),
               WICK_E_NOT_FOUND, "no tokenizer.json");
}

// Every pre-tokenizer name wick knows compiles and round-trips text (on the small llama3 vocab).
static void all_pres(void)
{
    static const char *const pres[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral",
                                       "dbrx", "smaug-bpe", "qwen2", "deepseek-r1-qwen", "gpt-4o",
                                       "llama4", "deepseek-v3", "kimi-k2", "gpt2", "default"};
    const char *text = "Hello, World! 12345 \xe4\xb8\x96\xe7\x95\x8c\xe3\x81\xae "
                       "CamelCase it's  \n\n x\t\xf0\x9f\xa4\x96";
    int ok = 0;
    for (size_t i = 0; i < sizeof pres / sizeof pres[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "tok-pre-%s.gguf", pres[i]);
        const char *out = build_path(name);
        if (!json_to_gguf(test_data("tokenizers/mini-llama3-1536/tokenizer.json"), pres[i], out)) {
            continue;
        }
        wick_gguf *g = NULL;
        wick_tokenizer *tk = NULL;
        CHECK_OK(wick_gguf_open(out, &g));
        if (g) { CHECK_OK(wick_tokenizer_open_gguf(g, &tk)); }
        wick_gguf_close(g);
        int32_t *ids = NULL;
        size_t n = 0;
        char *back = NULL;
        size_t bl = 0;
        if (tk) {
            CHECK_OK(wick_tokenize_alloc(tk, text, strlen(text), 0, &ids, &n));
            CHECK_OK(wick_detokenize(tk, ids, n, 0, &back, &bl));
            bool same = back && bl == strlen(text) && memcmp(back, text, bl) == 0;
            CHECKF(same, "pre %s: round trip", pres[i]);
            ok += same;
        }
        wick_free(ids);
        wick_free(back);
        wick_tokenizer_close(tk);
    }
    printf("GGUF pre-tokenizers: %d/%zu open and round-trip\n", ok, sizeof pres / sizeof pres[0]);
}

int main(void)
{
    converted(test_data("tokenizers/phi4/tokenizer.json"), "dbrx", "tokenizers/golden/phi4.jsonl",
              "tokenizers/golden/cl100k.jsonl");
    converted(test_data("tokenizers/phi4/tokenizer.json"), "llama-bpe",
              "tokenizers/golden/phi4.jsonl", NULL);
    char cmd[8192];
    const char *q = build_path("tok-qwen3-for-gguf.json");
    snprintf(cmd, sizeof cmd, "xz -dc '%s' > '%s'", test_data("tokenizers/qwen3/tokenizer.json.xz"),
             q);
    CHECK(system(cmd) == 0);
    converted(q, "qwen2", "tokenizers/golden/qwen3.jsonl", NULL);
    spm_equivalence();
    source_order();
    all_pres();
    return test_summary("tok_gguf");
}
