// list.c — every file of a repo at a revision: GET /api/models/REPO/revision/REV (the commit) ->
// GET /api/models/REPO/tree/COMMIT pages (Link: rel="next"), recorded as huggingface_hub's
// listing cache (trees/COMMIT.json), which answers offline.
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub/hub_internal.h"

static wick_status add_entry(hub_job *j, const char *path, uint64_t size, const char *oid,
                             const char *sha);

// --- the job's own resources --------------------------------------------------------------------
void wk_hub_ls_free(hub_job *j)
{
    wk_free(j->ls.next_url);
    wk_buf_free(&j->ls.body);
    for (size_t i = 0; i < j->ls.n_entries; i++) {
        wk_free((char *)j->ls.entries[i].path);
        wk_free((char *)j->ls.entries[i].oid);
        wk_free((char *)j->ls.entries[i].sha256);
    }
    wk_free(j->ls.entries);
}

void wk_hub_ls_report(hub_job *j)
{
    if (!j->ls.cb) { return; }
    bool ok = j->rc >= 0;
    wick_hub_listing l = {
        .id = j->id, .status = j->rc, .message = j->msg, .repo = j->repo, .revision = j->rev,
        .commit = j->commit, .n_entries = ok ? j->ls.n_entries : 0,
        .entries = ok ? j->ls.entries : NULL,
    };
    j->ls.cb(&l, j->ud);
}

// --- the steps -----------------------------------------------------------------------------------
// The listing cache huggingface_hub (2026+) keeps for snapshot_download, trees/<commit>.json:
// {"format_version":1,"files":{path:{"size","blob_id","lfs_sha256"?,"lfs_size"?}}}. We write it
// after a listing and read it offline.
static void write_tree_cache(hub_job *j)
{
    json_t *files = json_object(), *root = json_object();
    char *path = wk_asprintf("%s/trees/%s.json", j->repo_dir, j->commit);
    char *tmp = wk_asprintf("%s/trees/%s.json.%d.tmp", j->repo_dir, j->commit, (int)getpid());
    bool ok = files && root && path && tmp && wk_hub_mkdirs(path, false) >= 0;
    for (size_t i = 0; ok && i < j->ls.n_entries; i++) {
        const wick_hub_entry *e = &j->ls.entries[i];
        json_t *o = json_object();
        ok = o && json_object_set_new(o, "size", json_integer((json_int_t)e->size)) == 0 &&
             json_object_set_new(o, "blob_id", json_string(e->oid)) == 0;
        if (ok && e->sha256) {
            ok = json_object_set_new(o, "lfs_sha256", json_string(e->sha256)) == 0 &&
                 json_object_set_new(o, "lfs_size", json_integer((json_int_t)e->size)) == 0;
        }
        ok = ok && json_object_set_new(files, e->path, o) == 0;
        if (!ok) { json_decref(o); }
    }
    ok = ok && json_object_set_new(root, "format_version", json_integer(1)) == 0 &&
         json_object_set(root, "files", files) == 0 &&
         json_dump_file(root, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0;
    if (!ok) {
        if (tmp) { unlink(tmp); }
        wk_debug("%s: cannot write the listing cache", path ? path : j->repo);
    }
    json_decref(files);
    json_decref(root);
    wk_free(path);
    wk_free(tmp);
}

static void list_offline(wick_hub *h, hub_job *j)
{
    char c[41];
    if (wk_hub_is_hex(j->rev, 40)) {
        memcpy(c, j->rev, 41);
    } else if (!wk_hub_read_ref(j->repo_dir, j->rev, c)) {
        wk_hub_job_fail(h, j, WICK_E_OFFLINE,
                 "%s: offline mode (HF_HUB_OFFLINE) and revision '%s' is not in the cache", j->repo,
                 j->rev);
        return;
    }
    char *path = wk_asprintf("%s/trees/%s.json", j->repo_dir, c);
    json_error_t err;
    json_t *root = path ? json_load_file(path, 0, &err) : NULL;
    json_t *files = json_object_get(root, "files");
    if (!json_is_object(files) ||
        json_integer_value(json_object_get(root, "format_version")) != 1) {
        json_decref(root);
        wk_hub_job_fail(h, j, WICK_E_OFFLINE,
                 "%s: offline mode (HF_HUB_OFFLINE) and no listing of commit %s is cached; name "
                 "the files instead", j->repo, c);
        wk_free(path);
        return;
    }
    memcpy(j->commit, c, 41);
    const char *k;
    json_t *v;
    wick_status rc = WICK_OK;
    json_object_foreach(files, k, v) {
        if (!wk_hub_valid_path(k)) {
            rc = wk_fail(WICK_E_FORMAT, "%s: path '%s' would leave the repository", path, k);
            break;
        }
        const char *sha = json_string_value(json_object_get(v, "lfs_sha256"));
        if (sha && !wk_hub_is_hex(sha, 64)) { sha = NULL; }
        json_int_t sz = json_integer_value(json_object_get(v, sha ? "lfs_size" : "size"));
        rc = add_entry(j, k, sz > 0 ? (uint64_t)sz : 0,
                       json_string_value(json_object_get(v, "blob_id")), sha);
        if (rc < 0) { break; }
    }
    json_decref(root);
    wk_free(path);
    wk_hub_job_finish(h, j, rc);
}

void wk_hub_ls_begin(wick_hub *h, hub_job *j)
{
    if (h->offline) {
        list_offline(h, j);
        return;
    }
    char *q = wk_hub_quote(j->rev, false);
    if (wk_hub_is_hex(j->rev, 40)) {
        memcpy(j->commit, j->rev, 41);
        j->ls.next_url = wk_asprintf("%s/api/models/%s/tree/%s?recursive=true&expand=false",
                                  h->endpoint, j->repo, j->commit);
    } else {
        j->meta_url = q ? wk_asprintf("%s/api/models/%s/revision/%s", h->endpoint, j->repo, q)
                        : NULL;
    }
    wk_free(q);
    if (!j->ls.next_url && !j->meta_url) {
        wk_fail_nomem("url");
        wk_hub_job_finish(h, j, WICK_E_NOMEM);
        return;
    }
    j->state = ST_WANT_META;
}

static wick_status add_entry(hub_job *j, const char *path, uint64_t size, const char *oid,
                             const char *sha)
{
    if (j->ls.n_entries == j->ls.cap_entries) {
        size_t cap = j->ls.cap_entries ? j->ls.cap_entries * 2 : 64, bytes;
        if (!wk_mul_size(cap, sizeof *j->ls.entries, &bytes)) { return wk_fail_nomem("listing"); }
        wick_hub_entry *e = wk_realloc(j->ls.entries, bytes);
        if (!e) { return wk_fail_nomem("listing"); }
        j->ls.entries = e;
        j->ls.cap_entries = cap;
    }
    wick_hub_entry *e = &j->ls.entries[j->ls.n_entries];
    e->path = wk_strdup(path);
    e->oid = wk_strdup(oid ? oid : "");
    e->sha256 = sha ? wk_strdup(sha) : NULL;
    e->size = size;
    j->ls.n_entries++;
    if (!e->path || !e->oid || (sha && !e->sha256)) { return wk_fail_nomem("listing"); }
    return WICK_OK;
}

void wk_hub_ls_done(wick_hub *h, hub_job *j, CURLcode cc)
{
    if (j->x.write_rc < 0) {
        wk_hub_job_fail(h, j, j->x.write_rc, "%s", j->x.write_msg);
        return;
    }
    long st = j->x.hh.status;
    if (cc == CURLE_WRITE_ERROR && !(st >= 200 && st < 300)) { cc = CURLE_OK; }
    if (cc != CURLE_OK) {
        wk_hub_net_failure(h, j, cc, ST_WANT_META);
        return;
    }
    if (st >= 300 && st < 400 && j->x.hh.location[0] && wk_hub_is_relative(j->x.hh.location)) {
        char *u = wk_hub_resolve_url(j->x.url, j->x.hh.location);
        if (!u || ++j->n_redirects > HUB_MAX_REDIRECTS) {
            wk_free(u);
            wk_hub_job_fail(h, j, WICK_E_HTTP, "%s: bad or too many redirects", j->x.url);
            return;
        }
        char **slot = j->commit[0] ? &j->ls.next_url : &j->meta_url;
        wk_free(*slot);
        *slot = u;
        j->state = ST_WANT_META;
        return;
    }
    if (!(st >= 200 && st < 300)) {
        wk_hub_http_failure(h, j, ST_WANT_META);
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb(j->ls.body.data ? j->ls.body.data : "", j->ls.body.len, 0, &jerr);
    if (!root) {
        wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: invalid JSON: %s (line %d)", j->x.url, jerr.text,
                 jerr.line);
        return;
    }
    if (!j->commit[0]) {
        const char *sha = json_string_value(json_object_get(root, "sha"));
        if (!sha || !wk_hub_is_hex(sha, 40)) {
            json_decref(root);
            wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: no commit (\"sha\") in the answer", j->x.url);
            return;
        }
        memcpy(j->commit, sha, 41);
        json_decref(root);
        wick_status rc = wk_hub_write_ref(j->repo_dir, j->rev, j->commit);
        if (rc < 0) {
            wk_hub_job_finish(h, j, rc);
            return;
        }
        j->ls.next_url = wk_asprintf("%s/api/models/%s/tree/%s?recursive=true&expand=false",
                                  h->endpoint, j->repo, j->commit);
        if (!j->ls.next_url) {
            wk_fail_nomem("url");
            wk_hub_job_finish(h, j, WICK_E_NOMEM);
            return;
        }
        j->state = ST_WANT_META;
        return;
    }
    if (!json_is_array(root)) {
        json_decref(root);
        wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: expected a JSON array of files", j->x.url);
        return;
    }
    size_t i;
    json_t *it;
    json_array_foreach(root, i, it) {
        const char *type = json_string_value(json_object_get(it, "type"));
        const char *path = json_string_value(json_object_get(it, "path"));
        if (!type || strcmp(type, "file") != 0) { continue; }
        if (!path || !wk_hub_valid_path(path)) {
            wk_fail(WICK_E_FORMAT, "%s: listed path '%s' would leave the repository (refused)",
                    j->x.url, path ? path : "(none)");
            json_decref(root);
            wk_hub_job_finish(h, j, WICK_E_FORMAT);
            return;
        }
        json_t *js = json_object_get(it, "size");
        json_t *lfs = json_object_get(it, "lfs");
        const char *sha = json_string_value(json_object_get(lfs, "oid"));
        if (sha && !wk_hub_is_hex(sha, 64)) { sha = NULL; }
        if (json_is_integer(json_object_get(lfs, "size"))) { js = json_object_get(lfs, "size"); }
        json_int_t sz = json_integer_value(js);
        wick_status rc = add_entry(j, path, sz > 0 ? (uint64_t)sz : 0,
                                   json_string_value(json_object_get(it, "oid")), sha);
        if (rc < 0) {
            json_decref(root);
            wk_hub_job_finish(h, j, rc);
            return;
        }
    }
    json_decref(root);
    wk_free(j->ls.next_url);
    j->ls.next_url = NULL;
    if (j->x.hh.link_next[0]) {
        char *u = wk_hub_resolve_url(j->x.url, j->x.hh.link_next);
        char *o = u ? wk_hub_origin(u) : NULL;
        bool same = o && strcmp(o, h->endpoint_origin) == 0;
        wk_free(o);
        if (!same || ++j->n_redirects > HUB_MAX_PAGES) {
            wk_free(u);
            wk_hub_job_fail(h, j, WICK_E_FORMAT, "%s: bad next-page link", j->x.url);
            return;
        }
        j->ls.next_url = u;
        j->state = ST_WANT_META;
        return;
    }
    write_tree_cache(j);
    wk_hub_job_finish(h, j, WICK_OK);
}

