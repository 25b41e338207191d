// test_gen_chat.c — chat streams (wick.h sections 7 and 8): messages rendered with the model's own
// Jinja template (the prompt of a golden rendering by an independent engine, @huggingface/jinja);
// a request's template overriding it; a reasoning budget forcing </think> (reasoning chunks, then
// content, reasoning_tokens counted); template and tools errors as error chunks then done; tool
// calls: a model whose greedy output is a Kimi K2 tool-call section gives tool_call chunks
// through the whole pipeline (template with tools -> tokens -> forward -> sampler -> detokenizer
// -> parser), in the C API and in `wick run --json`.
#include <jansson.h>

#include "gen/gen.h"
#include "harness.h"
#include "streams.h"

static wick_registry *registry(void)
{
    wick_registry_opts o;
    wick_registry_opts_init(&o);
    o.n_seq = 2;
    o.n_threads = 2;
    o.n_ctx = 1024;
    o.hub.offline = 1;
    wick_registry *r = NULL;
    CHECK_OK(wick_registry_create(&o, &r));
    return r;
}

static size_t count_tokens(const char *model, const char *text)
{
    wick_gguf *g = NULL;
    wick_tokenizer *tk = NULL;
    size_t n = 0;
    CHECK_OK(wick_gguf_open(model, &g));
    if (g) { CHECK_OK(wick_tokenizer_open_gguf(g, &tk)); }
    if (tk) { // n_max 0: only counts (WICK_E_RANGE)
        wick_status rc = wick_tokenize(tk, text, strlen(text),
                                       WICK_TOKENIZE_PARSE_SPECIAL | WICK_TOKENIZE_ADD_SPECIAL,
                                       NULL, 0, &n);
        CHECK(rc == WICK_E_RANGE || rc == WICK_OK);
    }
    wick_tokenizer_close(tk);
    wick_gguf_close(g);
    return n;
}

// Phi-4-reasoning's template in the phi3 fixture's GGUF: the golden cases' messages give the
// prompt of their golden rendering.
static void test_model_template(wick_registry *r, const char *model)
{
    json_error_t err;
    json_t *gold = json_load_file(test_data("templates/golden/phi-4-reasoning.json"), 0, &err);
    CHECKF(gold != NULL, "golden: %s", err.text);
    size_t i, n_cases = 0;
    json_t *c;
    json_array_foreach(json_object_get(gold, "cases"), i, c)
    {
        json_t *ctx = json_object_get(c, "context"), *msgs = json_object_get(ctx, "messages");
        if (json_object_get(ctx, "tools") || json_object_size(ctx) != 4 ||
            !json_is_true(json_object_get(ctx, "add_generation_prompt"))) {
            continue; // streams always ask for the generation prompt
        }
        wick_message m[16];
        size_t n = json_array_size(msgs), k;
        json_t *e;
        bool plain = n <= 16;
        json_array_foreach(msgs, k, e)
        {
            if (k >= 16) { break; }
            memset(&m[k], 0, sizeof m[k]);
            m[k].role = json_string_value(json_object_get(e, "role"));
            m[k].content = json_string_value(json_object_get(e, "content"));
            plain &= m[k].role && m[k].content && json_object_size(e) == 2;
        }
        if (!plain) { continue; } // string contents only
        const char *rendered = json_string_value(json_object_get(c, "rendered"));
        size_t want = count_tokens(model, rendered);
        wick_request q;
        wick_request_init(&q);
        q.model = model;
        q.messages = m;
        q.n_messages = n;
        q.max_tokens = 1;
        q.sampling.temperature = 0;
        drained d;
        run_request(r, &q, &d);
        CHECKF(d.n_error == 0 && want > 0 && d.usage.prompt_tokens == (int64_t)want,
               "case %s: %lld prompt tokens, the golden rendering has %zu (%s)",
               json_string_value(json_object_get(c, "name")), (long long)d.usage.prompt_tokens,
               want, d.message);
        n_cases++;
    }
    CHECK(n_cases >= 2);
    printf("  the GGUF's template: %zu golden cases of phi-4-reasoning give their prompts\n",
           n_cases);
    json_decref(gold);
}

// A request's template whose generation prompt opens <think>: reasoning until the budget, then
// </think> is forced and the answer is content.
static void test_budget(wick_registry *r, const char *model)
{
    const char *tpl = "{% for m in messages %}<|im_start|>{{ m.role }}<|im_sep|>{{ m.content }}"
                      "<|im_end|>{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant"
                      "<|im_sep|><think>\n{% endif %}";
    wick_message m = {.role = "user", .content = "Think first."};
    wick_request q;
    wick_request_init(&q);
    q.model = model;
    q.chat_template = tpl;
    q.messages = &m;
    q.n_messages = 1;
    q.max_tokens = 24;
    q.ignore_eos = true;
    q.reasoning_budget = 6;
    q.sampling.temperature = 0;
    drained d;
    run_request(r, &q, &d);
    CHECKF(d.n_error == 0 && d.finish == WICK_FINISH_LENGTH, "budget: %s", d.message);
    // the think block's tokens: the budget, then the forced </think> (one token in this vocabulary)
    CHECKF(d.usage.reasoning_tokens == 7, "reasoning tokens %lld, want the budget 6 + </think>",
           (long long)d.usage.reasoning_tokens);
    const char *fr = strchr(d.types, 'R'), *fc = strchr(d.types, 'C');
    CHECKF(fr && (!fc || fr < fc) && !strchr(fc ? fc : "", 'R'),
           "reasoning, then content: chunks %s", d.types);
    CHECK(d.n_reasoning > 0 && !strstr(d.reasoning, "</think>") && !strstr(d.content, "</think>"));
    // thinking off (think 0): the budget is 0: </think> at once (the think block's one token),
    // no reasoning text
    q.think = 0;
    run_request(r, &q, &d);
    CHECKF(d.n_error == 0 && d.usage.reasoning_tokens == 1 && !strchr(d.types, 'R') &&
               d.n_content > 0,
           "think off: %lld reasoning tokens, chunks %s", (long long)d.usage.reasoning_tokens,
           d.types);
    printf(
        "  reasoning budget 6: 6 reasoning tokens + the forced </think>, then content; think "
        "off: </think> at once\n");
}

static void test_errors(wick_registry *r, const char *model)
{
    wick_message m = {.role = "user", .content = "hi"};
    wick_request q;
    wick_request_init(&q);
    q.model = model;
    q.messages = &m;
    q.n_messages = 1;
    q.max_tokens = 2;
    drained d;
    q.chat_template = "{% for m in messages %}{{ m.content }\n{% endfor %}";
    run_request(r, &q, &d);
    expect_error(&d, WICK_E_FORMAT, "chat_template:1:", "template syntax error");
    q.chat_template = "{{ raise_exception('only tools here') }}";
    run_request(r, &q, &d);
    expect_error(&d, WICK_E_TEMPLATE, "only tools here", "template raise_exception");
    q.chat_template = NULL;
    q.tools = "{\"not\": \"a list\"}";
    run_request(r, &q, &d);
    expect_error(&d, WICK_E_INVALID, "tools", "tools not a JSON array");
    q.tools = NULL;
    wick_message bad = {.role = "assistant", .content = "", .tool_calls = "[{"};
    wick_message two[2] = {m, bad};
    q.messages = two;
    q.n_messages = 2;
    run_request(r, &q, &d);
    expect_error(&d, WICK_E_INVALID, "messages[1].tool_calls", "tool_calls not JSON");
    q.messages = &m;
    q.n_messages = 1;
    run_request(r, &q, &d);
    CHECKF(d.n_error == 0 && d.finish == WICK_FINISH_LENGTH, "after the errors: %s", d.message);
}

// --- tool calls ----------------------------------------------------------------------------------

// The text the bigram model below generates: a Kimi K2 tool-call section (the fixture's template
// and vocabulary are Kimi K2's), chosen so that its tokens are all distinct.
static const char TOOL_TEXT[] =
    "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
    "<|tool_call_argument_begin|>{\"q\": 7}<|tool_call_end|>"
    "<|tool_calls_section_end|>";

// Writes dst: the deepseek2 fixture src (metadata, vocabulary, chat template, every tensor) made
// a bigram model over chain[0..n): its layers add nothing (attn_output and every ffn_down* zero),
// token chain[k] embeds to the unit vector e_(k+1) and every other token to e_0, and the output
// rows map e_0 -> chain[0], e_(k+1) -> chain[k+1], e_n -> eos (output_norm 1). Greedy decoding
// after any prompt whose last token is outside the chain therefore generates chain then eos.
static bool write_bigram(const char *src, const char *dst, const int32_t *chain, size_t n,
                         int32_t eos)
{
    wick_gguf *g = NULL;
    wick_gguf_writer *w = NULL;
    CHECK_OK(wick_gguf_open(src, &g));
    CHECK_OK(wick_gguf_writer_create(&w));
    if (!g || !w) { return false; }
    const int64_t n_t = wick_gguf_n_tensors(g);
    float **bufs = calloc((size_t)n_t, sizeof *bufs);
    bool ok = bufs != NULL;
    for (int64_t i = 0; ok && i < wick_gguf_n_kv(g); i++) {
        ok = wick_gguf_writer_copy_kv(w, g, i) == WICK_OK;
    }
    for (int64_t i = 0; ok && i < n_t; i++) {
        wick_tensor_info ti;
        CHECK_OK(wick_gguf_tensor(g, i, &ti));
        const bool embd = !strcmp(ti.name, "token_embd.weight"),
                   out = !strcmp(ti.name, "output.weight");
        const bool ones = !strcmp(ti.name, "output_norm.weight");
        const bool zero = strstr(ti.name, "attn_output") || strstr(ti.name, "ffn_down");
        const void *data = ti.data;
        if (embd || out || ones || zero) {
            CHECKF(ti.type == WICK_DTYPE_F32, "%s: %s is not F32", src, ti.name);
            const int64_t E = ti.ne[0], rows = (int64_t)(ti.bytes / sizeof(float)) / E;
            float *b = calloc(ti.bytes / sizeof(float), sizeof(float));
            ok = b != NULL && ti.type == WICK_DTYPE_F32 && (int64_t)n + 1 <= E;
            for (int64_t v = 0; ok && embd && v < rows; v++) {
                int64_t k = 0; // e_0 for tokens outside the chain
                for (size_t c = 0; c < n; c++) { k = chain[c] == v ? (int64_t)c + 1 : k; }
                b[v * E + k] = 1.0f;
            }
            if (ok && out) {
                for (size_t c = 0; c < n; c++) { b[(int64_t)chain[c] * E + (int64_t)c] = 1.0f; }
                b[(int64_t)eos * E + (int64_t)n] = 1.0f;
            }
            for (int64_t e = 0; ok && ones && e < E; e++) { b[e] = 1.0f; }
            bufs[i] = b;
            data = b;
        }
        ok = ok &&
             wick_gguf_writer_add_tensor(w, ti.name, ti.type, ti.n_dims, ti.ne, data) == WICK_OK;
    }
    ok = ok && wick_gguf_writer_write(w, dst, NULL, NULL) == WICK_OK;
    CHECKF(ok, "writing %s: %s", dst, wick_errmsg());
    for (int64_t i = 0; bufs && i < n_t; i++) { free(bufs[i]); }
    free(bufs);
    wick_gguf_writer_destroy(w);
    wick_gguf_close(g);
    return ok;
}

static const char TOOLS[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":"
    "\"Current weather of a place\",\"parameters\":{\"type\":\"object\",\"properties\":"
    "{\"q\":{\"type\":\"integer\"}},\"required\":[\"q\"]}}}]";

// Whether JSON text a equals JSON text b (as values).
static bool json_same(const char *a, const char *b)
{
    json_t *x = json_loads(a, 0, NULL), *y = json_loads(b, 0, NULL);
    const bool same = x && y && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return same;
}

static void test_tool_calls(wick_registry *r)
{
    char src[4200], dir[4200], model[4300], in[4300];
    snprintf(src, sizeof src, "%s", test_data("models/deepseek2-F32.gguf"));
    snprintf(dir, sizeof dir, "%s", test_tmpdir("gen-tools"));
    snprintf(model, sizeof model, "%s/bigram.gguf", dir);
    snprintf(in, sizeof in, "%s/in.txt", dir);
    // the chain: the tool-call text as the fixture's vocabulary tokenizes it
    wick_gguf *g = NULL;
    wick_tokenizer *tk = NULL;
    CHECK_OK(wick_gguf_open(src, &g));
    if (g) { CHECK_OK(wick_tokenizer_open_gguf(g, &tk)); }
    int32_t chain[64];
    size_t n = 0;
    if (tk) {
        CHECK_OK(wick_tokenize(tk, TOOL_TEXT, strlen(TOOL_TEXT), WICK_TOKENIZE_PARSE_SPECIAL, chain,
                               64, &n));
    }
    const int32_t eos = tk ? wick_tokenizer_eos(tk) : -1;
    bool distinct = n > 5 && eos >= 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) { distinct &= chain[i] != chain[j]; }
        distinct &= chain[i] != eos;
    }
    CHECKF(distinct, "the tool-call text's %zu tokens are not distinct", n);
    wick_tokenizer_close(tk);
    wick_gguf_close(g);
    if (!distinct || !write_bigram(src, model, chain, n, eos)) { return; }

    // through the C API: with tools in the request, and without (the template renders them)
    wick_message msg = {.role = "user", .content = "What is the weather like in Oslo?"};
    int64_t prompt_tokens[2] = {0, 0};
    for (int with_tools = 1; with_tools >= 0; with_tools--) {
        wick_request q;
        wick_request_init(&q);
        q.model = model;
        q.messages = &msg;
        q.n_messages = 1;
        q.tools = with_tools ? TOOLS : NULL;
        q.max_tokens = 64;
        q.sampling.temperature = 0;
        wick_stream *st = NULL;
        drained d;
        memset(&d, 0, sizeof d);
        CHECK_OK(wick_stream_start(r, &q, &st));
        if (st) { drain(st, &d, 60000); }
        wick_stream_free(st);
        prompt_tokens[with_tools] = d.usage.prompt_tokens;
        CHECKF(d.n_error == 0 && d.done_last && d.finish == WICK_FINISH_TOOL_CALLS,
               "tools %d: finish %d, error '%s', chunks %s", with_tools, d.finish, d.message,
               d.types);
        CHECKF(d.n_tool_calls == 1 && d.n_content == 0 && d.n_reasoning == 0,
               "tools %d: %d tool calls, content '%s', reasoning '%s' (chunks %s)", with_tools,
               d.n_tool_calls, d.content, d.reasoning, d.types);
        CHECKF(d.n_tool_calls >= 1 && d.tool_index[0] == 0 &&
                   !strcmp(d.tool_name[0], "get_weather") &&
                   !strcmp(d.tool_id[0], "functions.get_weather:0") &&
                   json_same(d.tool_args[0], "{\"q\": 7}"),
               "tools %d: tool call %d '%s' '%s' '%s'", with_tools, d.tool_index[0],
               d.tool_id[0], d.tool_name[0], d.tool_args[0]);
        // the generated ids: the chain, then the end-of-generation token
        CHECKF(d.n_ids == n + 1 && memcmp(d.ids, chain, n * sizeof *chain) == 0 &&
                   d.ids[n] == eos,
               "tools %d: %zu ids generated, want the %zu of the chain + eos", with_tools,
               d.n_ids, n);
    }
    CHECKF(prompt_tokens[1] > prompt_tokens[0] + 10,
           "the prompt with tools has %lld tokens, without %lld: the tools were not rendered",
           (long long)prompt_tokens[1], (long long)prompt_tokens[0]);

    // wick run --json: a tool_call line, then done with finish_reason tool_calls
    char args[4600], *out = NULL;
    snprintf(args, sizeof args, "run '%s' --chat --json --temperature 0 --max-tokens 64", model);
    FILE *f = fopen(in, "w");
    if (f) {
        fputs("What is the weather like in Oslo?", f);
        fclose(f);
    }
    CHECK(test_run_wick(args, in, &out, NULL) == 0);
    int n_calls = 0, n_text = 0;
    bool done_ok = false;
    for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, 0, NULL);
        const char *type = json_string_value(json_object_get(o, "type"));
        CHECKF(o && type, "wick run --json: not a chunk: %s", line);
        if (type && !strcmp(type, "tool_call")) {
            n_calls++;
            CHECKF(json_is_string(json_object_get(o, "name")) &&
                       !strcmp(json_string_value(json_object_get(o, "name")), "get_weather") &&
                       json_is_string(json_object_get(o, "arguments")) &&
                       json_same(json_string_value(json_object_get(o, "arguments")), "{\"q\": 7}"),
                   "wick run --json: tool_call line %s", line);
        }
        n_text += type && (!strcmp(type, "content") || !strcmp(type, "reasoning"));
        if (type && !strcmp(type, "done")) {
            const char *fr = json_string_value(json_object_get(o, "finish_reason"));
            done_ok = fr && !strcmp(fr, "tool_calls");
        }
        json_decref(o);
    }
    CHECKF(n_calls == 1 && n_text == 0 && done_ok,
           "wick run --json: %d tool_call lines, %d text lines, done with tool_calls: %d", n_calls,
           n_text, done_ok);
    free(out);
    printf(
        "  tool calls: %zu-token Kimi K2 section -> 1 tool_call chunk (get_weather, {\"q\": 7}), "
        "finish tool_calls; prompt %lld tokens with tools, %lld without; wick run --json "
        "alike\n",
        n, (long long)prompt_tokens[1], (long long)prompt_tokens[0]);
}

int main(void)
{
    char model[4096];
    snprintf(model, sizeof model, "%s", test_data("models/phi3-F32.gguf"));
    wick_registry *r = registry();
    if (r) {
        test_model_template(r, model);
        test_budget(r, model);
        test_errors(r, model);
        test_tool_calls(r);
    }
    wick_registry_destroy(r);
    return test_summary("gen_chat");
}
