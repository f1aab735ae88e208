// Private: the per-level tables defined in distance_x86.c / distance_neon.c.
#ifndef QK_DISTANCE_INTERNAL_H
#define QK_DISTANCE_INTERNAL_H
#include "qk_distance.h"
#if defined(__x86_64__) || defined(_M_X64)
extern const qk_distance_table qk_table_avx2;
extern const qk_distance_table qk_table_avx512;
#elif defined(__aarch64__)
extern const qk_distance_table qk_table_neon;
#endif
#endif
