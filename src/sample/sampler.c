// sampler.c — llama.cpp's sampler chain: logit bias -> penalties -> top-k -> typical-p -> top-p
// -> min-p -> temperature -> a seeded draw (greedy at temperature <= 0), plus the log-probabilities
// of the model's distribution for the API.
//
// Speed: bias and penalties touch only the listed / recently seen ids (the "modified" set M, a
// few dozen), never a copy of the vocabulary. With top-k on, one heap pass over the logits finds
// the k + |M| best original logits; the true k best after the modifications are among those plus
// M (an untouched token outside that set has k + |M| tokens above it, at most |M| of them
// modified). Every later step then works on at most k tokens. Without top-k the tokens are
// copied once and the mass-based filters use quickselect rather than a sort.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "sample/sample.h"

typedef struct wk_mod {
    int32_t id;
    float value; // bias (in s->bias) or the modified logit (in s->mods)
} wk_mod;

struct wick_sampler {
    wick_sampler_opts o;
    int32_t n_vocab;
    uint64_t seed;
    uint64_t rng[4]; // xoshiro256**

    wk_mod *bias; // sorted by id, one entry per id
    size_t n_bias;

    int32_t *hist; // ring of the last penalty_last_n accepted tokens
    size_t n_hist, hist_pos;
    int32_t *win; // scratch: the window sorted

    wk_mod *mods; // this call's modified logits, sorted by id
    size_t n_mods, cap_mods;

    wk_cand *small; // top-k candidates (k + |M| + |M|)
    size_t cap_small;
    wk_cand *full;  // every token (allocated on first need)
    float *lg;      // the modified logits of every token (with full)
};

void wick_sampler_opts_init(wick_sampler_opts *o)
{
    memset(o, 0, sizeof *o);
    o->temperature = 0.8f;
    o->top_k = 40;
    o->top_p = 0.95f;
    o->min_p = 0.05f;
    o->typical_p = 1.0f;
    o->penalty_last_n = 64;
    o->repeat_penalty = 1.0f;
    o->frequency_penalty = 0.0f;
    o->presence_penalty = 0.0f;
    o->min_keep = 0;
    o->seed = WICK_SEED_RANDOM;
}

// --- random numbers: xoshiro256** seeded through splitmix64 --------------------------------------
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static void rng_seed(wick_sampler *s)
{
    uint64_t x = s->seed;
    for (int i = 0; i < 4; i++) { s->rng[i] = splitmix64(&x); }
}

static uint64_t random_seed(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        v = (uint64_t)t.tv_sec * 1000000007ull ^ (uint64_t)t.tv_nsec ^ (uint64_t)(uintptr_t)&t;
    }
    return v == WICK_SEED_RANDOM ? 0 : v;
}

// --- create / destroy ----------------------------------------------------------------------------
static wick_status check_opts(const wick_sampler_opts *o, int32_t n_vocab)
{
    const char *bad = NULL;
    if (n_vocab < 1) { return wk_fail(WICK_E_INVALID, "sampler: n_vocab %d < 1", n_vocab); }
    if (isnan(o->temperature)) { bad = "temperature"; }
    if (isnan(o->top_p) || o->top_p < 0) { bad = "top_p"; }
    if (isnan(o->min_p) || o->min_p > 1) { bad = "min_p"; }
    if (isnan(o->typical_p) || o->typical_p < 0) { bad = "typical_p"; }
    if (o->penalty_last_n < 0 || o->penalty_last_n > (1 << 20)) { bad = "penalty_last_n"; }
    if (!(o->repeat_penalty > 0) || isinf(o->repeat_penalty)) { bad = "repeat_penalty"; }
    if (!isfinite(o->frequency_penalty)) { bad = "frequency_penalty"; }
    if (!isfinite(o->presence_penalty)) { bad = "presence_penalty"; }
    if (o->min_keep < 0) { bad = "min_keep"; }
    if (o->top_logprobs < 0 || o->top_logprobs > WICK_MAX_TOP_LOGPROBS) { bad = "top_logprobs"; }
    if (o->n_logit_bias > 0 && !o->logit_bias) { bad = "logit_bias"; }
    if (bad) { return wk_fail(WICK_E_INVALID, "sampler: option %s is out of range", bad); }
    for (size_t i = 0; i < o->n_logit_bias; i++) {
        const wick_logit_bias *b = &o->logit_bias[i];
        if (b->id < 0 || b->id >= n_vocab || isnan(b->bias) || b->bias == INFINITY) {
            return wk_fail(WICK_E_INVALID,
                           "sampler: logit_bias[%zu]: token %d (bias %g) is not an id in [0, %d) "
                           "with a bias < +inf",
                           i, b->id, (double)b->bias, n_vocab);
        }
    }
    return WICK_OK;
}

static int cmp_mod(const void *a, const void *b)
{
    const wk_mod *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

wick_status wick_sampler_create(const wick_sampler_opts *o, int32_t n_vocab, wick_sampler **out)
{
    if (out) { *out = NULL; }
    if (!out) { return wk_fail(WICK_E_INVALID, "wick_sampler_create: NULL out"); }
    wick_sampler_opts def;
    if (!o) {
        wick_sampler_opts_init(&def);
        o = &def;
    }
    wick_status rc = check_opts(o, n_vocab);
    if (rc < 0) { return rc; }
    wick_sampler *s = wk_calloc(1, sizeof *s);
    if (!s) { return wk_fail_nomem("sampler"); }
    s->o = *o;
    s->o.logit_bias = NULL;
    s->n_vocab = n_vocab;
    if (o->n_logit_bias) {
        s->bias = wk_calloc(o->n_logit_bias, sizeof *s->bias);
        if (!s->bias) { goto nomem; }
        for (size_t i = 0; i < o->n_logit_bias; i++) {
            s->bias[i] = (wk_mod){o->logit_bias[i].id, o->logit_bias[i].bias};
        }
        qsort(s->bias, o->n_logit_bias, sizeof *s->bias, cmp_mod);
        for (size_t i = 0; i < o->n_logit_bias; i++) { // one entry per id: biases add up
            if (s->n_bias > 0 && s->bias[s->n_bias - 1].id == s->bias[i].id) {
                s->bias[s->n_bias - 1].value += s->bias[i].value;
            } else {
                s->bias[s->n_bias++] = s->bias[i];
            }
        }
    }
    s->o.n_logit_bias = s->n_bias;
    if (o->penalty_last_n > 0) {
        s->hist = wk_calloc((size_t)o->penalty_last_n, sizeof *s->hist);
        s->win = wk_calloc((size_t)o->penalty_last_n, sizeof *s->win);
        if (!s->hist || !s->win) { goto nomem; }
    }
    s->seed = o->seed == WICK_SEED_RANDOM ? random_seed() : o->seed;
    rng_seed(s);
    *out = s;
    return WICK_OK;
nomem:
    wick_sampler_destroy(s);
    return wk_fail_nomem("sampler");
}

void wick_sampler_destroy(wick_sampler *s)
{
    if (!s) { return; }
    wk_free(s->bias);
    wk_free(s->hist);
    wk_free(s->win);
    wk_free(s->mods);
    wk_free(s->small);
    wk_free(s->full);
    wk_free(s->lg);
    wk_free(s);
}

void wick_sampler_accept(wick_sampler *s, const int32_t *ids, size_t n)
{
    if (!s || !ids || !s->hist) { return; }
    size_t cap = (size_t)s->o.penalty_last_n;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= s->n_vocab) { continue; }
        s->hist[s->hist_pos] = ids[i];
        s->hist_pos = (s->hist_pos + 1) % cap;
        if (s->n_hist < cap) { s->n_hist++; }
    }
}

void wick_sampler_reset(wick_sampler *s)
{
    if (!s) { return; }
    s->n_hist = s->hist_pos = 0;
    rng_seed(s);
}

uint64_t wick_sampler_seed(const wick_sampler *s)
{
    return s ? s->seed : 0;
}

// --- the modified set: bias, then penalties ------------------------------------------------------
static bool penalties_on(const wick_sampler *s)
{
    return s->n_hist > 0 && (s->o.repeat_penalty != 1.0f || s->o.frequency_penalty != 0.0f ||
                             s->o.presence_penalty != 0.0f);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static wick_status mods_reserve(wick_sampler *s, size_t n)
{
    if (n <= s->cap_mods) { return WICK_OK; }
    wk_mod *m = wk_realloc(s->mods, n * sizeof *m);
    if (!m) { return wk_fail_nomem("sampler scratch"); }
    s->mods = m;
    s->cap_mods = n;
    return WICK_OK;
}

// Fills s->mods (sorted by id): every biased or recently seen token with its final logit.
static wick_status build_mods(wick_sampler *s, const float *x)
{
    s->n_mods = 0;
    size_t n_win = penalties_on(s) ? s->n_hist : 0;
    wick_status rc = mods_reserve(s, s->n_bias + n_win);
    if (rc < 0) { return rc; }
    if (n_win) {
        memcpy(s->win, s->hist, n_win * sizeof *s->win);
        qsort(s->win, n_win, sizeof *s->win, cmp_i32);
    }
    size_t i = 0, j = 0; // merge the bias list with the window's runs
    while (i < s->n_bias || j < n_win) {
        int32_t id = j < n_win && (i >= s->n_bias || s->win[j] < s->bias[i].id) ? s->win[j]
                                                                                 : s->bias[i].id;
        float v = x[id];
        if (i < s->n_bias && s->bias[i].id == id) { v += s->bias[i++].value; }
        int count = 0;
        while (j < n_win && s->win[j] == id) {
            count++;
            j++;
        }
        if (count > 0) {
            v = v <= 0 ? v * s->o.repeat_penalty : v / s->o.repeat_penalty;
            v -= (float)count * s->o.frequency_penalty + s->o.presence_penalty;
        }
        s->mods[s->n_mods++] = (wk_mod){id, v};
    }
    return WICK_OK;
}

static const wk_mod *find_mod(const wick_sampler *s, int32_t id)
{
    wk_mod key = {id, 0};
    return bsearch(&key, s->mods, s->n_mods, sizeof key, cmp_mod);
}

static inline bool is_finite(float v)
{
    return v > -INFINITY && v < INFINITY;
}

// --- candidates ----------------------------------------------------------------------------------
// The k best tokens after the modifications, best first, into s->small.
static wick_status top_candidates(wick_sampler *s, const float *x, int32_t k, size_t *n_out)
{
    size_t need = (size_t)k + 2 * s->n_mods;
    if (need > s->cap_small) {
        wk_cand *c = wk_realloc(s->small, need * sizeof *c);
        if (!c) { return wk_fail_nomem("sampler scratch"); }
        s->small = c;
        s->cap_small = need;
    }
    int32_t kk = (int32_t)WK_MIN((size_t)s->n_vocab, (size_t)k + s->n_mods);
    size_t n = (size_t)wk_sample_top(x, s->n_vocab, kk, s->small);
    if (s->n_mods > 0) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) { // replace modified logits; drop the banned
            const wk_mod *md = find_mod(s, s->small[i].id);
            if (md) { s->small[i].logit = md->value; }
            if (is_finite(s->small[i].logit)) { s->small[m++] = s->small[i]; }
        }
        n = m;
        for (size_t i = 0; i < s->n_mods; i++) { // modified tokens not among the best originals
            const wk_mod *md = &s->mods[i];
            if (!is_finite(md->value)) { continue; }
            bool seen = false;
            for (size_t j = 0; j < n && !seen; j++) { seen = s->small[j].id == md->id; }
            if (!seen) { s->small[n++] = (wk_cand){md->value, 0, 0, md->id}; }
        }
        for (size_t i = 0; i < n; i++) { s->small[i].key = -s->small[i].logit; }
        wk_sample_sort(s->small, n);
        n = WK_MIN(n, (size_t)k);
    }
    *n_out = n;
    return WICK_OK;
}

// Every token with a finite modified logit, into s->full.
static wick_status all_candidates(wick_sampler *s, const float *x, size_t *n_out)
{
    if (!s->full) {
        s->full = wk_calloc((size_t)s->n_vocab, sizeof *s->full);
        s->lg = wk_calloc((size_t)s->n_vocab, sizeof *s->lg);
        if (!s->full || !s->lg) {
            wk_free(s->full);
            wk_free(s->lg);
            s->full = NULL;
            s->lg = NULL;
            return wk_fail_nomem("sampler scratch for the whole vocabulary");
        }
    }
    const float *v = x;
    if (s->n_mods > 0) {
        memcpy(s->lg, x, (size_t)s->n_vocab * sizeof *s->lg);
        for (size_t i = 0; i < s->n_mods; i++) { s->lg[s->mods[i].id] = s->mods[i].value; }
        v = s->lg;
    }
    size_t n = 0;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        if (is_finite(v[i])) { s->full[n++] = (wk_cand){v[i], 0, 0, i}; }
    }
    *n_out = n;
    return WICK_OK;
}

// --- filters (each keeps c[0, n) and returns the new n) -----------------------------------------
static size_t keep_at_least(const wick_sampler *s)
{
    return s->o.min_keep > 1 ? (size_t)s->o.min_keep : 1;
}

static size_t typical(const wick_sampler *s, wk_cand *c, size_t n)
{
    if (s->o.typical_p >= 1.0f || n <= 1) { return n; }
    wk_sample_softmax(c, n);
    double h = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].p > 0) { h -= (double)c[i].p * log((double)c[i].p); }
    }
    for (size_t i = 0; i < n; i++) {
        c[i].key = c[i].p > 0 ? fabsf(-logf(c[i].p) - (float)h) : INFINITY;
    }
    return wk_sample_mass_prefix(c, n, s->o.typical_p, true, keep_at_least(s));
}

static size_t top_p(const wick_sampler *s, wk_cand *c, size_t n)
{
    if (s->o.top_p >= 1.0f || n <= 1) { return n; }
    const size_t keep = keep_at_least(s);
    if (n > 1024 && s->lg) {
        // The kept prefix lies inside any logit threshold whose tokens already hold the mass:
        // find one (a pass each, e^ only above it) and keep only those before selecting. The
        // normalizer comes from the logits laid out in a row (s->lg is free once the candidates
        // are built), where the exp vectorizes.
        float max = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            max = c[i].logit > max ? c[i].logit : max;
            s->lg[i] = c[i].logit;
        }
        const double z = wk_sample_sum_exp(s->lg, n, max);
        for (float d = 2.0f; d <= 64.0f; d *= 2) {
            const float thr = max - d;
            double mass = 0;
            size_t cnt = 0;
            for (size_t i = 0; i < n; i++) {
                if (c[i].logit >= thr) {
                    mass += expf(c[i].logit - max);
                    cnt++;
                }
            }
            if (mass < s->o.top_p * z || cnt < keep) { continue; }
            size_t m = 0;
            for (size_t i = 0; i < n; i++) {
                if (c[i].logit >= thr) {
                    c[m] = c[i];
                    c[m++].p = (float)(expf(c[i].logit - max) / z);
                }
            }
            for (size_t i = 0; i < m; i++) { c[i].key = -c[i].logit; }
            return wk_sample_mass_prefix(c, m, s->o.top_p, false, keep);
        }
    }
    wk_sample_softmax(c, n);
    for (size_t i = 0; i < n; i++) { c[i].key = -c[i].logit; }
    return wk_sample_mass_prefix(c, n, s->o.top_p, false, keep);
}

static size_t min_p(const wick_sampler *s, wk_cand *c, size_t n)
{
    if (s->o.min_p <= 0.0f || n <= 1) { return n; }
    float max = -INFINITY;
    for (size_t i = 0; i < n; i++) { max = c[i].logit > max ? c[i].logit : max; }
    const float min_logit = max + logf(s->o.min_p); // p >= min_p * p_max
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].logit >= min_logit) { m++; }
    }
    size_t keep = keep_at_least(s);
    if (m >= keep) {
        m = 0;
        for (size_t i = 0; i < n; i++) {
            if (c[i].logit >= min_logit) { c[m++] = c[i]; }
        }
        return m;
    }
    for (size_t i = 0; i < n; i++) { c[i].key = -c[i].logit; }
    return wk_sample_mass_prefix(c, n, -1.0, false, WK_MIN(keep, n)); // the keep best
}

static int32_t best(const wk_cand *c, size_t n)
{
    size_t b = 0;
    for (size_t i = 1; i < n; i++) {
        if (c[i].logit > c[b].logit || (c[i].logit == c[b].logit && c[i].id < c[b].id)) { b = i; }
    }
    return c[b].id;
}

static int32_t draw(wick_sampler *s, wk_cand *c, size_t n)
{
    const float t = s->o.temperature;
    float max = -INFINITY;
    for (size_t i = 0; i < n; i++) { max = c[i].logit > max ? c[i].logit : max; }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        c[i].p = expf((c[i].logit - max) / t);
        sum += c[i].p;
    }
    double r = (double)(rng_next(s->rng) >> 11) * 0x1.0p-53 * sum, cum = 0;
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].p <= 0) { continue; }
        cum += c[i].p;
        last = i;
        if (r < cum) { return c[i].id; }
    }
    return c[last].id; // rounding left r at the very top
}

// --- log-probabilities of the model's distribution -----------------------------------------------
static void logprobs(const wick_sampler *s, const float *x, wick_sample *out)
{
    // the best finite logits (the first is the largest: the log-sum-exp's shift)
    wk_cand top[WICK_MAX_TOP_LOGPROBS];
    const int32_t k = wk_sample_top(x, s->n_vocab, WK_MAX(s->o.top_logprobs, 1), top);
    const float max = k > 0 ? top[0].logit : 0.0f; // k 0: no finite logit, no token was drawn
    const double sum = wk_sample_sum_exp(x, (size_t)s->n_vocab, max); // NaN, +-inf add nothing
    const float lse = max + (float)log(sum);
    float v = x[out->id];
    out->logprob = is_finite(v) ? v - lse : -INFINITY;
    if (s->o.top_logprobs > 0) {
        for (int32_t i = 0; i < k; i++) {
            out->top[i] = (wick_logprob){top[i].id, top[i].logit - lse};
        }
        out->n_top = k;
    }
}

// --- the chain -----------------------------------------------------------------------------------
wick_status wick_sampler_sample(wick_sampler *s, const float *x, wick_sample *out)
{
    if (out) {
        out->id = -1;
        out->logprob = 0;
        out->n_top = 0;
    }
    if (!s || !x || !out) { return wk_fail(WICK_E_INVALID, "wick_sampler_sample: NULL argument"); }
    wick_status rc = build_mods(s, x);
    if (rc < 0) { return rc; }
    const wick_sampler_opts *o = &s->o;
    const bool greedy = o->temperature <= 0;
    wk_cand *c;
    size_t n;
    if (greedy && o->typical_p >= 1.0f) {
        // top-k, top-p and min-p all keep the most likely token: greedy is the argmax
        rc = top_candidates(s, x, 1, &n);
        c = s->small;
    } else if (o->top_k > 0 && WK_MAX(o->top_k, o->min_keep) < s->n_vocab) {
        rc = top_candidates(s, x, WK_MAX(o->top_k, o->min_keep), &n);
        c = s->small;
    } else {
        rc = all_candidates(s, x, &n);
        c = s->full;
    }
    if (rc < 0) { return rc; }
    if (n == 0) {
        return wk_fail(WICK_E_INVALID, "sampler: no token has a finite logit (after bias and "
                       "penalties)");
    }
    n = typical(s, c, n);
    n = top_p(s, c, n);
    n = min_p(s, c, n);
    out->id = greedy ? best(c, n) : draw(s, c, n);
    if (o->logprobs || o->top_logprobs > 0) { logprobs(s, x, out); }
    return WICK_OK;
}
