// test_gen_generate.c — the single-sequence generation loop on the random-weight fixture models:
// greedy ids equal llama.cpp's golden greedy continuation; sampling with a seed gives the same ids
// with 1 and 2 threads (wick's logits are bit-identical across thread counts) and on a second run;
// a stop string taken from the generated text itself (spanning tokens) cuts the text right before
// it; max_tokens 0; a full context is an error, not a crash.
#include "harness.h"

static wick_model *open_model(const char *name)
{
    wick_model *m = NULL;
    CHECK_OK(wick_model_open(test_data(name), NULL, &m));
    return m;
}

// Generates up to n ids after the prompt; returns how many. text (may be NULL) gets the text.
static size_t generate(wick_model *m, int threads, const wick_tokenizer *tk,
                       const wick_sampler_opts *so, const wick_stopper_opts *sto,
                       const int32_t *prompt, size_t n_prompt, int32_t *ids, size_t n, char *text,
                       size_t text_cap, wick_stop_reason *reason)
{
    wick_session_opts o;
    wick_session_opts_init(&o);
    o.n_threads = threads;
    o.n_ctx = 256;
    wick_session *s = NULL;
    wick_generator *g = NULL;
    size_t k = 0, tl = 0;
    CHECK_OK(wick_session_create(m, &o, &s));
    if (s) { CHECK_OK(wick_generator_create(s, tk, so, sto, &g)); }
    if (g) { CHECK_OK(wick_generator_prompt(g, prompt, n_prompt)); }
    for (; g && k < n; k++) {
        wick_gen_step st;
        wick_status rc = wick_generator_next(g, &st);
        CHECKF(rc >= 0, "next: %s", wick_errmsg());
        if (rc < 0) { break; }
        if (st.id >= 0) { ids[k] = st.id; }
        if (text && tl + st.len < text_cap) {
            memcpy(text + tl, st.text, st.len);
            tl += st.len;
        }
        if (reason) { *reason = st.stop; }
        if (rc == WICK_DONE) {
            k += st.id >= 0;
            break;
        }
    }
    if (text) { text[tl] = '\0'; }
    wick_generator_destroy(g);
    wick_session_destroy(s);
    return k;
}

static void test_greedy_golden(void)
{
    // llama-F32, prompt "single" (token 1280): llama.cpp's greedy continuation (tests/cli/eval.sh)
    const int32_t want[16] = {537, 200, 1367, 470, 470, 792, 792, 792,
                              792, 792, 792, 792, 792, 792, 792, 995};
    wick_model *m = open_model("models/llama-F32.gguf");
    if (!m) { return; }
    wick_sampler_opts so;
    wick_sampler_opts_init(&so);
    so.temperature = 0;
    wick_stopper_opts sto;
    wick_stopper_opts_init(&sto);
    sto.max_tokens = 16;
    int32_t ids[32] = {0};
    const int32_t prompt = 1280;
    size_t n = generate(m, 1, NULL, &so, &sto, &prompt, 1, ids, 32, NULL, 0, NULL);
    CHECK(n == 16 && memcmp(ids, want, sizeof want) == 0);
    // max_tokens 0: done at once
    sto.max_tokens = 0;
    n = generate(m, 1, NULL, &so, &sto, &prompt, 1, ids, 32, NULL, 0, NULL);
    CHECK(n == 0);
    // a full context: an error from the session, then done
    wick_session_opts o;
    wick_session_opts_init(&o);
    o.n_ctx = 4;
    wick_session *s = NULL;
    wick_generator *g = NULL;
    CHECK_OK(wick_session_create(m, &o, &s));
    CHECK_OK(wick_generator_create(s, NULL, &so, NULL, &g));
    CHECK_OK(wick_generator_prompt(g, &prompt, 1));
    wick_gen_step st;
    wick_status rc = WICK_OK;
    int steps = 0;
    while (rc == WICK_OK && steps < 10) {
        rc = wick_generator_next(g, &st);
        steps++;
    }
    CHECK(rc == WICK_E_RANGE && steps == 4);
    CHECK(wick_generator_next(g, &st) == WICK_DONE && st.id == -1);
    wick_generator_destroy(g);
    wick_session_destroy(s);
    wick_model_close(m);
}

static void test_threads_and_stops(const char *model)
{
    wick_model *m = open_model(model);
    wick_tokenizer *tk = NULL;
    if (m) { CHECK_OK(wick_tokenizer_open_gguf(wick_model_gguf(m), &tk)); }
    if (!tk) {
        wick_model_close(m);
        return;
    }
    int32_t prompt[64];
    size_t n_prompt = 0;
    CHECK_OK(wick_tokenize(tk, "Once upon a time", 16, WICK_TOKENIZE_ADD_SPECIAL, prompt, 64,
                           &n_prompt));
    wick_sampler_opts so;
    wick_sampler_opts_init(&so);
    so.seed = 1234;
    so.temperature = 1.5f; // random weights: a flat distribution, many different draws
    so.top_p = 1.0f;
    so.min_p = 0.0f;
    wick_stopper_opts sto;
    wick_stopper_opts_init(&sto);
    sto.max_tokens = 24;
    sto.ignore_eos = true;
    int32_t a[24] = {0}, b[24] = {0}, c[24] = {0};
    char text[2048];
    size_t na = generate(m, 1, tk, &so, &sto, prompt, n_prompt, a, 24, text, sizeof text, NULL);
    size_t nb = generate(m, 2, tk, &so, &sto, prompt, n_prompt, b, 24, NULL, 0, NULL);
    size_t nc = generate(m, 2, tk, &so, &sto, prompt, n_prompt, c, 24, NULL, 0, NULL);
    CHECKF(na == 24 && nb == 24 && nc == 24, "%s: %zu %zu %zu tokens", model, na, nb, nc);
    CHECKF(memcmp(a, b, sizeof a) == 0, "%s: 1 and 2 threads sample different ids", model);
    CHECK(memcmp(b, c, sizeof b) == 0);
    int distinct = 0;
    for (int i = 0; i < 24; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++) { seen = seen || a[j] == a[i]; }
        distinct += !seen;
    }
    CHECKF(distinct >= 8, "%s: only %d distinct ids: not really sampling", model, distinct);
    // a stop string from the middle of that text, spanning a token boundary
    char *dec = NULL;
    size_t l5 = 0, l8 = 0;
    CHECK_OK(wick_detokenize(tk, a, 5, 0, &dec, &l5));
    wick_free(dec);
    CHECK_OK(wick_detokenize(tk, a, 8, 0, &dec, &l8));
    wick_free(dec);
    CHECKF(l8 > l5 + 2 && l8 < strlen(text), "%s: tokens 5..8 give no text to stop at", model);
    if (l8 > l5 + 2 && l8 < strlen(text)) {
        // [l5 - 1, l8 + 1) widened to whole characters
        size_t a0 = l5 - 1, a1 = l8 + 1 < strlen(text) ? l8 + 1 : strlen(text);
        while (a0 > 0 && ((unsigned char)text[a0] & 0xC0) == 0x80) { a0--; }
        while (text[a1] && ((unsigned char)text[a1] & 0xC0) == 0x80) { a1++; }
        char stop[96];
        size_t sl = a1 - a0 < sizeof stop - 1 ? a1 - a0 : sizeof stop - 1;
        memcpy(stop, text + a0, sl);
        stop[sl] = '\0';
        const char *stops[1] = {stop};
        sto.stop = stops;
        sto.n_stop = 1;
        char t2[2048];
        wick_stop_reason why = WICK_STOP_NONE;
        generate(m, 2, tk, &so, &sto, prompt, n_prompt, b, 24, t2, sizeof t2, &why);
        size_t want = (size_t)(strstr(text, stop) - text);
        CHECKF(why == WICK_STOP_STRING && strlen(t2) == want && memcmp(t2, text, want) == 0,
               "%s: stop '%s': got %zu bytes, want %zu", model, stop, strlen(t2), want);
    }
    wick_tokenizer_close(tk);
    wick_model_close(m);
}

int main(void)
{
    test_greedy_golden();
    test_threads_and_stops("models/llama-F32.gguf");
    test_threads_and_stops("models/phi3-Q4_K_M.gguf");
    return test_summary("gen_generate");
}
