// markers.c — which reasoning and tool-call markers a model uses, from its chat template, its
// vocabulary and the rendered generation prompt (never from its name).
#include <string.h>

#include "base/base.h"

static const char THINK_OPEN[] = "<think>";
static const char THINK_CLOSE[] = "</think>";

static bool has_token(const wick_tokenizer *tk, const char *s)
{
    return tk && wick_token_find(tk, s, strlen(s)) >= 0;
}

// s[0, n) with trailing whitespace cut ends with suffix.
static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        n--;
    }
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

void wick_chat_format_detect(const char *tmpl, const wick_tokenizer *tk, const char *gen_prompt,
                             wick_chat_format *out)
{
    if (!out) { return; }
    memset(out, 0, sizeof *out);
    bool think = (tmpl && strstr(tmpl, THINK_CLOSE)) ||
                 (has_token(tk, THINK_OPEN) && has_token(tk, THINK_CLOSE));
    if (think) {
        out->think_open = THINK_OPEN;
        out->think_close = THINK_CLOSE;
        if (gen_prompt && ends_with(gen_prompt, THINK_CLOSE)) {
            out->think_closed_in_prompt = true; // "<think></think>": thinking switched off
        } else if (gen_prompt && ends_with(gen_prompt, THINK_OPEN)) {
            out->think_open_in_prompt = true;
        }
    }
    static const char *const kimi[] = {
        "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>",
        "<|tool_call_argument_begin|>", "<|tool_call_end|>",
    };
    bool tools = tmpl && strstr(tmpl, kimi[0]) && strstr(tmpl, kimi[2]);
    if (!tools && tk) {
        tools = true;
        for (size_t i = 0; i < WK_ARRAY_LEN(kimi); i++) { tools = tools && has_token(tk, kimi[i]); }
    }
    out->tools = tools ? WICK_TOOLS_KIMI_K2 : WICK_TOOLS_NONE;
}
