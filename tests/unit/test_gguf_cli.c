// test_gguf_cli.c — `wick info --json` and `wick tensor --json` against every fixture model's table
// and dequantized samples (tests/data/meta, read with gguf-py), and the commands' text output,
// usage errors and exit codes.
#include <jansson.h>
#include <stdint.h>

#include "harness.h"

static const char *const models[] = {
    "llama-F32",     "llama-F16",      "llama-BF16",   "llama-Q8_0",         "llama-Q4_K_M",
    "phi3-F32",      "phi3-Q4_K_M",    "phi3-Q3_K_M",  "phi3-Q5_0",          "phi3-Q4_0",
    "deepseek2-F32", "deepseek2-Q4_K_M", "deepseek2-Q5_K_M", "deepseek2-Q2_K", "deepseek2-Q6_K",
};

// Runs wick with args and parses stdout as one JSON value (which must end with a newline).
static json_t *run_json(const char *args, int *status)
{
    char *out = NULL, *err = NULL;
    *status = test_run_wick(args, NULL, &out, &err);
    json_error_t e;
    json_t *j = out ? json_loads(out, 0, &e) : NULL;
    CHECKF(j != NULL, "wick %s: output is not JSON (%s); stderr: %s", args, out ? e.text : "none",
           err ? err : "");
    size_t n = out ? strlen(out) : 0;
    CHECKF(n > 0 && out[n - 1] == '\n' && strchr(out, '\n') == out + n - 1,
           "wick %s: not one line ending in a newline", args);
    free(out);
    free(err);
    return j;
}

static void check_model(const char *name)
{
    char rel[256], path[4096], args[8400];
    snprintf(rel, sizeof rel, "meta/%s.json", name);
    json_t *meta = json_load_file(test_data(rel), 0, NULL);
    CHECKF(meta != NULL, "cannot read %s", rel);
    snprintf(rel, sizeof rel, "models/%s.gguf", name);
    snprintf(path, sizeof path, "%s", test_data(rel));
    snprintf(args, sizeof args, "info '%s' --json", path);
    int st;
    json_t *info = run_json(args, &st);
    CHECKF(st == 0, "wick %s: exit %d", args, st);
    if (!meta || !info) {
        json_decref(meta);
        json_decref(info);
        return;
    }
    CHECK(json_integer_value(json_object_get(info, "version")) == 3);
    // tensors: exactly the fields of the meta table, in order.
    json_t *want = json_object_get(meta, "tensors"), *got = json_object_get(info, "tensors");
    CHECKF(json_array_size(got) == json_array_size(want), "%s: %zu tensors", name,
           json_array_size(got));
    size_t i;
    json_t *wt;
    int bad = 0;
    json_array_foreach(want, i, wt) {
        json_t *gt = json_array_get(got, i);
        static const char *const keys[] = {"name", "type", "shape", "offset", "bytes"};
        for (size_t k = 0; k < (sizeof keys / sizeof keys[0]); k++) {
            if (!json_equal(json_object_get(gt, keys[k]), json_object_get(wt, keys[k]))) {
                bad++;
                if (bad < 5) { fprintf(stderr, "%s: tensor %zu: %s differs\n", name, i, keys[k]); }
            }
        }
    }
    CHECKF(bad == 0, "%s: %d tensor fields differ", name, bad);
    // metadata: the same keys (meta lists them sorted).
    json_t *md = json_object_get(info, "metadata");
    json_t *keys = json_object_get(meta, "metadata_keys");
    CHECK(json_object_size(md) == json_array_size(keys));
    json_array_foreach(keys, i, wt) {
        CHECKF(json_object_get(md, json_string_value(wt)) != NULL, "%s: metadata lacks %s", name,
               json_string_value(wt));
    }
    CHECK(json_is_string(json_object_get(md, "general.architecture")));
    CHECK(json_is_array(json_object_get(md, "tokenizer.ggml.tokens")));
    CHECK(json_array_size(json_object_get(md, "tokenizer.ggml.tokens")) > 1000);
    // totals: the parameter count is the sum over the tensors.
    json_int_t params = 0;
    json_array_foreach(got, i, wt) {
        json_int_t n = 1;
        json_t *d;
        size_t k;
        json_array_foreach(json_object_get(wt, "shape"), k, d) {
            n *= json_integer_value(d);
        }
        params += n;
    }
    CHECK(json_integer_value(json_object_get(info, "n_params")) == params);

    // wick tensor --rows 0:N --json equals the dequantized samples (test_gguf checks the bits).
    json_t *samples = json_object_get(meta, "samples");
    json_array_foreach(samples, i, wt) {
        json_t *rows = json_object_get(wt, "rows");
        snprintf(args, sizeof args, "tensor '%s' '%s' --rows 0:%zu --json", path,
                 json_string_value(json_object_get(wt, "name")), json_array_size(rows));
        json_t *vals = run_json(args, &st);
        CHECK(st == 0);
        int diff = 0;
        CHECK(json_array_size(vals) == json_array_size(rows));
        for (size_t r = 0; r < json_array_size(rows); r++) {
            json_t *wr = json_array_get(rows, r), *gr = json_array_get(vals, r);
            CHECK(json_array_size(gr) == json_array_size(wr));
            for (size_t c = 0; c < json_array_size(wr); c++) {
                float a = (float)json_number_value(json_array_get(wr, c));
                float b = (float)json_number_value(json_array_get(gr, c));
                // == rather than bits: JSON readers (jansson, Python) read "-0" as integer 0.
                diff += !(a == b);
            }
        }
        CHECKF(diff == 0, "%s: %s: %d values differ", name, args, diff);
        json_decref(vals);
    }
    json_decref(meta);
    json_decref(info);
}

static void test_text_and_errors(void)
{
    char path[4096], args[8400];
    snprintf(path, sizeof path, "%s", test_data("models/llama-Q4_K_M.gguf"));
    char *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "info '%s'", path);
    CHECK(test_run_wick(args, NULL, &out, &err) == 0);
    CHECK(out && strstr(out, "version:    3\n") != NULL);
    CHECK(out && strstr(out, "general.architecture") && strstr(out, "\"llama\""));
    CHECK(out && strstr(out, "blk.1.ffn_down.weight") != NULL);
    CHECK(out && strstr(out, "Q6_K ") && strstr(out, "parameters: "));
    free(out);
    free(err);
    // Text rows: one per line, ne0 values each; --rows A: runs to the end.
    snprintf(args, sizeof args, "tensor '%s' blk.0.attn_k.weight --rows 62:", path);
    CHECK(test_run_wick(args, NULL, &out, &err) == 0);
    int lines = 0, fields = 0;
    for (const char *p = out; p && *p; p++) {
        lines += *p == '\n';
        fields += *p == ' ' || *p == '\n';
    }
    CHECKF(lines == 2 && fields == 2 * 256, "%d lines, %d fields", lines, fields);
    free(out);
    free(err);
    // Every row by default.
    snprintf(args, sizeof args, "tensor '%s' output_norm.weight --json", path);
    int st;
    json_t *j = run_json(args, &st);
    CHECK(st == 0 && json_array_size(j) == 1 && json_array_size(json_array_get(j, 0)) == 256);
    json_decref(j);
    // KV cache per token (f32): 2 layers x 2 kv heads x (32 + 32) x 4 bytes.
    snprintf(args, sizeof args, "info '%s' --json", path);
    j = run_json(args, &st);
    json_t *kv = json_object_get(j, "kv_cache_bytes_per_token");
    CHECK(json_integer_value(json_object_get(kv, "f32")) == 1024);
    CHECK(json_integer_value(json_object_get(j, "bytes")) > 900000);
    json_decref(j);
    snprintf(args, sizeof args, "tensor '%s' token_embd.weight --rows 3:3 --json", path);
    j = run_json(args, &st);
    CHECK(st == 0 && json_is_array(j) && json_array_size(j) == 0);
    json_decref(j);

    static const struct {
        const char *args;
        int status;
        const char *err;
    } cases[] = {
        {"tensor '%s' no.such.tensor", 1, ": no tensor named 'no.such.tensor'"},
        {"tensor '%s' output_norm.weight --rows 0:2", 1,
         "tensor 'output_norm.weight': rows 0:2 out of range (it has 1 rows)"},
        {"tensor '%s' output_norm.weight --rows 2:1", 2, "expected A:B"},
        {"tensor '%s' output_norm.weight --rows x", 2, "expected A:B"},
        {"tensor '%s' output_norm.weight --rows -1:2", 2, "expected A:B"},
        {"tensor '%s'", 2, "needs FILE.gguf and a tensor NAME"},
        {"tensor '%s' a b", 2, "unexpected argument 'b'"},
        {"info '%s' other.gguf", 2, "one FILE only"},
    };
    for (size_t i = 0; i < (sizeof cases / sizeof cases[0]); i++) {
        snprintf(args, sizeof args, cases[i].args, path);
        st = test_run_wick(args, NULL, &out, &err);
        CHECKF(st == cases[i].status, "wick %s: exit %d", args, st);
        CHECKF(err && strstr(err, cases[i].err) != NULL && strncmp(err, "wick: ", 6) == 0,
               "wick %s: stderr '%s'", args, err ? err : "");
        CHECKF(out && out[0] == '\0', "wick %s: stdout '%s'", args, out ? out : "");
        free(out);
        free(err);
    }
    CHECK(test_run_wick("help info", NULL, &out, NULL) == 0 && out && strstr(out, "--json"));
    free(out);
    CHECK(test_run_wick("tensor --help", NULL, &out, NULL) == 0 && out && strstr(out, "--rows"));
    free(out);
}

int main(void)
{
    for (size_t i = 0; i < (sizeof models / sizeof models[0]); i++) {
        check_model(models[i]);
    }
    test_text_and_errors();
    return test_summary("gguf_cli");
}
