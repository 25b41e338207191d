// sched.c — the scheduler of one loaded model: its thread opens the model, then runs every
// stream given to it. Streams get a slot: a sequence of the one session's KV cache (n_ctx
// positions each). Continuous batching: sequences join and leave between steps; a step is one
// forward pass carrying one decode token of every decoding slot, then prefill chunks of the
// prefilling slots (round robin) up to n_batch tokens (wk_session_eval_segs: one pass over all
// rows for llama, phi3 and deepseek2).
//
// Prefix reuse: a free slot keeps the tokens whose K/V it holds (prompt + generated). A new
// sequence takes the free slot sharing the longest prefix with its prompt (least recently used
// among equals), truncates the slot to that prefix (leaving at least one prompt token to
// evaluate, whose logits start the generation) and evaluates only the rest.
//
// Cancel: wick_stream_cancel() -> wk_sched_wake(): when the stream is in the pass being evaluated,
// the session is cancelled (the pass stops within a matmul tile or attention unit: the flag is
// polled between them, wk_mm.cancel; every sequence is left where it was);
// the sequence ends at the next step, which the others redo. A spurious WICK_E_CANCELLED (a
// cancel that raced with the end of a pass) just means the step is redone.
#include "gen/gen.h"
#include "model/model.h"

typedef struct slot {
    int32_t *toks; // what the slot's sequence of the KV cache holds, positions 0 .. n_toks
    int64_t n_toks, cap;
    wk_seq *seq; // the active sequence, or NULL (free)
    int64_t n_prefilled; // prompt tokens in the cache
    int32_t next; // decode: the token to evaluate next
    double last_used;
} slot;

struct wk_sched {
    wick_registry *reg;
    wk_gmodel *gm;
    wk_sched_opts o;
    wk_load_args args;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, woken; // mu
    wick_stream *inbox, *inbox_tail; // mu
    wick_stream **running; // mu: the streams of the pass being evaluated (n_running)
    int n_running;
    wk_loaded L;
    bool loaded;
    int64_t n_ctx;
    wick_session *sess; // n_slots sequences (created with the first stream)
    slot *slots;
    int n_slots;
    // the pass being built: segment i of slot bslot[i], its tokens in btoks
    wk_seg *segs;
    slot **bslot;
    int32_t *btoks;
    wick_stream *waiting, *waiting_tail; // accepted, no free slot yet (this thread only)
    int rr; // round-robin start
};

// --- slots ---------------------------------------------------------------------------------------

static wick_status slot_reserve(slot *sl, int64_t n)
{
    if (n <= sl->cap) { return WICK_OK; }
    int64_t cap = sl->cap ? sl->cap : 256;
    while (cap < n) { cap *= 2; }
    int32_t *v = wk_realloc(sl->toks, (size_t)cap * sizeof *v);
    if (!v) { return wk_fail_nomem("slot tokens"); }
    sl->toks = v;
    sl->cap = cap;
    return WICK_OK;
}

static int64_t common_prefix(const int32_t *a, int64_t na, const int32_t *b, int64_t nb)
{
    int64_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) { i++; }
    return i;
}

// The free slot for a prompt: the longest common prefix, then the least recently used.
static slot *pick_slot(wk_sched *s, const int32_t *p, int64_t n, int64_t *keep)
{
    slot *best = NULL;
    int64_t best_k = -1;
    for (int i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->seq) { continue; }
        int64_t k = s->o.prefix_cache ? common_prefix(sl->toks, sl->n_toks, p, n) : 0;
        if (k > best_k || (k == best_k && sl->last_used < best->last_used)) {
            best = sl;
            best_k = k;
        }
    }
    if (best) { *keep = best_k < n ? best_k : n - 1; }
    return best;
}

// --- streams -------------------------------------------------------------------------------------

// The worker's reference goes: the registry counts the stream as ended.
static void release(wk_sched *s, wick_stream *st)
{
    wk_registry_stream_ended(s->reg, s->gm);
    wk_stream_unref(st);
}

static void end_stream(wk_sched *s, wick_stream *st, wick_finish_reason f, wick_status rc,
                       const char *msg)
{
    if (f == WICK_FINISH_ERROR) {
        wk_stream_fail(st, rc, msg, NULL);
    } else {
        wk_stream_finish(st, f);
    }
    release(s, st);
}

static void end_slot(wk_sched *s, slot *sl)
{
    wick_stream *st = wk_seq_stream(sl->seq);
    wk_seq_free(sl->seq);
    sl->seq = NULL;
    sl->last_used = wk_now();
    release(s, st);
}

// Starts waiting streams in free slots (cancelled ones end at once, wherever they are queued).
static void admit(wk_sched *s)
{
    s->waiting_tail = NULL;
    for (wick_stream **pp = &s->waiting; *pp;) {
        wick_stream *st = *pp;
        if (wk_stream_cancelled(st)) {
            *pp = st->next_in_list;
            st->next_in_list = NULL;
            end_stream(s, st, WICK_FINISH_CANCELLED, 0, NULL);
        } else {
            s->waiting_tail = st;
            pp = &st->next_in_list;
        }
    }
    while (s->waiting) {
        wick_stream *st = s->waiting;
        bool free_slot = false;
        for (int i = 0; i < s->n_slots; i++) { free_slot |= s->slots[i].seq == NULL; }
        if (!free_slot) { return; }
        s->waiting = st->next_in_list;
        st->next_in_list = NULL;
        if (!s->waiting) { s->waiting_tail = NULL; }

        wk_seq *q;
        wick_status rc = wk_seq_create(st, &s->L, s->n_ctx, wk_now(), &q);
        if (rc < 0) {
            end_stream(s, st, WICK_FINISH_ERROR, rc, wick_errmsg());
            continue;
        }
        int64_t n, keep = 0;
        const int32_t *p = wk_seq_prompt(q, &n);
        slot *sl = pick_slot(s, p, n, &keep);
        if (!s->sess) {
            wick_session_opts so;
            wick_session_opts_init(&so);
            so.n_ctx = s->n_ctx;
            so.n_batch = s->o.n_batch;
            so.n_threads = s->o.n_threads;
            so.kv_type = s->o.kv_type;
            if ((rc = wk_session_create_seqs(s->L.model, &so, s->n_slots, &s->sess)) < 0 ||
                (s->o.session_hook &&
                 (rc = s->o.session_hook(s->o.session_ctx, s->sess, true)) < 0)) {
                wick_session_destroy(s->sess); // NULL ok; sets no error
                s->sess = NULL;
                wk_seq_end(q, WICK_FINISH_ERROR, rc, wick_errmsg());
                wk_seq_free(q);
                release(s, st);
                continue;
            }
        }
        if ((rc = slot_reserve(sl, s->n_ctx)) < 0) {
            wk_seq_end(q, WICK_FINISH_ERROR, rc, wick_errmsg());
            wk_seq_free(q);
            release(s, st);
            continue;
        }
        sl->n_toks = keep;
        sl->n_prefilled = keep;
        sl->seq = q;
        wk_seq_set_cached(q, keep);
    }
}

// --- one step ------------------------------------------------------------------------------------

// Ends the sequence of sl after a failed pass (cancelled or an error).
static void fail_slot(wk_sched *s, slot *sl, wick_status rc)
{
    if (rc == WICK_E_CANCELLED) {
        wk_seq_end(sl->seq, WICK_FINISH_CANCELLED, 0, NULL);
    } else {
        wk_seq_end(sl->seq, WICK_FINISH_ERROR, rc, wick_errmsg());
    }
    end_slot(s, sl);
}

// Adds sl's segment to the pass: its decode token, or (decode false) a prefill chunk of at most
// room tokens. Returns the tokens added.
static int64_t add_segment(wk_sched *s, slot *sl, bool decode, int64_t room, int *n_segs,
                           int64_t n)
{
    int64_t n_prompt;
    const int32_t *p = wk_seq_prompt(sl->seq, &n_prompt);
    if ((sl->n_prefilled >= n_prompt) != decode || room < 1) { return 0; }
    const int64_t len = decode ? 1 : WK_MIN(room, n_prompt - sl->n_prefilled);
    memcpy(s->btoks + n, decode ? &sl->next : p + sl->n_prefilled, (size_t)len * sizeof(int32_t));
    s->segs[*n_segs] = (wk_seg){(int)(sl - s->slots), sl->n_toks, len};
    s->bslot[(*n_segs)++] = sl;
    return len;
}

// One pass with the cancel hook armed for the streams it carries.
static wick_status eval_pass(wk_sched *s, int n_segs)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < n_segs; i++) { s->running[i] = wk_seq_stream(s->bslot[i]->seq); }
    s->n_running = n_segs;
    pthread_mutex_unlock(&s->mu);
    wick_status rc = wk_session_eval_segs(s->sess, s->btoks, s->segs, n_segs);
    pthread_mutex_lock(&s->mu);
    s->n_running = 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

// One step: cancelled sequences end; one pass carries a decode token of every decoding slot, then
// prefill chunks up to n_batch tokens; each sequence then takes its pass's result.
static void step(wk_sched *s)
{
    for (int i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->seq && wk_stream_cancelled(wk_seq_stream(sl->seq))) {
            fail_slot(s, sl, WICK_E_CANCELLED);
        }
    }
    int n_segs = 0;
    int64_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < s->n_slots; k++) {
            slot *sl = &s->slots[(s->rr + k) % s->n_slots];
            if (sl->seq) {
                n += add_segment(s, sl, pass == 0, s->sess->n_batch - n, &n_segs, n);
            }
        }
    }
    s->rr = (s->rr + 1) % s->n_slots;
    if (n_segs == 0) { return; }
    wick_status rc = eval_pass(s, n_segs);
    // the cancelled end at the next step, the others redo it
    if (rc == WICK_E_CANCELLED) { return; }
    wk_registry_pass(s->reg, n_segs);
    const int64_t n_vocab = s->L.model->hp.n_vocab;
    int64_t off = 0; // segment i's tokens in btoks
    for (int i = 0; i < n_segs; off += s->segs[i].n, i++) {
        slot *sl = s->bslot[i];
        wk_seq *q = sl->seq;
        if (rc < 0) {
            fail_slot(s, sl, rc);
            continue;
        }
        const wk_seg *g = &s->segs[i];
        memcpy(sl->toks + sl->n_toks, s->btoks + off, (size_t)g->n * sizeof(int32_t));
        sl->n_toks += g->n;
        int64_t n_prompt;
        wk_seq_prompt(q, &n_prompt);
        if (sl->n_prefilled < n_prompt) {
            sl->n_prefilled += g->n;
            if (sl->n_prefilled < n_prompt) {
                wk_seq_prefill_progress(q, sl->n_prefilled, n_prompt);
                continue;
            }
            wk_seq_prefill_done(q);
        }
        const float *lg = s->sess->logits + i * n_vocab;
        if (!wk_seq_step(q, lg, sl->n_toks, s->n_ctx, &sl->next)) { end_slot(s, sl); }
    }
}

// --- the thread ----------------------------------------------------------------------------------

static bool any_active(const wk_sched *s)
{
    for (int i = 0; i < s->n_slots; i++) {
        if (s->slots[i].seq) { return true; }
    }
    return false;
}

static void *sched_main(void *arg)
{
    wk_sched *s = arg;
    wick_status rc = wk_loaded_open(&s->args, &s->o.model, &s->L);
    uint64_t mem = 0;
    if (rc >= 0) {
        s->loaded = true;
        int64_t c = wick_model_n_ctx_train(s->L.model);
        s->n_ctx = s->o.n_ctx > 0 ? s->o.n_ctx : WK_MIN(c, 8192);
        mem = wick_model_weight_bytes(s->L.model) +
              (uint64_t)s->n_slots * (uint64_t)s->n_ctx *
                  wick_model_kv_bytes_per_token(s->L.model, s->o.kv_type);
    }
    wk_registry_loaded(s->reg, s->gm, rc, rc < 0 ? wick_errmsg() : NULL, mem);

    for (;;) {
        pthread_mutex_lock(&s->mu);
        // (streams still waiting for a slot when the last active one ended start now)
        while (!s->stop && !s->inbox && !s->woken && !any_active(s) && !s->waiting) {
            pthread_cond_wait(&s->cv, &s->mu);
        }
        wick_stream *in = s->inbox;
        s->inbox = s->inbox_tail = NULL;
        s->woken = false;
        bool stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        while (in) { // to the waiting queue, in order
            wick_stream *st = in;
            in = st->next_in_list;
            st->next_in_list = NULL;
            if (s->waiting_tail) {
                s->waiting_tail->next_in_list = st;
            } else {
                s->waiting = st;
            }
            s->waiting_tail = st;
        }
        if (stop) { break; }
        if (!s->loaded) { // failed: the registry fails the waiters and stops us
            while (s->waiting) {
                wick_stream *st = s->waiting;
                s->waiting = st->next_in_list;
                end_stream(s, st, WICK_FINISH_CANCELLED, 0, NULL);
            }
            s->waiting_tail = NULL;
            continue;
        }
        admit(s);
        step(s);
    }
    // stopping: every stream ends cancelled
    for (int i = 0; i < s->n_slots; i++) {
        if (s->slots[i].seq) {
            wk_seq_end(s->slots[i].seq, WICK_FINISH_CANCELLED, 0, NULL);
            end_slot(s, &s->slots[i]);
        }
    }
    while (s->waiting) {
        wick_stream *st = s->waiting;
        s->waiting = st->next_in_list;
        st->next_in_list = NULL;
        end_stream(s, st, WICK_FINISH_CANCELLED, 0, NULL);
    }
    return NULL;
}

// --- public (internal) ---------------------------------------------------------------------------

static void sched_free_bufs(wk_sched *s)
{
    wk_free(s->slots);
    wk_free(s->running);
    wk_free(s->segs);
    wk_free(s->bslot);
    wk_free(s->btoks);
    wk_free(s);
}

wick_status wk_sched_start(wick_registry *reg, wk_gmodel *gm, const wk_sched_opts *o,
                           wk_load_args *a, wk_sched **out)
{
    *out = NULL;
    wk_sched *s = wk_calloc(1, sizeof *s);
    if (!s) { return wk_fail_nomem("scheduler"); }
    s->o = *o;
    if (s->o.n_batch <= 0) { s->o.n_batch = 512; }
    const size_t ns = (size_t)o->n_seq;
    s->slots = wk_calloc(ns, sizeof *s->slots);
    s->running = wk_calloc(ns, sizeof *s->running);
    s->segs = wk_calloc(ns, sizeof *s->segs);
    s->bslot = wk_calloc(ns, sizeof *s->bslot);
    s->btoks = wk_calloc((size_t)s->o.n_batch, sizeof *s->btoks);
    if (!s->slots || !s->running || !s->segs || !s->bslot || !s->btoks) {
        sched_free_bufs(s);
        return wk_fail_nomem("scheduler slots");
    }
    s->n_slots = o->n_seq;
    s->reg = reg;
    s->gm = gm;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->args = *a;
    memset(a, 0, sizeof *a);
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
        *a = s->args;
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        sched_free_bufs(s);
        return wk_fail(WICK_E_IO, "scheduler: cannot start its thread");
    }
    *out = s;
    return WICK_OK;
}

void wk_sched_add(wk_sched *s, wick_stream *st)
{
    pthread_mutex_lock(&s->mu);
    st->next_in_list = NULL;
    if (s->inbox_tail) {
        s->inbox_tail->next_in_list = st;
    } else {
        s->inbox = st;
    }
    s->inbox_tail = st;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void wk_sched_wake(wk_sched *s, wick_stream *st)
{
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n_running; i++) {
        if (s->running[i] == st) { wick_session_cancel(s->sess); }
    }
    s->woken = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void wk_sched_stop(wk_sched *s)
{
    if (!s) { return; }
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    if (s->n_running) { wick_session_cancel(s->sess); }
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    if (s->o.session_hook && s->sess) {
        (void)s->o.session_hook(s->o.session_ctx, s->sess, false);
    }
    wick_session_destroy(s->sess);
    for (int i = 0; i < s->n_slots; i++) { wk_free(s->slots[i].toks); }
    wk_loaded_close(&s->L);
    wk_load_args_free(&s->args);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    sched_free_bufs(s);
}
