// test_chat_reasoning.c — the streaming reasoning / tool-call parser, and the choice of markers
// from a model's template and vocabulary.
//
// Each case is a generated text and the pieces it must give, written as R[reasoning] C[content]
// T[name|arguments|id|index] W (warning), with adjacent pieces of one kind merged. Every case is
// fed whole, byte by byte, split in two at every byte, and (for the shorter texts) split in three
// at every pair of bytes: each feeding must give the same pieces, every piece whole UTF-8.
#include "harness.h"
#include "tok/tok.h"

typedef struct render {
    char buf[8192];
    size_t len;
    int open; // the kind of the bracket left open (-1: none)
    bool utf8_ok;
} render;

static void put(render *r, const char *s, size_t n)
{
    if (r->len + n < sizeof r->buf) {
        memcpy(r->buf + r->len, s, n);
        r->len += n;
        r->buf[r->len] = '\0';
    }
}

static void close_open(render *r)
{
    if (r->open >= 0) { put(r, "]", 1); }
    r->open = -1;
}

static void drain(wick_chat_parser *p, render *r)
{
    wick_chat_piece pc;
    while (wick_chat_parser_next(p, &pc) == WICK_OK) {
        if (!wk_tok_utf8_valid((const uint8_t *)pc.text, pc.len) || strlen(pc.text) != pc.len) {
            r->utf8_ok = false;
        }
        switch (pc.kind) {
        case WICK_PIECE_CONTENT:
        case WICK_PIECE_REASONING:
            if (pc.len == 0) { r->utf8_ok = false; } // no empty text pieces
            if (r->open != (int)pc.kind) {
                close_open(r);
                put(r, pc.kind == WICK_PIECE_CONTENT ? "C[" : "R[", 2);
                r->open = (int)pc.kind;
            }
            put(r, pc.text, pc.len);
            break;
        case WICK_PIECE_TOOL_CALL: {
            close_open(r);
            char tmp[1024];
            snprintf(tmp, sizeof tmp, "T[%s|%s|%s|%d]", pc.name, pc.arguments, pc.id, pc.index);
            put(r, tmp, strlen(tmp));
            break;
        }
        case WICK_PIECE_WARNING:
            close_open(r);
            put(r, "W", 1);
            if (pc.len == 0) { r->utf8_ok = false; }
            break;
        }
    }
}

// Feeds text cut at the offsets cuts[0..n_cuts) (ascending) and renders the pieces.
static void parse(wick_chat_parser *p, const char *text, const size_t *cuts, int n_cuts, render *r)
{
    memset(r, 0, sizeof *r);
    r->open = -1;
    r->utf8_ok = true;
    wick_chat_parser_reset(p);
    size_t len = strlen(text), at = 0;
    for (int i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        if (wick_chat_parser_feed(p, text + at, end - at) < 0) { put(r, "<feed failed>", 13); }
        drain(p, r);
        at = end;
    }
    if (wick_chat_parser_finish(p) < 0) { put(r, "<finish failed>", 15); }
    drain(p, r);
    close_open(r);
}

typedef struct fmt {
    bool think, open_in_prompt, closed_in_prompt, kimi;
} fmt;

static int n_feedings;

static void check_case(fmt f, const char *text, const char *want)
{
    wick_chat_format cf = {0};
    if (f.think) {
        cf.think_open = "<think>";
        cf.think_close = "</think>";
    }
    cf.think_open_in_prompt = f.open_in_prompt;
    cf.think_closed_in_prompt = f.closed_in_prompt;
    cf.tools = f.kimi ? WICK_TOOLS_KIMI_K2 : WICK_TOOLS_NONE;
    wick_chat_parser *p = NULL;
    CHECK_OK(wick_chat_parser_create(&cf, &p));
    if (!p) { return; }
    render r;
    parse(p, text, NULL, 0, &r);
    CHECKF(strcmp(r.buf, want) == 0 && r.utf8_ok, "'%s':\n  got  %s\n  want %s", text, r.buf,
           want);
    const size_t len = strlen(text);
    size_t cuts[4096];
    int bad = 0;
    for (size_t i = 0; i < len && i < 4096; i++) { cuts[i] = i + 1; } // byte by byte
    parse(p, text, cuts, (int)(len < 4096 ? len : 4096) - 1, &r);
    bad += strcmp(r.buf, want) != 0 || !r.utf8_ok;
    for (size_t i = 1; i < len; i++) { // two chunks
        cuts[0] = i;
        parse(p, text, cuts, 1, &r);
        if ((strcmp(r.buf, want) != 0 || !r.utf8_ok) && bad++ < 3) {
            fprintf(stderr, "split at %zu: got %s\n", i, r.buf);
        }
        n_feedings++;
    }
    if (len <= 200) {
        for (size_t i = 1; i < len; i++) { // three chunks
            for (size_t j = i + 1; j < len; j++) {
                cuts[0] = i;
                cuts[1] = j;
                parse(p, text, cuts, 2, &r);
                if ((strcmp(r.buf, want) != 0 || !r.utf8_ok) && bad++ < 3) {
                    fprintf(stderr, "split at %zu, %zu: got %s\n", i, j, r.buf);
                }
                n_feedings++;
            }
        }
    }
    CHECKF(bad == 0, "'%.60s...': %d feedings differ from the whole text's pieces", text, bad);
    wick_chat_parser_destroy(p);
}

static const fmt PHI = {true, false, false, false};
static const fmt PHI_OPEN = {true, true, false, false};
static const fmt KIMI = {true, false, false, true};
static const fmt KIMI_INSTRUCT = {false, false, false, true};
static const fmt NONE = {false, false, false, false};
static const fmt CLOSED = {true, false, true, false};

#define CALL(id, args) \
    "<|tool_call_begin|>" id "<|tool_call_argument_begin|>" args "<|tool_call_end|>"
#define SECTION(calls) "<|tool_calls_section_begin|>" calls "<|tool_calls_section_end|>"

static void test_reasoning(void)
{
    check_case(PHI, "<think>\nLet me think: 2+2.\n</think>\n\nThe answer is 4.",
               "R[Let me think: 2+2.]C[The answer is 4.]");
    check_case(PHI_OPEN, "Okay, so 東京 is… big\n</think>\n\nTokyo.",
               "R[Okay, so 東京 is… big]C[Tokyo.]");
    check_case(PHI, "Sure. <think>hmm</think> ok", "C[Sure. ]R[hmm]C[ok]");
    check_case(PHI, "\n\n<think>a</think>b", "R[a]C[b]");
    check_case(PHI, "<think>partial thoüght \n", "R[partial thoüght]W");
    check_case(PHI, "  Hello wörld\n", "C[  Hello wörld\n]");
    check_case(PHI, " \n", "C[ \n]");
    check_case(PHI, "<think>x</think>y<think>z</think>", "R[x]C[y<think>z</think>]");
    check_case(PHI, "<think></think>Answer", "C[Answer]");
    check_case(PHI, "<think>a\n\n b\t</think>", "R[a\n\n b]");
    check_case(PHI, "a <thin b </think", "C[a <thin b </think]");
    check_case(PHI, "é<think>ü</think>ö", "C[é]R[ü]C[ö]");
    check_case(PHI_OPEN, "", "W");
    check_case(NONE, "<think>x</think>\n", "C[<think>x</think>\n]");
    check_case(CLOSED, "<think>x</think>", "C[<think>x</think>]");
}

static void test_kimi(void)
{
    check_case(KIMI,
               "<think>plan it</think>Let me check." SECTION(
                   CALL("functions.get_weather:0", "{\"city\": \"Paris\"}")
                       CALL("functions.search:1", "{\"q\":\"東京\"}")),
               "R[plan it]C[Let me check.]T[get_weather|{\"city\": \"Paris\"}|functions.get_"
               "weather:0|0]T[search|{\"q\":\"東京\"}|functions.search:1|1]");
    check_case(KIMI, "<think>need the weather" SECTION(CALL("functions.w:0", "{}")),
               "R[need the weather]T[w|{}|functions.w:0|0]");
    check_case(KIMI_INSTRUCT,
               "I'll search.\n<|tool_calls_section_begin|>\n<|tool_call_begin|> functions.search:0 "
               "<|tool_call_argument_begin|> {\"q\": 1} <|tool_call_end|>\n"
               "<|tool_calls_section_end|>",
               "C[I'll search.\n]T[search|{\"q\": 1}|functions.search:0|0]");
    check_case(KIMI_INSTRUCT, SECTION(CALL("get_time", "{\"tz\":\"UTC\"}")) "Done.",
               "T[get_time|{\"tz\":\"UTC\"}|get_time|0]C[Done.]");
    // malformed: content + warning, and the next good call is index 0
    check_case(KIMI, SECTION(CALL("functions.f:0", "{city: Paris}") CALL("functions.g:1", "{}")),
               "C[" CALL("functions.f:0", "{city: Paris}") "]WT[g|{}|functions.g:1|0]");
    check_case(KIMI, SECTION(CALL("functions.f:0", "[1, 2]")),
               "C[" CALL("functions.f:0", "[1, 2]") "]W");
    check_case(KIMI, SECTION(CALL("functions.:0", "{}")), "C[" CALL("functions.:0", "{}") "]W");
    check_case(KIMI, SECTION("<|tool_call_begin|>functions.f:0<|tool_call_end|>"),
               "C[<|tool_call_begin|>functions.f:0<|tool_call_end|>]W");
    // cut off: inside the arguments, and a call begun while one was open
    check_case(KIMI,
               "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0"
               "<|tool_call_argument_begin|>{\"a\":",
               "C[<|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{\"a\":]W");
    check_case(KIMI,
               "<|tool_calls_section_begin|><|tool_call_begin|>functions.f:0"
               "<|tool_call_argument_begin|>{" CALL("functions.g:1", "{}"),
               "C[<|tool_call_begin|>functions.f:0<|tool_call_argument_begin|>{]WT[g|{}|functions."
               "g:1|0]");
    // stray text between calls is content
    check_case(KIMI_INSTRUCT, SECTION("oops" CALL("functions.f:0", "{}")),
               "C[oops]T[f|{}|functions.f:0|0]");
    check_case(KIMI_INSTRUCT, SECTION("\n a  b \n" CALL("functions.f:0", "{}") " c "),
               "C[a  b]T[f|{}|functions.f:0|0]C[c]"); // found by fuzz_chat_parser
}

static void test_api(void)
{
    wick_chat_format f = {"<think>", "</think>", false, false, WICK_TOOLS_KIMI_K2};
    wick_chat_parser *p = NULL;
    CHECK_OK(wick_chat_parser_create(&f, &p));
    wick_chat_piece pc;
    CHECK(wick_chat_parser_next(p, &pc) == WICK_DONE);
    CHECK_OK(wick_chat_parser_feed(p, "<thi", 4));
    CHECK(wick_chat_parser_next(p, &pc) == WICK_DONE); // held: it may be <think>
    CHECK(!wick_chat_parser_in_reasoning(p));
    CHECK_OK(wick_chat_parser_feed(p, "nk>why", 6));
    CHECK(wick_chat_parser_in_reasoning(p));
    CHECK(wick_chat_parser_next(p, &pc) == WICK_OK && pc.kind == WICK_PIECE_REASONING &&
          strcmp(pc.text, "why") == 0 && pc.index == -1 && pc.name == NULL);
    CHECK_OK(wick_chat_parser_finish(p));
    CHECK(wick_chat_parser_next(p, &pc) == WICK_OK && pc.kind == WICK_PIECE_WARNING &&
          strstr(pc.text, "</think>") != NULL);
    CHECK(wick_chat_parser_next(p, &pc) == WICK_DONE);
    CHECK_FAIL(wick_chat_parser_feed(p, "x", 1), WICK_E_INVALID, "finish");
    wick_chat_parser_reset(p);
    CHECK_OK(wick_chat_parser_feed(p, "x", 1));
    wick_chat_parser_destroy(p);
    f.think_close = "</this marker is much too long to be a marker of any model that we know of>";
    CHECK_FAIL(wick_chat_parser_create(&f, &p), WICK_E_INVALID, "think-close");
    f.think_close = NULL;
    CHECK_FAIL(wick_chat_parser_create(&f, &p), WICK_E_INVALID, "think-close");
    CHECK(p == NULL);
    CHECK_FAIL(wick_chat_parser_create(NULL, &p), WICK_E_INVALID, NULL);
    wick_chat_parser_destroy(NULL);
    // a tool call that never ends is capped, not grown without bound
    wick_chat_format k = {NULL, NULL, false, false, WICK_TOOLS_KIMI_K2};
    CHECK_OK(wick_chat_parser_create(&k, &p));
    const char *open_call = SECTION("<|tool_call_begin|>f<|tool_call_argument_begin|>");
    CHECK_OK(wick_chat_parser_feed(p, open_call,
                                   strlen(open_call) - strlen("<|tool_calls_section_end|>")));
    static char big[1 << 20];
    memset(big, 'a', sizeof big);
    wick_status rc = WICK_OK;
    for (int i = 0; i < 20 && rc == WICK_OK; i++) {
        rc = wick_chat_parser_feed(p, big, sizeof big);
    }
    CHECK(rc == WICK_E_RANGE);
    wick_chat_parser_destroy(p);
}

static void test_detect(void)
{
    struct {
        const char *file;
        bool think, kimi;
    } t[] = {
        {"templates/phi-4-reasoning.jinja", true, false},
        {"templates/kimi-k2-thinking.jinja", true, true},
        {"templates/kimi-k2-instruct.jinja", false, true},
        {"templates/phi-4.jinja", false, false},
        {"templates/llama3-style.jinja", false, false},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char *src = test_slurp(test_data(t[i].file), NULL);
        CHECKF(src != NULL, "%s", t[i].file);
        wick_chat_format f;
        wick_chat_format_detect(src, NULL, NULL, &f);
        CHECKF((f.think_open != NULL) == t[i].think && (f.tools == WICK_TOOLS_KIMI_K2) == t[i].kimi,
               "%s: think %d tools %d", t[i].file, f.think_open != NULL, (int)f.tools);
        free(src);
    }
    struct {
        const char *model;
        bool think, kimi;
    } v[] = {
        {"models/deepseek2-F32.gguf", true, true}, // Kimi-style vocabulary
        {"models/phi3-F32.gguf", true, false},     // Phi-4-reasoning-style vocabulary
        {"models/llama-F32.gguf", false, false},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        wick_gguf *g = NULL;
        wick_tokenizer *tk = NULL;
        CHECK_OK(wick_gguf_open(test_data(v[i].model), &g));
        if (g) { CHECK_OK(wick_tokenizer_open_gguf(g, &tk)); }
        wick_chat_format f;
        wick_chat_format_detect(NULL, tk, NULL, &f);
        CHECKF((f.think_open != NULL) == v[i].think && (f.tools == WICK_TOOLS_KIMI_K2) == v[i].kimi,
               "%s: think %d tools %d", v[i].model, f.think_open != NULL, (int)f.tools);
        wick_tokenizer_close(tk);
        wick_gguf_close(g);
    }
    wick_chat_format f;
    const char *tmpl = "{{ '<think>' }}{{ '</think>' }}";
    wick_chat_format_detect(tmpl, NULL, "<|im_start|>assistant<|im_sep|><think>\n", &f);
    CHECK(f.think_open_in_prompt && !f.think_closed_in_prompt);
    const char *closed = "<|im_assistant|>assistant<|im_middle|><think></think>";
    wick_chat_format_detect(tmpl, NULL, closed, &f);
    CHECK(!f.think_open_in_prompt && f.think_closed_in_prompt);
    wick_chat_format_detect(tmpl, NULL, "<|im_start|>assistant<|im_sep|>", &f);
    CHECK(!f.think_open_in_prompt && !f.think_closed_in_prompt);
    wick_chat_format_detect(NULL, NULL, "<think>", &f); // no markers known: nothing
    CHECK(f.think_open == NULL && !f.think_open_in_prompt && f.tools == WICK_TOOLS_NONE);
}

// Real templates rendered through the C API: the markers and whether the generation prompt
// opened (R1 distills, QwQ) or closed (DeepSeek V3.1, Qwen3 with thinking off) the think block.
static void test_detect_rendered(void)
{
    struct {
        const char *file, *ctx;
        bool think, kimi, open, closed;
    } t[] = {
        {"templates/phi-4-reasoning.jinja", NULL, true, false, false, false},
        {"templates/kimi-k2-thinking.jinja", NULL, true, true, false, false},
        {"templates/kimi-k2-instruct.jinja", NULL, false, true, false, false},
        {"templates/corpus/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", NULL, true, false,
         true, false},
        {"templates/corpus/Qwen-QwQ-32B.jinja", NULL, true, false, true, false},
        {"templates/corpus/deepseek-ai-DeepSeek-V3.1.jinja", NULL, true, false, false, true},
        {"templates/corpus/Qwen-Qwen3-0.6B.jinja", NULL, true, false, false, false},
        {"templates/corpus/Qwen-Qwen3-0.6B.jinja", "\"enable_thinking\": false, ", true, false,
         false, true},
        {"templates/corpus/meta-llama-Llama-3.1-8B-Instruct.jinja", NULL, false, false, false,
         false},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char ctx[256];
        snprintf(ctx, sizeof ctx,
                 "{%s\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                 "\"add_generation_prompt\": true}",
                 t[i].ctx ? t[i].ctx : "");
        wick_template *tp = NULL;
        CHECK_OK(wick_template_open_file(test_data(t[i].file), &tp));
        char *out = NULL;
        size_t n = 0;
        if (tp) { CHECK_OK(wick_template_render(tp, ctx, strlen(ctx), NULL, &out, &n)); }
        size_t len = 0;
        const char *src = tp ? wick_template_source(tp, &len) : NULL;
        wick_chat_format f;
        wick_chat_format_detect(src, NULL, out, &f);
        const bool kimi = f.tools == WICK_TOOLS_KIMI_K2;
        CHECKF((f.think_open != NULL) == t[i].think && kimi == t[i].kimi &&
                   f.think_open_in_prompt == t[i].open && f.think_closed_in_prompt == t[i].closed,
               "%s %s: think %d tools %d open %d closed %d", t[i].file, t[i].ctx ? t[i].ctx : "",
               f.think_open != NULL, (int)f.tools, f.think_open_in_prompt,
               f.think_closed_in_prompt);
        wick_free(out);
        wick_template_close(tp);
    }
}

int main(void)
{
    test_reasoning();
    test_kimi();
    test_api();
    test_detect();
    test_detect_rendered();
    printf("%d chunked feedings compared\n", n_feedings);
    return test_summary("chat_reasoning");
}
