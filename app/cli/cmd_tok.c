// cmd_tok.c — `wick tokenize` (UTF-8 text on stdin → one JSON array of ids) and
// `wick detokenize` (a JSON array of ids on stdin → the text, exactly its bytes).
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char tokenize_usage[] =
    "usage: wick tokenize (--tokenizer FILE | --model FILE.gguf) [--no-special] [--add-special]\n"
    "                     [--config tokenizer_config.json] [--pattern REGEX]\n"
    "\n"
    "Reads UTF-8 text from stdin (verbatim: a trailing newline is part of the text) and prints\n"
    "its token ids as one JSON array.\n"
    "\n"
    "  --tokenizer FILE  a tokenizer.json (when FILE parses as JSON) or a tiktoken file\n"
    "  --model FILE.gguf the vocabulary inside the GGUF file\n"
    "  --no-special      treat special-token text (\"<|im_end|>\") as plain text\n"
    "  --add-special     add BOS/EOS as the tokenizer's configuration says (default: none)\n"
    "  --config FILE     tokenizer_config.json to use (default: the one beside FILE)\n"
    "  --pattern REGEX   tiktoken files: the split pattern (default: Kimi K2's)\n"
    "\n"
    "Invalid UTF-8 in the input is tokenized as U+FFFD (one per maximal invalid sequence).\n";

static const char detokenize_usage[] =
    "usage: wick detokenize (--tokenizer FILE | --model FILE.gguf) [--skip-special]\n"
    "\n"
    "Reads a JSON array of token ids from stdin and writes the decoded text (no newline added),\n"
    "special tokens included.\n"
    "\n"
    "  --tokenizer FILE  a tokenizer.json or a tiktoken file\n"
    "  --model FILE.gguf the vocabulary inside the GGUF file\n"
    "  --skip-special    drop special tokens\n"
    "  --config FILE     tokenizer_config.json to use (default: the one beside FILE)\n";

typedef struct tok_args {
    const char *tokenizer, *model, *config, *pattern;
    bool no_special, add_special, skip_special;
} tok_args;

// Parses the options both commands share; returns -1 to go on, else an exit status.
static int parse(const cli_command *cmd, int argc, char **argv, tok_args *a, bool encode)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (cli_is_help(s)) { return cli_print_usage(cmd); }
        bool has_val = i + 1 < argc;
        if (strcmp(s, "--tokenizer") == 0 && has_val) {
            a->tokenizer = argv[++i];
        } else if (strcmp(s, "--model") == 0 && has_val) {
            a->model = argv[++i];
        } else if (strcmp(s, "--config") == 0 && has_val) {
            a->config = argv[++i];
        } else if (encode && strcmp(s, "--pattern") == 0 && has_val) {
            a->pattern = argv[++i];
        } else if (encode && strcmp(s, "--no-special") == 0) {
            a->no_special = true;
        } else if (encode && strcmp(s, "--add-special") == 0) {
            a->add_special = true;
        } else if (!encode && strcmp(s, "--skip-special") == 0) {
            a->skip_special = true;
        } else if (strncmp(s, "--", 2) == 0 && !has_val &&
                   (strcmp(s, "--tokenizer") == 0 || strcmp(s, "--model") == 0 ||
                    strcmp(s, "--config") == 0 || strcmp(s, "--pattern") == 0)) {
            return cli_usage(cmd, "%s needs a value", s);
        } else {
            return cli_usage(cmd, "unexpected argument '%s'", s);
        }
    }
    if (!a->tokenizer == !a->model) {
        return cli_usage(cmd, "give exactly one of --tokenizer FILE and --model FILE.gguf");
    }
    return -1;
}

static int open_tok(const tok_args *a, wick_tokenizer **tk)
{
    wick_status rc;
    if (a->model) {
        wick_gguf *g = NULL;
        rc = wick_gguf_open(a->model, &g);
        if (rc < 0) { return cli_fail_lib(rc, a->model); }
        rc = wick_tokenizer_open_gguf(g, tk);
        wick_gguf_close(g);
        if (rc < 0) { return cli_fail_lib(rc, a->model); }
        return CLI_OK;
    }
    wick_tokenizer_opts o;
    wick_tokenizer_opts_init(&o);
    o.config_path = a->config;
    o.pattern = a->pattern;
    rc = wick_tokenizer_open_file(a->tokenizer, &o, tk);
    if (rc < 0) { return cli_fail_lib(rc, a->tokenizer); }
    return CLI_OK;
}

static int run_tokenize(int argc, char **argv)
{
    tok_args a;
    int st = parse(&cli_cmd_tokenize, argc, argv, &a, true);
    if (st >= 0) { return st; }
    wick_tokenizer *tk = NULL;
    st = open_tok(&a, &tk);
    if (st != CLI_OK) { return st; }
    size_t len = 0;
    char *text = cli_read_stdin(&len);
    if (!text || ferror(stdin)) {
        free(text);
        wick_tokenizer_close(tk);
        return cli_fail("stdin: cannot read the text");
    }
    unsigned flags = (a.no_special ? 0 : WICK_TOKENIZE_PARSE_SPECIAL) |
                     (a.add_special ? WICK_TOKENIZE_ADD_SPECIAL : 0);
    int32_t *ids = NULL;
    size_t n = 0;
    wick_status rc = wick_tokenize_alloc(tk, text, len, flags, &ids, &n);
    free(text);
    if (rc < 0) {
        wick_tokenizer_close(tk);
        return cli_fail_lib(rc, "tokenize");
    }
    // one line of JSON, buffered
    fputc('[', stdout);
    for (size_t i = 0; i < n; i++) { fprintf(stdout, i ? ",%" PRId32 : "%" PRId32, ids[i]); }
    fputs("]\n", stdout);
    wick_free(ids);
    wick_tokenizer_close(tk);
    if (fflush(stdout) != 0) { return cli_fail("stdout: write failed"); }
    return CLI_OK;
}

static int run_detokenize(int argc, char **argv)
{
    tok_args a;
    int st = parse(&cli_cmd_detokenize, argc, argv, &a, false);
    if (st >= 0) { return st; }
    size_t len = 0;
    char *text = cli_read_stdin(&len);
    if (!text) { return cli_fail("stdin: cannot read the ids"); }
    json_error_t err;
    json_t *arr = json_loadb(text, len, JSON_DECODE_ANY, &err);
    free(text);
    if (!arr || !json_is_array(arr)) {
        json_decref(arr);
        return cli_fail("stdin: expected a JSON array of token ids");
    }
    size_t n = json_array_size(arr);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) {
        json_decref(arr);
        return cli_fail("stdin: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
            json_integer_value(v) > INT32_MAX) {
            free(ids);
            json_decref(arr);
            return cli_fail("stdin: element %zu: expected an integer token id", i);
        }
        ids[i] = (int32_t)json_integer_value(v);
    }
    json_decref(arr);
    wick_tokenizer *tk = NULL;
    st = open_tok(&a, &tk);
    if (st != CLI_OK) {
        free(ids);
        return st;
    }
    char *out = NULL;
    size_t olen = 0;
    wick_status rc = wick_detokenize(tk, ids, n, a.skip_special ? WICK_DETOKENIZE_SKIP_SPECIAL : 0,
                                     &out, &olen);
    free(ids);
    wick_tokenizer_close(tk);
    if (rc < 0) { return cli_fail_lib(rc, "detokenize"); }
    fwrite(out, 1, olen, stdout);
    wick_free(out);
    if (fflush(stdout) != 0) { return cli_fail("stdout: write failed"); }
    return CLI_OK;
}

const cli_command cli_cmd_tokenize = {"tokenize", run_tokenize, tokenize_usage,
                                      "text on stdin to token ids (JSON array)"};
const cli_command cli_cmd_detokenize = {"detokenize", run_detokenize, detokenize_usage,
                                        "token ids (JSON array) on stdin to text"};
