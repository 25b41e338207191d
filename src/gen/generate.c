// generate.c — the single-sequence generation loop (`wick run`, `wick eval --generate`): sample
// from the session's last logits, apply the stop conditions, feed the token back.
#include <string.h>

#include "base/base.h"
#include "model/model.h"

struct wick_generator {
    wick_session *s;
    const wick_tokenizer *tk; // NULL: ids only
    wick_sampler *smp;
    wick_stopper *stp;
    int64_t max_tokens; // without a stopper
    int64_t n_gen;
    bool done;
};

wick_status wick_generator_create(wick_session *s, const wick_tokenizer *tk,
                                  const wick_sampler_opts *so, const wick_stopper_opts *sto,
                                  wick_generator **out)
{
    if (out) { *out = NULL; }
    if (!s || !out) { return wk_fail(WICK_E_INVALID, "wick_generator_create: NULL argument"); }
    wick_generator *g = wk_calloc(1, sizeof *g);
    if (!g) { return wk_fail_nomem("generator"); }
    g->s = s;
    g->tk = tk;
    g->max_tokens = sto ? sto->max_tokens : -1;
    wick_status rc = wick_sampler_create(so, wick_model_n_vocab(s->m), &g->smp);
    if (rc == WICK_OK && tk) { rc = wick_stopper_create(tk, sto, &g->stp); }
    if (rc < 0) {
        wick_generator_destroy(g);
        return rc;
    }
    *out = g;
    return WICK_OK;
}

void wick_generator_destroy(wick_generator *g)
{
    if (!g) { return; }
    wick_sampler_destroy(g->smp);
    wick_stopper_destroy(g->stp);
    wk_free(g);
}

wick_status wick_generator_prompt(wick_generator *g, const int32_t *ids, size_t n)
{
    if (!g || !ids || n == 0 || n > INT64_MAX) {
        return wk_fail(WICK_E_INVALID, "wick_generator_prompt: no prompt tokens");
    }
    wick_status rc = wick_session_eval(g->s, ids, (int64_t)n);
    if (rc < 0) { return rc; }
    wick_sampler_accept(g->smp, ids, n);
    return WICK_OK;
}

wick_status wick_generator_next(wick_generator *g, wick_gen_step *out)
{
    if (out) {
        memset(out, 0, sizeof *out);
        out->id = -1;
        out->text = "";
        out->sample.id = -1;
    }
    if (!g || !out) { return wk_fail(WICK_E_INVALID, "wick_generator_next: NULL argument"); }
    if (g->done || g->max_tokens == 0) {
        g->done = true;
        return WICK_DONE;
    }
    const float *logits = wick_session_logits(g->s, -1);
    if (!logits) {
        g->done = true;
        return wk_fail(WICK_E_INVALID, "wick_generator_next: the session has no logits (evaluate "
                       "a prompt first)");
    }
    wick_status rc = wick_sampler_sample(g->smp, logits, &out->sample);
    if (rc < 0) {
        g->done = true;
        return rc;
    }
    const int32_t id = out->sample.id;
    out->id = id;
    wick_sampler_accept(g->smp, &id, 1);
    g->n_gen++;
    if (g->stp) {
        rc = wick_stopper_push(g->stp, id, &out->text, &out->len);
        if (rc < 0) {
            g->done = true;
            return rc;
        }
        out->stop = wick_stopper_reason(g->stp);
    } else if (g->max_tokens >= 0 && g->n_gen >= g->max_tokens) {
        out->stop = WICK_STOP_LENGTH;
    }
    if (out->stop != WICK_STOP_NONE) {
        g->done = true;
        return WICK_DONE;
    }
    rc = wick_session_eval(g->s, &id, 1);
    if (rc < 0) { g->done = true; }
    return rc;
}

wick_sampler *wick_generator_sampler(wick_generator *g)
{
    return g ? g->smp : NULL;
}

wick_stopper *wick_generator_stopper(wick_generator *g)
{
    return g ? g->stp : NULL;
}
