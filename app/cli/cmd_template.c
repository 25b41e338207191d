// cmd_template.c — `wick template`: renders a chat template over the JSON context on stdin, as
// Hugging Face transformers' apply_chat_template would, and writes the text to stdout exactly.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage[] =
    "usage: wick template (--model SPEC | --template FILE.jinja | --tokenizer-config FILE.json)\n"
    "                     [--name NAME]\n"
    "\n"
    "Reads one JSON object from stdin, the template's context: messages, add_generation_prompt,\n"
    "tools, bos_token, eos_token, enable_thinking and any other key, passed to the template as\n"
    "given. Writes the rendered text to stdout byte for byte (no newline added). Templates render\n"
    "as Hugging Face transformers' apply_chat_template renders them (Python jinja2, sandboxed,\n"
    "trim_blocks, lstrip_blocks, its tojson, raise_exception and strftime_now).\n"
    "\n"
    "  --model SPEC               the template inside a GGUF file (tokenizer.chat_template);\n"
    "                             bos_token and eos_token default to the model's vocabulary.\n"
    "                             SPEC: a path to a .gguf (or the first shard of a split model)\n"
    "  --template FILE.jinja      a template file\n"
    "  --tokenizer-config FILE    a tokenizer_config.json (its chat_template, or the\n"
    "                             chat_template.jinja beside it); bos_token and eos_token default\n"
    "                             to the config's\n"
    "  --name NAME                a named template: tokenizer.chat_template.NAME in a GGUF, the\n"
    "                             entry NAME of a chat_template list. Without it: the default\n"
    "                             one, or 'tool_use' when the context has tools and the model\n"
    "                             has one (as transformers chooses)\n"
    "\n"
    "A template error prints 'wick: TEMPLATE:LINE:COL: reason' and exits with status 1.\n";

typedef struct args {
    const char *model, *tmpl, *config, *name;
} args;

static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char **slot = strcmp(s, "--model") == 0              ? &a->model
                            : strcmp(s, "--template") == 0         ? &a->tmpl
                            : strcmp(s, "--tokenizer-config") == 0 ? &a->config
                            : strcmp(s, "--name") == 0             ? &a->name
                                                                   : NULL;
        if (!slot) { return cli_usage(&cli_cmd_template, "unexpected argument '%s'", s); }
        if (i + 1 >= argc) { return cli_usage(&cli_cmd_template, "%s needs a value", s); }
        *slot = argv[++i];
    }
    if ((a->model != NULL) + (a->tmpl != NULL) + (a->config != NULL) != 1) {
        return cli_usage(&cli_cmd_template,
                         "give exactly one of --model, --template and --tokenizer-config");
    }
    if (a->tmpl && a->name) {
        return cli_usage(&cli_cmd_template, "--name selects among the templates of a model or a "
                                            "tokenizer config, not of a .jinja file");
    }
    return -1;
}

// The file a model spec names. A path for now; Hub specs (OWNER/REPO[:TAG]) resolve through the
// same resolver `wick run` uses once it exists.
static int resolve_model(const char *spec, const char **path)
{
    struct stat st;
    if (stat(spec, &st) == 0) {
        *path = spec;
        return CLI_OK;
    }
    return cli_fail("%s: no such file (give the path of a .gguf file)", spec);
}

// Opens the template the arguments name; with_tools: the context has tools.
static int open_template(const args *a, bool with_tools, wick_template **t)
{
    wick_status rc;
    if (a->tmpl) {
        rc = wick_template_open_file(a->tmpl, t);
        return rc < 0 ? cli_fail_lib(rc, a->tmpl) : CLI_OK;
    }
    if (a->config) {
        rc = WICK_E_NOT_FOUND;
        if (!a->name && with_tools) { rc = wick_template_open_config(a->config, "tool_use", t); }
        if (rc == WICK_E_NOT_FOUND) { rc = wick_template_open_config(a->config, a->name, t); }
        return rc < 0 ? cli_fail_lib(rc, a->config) : CLI_OK;
    }
    const char *path = NULL;
    int st = resolve_model(a->model, &path);
    if (st != CLI_OK) { return st; }
    wick_gguf *g = NULL;
    rc = wick_gguf_open(path, &g);
    if (rc < 0) { return cli_fail_lib(rc, path); }
    rc = WICK_E_NOT_FOUND;
    if (!a->name && with_tools) { rc = wick_template_open_gguf(g, "tool_use", t); }
    if (rc == WICK_E_NOT_FOUND) { rc = wick_template_open_gguf(g, a->name, t); }
    wick_gguf_close(g);
    return rc < 0 ? cli_fail_lib(rc, path) : CLI_OK;
}

static int run(int argc, char **argv)
{
    args a;
    int st = parse(argc, argv, &a);
    if (st >= 0) { return st; }
    size_t len = 0;
    char *ctx = cli_read_stdin(&len);
    if (!ctx || ferror(stdin)) {
        free(ctx);
        return cli_fail("stdin: cannot read the context");
    }
    // the context must be an object; its tools choose the tool_use template
    json_error_t err;
    json_t *j = json_loadb(ctx, len, JSON_ALLOW_NUL, &err);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        free(ctx);
        if (!j) {
            return cli_fail("stdin: invalid JSON at line %d column %d: %s", err.line, err.column,
                            err.text);
        }
        return cli_fail("stdin: expected one JSON object (the template context)");
    }
    json_t *tools = json_object_get(j, "tools");
    bool with_tools = tools && !json_is_null(tools);
    json_decref(j);
    wick_template *t = NULL;
    st = open_template(&a, with_tools, &t);
    if (st != CLI_OK) {
        free(ctx);
        return st;
    }
    char *out = NULL;
    size_t n = 0;
    wick_status rc = wick_template_render(t, ctx, len, NULL, &out, &n);
    free(ctx);
    wick_template_close(t);
    if (rc < 0) { return cli_fail_lib(rc, "template"); }
    fwrite(out, 1, n, stdout);
    wick_free(out);
    if (fflush(stdout) != 0) { return cli_fail("stdout: write failed"); }
    return CLI_OK;
}

const cli_command cli_cmd_template = {"template", run, usage,
                                      "renders a chat template over a JSON context on stdin"};
