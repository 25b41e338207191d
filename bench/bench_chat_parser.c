// bench_chat_parser.c — the streaming reasoning / tool-call parser on a Kimi-K2-Thinking-shaped
// output: a <think> block, an answer, and a tool-call section of three calls, fed as a model
// streams it (pieces of 1..7 bytes, about a token each, so markers split anywhere) and whole.
//
//   bench_chat_parser [KIB] [RUNS]        (default 64 KiB of text, 50 runs)
//
// Prints, per format (Phi-4-reasoning: think markers only; Kimi K2: think markers and tool calls),
// the median over runs of the time per fed piece (per token, in effect) and the throughput in
// MB/s, on this thread's CPU time (the machine is shared). Every run's pieces are counted and
// checked against the first run's, so the work cannot be skipped.
#include "bench_common.h"
#include "wick.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        if (!*buf) { exit(1); }
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

// Reasoning and answer prose (ASCII and some multi-byte characters), kib KiB in all.
static char *make_text(size_t kib, bool tools, size_t *out_len)
{
    static const char *const words[] = {
        "the ", "user ", "asks ", "about ", "weather ", "in ", "Zürich ", "so ", "I ", "should ",
        "call ", "the ", "tool ", "with ", "city ", "and ", "unit ", "— ", "maybe ", "°C ",
        "then ", "compare ", "<b>", "3 < 4 ", "| ", "and ", "think ", "again.\n",
    };
    const size_t nw = sizeof words / sizeof words[0];
    char *t = NULL;
    size_t len = 0, cap = 0;
    bench_rng r = bench_rng_seed(7);
    append(&t, &len, &cap, "<think>");
    while (len < kib * 1024 * 3 / 4) { append(&t, &len, &cap, words[bench_rng_u64(&r) % nw]); }
    append(&t, &len, &cap, "</think>\n\n");
    while (len < kib * 1024) { append(&t, &len, &cap, words[bench_rng_u64(&r) % nw]); }
    if (tools) {
        append(&t, &len, &cap, "<|tool_calls_section_begin|>");
        for (int i = 0; i < 3; i++) {
            char call[256];
            snprintf(call, sizeof call,
                     "<|tool_call_begin|>functions.get_weather:%d<|tool_call_argument_begin|>"
                     "{\"city\": \"Zürich\", \"unit\": \"celsius\", \"days\": %d}<|tool_call_end|>",
                     i, i + 1);
            append(&t, &len, &cap, call);
        }
        append(&t, &len, &cap, "<|tool_calls_section_end|>");
    }
    *out_len = len;
    return t;
}

static void run(const char *name, const wick_chat_format *f, const char *text, size_t len,
                int runs)
{
    wick_chat_parser *p = NULL;
    if (wick_chat_parser_create(f, &p) < 0) {
        fprintf(stderr, "bench_chat_parser: %s\n", wick_errmsg());
        exit(1);
    }
    // piece sizes 1..7 bytes, fixed for every run
    size_t n_feeds = 0;
    unsigned char *sizes = malloc(len);
    bench_rng r = bench_rng_seed(11);
    for (size_t off = 0; off < len; n_feeds++) {
        size_t k = 1 + bench_rng_u64(&r) % 7;
        k = k > len - off ? len - off : k;
        sizes[n_feeds] = (unsigned char)k;
        off += k;
    }
    double *t_stream = malloc(sizeof(double) * (size_t)runs);
    double *t_whole = malloc(sizeof(double) * (size_t)runs);
    size_t want[4] = {0};
    for (int run_i = 0; run_i < runs; run_i++) {
        for (int whole = 0; whole < 2; whole++) {
            size_t got[4] = {0};
            wick_chat_piece pc;
            wick_chat_parser_reset(p);
            double t0 = cpu_now();
            if (whole) {
                wick_chat_parser_feed(p, text, len);
                while (wick_chat_parser_next(p, &pc) == WICK_OK) { got[pc.kind]++; }
            } else {
                size_t off = 0;
                for (size_t i = 0; i < n_feeds; i++) {
                    wick_chat_parser_feed(p, text + off, sizes[i]);
                    off += sizes[i];
                    while (wick_chat_parser_next(p, &pc) == WICK_OK) {
                        got[pc.kind] += pc.kind == WICK_PIECE_TOOL_CALL ? 1 : pc.len;
                    }
                }
            }
            wick_chat_parser_finish(p);
            while (wick_chat_parser_next(p, &pc) == WICK_OK) {
                got[pc.kind] += pc.kind == WICK_PIECE_TOOL_CALL ? 1 : pc.len;
            }
            double dt = cpu_now() - t0;
            (whole ? t_whole : t_stream)[run_i] = dt;
            if (!whole) {
                if (run_i == 0) { memcpy(want, got, sizeof want); }
                if (memcmp(want, got, sizeof want) != 0) {
                    fprintf(stderr, "bench_chat_parser: %s: run %d gave other pieces\n", name,
                            run_i);
                    exit(1);
                }
            }
        }
    }
    qsort(t_stream, (size_t)runs, sizeof(double), cmp_double);
    qsort(t_whole, (size_t)runs, sizeof(double), cmp_double);
    double ts = t_stream[runs / 2], tw = t_whole[runs / 2];
    printf("  %-16s streamed %6zu pieces: %6.1f ns/piece %7.1f MB/s   whole: %7.1f MB/s"
           "   (reasoning %zu B, content %zu B, %zu tool calls, %zu warnings)\n",
           name, n_feeds, ts / (double)n_feeds * 1e9, (double)len / ts / 1e6,
           (double)len / tw / 1e6, want[WICK_PIECE_REASONING], want[WICK_PIECE_CONTENT],
           want[WICK_PIECE_TOOL_CALL], want[WICK_PIECE_WARNING]);
    free(sizes);
    free(t_stream);
    free(t_whole);
    wick_chat_parser_destroy(p);
}

int main(int argc, char **argv)
{
    size_t kib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 64;
    int runs = argc > 2 ? atoi(argv[2]) : 50;
    if (kib < 1 || runs < 1) {
        fprintf(stderr, "usage: bench_chat_parser [KIB] [RUNS]\n");
        return 2;
    }
    size_t len_phi, len_kimi;
    char *phi = make_text(kib, false, &len_phi);
    char *kimi = make_text(kib, true, &len_kimi);
    printf("chat parser over %zu KiB of generated text, median of %d runs (one thread)\n", kib,
           runs);
    wick_chat_format f = {0};
    f.think_open = "<think>";
    f.think_close = "</think>";
    run("Phi-4-reasoning", &f, phi, len_phi, runs);
    f.tools = WICK_TOOLS_KIMI_K2;
    run("Kimi K2", &f, kimi, len_kimi, runs);
    free(phi);
    free(kimi);
    return 0;
}
