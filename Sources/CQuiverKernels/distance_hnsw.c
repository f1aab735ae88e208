// HNSW graph: construction with the neighbour-selection heuristic, concurrent inserts with
// per-node spin locks, and the search hot loop (visited-set reuse, batched prefetch).
// Algorithm after Malkov & Yashunin (2016); see qk_hnsw.h for the contract.
#include "qk_hnsw.h"
#include "qk_distance.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define QK_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#else
#define QK_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#endif

typedef struct { float d; uint32_t id; } qk_pair;

typedef struct qk_visited {
    uint16_t *tags;
    size_t cap;
    uint16_t epoch;
    qk_pair *cand, *res;  // heaps
    size_t cand_cap, res_cap;
    struct qk_visited *next;
} qk_visited;

struct qk_hnsw {
    size_t dim, M, M0, efc;
    int l2;
    size_t capacity;
    size_t count;
    const float *vecs;
    uint32_t *link0;
    uint32_t **upper;
    uint8_t *levels;
    uint8_t *locks;
    int64_t entry;
    int max_level;
    pthread_mutex_t global;
    pthread_mutex_t pool_lock;
    qk_visited *pool;
    qk_pair_f32_fn fn;
    uint64_t ndist;
};

// ------------------------------------------------------------------ helpers

static inline float hdist(const qk_hnsw *h, const float *a, const float *b) {
    float v = h->fn(a, b, h->dim);
    return h->l2 ? v : -v;
}
static inline const float *hvec(const qk_hnsw *h, uint32_t id) { return h->vecs + (size_t)id * h->dim; }
static inline uint32_t *hlinks(const qk_hnsw *h, uint32_t id, int level) {
    if (level == 0) return h->link0 + (size_t)id * (1 + h->M0);
    return h->upper[id] + (size_t)(level - 1) * (1 + h->M);
}
static inline void node_lock(qk_hnsw *h, uint32_t id) {
    while (__atomic_test_and_set(&h->locks[id], __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&h->locks[id], __ATOMIC_RELAXED)) {
#if defined(__x86_64__) || defined(_M_X64)
            _mm_pause();
#endif
        }
    }
}
static inline void node_unlock(qk_hnsw *h, uint32_t id) { __atomic_clear(&h->locks[id], __ATOMIC_RELEASE); }
static inline int is_dead(const uint64_t *dead, uint32_t id) { return dead && ((dead[id >> 6] >> (id & 63)) & 1); }

// Max-heap (results: worst on top) and min-heap (candidates: best on top) of pairs.
static inline void heap_push(qk_pair *a, size_t *n, qk_pair v, int max) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) >> 1;
        if (max ? a[p].d >= v.d : a[p].d <= v.d) break;
        a[i] = a[p]; i = p;
    }
    a[i] = v;
}
static inline qk_pair heap_pop(qk_pair *a, size_t *n, int max) {
    qk_pair top = a[0], v = a[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && (max ? a[c + 1].d > a[c].d : a[c + 1].d < a[c].d)) c++;
        if (max ? a[c].d <= v.d : a[c].d >= v.d) break;
        a[i] = a[c]; i = c;
    }
    if (m > 0) a[i] = v;
    return top;
}

static qk_visited *visited_get(qk_hnsw *h, size_t ef) {
    pthread_mutex_lock(&h->pool_lock);
    qk_visited *v = h->pool;
    if (v) h->pool = v->next;
    pthread_mutex_unlock(&h->pool_lock);
    if (!v) { v = calloc(1, sizeof(qk_visited)); if (!v) return NULL; }
    if (v->cap < h->capacity) {
        free(v->tags);
        v->tags = calloc(h->capacity, sizeof(uint16_t));
        if (!v->tags) { v->cap = 0; free(v); return NULL; }
        v->cap = h->capacity; v->epoch = 0;
    }
    if (++v->epoch == 0) { memset(v->tags, 0, v->cap * sizeof(uint16_t)); v->epoch = 1; }
    size_t need = ef + h->M0 + 2;
    if (v->res_cap < need) {
        free(v->res); v->res = malloc(need * sizeof(qk_pair)); v->res_cap = v->res ? need : 0;
        if (!v->res) { free(v->tags); free(v->cand); free(v); return NULL; }
    }
    if (v->cand_cap < 4 * need) {
        free(v->cand); v->cand = malloc(4 * need * sizeof(qk_pair)); v->cand_cap = v->cand ? 4 * need : 0;
        if (!v->cand) { free(v->tags); free(v->res); free(v); return NULL; }
    }
    return v;
}
static void visited_put(qk_hnsw *h, qk_visited *v) {
    pthread_mutex_lock(&h->pool_lock);
    v->next = h->pool; h->pool = v;
    pthread_mutex_unlock(&h->pool_lock);
}
static int cand_grow(qk_visited *v) {
    size_t nc = v->cand_cap * 2;
    qk_pair *p = realloc(v->cand, nc * sizeof(qk_pair));
    if (!p) return -1;
    v->cand = p; v->cand_cap = nc;
    return 0;
}

// ------------------------------------------------------------------ lifecycle

qk_hnsw *qk_hnsw_create(size_t dim, int l2, size_t M, size_t efc) {
    qk_hnsw *h = calloc(1, sizeof(qk_hnsw));
    if (!h) return NULL;
    h->dim = dim; h->l2 = l2; h->M = M; h->M0 = 2 * M; h->efc = efc;
    h->entry = -1; h->max_level = -1;
    pthread_mutex_init(&h->global, NULL);
    pthread_mutex_init(&h->pool_lock, NULL);
    const qk_distance_table *t = qk_distance();
    h->fn = l2 ? t->l2sq : t->dot;
    return h;
}

void qk_hnsw_free(qk_hnsw *h) {
    if (!h) return;
    for (size_t i = 0; i < h->capacity; i++) free(h->upper[i]);
    free(h->upper); free(h->link0); free(h->levels); free(h->locks);
    while (h->pool) { qk_visited *v = h->pool; h->pool = v->next; free(v->tags); free(v->cand); free(v->res); free(v); }
    pthread_mutex_destroy(&h->global); pthread_mutex_destroy(&h->pool_lock);
    free(h);
}

int qk_hnsw_reserve(qk_hnsw *h, size_t cap) {
    if (cap <= h->capacity) return 0;
    size_t stride = 1 + h->M0;
    uint32_t *l0 = realloc(h->link0, cap * stride * sizeof(uint32_t));
    if (!l0) return -1;
    h->link0 = l0;
    uint32_t **up = realloc(h->upper, cap * sizeof(uint32_t *));
    if (!up) return -1;
    h->upper = up;
    uint8_t *lv = realloc(h->levels, cap);
    if (!lv) return -1;
    h->levels = lv;
    uint8_t *lk = realloc(h->locks, cap);
    if (!lk) return -1;
    h->locks = lk;
    for (size_t i = h->capacity; i < cap; i++) { l0[i * stride] = 0; up[i] = NULL; lv[i] = 0; lk[i] = 0; }
    h->capacity = cap;
    return 0;
}

void qk_hnsw_set_vectors(qk_hnsw *h, const float *v) { h->vecs = v; }

// ------------------------------------------------------------------ search

// Best-first search of one level from `ep`; leaves up to `ef` results in v->res (max-heap).
// `locked`: read neighbour lists under node locks (during concurrent inserts).
static size_t search_level(qk_hnsw *h, qk_visited *v, const float *q, uint32_t ep, float ep_d, int level,
                           size_t ef, int locked, const uint64_t *dead, qk_hnsw_allow_fn allow, void *ctx) {
    size_t nres = 0, ncand = 0;
    uint16_t epoch = v->epoch;
    uint16_t *tags = v->tags;
    int filtering = dead != NULL || allow != NULL;
    float bound = INFINITY;
    if (!is_dead(dead, ep) && (!allow || allow(ctx, ep))) {
        heap_push(v->res, &nres, (qk_pair){ep_d, ep}, 1);
        bound = ep_d;
    }
    heap_push(v->cand, &ncand, (qk_pair){ep_d, ep}, 0);
    tags[ep] = epoch;
    uint32_t buf[1 + 256];
    uint32_t fresh[256];
    uint64_t nd = 0;
    while (ncand > 0) {
        qk_pair c = v->cand[0];
        if (c.d > bound && (nres >= ef || !filtering)) break;
        heap_pop(v->cand, &ncand, 0);
        const uint32_t *links = hlinks(h, c.id, level);
        size_t n;
        if (locked) {
            node_lock(h, c.id);
            n = links[0];
            memcpy(buf + 1, links + 1, n * sizeof(uint32_t));
            node_unlock(h, c.id);
            links = buf;
        } else {
            n = links[0];
        }
        // Gather unvisited neighbours, prefetch their vectors, then score them.
        size_t nf = 0;
        for (size_t i = 1; i <= n; i++) {
            uint32_t id = links[i];
            if (tags[id] == epoch) continue;
            tags[id] = epoch;
            fresh[nf++] = id;
            QK_PREFETCH(hvec(h, id));
        }
        for (size_t i = 0; i < nf; i++) {
            uint32_t id = fresh[i];
            if (i + 1 < nf) {
                const char *nx = (const char *)hvec(h, fresh[i + 1]);
                QK_PREFETCH(nx + 64); QK_PREFETCH(nx + 128);
            }
            float d = hdist(h, q, hvec(h, id));
            nd++;
            if (nres < ef || d < bound) {
                if (ncand + 1 >= v->cand_cap && cand_grow(v) != 0) continue;
                heap_push(v->cand, &ncand, (qk_pair){d, id}, 0);
                if (!is_dead(dead, id) && (!allow || allow(ctx, id))) {
                    heap_push(v->res, &nres, (qk_pair){d, id}, 1);
                    if (nres > ef) heap_pop(v->res, &nres, 1);
                    bound = v->res[0].d;
                }
            }
        }
    }
    __atomic_fetch_add(&h->ndist, nd, __ATOMIC_RELAXED);
    return nres;
}

// Greedy descent on one upper level.
static uint32_t greedy(qk_hnsw *h, const float *q, uint32_t cur, float *cur_d, int level, int locked) {
    uint32_t buf[1 + 256];
    int changed = 1;
    while (changed) {
        changed = 0;
        const uint32_t *links = hlinks(h, cur, level);
        size_t n;
        if (locked) {
            node_lock(h, cur);
            n = links[0];
            memcpy(buf + 1, links + 1, n * sizeof(uint32_t));
            node_unlock(h, cur);
            links = buf;
        } else n = links[0];
        for (size_t i = 1; i <= n; i++) QK_PREFETCH(hvec(h, links[i]));
        for (size_t i = 1; i <= n; i++) {
            float d = hdist(h, q, hvec(h, links[i]));
            if (d < *cur_d) { *cur_d = d; cur = links[i]; changed = 1; }
        }
    }
    return cur;
}

static int pair_cmp(const void *a, const void *b) {
    float x = ((const qk_pair *)a)->d, y = ((const qk_pair *)b)->d;
    return x < y ? -1 : x > y;
}

size_t qk_hnsw_search(qk_hnsw *h, const float *q, size_t k, size_t ef, const uint64_t *dead,
                      qk_hnsw_allow_fn allow, void *ctx, uint32_t *out_ids, float *out_dist) {
    if (h->entry < 0 || k == 0) return 0;
    if (ef < k) ef = k;
    uint32_t cur = (uint32_t)h->entry;
    float cur_d = hdist(h, q, hvec(h, cur));
    for (int l = h->max_level; l > 0; l--) cur = greedy(h, q, cur, &cur_d, l, 0);
    qk_visited *v = visited_get(h, ef);
    if (!v) return 0;
    size_t n = search_level(h, v, q, cur, cur_d, 0, ef, 0, dead, allow, ctx);
    qsort(v->res, n, sizeof(qk_pair), pair_cmp);
    if (n > k) n = k;
    for (size_t i = 0; i < n; i++) { out_ids[i] = v->res[i].id; out_dist[i] = v->res[i].d; }
    visited_put(h, v);
    return n;
}

uint64_t qk_hnsw_distance_count(const qk_hnsw *h) { return __atomic_load_n(&h->ndist, __ATOMIC_RELAXED); }

// ------------------------------------------------------------------ construction

// Heuristic selection: keep a candidate only if it is closer to the base than to every one
// already kept. `c` sorted ascending by distance to the base; returns the kept count (<= m),
// compacted to the front of `c`.
static size_t select_heuristic(qk_hnsw *h, qk_pair *c, size_t n, size_t m) {
    if (n <= m) return n;
    size_t kept = 0;
    for (size_t i = 0; i < n && kept < m; i++) {
        int good = 1;
        const float *vi = hvec(h, c[i].id);
        for (size_t j = 0; j < kept; j++) {
            if (hdist(h, vi, hvec(h, c[j].id)) < c[i].d) { good = 0; break; }
        }
        if (good) c[kept++] = c[i];
    }
    return kept;
}

// Adds `id` to the links of `s` at `level`, re-selecting with the heuristic when full.
static void connect_back(qk_hnsw *h, uint32_t s, uint32_t id, int level) {
    size_t maxm = level == 0 ? h->M0 : h->M;
    qk_pair tmp[513];
    node_lock(h, s);
    uint32_t *links = hlinks(h, s, level);
    size_t n = links[0];
    int present = 0;
    for (size_t i = 1; i <= n; i++) if (links[i] == id) { present = 1; break; }
    if (!present) {
        if (n < maxm) {
            links[1 + n] = id; links[0] = (uint32_t)(n + 1);
        } else {
            const float *vs = hvec(h, s);
            for (size_t i = 0; i < n; i++) tmp[i] = (qk_pair){hdist(h, vs, hvec(h, links[1 + i])), links[1 + i]};
            tmp[n] = (qk_pair){hdist(h, vs, hvec(h, id)), id};
            qsort(tmp, n + 1, sizeof(qk_pair), pair_cmp);
            size_t kept = select_heuristic(h, tmp, n + 1, maxm);
            for (size_t i = 0; i < kept; i++) links[1 + i] = tmp[i].id;
            links[0] = (uint32_t)kept;
        }
    }
    node_unlock(h, s);
}

int qk_hnsw_insert(qk_hnsw *h, uint32_t id, int level) {
    if (id >= h->capacity || level < 0 || level > 255) return -1;
    if (level > 0) {
        uint32_t *up = calloc((size_t)level * (1 + h->M), sizeof(uint32_t));
        if (!up) return -1;
        h->upper[id] = up;
    }
    h->levels[id] = (uint8_t)level;
    h->link0[(size_t)id * (1 + h->M0)] = 0;
    size_t want = (size_t)id + 1, have = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
    while (have < want && !__atomic_compare_exchange_n(&h->count, &have, want, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}

    pthread_mutex_lock(&h->global);
    int maxl = h->max_level;
    int64_t ep = h->entry;
    int hold = level > maxl;
    if (ep < 0) {
        h->entry = id; h->max_level = level;
        pthread_mutex_unlock(&h->global);
        return 0;
    }
    if (!hold) pthread_mutex_unlock(&h->global);

    const float *q = hvec(h, id);
    uint32_t cur = (uint32_t)ep;
    float cur_d = hdist(h, q, hvec(h, cur));
    for (int l = maxl; l > level; l--) cur = greedy(h, q, cur, &cur_d, l, 1);

    qk_visited *v = visited_get(h, h->efc);
    if (!v) { if (hold) pthread_mutex_unlock(&h->global); return -1; }
    for (int l = level < maxl ? level : maxl; l >= 0; l--) {
        if (l != (level < maxl ? level : maxl)) {
            if (++v->epoch == 0) { memset(v->tags, 0, v->cap * sizeof(uint16_t)); v->epoch = 1; }
        }
        size_t n = search_level(h, v, q, cur, cur_d, l, h->efc, 1, NULL, NULL, NULL);
        qsort(v->res, n, sizeof(qk_pair), pair_cmp);
        cur = v->res[0].id; cur_d = v->res[0].d;
        size_t kept = select_heuristic(h, v->res, n, h->M);
        node_lock(h, id);
        uint32_t *mine = hlinks(h, id, l);
        for (size_t i = 0; i < kept; i++) mine[1 + i] = v->res[i].id;
        mine[0] = (uint32_t)kept;
        node_unlock(h, id);
        for (size_t i = 0; i < kept; i++) connect_back(h, v->res[i].id, id, l);
    }
    visited_put(h, v);
    if (hold) {
        if (level > h->max_level) { h->entry = id; h->max_level = level; }
        pthread_mutex_unlock(&h->global);
    }
    return 0;
}

// ------------------------------------------------------------------ serialization

size_t qk_hnsw_count(const qk_hnsw *h) { return h->count; }
int qk_hnsw_level(const qk_hnsw *h, uint32_t id) { return h->levels[id]; }
int64_t qk_hnsw_entry(const qk_hnsw *h) { return h->entry; }
int qk_hnsw_max_level(const qk_hnsw *h) { return h->max_level; }
const uint32_t *qk_hnsw_links0(const qk_hnsw *h) { return h->link0; }
const uint32_t *qk_hnsw_upper(const qk_hnsw *h, uint32_t id) { return h->upper[id]; }

int qk_hnsw_restore(qk_hnsw *h, size_t count, const uint8_t *levels, const uint32_t *links0,
                    const uint32_t *upper, size_t upper_len, int64_t entry, int max_level) {
    if (count > h->capacity && qk_hnsw_reserve(h, count) != 0) return -6;
    size_t stride0 = 1 + h->M0, strideu = 1 + h->M, pos = 0;
    int top = -1;
    for (size_t i = 0; i < count; i++) {
        const uint32_t *l = links0 + i * stride0;
        if (l[0] > h->M0) return -2;
        for (size_t j = 1; j <= l[0]; j++) if (l[j] >= count) return -3;
        if (levels[i] > 0) {
            size_t len = (size_t)levels[i] * strideu;
            if (pos + len > upper_len) return -4;
            for (int lv = 0; lv < levels[i]; lv++) {
                const uint32_t *u = upper + pos + (size_t)lv * strideu;
                if (u[0] > h->M) return -2;
                for (size_t j = 1; j <= u[0]; j++) if (u[j] >= count || levels[u[j]] < lv + 1) return -3;
            }
            pos += len;
        }
        if (levels[i] > top) top = levels[i];
    }
    if (pos != upper_len) return -4;
    if (count == 0 ? (entry != -1 || max_level != -1)
                   : (entry < 0 || (size_t)entry >= count || levels[entry] != max_level || max_level != top)) return -5;
    memcpy(h->link0, links0, count * stride0 * sizeof(uint32_t));
    memcpy(h->levels, levels, count);
    pos = 0;
    for (size_t i = 0; i < count; i++) {
        free(h->upper[i]); h->upper[i] = NULL;
        if (levels[i] > 0) {
            size_t len = (size_t)levels[i] * strideu;
            h->upper[i] = malloc(len * sizeof(uint32_t));
            if (!h->upper[i]) return -6;
            memcpy(h->upper[i], upper + pos, len * sizeof(uint32_t));
            pos += len;
        }
    }
    h->count = count; h->entry = entry; h->max_level = max_level;
    return 0;
}
