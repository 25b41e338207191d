// test_chat.c — chat templates through the C API (wick_template_*), against renders by other
// implementations: the shared fixtures' goldens (@huggingface/jinja, cross-checked with Python
// jinja2), the corpus of public templates over varied conversations and the one-feature probes
// (Python jinja2 configured as transformers does; tools/template-goldens/). Byte for byte, or both
// fail (and a raise_exception message must come through). Then the sources (GGUF, tokenizer
// configs), errors with line:column, the limits, allocation failures and concurrent renders.
#include <dirent.h>
#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "base/base.h"
#include "harness.h"

static json_t *load_json(const char *rel)
{
    json_error_t err;
    json_t *j = json_load_file(test_data(rel), 0, &err);
    CHECKF(j != NULL, "%s: %s", rel, err.text);
    return j;
}

// Renders ctx (a JSON value) with t; the text (malloc'd by wick) or NULL with *rc set.
static char *render(const wick_template *t, const json_t *ctx, const wick_template_opts *o,
                    wick_status *rc, size_t *n)
{
    char *js = json_dumps(ctx, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out = NULL;
    *rc = wick_template_render(t, js, strlen(js), o, &out, n);
    free(js);
    return out;
}

// One expected outcome: rendered (a string) or error ({type, message}).
static void expect(const char *what, const wick_template *t, const json_t *ctx,
                   const wick_template_opts *o, const json_t *c, int *n_ok)
{
    wick_status rc = WICK_OK;
    size_t n = 0;
    char *out = t ? render(t, ctx, o, &rc, &n) : NULL;
    const json_t *want = json_object_get(c, "rendered");
    if (want) {
        bool same =
            out && n == json_string_length(want) && memcmp(out, json_string_value(want), n) == 0;
        CHECKF(same, "%s: %s", what, out ? "render differs" : wick_errmsg());
        if (!same && out) {
            size_t i = 0, wl = json_string_length(want);
            while (i < n && i < wl && out[i] == json_string_value(want)[i]) { i++; }
            fprintf(stderr, "  first difference at byte %zu: got '%.60s' want '%.60s'\n", i,
                    out + i, json_string_value(want) + (i < wl ? i : wl));
        }
        *n_ok += same;
    } else {
        const json_t *e = json_object_get(c, "error");
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        bool failed = !t || rc < 0;
        CHECKF(failed, "%s: rendered, but jinja2 fails (%s: %s)", what, type, msg);
        if (failed && type && strcmp(type, "TemplateError") == 0) {
            CHECKF(strstr(wick_errmsg(), msg) != NULL, "%s: message '%s' lacks '%s'", what,
                   wick_errmsg(), msg);
        }
        *n_ok += failed;
    }
    wick_free(out);
}

// shared/fixtures/templates/golden: the must-show renders.
static void fixture_goldens(void)
{
    DIR *dir = opendir(test_data("templates/golden"));
    CHECK(dir != NULL);
    if (!dir) { return; }
    int n_ok = 0, n = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!strstr(de->d_name, ".json")) { continue; }
        char rel[512];
        snprintf(rel, sizeof rel, "templates/golden/%s", de->d_name);
        json_t *g = load_json(rel);
        if (!g) { continue; }
        // "templates/NAME.jinja" relative to the fixtures root
        snprintf(rel, sizeof rel, "%s", json_string_value(json_object_get(g, "template")));
        wick_template *t = NULL;
        CHECK_OK(wick_template_open_file(test_data(rel), &t));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(g, "cases"), i, c) {
            char what[600];
            snprintf(what, sizeof what, "%s/%s", rel,
                     json_string_value(json_object_get(c, "name")));
            expect(what, t, json_object_get(c, "context"), NULL, c, &n_ok);
            n++;
        }
        wick_template_close(t);
        json_decref(g);
    }
    closedir(dir);
    CHECKF(n == 40, "%d fixture renders, expected 40", n);
    printf("fixture goldens: %d/%d renders byte for byte\n", n_ok, n);
}

// corpus/golden/*.json over corpus/conversations.json (the clock fixed, in UTC).
static void corpus_goldens(void)
{
    json_t *convs = load_json("templates/corpus/conversations.json");
    DIR *dir = opendir(test_data("templates/corpus/golden"));
    CHECK(dir != NULL);
    if (!convs || !dir) { return; }
    int n_ok = 0, n = 0, n_tmpl = 0, n_err = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!strstr(de->d_name, ".json")) { continue; }
        char rel[512];
        snprintf(rel, sizeof rel, "templates/corpus/golden/%s", de->d_name);
        json_t *g = load_json(rel);
        if (!g) { continue; }
        snprintf(rel, sizeof rel, "templates/%s",
                 json_string_value(json_object_get(g, "template")));
        wick_template *t = NULL;
        CHECK_OK(wick_template_open_file(test_data(rel), &t));
        n_tmpl++;
        wick_template_opts o;
        wick_template_opts_init(&o);
        o.now = json_integer_value(json_object_get(g, "now"));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(g, "cases"), i, c) {
            const char *name = json_string_value(json_object_get(c, "name"));
            const json_t *ctx = NULL;
            size_t k;
            json_t *cv;
            json_array_foreach(json_object_get(convs, "cases"), k, cv) {
                if (strcmp(json_string_value(json_object_get(cv, "name")), name) == 0) {
                    ctx = json_object_get(cv, "context");
                }
            }
            CHECKF(ctx != NULL, "conversation %s", name);
            char what[700];
            snprintf(what, sizeof what, "%s/%s", rel, name);
            if (ctx) { expect(what, t, ctx, &o, c, &n_ok); }
            n++;
            n_err += json_object_get(c, "error") != NULL;
        }
        wick_template_close(t);
        json_decref(g);
    }
    closedir(dir);
    json_decref(convs);
    CHECKF(n_tmpl >= 35 && n >= 700, "%d templates, %d cases", n_tmpl, n);
    printf("corpus: %d templates, %d/%d cases agree with Python jinja2 (%d of them errors)\n",
           n_tmpl, n_ok, n, n_err);
}

static void probes(void)
{
    json_t *p = load_json("templates/probes.json");
    if (!p) { return; }
    wick_template_opts o;
    wick_template_opts_init(&o);
    o.now = json_integer_value(json_object_get(p, "now"));
    int n_ok = 0, n = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(p, "cases"), i, c) {
        const char *src = json_string_value(json_object_get(c, "template"));
        wick_template *t = NULL;
        wick_status rc = wick_template_open("probe", src, strlen(src), &t);
        char what[300];
        snprintf(what, sizeof what, "probe %zu '%.200s'", i, src);
        if (rc < 0 && json_object_get(c, "rendered")) {
            CHECKF(0, "%s: %s", what, wick_errmsg());
        } else {
            expect(what, t, json_object_get(p, "context"), &o, c, &n_ok);
        }
        wick_template_close(t);
        n++;
    }
    json_decref(p);
    printf("probes: %d/%d agree with Python jinja2\n", n_ok, n);
}

// --- errors --------------------------------------------------------------------------------------
static void check_error(const char *src, const char *ctx, wick_status code, const char *msg)
{
    wick_template *t = NULL;
    wick_status rc = wick_template_open("t.jinja", src, strlen(src), &t);
    char *out = NULL;
    if (rc >= 0) {
        rc = wick_template_render(t, ctx, ctx ? strlen(ctx) : 0, NULL, &out, NULL);
        CHECK(rc < 0 || out != NULL);
    }
    CHECKF(rc == code, "'%s': status %d, expected %d (%s)", src, rc, code, wick_errmsg());
    CHECKF(strcmp(wick_errmsg(), msg) == 0, "'%s':\n  got  '%s'\n  want '%s'", src, wick_errmsg(),
           msg);
    CHECK(rc >= 0 || out == NULL);
    wick_free(out);
    wick_template_close(t);
}

static void errors(void)
{
    const wick_status F = WICK_E_FORMAT, T = WICK_E_TEMPLATE;
    // syntax: line and column of the offending token, and what was expected
    check_error("{% if x %}\nok", NULL, F,
                "t.jinja:2:3: unexpected end of template: expected 'elif' or 'else' or 'endif' "
                "to close the 'if' at 1:1");
    check_error("a\n  {{ 1 + }}", NULL, F, "t.jinja:2:10: expected an expression, got '}}'");
    check_error("{% for x in y %}{% endif %}{% endfor %}", NULL, F,
                "t.jinja:1:17: unknown tag 'endif' (expected 'endfor' or 'else' to close the 'for' "
                "at 1:1)");
    check_error("{{ x | nosuch }}", NULL, F, "t.jinja:1:8: no filter named 'nosuch'");
    check_error("{{ x is nosuch }}", NULL, F, "t.jinja:1:9: no test named 'nosuch'");
    check_error("{{ 'open }}", NULL, F, "t.jinja:1:4: unterminated string literal");
    check_error("{{ (1] }}", NULL, F, "t.jinja:1:6: unexpected ']', expected ')'");
    check_error("{% set x %}", NULL, F,
                "t.jinja:1:12: unexpected end of template: expected 'endset' to close the 'set' "
                "at 1:1");
    check_error("{% include 'a' %}", NULL, F,
                "t.jinja:1:1: tag 'include' is not supported (chat templates render alone, as "
                "transformers renders them)");
    check_error("{% break %}", NULL, F, "t.jinja:1:1: 'break' outside a for loop");
    check_error("{# never closed", NULL, F, "t.jinja:1:1: missing end of comment tag '#}'");
    check_error("ok\n\xff", NULL, F, "t.jinja:2:1: invalid UTF-8");
    check_error("{{ x $ y }}", NULL, F, "t.jinja:1:6: unexpected character '$'");
    // runtime: the innermost expression, the template's own message for raise_exception
    check_error("line one\n  {{ raise_exception('No user message!') }}", "{}", T,
                "t.jinja:2:6: No user message!");
    check_error("{{ messages[0].content.x }}", "{\"messages\": [{\"role\": \"user\"}]}", T,
                "t.jinja:1:24: 'dict object' has no attribute 'content'");
    check_error("{{ foo.bar }}", "{}", T, "t.jinja:1:8: 'foo' is undefined");
    check_error("{{ 'a' + 1 }}", "{}", T,
                "t.jinja:1:8: can only concatenate str (not \"int\") to str");
    check_error("{% for a, b in [1] %}{% endfor %}", "{}", T,
                "t.jinja:1:1: cannot unpack non-iterable int object");
    check_error("{{ l.append(1) }}", "{\"l\": []}", T,
                "t.jinja:1:6: access to attribute 'append' of 'list' object is unsafe");
    check_error("{{ 1 // 0 }}", NULL, T, "t.jinja:1:6: integer division or modulo by zero");
    check_error("{{ range(200000) | length }}", NULL, T,
                "t.jinja:1:4: Range too big. The sandbox blocks ranges larger than MAX_RANGE "
                "(100000).");
    // the context
    check_error("x", "[1, 2]", F, "t.jinja: context: expected a JSON object");
    check_error("x", "{\"a\": ", F,
                "t.jinja: context: invalid JSON at line 1 column 7: unexpected end of input");
}

static void limits(void)
{
    wick_template *t = NULL;
    wick_template_opts o;
    char *out = NULL;
    // steps: nested loops that would run 10^10 times
    const char *loops =
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    CHECK_OK(wick_template_open("loops", loops, strlen(loops), &t));
    wick_template_opts_init(&o);
    o.max_steps = 200000;
    double t0 = wk_now();
    CHECK_FAIL(wick_template_render(t, "{}", 2, &o, &out, NULL), WICK_E_RANGE,
               "ran more than 200000 steps");
    CHECK(wk_now() - t0 < 5.0);
    wick_template_close(t);
    // memory: a string of 2 GB
    const char *big = "{% set s = 'x' * 100000 %}{% set s = s * 20000 %}{{ s | length }}";
    CHECK_OK(wick_template_open("big", big, strlen(big), &t));
    wick_template_opts_init(&o);
    o.max_memory = 64 << 20;
    CHECK_FAIL(wick_template_render(t, "{}", 2, &o, &out, NULL), WICK_E_RANGE, "memory limit");
    wick_template_close(t);
    // output
    const char *many = "{% for i in range(1000) %}0123456789{% endfor %}";
    CHECK_OK(wick_template_open("many", many, strlen(many), &t));
    wick_template_opts_init(&o);
    o.max_output = 5000;
    CHECK_FAIL(wick_template_render(t, "{}", 2, &o, &out, NULL), WICK_E_RANGE,
               "many:1:27: output exceeds the limit of 5000 bytes");
    o.max_output = 10000;
    size_t n = 0;
    CHECK_OK(wick_template_render(t, "{}", 2, &o, &out, &n));
    CHECK(n == 10000);
    wick_free(out);
    wick_template_close(t);
    // evaluation depth: a macro calling itself without end
    const char *rec = "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}";
    CHECK_OK(wick_template_open("rec", rec, strlen(rec), &t));
    CHECK_FAIL(wick_template_render(t, "{}", 2, NULL, &out, NULL), WICK_E_RANGE,
               "nested too deeply (limit 1000 levels");
    wick_template_close(t);
    // source nesting
    char deep[2000];
    int k = 0;
    k += snprintf(deep + k, sizeof deep - (size_t)k, "{{ ");
    for (int i = 0; i < 400; i++) { deep[k++] = '('; }
    k += snprintf(deep + k, sizeof deep - (size_t)k, "1");
    for (int i = 0; i < 400; i++) { deep[k++] = ')'; }
    k += snprintf(deep + k, sizeof deep - (size_t)k, " }}");
    CHECK_FAIL(wick_template_open("deep", deep, (size_t)k, &t), WICK_E_FORMAT, "nested");
    CHECK(t == NULL);
}

// --- sources -------------------------------------------------------------------------------------
static char *render_str(const wick_template *t, const char *ctx)
{
    char *out = NULL;
    wick_status rc = wick_template_render(t, ctx, strlen(ctx), NULL, &out, NULL);
    CHECKF(rc >= 0, "render: %s", wick_errmsg());
    return out;
}

static void sources(void)
{
    // GGUF: the template and the vocabulary's bos/eos
    wick_gguf *g = NULL;
    wick_template *t = NULL;
    CHECK_OK(wick_gguf_open(test_data("models/llama-Q4_K_M.gguf"), &g));
    CHECK_OK(wick_template_open_gguf(g, NULL, &t));
    CHECK(t && strcmp(wick_template_bos(t), "<|begin_of_text|>") == 0);
    CHECK(t && strcmp(wick_template_eos(t), "<|eot_id|>") == 0);
    CHECK(t && strstr(wick_template_name(t), "llama-Q4_K_M.gguf:tokenizer.chat_template"));
    char *s =
        t ? render_str(t, "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}") : NULL;
    CHECK(s &&
          strcmp(s, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>") ==
              0);
    wick_free(s);
    s = t ? render_str(t, "{\"bos_token\": \"[B]\", \"messages\": []}") : NULL;
    CHECK(s && strcmp(s, "[B]") == 0); // the context wins
    wick_free(s);
    wick_template_opts o;
    wick_template_opts_init(&o);
    o.bos_token = "(bos)";
    s = NULL;
    if (t) { CHECK_OK(wick_template_render(t, "{}", 2, &o, &s, NULL)); }
    CHECK(s && strcmp(s, "(bos)") == 0); // then the options
    wick_free(s);
    wick_template_close(t);
    CHECK_FAIL(wick_template_open_gguf(g, "tool_use", &t), WICK_E_NOT_FOUND,
               "no chat template tokenizer.chat_template.tool_use; the file has: default");
    CHECK(t == NULL);
    wick_gguf_close(g);

    // {% with %} may assign nothing (jinja2 renders the body; fuzz_jinja found a memcpy to NULL)
    CHECK_OK(wick_template_open("with", "{% with %}W{% endwith %}", 24, &t));
    s = t ? render_str(t, "{}") : NULL;
    CHECK(s && strcmp(s, "W") == 0);
    wick_free(s);
    wick_template_close(t);

    // tokenizer_config.json: a string, a list of named templates, the file beside it
    CHECK_OK(
        wick_template_open_config(test_data("tokenizers/phi4/tokenizer_config.json"), NULL, &t));
    CHECK(t && strcmp(wick_template_eos(t), "<|im_end|>") == 0);
    wick_template_close(t);
    const char *dir = test_tmpdir("chat");
    char path[4200], jpath[4200];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"bos_token\": {\"content\": \"<s>\", \"lstrip\": false}, \"chat_template\": ["
          "{\"name\": \"default\", \"template\": \"D{{ bos_token }}\"},"
          "{\"name\": \"tool_use\", \"template\": \"T{{ tools | length }}\"}]}", f);
    fclose(f);
    CHECK_OK(wick_template_open_config(path, NULL, &t));
    s = t ? render_str(t, "{}") : NULL;
    CHECK(s && strcmp(s, "D<s>") == 0);
    wick_free(s);
    wick_template_close(t);
    CHECK_OK(wick_template_open_config(path, "tool_use", &t));
    s = t ? render_str(t, "{\"tools\": [1, 2]}") : NULL;
    CHECK(s && strcmp(s, "T2") == 0);
    wick_free(s);
    wick_template_close(t);
    CHECK_FAIL(wick_template_open_config(path, "rag", &t), WICK_E_NOT_FOUND,
               "no template named 'rag'; the file has: default, tool_use");
    f = fopen(path, "w");
    fputs("{\"eos_token\": \"</s>\"}", f);
    fclose(f);
    snprintf(jpath, sizeof jpath, "%s/chat_template.jinja", dir);
    f = fopen(jpath, "w");
    fputs("J{{ eos_token }}\n", f);
    fclose(f);
    CHECK_OK(wick_template_open_config(path, NULL, &t));
    s = t ? render_str(t, "{}") : NULL;
    CHECK(s && strcmp(s, "J</s>") == 0); // one trailing newline dropped, as jinja2 does
    wick_free(s);
    size_t n = 0;
    CHECK(t && strcmp(wick_template_source(t, &n), "J{{ eos_token }}\n") == 0 && n == 17);
    wick_template_close(t);
    CHECK_FAIL(wick_template_open_file("/nonexistent/t.jinja", &t), WICK_E_IO,
               "/nonexistent/t.jinja");
    f = fopen(path, "w");
    fputs("{\"chat_template\": 5}", f);
    fclose(f);
    CHECK_FAIL(
        wick_template_open_config(path, NULL, &t), WICK_E_FORMAT,
        "tokenizer_config.json: chat_template: expected a string or a list of {name, template}");
    // arguments
    CHECK_FAIL(wick_template_open("x", NULL, 3, &t), WICK_E_INVALID, NULL);
    CHECK_FAIL(wick_template_render(NULL, "{}", 2, NULL, &s, NULL), WICK_E_INVALID, NULL);
    wick_template_close(NULL);
    // no context: no variables
    CHECK_OK(wick_template_open("x", "[{{ messages }}]", 16, &t));
    s = NULL;
    CHECK_OK(wick_template_render(t, NULL, 0, NULL, &s, &n));
    CHECK(s && strcmp(s, "[]") == 0 && n == 2);
    wick_free(s);
    wick_template_close(t);
}

// --- robustness ----------------------------------------------------------------------------------
static void alloc_failures(void)
{
    char *src = test_slurp(test_data("templates/kimi-k2-thinking.jinja"), NULL);
    const char *ctx = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": "
                      "\"assistant\", \"content\": \"yo\", \"reasoning_content\": \"r\"}], "
                      "\"tools\": [{\"name\": \"f\"}], \"add_generation_prompt\": true}";
    int n_fail = 0, n_ok = 0;
    for (uint64_t k = 1; k < 400; k += 1) {
        wick_template *t = NULL;
        char *out = NULL;
        wk_alloc_fail_after(k);
        wick_status rc = wick_template_open("kimi", src, strlen(src), &t);
        if (rc >= 0) { rc = wick_template_render(t, ctx, strlen(ctx), NULL, &out, NULL); }
        wk_alloc_fail_after(0);
        if (rc < 0) {
            n_fail++;
            CHECKF(rc == WICK_E_NOMEM || rc == WICK_E_RANGE, "k=%llu: %d %s", (unsigned long long)k,
                   rc, wick_errmsg());
        } else {
            n_ok++;
            CHECK(out != NULL);
        }
        wick_free(out);
        wick_template_close(t);
    }
    free(src);
    // every allocation of the open and the render failed once (the arenas allocate in chunks)
    CHECKF(n_fail >= 3 && n_ok > 0, "%d failed, %d succeeded", n_fail, n_ok);
}

typedef struct job {
    const wick_template *t;
    const char *ctx;
    const char *want;
    int bad;
} job;

static void *render_many(void *arg)
{
    job *j = arg;
    for (int i = 0; i < 40; i++) {
        char *out = NULL;
        if (wick_template_render(j->t, j->ctx, strlen(j->ctx), NULL, &out, NULL) < 0 ||
            strcmp(out, j->want) != 0) {
            j->bad++;
        }
        wick_free(out);
    }
    return NULL;
}

static void threads(void)
{
    wick_template *t = NULL;
    CHECK_OK(wick_template_open_file(test_data("templates/kimi-k2-thinking.jinja"), &t));
    if (!t) { return; }
    json_t *msgs = json_array();
    for (int i = 0; i < 60; i++) {
        json_array_append_new(msgs,
                              json_pack("{s:s, s:s, s:s}", "role", i % 2 ? "assistant" : "user",
                                        "content", "message text", "reasoning_content", "thought"));
    }
    json_t *ctx = json_pack("{s:o, s:b}", "messages", msgs, "add_generation_prompt", 1);
    char *js = json_dumps(ctx, JSON_COMPACT);
    char *want = NULL;
    CHECK_OK(wick_template_render(t, js, strlen(js), NULL, &want, NULL));
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){t, js, want ? want : "", 0};
        pthread_create(&th[i], NULL, render_many, &jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].bad == 0);
    }
    wick_free(want);
    free(js);
    json_decref(ctx);
    wick_template_close(t);
}

int main(void)
{
    setenv("TZ", "UTC", 1); // the goldens' strftime_now clock
    tzset();
    fixture_goldens();
    corpus_goldens();
    probes();
    errors();
    limits();
    sources();
    alloc_failures();
    threads();
    return test_summary("chat");
}
