// match.c — finding any of a few patterns in streamed text: the earliest whole match, and the
// longest tail that could still become one (what stop strings and chat markers hold back).
#include <string.h>

#include "base/base.h"

// memmem without _GNU_SOURCE: candidates by memchr on the first byte.
static const char *find(const char *s, size_t n, const char *p, size_t m)
{
    const char *end = s + n;
    while ((size_t)(end - s) >= m) {
        const char *q = memchr(s, (unsigned char)p[0], (size_t)(end - s) - m + 1);
        if (!q) { return NULL; }
        if (memcmp(q, p, m) == 0) { return q; }
        s = q + 1;
    }
    return NULL;
}

size_t wk_match_first(const char *s, size_t n, const char *const *pats, const size_t *lens,
                      int n_pats, int *which)
{
    size_t best = n;
    int w = -1;
    for (int i = 0; i < n_pats; i++) {
        if (lens[i] == 0 || lens[i] > n) { continue; }
        // only a match starting before the best so far can win: search s[0, best + len)
        size_t span = best == n ? n : WK_MIN(n, best + lens[i]);
        const char *q = find(s, span, pats[i], lens[i]);
        if (!q) { continue; }
        size_t at = (size_t)(q - s);
        if (at < best || (at == best && w >= 0 && lens[i] > lens[w])) {
            best = at;
            w = i;
        }
    }
    if (which) { *which = w; }
    return best;
}

size_t wk_match_partial(const char *s, size_t n, const char *const *pats, const size_t *lens,
                        int n_pats)
{
    size_t best = 0;
    for (int i = 0; i < n_pats; i++) {
        size_t l = lens[i] > 0 ? WK_MIN(n, lens[i] - 1) : 0;
        for (; l > best; l--) {
            if (memcmp(s + n - l, pats[i], l) == 0) {
                best = l;
                break;
            }
        }
    }
    return best;
}
