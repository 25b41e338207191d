// bench_template.c — chat-template rendering time: a 100-message conversation (system prompt,
// user turns, assistant turns with reasoning_content and tool calls, tool results, two tools)
// through Kimi K2's templates, per call of wick_template_render (JSON context in, text out), with
// the share of that spent reading the JSON context (an empty template over it), and the same render
// by Python jinja2 configured as transformers does (when /usr/bin/python3 has jinja2) for scale.
//
//   bench_template [TEMPLATE.jinja ...]   (default: the Kimi K2 thinking and instruct templates
//                                          of tests/data/templates; run from the source tree)
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wick.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The conversation: 1 system message, then 33 rounds of user / assistant (every third one calls
// a tool, whose result follows) — 100 messages.
static json_t *conversation(void)
{
    static const char prose[] =
        "Could you compare the two approaches we discussed, list the trade-offs in memory use and "
        "latency, and suggest which one fits a laptop with 16 GB of RAM? Keep it short — "
        "three bullet points at most, with numbers where you have them. 日本語も少し。";
    json_t *msgs = json_array();
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content",
                                          "You are a careful assistant. Answer precisely."));
    for (int i = 0; json_array_size(msgs) < 100; i++) {
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content", prose));
        if (json_array_size(msgs) >= 100) { break; }
        if (i % 3 == 2 && json_array_size(msgs) <= 97) {
            char id[48];
            snprintf(id, sizeof id, "functions.get_weather:%d", i);
            json_array_append_new(
                msgs, json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:{s:s, s:{s:s, s:s}}}]}", "role",
                                "assistant", "content", "", "reasoning_content",
                                "The user asks about the weather; I should call the tool.",
                                "tool_calls", "id", id, "type", "function", "function", "name",
                                "get_weather", "arguments", "city", "Paris", "unit", "celsius"));
            json_array_append_new(msgs, json_pack("{s:s, s:s, s:s}", "role", "tool",
                                                  "tool_call_id", id, "content",
                                                  "{\"temperature\": 21.5, \"sky\": \"clear\"}"));
        }
        json_array_append_new(msgs, json_pack("{s:s, s:s, s:s}", "role", "assistant", "content",
                                              prose, "reasoning_content",
                                              "Think about memory first, then latency."));
    }
    while (json_array_size(msgs) > 100) { json_array_remove(msgs, json_array_size(msgs) - 1); }
    json_t *tools = json_pack(
        "[{s:s, s:{s:s, s:s, s:{s:s, s:{s:{s:s}, s:{s:s, s:[s,s]}}, s:[s]}}},"
        " {s:s, s:{s:s, s:s, s:{s:s, s:{s:{s:s}}}}}]",
        "type", "function", "function", "name", "get_weather", "description",
        "Current weather in a city.", "parameters", "type", "object", "properties", "city", "type",
        "string", "unit", "type", "string", "enum", "celsius", "fahrenheit", "required", "city",
        "type", "function", "function", "name", "search", "description", "Search the web.",
        "parameters", "type", "object", "properties", "query", "type", "string");
    return json_pack("{s:o, s:o, s:b}", "messages", msgs, "tools", tools, "add_generation_prompt",
                     1);
}

static void python(const char *tmpl, const char *ctx_path)
{
    if (system("/usr/bin/python3 -c 'import jinja2' 2>/dev/null") != 0) {
        printf("  Python jinja2: not installed (apt-get install python3-jinja2)\n");
        return;
    }
    static const char fmt[] =
        "/usr/bin/python3 - '%s' '%s' <<'EOF'\n"
        "import json, sys, time\n"
        "from jinja2.ext import loopcontrols\n"
        "from jinja2.sandbox import ImmutableSandboxedEnvironment\n"
        "env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, "
        "extensions=[loopcontrols])\n"
        "env.filters['tojson'] = lambda x, ensure_ascii=False, indent=None, separators=None, "
        "sort_keys=False: json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, "
        "separators=separators, sort_keys=sort_keys)\n"
        "t = env.from_string(open(sys.argv[1]).read())\n"
        "text = open(sys.argv[2]).read()\n"
        "best = []\n"
        "for i in range(200):\n"
        "    t0 = time.perf_counter(); t.render(**json.loads(text)); "
        "best.append(time.perf_counter() - t0)\n"
        "best.sort()\n"
        "print('  Python jinja2 (transformers setup): %%.0f us per render (median of 200, "
        "json.loads included)' %% (best[100] * 1e6))\n"
        "EOF";
    size_t need = strlen(fmt) + strlen(tmpl) + strlen(ctx_path) + 1;
    char *cmd = malloc(need);
    if (!cmd) { return; }
    snprintf(cmd, need, fmt, tmpl, ctx_path);
    fflush(stdout);
    if (system(cmd) != 0) { printf("  Python jinja2: failed\n"); }
    free(cmd);
}

static int bench(const char *path)
{
    wick_template *t = NULL;
    double t0 = now();
    if (wick_template_open_file(path, &t) < 0) {
        fprintf(stderr, "bench_template: %s\n", wick_errmsg());
        return 1;
    }
    double t_open = now() - t0;
    json_t *ctx = conversation();
    char *js = json_dumps(ctx, JSON_COMPACT);
    size_t len = strlen(js);
    char *out = NULL;
    size_t n = 0;
    if (wick_template_render(t, js, len, NULL, &out, &n) < 0) {
        fprintf(stderr, "bench_template: %s\n", wick_errmsg());
        return 1;
    }
    wick_free(out);
    // the context's share: an empty template over the same context (parse + set-up only)
    wick_template *empty = NULL;
    wick_template_open("empty", "", 0, &empty);
    enum { N = 2000 };
    static double times[N], parse[N];
    for (int i = 0; i < N; i++) {
        t0 = now();
        wick_template_render(t, js, len, NULL, &out, NULL);
        times[i] = now() - t0;
        wick_free(out);
        t0 = now();
        wick_template_render(empty, js, len, NULL, &out, NULL);
        parse[i] = now() - t0;
        wick_free(out);
    }
    wick_template_close(empty);
    qsort(times, N, sizeof *times, cmp_double);
    qsort(parse, N, sizeof *parse, cmp_double);
    printf("%s\n", path);
    printf("  compile: %.0f us; context: 100 messages, %zu bytes of JSON; output %zu bytes\n",
           t_open * 1e6, len, n);
    printf("  wick_template_render: %.0f us per call (median of %d; p10 %.0f, p90 %.0f), "
           "%.0f us of it reading the JSON context\n",
           times[N / 2] * 1e6, N, times[N / 10] * 1e6, times[N * 9 / 10] * 1e6, parse[N / 2] * 1e6);
    char tmp[] = "/tmp/bench_template_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd >= 0) {
        FILE *f = fdopen(fd, "w");
        fputs(js, f);
        fclose(f);
        python(path, tmp);
        remove(tmp);
    }
    free(js);
    json_decref(ctx);
    wick_template_close(t);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const dflt[] = {"tests/data/templates/kimi-k2-thinking.jinja",
                                       "tests/data/templates/kimi-k2-instruct.jinja"};
    int rc = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) { rc |= bench(argv[i]); }
    } else {
        for (size_t i = 0; i < sizeof dflt / sizeof dflt[0]; i++) { rc |= bench(dflt[i]); }
    }
    return rc;
}
