// reasoning.c — the streaming parser of generated chat text: <think> reasoning, content, and Kimi
// K2's tool-call section, fed in pieces that may split a marker (or a UTF-8 character) anywhere.
//
// Input waits in `in` only as long as its tail could still begin a marker (or complete a
// character); everything before is decided at once and queued as pieces, merged with the previous
// piece of the same kind while the caller has not taken it.
#include <jansson.h>
#include <string.h>

#include "base/base.h"

#define MAX_MARKER 64
#define MAX_HELD ((size_t)16 << 20) // a tool call being collected

// Kimi K2's tool-call markers.
static const char SECTION_BEGIN[] = "<|tool_calls_section_begin|>";
static const char SECTION_END[] = "<|tool_calls_section_end|>";
static const char CALL_BEGIN[] = "<|tool_call_begin|>";
static const char ARG_BEGIN[] = "<|tool_call_argument_begin|>";
static const char CALL_END[] = "<|tool_call_end|>";

enum state { ST_CONTENT, ST_REASONING, ST_TOOLS, ST_CALL_ID, ST_CALL_ARGS };

// What a found marker means.
enum marker { MK_THINK_OPEN, MK_THINK_CLOSE, MK_SECTION_BEGIN, MK_SECTION_END, MK_CALL_BEGIN,
              MK_ARG_BEGIN, MK_CALL_END };

typedef struct piece_rec {
    wick_chat_piece_kind kind;
    size_t text, len; // offsets into the arena
    size_t name, args, id;
    int index;
} piece_rec;

struct wick_chat_parser {
    char think_open[MAX_MARKER + 1], think_close[MAX_MARKER + 1];
    bool think, kimi, open_in_prompt;

    enum state st;
    bool think_done;      // a think block was parsed, or cannot start any more
    bool content_started; // content other than whitespace was emitted
    bool drop_ws;         // leading whitespace of the current kind is dropped
    bool stray;           // text between tool calls began since the last marker
    bool finished;
    wk_buf in;   // undecided input
    wk_buf ws;   // whitespace held: leading (content before <think>) or trailing (reasoning)
    wk_buf call; // the raw text of the tool call being collected, markers included
    size_t call_id_end; // call[0, call_id_end): up to the argument marker
    int n_calls, n_raw_calls;

    wk_buf arena; // queued pieces' strings
    piece_rec *q;
    size_t n_q, cap_q, head;
    bool last_open; // the last queued piece's text ends the arena (it may still grow)
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// --- create / reset / destroy --------------------------------------------------------------------
static wick_status copy_marker(char *dst, const char *src, const char *what)
{
    size_t n = src ? strlen(src) : 0;
    if (n == 0 || n > MAX_MARKER) {
        return wk_fail(WICK_E_INVALID, "chat format: %s marker is empty or over %d bytes", what,
                       MAX_MARKER);
    }
    memcpy(dst, src, n + 1);
    return WICK_OK;
}

wick_status wick_chat_parser_create(const wick_chat_format *f, wick_chat_parser **out)
{
    if (out) { *out = NULL; }
    if (!f || !out) { return wk_fail(WICK_E_INVALID, "wick_chat_parser_create: NULL argument"); }
    if (f->tools != WICK_TOOLS_NONE && f->tools != WICK_TOOLS_KIMI_K2) {
        return wk_fail(WICK_E_INVALID, "chat format: unknown tool-call style %d", (int)f->tools);
    }
    wick_chat_parser *p = wk_calloc(1, sizeof *p);
    if (!p) { return wk_fail_nomem("chat parser"); }
    wick_status rc = WICK_OK;
    if ((f->think_open || f->think_close) && !f->think_closed_in_prompt) {
        rc = copy_marker(p->think_open, f->think_open, "think-open");
        if (rc == WICK_OK) { rc = copy_marker(p->think_close, f->think_close, "think-close"); }
        p->think = true;
        p->open_in_prompt = f->think_open_in_prompt;
    }
    if (rc < 0) {
        wk_free(p);
        return rc;
    }
    p->kimi = f->tools == WICK_TOOLS_KIMI_K2;
    wk_buf_init(&p->in, SIZE_MAX / 2); // drained by every feed down to a marker's length
    wk_buf_init(&p->ws, MAX_HELD);
    wk_buf_init(&p->call, MAX_HELD);
    wk_buf_init(&p->arena, SIZE_MAX / 2);
    wick_chat_parser_reset(p);
    *out = p;
    return WICK_OK;
}

void wick_chat_parser_reset(wick_chat_parser *p)
{
    if (!p) { return; }
    p->st = p->think && p->open_in_prompt ? ST_REASONING : ST_CONTENT;
    p->think_done = !p->think;
    p->content_started = false;
    p->stray = false;
    p->drop_ws = p->st == ST_REASONING;
    p->finished = false;
    wk_buf_clear(&p->in);
    wk_buf_clear(&p->ws);
    wk_buf_clear(&p->call);
    p->n_calls = p->n_raw_calls = 0;
    wk_buf_clear(&p->arena);
    p->n_q = p->head = 0;
    p->last_open = false;
}

void wick_chat_parser_destroy(wick_chat_parser *p)
{
    if (!p) { return; }
    wk_buf_free(&p->in);
    wk_buf_free(&p->ws);
    wk_buf_free(&p->call);
    wk_buf_free(&p->arena);
    wk_free(p->q);
    wk_free(p);
}

// --- the output queue ----------------------------------------------------------------------------
static wick_status queue_push(wick_chat_parser *p, piece_rec r)
{
    if (p->n_q == p->cap_q) {
        size_t cap = p->cap_q ? 2 * p->cap_q : 8;
        piece_rec *q = wk_realloc(p->q, cap * sizeof *q);
        if (!q) { return wk_fail_nomem("chat parser pieces"); }
        p->q = q;
        p->cap_q = cap;
    }
    p->q[p->n_q++] = r;
    return WICK_OK;
}

// Appends s and its NUL to the arena; *off gets where it starts.
static wick_status arena_str(wick_chat_parser *p, const char *s, size_t n, size_t *off)
{
    *off = p->arena.len;
    wick_status rc = wk_buf_append(&p->arena, s, n);
    return rc == WICK_OK ? wk_buf_append(&p->arena, "", 1) : rc;
}

// Queues text of kind k (content, reasoning, warning), merged into the last piece when it is of
// the same kind and not taken yet.
static wick_status emit(wick_chat_parser *p, wick_chat_piece_kind k, const char *s, size_t n)
{
    if (n == 0) { return WICK_OK; }
    if (k != WICK_PIECE_WARNING && p->last_open && p->n_q > p->head && p->q[p->n_q - 1].kind == k) {
        p->arena.len--; // over the NUL
        wick_status rc = wk_buf_append(&p->arena, s, n);
        if (rc == WICK_OK) { rc = wk_buf_append(&p->arena, "", 1); }
        if (rc == WICK_OK) { p->q[p->n_q - 1].len += n; }
        return rc;
    }
    piece_rec r = {k, 0, n, 0, 0, 0, -1};
    wick_status rc = arena_str(p, s, n, &r.text);
    if (rc == WICK_OK) { rc = queue_push(p, r); }
    p->last_open = k != WICK_PIECE_WARNING;
    return rc;
}

static wick_status warn(wick_chat_parser *p, const char *msg)
{
    return emit(p, WICK_PIECE_WARNING, msg, strlen(msg));
}

// --- text of each kind ---------------------------------------------------------------------------
// While p->drop_ws: drops the leading whitespace of s; false when nothing else is left (the
// flag then stays for the next text), else the flag is cleared.
static bool skip_dropped_ws(wick_chat_parser *p, const char **s, size_t *n)
{
    if (!p->drop_ws) { return true; }
    while (*n > 0 && is_ws(**s)) {
        (*s)++;
        (*n)--;
    }
    if (*n == 0) { return false; }
    p->drop_ws = false;
    return true;
}

static wick_status content(wick_chat_parser *p, const char *s, size_t n)
{
    if (p->drop_ws) {
        if (!skip_dropped_ws(p, &s, &n)) { return WICK_OK; }
        p->content_started = true;
    }
    if (!p->content_started && !p->think_done) {
        // whitespace before a possible <think> waits: dropped if the marker comes
        size_t i = 0;
        while (i < n && is_ws(s[i])) { i++; }
        if (i == n) { return wk_buf_append(&p->ws, s, n); }
        p->content_started = true;
        wick_status rc = emit(p, WICK_PIECE_CONTENT, p->ws.data, p->ws.len);
        wk_buf_clear(&p->ws);
        if (rc < 0) { return rc; }
    }
    return emit(p, WICK_PIECE_CONTENT, s, n);
}

static wick_status reasoning(wick_chat_parser *p, const char *s, size_t n)
{
    if (!skip_dropped_ws(p, &s, &n)) { return WICK_OK; }
    size_t body = n;
    while (body > 0 && is_ws(s[body - 1])) { body--; }
    if (body == 0) { return wk_buf_append(&p->ws, s, n); } // trailing whitespace waits
    wick_status rc = emit(p, WICK_PIECE_REASONING, p->ws.data, p->ws.len);
    wk_buf_clear(&p->ws);
    if (rc == WICK_OK) { rc = emit(p, WICK_PIECE_REASONING, s, body); }
    if (rc == WICK_OK) { rc = wk_buf_append(&p->ws, s + body, n - body); }
    return rc;
}

static wick_status text(wick_chat_parser *p, const char *s, size_t n)
{
    switch (p->st) {
    case ST_CONTENT: return content(p, s, n);
    case ST_REASONING: return reasoning(p, s, n);
    case ST_TOOLS: { // between calls: text is content, the whitespace around it layout
        size_t body = n;
        while (body > 0 && is_ws(s[body - 1])) { body--; }
        if (body == 0) { return wk_buf_append(&p->ws, s, n); } // dropped at the next marker
        size_t lead = 0;
        while (!p->stray && is_ws(s[lead])) { lead++; }
        wick_status rc = p->stray ? emit(p, WICK_PIECE_CONTENT, p->ws.data, p->ws.len) : WICK_OK;
        wk_buf_clear(&p->ws);
        p->stray = true;
        if (rc == WICK_OK) { rc = content(p, s + lead, body - lead); }
        return rc == WICK_OK ? wk_buf_append(&p->ws, s + body, n - body) : rc;
    }
    case ST_CALL_ID:
    case ST_CALL_ARGS: return wk_buf_append(&p->call, s, n);
    }
    return WICK_OK;
}

// --- tool calls ----------------------------------------------------------------------------------
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_ws(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_ws((*s)[*n - 1])) { (*n)--; }
}

// The call collected in p->call was cut short or is malformed: its text as content + a warning.
static wick_status bad_call(wick_chat_parser *p, const char *why)
{
    wick_status rc = content(p, p->call.data, p->call.len);
    char msg[512];
    snprintf(msg, sizeof msg, "tool call %d: %s; given as content", p->n_raw_calls, why);
    if (rc == WICK_OK) { rc = warn(p, msg); }
    wk_buf_clear(&p->call);
    p->n_raw_calls++;
    return rc;
}

// p->call holds CALL_BEGIN ID ARG_BEGIN ARGS CALL_END: a tool-call piece, or content + warning.
static wick_status end_call(wick_chat_parser *p)
{
    const char *id = p->call.data + strlen(CALL_BEGIN);
    size_t id_len = p->call_id_end - strlen(CALL_BEGIN);
    const char *args = p->call.data + p->call_id_end + strlen(ARG_BEGIN);
    size_t args_len = p->call.len - p->call_id_end - strlen(ARG_BEGIN) - strlen(CALL_END);
    trim(&id, &id_len);
    trim(&args, &args_len);
    // "functions.NAME:INDEX" (or "NAME:INDEX", or "NAME")
    const char *name = id;
    size_t name_len = id_len;
    if (name_len > 10 && memcmp(name, "functions.", 10) == 0) {
        name += 10;
        name_len -= 10;
    }
    size_t colon = name_len;
    while (colon > 0 && name[colon - 1] >= '0' && name[colon - 1] <= '9') { colon--; }
    if (colon > 0 && colon < name_len && name[colon - 1] == ':') { name_len = colon - 1; }
    for (size_t i = 0; i < name_len; i++) {
        if (is_ws(name[i]) || name[i] == '<' || name[i] == '>') { name_len = 0; }
    }
    if (name_len == 0) { return bad_call(p, "no function name in its id"); }
    json_error_t err;
    json_t *j = json_loadb(args, args_len, 0, &err);
    bool obj = json_is_object(j);
    json_decref(j);
    if (!obj) {
        char why[300];
        snprintf(why, sizeof why, "arguments are not a JSON object (%s)",
                 j ? "another JSON value" : err.text);
        return bad_call(p, why);
    }
    piece_rec r = {WICK_PIECE_TOOL_CALL, 0, 0, 0, 0, 0, p->n_calls};
    wick_status rc = arena_str(p, "", 0, &r.text);
    if (rc == WICK_OK) { rc = arena_str(p, name, name_len, &r.name); }
    if (rc == WICK_OK) { rc = arena_str(p, args, args_len, &r.args); }
    if (rc == WICK_OK) { rc = arena_str(p, id, id_len, &r.id); }
    if (rc == WICK_OK) { rc = queue_push(p, r); }
    p->last_open = false;
    p->n_calls++;
    p->n_raw_calls++;
    wk_buf_clear(&p->call);
    return rc;
}

// --- markers -------------------------------------------------------------------------------------
static int markers(const wick_chat_parser *p, const char **pats, size_t *lens, int *what)
{
    int n = 0;
#define ADD(s, w)                                                                                  \
    do {                                                                                           \
        pats[n] = (s);                                                                             \
        lens[n] = strlen(s);                                                                       \
        what[n++] = (w);                                                                           \
    } while (0)
    switch (p->st) {
    case ST_CONTENT:
        if (!p->think_done) { ADD(p->think_open, MK_THINK_OPEN); }
        if (p->kimi) { ADD(SECTION_BEGIN, MK_SECTION_BEGIN); }
        break;
    case ST_REASONING:
        ADD(p->think_close, MK_THINK_CLOSE);
        if (p->kimi) { ADD(SECTION_BEGIN, MK_SECTION_BEGIN); }
        break;
    case ST_TOOLS:
        ADD(CALL_BEGIN, MK_CALL_BEGIN);
        ADD(SECTION_END, MK_SECTION_END);
        break;
    case ST_CALL_ID:
        ADD(ARG_BEGIN, MK_ARG_BEGIN);
        ADD(CALL_END, MK_CALL_END);
        ADD(CALL_BEGIN, MK_CALL_BEGIN);
        ADD(SECTION_END, MK_SECTION_END);
        break;
    case ST_CALL_ARGS:
        ADD(CALL_END, MK_CALL_END);
        ADD(CALL_BEGIN, MK_CALL_BEGIN);
        ADD(SECTION_END, MK_SECTION_END);
        break;
    }
#undef ADD
    return n;
}

static wick_status on_marker(wick_chat_parser *p, int mk, const char *s, size_t n)
{
    wick_status rc = WICK_OK;
    p->stray = false;
    const bool in_call = p->st == ST_CALL_ID || p->st == ST_CALL_ARGS;
    if (in_call && (mk == MK_CALL_BEGIN || mk == MK_SECTION_END)) {
        rc = bad_call(p, "not terminated by <|tool_call_end|>");
        p->st = ST_TOOLS;
        if (rc < 0) { return rc; }
    }
    switch (mk) {
    case MK_THINK_OPEN:
        wk_buf_clear(&p->ws); // whitespace before the marker
        p->st = ST_REASONING;
        p->drop_ws = true;
        break;
    case MK_THINK_CLOSE:
    case MK_SECTION_BEGIN:
        wk_buf_clear(&p->ws); // reasoning's trailing or content's leading whitespace
        p->think_done = true;
        p->st = mk == MK_THINK_CLOSE ? ST_CONTENT : ST_TOOLS;
        p->drop_ws = mk == MK_THINK_CLOSE;
        break;
    case MK_SECTION_END:
        wk_buf_clear(&p->ws);
        p->st = ST_CONTENT;
        p->drop_ws = true;
        break;
    case MK_CALL_BEGIN:
        wk_buf_clear(&p->ws);
        wk_buf_clear(&p->call);
        rc = wk_buf_append(&p->call, s, n);
        p->st = ST_CALL_ID;
        break;
    case MK_ARG_BEGIN:
        p->call_id_end = p->call.len;
        rc = wk_buf_append(&p->call, s, n);
        p->st = ST_CALL_ARGS;
        break;
    case MK_CALL_END:
        rc = wk_buf_append(&p->call, s, n);
        if (rc == WICK_OK) {
            rc = p->st == ST_CALL_ARGS ? end_call(p)
                                       : bad_call(p, "no <|tool_call_argument_begin|>");
        }
        p->st = ST_TOOLS;
        break;
    }
    return rc;
}

// Bytes at the end of s[0, n) that begin a UTF-8 character not complete yet (0..3).
static size_t utf8_tail(const char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        unsigned char c = (unsigned char)s[n - k];
        if ((c & 0xC0) == 0x80) { continue; } // a continuation byte: look further back
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > k ? k : 0;
    }
    return 0;
}

// Decides as much of p->in as possible (all of it when final).
static wick_status process(wick_chat_parser *p, bool final)
{
    wick_status rc = WICK_OK;
    size_t pos = 0;
    if (!p->in.data) { return WICK_OK; }
    while (rc == WICK_OK) {
        const char *pats[4];
        size_t lens[4];
        int what[4], which;
        int n_pats = markers(p, pats, lens, what);
        const char *s = p->in.data + pos;
        size_t n = p->in.len - pos;
        size_t at = wk_match_first(s, n, pats, lens, n_pats, &which);
        if (which >= 0) {
            rc = text(p, s, at);
            if (rc == WICK_OK) { rc = on_marker(p, what[which], s + at, lens[which]); }
            pos += at + lens[which];
            continue;
        }
        size_t hold = final ? 0 : wk_match_partial(s, n, pats, lens, n_pats);
        if (!final && hold == 0) { hold = utf8_tail(s, n); }
        rc = text(p, s, n - hold);
        pos += n - hold;
        break;
    }
    if (rc == WICK_OK && pos > 0) {
        memmove(p->in.data, p->in.data + pos, p->in.len - pos);
        p->in.len -= pos;
        p->in.data[p->in.len] = '\0';
    }
    return rc;
}

static void compact(wick_chat_parser *p)
{
    if (p->head == p->n_q) { // everything was taken: start the arena over
        p->n_q = p->head = 0;
        wk_buf_clear(&p->arena);
        p->last_open = false;
    }
}

wick_status wick_chat_parser_feed(wick_chat_parser *p, const char *s, size_t n)
{
    if (!p || (!s && n)) { return wk_fail(WICK_E_INVALID, "wick_chat_parser_feed: NULL argument"); }
    if (p->finished) { return wk_fail(WICK_E_INVALID, "wick_chat_parser_feed: after finish"); }
    compact(p);
    wick_status rc = wk_buf_append(&p->in, s, n);
    if (rc < 0) { return wk_fail_prefix(rc, "chat parser"); }
    return process(p, false);
}

wick_status wick_chat_parser_finish(wick_chat_parser *p)
{
    if (!p) { return wk_fail(WICK_E_INVALID, "wick_chat_parser_finish: NULL argument"); }
    if (p->finished) { return WICK_OK; }
    compact(p);
    p->finished = true;
    wick_status rc = process(p, true);
    if (rc < 0) { return rc; }
    switch (p->st) {
    case ST_CONTENT:
        if (!p->content_started) { rc = emit(p, WICK_PIECE_CONTENT, p->ws.data, p->ws.len); }
        break;
    case ST_REASONING: {
        char msg[128];
        snprintf(msg, sizeof msg, "the reasoning was not closed with %s", p->think_close);
        rc = warn(p, msg);
        break;
    }
    case ST_CALL_ID:
    case ST_CALL_ARGS: rc = bad_call(p, "cut off before <|tool_call_end|>"); break;
    case ST_TOOLS: break;
    }
    wk_buf_clear(&p->ws);
    return rc;
}

wick_status wick_chat_parser_next(wick_chat_parser *p, wick_chat_piece *out)
{
    if (!p || !out) { return wk_fail(WICK_E_INVALID, "wick_chat_parser_next: NULL argument"); }
    memset(out, 0, sizeof *out);
    out->index = -1;
    out->text = "";
    if (p->head == p->n_q) { return WICK_DONE; }
    const piece_rec *r = &p->q[p->head++];
    const char *a = p->arena.data;
    out->kind = r->kind;
    out->text = a + r->text;
    out->len = r->len;
    if (r->kind == WICK_PIECE_TOOL_CALL) {
        out->name = a + r->name;
        out->arguments = a + r->args;
        out->id = a + r->id;
        out->index = r->index;
    }
    if (p->head == p->n_q) { p->last_open = false; } // taken: the next text starts a new piece
    return WICK_OK;
}

bool wick_chat_parser_in_reasoning(const wick_chat_parser *p)
{
    return p && p->st == ST_REASONING;
}
