// fuzz_chat_parser.c — libFuzzer target for the streaming reasoning / tool-call parser.
//
// Byte 0 picks the format (think markers, opened in the prompt, Kimi K2 tool calls), byte 1 the
// chunk size; the rest is the generated text, fed in chunks of that size. Oracles: no crash or
// sanitizer report; the same pieces as feeding the text whole (adjacent pieces of one kind
// merged); text pieces are valid UTF-8 when the input is.
//   cmake -DWICK_FUZZ=ON -DCMAKE_C_COMPILER=clang; ./fuzz_chat_parser
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "tok/tok.h"

// Renders the pieces: kind byte, then the text (tool calls: name, args, id), merged by kind.
static void render(wick_chat_parser *p, wk_buf *out, int *last)
{
    wick_chat_piece pc;
    while (wick_chat_parser_next(p, &pc) == WICK_OK) {
        if ((pc.kind == WICK_PIECE_CONTENT || pc.kind == WICK_PIECE_REASONING) &&
            *last == (int)pc.kind) {
            wk_buf_append(out, pc.text, pc.len);
            continue;
        }
        *last = (int)pc.kind;
        char k = (char)('0' + pc.kind);
        wk_buf_append(out, "\x01", 1);
        wk_buf_append(out, &k, 1);
        if (pc.kind == WICK_PIECE_TOOL_CALL) {
            wk_buf_puts(out, pc.name);
            wk_buf_puts(out, pc.arguments);
            wk_buf_puts(out, pc.id);
        } else if (pc.kind != WICK_PIECE_WARNING) {
            wk_buf_append(out, pc.text, pc.len);
        }
    }
}

static void run(const wick_chat_format *f, const uint8_t *s, size_t n, size_t chunk, wk_buf *out)
{
    wick_chat_parser *p = NULL;
    if (wick_chat_parser_create(f, &p) < 0) { abort(); }
    int last = -1;
    for (size_t i = 0; i < n; i += chunk) {
        if (wick_chat_parser_feed(p, (const char *)s + i, WK_MIN(chunk, n - i)) < 0) { abort(); }
        render(p, out, &last);
    }
    if (wick_chat_parser_finish(p) < 0) { abort(); }
    render(p, out, &last);
    wick_chat_parser_destroy(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) { return 0; }
    wick_chat_format f = {0};
    if (data[0] & 1) {
        f.think_open = "<think>";
        f.think_close = "</think>";
        f.think_open_in_prompt = data[0] & 2;
    }
    f.tools = data[0] & 4 ? WICK_TOOLS_KIMI_K2 : WICK_TOOLS_NONE;
    size_t chunk = 1 + data[1] % 16;
    wk_buf a, b;
    wk_buf_init(&a, SIZE_MAX / 2);
    wk_buf_init(&b, SIZE_MAX / 2);
    run(&f, data + 2, size - 2, size, &a);
    run(&f, data + 2, size - 2, chunk, &b);
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)) { abort(); }
    if (wk_tok_utf8_valid(data + 2, size - 2) && a.len &&
        !wk_tok_utf8_valid((const uint8_t *)a.data, a.len)) {
        abort();
    }
    wk_buf_free(&a);
    wk_buf_free(&b);
    return 0;
}
