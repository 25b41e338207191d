// cmd_chat.c — `wick chat SPEC`: an interactive conversation on one completion stream per turn
// (wick.h section 7). Lines are read with libedit (line editing, history) on a terminal, plainly
// from a pipe. The conversation is a list of messages rendered with the model's chat template at
// every turn; the registry's prefix cache keeps the KV cache of the turns before, so a turn
// computes only its new tokens. Ctrl-C during an answer cancels that answer (what came is kept);
// at the prompt it clears the line. Commands: /reset, /system TEXT, /think on|off, /help, /bye.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli.h"

static const char chat_usage[] =
    "usage: wick chat SPEC [options]\n"
    "\n"
    "Talks with a model named by SPEC (a .gguf path or [hf.co/]OWNER/REPO[@REV][:TAG], as for\n"
    "`wick run`). Each line you type is a user message; the answer streams back, its reasoning\n"
    "dimmed. The conversation's KV cache is kept between turns. Ctrl-C stops an answer; Ctrl-D\n"
    "or /bye ends the chat.\n"
    "\n"
    "commands:\n"
    "  /reset               forget the conversation (the system message stays)\n"
    "  /system TEXT         set the system message and start over (/system alone: remove it)\n"
    "  /think on|off        let the model think before answering, or not\n"
    "  /help                this list\n"
    "  /bye                 end the chat\n"
    "\n"
    "options:\n"
    "  --system TEXT        the system message\n"
    "  --no-think           start with thinking off\n"
    "  --timings            print the speeds after each answer\n"
    "  and the generation options of `wick run` (--max-tokens, --temperature, --top-k, --top-p,\n"
    "  --min-p, --repeat-penalty, --seed, --stop, --reasoning-budget, --chat-template,\n"
    "  --tokenizer, --threads, --ctx, --kv-type, --no-repack)\n";

// The conversation: messages[0] may be the system message; strings owned.
typedef struct convo {
    wick_message *m;
    size_t n, cap;
    char *system;
} convo;

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) { memcpy(d, s, n); }
    return d;
}

static void convo_drop_from(convo *c, size_t from)
{
    for (size_t i = from; i < c->n; i++) {
        free((char *)c->m[i].content);
        free((char *)c->m[i].reasoning_content);
    }
    if (c->n > from) { c->n = from; }
}

static bool convo_add(convo *c, const char *role, const char *content, const char *reasoning)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        wick_message *nm = realloc(c->m, cap * sizeof *nm);
        if (!nm) { return false; }
        c->m = nm;
        c->cap = cap;
    }
    wick_message *m = &c->m[c->n];
    memset(m, 0, sizeof *m);
    m->role = role;
    m->content = dup_str(content);
    m->reasoning_content = reasoning && *reasoning ? dup_str(reasoning) : NULL;
    if (!m->content || (reasoning && *reasoning && !m->reasoning_content)) {
        free((char *)m->content);
        free((char *)m->reasoning_content);
        return false;
    }
    c->n++;
    return true;
}

// Forgets everything but the system message.
static bool convo_reset(convo *c)
{
    convo_drop_from(c, 0);
    return !c->system || convo_add(c, "system", c->system, NULL);
}

// A growing text (the answer being received).
typedef struct text {
    char *p;
    size_t n, cap;
} text;

static bool text_add(text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + n + 1) { cap *= 2; }
        char *np = realloc(t->p, cap);
        if (!np) { return false; }
        t->p = np;
        t->cap = cap;
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = '\0';
    return true;
}

// One line from the user: libedit on a terminal (Ctrl-C there clears the line), else stdin.
// NULL at the end of input. *interrupted: Ctrl-C at the prompt.
static char *read_line(bool tty, bool *interrupted)
{
    *interrupted = false;
    if (!tty) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) {
            free(line);
            return NULL;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) { line[--n] = '\0'; }
        return line;
    }
    cli_sigint_take();
    char *line = readline(">>> ");
    if (cli_sigint_take()) {
        *interrupted = true;
        if (!line) { return dup_str(""); }
    }
    if (line && *line) { add_history(line); }
    return line;
}

// The answer as it streams in (the assistant message of the turn).
typedef struct answer_acc {
    text answer, thought;
    bool ok;
} answer_acc;

static void keep_chunk(void *ud, const wick_chunk *c)
{
    answer_acc *a = ud;
    if (c->type == WICK_CHUNK_CONTENT) { a->ok &= text_add(&a->answer, c->text, c->len); }
    if (c->type == WICK_CHUNK_REASONING) { a->ok &= text_add(&a->thought, c->text, c->len); }
}

typedef struct chat_state {
    cli_gen g;
    convo c;
    bool timings;
    bool tty_in;
} chat_state;

// One turn: the user's line, the answer streamed, the conversation extended. Returns CLI_OK,
// or CLI_FAIL when the stream could not start (the turn is dropped either way on failure).
static int turn(chat_state *s, wick_registry *reg, const char *line)
{
    size_t before = s->c.n;
    if (!convo_add(&s->c, "user", line, NULL)) { return cli_fail("out of memory"); }
    s->g.rq.messages = s->c.m;
    s->g.rq.n_messages = s->c.n;
    wick_stream *st = NULL;
    wick_status rc = wick_stream_start(reg, &s->g.rq, &st);
    if (rc < 0) {
        convo_drop_from(&s->c, before);
        return cli_fail_lib(rc, s->g.model);
    }
    cli_view v;
    cli_view_init(&v, false);
    answer_acc acc = {{0}, {0}, true};
    v.on_chunk = keep_chunk;
    v.ud = &acc;
    int show_rc = cli_stream_show(st, &v);
    text answer = acc.answer, thought = acc.thought;
    bool ok = acc.ok && show_rc == CLI_OK;
    if (v.tty_out && (v.wrote_text || thought.n)) { fputs("\x1b[0m", stdout); }
    if (v.wrote_text || thought.n) { putchar('\n'); }
    if (v.finish == WICK_FINISH_CANCELLED) { // after the terminal's "^C" when nothing came yet
        fputs(v.wrote_text || thought.n ? "[cancelled]\n" : "\n[cancelled]\n", stdout);
    }
    fflush(stdout);
    if (s->timings && v.done.type == WICK_CHUNK_DONE) { cli_print_timings(&v.done); }
    if (v.failed || v.finish == WICK_FINISH_ERROR || !ok ||
        (answer.n == 0 && v.finish == WICK_FINISH_CANCELLED)) {
        convo_drop_from(&s->c, before); // the turn did not happen
    } else if (!convo_add(&s->c, "assistant", answer.p ? answer.p : "", thought.p)) {
        convo_drop_from(&s->c, before);
        ok = false;
    }
    wick_stream_free(st);
    free(answer.p);
    free(thought.p);
    return ok ? CLI_OK : cli_fail("out of memory");
}

// A line starting with '/': a command. Returns 1 to go on, 0 to end the chat.
static int command(chat_state *s, const char *line)
{
    if (!strcmp(line, "/bye") || !strcmp(line, "/exit") || !strcmp(line, "/quit")) { return 0; }
    if (!strcmp(line, "/reset")) {
        if (!convo_reset(&s->c)) { cli_fail("out of memory"); }
        puts("[conversation reset]");
    } else if (!strncmp(line, "/system", 7) && (line[7] == ' ' || line[7] == '\0')) {
        const char *t = line + 7;
        while (*t == ' ') { t++; }
        free(s->c.system);
        s->c.system = *t ? dup_str(t) : NULL;
        if (!convo_reset(&s->c)) { cli_fail("out of memory"); }
        puts(*t ? "[system message set; conversation reset]"
                : "[system message removed; conversation reset]");
    } else if (!strcmp(line, "/think on") || !strcmp(line, "/think off")) {
        s->g.rq.think = line[8] == 'n' ? 1 : 0;
        printf("[thinking %s]\n", s->g.rq.think ? "on" : "off");
    } else if (!strcmp(line, "/help") || !strcmp(line, "/?")) {
        puts("/reset, /system TEXT, /think on|off, /bye; Ctrl-C stops an answer");
    } else {
        printf("unknown command '%s' (/help lists them)\n", line);
    }
    fflush(stdout);
    return 1;
}

static int run_chat(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_chat;
    chat_state s;
    memset(&s, 0, sizeof s);
    cli_gen_init(&s.g);
    const char *system = NULL;
    for (int i = 1; i < argc; i++) {
        int r = cli_gen_option(cmd, argc, argv, &i, &s.g);
        if (r < 0) { return CLI_USAGE; }
        if (r > 0) { continue; }
        const char *o = argv[i];
        if (!strcmp(o, "--system")) {
            if (i + 1 >= argc) { return cli_usage(cmd, "--system needs a value"); }
            system = argv[++i];
        } else if (!strcmp(o, "--timings")) {
            s.timings = true;
        } else if (o[0] == '-' && o[1] != '\0') {
            return cli_usage(cmd, "unknown option '%s'", o);
        } else if (!s.g.model) {
            s.g.model = o;
        } else {
            return cli_usage(cmd, "unexpected argument '%s'", o);
        }
    }
    if (!s.g.model) { return cli_usage(cmd, "no model: give SPEC or --model SPEC"); }
    s.tty_in = isatty(0);
    s.c.system = system ? dup_str(system) : NULL;
    if ((system && !s.c.system) || !convo_reset(&s.c)) { return cli_fail("out of memory"); }
    wick_registry *reg = NULL;
    int rc = cli_gen_start(&s.g, 1, &reg);
    if (rc == CLI_OK && s.tty_in) {
        using_history();
        fprintf(stderr, "wick chat: %s (/help for commands, Ctrl-D to end)\n", s.g.model);
    }
    while (rc == CLI_OK && reg) { // no registry: an MPI worker rank (--dist), done
        bool interrupted;
        char *line = read_line(s.tty_in, &interrupted);
        if (!line) {
            if (s.tty_in) { putchar('\n'); }
            break;
        }
        int go = 1;
        if (interrupted) {
            putchar('\n'); // Ctrl-C at the prompt: the line is dropped, a fresh prompt
        } else if (!*line) {
            // nothing to do: a fresh prompt
        } else if (line[0] == '/') {
            go = command(&s, line);
        } else if (turn(&s, reg, line) != CLI_OK && !s.tty_in) {
            rc = CLI_FAIL; // in a script a failed turn ends the chat with status 1
        }
        free(line);
        if (!go) { break; }
    }
    wick_registry_destroy(reg);
    convo_drop_from(&s.c, 0);
    free(s.c.m);
    free(s.c.system);
    cli_gen_free(&s.g);
    return rc;
}

const cli_command cli_cmd_chat = {
    "chat",
    run_chat,
    chat_usage,
    "talk with a model in the terminal (line editing, history, Ctrl-C stops an answer)",
};
