// test_gguf.c — the GGUF reader against every fixture model's table (tests/data/meta, read with
// gguf-py), typed accessors, the writer (round trips, byte-identical rewrites of the fixtures,
// GGUF v2, alignment, fill callbacks), split models, and an allocation-failure sweep.
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "gguf/gguf.h"
#include "harness.h"

static const char *const models[] = {
    "llama-F32",     "llama-F16",      "llama-BF16",   "llama-Q8_0",         "llama-Q4_K_M",
    "phi3-F32",      "phi3-Q4_K_M",    "phi3-Q3_K_M",  "phi3-Q5_0",          "phi3-Q4_0",
    "deepseek2-F32", "deepseek2-Q4_K_M", "deepseek2-Q5_K_M", "deepseek2-Q2_K", "deepseek2-Q6_K",
};

static char model_path[4096];

static const char *model(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s.gguf", name);
    snprintf(model_path, sizeof model_path, "%s", test_data(rel));
    return model_path;
}

static json_t *load_meta(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "meta/%s.json", name);
    json_error_t e;
    json_t *j = json_load_file(test_data(rel), 0, &e);
    CHECKF(j != NULL, "%s: %s", rel, e.text);
    return j;
}

// --- the fixtures --------------------------------------------------------------------------------
static void check_against_meta(const char *name)
{
    json_t *meta = load_meta(name);
    wick_gguf *g = NULL;
    CHECK_OK(wick_gguf_open(model(name), &g));
    if (!meta || !g) {
        json_decref(meta);
        wick_gguf_close(g);
        return;
    }
    CHECK(wick_gguf_version(g) == 3);
    CHECK(wick_gguf_n_shards(g) == 1);
    CHECK(wick_gguf_alignment(g) == 32);
    json_t *tensors = json_object_get(meta, "tensors");
    CHECKF(wick_gguf_n_tensors(g) == (int64_t)json_array_size(tensors), "%s: %lld tensors", name,
           (long long)wick_gguf_n_tensors(g));
    CHECK(json_integer_value(json_object_get(meta, "n_tensors")) == wick_gguf_n_tensors(g));
    size_t i;
    json_t *jt;
    json_array_foreach(tensors, i, jt) {
        wick_tensor_info t;
        if (wick_gguf_tensor(g, (int64_t)i, &t) < 0) {
            CHECK(false);
            continue;
        }
        const char *jname = json_string_value(json_object_get(jt, "name"));
        CHECKF(strcmp(t.name, jname) == 0, "%s: tensor %zu is '%s', meta says '%s'", name, i,
               t.name, jname);
        CHECK(wick_gguf_find_tensor(g, jname) == (int64_t)i);
        CHECKF(strcmp(wick_dtype_name(t.type), json_string_value(json_object_get(jt, "type"))) == 0,
               "%s: %s type %s", name, t.name, wick_dtype_name(t.type));
        json_t *shape = json_object_get(jt, "shape");
        CHECK(t.n_dims == (int)json_array_size(shape));
        for (int d = 0; d < t.n_dims; d++) {
            CHECK(t.ne[d] == json_integer_value(json_array_get(shape, (size_t)d)));
        }
        CHECK(t.offset == (uint64_t)json_integer_value(json_object_get(jt, "offset")));
        CHECK(t.bytes == (size_t)json_integer_value(json_object_get(jt, "bytes")));
        CHECK(t.shard == 0 && t.data != NULL);
    }
    // Metadata keys (meta lists them sorted): every one found, and no others.
    json_t *keys = json_object_get(meta, "metadata_keys");
    CHECK(wick_gguf_n_kv(g) == (int64_t)json_array_size(keys));
    json_array_foreach(keys, i, jt) {
        int64_t k = wick_gguf_find_kv(g, json_string_value(jt));
        CHECKF(k >= 0 && strcmp(wick_gguf_kv_key(g, k), json_string_value(jt)) == 0, "%s: key %s",
               name, json_string_value(jt));
    }
    // Rows 0 and 1 of one tensor per type, dequantized, bit for bit.
    json_t *samples = json_object_get(meta, "samples");
    json_array_foreach(samples, i, jt) {
        const char *tn = json_string_value(json_object_get(jt, "name"));
        int64_t ti = wick_gguf_find_tensor(g, tn);
        wick_tensor_info t;
        if (ti < 0 || wick_gguf_tensor(g, ti, &t) < 0) {
            CHECKF(false, "%s: sample tensor %s", name, tn);
            continue;
        }
        json_t *jrows = json_object_get(jt, "rows");
        size_t nr = json_array_size(jrows);
        CHECK(nr >= 1 && nr <= 2);
        float *rows = malloc(sizeof(float) * 2 * (size_t)t.ne[0]);
        CHECK_OK(wick_gguf_tensor_rows(g, ti, 0, (int64_t)nr, rows));
        int bad = 0;
        for (size_t r = 0; r < nr; r++) {
            json_t *row = json_array_get(jrows, r);
            CHECK((int64_t)json_array_size(row) == t.ne[0]);
            for (int64_t c = 0; c < t.ne[0] && c < (int64_t)json_array_size(row); c++) {
                float want = (float)json_number_value(json_array_get(row, (size_t)c));
                float got = rows[r * (size_t)t.ne[0] + (size_t)c];
                if (memcmp(&want, &got, 4) != 0) { bad++; }
            }
        }
        CHECKF(bad == 0, "%s: %s (%s): %d values differ", name, tn, wick_dtype_name(t.type), bad);
        free(rows);
    }
    json_decref(meta);
    wick_gguf_close(g);
}

static void test_fixtures(void)
{
    for (size_t i = 0; i < WK_ARRAY_LEN(models); i++) {
        check_against_meta(models[i]);
    }
}

// --- typed accessors -----------------------------------------------------------------------------
static void test_accessors(void)
{
    wick_gguf *g = NULL;
    CHECK_OK(wick_gguf_open(model("llama-Q8_0"), &g));
    if (!g) { return; }
    uint64_t u = 0;
    int64_t i = 0;
    double d = 0;
    bool b = false;
    const char *s = NULL;
    size_t len = 0;
    CHECK_OK(wick_gguf_get_uint(g, "llama.block_count", &u));
    CHECK(u == 2);
    CHECK_OK(wick_gguf_get_int(g, "llama.embedding_length", &i));
    CHECK(i == 256);
    CHECK_OK(wick_gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &d));
    CHECK(d == (double)1e-5f);
    CHECK_OK(wick_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b));
    CHECK(b);
    CHECK_OK(wick_gguf_get_str(g, "general.architecture", &s, &len));
    CHECK(s && strcmp(s, "llama") == 0 && len == 5);
    CHECK_FAIL(wick_gguf_get_uint(g, "llama.no_such_key", &u), WICK_E_NOT_FOUND,
               "llama-Q8_0.gguf: metadata key 'llama.no_such_key' not found");
    CHECK_FAIL(wick_gguf_get_str(g, "llama.block_count", &s, &len), WICK_E_TYPE,
               "metadata key 'llama.block_count': a uint32 2, expected a string");
    CHECK_FAIL(wick_gguf_get_float(g, "general.architecture", &d), WICK_E_TYPE, "expected a float");
    CHECK_FAIL(wick_gguf_get_int(g, "general.architecture", &i), WICK_E_TYPE, "a string");
    CHECK_FAIL(wick_gguf_get_bool(g, "llama.block_count", &b), WICK_E_TYPE, "expected a bool");
    CHECK(wick_gguf_find_kv(g, "nope") == -1 && wick_gguf_find_tensor(g, "nope") == -1);
    const wick_gguf_value *toks = NULL;
    CHECK_OK(wick_gguf_get_array(g, "tokenizer.ggml.tokens", &toks));
    CHECK(wick_gguf_array_len(toks) == 1536 && wick_gguf_array_type(toks) == WICK_GGUF_STRING);
    CHECK_OK(wick_gguf_value_str(wick_gguf_array_at(toks, 0), &s, &len));
    CHECK(len == 1 && s[0] == '!');
    CHECK(wick_gguf_array_at(toks, 1536) == NULL);
    CHECK_FAIL(wick_gguf_value_int(toks, &i), WICK_E_TYPE, "a array, expected an int64");
    CHECK_FAIL(wick_gguf_get_array(g, "general.architecture", &toks), WICK_E_TYPE, "an array");
    CHECK(wick_gguf_array_len(wick_gguf_kv_value(g, 0)) == 0);
    CHECK(wick_gguf_array_type(wick_gguf_kv_value(g, 0)) == -1);
    CHECK(wick_gguf_kv_key(g, -1) == NULL && wick_gguf_kv_key(g, 999) == NULL);
    CHECK(strcmp(wick_gguf_type_name(WICK_GGUF_FLOAT64), "float64") == 0);
    CHECK(wick_gguf_type_name(13) == NULL && wick_gguf_type_name(-1) == NULL);
    wick_tensor_info t;
    CHECK_FAIL(wick_gguf_tensor(g, 20, &t), WICK_E_INVALID, "tensor index 20 out of range");
    int64_t ti = wick_gguf_find_tensor(g, "blk.0.attn_k.weight");
    float row[256];
    CHECK_FAIL(wick_gguf_tensor_rows(g, ti, 63, 65, row), WICK_E_RANGE,
               "tensor 'blk.0.attn_k.weight': rows 63:65 out of range (it has 64 rows)");
    CHECK_FAIL(wick_gguf_tensor_rows(g, ti, 2, 1, row), WICK_E_RANGE, "out of range");
    CHECK_OK(wick_gguf_tensor_rows(g, ti, 63, 64, row));
    CHECK_OK(wick_gguf_tensor_rows(g, ti, 5, 5, NULL));
    wick_gguf_close(g);
    wick_gguf_close(NULL);

    wick_gguf *out = (wick_gguf *)1;
    CHECK_FAIL(wick_gguf_open(test_data("models/none.gguf"), &out), WICK_E_NOT_FOUND,
               "none.gguf: cannot open");
    CHECK(out == NULL);
    CHECK_FAIL(wick_gguf_open(test_data("models"), &out), WICK_E_IO, "not a regular file");
    CHECK_FAIL(wick_gguf_open(test_data("README.md"), &out), WICK_E_FORMAT, "not a GGUF file");
}

// --- writer --------------------------------------------------------------------------------------
static char tmp[4096];

static const char *tmp_path(const char *name)
{
    static char p[4400];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    return p;
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

typedef struct fill_ctx {
    int calls;
    int fail_at;
} fill_ctx;

static wick_status fill_pattern(void *ud, int64_t tensor, void *dst, size_t bytes)
{
    fill_ctx *c = ud;
    c->calls++;
    if (c->fail_at >= 0 && tensor == c->fail_at) { return WICK_E_CANCELLED; }
    for (size_t i = 0; i < bytes; i++) {
        ((uint8_t *)dst)[i] = (uint8_t)(tensor * 31 + (int64_t)i);
    }
    return WICK_OK;
}

static void test_writer_roundtrip(void)
{
    for (int version = 2; version <= 3; version++) {
        for (size_t align = 32; align <= 64; align *= 2) {
            wick_gguf_writer *w = NULL;
            CHECK_OK(wick_gguf_writer_create(&w));
            if (!w) { return; }
            CHECK_OK(wick_gguf_writer_set_version(w, (uint32_t)version));
            CHECK_OK(wick_gguf_writer_set_alignment(w, align));
            uint8_t u8 = 200;
            int8_t i8 = -100;
            uint16_t u16 = 60000;
            int16_t i16 = -30000;
            int32_t i32 = -2000000000;
            uint64_t u64 = UINT64_MAX;
            int64_t i64 = INT64_MIN;
            double f64 = 0.1;
            CHECK_OK(wick_gguf_writer_add_scalar(w, "t.u8", WICK_GGUF_UINT8, &u8));
            CHECK_OK(wick_gguf_writer_add_scalar(w, "t.i8", WICK_GGUF_INT8, &i8));
            CHECK_OK(wick_gguf_writer_add_scalar(w, "t.u16", WICK_GGUF_UINT16, &u16));
            CHECK_OK(wick_gguf_writer_add_scalar(w, "t.i16", WICK_GGUF_INT16, &i16));
            CHECK_OK(wick_gguf_writer_add_u32(w, "t.u32", 4000000000u));
            CHECK_OK(wick_gguf_writer_add_scalar(w, "t.i32", WICK_GGUF_INT32, &i32));
            CHECK_OK(wick_gguf_writer_add_f32(w, "t.f32", 0.1f));
            CHECK_OK(wick_gguf_writer_add_bool(w, "t.bool", true));
            CHECK_OK(wick_gguf_writer_add_str(w, "t.str", "héllo"));
            CHECK_OK(wick_gguf_writer_add_scalar(w, "t.u64", WICK_GGUF_UINT64, &u64));
            CHECK_OK(wick_gguf_writer_add_scalar(w, "t.i64", WICK_GGUF_INT64, &i64));
            CHECK_OK(wick_gguf_writer_add_scalar(w, "t.f64", WICK_GGUF_FLOAT64, &f64));
            const char *strs[] = {"a", "", "ccc"};
            CHECK_OK(wick_gguf_writer_add_array(w, "t.strs", WICK_GGUF_STRING, strs, 3));
            float fs[] = {1.5f, -2.0f};
            CHECK_OK(wick_gguf_writer_add_array(w, "t.f32s", WICK_GGUF_FLOAT32, fs, 2));
            bool bs[] = {true, false, true};
            CHECK_OK(wick_gguf_writer_add_array(w, "t.bools", WICK_GGUF_BOOL, bs, 3));
            CHECK_OK(wick_gguf_writer_add_array(w, "t.empty", WICK_GGUF_INT64, NULL, 0));
            CHECK_FAIL(wick_gguf_writer_add_u32(w, "t.u8", 1), WICK_E_INVALID, "added twice");
            CHECK_FAIL(wick_gguf_writer_add_array(w, "t.x", WICK_GGUF_ARRAY, fs, 1),
                       WICK_E_INVALID, "bad array");
            uint8_t q8[2 * 34];
            for (size_t k = 0; k < sizeof q8; k++) {
                q8[k] = (uint8_t)k;
            }
            CHECK_OK(wick_gguf_writer_add_tensor(w, "q", WICK_DTYPE_Q8_0, 2,
                                                 (int64_t[]){32, 2}, q8));
            CHECK_OK(wick_gguf_writer_add_tensor(w, "f", WICK_DTYPE_F32, 3,
                                                 (int64_t[]){3, 1, 5}, NULL));
            CHECK_OK(wick_gguf_writer_add_tensor(w, "k", WICK_DTYPE_Q4_K, 1, (int64_t[]){512},
                                                 NULL));
            CHECK_FAIL(wick_gguf_writer_add_tensor(w, "q", WICK_DTYPE_F32, 1, (int64_t[]){1},
                                                   NULL), WICK_E_INVALID, "added twice");
            CHECK_FAIL(wick_gguf_writer_add_tensor(w, "z", WICK_DTYPE_Q4_K, 1, (int64_t[]){32},
                                                   NULL), WICK_E_INVALID, "not a multiple");
            CHECK_FAIL(wick_gguf_writer_add_tensor(w, "z", WICK_DTYPE_F32, 5,
                                                   (int64_t[]){1, 1, 1, 1, 1}, NULL),
                       WICK_E_INVALID, "n_dims 5");
            CHECK_FAIL(wick_gguf_writer_add_tensor(w, "z", 4, 1, (int64_t[]){1}, NULL),
                       WICK_E_INVALID, "type 4");
            const char *p = tmp_path("rt.gguf");
            CHECK_FAIL(wick_gguf_writer_write(w, p, NULL, NULL), WICK_E_INVALID,
                       "tensor 'f' has no data");
            fill_ctx fc = {0, 2};
            CHECK_FAIL(wick_gguf_writer_write(w, p, fill_pattern, &fc), WICK_E_CANCELLED,
                       "tensor 'k': the fill callback failed");
            CHECK(!file_exists(p) && !file_exists(tmp_path("rt.gguf.tmp")));
            fc = (fill_ctx){0, -1};
            CHECK_OK(wick_gguf_writer_write(w, p, fill_pattern, &fc));
            CHECK(fc.calls == 2);
            wick_gguf_writer_destroy(w);

            wick_gguf *g = NULL;
            CHECK_OK(wick_gguf_open(p, &g));
            if (!g) { continue; }
            CHECK(wick_gguf_version(g) == (uint32_t)version);
            CHECK(wick_gguf_alignment(g) == align);
            CHECK(wick_gguf_n_kv(g) == (align == 32 ? 16 : 17));
            uint64_t u = 0;
            int64_t i = 0;
            double d = 0;
            bool b = false;
            const char *s = NULL;
            size_t len = 0;
            if (align != 32) {
                CHECK_OK(wick_gguf_get_uint(g, "general.alignment", &u));
                CHECK(u == align);
            }
            CHECK_OK(wick_gguf_get_uint(g, "t.u8", &u));
            CHECK(u == 200);
            CHECK_OK(wick_gguf_get_int(g, "t.i8", &i));
            CHECK(i == -100);
            CHECK_OK(wick_gguf_get_uint(g, "t.u16", &u));
            CHECK(u == 60000);
            CHECK_OK(wick_gguf_get_int(g, "t.i16", &i));
            CHECK(i == -30000);
            CHECK_OK(wick_gguf_get_int(g, "t.u32", &i));
            CHECK(i == 4000000000);
            CHECK_OK(wick_gguf_get_int(g, "t.i32", &i));
            CHECK(i == -2000000000);
            CHECK_OK(wick_gguf_get_float(g, "t.f32", &d));
            CHECK(d == (double)0.1f);
            CHECK_OK(wick_gguf_get_bool(g, "t.bool", &b));
            CHECK(b);
            CHECK_OK(wick_gguf_get_str(g, "t.str", &s, &len));
            CHECK(len == 6 && strcmp(s, "héllo") == 0);
            CHECK_OK(wick_gguf_get_uint(g, "t.u64", &u));
            CHECK(u == UINT64_MAX);
            CHECK_FAIL(wick_gguf_get_int(g, "t.u64", &i), WICK_E_RANGE,
                       "'t.u64': uint64 18446744073709551615 does not fit");
            CHECK_OK(wick_gguf_get_int(g, "t.i64", &i));
            CHECK(i == INT64_MIN);
            CHECK_FAIL(wick_gguf_get_uint(g, "t.i64", &u), WICK_E_RANGE, "does not fit");
            CHECK_OK(wick_gguf_get_float(g, "t.f64", &d));
            CHECK(d == 0.1);
            const wick_gguf_value *a = NULL;
            CHECK_OK(wick_gguf_get_array(g, "t.strs", &a));
            CHECK(wick_gguf_array_len(a) == 3);
            CHECK_OK(wick_gguf_value_str(wick_gguf_array_at(a, 2), &s, &len));
            CHECK(len == 3 && strcmp(s, "ccc") == 0);
            CHECK_OK(wick_gguf_value_str(wick_gguf_array_at(a, 1), &s, &len));
            CHECK(len == 0 && s[0] == '\0');
            CHECK_OK(wick_gguf_get_array(g, "t.f32s", &a));
            CHECK_OK(wick_gguf_value_float(wick_gguf_array_at(a, 1), &d));
            CHECK(d == -2.0);
            CHECK_OK(wick_gguf_get_array(g, "t.bools", &a));
            CHECK_OK(wick_gguf_value_int(wick_gguf_array_at(a, 2), &i));
            CHECK(i == 1 && wick_gguf_array_type(a) == WICK_GGUF_BOOL);
            CHECK_OK(wick_gguf_get_array(g, "t.empty", &a));
            CHECK(wick_gguf_array_len(a) == 0 && wick_gguf_array_type(a) == WICK_GGUF_INT64);
            CHECK(wick_gguf_n_tensors(g) == 3);
            wick_tensor_info t;
            CHECK_OK(wick_gguf_tensor(g, 0, &t));
            CHECK(t.bytes == 68 && memcmp(t.data, q8, 68) == 0 && t.n_dims == 2);
            CHECK_OK(wick_gguf_tensor(g, 1, &t));
            CHECK(t.bytes == 60 && t.offset % align == 0 && t.ne[2] == 5 && t.ne[3] == 1);
            CHECK(((const uint8_t *)t.data)[7] == (uint8_t)(31 + 7));
            float fv[15];
            CHECK_OK(wick_gguf_tensor_rows(g, 1, 0, 5, fv));
            CHECK(memcmp(fv, t.data, 60) == 0);
            CHECK_OK(wick_gguf_tensor(g, 2, &t));
            CHECK(t.bytes == 288 && t.offset % align == 0);
            CHECK(((const uint8_t *)t.data)[287] == (uint8_t)(62 + 287));
            wick_gguf_close(g);
        }
    }
    wick_gguf_writer *w = NULL;
    CHECK_OK(wick_gguf_writer_create(&w));
    CHECK_FAIL(wick_gguf_writer_set_version(w, 1), WICK_E_INVALID, "expected 2 or 3");
    CHECK_FAIL(wick_gguf_writer_set_alignment(w, 48), WICK_E_INVALID, "power of two");
    CHECK_OK(wick_gguf_writer_add_u32(w, "general.alignment", 16));
    CHECK_FAIL(wick_gguf_writer_write(w, tmp_path("bad-align.gguf"), NULL, NULL), WICK_E_INVALID,
               "general.alignment is 16");
    CHECK_OK(wick_gguf_writer_set_alignment(w, 16));
    CHECK_OK(wick_gguf_writer_write(w, tmp_path("align16.gguf"), NULL, NULL));
    wick_gguf_writer_destroy(w);
    wick_gguf_writer_destroy(NULL);
    wick_gguf *g = NULL;
    CHECK_OK(wick_gguf_open(tmp_path("align16.gguf"), &g));
    CHECK(g && wick_gguf_alignment(g) == 16 && wick_gguf_n_kv(g) == 1);
    wick_gguf_close(g);
}

// Types wick can size but not decode (IQ, TQ, ...) open fine; reading their values is an error
// naming the tensor and the type.
static void test_undecodable_type(void)
{
    wick_gguf_writer *w = NULL;
    CHECK_OK(wick_gguf_writer_create(&w));
    if (!w) { return; }
    uint8_t blocks[2 * 66] = {0};
    CHECK_OK(wick_gguf_writer_add_tensor(w, "iq", 16, 2, (int64_t[]){256, 2}, blocks));
    CHECK_OK(wick_gguf_writer_write(w, tmp_path("iq.gguf"), NULL, NULL));
    wick_gguf_writer_destroy(w);
    wick_gguf *g = NULL;
    CHECK_OK(wick_gguf_open(tmp_path("iq.gguf"), &g));
    if (!g) { return; }
    wick_tensor_info t;
    CHECK_OK(wick_gguf_tensor(g, 0, &t));
    CHECK(t.type == 16 && t.bytes == 132);
    float row[256];
    CHECK_FAIL(wick_gguf_tensor_rows(g, 0, 0, 1, row), WICK_E_UNSUPPORTED,
               "iq.gguf: tensor 'iq': type IQ2_XXS cannot be decoded");
    wick_gguf_close(g);
    char args[4600];
    snprintf(args, sizeof args, "tensor '%s' iq", tmp_path("iq.gguf"));
    char *err = NULL;
    CHECK(test_run_wick(args, NULL, NULL, &err) == 1);
    CHECK(err && strstr(err, "tensor 'iq': type IQ2_XXS cannot be decoded") != NULL);
    free(err);
}

// Nested arrays survive copy_kv (the writer's add_array takes flat arrays only).
static void test_nested_copy(void)
{
    static const uint8_t raw[] = {
        'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
        1, 0, 0, 0, 0, 0, 0, 0, 'n', 9, 0, 0, 0,   // key "n", ARRAY
        9, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,         // of 2 arrays
        8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 'h', 'i', // ["hi"]
        5, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0, // [-1, 7]
    };
    char src[4400];
    snprintf(src, sizeof src, "%s", tmp_path("nested.gguf"));
    FILE *f = fopen(src, "wb");
    if (!f) { return; }
    fwrite(raw, 1, sizeof raw, f);
    fclose(f);
    wick_gguf *g = NULL;
    CHECK_OK(wick_gguf_open(src, &g));
    if (!g) { return; }
    wick_gguf_writer *w = NULL;
    CHECK_OK(wick_gguf_writer_create(&w));
    CHECK_OK(wick_gguf_writer_copy_kv(w, g, 0));
    CHECK_FAIL(wick_gguf_writer_copy_kv(w, g, 1), WICK_E_INVALID, "bad file or index");
    CHECK_OK(wick_gguf_writer_write(w, tmp_path("nested2.gguf"), NULL, NULL));
    wick_gguf_writer_destroy(w);
    wick_gguf_close(g);
    size_t n1 = 0, n2 = 0;
    char *a = test_slurp(src, &n1), *b = test_slurp(tmp_path("nested2.gguf"), &n2);
    // The copy adds the padding to the (empty) data section; the rest is the same bytes.
    CHECK(a && b && n2 == 96 && n1 == sizeof raw && memcmp(a, b, n1) == 0);
    free(a);
    free(b);
    CHECK_OK(wick_gguf_open(tmp_path("nested2.gguf"), &g));
    const wick_gguf_value *v = NULL;
    if (g) { CHECK_OK(wick_gguf_get_array(g, "n", &v)); }
    int64_t i = 0;
    const char *s = NULL;
    if (v) {
        CHECK(wick_gguf_array_type(v) == WICK_GGUF_ARRAY && wick_gguf_array_len(v) == 2);
        CHECK_OK(wick_gguf_value_str(wick_gguf_array_at(wick_gguf_array_at(v, 0), 0), &s, NULL));
        CHECK_OK(wick_gguf_value_int(wick_gguf_array_at(wick_gguf_array_at(v, 1), 0), &i));
    }
    CHECK(s && strcmp(s, "hi") == 0 && i == -1);
    wick_gguf_close(g);
}

// Rewriting each fixture (its metadata copied, its tensors given as data) gives the same bytes:
// the writer lays files out as gguf-py and llama.cpp do.
static void test_rewrite_identical(void)
{
    for (size_t m = 0; m < WK_ARRAY_LEN(models); m++) {
        wick_gguf *g = NULL;
        CHECK_OK(wick_gguf_open(model(models[m]), &g));
        if (!g) { continue; }
        char src[4096];
        snprintf(src, sizeof src, "%s", model_path);
        wick_gguf_writer *w = NULL;
        CHECK_OK(wick_gguf_writer_create(&w));
        for (int64_t i = 0; i < wick_gguf_n_kv(g); i++) {
            CHECK_OK(wick_gguf_writer_copy_kv(w, g, i));
        }
        for (int64_t i = 0; i < wick_gguf_n_tensors(g); i++) {
            wick_tensor_info t;
            CHECK_OK(wick_gguf_tensor(g, i, &t));
            CHECK_OK(wick_gguf_writer_add_tensor(w, t.name, t.type, t.n_dims, t.ne, t.data));
        }
        const char *out = tmp_path("rewrite.gguf");
        CHECK_OK(wick_gguf_writer_write(w, out, NULL, NULL));
        wick_gguf_writer_destroy(w);
        wick_gguf_close(g);
        size_t n1 = 0, n2 = 0;
        char *a = test_slurp(src, &n1), *b = test_slurp(out, &n2);
        CHECKF(a && b && n1 == n2 && memcmp(a, b, n1) == 0, "%s: rewrite differs (%zu vs %zu "
               "bytes)", models[m], n1, n2);
        free(a);
        free(b);
    }
}

// --- split models --------------------------------------------------------------------------------
// Writes model as n shards NAME-0000k-of-0000n.gguf in tmp: metadata in shard 1 (+ split keys in
// every shard), tensors spread evenly. bad_no: a shard whose split.no is wrong (-1: none).
static void write_shards(const wick_gguf *g, const char *name, int n, int bad_no, int32_t claim)
{
    int64_t nt = wick_gguf_n_tensors(g);
    for (int s = 0; s < n; s++) {
        wick_gguf_writer *w = NULL;
        CHECK_OK(wick_gguf_writer_create(&w));
        if (!w) { return; }
        uint16_t no = (uint16_t)(s == bad_no ? s + 1 : s), count = (uint16_t)n;
        int32_t total = claim >= 0 ? claim : (int32_t)nt;
        CHECK_OK(wick_gguf_writer_add_scalar(w, "split.no", WICK_GGUF_UINT16, &no));
        CHECK_OK(wick_gguf_writer_add_scalar(w, "split.count", WICK_GGUF_UINT16, &count));
        CHECK_OK(wick_gguf_writer_add_scalar(w, "split.tensors.count", WICK_GGUF_INT32, &total));
        for (int64_t i = 0; s == 0 && i < wick_gguf_n_kv(g); i++) {
            CHECK_OK(wick_gguf_writer_copy_kv(w, g, i));
        }
        for (int64_t i = nt * s / n; i < nt * (s + 1) / n; i++) {
            wick_tensor_info t;
            CHECK_OK(wick_gguf_tensor(g, i, &t));
            CHECK_OK(wick_gguf_writer_add_tensor(w, t.name, t.type, t.n_dims, t.ne, t.data));
        }
        char file[300];
        snprintf(file, sizeof file, "%s-%05d-of-%05d.gguf", name, s + 1, n);
        CHECK_OK(wick_gguf_writer_write(w, tmp_path(file), NULL, NULL));
        wick_gguf_writer_destroy(w);
    }
}

static void test_split(void)
{
    wick_gguf *g = NULL;
    CHECK_OK(wick_gguf_open(model("deepseek2-Q4_K_M"), &g));
    if (!g) { return; }
    write_shards(g, "ds", 3, -1, -1);
    for (int given = 1; given <= 3; given++) {
        char file[64];
        snprintf(file, sizeof file, "ds-%05d-of-00003.gguf", given);
        wick_gguf *s = NULL;
        CHECK_OK(wick_gguf_open(tmp_path(file), &s));
        if (!s) { continue; }
        CHECK(wick_gguf_n_shards(s) == 3);
        CHECK(strstr(wick_gguf_shard_path(s, 0), "ds-00001-of-00003.gguf") != NULL);
        CHECK(strstr(wick_gguf_shard_path(s, 2), "ds-00003-of-00003.gguf") != NULL);
        CHECK(wick_gguf_shard_path(s, 3) == NULL);
        CHECK(wick_gguf_n_kv(s) == wick_gguf_n_kv(g) + 3);
        const char *arch = NULL;
        CHECK_OK(wick_gguf_get_str(s, "general.architecture", &arch, NULL));
        CHECK(arch && strcmp(arch, "deepseek2") == 0);
        CHECK(wick_gguf_n_tensors(s) == wick_gguf_n_tensors(g));
        int same = 0, last_shard = 0, monotonic = 1;
        for (int64_t i = 0; i < wick_gguf_n_tensors(g); i++) {
            wick_tensor_info a, b;
            CHECK_OK(wick_gguf_tensor(g, i, &a));
            CHECK_OK(wick_gguf_tensor(s, i, &b));
            same += strcmp(a.name, b.name) == 0 && a.type == b.type && a.bytes == b.bytes &&
                    memcmp(a.data, b.data, a.bytes) == 0 && wick_gguf_find_tensor(s, a.name) == i;
            monotonic &= b.shard >= last_shard;
            last_shard = b.shard;
        }
        CHECK(same == wick_gguf_n_tensors(g) && monotonic && last_shard == 2);
        wick_gguf_close(s);
    }
    // The command line reads it as one model, with shard numbers.
    char args[4600];
    snprintf(args, sizeof args, "info '%s' --json", tmp_path("ds-00002-of-00003.gguf"));
    char *out = NULL;
    CHECK(test_run_wick(args, NULL, &out, NULL) == 0);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    json_t *ts = json_object_get(j, "tensors");
    CHECK(json_array_size(ts) == (size_t)wick_gguf_n_tensors(g));
    CHECK(json_integer_value(json_object_get(json_array_get(ts, json_array_size(ts) - 1),
                                             "shard")) == 2);
    CHECK(json_array_size(json_object_get(j, "shards")) == 3);
    json_decref(j);
    free(out);

    // A missing shard is named.
    write_shards(g, "miss", 3, -1, -1);
    remove(tmp_path("miss-00003-of-00003.gguf"));
    wick_gguf *s = (wick_gguf *)1;
    char want[4600];
    snprintf(want, sizeof want, "%s: missing shard 3 of 3", tmp_path("miss-00003-of-00003.gguf"));
    const char *wantp = want;
    CHECK_FAIL(wick_gguf_open(tmp_path("miss-00001-of-00003.gguf"), &s), WICK_E_NOT_FOUND, wantp);
    CHECK(s == NULL);
    CHECK(strncmp(wick_errmsg(), want, strlen(want)) == 0);
    // Wrong numbering, a wrong tensor count, a name without the pattern.
    write_shards(g, "badno", 2, 1, -1);
    CHECK_FAIL(wick_gguf_open(tmp_path("badno-00001-of-00002.gguf"), &s), WICK_E_FORMAT,
               "expected split.no = 1 and split.count = 2, found 2 and 2");
    write_shards(g, "badcount", 2, -1, 7);
    CHECK_FAIL(wick_gguf_open(tmp_path("badcount-00002-of-00002.gguf"), &s), WICK_E_FORMAT,
               "split.tensors.count is 7 but the 2 shards hold");
    char from[4400];
    snprintf(from, sizeof from, "%s", tmp_path("badcount-00001-of-00002.gguf"));
    rename(from, tmp_path("renamed.gguf"));
    CHECK_FAIL(wick_gguf_open(tmp_path("renamed.gguf"), &s), WICK_E_FORMAT,
               "does not end in -NNNNN-of-NNNNN.gguf");
    snprintf(from, sizeof from, "%s", tmp_path("ds-00001-of-00003.gguf"));
    rename(from, tmp_path("ds-00002-of-00009.gguf"));
    CHECK_FAIL(wick_gguf_open(tmp_path("ds-00002-of-00009.gguf"), &s), WICK_E_FORMAT,
               "the name says shard 2 of 9, the metadata split.no = 0 (shard 1) of split.count "
               "= 3");
    wick_gguf_close(g);
}

// --- threads -------------------------------------------------------------------------------------
// An open file is immutable: threads reading it at once see the same values (checked under ASan).
typedef struct reader_arg {
    const wick_gguf *g;
    double sum;
    int errors;
} reader_arg;

static void *reader_thread(void *p)
{
    reader_arg *a = p;
    static _Thread_local float row[2 * 512];
    for (int64_t i = 0; i < wick_gguf_n_tensors(a->g); i++) {
        wick_tensor_info t;
        if (wick_gguf_tensor(a->g, i, &t) < 0 || t.ne[0] > 512) {
            a->errors++;
            continue;
        }
        int64_t n = t.n_dims > 1 && t.ne[1] >= 2 ? 2 : 1;
        if (wick_gguf_tensor_rows(a->g, i, 0, n, row) < 0) { a->errors++; }
        for (int64_t k = 0; k < n * t.ne[0]; k++) {
            a->sum += row[k];
        }
        a->errors += wick_gguf_find_tensor(a->g, t.name) != i;
    }
    const char *s = NULL;
    a->errors += wick_gguf_get_str(a->g, "general.architecture", &s, NULL) != WICK_OK;
    return NULL;
}

static void test_threads(void)
{
    wick_gguf *g = NULL;
    CHECK_OK(wick_gguf_open(model("phi3-Q3_K_M"), &g));
    if (!g) { return; }
    reader_arg one = {g, 0, 0};
    reader_thread(&one);
    reader_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (reader_arg){g, 0, 0};
        CHECK(pthread_create(&th[i], NULL, reader_thread, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].errors == 0 && args[i].sum == one.sum);
    }
    CHECK(one.errors == 0);
    wick_gguf_close(g);
}

// --- allocation failures -------------------------------------------------------------------------
static void test_alloc_failures(void)
{
    char from[4400];
    snprintf(from, sizeof from, "%s", tmp_path("ds-00002-of-00009.gguf"));
    rename(from, tmp_path("ds-00001-of-00003.gguf"));
    char files[2][4400];
    snprintf(files[0], sizeof files[0], "%s", model("deepseek2-Q2_K"));
    snprintf(files[1], sizeof files[1], "%s", tmp_path("ds-00003-of-00003.gguf"));
    for (size_t k = 0; k < WK_ARRAY_LEN(files); k++) {
        const char *p = files[k];
        int n_fail = 0;
        for (uint64_t n = 1; n < 10000; n++) {
            wk_alloc_fail_after(n);
            wick_gguf *g = NULL;
            wick_status rc = wick_gguf_open(p, &g);
            wk_alloc_fail_after(0);
            if (rc == WICK_OK) {
                CHECK(g != NULL);
                wick_gguf_close(g);
                break;
            }
            n_fail++;
            CHECKF(rc == WICK_E_NOMEM && g == NULL, "allocation %llu: rc %d (%s)",
                   (unsigned long long)n, rc, wick_errmsg());
            if (rc != WICK_E_NOMEM) { break; }
        }
        CHECKF(n_fail > 3, "%s: only %d allocation points", p, n_fail);
    }
}

int main(void)
{
    // (harness.h's test_tmpdir() trips -Wformat-truncation at -O2 here: make the folder directly.)
    const char *bd = getenv("WICK_BUILD_DIR");
    snprintf(tmp, sizeof tmp, "%s/tmp-gguf", bd ? bd : "/tmp");
    mkdir(tmp, 0755);
    test_fixtures();
    test_accessors();
    test_writer_roundtrip();
    test_nested_copy();
    test_undecodable_type();
    test_rewrite_identical();
    test_split();
    test_threads();
    test_alloc_failures();
    return test_summary("gguf");
}
