// test_sample_stop.c — stop conditions over the incremental detokenizer, with the Phi-4 tokenizer
// (byte-level BPE: a character may span tokens).
//
// Stop strings: every substring of a test text (whole characters, 1..14 bytes) is used as the stop
// string; it spans 1, 2 or 3+ tokens of the text's tokenization, and each count is covered. The
// output must be exactly the text before the substring's first occurrence, built only by appending
// (nothing emitted is taken back), in whole UTF-8 pieces, and the text held back at any moment is
// at most the longest stop string plus an incomplete character. Also: EOG tokens, ignore_eos,
// max_tokens flushing what was held, several stop strings (the earliest wins), skip_special,
// flush, reset, bad options.
#include "harness.h"
#include "tok/tok.h"

static const char TEXT[] = "Hello, wörld! 東京 🤖 stop here: END of the line.\n";

typedef struct run_result {
    char out[512];
    size_t len;
    wick_status last;
    wick_stop_reason reason;
    int index;
    bool pieces_ok; // every piece whole UTF-8, the hold-back bounded
} run_result;

// Pushes ids through a stopper until it stops.
static run_result run(const wick_tokenizer *tk, const wick_stopper_opts *o, const int32_t *ids,
                      size_t n, size_t max_hold)
{
    run_result r = {.pieces_ok = true, .last = WICK_OK};
    wick_stopper *s = NULL;
    if (wick_stopper_create(tk, o, &s) < 0) {
        r.last = -100;
        return r;
    }
    char *dec = NULL;
    for (size_t i = 0; i < n && r.last == WICK_OK; i++) {
        const char *t;
        size_t l;
        r.last = wick_stopper_push(s, ids[i], &t, &l);
        if (r.last < 0) { break; }
        if (!wk_tok_utf8_valid((const uint8_t *)t, l) || r.len + l >= sizeof r.out) {
            r.pieces_ok = false;
        }
        if (r.len + l < sizeof r.out) {
            memcpy(r.out + r.len, t, l);
            r.len += l;
        }
        size_t dl = 0;
        if (r.last == WICK_OK && wick_detokenize(tk, ids, i + 1, 0, &dec, &dl) == WICK_OK) {
            // what is decoded so far but not emitted: a possible stop-string start + a partial
            // character (decoded as up to 3 U+FFFD of 3 bytes each)
            if (dl < r.len || dl - r.len > max_hold + 9) { r.pieces_ok = false; }
        }
        wick_free(dec);
        dec = NULL;
    }
    if (r.last == WICK_OK) {
        const char *t;
        size_t l;
        r.last = wick_stopper_flush(s, &t, &l);
        if (r.len + l < sizeof r.out) {
            memcpy(r.out + r.len, t, l);
            r.len += l;
        }
    }
    r.out[r.len] = '\0';
    r.reason = wick_stopper_reason(s);
    r.index = wick_stopper_stop_index(s);
    wick_stopper_destroy(s);
    return r;
}

static void test_stop_strings(const wick_tokenizer *tk)
{
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(wick_tokenize_alloc(tk, TEXT, strlen(TEXT), 0, &ids, &n));
    // byte offset where each token's text starts (byte-level: token texts are raw bytes)
    size_t start[128], pos = 0;
    for (size_t i = 0; i < n && i < 127; i++) {
        size_t l;
        wick_token_text(tk, ids[i], &l);
        start[i] = pos;
        pos += l;
    }
    start[n] = pos;
    CHECK(pos == strlen(TEXT));
    const size_t len = strlen(TEXT);
    int by_span[4] = {0}, bad = 0;
    for (size_t a = 0; a < len; a++) {
        if (((unsigned char)TEXT[a] & 0xC0) == 0x80) { continue; } // whole characters only
        for (size_t b = a + 1; b <= len && b - a <= 14; b++) {
            if (b < len && ((unsigned char)TEXT[b] & 0xC0) == 0x80) { continue; }
            char stop[16];
            memcpy(stop, TEXT + a, b - a);
            stop[b - a] = '\0';
            size_t t0 = 0, t1 = 0; // tokens touched: [t0, t1]
            while (start[t0 + 1] <= a) { t0++; }
            t1 = t0;
            while (start[t1 + 1] < b) { t1++; }
            size_t span = t1 - t0 + 1;
            by_span[span > 3 ? 3 : span]++;
            const char *stops[1] = {stop};
            wick_stopper_opts o;
            wick_stopper_opts_init(&o);
            o.stop = stops;
            o.n_stop = 1;
            run_result r = run(tk, &o, ids, n, b - a);
            const char *first = strstr(TEXT, stop);
            size_t want = (size_t)(first - TEXT);
            bool ok = r.last == WICK_DONE && r.reason == WICK_STOP_STRING && r.index == 0 &&
                      r.len == want && memcmp(r.out, TEXT, want) == 0 && r.pieces_ok;
            if (!ok && bad++ < 5) {
                fprintf(stderr, "stop '%s' (%zu tokens): got '%s' (reason %d, rc %d, pieces %d)\n",
                        stop, span, r.out, r.reason, r.last, r.pieces_ok);
            }
        }
    }
    CHECKF(bad == 0, "%d stop strings misbehaved", bad);
    CHECKF(by_span[1] > 20 && by_span[2] > 20 && by_span[3] > 20,
           "stop strings over 1, 2, 3+ tokens: %d %d %d", by_span[1], by_span[2], by_span[3]);
    printf("stop strings checked: %d within 1 token, %d across 2, %d across 3 or more\n",
           by_span[1], by_span[2], by_span[3]);

    // two stop strings: the earliest in the text wins, whatever the order given
    const char *two[2] = {"line", "END"};
    wick_stopper_opts o;
    wick_stopper_opts_init(&o);
    o.stop = two;
    o.n_stop = 2;
    run_result r = run(tk, &o, ids, n, 4);
    CHECK(r.reason == WICK_STOP_STRING && r.index == 1);
    CHECK(strcmp(r.out, "Hello, wörld! 東京 🤖 stop here: ") == 0);
    // no match: everything comes out, the held start of "line.X" too, when max_tokens ends it
    const char *nomatch[1] = {"line.\nX"};
    o.stop = nomatch;
    o.n_stop = 1;
    o.max_tokens = (int64_t)n;
    r = run(tk, &o, ids, n, 7);
    CHECK(r.last == WICK_DONE && r.reason == WICK_STOP_LENGTH);
    CHECK(r.len == len && memcmp(r.out, TEXT, len) == 0);
    // max_tokens cuts earlier
    o.max_tokens = 3;
    r = run(tk, &o, ids, n, 7);
    char *want = NULL;
    size_t wl = 0;
    CHECK_OK(wick_detokenize(tk, ids, 3, 0, &want, &wl));
    CHECK(r.reason == WICK_STOP_LENGTH && r.len == wl && memcmp(r.out, want, wl) == 0);
    wick_free(want);
    // without stop strings or limits: flush ends it with the whole text, whole characters only
    wick_stopper_opts_init(&o);
    r = run(tk, &o, ids, n, 0);
    CHECK(r.reason == WICK_STOP_FLUSHED && r.len == len && r.pieces_ok);
    wick_free(ids);
}

static void test_eog_and_special(const wick_tokenizer *tk)
{
    const int32_t im_end = wick_token_find(tk, "<|im_end|>", 10);
    const int32_t im_start = wick_token_find(tk, "<|im_start|>", 12);
    CHECK(im_end >= 0 && im_start >= 0 && wick_token_is_eog(tk, im_end));
    int32_t ids[16];
    size_t n = 0;
    CHECK_OK(wick_tokenize(tk, "Hi there", 8, 0, ids, 8, &n));
    ids[n] = im_start;
    ids[n + 1] = im_end;
    ids[n + 2] = ids[0];
    wick_stopper_opts o;
    wick_stopper_opts_init(&o);
    run_result r = run(tk, &o, ids, n + 3, 0);
    CHECK(r.last == WICK_DONE && r.reason == WICK_STOP_EOG);
    CHECK(strcmp(r.out, "Hi there<|im_start|>") == 0);
    o.skip_special = true;
    r = run(tk, &o, ids, n + 3, 0);
    CHECK(strcmp(r.out, "Hi there") == 0);
    o.skip_special = false;
    o.ignore_eos = true; // goes on; the EOG token prints nothing
    r = run(tk, &o, ids, n + 3, 0);
    CHECK(r.reason == WICK_STOP_FLUSHED && strcmp(r.out, "Hi there<|im_start|>Hi") == 0);
    // a stop string split across a special token's text and the next
    const char *st[1] = {"|>H"};
    o.stop = st;
    o.n_stop = 1;
    r = run(tk, &o, ids, n + 3, 3);
    CHECK(r.reason == WICK_STOP_STRING && strcmp(r.out, "Hi there<|im_start") == 0);

    // after the end: DONE, no text; reset starts over
    wick_stopper *s = NULL;
    wick_stopper_opts_init(&o);
    o.max_tokens = 1;
    CHECK_OK(wick_stopper_create(tk, &o, &s));
    const char *t;
    size_t l;
    CHECK(wick_stopper_push(s, ids[0], &t, &l) == WICK_DONE && l > 0);
    CHECK(wick_stopper_push(s, ids[1], &t, &l) == WICK_DONE && l == 0);
    CHECK(wick_stopper_flush(s, &t, &l) == WICK_DONE && l == 0);
    CHECK(wick_stopper_n_tokens(s) == 1);
    wick_stopper_reset(s);
    CHECK(wick_stopper_reason(s) == WICK_STOP_NONE);
    CHECK(wick_stopper_push(s, ids[0], &t, &l) == WICK_DONE && l > 0);
    CHECK_FAIL(wick_stopper_push(NULL, 0, &t, &l), WICK_E_INVALID, NULL);
    wick_stopper_reset(s);
    CHECK_FAIL(wick_stopper_push(s, -5, &t, &l), WICK_E_RANGE, "-5");
    wick_stopper_destroy(s);
}

static void test_bad_options(const wick_tokenizer *tk)
{
    wick_stopper *s = NULL;
    wick_stopper_opts o;
    wick_stopper_opts_init(&o);
    const char *bad_utf8[1] = {"ab\xC3"};
    o.stop = bad_utf8;
    o.n_stop = 1;
    CHECK_FAIL(wick_stopper_create(tk, &o, &s), WICK_E_INVALID, "stop[0]");
    const char *many[WICK_MAX_STOP_STRINGS + 1] = {0};
    o.stop = many;
    o.n_stop = WICK_MAX_STOP_STRINGS + 1;
    CHECK_FAIL(wick_stopper_create(tk, &o, &s), WICK_E_INVALID, "stop strings");
    static char longs[WICK_MAX_STOP_BYTES + 2];
    memset(longs, 'a', sizeof longs - 1);
    const char *lp[1] = {longs};
    o.stop = lp;
    o.n_stop = 1;
    CHECK_FAIL(wick_stopper_create(tk, &o, &s), WICK_E_INVALID, "bytes");
    CHECK(s == NULL);
    // an empty stop string never matches, and keeps the indices of the others
    const char *e[2] = {"", "o"};
    o.stop = e;
    o.n_stop = 2;
    int32_t ids[8];
    size_t n = 0;
    CHECK_OK(wick_tokenize(tk, "Hello", 5, 0, ids, 8, &n));
    run_result r = run(tk, &o, ids, n, 1);
    CHECK(r.reason == WICK_STOP_STRING && r.index == 1 && strcmp(r.out, "Hell") == 0);
}

int main(void)
{
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_tokenizer_open_json(test_data("tokenizers/phi4/tokenizer.json"), NULL, &tk));
    if (tk) {
        test_stop_strings(tk);
        test_eog_and_special(tk);
        test_bad_options(tk);
    }
    wick_tokenizer_close(tk);
    return test_summary("sample_stop");
}
