// test_gen_hub.c — completion streams whose models come from the fake Hub (wick-minihub on
// 127.0.0.1): the GGUF chosen by tag, split sets inside folders, a tokenizer and chat template from
// another repo; two concurrent requests cause one download; every Hub-side error path (unknown
// repo, no GGUF for a tag, a download cut off, bytes corrupted in transit, a corrupt GGUF, an
// unsupported architecture) is an error chunk then done with error, leaves nothing behind, and the
// next request for the same model succeeds once the fault is gone; and the non-blocking promise:
// while a >= 200 MB model is pulled (throttled), loaded and prefilled, a 10 ms timer in the
// caller's poll loop keeps firing (largest gap asserted < 1 s; bench/ measures the figure); a
// stream cancelled during the download ends cancelled at once (< 1 s asserted, the figure printed).
#if defined(__GNUC__) && !defined(__clang__) // GCC only: clang has no such warning
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
#include <poll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>

#include "base/base.h"
#include "harness.h"
#include "minihub.h"
#include "streams.h"

static char big_path[4300];

static void sh(const char *fmt, const char *a, const char *b)
{
    char cmd[9000];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    CHECKF(system(cmd) == 0, "command failed: %s", cmd);
}

// Copies tests/data/REL to ROOT/DEST.
static void put(const char *rel, const char *dest)
{
    char src[4300], dst[4300];
    snprintf(src, sizeof src, "%s", test_data(rel));
    snprintf(dst, sizeof dst, "%s/%s", mh_root, dest);
    sh("mkdir -p \"$(dirname '%s')\"%s", dst, "");
    sh("cp '%s' '%s'", src, dst);
}

static void put_text(const char *dest, const char *text)
{
    char dst[4300];
    snprintf(dst, sizeof dst, "%s/%s", mh_root, dest);
    sh("mkdir -p \"$(dirname '%s')\"%s", dst, "");
    FILE *f = fopen(dst, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void mkmodel(const char *args, const char *dest)
{
    char cmd[9000], dst[4300];
    const char *b = getenv("WICK_BUILD_DIR");
    snprintf(dst, sizeof dst, "%s/%s", mh_root, dest);
    sh("mkdir -p \"$(dirname '%s')\"%s", dst, "");
    snprintf(cmd, sizeof cmd, "'%s/wick-mkmodel' %s -q -o '%s'", b ? b : ".", args, dst);
    CHECKF(system(cmd) == 0, "mkmodel failed: %s", cmd);
}

static void make_root(bool big)
{
    const char *b = getenv("WICK_BUILD_DIR");
    snprintf(mh_scratch, sizeof mh_scratch, "%s/tmp-gen-hub", b ? b : "/tmp");
    sh("rm -rf '%s' && mkdir -p '%s'", mh_scratch, mh_scratch);
    snprintf(mh_root, sizeof mh_root, "%s/root", mh_scratch);
    put("models/llama-Q8_0.gguf", "org/tiny-GGUF/tiny-Q8_0.gguf");
    put("models/llama-Q4_K_M.gguf", "org/tiny-GGUF/tiny-Q4_K_M.gguf");
    put("models/llama-F32.gguf", "org/tiny-GGUF/tiny-F32.gguf");
    put_text("org/tiny-GGUF/README.md", "tiny test models\n");
    mkmodel("--preset tiny --arch llama --type Q4_K_M --split 2",
            "org/split-GGUF/Q4_K_M/s-Q4_K_M.gguf");
    mkmodel("--preset tiny --arch llama --type Q4_K_M", "../whole/s-Q4_K_M.gguf"); // not served
    mkmodel("--preset tiny --arch llama --type Q8_0 --split 2", "org/split-GGUF/Q8_0/s-Q8_0.gguf");
    put_text("org/broken-GGUF/broken-Q4_K_M.gguf", "GGUF but not really a model file at all");
    put("models/llama-Q4_K_M.gguf", "org/broken-GGUF.next/broken-Q4_K_M.gguf");
    // a GGUF without a chat template: the tokenizer repo's tokenizer_config.json gives it
    mkmodel("--preset tiny --arch phi3 --type F32", "org/phi-GGUF/phi-F32.gguf");
    put("tokenizers/mini-phi4r-1536/tokenizer.json", "org/phi-tok/tokenizer.json");
    put_text("org/phi-tok/tokenizer_config.json",
             "{\"eos_token\": \"<|im_end|>\", \"chat_template\": \"{% for message in messages %}"
             "{{'<|im_start|>' + message['role'] + '<|im_sep|>' + message['content'] + "
             "'<|im_end|>'}}{% endfor %}{% if add_generation_prompt %}"
             "{{ '<|im_start|>assistant<|im_sep|>' }}{% endif %}\"}\n");
    if (big) {
        // >= 200 MB: one Phi-4-shaped layer (n_embd 5120, n_ff 17920) with a small vocabulary
        mkmodel("--preset phi4 --layers 1 --vocab 2048 --type Q4_K_M",
                "org/big-GGUF/big-Q4_K_M.gguf");
        snprintf(big_path, sizeof big_path, "%s/org/big-GGUF/big-Q4_K_M.gguf", mh_root);
    }
}

static wick_registry *registry_for(const minihub *m, int max_retries)
{
    wick_registry_opts o;
    wick_registry_opts_init(&o);
    o.hub.endpoint = m->url;
    o.hub.cache_dir = m->cache;
    o.hub.token = "";
    o.hub.offline = 0;
    o.hub.max_retries = max_retries;
    o.hub.backoff_ms = 20;
    o.hub.backoff_max_ms = 50;
    o.hub.stall_timeout_ms = 3000;
    o.n_threads = 2;
    o.n_ctx = 256;
    o.n_seq = 4;
    wick_registry *r = NULL;
    CHECK_OK(wick_registry_create(&o, &r));
    return r;
}

static void greedy_q(wick_request *q, const char *spec, int64_t max)
{
    static const int32_t toks[] = {791, 12, 99, 300};
    wick_request_init(q);
    q->model = spec;
    q->tokens = toks;
    q->n_tokens = 4;
    q->max_tokens = max;
    q->ignore_eos = true;
    q->sampling.temperature = 0;
}

static void expect_ok(const drained *d, const char *what)
{
    CHECKF(d->n_error == 0 && d->finish == WICK_FINISH_LENGTH && d->done_last,
           "%s: finish %d, error '%s' (chunks %s)", what, d->finish, d->message, d->types);
}

static void expect_clean(wick_registry *r, const char *what)
{
    wick_registry_info info;
    CHECK_OK(wick_registry_info_get(r, &info));
    CHECKF(info.n_loading == 0 && info.n_streams == 0, "%s: %d loading, %d streams left", what,
           info.n_loading, info.n_streams);
}

// --- choosing files ------------------------------------------------------------------------------

static void test_choose(void)
{
    minihub m;
    if (!mh_start(&m, "")) { return; }
    wick_registry *r = registry_for(&m, 0);
    wick_request q;
    drained d, ref;
    // default: the Q4_K_M file; its size in the download progress
    greedy_q(&q, "hf.co/org/tiny-GGUF", 8);
    run_request(r, &q, &d);
    expect_ok(&d, "default tag");
    struct stat sb;
    char p[4400];
    snprintf(p, sizeof p, "%s/org/tiny-GGUF/tiny-Q4_K_M.gguf", mh_root);
    CHECK(stat(p, &sb) == 0);
    CHECK(strchr(d.types, 'P') != NULL);
    // the tagged file gives the same ids as the local copy
    greedy_q(&q, "org/tiny-GGUF:q8_0", 8);
    run_request(r, &q, &d);
    expect_ok(&d, "tag q8_0");
    greedy_q(&q, test_data("models/llama-Q8_0.gguf"), 8);
    run_request(r, &q, &ref);
    CHECK(d.n_ids == 8 && ref.n_ids == 8 && memcmp(d.ids, ref.ids, 8 * sizeof(int32_t)) == 0);
    // a split set in a folder == the same model in one file
    greedy_q(&q, "org/split-GGUF", 8);
    run_request(r, &q, &d);
    expect_ok(&d, "split set (default Q4_K_M)");
    greedy_q(&q, "org/split-GGUF:Q8_0", 2);
    run_request(r, &q, &ref);
    expect_ok(&ref, "split set Q8_0");
    snprintf(p, sizeof p, "%s/whole/s-Q4_K_M.gguf", mh_scratch);
    greedy_q(&q, p, 8);
    run_request(r, &q, &ref);
    CHECKF(d.n_ids == 8 && ref.n_ids == 8 && memcmp(d.ids, ref.ids, 8 * sizeof(int32_t)) == 0,
           "split set ids differ from the one-file model");
    // tokenizer and chat template from another repo
    wick_request_init(&q);
    q.model = "org/phi-GGUF";
    q.tokenizer = "org/phi-tok";
    wick_message msg = {.role = "user", .content = "hi"};
    q.messages = &msg;
    q.n_messages = 1;
    q.max_tokens = 6;
    q.ignore_eos = true;
    q.sampling.temperature = 0;
    run_request(r, &q, &d);
    expect_ok(&d, "tokenizer + template from a repo");
    // the template of tokenizer_config.json, rendered and tokenized with that tokenizer
    const char *want = "<|im_start|>user<|im_sep|>hi<|im_end|><|im_start|>assistant<|im_sep|>";
    wick_tokenizer *tk = NULL;
    size_t n_want = 0;
    CHECK_OK(wick_tokenizer_open_json(test_data("tokenizers/mini-phi4r-1536/tokenizer.json"), NULL,
                                      &tk));
    if (tk) { // n_max 0: only counts (WICK_E_RANGE)
        wick_status trc = wick_tokenize(tk, want, strlen(want),
                                        WICK_TOKENIZE_PARSE_SPECIAL | WICK_TOKENIZE_ADD_SPECIAL,
                                        NULL, 0, &n_want);
        CHECK(trc == WICK_E_RANGE);
    }
    wick_tokenizer_close(tk);
    CHECKF(n_want > 0 && d.usage.prompt_tokens == (int64_t)n_want,
           "chat prompt: %lld tokens, want %zu", (long long)d.usage.prompt_tokens, n_want);
    printf(
        "  choose: default Q4_K_M, tag q8_0 (== local file), split set in a folder (== one file), "
        "tokenizer + template from a repo\n");
    expect_clean(r, "choose");
    wick_registry_destroy(r);
    mh_stop(&m);
}

// --- single flight -------------------------------------------------------------------------------

static void test_single_flight(void)
{
    minihub m;
    if (!mh_start(&m, "--throttle 2000000")) { return; } // the 1 MB file takes ~0.5 s
    wick_registry *r = registry_for(&m, 0);
    wick_request q;
    wick_stream *a = NULL, *b = NULL;
    greedy_q(&q, "org/tiny-GGUF:Q8_0", 8);
    CHECK_OK(wick_stream_start(r, &q, &a));
    CHECK_OK(wick_stream_start(r, &q, &b));
    drained da, db;
    if (a) { drain(a, &da, 30000); }
    if (b) { drain(b, &db, 30000); }
    expect_ok(&da, "first of two");
    expect_ok(&db, "second of two");
    CHECK(da.n_progress > 0 && db.n_progress > 0); // each receives the load's progress
    CHECK(memcmp(da.ids, db.ids, 8 * sizeof(int32_t)) == 0);
    int n_get = mh_log_count(&m, "HEAD /org/tiny-GGUF/resolve/");
    int n_cdn = mh_log_count(&m, "GET /cdn/");
    wick_registry_info info;
    CHECK_OK(wick_registry_info_get(r, &info));
    CHECKF(n_get == 1 && n_cdn == 1 && info.n_loads == 1,
           "two requests: %d resolve HEADs, %d CDN GETs, %llu loads", n_get, n_cdn,
           (unsigned long long)info.n_loads);
    printf("  single flight: two concurrent requests, %d download, %llu load\n", n_cdn,
           (unsigned long long)info.n_loads);
    wick_stream_free(a);
    wick_stream_free(b);
    wick_registry_destroy(r);
    mh_stop(&m);
}

// --- error paths ---------------------------------------------------------------------------------

// Fails once with (code, needle), then (the fault gone) succeeds on the same registry.
static void fail_then_ok(wick_registry *r, const char *spec, wick_status code, const char *needle,
                         const char *what)
{
    wick_request q;
    drained d;
    greedy_q(&q, spec, 4);
    run_request(r, &q, &d);
    expect_error(&d, code, needle, what);
    expect_clean(r, what);
    run_request(r, &q, &d);
    expect_ok(&d, what);
}

static void test_errors(void)
{
    minihub m;
    // one cut-off body and one corrupted body, each only once (then the fault is gone)
    if (!mh_start(&m, "--drop-after 1000 --drop-count 1 --corrupt-count 0")) { return; }
    wick_registry *r = registry_for(&m, 0);
    fail_then_ok(r, "org/tiny-GGUF:Q8_0", WICK_E_NETWORK, NULL, "download cut off");
    wick_request q;
    drained d;
    greedy_q(&q, "org/nope-GGUF", 4);
    run_request(r, &q, &d);
    expect_error(&d, WICK_E_REPO_NOT_FOUND, "org/nope-GGUF", "unknown repo");
    greedy_q(&q, "org/tiny-GGUF:Q2_K", 4);
    run_request(r, &q, &d);
    expect_error(&d, WICK_E_NOT_FOUND, "Q2_K'; the repository has F32, Q4_K_M, Q8_0",
                 "no GGUF for a tag");
    expect_clean(r, "errors");
    wick_registry_destroy(r);
    mh_stop(&m);

    // a corrupt GGUF on the Hub; then main moves to a commit with a good file (.next)
    if (!mh_start(&m, "--move-after 1")) { return; }
    r = registry_for(&m, 0);
    fail_then_ok(r, "org/broken-GGUF", WICK_E_FORMAT, "broken-Q4_K_M.gguf",
                 "corrupt GGUF on the Hub");
    wick_registry_destroy(r);
    mh_stop(&m);

    if (!mh_start(&m, "--corrupt-count 2")) { return; } // the hub downloads once more on a mismatch
    r = registry_for(&m, 0);
    fail_then_ok(r, "org/tiny-GGUF:F32", WICK_E_CHECKSUM, NULL, "bytes corrupted in transit");
    wick_registry_destroy(r);
    mh_stop(&m);
}

// --- the non-blocking promise --------------------------------------------------------------------

static void test_nonblocking(void)
{
    minihub m;
    struct stat sb;
    if (stat(big_path, &sb) != 0) { return; }
    const double secs = 2.0; // the pull takes about this long
    char args[64];
    snprintf(args, sizeof args, "--throttle %.0f", (double)sb.st_size / secs);
    if (!mh_start(&m, args)) { return; }
    wick_registry *r = registry_for(&m, 0);
#ifdef __SANITIZE_ADDRESS__
    enum { N_PROMPT = 16 }; // a smaller prefill under ASan
#else
    enum { N_PROMPT = 64 };
#endif
    int32_t toks[N_PROMPT];
    for (int i = 0; i < N_PROMPT; i++) { toks[i] = 100 + i * 13; }
    wick_request q;
    wick_request_init(&q);
    q.model = "org/big-GGUF";
    q.tokens = toks;
    q.n_tokens = N_PROMPT;
    q.max_tokens = 4;
    q.ignore_eos = true;
    q.sampling.temperature = 0;
    wick_stream *st = NULL;
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec its = {{0, 10000000}, {0, 10000000}};
    timerfd_settime(tfd, 0, &its, NULL);
    double t0 = wk_now(), last_tick = t0, worst = 0, t_start_call;
    t_start_call = wk_now();
    CHECK_OK(wick_stream_start(r, &q, &st));
    double start_call = wk_now() - t_start_call;
    drained d;
    memset(&d, 0, sizeof d);
    int n_ticks = 0;
    bool done = false;
    while (st && !done && wk_now() - t0 < 120) {
        struct pollfd p[2] = {{tfd, POLLIN, 0}, {wick_stream_fd(st), POLLIN, 0}};
        poll(p, 2, -1);
        if (p[0].revents & POLLIN) {
            uint64_t n;
            if (read(tfd, &n, sizeof n) == sizeof n) {
                double now = wk_now();
                if (now - last_tick > worst) { worst = now - last_tick; }
                last_tick = now;
                n_ticks++;
            }
        }
        const wick_chunk *c;
        wick_status rc;
        while ((rc = wick_stream_next(st, 0, &c)) == WICK_OK) { drained_add(&d, c); }
        done = rc == WICK_DONE;
    }
    double total = wk_now() - t0;
    close(tfd);
    expect_ok(&d, "200 MB model");
    CHECKF(worst < 1.0, "the caller's 10 ms timer waited %.3f s", worst);
    CHECKF(start_call < 0.1, "wick_stream_start took %.3f s", start_call);
    CHECK(d.n_progress >= 3);
    printf("  non-blocking: %.0f MB pulled + loaded + %d-token prefill in %.2f s; 10 ms timer: %d "
           "ticks, largest gap %.1f ms; wick_stream_start %.2f ms\n",
           (double)sb.st_size / 1e6, N_PROMPT, total, n_ticks, worst * 1e3, start_call * 1e3);
    wick_stream_free(st);
    wick_registry_destroy(r);
    mh_stop(&m);
}

// Cancel during the download: the stream ends cancelled (asserted < 1 s; the figure printed,
// bench_gen --cancel has prefill and decode), the Hub transfer stops, nothing is left behind.
static void test_cancel_download(void)
{
    minihub m;
    struct stat sb;
    if (stat(big_path, &sb) != 0) { return; }
    char args[64];
    snprintf(args, sizeof args, "--throttle %.0f", (double)sb.st_size / 10.0); // ~10 s pull
    if (!mh_start(&m, args)) { return; }
    wick_registry *r = registry_for(&m, 0);
    wick_request q;
    greedy_q(&q, "org/big-GGUF", 4);
    double worst = 0;
    for (int round = 0; round < 3 && r; round++) {
        wick_stream *st = NULL;
        CHECK_OK(wick_stream_start(r, &q, &st));
        const wick_chunk *c;
        bool downloading = false;
        while (st && !downloading && wick_stream_next(st, 10000, &c) == WICK_OK) {
            downloading = c->type == WICK_CHUNK_PROGRESS && !strcmp(c->stage, "download") &&
                          c->done > 0 && c->done < c->total;
        }
        CHECKF(downloading, "round %d: no download progress", round);
        const double t0 = wk_now();
        wick_stream_cancel(st);
        drained d;
        memset(&d, 0, sizeof d);
        if (st) { drain(st, &d, 5000); }
        const double dt = wk_now() - t0;
        worst = dt > worst ? dt : worst;
        CHECKF(d.finish == WICK_FINISH_CANCELLED && d.done_last && d.n_error == 0,
               "cancel in download: finish %d, chunks %s", d.finish, d.types);
        CHECKF(dt < 1.0, "cancel in download took %.3f s", dt);
        wick_stream_free(st);
        // the load ends once the Hub has stopped the transfer (its callback)
        wick_registry_info info;
        const double t1 = wk_now();
        do {
            CHECK_OK(wick_registry_info_get(r, &info));
            const struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        } while ((info.n_loading || info.n_streams) && wk_now() - t1 < 5);
        expect_clean(r, "cancel in download");
    }
    printf("  cancel during the download (%.0f MB, throttled): done (cancelled) within %.1f ms "
           "(worst of 3)\n",
           (double)sb.st_size / 1e6, worst * 1e3);
    wick_registry_destroy(r);
    mh_stop(&m);
}

int main(void)
{
    make_root(true);
    test_choose();
    test_single_flight();
    test_errors();
    test_nonblocking();
    test_cancel_download();
    return test_summary("gen_hub");
}
