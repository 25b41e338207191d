// cmd_info.c — `wick info` (a GGUF file's metadata and tensor table) and `wick tensor`
// (a tensor's values, dequantized, one row per line).
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

// --- metadata values -----------------------------------------------------------------------------
static void json_double(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) { break; }
    }
    fputs(buf, f);
}

// One value as JSON (arrays as arrays, recursively). max_elems limits arrays (-1: all).
static void print_value(FILE *f, const wick_gguf_value *v, int64_t max_elems)
{
    int64_t i64;
    uint64_t u64;
    double d;
    const char *s;
    size_t len;
    switch (wick_gguf_value_type(v)) {
    case WICK_GGUF_BOOL:
        wick_gguf_value_uint(v, &u64);
        fputs(u64 ? "true" : "false", f);
        break;
    case WICK_GGUF_UINT8: case WICK_GGUF_UINT16: case WICK_GGUF_UINT32: case WICK_GGUF_UINT64:
        wick_gguf_value_uint(v, &u64);
        fprintf(f, "%" PRIu64, u64);
        break;
    case WICK_GGUF_INT8: case WICK_GGUF_INT16: case WICK_GGUF_INT32: case WICK_GGUF_INT64:
        wick_gguf_value_int(v, &i64);
        fprintf(f, "%" PRId64, i64);
        break;
    case WICK_GGUF_FLOAT32:
        wick_gguf_value_float(v, &d);
        cli_json_float(f, (float)d);
        break;
    case WICK_GGUF_FLOAT64:
        wick_gguf_value_float(v, &d);
        json_double(f, d);
        break;
    case WICK_GGUF_STRING:
        wick_gguf_value_str(v, &s, &len);
        if (max_elems >= 0 && len > 80) {
            cli_json_string(f, s, 77);
            fprintf(f, "... (%zu bytes)", len);
        } else {
            cli_json_string(f, s, len);
        }
        break;
    case WICK_GGUF_ARRAY: {
        uint64_t n = wick_gguf_array_len(v);
        fputc('[', f);
        for (uint64_t i = 0; i < n; i++) {
            if (max_elems >= 0 && i >= (uint64_t)max_elems) {
                fprintf(f, ", ... (%" PRIu64 " in all)", n);
                break;
            }
            if (i) { fputc(',', f); }
            if (i && max_elems >= 0) { fputc(' ', f); }
            print_value(f, wick_gguf_array_at(v, i), max_elems);
        }
        fputc(']', f);
        break;
    }
    default:
        fputs("null", f);
        break;
    }
}

// --- totals --------------------------------------------------------------------------------------
typedef struct type_total {
    int64_t tensors;
    uint64_t params;
    uint64_t bytes;
} type_total;

static uint64_t n_elems(const wick_tensor_info *t)
{
    uint64_t n = 1;
    for (int d = 0; d < t->n_dims; d++) {
        n *= (uint64_t)t->ne[d];
    }
    return n;
}

static void totals(const wick_gguf *g, type_total *by_type, type_total *all)
{
    memset(by_type, 0, sizeof(type_total) * WICK_DTYPE_COUNT);
    memset(all, 0, sizeof *all);
    for (int64_t i = 0; i < wick_gguf_n_tensors(g); i++) {
        wick_tensor_info t;
        if (wick_gguf_tensor(g, i, &t) < 0) { continue; }
        type_total *tt = &by_type[t.type];
        tt->tensors++;
        tt->params += n_elems(&t);
        tt->bytes += t.bytes;
        all->tensors++;
        all->params += n_elems(&t);
        all->bytes += t.bytes;
    }
}

// --- memory estimates ----------------------------------------------------------------------------
// An integer key "ARCH.suffix", or element layer of it when it is a per-layer array.
static bool arch_int(const wick_gguf *g, const char *arch, const char *suffix, int64_t layer,
                     int64_t *out)
{
    char key[256];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t i = wick_gguf_find_kv(g, key);
    if (i < 0) { return false; }
    const wick_gguf_value *v = wick_gguf_kv_value(g, i);
    if (wick_gguf_value_type(v) == WICK_GGUF_ARRAY) {
        v = wick_gguf_array_at(v, (uint64_t)layer);
        if (!v) { return false; }
    }
    return wick_gguf_value_int(v, out) == WICK_OK;
}

// Bytes of K/V cache one token takes in float32 (0 when the metadata does not say): per layer,
// n_head_kv * (key_length + value_length); for deepseek2 (MLA) the cached latent,
// kv_lora_rank + the RoPE dimensions.
static uint64_t kv_bytes_per_token(const wick_gguf *g)
{
    const char *arch = NULL;
    if (wick_gguf_get_str(g, "general.architecture", &arch, NULL) != WICK_OK) { return 0; }
    int64_t n_layer = 0, n_embd = 0;
    if (!arch_int(g, arch, "block_count", 0, &n_layer) ||
        !arch_int(g, arch, "embedding_length", 0, &n_embd) || n_layer <= 0 || n_layer > 100000) {
        return 0;
    }
    uint64_t total = 0;
    for (int64_t l = 0; l < n_layer; l++) {
        int64_t n_head = 0, n_head_kv = 0, kl = 0, vl = 0, rank = 0, rot = 0;
        if (strcmp(arch, "deepseek2") == 0 && arch_int(g, arch, "attention.kv_lora_rank", l, &rank)
            && arch_int(g, arch, "rope.dimension_count", l, &rot)) {
            total += (uint64_t)(rank + rot) * 4;
            continue;
        }
        if (!arch_int(g, arch, "attention.head_count", l, &n_head) || n_head <= 0) { return 0; }
        if (!arch_int(g, arch, "attention.head_count_kv", l, &n_head_kv)) { n_head_kv = n_head; }
        if (!arch_int(g, arch, "attention.key_length", l, &kl)) { kl = n_embd / n_head; }
        if (!arch_int(g, arch, "attention.value_length", l, &vl)) { vl = n_embd / n_head; }
        if (n_head_kv < 0 || kl < 0 || vl < 0) { return 0; }
        total += (uint64_t)n_head_kv * (uint64_t)(kl + vl) * 4;
    }
    return total;
}

// --- wick info -----------------------------------------------------------------------------------
static void info_json(const wick_gguf *g)
{
    FILE *f = stdout;
    fprintf(f, "{\"version\":%" PRIu32 ",\"alignment\":%zu,\"shards\":[", wick_gguf_version(g),
            wick_gguf_alignment(g));
    for (int s = 0; s < wick_gguf_n_shards(g); s++) {
        const char *p = wick_gguf_shard_path(g, s);
        if (s) { fputc(',', f); }
        cli_json_string(f, p, strlen(p));
    }
    fputs("],\"metadata\":{", f);
    for (int64_t i = 0; i < wick_gguf_n_kv(g); i++) {
        const char *k = wick_gguf_kv_key(g, i);
        if (i) { fputc(',', f); }
        cli_json_string(f, k, strlen(k));
        fputc(':', f);
        print_value(f, wick_gguf_kv_value(g, i), -1);
    }
    fputs("},\"tensors\":[", f);
    for (int64_t i = 0; i < wick_gguf_n_tensors(g); i++) {
        wick_tensor_info t;
        if (wick_gguf_tensor(g, i, &t) < 0) { continue; }
        if (i) { fputc(',', f); }
        fputs("{\"name\":", f);
        cli_json_string(f, t.name, strlen(t.name));
        fprintf(f, ",\"type\":\"%s\",\"shape\":[", wick_dtype_name(t.type));
        for (int d = 0; d < t.n_dims; d++) {
            fprintf(f, "%s%" PRId64, d ? "," : "", t.ne[d]);
        }
        fprintf(f, "],\"offset\":%" PRIu64 ",\"bytes\":%zu,\"shard\":%d}", t.offset, t.bytes,
                t.shard);
    }
    type_total by_type[WICK_DTYPE_COUNT], all;
    totals(g, by_type, &all);
    fputs("],\"types\":{", f);
    bool first = true;
    for (int ty = 0; ty < WICK_DTYPE_COUNT; ty++) {
        if (!by_type[ty].tensors) { continue; }
        fprintf(f, "%s\"%s\":{\"tensors\":%" PRId64 ",\"params\":%" PRIu64 ",\"bytes\":%" PRIu64
                "}", first ? "" : ",", wick_dtype_name(ty), by_type[ty].tensors,
                by_type[ty].params, by_type[ty].bytes);
        first = false;
    }
    fprintf(f, "},\"n_tensors\":%" PRId64 ",\"n_params\":%" PRIu64 ",\"bytes\":%" PRIu64,
            all.tensors, all.params, all.bytes);
    uint64_t kv = kv_bytes_per_token(g);
    if (kv) {
        fprintf(f, ",\"kv_cache_bytes_per_token\":{\"f32\":%" PRIu64 ",\"f16\":%" PRIu64 "}", kv,
                kv / 2);
    } else {
        fputs(",\"kv_cache_bytes_per_token\":null", f);
    }
    fputs("}\n", f);
}

static void info_text(const wick_gguf *g)
{
    FILE *f = stdout;
    int ns = wick_gguf_n_shards(g);
    fprintf(f, "file:       %s\n", wick_gguf_shard_path(g, 0));
    for (int s = 1; s < ns; s++) {
        fprintf(f, "            %s\n", wick_gguf_shard_path(g, s));
    }
    fprintf(f, "version:    %" PRIu32 "\nalignment:  %zu\nmetadata:   %" PRId64 " keys\n",
            wick_gguf_version(g), wick_gguf_alignment(g), wick_gguf_n_kv(g));
    for (int64_t i = 0; i < wick_gguf_n_kv(g); i++) {
        const wick_gguf_value *v = wick_gguf_kv_value(g, i);
        wick_gguf_type t = wick_gguf_value_type(v);
        char ty[48];
        if (t == WICK_GGUF_ARRAY) {
            const char *et = wick_gguf_type_name(wick_gguf_array_type(v));
            snprintf(ty, sizeof ty, "%s[%" PRIu64 "]", et ? et : "?", wick_gguf_array_len(v));
        } else {
            snprintf(ty, sizeof ty, "%s", wick_gguf_type_name(t));
        }
        fprintf(f, "  %-44s %-14s ", wick_gguf_kv_key(g, i), ty);
        print_value(f, v, 8);
        fputc('\n', f);
    }
    fprintf(f, "tensors:    %" PRId64 "\n", wick_gguf_n_tensors(g));
    fprintf(f, "  %-40s %-7s %-24s %12s %12s%s\n", "name", "type", "shape", "offset", "bytes",
            ns > 1 ? "  shard" : "");
    for (int64_t i = 0; i < wick_gguf_n_tensors(g); i++) {
        wick_tensor_info t;
        if (wick_gguf_tensor(g, i, &t) < 0) { continue; }
        char shape[96];
        size_t n = 0;
        shape[0] = '\0';
        for (int d = 0; d < t.n_dims && n < sizeof shape; d++) {
            n += (size_t)snprintf(shape + n, sizeof shape - n, "%s%" PRId64, d ? " x " : "",
                                  t.ne[d]);
        }
        fprintf(f, "  %-40s %-7s %-24s %12" PRIu64 " %12zu", t.name, wick_dtype_name(t.type),
                shape, t.offset, t.bytes);
        if (ns > 1) { fprintf(f, "  %d", t.shard + 1); }
        fputc('\n', f);
    }
    type_total by_type[WICK_DTYPE_COUNT], all;
    totals(g, by_type, &all);
    fprintf(f, "totals by type:\n");
    for (int ty = 0; ty < WICK_DTYPE_COUNT; ty++) {
        if (!by_type[ty].tensors) { continue; }
        fprintf(f, "  %-7s %5" PRId64 " tensors %14" PRIu64 " params %14" PRIu64 " bytes\n",
                wick_dtype_name(ty), by_type[ty].tensors, by_type[ty].params, by_type[ty].bytes);
    }
    fprintf(f, "parameters: %" PRIu64 "\nweights:    %" PRIu64 " bytes (%.1f MiB)\n", all.params,
            all.bytes, (double)all.bytes / (1024.0 * 1024.0));
    uint64_t kv = kv_bytes_per_token(g);
    if (kv) {
        fprintf(f, "kv cache:   %" PRIu64 " bytes per token in f32 (%" PRIu64 " in f16)\n", kv,
                kv / 2);
    }
}

static int run_info(int argc, char **argv);
const cli_command cli_cmd_info = {
    "info", run_info,
    "usage: wick info FILE.gguf [--json]\n"
    "\n"
    "Prints a GGUF file's metadata, its tensors (name, type, shape, offset in the data section,\n"
    "bytes), totals by type and the parameter count. Given one shard of a split model\n"
    "(NAME-00001-of-00003.gguf), reads all shards as one model.\n"
    "\n"
    "  --json   one JSON object: {\"version\", \"metadata\": {key: value},\n"
    "           \"tensors\": [{\"name\", \"type\", \"shape\", \"offset\", \"bytes\", \"shard\"}],\n"
    "           \"types\", \"n_params\", ...}\n",
    "show a GGUF file's metadata and tensors",
};

static int run_info(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage(&cli_cmd_info, "unknown option '%s'", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return cli_usage(&cli_cmd_info, "one FILE only ('%s' is extra)", argv[i]);
        }
    }
    if (!path) { return cli_usage(&cli_cmd_info, "missing FILE.gguf"); }
    wick_gguf *g;
    wick_status rc = wick_gguf_open(path, &g);
    if (rc < 0) { return cli_fail_lib(rc, path); }
    if (json) {
        info_json(g);
    } else {
        info_text(g);
    }
    wick_gguf_close(g);
    return fflush(stdout) == 0 ? CLI_OK : cli_fail("info: cannot write the output");
}

// --- wick tensor ---------------------------------------------------------------------------------
static void text_float(FILE *f, float v)
{
    if (isnan(v)) {
        fputs("nan", f);
    } else if (isinf(v)) {
        fputs(v > 0 ? "inf" : "-inf", f);
    } else {
        cli_json_float(f, v);
    }
}

// Parses "A:B" (either side may be empty: 0 and the end).
static bool parse_rows(const char *s, int64_t *a, int64_t *b, bool *has_b)
{
    const char *colon = strchr(s, ':');
    if (!colon) { return false; }
    char left[32];
    size_t n = (size_t)(colon - s);
    if (n >= sizeof left) { return false; }
    memcpy(left, s, n);
    left[n] = '\0';
    *a = 0;
    *has_b = false;
    if (n > 0 && !cli_parse_i64(left, 0, INT64_MAX, a)) { return false; }
    if (colon[1] != '\0') {
        if (!cli_parse_i64(colon + 1, 0, INT64_MAX, b)) { return false; }
        *has_b = true;
    }
    return true;
}

static int run_tensor(int argc, char **argv);
const cli_command cli_cmd_tensor = {
    "tensor", run_tensor,
    "usage: wick tensor FILE.gguf NAME [--rows A:B] [--json]\n"
    "\n"
    "Prints a tensor's values dequantized to float32, one row (ne0 values) per line.\n"
    "\n"
    "  --rows A:B  only rows A to B-1 (0-based, half-open: 0:2 = rows 0 and 1; rows count over\n"
    "              all dimensions above the first). Default: all rows.\n"
    "  --json      one JSON array of rows, each an array of floats.\n",
    "print a tensor's values, dequantized",
};

static int run_tensor(int argc, char **argv)
{
    const char *path = NULL, *name = NULL, *rows = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--rows") == 0) {
            if (i + 1 >= argc) { return cli_usage(&cli_cmd_tensor, "--rows needs A:B"); }
            rows = argv[++i];
        } else if (strncmp(argv[i], "--rows=", 7) == 0) {
            rows = argv[i] + 7;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage(&cli_cmd_tensor, "unknown option '%s'", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else if (!name) {
            name = argv[i];
        } else {
            return cli_usage(&cli_cmd_tensor, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!path || !name) { return cli_usage(&cli_cmd_tensor, "needs FILE.gguf and a tensor NAME"); }
    int64_t r0 = 0, r1 = 0;
    bool has_r1 = false;
    if (rows && !parse_rows(rows, &r0, &r1, &has_r1)) {
        return cli_usage(&cli_cmd_tensor, "--rows '%s': expected A:B with 0 <= A <= B", rows);
    }
    if (has_r1 && r1 < r0) {
        return cli_usage(&cli_cmd_tensor, "--rows '%s': expected A:B with 0 <= A <= B", rows);
    }
    wick_gguf *g;
    wick_status rc = wick_gguf_open(path, &g);
    if (rc < 0) { return cli_fail_lib(rc, path); }
    int ret = CLI_OK;
    float *buf = NULL;
    int64_t idx = wick_gguf_find_tensor(g, name);
    if (idx < 0) {
        ret = cli_fail("%s: no tensor named '%s'", path, name);
        goto done;
    }
    wick_tensor_info t;
    rc = wick_gguf_tensor(g, idx, &t);
    if (rc < 0) {
        ret = cli_fail_lib(rc, path);
        goto done;
    }
    int64_t n_rows = t.ne[1] * t.ne[2] * t.ne[3];
    if (!has_r1) { r1 = n_rows; }
    if (r0 > n_rows || r1 > n_rows) {
        ret = cli_fail("%s: tensor '%s': rows %" PRId64 ":%" PRId64 " out of range (it has %"
                       PRId64 " rows)", path, name, r0, r1, n_rows);
        goto done;
    }
    int64_t ne0 = t.ne[0];
    // Dequantize in chunks of about a million values.
    int64_t chunk = ne0 > 0 ? (int64_t)(1 << 20) / ne0 : 1;
    if (chunk < 1) { chunk = 1; }
    if (r1 > r0 && ne0 > 0) {
        buf = malloc((size_t)(chunk * ne0) * sizeof *buf);
        if (!buf) {
            ret = cli_fail("%s: out of memory", path);
            goto done;
        }
    }
    if (json) { fputc('[', stdout); }
    for (int64_t r = r0; r < r1; r += chunk) {
        int64_t e = r + chunk < r1 ? r + chunk : r1;
        rc = wick_gguf_tensor_rows(g, idx, r, e, buf);
        if (rc < 0) {
            if (json) { fputs("]\n", stdout); }
            ret = cli_fail_lib(rc, path);
            goto done;
        }
        for (int64_t k = r; k < e; k++) {
            const float *row = buf ? buf + (k - r) * ne0 : NULL;
            if (json) {
                fputs(k > r0 ? ",[" : "[", stdout);
            }
            for (int64_t j = 0; j < ne0; j++) {
                if (j) { fputc(json ? ',' : ' ', stdout); }
                if (json) {
                    cli_json_float(stdout, row[j]);
                } else {
                    text_float(stdout, row[j]);
                }
            }
            fputs(json ? "]" : "\n", stdout);
        }
    }
    if (json) { fputs("]\n", stdout); }
    if (fflush(stdout) != 0) { ret = cli_fail("tensor: cannot write the output"); }
done:
    free(buf);
    wick_gguf_close(g);
    return ret;
}
