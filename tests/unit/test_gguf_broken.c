// test_gguf_broken.c — the corpus of broken GGUF files: each must give the right error code and a
// message naming the file and the problem, never a crash (this test also runs under ASan+UBSan).
//
// The corpus is built here from a small valid file whose field offsets are recorded, by patching
// one field at a time (absurd counts and lengths, offsets past EOF, misaligned or overlapping
// data, wrong magic or version, unknown types, duplicates) and by truncating it at every byte.
// Every case is also written to $WICK_BUILD_DIR/gguf-broken-corpus/ (seeds for the fuzzer), and a
// few go through `wick info` to check the command-line error contract.
#include <stdint.h>
#include <sys/stat.h>

#include "gguf/gguf.h"
#include "harness.h"

// --- a byte builder ------------------------------------------------------------------------------
typedef struct bb {
    uint8_t p[4096];
    size_t n;
} bb;

static void put(bb *b, const void *p, size_t n)
{
    if (b->n + n > sizeof b->p) {
        fprintf(stderr, "builder overflow\n");
        exit(2);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void u32(bb *b, uint32_t v)
{
    put(b, &v, 4);
}
static void u64(bb *b, uint64_t v)
{
    put(b, &v, 8);
}
static void str(bb *b, const char *s)
{
    u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void pad(bb *b, size_t a)
{
    while (b->n % a) {
        b->p[b->n++] = 0;
    }
}

// Offsets of the fields of the base file, for patching.
typedef struct fields {
    size_t version, n_tensors, n_kv;
    size_t key0_len, str_len, kv1_type, arr_type, arr_len, kv2_key, strs_len, str1_len;
    size_t t0_ndims, t0_ne0, t0_ne1, t0_type, t0_offset, t1_name, t1_offset;
    size_t data;
} fields;

// A valid GGUF: 4 (+ n_extra) key/values, tensors a.weight (Q8_0 32x2) and b.weight (F32 8).
// extra: raw key/value bytes appended to the metadata.
static void build(bb *b, fields *f, const bb *extra, int n_extra)
{
    b->n = 0;
    put(b, "GGUF", 4);
    f->version = b->n;
    u32(b, 3);
    f->n_tensors = b->n;
    u64(b, 2);
    f->n_kv = b->n;
    u64(b, 4 + (uint64_t)n_extra);
    f->key0_len = b->n;
    str(b, "general.architecture");
    u32(b, WICK_GGUF_STRING);
    f->str_len = b->n;
    str(b, "llama");
    str(b, "test.u32");
    f->kv1_type = b->n;
    u32(b, WICK_GGUF_UINT32);
    u32(b, 7);
    f->kv2_key = b->n + 8;
    str(b, "test.arr");
    u32(b, WICK_GGUF_ARRAY);
    f->arr_type = b->n;
    u32(b, WICK_GGUF_INT32);
    f->arr_len = b->n;
    u64(b, 3);
    u32(b, 1), u32(b, 2), u32(b, 3);
    str(b, "test.strs");
    u32(b, WICK_GGUF_ARRAY);
    u32(b, WICK_GGUF_STRING);
    f->strs_len = b->n;
    u64(b, 2);
    str(b, "a");
    f->str1_len = b->n;
    str(b, "bc");
    if (extra) { put(b, extra->p, extra->n); }
    str(b, "a.weight");
    f->t0_ndims = b->n;
    u32(b, 2);
    f->t0_ne0 = b->n;
    u64(b, 32);
    f->t0_ne1 = b->n;
    u64(b, 2);
    f->t0_type = b->n;
    u32(b, WICK_DTYPE_Q8_0);
    f->t0_offset = b->n;
    u64(b, 0);
    f->t1_name = b->n + 8;
    str(b, "b.weight");
    u32(b, 1);
    u64(b, 8);
    u32(b, WICK_DTYPE_F32);
    f->t1_offset = b->n;
    u64(b, 96);
    pad(b, 32);
    f->data = b->n;
    for (int i = 0; i < 128; i++) {
        uint8_t x = (uint8_t)(i * 7);
        put(b, &x, 1);
    }
}

static void patch32(bb *b, size_t at, uint32_t v)
{
    memcpy(b->p + at, &v, 4);
}
static void patch64(bb *b, size_t at, uint64_t v)
{
    memcpy(b->p + at, &v, 8);
}

static int n_cases;
static char corpus_dir[4096];

static void save(const char *name, const bb *b)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.gguf", corpus_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) { return; }
    fwrite(b->p, 1, b->n, f);
    fclose(f);
}

// Opens the bytes from memory and from a file; both must fail with code and a message with
// needle; the file's message must start with its path.
static void expect(const char *name, const bb *b, wick_status code, const char *needle)
{
    n_cases++;
    wick_gguf *g = (wick_gguf *)1;
    wick_status rc = wk_gguf_open_memory(b->p, b->n, name, &g);
    CHECKF(rc == code && g == NULL, "%s: memory open -> %d, expected %d (%s)", name, rc, code,
           wick_errmsg());
    CHECKF(strstr(wick_errmsg(), needle) != NULL, "%s: message '%s' lacks '%s'", name,
           wick_errmsg(), needle);
    CHECKF(strncmp(wick_errmsg(), name, strlen(name)) == 0, "%s: message '%s' does not start "
           "with the name", name, wick_errmsg());
    save(name, b);
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.gguf", corpus_dir, name);
    g = (wick_gguf *)1;
    rc = wick_gguf_open(path, &g);
    CHECKF(rc == code && g == NULL, "%s: file open -> %d, expected %d (%s)", name, rc, code,
           wick_errmsg());
    CHECKF(strncmp(wick_errmsg(), path, strlen(path)) == 0, "%s: message '%s' does not start "
           "with the path", name, wick_errmsg());
}

static void test_base_is_valid(void)
{
    bb b;
    fields f;
    build(&b, &f, NULL, 0);
    save("valid", &b);
    wick_gguf *g = NULL;
    CHECK_OK(wk_gguf_open_memory(b.p, b.n, "valid", &g));
    if (!g) { return; }
    CHECK(wick_gguf_n_kv(g) == 4);
    CHECK(wick_gguf_n_tensors(g) == 2);
    wick_tensor_info t;
    CHECK_OK(wick_gguf_tensor(g, 1, &t));
    CHECK(t.offset == 96 && t.bytes == 32 && t.data == b.p + f.data + 96);
    const char *s = NULL;
    CHECK_OK(wick_gguf_get_str(g, "general.architecture", &s, NULL));
    CHECK(s && strcmp(s, "llama") == 0);
    wick_gguf_close(g);
}

static void test_header(void)
{
    bb b;
    fields f;
    build(&b, &f, NULL, 0);
    b.p[0] = 'X';
    expect("magic", &b, WICK_E_FORMAT, "magic: expected \"GGUF\"");
    build(&b, &f, NULL, 0);
    b.n = 3;
    expect("tiny", &b, WICK_E_FORMAT, "too short for a GGUF header");
    static const struct {
        const char *name;
        uint32_t v;
        wick_status rc;
        const char *needle;
    } versions[] = {
        {"version-0", 0, WICK_E_FORMAT, "version 0, expected 2 or 3"},
        {"version-1", 1, WICK_E_UNSUPPORTED, "version 1 is not supported"},
        {"version-4", 4, WICK_E_FORMAT, "version 4, expected 2 or 3"},
        {"version-big-endian", 0x03000000, WICK_E_UNSUPPORTED, "big-endian"},
    };
    for (size_t i = 0; i < WK_ARRAY_LEN(versions); i++) {
        build(&b, &f, NULL, 0);
        patch32(&b, f.version, versions[i].v);
        expect(versions[i].name, &b, versions[i].rc, versions[i].needle);
    }
    build(&b, &f, NULL, 0);
    patch64(&b, f.n_kv, UINT64_MAX);
    expect("n_kv-absurd", &b, WICK_E_FORMAT, "n_kv: 18446744073709551615 key/value pairs cannot");
    build(&b, &f, NULL, 0);
    patch64(&b, f.n_kv, 1000);
    expect("n_kv-too-many", &b, WICK_E_FORMAT, "cannot fit");
    build(&b, &f, NULL, 0);
    patch64(&b, f.n_tensors, UINT64_MAX / 2);
    expect("n_tensors-absurd", &b, WICK_E_FORMAT, "tensor infos cannot fit");
    build(&b, &f, NULL, 0);
    patch64(&b, f.n_tensors, 3);
    expect("n_tensors-one-more", &b, WICK_E_FORMAT, "n_dims 0, expected 1..4");
}

static void test_metadata(void)
{
    bb b;
    fields f;
    build(&b, &f, NULL, 0);
    patch64(&b, f.key0_len, UINT64_MAX);
    expect("key-length-absurd", &b, WICK_E_FORMAT, "key: string length 18446744073709551615 runs "
           "past the end");
    build(&b, &f, NULL, 0);
    patch64(&b, f.key0_len, b.n - f.key0_len - 7);
    expect("key-length-past-eof", &b, WICK_E_FORMAT, "runs past the end of the file");
    build(&b, &f, NULL, 0);
    patch64(&b, f.str_len, 1u << 20);
    expect("string-past-eof", &b, WICK_E_FORMAT, "key 'general.architecture': string value: "
           "string length 1048576 runs past the end");
    build(&b, &f, NULL, 0);
    patch32(&b, f.kv1_type, 13);
    expect("value-type-unknown", &b, WICK_E_FORMAT, "key 'test.u32': unknown value type 13");
    build(&b, &f, NULL, 0);
    patch32(&b, f.kv1_type, UINT32_MAX);
    expect("value-type-absurd", &b, WICK_E_FORMAT, "unknown value type 4294967295");
    build(&b, &f, NULL, 0);
    patch32(&b, f.arr_type, 99);
    expect("array-type-unknown", &b, WICK_E_FORMAT, "key 'test.arr': unknown array element type");
    build(&b, &f, NULL, 0);
    patch64(&b, f.arr_len, UINT64_MAX);
    expect("array-length-absurd", &b, WICK_E_FORMAT, "array of 18446744073709551615 int32 "
           "elements cannot fit");
    build(&b, &f, NULL, 0);
    patch64(&b, f.strs_len, 1ull << 40);
    expect("string-array-absurd", &b, WICK_E_FORMAT, "array of 1099511627776 string elements");
    build(&b, &f, NULL, 0);
    patch64(&b, f.str1_len, 4000);
    expect("array-string-past-eof", &b, WICK_E_FORMAT, "key 'test.strs': string value: string "
           "length 4000");
    build(&b, &f, NULL, 0);
    memcpy(b.p + f.kv2_key, "test.u32", 8);
    expect("key-duplicate", &b, WICK_E_FORMAT, "key 'test.u32' appears twice");

    // Arrays of arrays: 8 levels are fine, 9 are refused.
    for (int depth = 8; depth <= 10; depth++) {
        bb x = {.n = 0};
        str(&x, "test.nested");
        u32(&x, WICK_GGUF_ARRAY);
        for (int d = 1; d < depth; d++) {
            u32(&x, WICK_GGUF_ARRAY);
            u64(&x, 1);
        }
        u32(&x, WICK_GGUF_UINT8);
        u64(&x, 1);
        uint8_t one = 1;
        put(&x, &one, 1);
        build(&b, &f, &x, 1);
        if (depth == 8) {
            wick_gguf *g = NULL;
            CHECK_OK(wk_gguf_open_memory(b.p, b.n, "nested-8", &g));
            const wick_gguf_value *v = NULL;
            if (g) { CHECK_OK(wick_gguf_get_array(g, "test.nested", &v)); }
            for (int d = 1; d < 8 && v; d++) {
                CHECK(wick_gguf_array_type(v) == WICK_GGUF_ARRAY && wick_gguf_array_len(v) == 1);
                v = wick_gguf_array_at(v, 0);
            }
            uint64_t u = 0;
            CHECK(v && wick_gguf_array_type(v) == WICK_GGUF_UINT8);
            if (v) { CHECK_OK(wick_gguf_value_uint(wick_gguf_array_at(v, 0), &u)); }
            CHECK(u == 1);
            wick_gguf_close(g);
        } else {
            expect(depth == 9 ? "nested-9" : "nested-10", &b, WICK_E_FORMAT,
                   "arrays nested deeper than 8 levels");
        }
    }

    // general.alignment: a power of two of an integer type.
    static const struct {
        const char *name;
        uint32_t type;
        uint32_t value;
        const char *needle;
    } aligns[] = {
        {"alignment-zero", WICK_GGUF_UINT32, 0, "general.alignment: 0, expected a power of two"},
        {"alignment-3", WICK_GGUF_UINT32, 3, "general.alignment: 3, expected a power of two"},
        {"alignment-float", WICK_GGUF_FLOAT32, 0x42000000, "general.alignment: a float32"},
        {"alignment-64", WICK_GGUF_UINT32, 64, "data offset 96 is not a multiple of the "
                                               "alignment 64"},
    };
    for (size_t i = 0; i < WK_ARRAY_LEN(aligns); i++) {
        bb x = {.n = 0};
        str(&x, "general.alignment");
        u32(&x, aligns[i].type);
        u32(&x, aligns[i].value);
        build(&b, &f, &x, 1);
        expect(aligns[i].name, &b, WICK_E_FORMAT, aligns[i].needle);
    }
}

static void test_tensors(void)
{
    bb b;
    fields f;
    build(&b, &f, NULL, 0);
    patch32(&b, f.t0_ndims, 0);
    expect("n_dims-0", &b, WICK_E_FORMAT, "tensor 'a.weight': n_dims 0, expected 1..4");
    build(&b, &f, NULL, 0);
    patch32(&b, f.t0_ndims, 5);
    expect("n_dims-5", &b, WICK_E_FORMAT, "n_dims 5, expected 1..4");
    build(&b, &f, NULL, 0);
    patch32(&b, f.t0_ndims, UINT32_MAX);
    expect("n_dims-absurd", &b, WICK_E_FORMAT, "n_dims 4294967295");
    build(&b, &f, NULL, 0);
    patch64(&b, f.t0_ne1, UINT64_MAX);
    expect("ne-absurd", &b, WICK_E_FORMAT, "ne[1] = 18446744073709551615: the element count "
           "overflows");
    build(&b, &f, NULL, 0);
    patch64(&b, f.t0_ne1, 1ull << 40);
    patch64(&b, f.t0_ne0, 1ull << 30);
    expect("ne-overflow", &b, WICK_E_FORMAT, "the element count overflows");
    build(&b, &f, NULL, 0);
    patch64(&b, f.t0_ne0, 0);
    patch64(&b, f.t0_ne1, 1ull << 62);
    patch32(&b, f.t0_ndims, 2);
    wick_gguf *g = NULL;
    // ne0 = 0 holds no data: a valid empty tensor.
    CHECK_OK(wk_gguf_open_memory(b.p, b.n, "empty-tensor", &g));
    wick_gguf_close(g);
    build(&b, &f, NULL, 0);
    patch64(&b, f.t0_ne1, 1ull << 50);
    expect("ne-huge", &b, WICK_E_FORMAT, "runs past the end of the data section");
    build(&b, &f, NULL, 0);
    patch64(&b, f.t0_ne0, 48);
    expect("ne0-not-block", &b, WICK_E_FORMAT, "ne[0] = 48 is not a multiple of the Q8_0 block "
           "size 32");
    build(&b, &f, NULL, 0);
    patch32(&b, f.t0_type, 4); // ggml's removed Q4_2
    expect("tensor-type-unknown", &b, WICK_E_FORMAT, "tensor 'a.weight': unknown tensor type id 4");
    build(&b, &f, NULL, 0);
    patch32(&b, f.t0_type, 1000);
    expect("tensor-type-absurd", &b, WICK_E_FORMAT, "unknown tensor type id 1000");
    build(&b, &f, NULL, 0);
    patch64(&b, f.t1_offset, 100);
    expect("offset-misaligned", &b, WICK_E_FORMAT, "tensor 'b.weight': data offset 100 is not a "
           "multiple of the alignment 32");
    build(&b, &f, NULL, 0);
    patch64(&b, f.t1_offset, 128);
    expect("offset-past-eof", &b, WICK_E_FORMAT, "tensor 'b.weight': data [128, +32) runs past "
           "the end of the data section (128 bytes");
    build(&b, &f, NULL, 0);
    patch64(&b, f.t1_offset, UINT64_MAX - 31);
    expect("offset-absurd", &b, WICK_E_FORMAT, "runs past the end of the data section");
    build(&b, &f, NULL, 0);
    patch64(&b, f.t1_offset, 64);
    expect("overlap", &b, WICK_E_FORMAT, "tensors 'a.weight' [0, +68) and 'b.weight' [64, +32) "
           "overlap");
    build(&b, &f, NULL, 0);
    patch64(&b, f.t1_offset, 0);
    expect("overlap-same-offset", &b, WICK_E_FORMAT, "overlap in the data section");
    build(&b, &f, NULL, 0);
    b.p[f.t1_name] = 'a';
    expect("tensor-duplicate", &b, WICK_E_FORMAT, "tensor 'a.weight' appears twice");
}

// Every strict prefix of the file is broken somewhere: each must fail cleanly.
static void test_truncations(void)
{
    bb b;
    fields f;
    build(&b, &f, NULL, 0);
    bb cut = b;
    int failures_ok = 0;
    for (size_t n = 0; n < b.n; n++) {
        wick_gguf *g = (wick_gguf *)1;
        wick_status rc = wk_gguf_open_memory(b.p, n, "cut", &g);
        bool ok = rc == WICK_E_FORMAT && g == NULL && strncmp(wick_errmsg(), "cut: ", 5) == 0;
        CHECKF(ok, "truncated at %zu: rc %d (%s)", n, rc, wick_errmsg());
        failures_ok += ok;
    }
    CHECK(failures_ok == (int)b.n);
    // The message says where the file ends for cuts inside each section.
    static const struct {
        const char *name;
        size_t field;
        const char *needle;
    } cuts[] = {
        {"cut-in-header", 10, "n_tensors: needs 8 bytes"},
        {"cut-in-key", 1, "key/value #2: key: string length 8 runs past the end"},
        {"cut-in-value", 0, "key 'test.strs': string value: string length 2 runs past the end"},
        {"cut-in-array", 1, "key 'test.arr': array of 3 int32 elements cannot fit in the 4 bytes"},
        {"cut-in-tensor-info", 2, "tensor 'b.weight': offset: needs 8 bytes"},
        {"cut-in-data", 3, "tensor 'b.weight': data [96, +32) runs past the end"},
    };
    for (size_t i = 0; i < WK_ARRAY_LEN(cuts); i++) {
        size_t n = cuts[i].field;
        if (i == 1) { n = f.kv2_key + 4; }
        if (i == 2) { n = f.str1_len + 9; }
        if (i == 3) { n = f.arr_len + 12; }
        if (i == 4) { n = f.t1_offset + 4; }
        if (i == 5) { n = f.data + 100; }
        cut.n = n;
        expect(cuts[i].name, &cut, WICK_E_FORMAT, cuts[i].needle);
    }
}

// The command line: exit 1 and "wick: PATH: reason" on stderr, nothing on stdout.
static void test_cli(void)
{
    char path[4400], args[9000];
    snprintf(path, sizeof path, "%s/offset-past-eof.gguf", corpus_dir);
    snprintf(args, sizeof args, "info '%s'", path);
    char *out = NULL, *err = NULL;
    int st = test_run_wick(args, NULL, &out, &err);
    CHECKF(st == 1, "wick info on a broken file: exit %d", st);
    char want[4500];
    snprintf(want, sizeof want, "wick: %s: tensor 'b.weight'", path);
    CHECKF(err && strncmp(err, want, strlen(want)) == 0, "stderr '%s'", err ? err : "");
    CHECK(out && out[0] == '\0');
    free(out);
    free(err);
    snprintf(args, sizeof args, "tensor '%s' b.weight --json", path);
    st = test_run_wick(args, NULL, &out, &err);
    CHECK(st == 1 && err && strncmp(err, want, strlen(want)) == 0);
    free(out);
    free(err);
    snprintf(args, sizeof args, "info '%s/no-such-file.gguf' --json", corpus_dir);
    st = test_run_wick(args, NULL, &out, &err);
    CHECK(st == 1 && err && strstr(err, "no-such-file.gguf: cannot open: No such file") != NULL);
    free(out);
    free(err);
    st = test_run_wick("info", NULL, &out, &err);
    CHECK(st == 2 && err && strstr(err, "missing FILE.gguf") != NULL);
    free(out);
    free(err);
    snprintf(args, sizeof args, "info '%s' --bogus", path);
    st = test_run_wick(args, NULL, NULL, NULL);
    CHECK(st == 2);
}

int main(void)
{
    const char *b = getenv("WICK_BUILD_DIR");
    snprintf(corpus_dir, sizeof corpus_dir, "%s/gguf-broken-corpus", b ? b : "/tmp");
    mkdir(corpus_dir, 0755);
    test_base_is_valid();
    test_header();
    test_metadata();
    test_tensors();
    test_truncations();
    test_cli();
    printf("%d broken files\n", n_cases);
    return test_summary("gguf_broken");
}
