#ifndef QK_HNSW_H
#define QK_HNSW_H
// The HNSW graph (hierarchical navigable small world) behind QuiverStore's HNSWIndex.
// Vectors live outside (the Swift VectorStorage, possibly memory-mapped): the graph holds a
// pointer to them, set with qk_hnsw_set_vectors after every reallocation.
// Thread safety: qk_hnsw_insert may run concurrently on distinct ids (per-node spin locks and a
// global lock for the entry point); qk_hnsw_search may run concurrently with other searches but
// not with inserts or reserve.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qk_hnsw qk_hnsw;

/// Filter callback: nonzero when internal id `id` may be returned.
typedef int (*qk_hnsw_allow_fn)(void *ctx, uint32_t id);

/// A new empty graph. `l2` nonzero: squared L2 distance; zero: negated dot product.
/// `M` links per node on upper levels, 2*M on level 0. NULL on allocation failure.
qk_hnsw *qk_hnsw_create(size_t dim, int l2, size_t M, size_t ef_construction);
void qk_hnsw_free(qk_hnsw *h);
/// Grows room for `capacity` nodes (never shrinks). Returns 0, or -1 when out of memory.
int qk_hnsw_reserve(qk_hnsw *h, size_t capacity);
/// The vectors of ids 0..<capacity, row-major, `dim` floats each.
void qk_hnsw_set_vectors(qk_hnsw *h, const float *vectors);
/// Inserts node `id` (its vector already stored) on levels 0...level. Returns 0, or -1 when
/// out of memory.
int qk_hnsw_insert(qk_hnsw *h, uint32_t id, int level);
/// The `k` nearest allowed, not-dead nodes to `q` (ascending distance: squared L2, or -dot).
/// `dead`: tombstone bitmap (NULL for none), traversed but never returned. `allow`: optional
/// filter. `ef` is raised to at least k. Returns the number written (<= k).
size_t qk_hnsw_search(qk_hnsw *h, const float *q, size_t k, size_t ef, const uint64_t *dead,
                      qk_hnsw_allow_fn allow, void *ctx, uint32_t *out_ids, float *out_dist);
/// Nodes visited (distance computations) by the last searches, summed; for tuning.
uint64_t qk_hnsw_distance_count(const qk_hnsw *h);

// Serialization: level-0 links are `count * (1 + 2M)` u32 ([n, ids...] per node); upper links are
// concatenated per node with level > 0 as `level * (1 + M)` u32.
size_t qk_hnsw_count(const qk_hnsw *h);
int qk_hnsw_level(const qk_hnsw *h, uint32_t id);
int64_t qk_hnsw_entry(const qk_hnsw *h);
int qk_hnsw_max_level(const qk_hnsw *h);
const uint32_t *qk_hnsw_links0(const qk_hnsw *h);
const uint32_t *qk_hnsw_upper(const qk_hnsw *h, uint32_t id);
/// Restores a graph of `count` nodes (reserve first). Validates every link; returns 0, or a
/// negative code: -1 bad level, -2 link count too large, -3 link to an id >= count, -4 upper
/// stream length mismatch, -5 bad entry point, -6 out of memory.
int qk_hnsw_restore(qk_hnsw *h, size_t count, const uint8_t *levels, const uint32_t *links0,
                    const uint32_t *upper, size_t upper_len, int64_t entry, int max_level);

#ifdef __cplusplus
}
#endif
#endif
