// fuzz_jinja.c — libFuzzer target for the chat-template engine. The bytes are (1) a template:
// either it compiles, and is rendered over a fixed chat context (tools, tool calls, reasoning,
// content parts), or it fails with "fz:LINE:COL: reason"; and (2) a context (JSON) for a fixed
// template that walks whatever it is given. A render succeeds or fails with a message that starts
// with the template's name. Small limits keep each run short (steps, memory, output).
// Seed corpus: tests/data/templates/*.jinja, corpus/*.jinja and the probes' templates.
//   cmake -DWICK_FUZZ=ON -DCMAKE_C_COMPILER=clang
//   ./fuzz_jinja -max_len=20000 -dict=../tests/fuzz/jinja.dict corpus-jinja
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wick.h"

static const char ctx[] =
    "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
    "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Weather in Paris?\"},"
    "{\"type\": \"image\"}]},"
    "{\"role\": \"assistant\", \"content\": \"\", \"reasoning_content\": \"need a tool\","
    "\"tool_calls\": [{\"id\": \"call00001\", \"type\": \"function\", \"function\": {\"name\": "
    "\"get_weather\", \"arguments\": {\"city\": \"Paris\", \"n\": 2.5}}}]},"
    "{\"role\": \"tool\", \"tool_call_id\": \"call00001\", \"content\": \"21 °C\"},"
    "{\"role\": \"assistant\", \"content\": \"<think>x</think>It is 21 °C 🦙.\"}],"
    "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
    "\"parameters\": "
    "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": "
    "[\"city\"]}}}],"
    "\"add_generation_prompt\": true, \"enable_thinking\": false, \"bos_token\": \"<s>\", "
    "\"eos_token\": \"</s>\", \"n\": 3, \"l\": [3, 1, 2], \"d\": {\"a\": 1, \"b\": null}}";

// Prints any value: keys, items, types, JSON.
static const char walker[] =
    "{%- macro show(v, depth) -%}"
    "{%- if depth > 6 -%}...{%- elif v is mapping -%}("
    "{%- for k, x in v.items() -%}{{ k }}={{ show(x, depth + 1) }},{%- endfor -%})"
    "{%- elif v is string -%}'{{ v | trim | truncate(40) }}'"
    "{%- elif v is iterable -%}[{%- for x in v -%}{{ show(x, depth + 1) }};{%- endfor -%}]"
    "{%- else -%}{{ v }}{%- endif -%}"
    "{%- endmacro -%}"
    "{{ show(messages, 0) }}|{{ tools | tojson }}|{{ messages | length }}";

static void render_context(const uint8_t *data, size_t size)
{
    static wick_template *t;
    if (!t && wick_template_open("walker", walker, sizeof walker - 1, &t) < 0) { abort(); }
    wick_template_opts o;
    wick_template_opts_init(&o);
    o.max_steps = 200000;
    o.max_memory = 32 << 20;
    o.max_output = 1 << 20;
    char *out = NULL;
    wick_status rc = wick_template_render(t, (const char *)data, size, &o, &out, NULL);
    if (rc < 0 ? (out != NULL || strncmp(wick_errmsg(), "walker", 6) != 0) : out == NULL) {
        fprintf(stderr, "bad context result: %d %s\n", rc, wick_errmsg());
        abort();
    }
    wick_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    render_context(data, size);
    wick_template *t = NULL;
    wick_status rc = wick_template_open("fz", (const char *)data, size, &t);
    if (rc < 0) {
        if (t || strncmp(wick_errmsg(), "fz:", 3) != 0) {
            fprintf(stderr, "bad open failure: %d %s\n", rc, wick_errmsg());
            abort();
        }
        return 0;
    }
    wick_template_opts o;
    wick_template_opts_init(&o);
    o.max_steps = 200000;
    o.max_memory = 32 << 20;
    o.max_output = 1 << 20;
    o.now = 1721995200;
    char *out = NULL;
    size_t n = 0;
    rc = wick_template_render(t, ctx, sizeof ctx - 1, &o, &out, &n);
    if (rc < 0 ? (out != NULL || strncmp(wick_errmsg(), "fz", 2) != 0)
               : (out == NULL || n > o.max_output)) {
        fprintf(stderr, "bad render result: %d %s\n", rc, wick_errmsg());
        abort();
    }
    wick_free(out);
    wick_template_close(t);
    return 0;
}
