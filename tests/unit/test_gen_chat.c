// test_gen_chat.c — chat streams (wick.h sections 7 and 8): messages rendered with the model's own
// Jinja template (the prompt of a golden rendering by an independent engine, @huggingface/jinja);
// a request's template overriding it; a reasoning budget forcing </think> (reasoning chunks, then
// content, reasoning_tokens counted); template and tools errors as error chunks then done.
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
    printf("  reasoning budget 6: 6 reasoning tokens + the forced </think>, then content; think off: </think> at once\n");
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

int main(void)
{
    char model[4096];
    snprintf(model, sizeof model, "%s", test_data("models/phi3-F32.gguf"));
    wick_registry *r = registry();
    if (r) {
        test_model_template(r, model);
        test_budget(r, model);
        test_errors(r, model);
    }
    wick_registry_destroy(r);
    return test_summary("gen_chat");
}
