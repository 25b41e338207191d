// test_chat_cli.c — `wick template` as scripts use it: every fixture golden byte for byte (the
// must-show), every 5th corpus golden that does not depend on the clock (every 25th under
// sanitizers, which slow each start of the tool), the three template sources and --name, bos/eos
// defaults from a model's vocabulary, exit codes, and "wick: TEMPLATE:LINE:COL: reason" on stderr.
#include <dirent.h>
#include <jansson.h>

#include "harness.h"

// Each case starts the tool (~5 ms, ~40 ms under ASan); test_chat renders all of them in process.
#if defined(__SANITIZE_ADDRESS__)
#define CORPUS_STRIDE 25
#else
#define CORPUS_STRIDE 5
#endif

static const char *tmp;

static const char *write_tmp(const char *name, const char *text)
{
    static char path[4][4200];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 4200, "%s/%s", tmp, name);
    FILE *f = fopen(p, "wb");
    fputs(text, f);
    fclose(f);
    return p;
}

// Runs `wick template ARGS` with ctx (a JSON value) on stdin; the exit status, stdout, stderr.
static int run(const char *args, const json_t *ctx, char **out, char **err)
{
    char *js = json_dumps(ctx, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *in = write_tmp("ctx.json", js);
    free(js);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "template %s", args);
    return test_run_wick(cmd, in, out, err);
}

static int compare(const char *what, const char *args, const json_t *ctx, const json_t *c)
{
    char *out = NULL, *err = NULL;
    int st = run(args, ctx, &out, &err);
    const json_t *want = json_object_get(c, "rendered");
    bool ok;
    if (want) {
        ok = st == 0 && out && strcmp(out, json_string_value(want)) == 0;
        CHECKF(ok, "%s: exit %d, %s", what, st, err ? err : "");
    } else {
        ok = st == 1 && err && strncmp(err, "wick: ", 6) == 0;
        CHECKF(ok, "%s: exit %d, jinja2 fails", what, st);
    }
    free(out);
    free(err);
    return ok;
}

static void fixture_goldens(void)
{
    DIR *dir = opendir(test_data("templates/golden"));
    CHECK(dir != NULL);
    int n = 0, n_ok = 0;
    struct dirent *de;
    while (dir && (de = readdir(dir))) {
        if (!strstr(de->d_name, ".json")) { continue; }
        char rel[512], args[4300];
        snprintf(rel, sizeof rel, "templates/golden/%s", de->d_name);
        json_t *g = json_load_file(test_data(rel), 0, NULL);
        CHECK(g != NULL);
        if (!g) { continue; }
        snprintf(args, sizeof args, "--template '%s'",
                 test_data(json_string_value(json_object_get(g, "template"))));
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(g, "cases"), i, c) {
            char what[700];
            snprintf(what, sizeof what, "%s/%s", de->d_name,
                     json_string_value(json_object_get(c, "name")));
            n_ok += compare(what, args, json_object_get(c, "context"), c);
            n++;
        }
        json_decref(g);
    }
    if (dir) { closedir(dir); }
    CHECK(n == 40);
    printf("wick template: %d/%d fixture renders byte for byte\n", n_ok, n);
}

static void corpus_goldens(void)
{
    json_t *convs = json_load_file(test_data("templates/corpus/conversations.json"), 0, NULL);
    DIR *dir = opendir(test_data("templates/corpus/golden"));
    CHECK(convs && dir);
    int n = 0, n_ok = 0, k = 0;
    struct dirent *de;
    while (convs && dir && (de = readdir(dir))) {
        if (!strstr(de->d_name, ".json")) { continue; }
        char rel[512], args[4300];
        snprintf(rel, sizeof rel, "templates/corpus/golden/%s", de->d_name);
        json_t *g = json_load_file(test_data(rel), 0, NULL);
        if (!g) { continue; }
        snprintf(rel, sizeof rel, "templates/%s",
                 json_string_value(json_object_get(g, "template")));
        snprintf(args, sizeof args, "--template '%s'", test_data(rel));
        size_t i, j;
        json_t *c, *cv;
        json_array_foreach(json_object_get(g, "cases"), i, c) {
            if (json_is_true(json_object_get(c, "uses_time")) || k++ % CORPUS_STRIDE) { continue; }
            const char *name = json_string_value(json_object_get(c, "name"));
            json_array_foreach(json_object_get(convs, "cases"), j, cv) {
                if (strcmp(json_string_value(json_object_get(cv, "name")), name) == 0) {
                    char what[700];
                    snprintf(what, sizeof what, "%s/%s", rel, name);
                    n_ok += compare(what, args, json_object_get(cv, "context"), c);
                    n++;
                }
            }
        }
        json_decref(g);
    }
    if (dir) { closedir(dir); }
    json_decref(convs);
    CHECK(n >= 600 / CORPUS_STRIDE); // of ~800 cases
    printf("wick template: %d/%d corpus cases as Python jinja2\n", n_ok, n);
}

static void check_run(const char *args, const char *ctx, int status, const char *out,
                      const char *err)
{
    json_t *j = json_loads(ctx, JSON_DECODE_ANY, NULL);
    char *o = NULL, *e = NULL;
    int st;
    if (j) {
        st = run(args, j, &o, &e);
    } else { // not JSON: as it is
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "template %s", args);
        st = test_run_wick(cmd, write_tmp("raw.txt", ctx), &o, &e);
    }
    CHECKF(st == status, "wick template %s: exit %d, expected %d (%s)", args, st, status,
           e ? e : "");
    if (out) {
        CHECKF(o && strcmp(o, out) == 0, "wick template %s:\n  got  '%s'\n  want '%s'", args, o,
               out);
    }
    if (err) {
        CHECKF(e && strstr(e, err), "wick template %s: stderr '%s' lacks '%s'", args, e, err);
    }
    free(o);
    free(e);
    json_decref(j);
}

static void sources_and_errors(void)
{
    char args[4400];
    const char *hi = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}";
    // --model: the GGUF's template; bos_token/eos_token from its vocabulary unless given
    snprintf(args, sizeof args, "--model '%s'", test_data("models/llama-Q4_K_M.gguf"));
    check_run(args, hi, 0,
              "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", "");
    check_run(args, "{\"bos_token\": \"\", \"messages\": []}", 0, "", "");
    snprintf(args, sizeof args, "--model '%s' --name tool_use",
             test_data("models/llama-Q4_K_M.gguf"));
    check_run(args, hi, 1, "",
              "no chat template tokenizer.chat_template.tool_use; the file has: default");
    snprintf(args, sizeof args, "--model '%s'", test_data("models/deepseek2-Q2_K.gguf"));
    check_run(args, hi, 0,
              "<|im_system|>system<|im_middle|>You are Kimi, an AI assistant created by Moonshot "
              "AI.<|im_end|><|im_user|>user<|im_middle|>Hi<|im_end|>", "");
    check_run("--model /nonexistent.gguf", hi, 1, "", "wick: /nonexistent.gguf: no such file");
    // --tokenizer-config: a string template; a list with tool_use chosen when there are tools
    snprintf(args, sizeof args, "--tokenizer-config '%s'",
             test_data("tokenizers/phi4/tokenizer_config.json"));
    check_run(
        args,
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"add_generation_prompt\": "
        "true}",
        0, "<|im_start|>user<|im_sep|>Hi<|im_end|><|im_start|>assistant<|im_sep|>", "");
    const char *cfg =
        write_tmp("tokenizer_config.json",
                  "{\"eos_token\": \"</s>\", \"chat_template\": [{\"name\": \"default\", "
                  "\"template\": \"D{{ eos_token }}\"}, {\"name\": \"tool_use\", "
                  "\"template\": \"T{{ tools | length }}\"}]}");
    snprintf(args, sizeof args, "--tokenizer-config '%s'", cfg);
    check_run(args, "{}", 0, "D</s>", "");
    check_run(args, "{\"tools\": null}", 0, "D</s>", "");
    check_run(args, "{\"tools\": [1, 2, 3]}", 0, "T3", "");
    snprintf(args, sizeof args, "--tokenizer-config '%s' --name default", cfg);
    check_run(args, "{\"tools\": [1]}", 0, "D</s>", "");
    // errors: the template's place and reason; exit 1
    const char *bad =
        write_tmp("bad.jinja", "line 1\n{% for m in messages %}{{ m.x.y }}{% endfor %}");
    snprintf(args, sizeof args, "--template '%s'", bad);
    char want[4400];
    snprintf(want, sizeof want, "wick: %s:2:31: 'dict object' has no attribute 'x'\n", bad);
    check_run(args, hi, 1, "", want);
    const char *bad2 = write_tmp("bad2.jinja", "{% if %}");
    snprintf(args, sizeof args, "--template '%s'", bad2);
    snprintf(want, sizeof want, "wick: %s:1:7: expected an expression, got '%%}'\n", bad2);
    check_run(args, "{}", 1, "", want);
    const char *raise =
        write_tmp("raise.jinja", "{{ raise_exception('Only user and assistant roles') }}");
    snprintf(args, sizeof args, "--template '%s'", raise);
    snprintf(want, sizeof want, "wick: %s:1:4: Only user and assistant roles\n", raise);
    check_run(args, "{}", 1, "", want);
    check_run(args, "[1]", 1, "", "wick: stdin: expected one JSON object (the template context)\n");
    check_run(args, "{oops", 1, "", "wick: stdin: invalid JSON at line 1");
    // the output is exactly the render: no newline added, unicode as is
    const char *plain = write_tmp("plain.jinja", "{{ s }}\n");
    snprintf(args, sizeof args, "--template '%s'", plain);
    check_run(args, "{\"s\": \"🦙 x\\n\"}", 0, "🦙 x\n", "");
    // usage: exit 2
    check_run("", "{}", 2, "", "give exactly one of --model, --template and --tokenizer-config");
    snprintf(args, sizeof args, "--template '%s' --name x", plain);
    check_run(args, "{}", 2, "", "--name selects among");
    check_run("--template", "{}", 2, "", "--template needs a value");
    check_run("--frobnicate 1", "{}", 2, "", "unexpected argument '--frobnicate'");
    char *o = NULL;
    CHECK(test_run_wick("help template", NULL, &o, NULL) == 0);
    CHECK(o && strstr(o, "usage: wick template"));
    free(o);
}

int main(void)
{
    tmp = test_tmpdir("chat-cli");
    fixture_goldens();
    corpus_goldens();
    sources_and_errors();
    return test_summary("chat_cli");
}
