// test_tok_hf.c — the less common tokenizer.json components against Hugging Face tokenizers:
// two small tokenizers that use them all, with the ids and texts HF (npm tokenizers 0.23.2, the
// Rust library) gave for a few texts. SentencePiece-like: Prepend, Replace, NFKC, Lowercase
// (U+0130, final sigma) and Strip normalizers; Digits, Metaspace (prepend_scheme first, split),
// WhitespaceSplit and Split (MergedWithNext, Contiguous + invert) pre-tokenizers; byte_fallback,
// unk_token with fuse_unk; lstrip/rstrip/single_word/normalized added tokens; TemplateProcessing;
// Replace, ByteFallback, Fuse, Strip decoders. Byte-level: ByteLevel with add_prefix_space and
// use_regex, ignore_merges, merges as pairs, NFC. (Made with bench/tok/node_modules; see
// bench/tok/hfdiff.js for the random differential over these and the real tokenizers.)
// Known difference: a normalized non-special added token that is also in model.vocab decodes as
// its vocabulary text; HF decodes it as its normalized content ("zz" -> " zz" here).
#include "harness.h"

typedef struct hf_vec {
    const char *text, *decoded;
    int32_t ids[40];
    size_t n;
} hf_vec;

static const char cfg_spm[] =
    "{\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": true, \"single_word"
    "\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false}, {\"id\": 1, \"c"
    "ontent\": \"<s>\", \"special\": true, \"lstrip\": true, \"rstrip\": true, \"single_word"
    "\": false, \"normalized\": false}, {\"id\": 9, \"content\": \"zz\", \"special\": false, "
    "\"single_word\": true, \"normalized\": true, \"lstrip\": false, \"rstrip\": false}], \"n"
    "ormalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepen"
    "d\": \"\xe2\x96\x81"
    "\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\xe2\x96"
    "\x81"
    "\"}, {\"type\": \"NFKC\"}, {\"type\": \"Lowercase\"}, {\"type\": \"Strip\", \"strip_left"
    "\": false, \"strip_right\": true}]}, \"pre_tokenizer\": {\"type\": \"Sequence\", \"preto"
    "kenizers\": [{\"type\": \"Digits\", \"individual_digits\": true}, {\"type\": \"Metaspace"
    "\", \"replacement\": \"\xe2\x96\x81"
    "\", \"prepend_scheme\": \"first\", \"split\": true}, {\"type\": \"WhitespaceSplit\"}, {"
    "\"type\": \"Split\", \"pattern\": {\"String\": \"x\"}, \"behavior\": \"MergedWithNext\","
    " \"invert\": false}, {\"type\": \"Split\", \"pattern\": {\"Regex\": \"[aeiou]+\"}, \"beh"
    "avior\": \"Contiguous\", \"invert\": true}]}, \"post_processor\": {\"type\": \"TemplateP"
    "rocessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequ"
    "ence\": {\"id\": \"A\", \"type_id\": 0}}], \"special_tokens\": {\"<s>\": {\"id\": \"<s>"
    "\", \"ids\": [1], \"tokens\": [\"<s>\"]}}, \"pair\": [{\"SpecialToken\": {\"id\": \"<s>"
    "\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"Sequence\": {"
    "\"id\": \"B\", \"type_id\": 1}}]}, \"decoder\": {\"type\": \"Sequence\", \"decoders\": ["
    "{\"type\": \"Replace\", \"pattern\": {\"String\": \"\xe2\x96\x81"
    "\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, {\"type\":"
    " \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]}, \"model\": {\"type\": \"BP"
    "E\", \"dropout\": null, \"unk_token\": \"<unk>\", \"byte_fallback\": true, \"fuse_unk\":"
    " true, \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"<0x41>\": 2, \"<0xC3>\": 3, \"\xe2\x96"
    "\x81\": 4, \"a\": 5, \"b\": 6, \"\xe2\x96\x81"
    "a\": 7, \"ab\": 8, \"zz\": 9, \"z\": 10, \"<0xA9>\": 11}, \"merges\": [\"\xe2\x96\x81"
    " a\", \"a b\", \"z z\"], \"continuing_subword_prefix\": null, \"end_of_word_suffix\": nu"
    "ll, \"ignore_merges\": false}, \"version\": \"1.0\", \"truncation\": null, \"padding\": "
    "null}";
static const hf_vec vec_spm[] = {
    {"ab aab <s> x1A\xc3\xa9",
     "<s> ab aab<s> <unk><unk>a\xc3\xa9",
     {1, 4, 5, 6, 4, 5, 5, 6, 1, 4, 0, 0, 5, 3, 11}, 15},
    {"  Hello   World  ",
     "<s>   <unk><unk><unk><unk>   <unk><unk><unk>  ",
     {1, 4, 4, 4, 0, 0, 0, 0, 4, 4, 4, 0, 0, 0, 4, 4}, 16},
    {"\xc4\xb0STANBUL \xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3 \xce\xa3",
     "<s> <unk><unk>a<unk>b<unk><unk> <unk> <unk>",
     {1, 4, 0, 0, 5, 0, 6, 0, 0, 4, 0, 4, 0}, 13},
    {"9\xe2\x85\xa2\xc3\x89 \xd9\xa3 5\xe3\x82\xbf",
     "<s>  <unk><unk>\xc3\xa9 <unk> <unk><unk>",
     {1, 4, 4, 0, 0, 3, 11, 4, 0, 4, 0, 0}, 12},
    {"t\xc3\x89 x, ab",
     "<s> \xc3\xa9<unk> <unk> ab",
     {1, 4, 3, 11, 0, 4, 0, 4, 5, 6}, 10},
    {"<s>ab</s>",
     "<s><s> ab<unk>",
     {1, 1, 4, 5, 6, 0}, 6},
    {"\xef\xac\x81le \xc2\xbd \xe2\x91\xa0",
     "<s> <unk><unk><unk><unk> <unk><unk><unk> <unk>",
     {1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0}, 12},
    {"aaaa bbbb abab",
     "<s> aaaa bbbb abab",
     {1, 4, 5, 5, 5, 5, 4, 6, 6, 6, 6, 4, 5, 6, 5, 6}, 16},
    {"  <s>  ab  ",
     "<s><s> ab  ",
     {1, 1, 4, 5, 6, 4, 4}, 7},
    {"\xc3\xa9\xcc\x81 e\xcc\x81",
     "<s> \xc3\xa9<unk> \xc3\xa9",
     {1, 4, 3, 11, 0, 4, 3, 11}, 8},
};
static const char cfg_bl[] =
    "{\"added_tokens\": [{\"id\": 6, \"content\": \"<|e|>\", \"special\": true, \"single_word"
    "\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false}], \"normalizer\""
    ": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\""
    ": true, \"use_regex\": true, \"trim_offsets\": true}, \"post_processor\": {\"type\": \"B"
    "yteLevel\", \"trim_offsets\": true, \"add_prefix_space\": true, \"use_regex\": true}, \""
    "decoder\": {\"type\": \"ByteLevel\", \"trim_offsets\": true, \"add_prefix_space\": true,"
    " \"use_regex\": true}, \"model\": {\"type\": \"BPE\", \"ignore_merges\": true, \"vocab\""
    ": {\"\xc4\xa0\": 0, \"a\": 1, \"b\": 2, \"\xc4\xa0""a\": 3, \"ab\": 4, \"\xc4\xa0"
    "ab\": 5}, \"merges\": [[\"\xc4\xa0\", \"a\"], [\"a\", \"b\"], [\"\xc4\xa0"
    "a\", \"b\"]], \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": nul"
    "l, \"end_of_word_suffix\": null, \"fuse_unk\": false, \"byte_fallback\": false}, \"versi"
    "on\": \"1.0\", \"truncation\": null, \"padding\": null}";
static const hf_vec vec_bl[] = {
    {"ab aab <s> x1A\xc3\xa9",
     " ab aab  ",
     {5, 3, 4, 0, 0}, 5},
    {"  Hello   World  ",
     "       ",
     {0, 0, 0, 0, 0, 0, 0}, 7},
    {"\xc4\xb0STANBUL \xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3 \xce\xa3",
     "   ",
     {0, 0, 0}, 3},
    {"9\xe2\x85\xa2\xc3\x89 \xd9\xa3 5\xe3\x82\xbf",
     "   ",
     {0, 0, 0}, 3},
    {"t\xc3\x89 x, ab",
     "   ab",
     {0, 0, 5}, 3},
    {"<s>ab</s>",
     " ab",
     {0, 4}, 2},
    {"\xef\xac\x81le \xc2\xbd \xe2\x91\xa0",
     "   ",
     {0, 0, 0}, 3},
    {"aaaa bbbb abab",
     " aaaa bbbb abab",
     {3, 1, 1, 1, 0, 2, 2, 2, 2, 5, 4}, 11},
    {"  <s>  ab  ",
     "    ab  ",
     {0, 0, 0, 5, 0, 0}, 6},
    {"\xc3\xa9\xcc\x81 e\xcc\x81",
     "  ",
     {0, 0}, 2},
};

static void run(const char *name, const char *cfg, const hf_vec *v, size_t nv)
{
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_tokenizer_open_json_mem(name, cfg, strlen(cfg), NULL, &tk));
    if (!tk) { return; }
    int ok = 0;
    for (size_t i = 0; i < nv; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK_OK(wick_tokenize_alloc(tk, v[i].text, strlen(v[i].text),
                                     WICK_TOKENIZE_PARSE_SPECIAL | WICK_TOKENIZE_ADD_SPECIAL, &ids,
                                     &n));
        bool same = n == v[i].n && memcmp(ids, v[i].ids, n * sizeof *ids) == 0;
        CHECKF(same, "%s: ids of '%s'", name, v[i].text);
        char *text = NULL;
        size_t tl = 0;
        CHECK_OK(wick_detokenize(tk, v[i].ids, v[i].n, 0, &text, &tl));
        bool same_text = text && tl == strlen(v[i].decoded) && memcmp(text, v[i].decoded, tl) == 0;
        CHECKF(same_text, "%s: decoded '%s', HF '%s'", name, text, v[i].decoded);
        ok += same && same_text;
        wick_free(text);
        wick_free(ids);
    }
    printf("%s: %d/%zu vectors as Hugging Face\n", name, ok, nv);
    wick_tokenizer_close(tk);
}

int main(void)
{
    run("spm-like.json", cfg_spm, vec_spm, sizeof vec_spm / sizeof vec_spm[0]);
    run("byte-level.json", cfg_bl, vec_bl, sizeof vec_bl / sizeof vec_bl[0]);
    return test_summary("tok_hf");
}
