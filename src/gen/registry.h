// registry.h — the registry's state, shared by registry.c (the thread, streams arriving, events)
// and load.c (a load's stages: the Hub, admission under the budget, open, drop, unload).
#ifndef WK_GEN_REGISTRY_H
#define WK_GEN_REGISTRY_H

#include "gen/gen.h"

#define WK_LOAD_MAX_FILES 64

typedef enum gm_state { GM_RESOLVE, GM_DOWNLOAD, GM_QUEUED, GM_OPEN, GM_READY } gm_state;

typedef struct gm_dl {
    uint64_t id; // 0: finished
    uint64_t size;
    char **path; // where its snapshot path goes (NULL: not needed)
} gm_dl;

struct wk_gmodel {
    wk_gmodel *next;
    wick_registry *reg;
    char *key; // "MODEL\nTOKENIZER"
    wk_spec spec, tok; // tok all NULL: the GGUF's vocabulary
    gm_state state;
    int refs; // streams waiting or running (r->mu)
    double idle_since;
    int n_ops; // Hub operations whose callback has not run yet
    uint64_t list_id, tok_list_id;
    bool picked; // the model listing gave its files
    gm_dl dls[WK_LOAD_MAX_FILES];
    int n_dls;
    wk_load_args args; // gguf_path, tok_json, tok_config
    uint64_t bytes; // GGUF bytes (the download's size; the budget's figure until open)
    uint64_t mem; // what it counts against the budget once open
    double t_begin;
    wick_stream *waiters;
    wk_sched *sched;
    bool zombie, queued_told;
    uint64_t pass; // the registry's pass that last tried to open it
};

typedef struct loaded_ev {
    struct loaded_ev *next;
    wk_gmodel *gm;
    wick_status rc;
    char *msg;
    uint64_t mem;
} loaded_ev;

struct wick_registry {
    wick_registry_opts opts;
    pthread_mutex_t mu;
    pthread_t thread;
    bool thread_started;
    int efd;
    wick_hub *hub;
    bool stop; // mu
    wick_stream *inbox, *inbox_tail; // mu
    loaded_ev *events; // mu
    wk_gmodel *models; // changed by the registry thread under mu
    wk_gmodel *zombies; // registry thread only
    int n_streams; // mu: streams whose done chunk is not out
    uint64_t n_loads; // mu
    uint64_t n_passes; // mu
    int max_pass_streams; // mu
    double next_tick;
    uint64_t pass;
};

// --- load.c (registry thread only) ---------------------------------------------------------------

// Starts the load of a new gm: a local file, or the Hub listings.
void wk_load_begin(wick_registry *r, wk_gmodel *gm);
// Opens gm when there is room under the budget (unloading idle models), else leaves it QUEUED.
void wk_load_try_open(wick_registry *r, wk_gmodel *gm);
// Ends a load that is not READY: waiters get (rc, msg), or cancelled (WICK_E_CANCELLED or their
// own cancel); Hub operations are cancelled; gm leaves the list.
void wk_load_drop(wick_registry *r, wk_gmodel *gm, wick_status rc, const char *msg);
// Unloads a READY model without streams.
void wk_load_unload(wick_registry *r, wk_gmodel *gm);
// Frees the zombies (after the hub is destroyed).
void wk_load_free(wk_gmodel *gm);
void wk_load_set_state(wick_registry *r, wk_gmodel *gm, gm_state s);
void wk_load_progress(wk_gmodel *gm, const char *stage, uint64_t done, uint64_t total);

#endif
