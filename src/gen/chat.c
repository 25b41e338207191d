// chat.c — chat prompts: messages rendered with the model's template.
//
// STAND-IN until the Jinja engine (src/chat, issue 9) lands: the template text is only inspected
// for the markers of a few known formats (as llama.cpp's llm_chat_apply_template detects its
// built-ins) and the messages are laid out in that format:
//   phi4     <|im_start|>ROLE<|im_sep|>CONTENT<|im_end|> ... <|im_start|>assistant<|im_sep|>
//   chatml   <|im_start|>ROLE\nCONTENT<|im_end|>\n ...     <|im_start|>assistant\n
//   llama3   BOS <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|> ...
//   kimi     <|im_ROLE|>ROLE<|im_middle|>CONTENT<|im_end|> ... <|im_assistant|>assistant<|im_middle|>
// Anything else is WICK_E_UNSUPPORTED naming the missing engine.
#include "gen/gen.h"

#define MAX_PROMPT_BYTES (64u << 20)

typedef enum fmt { F_PHI4, F_CHATML, F_LLAMA3, F_KIMI } fmt;

static wick_status detect(const char *t, fmt *f)
{
    if (strstr(t, "<|im_start|>") && strstr(t, "<|im_sep|>")) {
        *f = F_PHI4;
    } else if (strstr(t, "<|im_start|>")) {
        *f = F_CHATML;
    } else if (strstr(t, "<|start_header_id|>")) {
        *f = F_LLAMA3;
    } else if (strstr(t, "<|im_user|>") && strstr(t, "<|im_middle|>")) {
        *f = F_KIMI;
    } else {
        return wk_fail(WICK_E_UNSUPPORTED,
                       "chat template: not one of the formats wick renders without a Jinja "
                       "engine (phi4, chatml, llama3, kimi)");
    }
    return WICK_OK;
}

wick_status wk_chat_render(const char *tmpl, const wick_request *q, const char *bos,
                           const char *eos, char **out, bool *opens_think)
{
    (void)eos;
    *out = NULL;
    *opens_think = false;
    if (!tmpl) {
        return wk_fail(WICK_E_NOT_FOUND,
                       "no chat template: the GGUF has no tokenizer.chat_template and no "
                       "tokenizer_config.json gives one (give a template file)");
    }
    fmt f = F_CHATML;
    wick_status rc = detect(tmpl, &f);
    if (rc < 0) { return rc; }
    wk_buf b;
    wk_buf_init(&b, MAX_PROMPT_BYTES);
    if (f == F_LLAMA3 && bos) { rc = wk_buf_puts(&b, bos); }
    for (size_t i = 0; i < q->n_messages && rc >= 0; i++) {
        const wick_message *m = &q->messages[i];
        const char *c = m->content ? m->content : "";
        switch (f) {
        case F_PHI4: rc = wk_buf_printf(&b, "<|im_start|>%s<|im_sep|>%s<|im_end|>", m->role, c); break;
        case F_CHATML: rc = wk_buf_printf(&b, "<|im_start|>%s\n%s<|im_end|>\n", m->role, c); break;
        case F_LLAMA3:
            rc = wk_buf_printf(&b, "<|start_header_id|>%s<|end_header_id|>\n\n%s<|eot_id|>", m->role,
                               c);
            break;
        case F_KIMI: {
            const char *tag = strcmp(m->role, "user") == 0        ? "user"
                              : strcmp(m->role, "assistant") == 0 ? "assistant"
                                                                  : "system";
            rc = wk_buf_printf(&b, "<|im_%s|>%s<|im_middle|>%s<|im_end|>", tag, m->role, c);
            break;
        }
        }
    }
    if (rc >= 0) {
        switch (f) {
        case F_PHI4: rc = wk_buf_puts(&b, "<|im_start|>assistant<|im_sep|>"); break;
        case F_CHATML: rc = wk_buf_puts(&b, "<|im_start|>assistant\n"); break;
        case F_LLAMA3: rc = wk_buf_puts(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n"); break;
        case F_KIMI: rc = wk_buf_puts(&b, "<|im_assistant|>assistant<|im_middle|>"); break;
        }
    }
    if (rc < 0) {
        wk_buf_free(&b);
        return rc;
    }
    *out = wk_buf_take(&b, NULL);
    if (!*out) { return wk_fail_nomem("chat prompt"); }
    size_t n = strlen(*out);
    while (n > 0 && ((*out)[n - 1] == '\n' || (*out)[n - 1] == ' ')) { n--; }
    *opens_think = n >= 7 && memcmp(*out + n - 7, "<think>", 7) == 0;
    return WICK_OK;
}
