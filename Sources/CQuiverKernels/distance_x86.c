// AVX2+FMA and AVX-512 distance kernels (function-level target attributes; chosen at run time).
#include "distance_internal.h"
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define QK_AVX2 __attribute__((target("avx2,fma")))
#define QK_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

// ---------------------------------------------------------------- AVX2 + FMA

QK_AVX2 static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

QK_AVX2 static float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

QK_AVX2 static float l2sq_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
        s0 = _mm256_fmadd_ps(d0, d0, s0); s1 = _mm256_fmadd_ps(d1, d1, s1);
        s2 = _mm256_fmadd_ps(d2, d2, s2); s3 = _mm256_fmadd_ps(d3, d3, s3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(d, d, s0);
    }
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) { float d = a[i] - b[i]; s += d * d; }
    return s;
}

QK_AVX2 static void dot_many_avx2(const float *q, const float *rows, size_t nrows, size_t dim, float *out) {
    for (size_t r = 0; r < nrows; r++) {
        if (r + 2 < nrows) _mm_prefetch((const char *)(rows + (r + 2) * dim), _MM_HINT_T0);
        out[r] = dot_avx2(q, rows + r * dim, dim);
    }
}

QK_AVX2 static void l2sq_many_avx2(const float *q, const float *rows, size_t nrows, size_t dim, float *out) {
    for (size_t r = 0; r < nrows; r++) out[r] = l2sq_avx2(q, rows + r * dim, dim);
}

// 2 queries x 4 rows per tile: 8 accumulators, 6 loads per 8 floats.
QK_AVX2 static void dot_batch_avx2(const float *qs, size_t nq, const float *rows, size_t nrows, size_t dim, float *out) {
    size_t i = 0;
    size_t d8 = dim & ~(size_t)7;
    for (; i + 2 <= nq; i += 2) {
        const float *q0 = qs + i * dim, *q1 = q0 + dim;
        size_t r = 0;
        for (; r + 4 <= nrows; r += 4) {
            const float *r0 = rows + r * dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            for (size_t k = 0; k < d8; k += 8) {
                __m256 x0 = _mm256_loadu_ps(q0 + k), x1 = _mm256_loadu_ps(q1 + k);
                __m256 y = _mm256_loadu_ps(r0 + k);
                a00 = _mm256_fmadd_ps(x0, y, a00); a10 = _mm256_fmadd_ps(x1, y, a10);
                y = _mm256_loadu_ps(r1 + k);
                a01 = _mm256_fmadd_ps(x0, y, a01); a11 = _mm256_fmadd_ps(x1, y, a11);
                y = _mm256_loadu_ps(r2 + k);
                a02 = _mm256_fmadd_ps(x0, y, a02); a12 = _mm256_fmadd_ps(x1, y, a12);
                y = _mm256_loadu_ps(r3 + k);
                a03 = _mm256_fmadd_ps(x0, y, a03); a13 = _mm256_fmadd_ps(x1, y, a13);
            }
            float t[8] = {hsum256(a00), hsum256(a01), hsum256(a02), hsum256(a03),
                          hsum256(a10), hsum256(a11), hsum256(a12), hsum256(a13)};
            for (size_t k = d8; k < dim; k++) {
                t[0] += q0[k] * r0[k]; t[1] += q0[k] * r1[k]; t[2] += q0[k] * r2[k]; t[3] += q0[k] * r3[k];
                t[4] += q1[k] * r0[k]; t[5] += q1[k] * r1[k]; t[6] += q1[k] * r2[k]; t[7] += q1[k] * r3[k];
            }
            float *o0 = out + i * nrows + r, *o1 = o0 + nrows;
            o0[0] = t[0]; o0[1] = t[1]; o0[2] = t[2]; o0[3] = t[3];
            o1[0] = t[4]; o1[1] = t[5]; o1[2] = t[6]; o1[3] = t[7];
        }
        for (; r < nrows; r++) {
            out[i * nrows + r] = dot_avx2(q0, rows + r * dim, dim);
            out[(i + 1) * nrows + r] = dot_avx2(q1, rows + r * dim, dim);
        }
    }
    for (; i < nq; i++) dot_many_avx2(qs + i * dim, rows, nrows, dim, out + i * nrows);
}

QK_AVX2 static float sq8_dot_avx2(const float *qs, const uint8_t *codes, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i c = _mm_loadu_si128((const __m128i *)(codes + i));
        __m256 c0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c));
        __m256 c1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c, 8)));
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(qs + i), c0, s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(qs + i + 8), c1, s1);
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += qs[i] * (float)codes[i];
    return s;
}

QK_AVX2 static float sq8_l2sq_avx2(const float *qm, const float *scale, const uint8_t *codes, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i c = _mm_loadu_si128((const __m128i *)(codes + i));
        __m256 c0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c));
        __m256 c1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c, 8)));
        __m256 d0 = _mm256_fnmadd_ps(_mm256_loadu_ps(scale + i), c0, _mm256_loadu_ps(qm + i));
        __m256 d1 = _mm256_fnmadd_ps(_mm256_loadu_ps(scale + i + 8), c1, _mm256_loadu_ps(qm + i + 8));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) { float d = qm[i] - scale[i] * (float)codes[i]; s += d * d; }
    return s;
}

const qk_distance_table qk_table_avx2 = {
    dot_avx2, l2sq_avx2, dot_many_avx2, l2sq_many_avx2, dot_batch_avx2, sq8_dot_avx2, sq8_l2sq_avx2,
};

// ---------------------------------------------------------------- AVX-512

QK_AVX512 static inline __mmask16 tail_mask(size_t left) { return (__mmask16)((1u << left) - 1u); }

QK_AVX512 static float dot_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

QK_AVX512 static float l2sq_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
        __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
        s0 = _mm512_fmadd_ps(d0, d0, s0); s1 = _mm512_fmadd_ps(d1, d1, s1);
        s2 = _mm512_fmadd_ps(d2, d2, s2); s3 = _mm512_fmadd_ps(d3, d3, s3);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s0 = _mm512_fmadd_ps(d, d, s0);
    }
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s1 = _mm512_fmadd_ps(d, d, s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

QK_AVX512 static void dot_many_avx512(const float *q, const float *rows, size_t nrows, size_t dim, float *out) {
    for (size_t r = 0; r < nrows; r++) {
        if (r + 2 < nrows) _mm_prefetch((const char *)(rows + (r + 2) * dim), _MM_HINT_T0);
        out[r] = dot_avx512(q, rows + r * dim, dim);
    }
}

QK_AVX512 static void l2sq_many_avx512(const float *q, const float *rows, size_t nrows, size_t dim, float *out) {
    for (size_t r = 0; r < nrows; r++) out[r] = l2sq_avx512(q, rows + r * dim, dim);
}

// Reduces 4 accumulators to one __m128 {sum(a), sum(b), sum(c), sum(d)}.
QK_AVX512 static inline __m128 hsum4x512(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m256 b8 = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
    __m256 c8 = _mm256_add_ps(_mm512_castps512_ps256(c), _mm512_extractf32x8_ps(c, 1));
    __m256 d8 = _mm256_add_ps(_mm512_castps512_ps256(d), _mm512_extractf32x8_ps(d, 1));
    __m256 ab = _mm256_hadd_ps(a8, b8), cd = _mm256_hadd_ps(c8, d8);
    __m256 abcd = _mm256_hadd_ps(ab, cd);  // lanes: [a01 b01 c01 d01 | a23 b23 c23 d23] partials
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// 4 queries x 4 rows per tile: 16 accumulators, 8 loads per 16 floats; masked tail.
QK_AVX512 static void dot_batch_avx512(const float *qs, size_t nq, const float *rows, size_t nrows, size_t dim, float *out) {
    size_t i = 0;
    size_t d16 = dim & ~(size_t)15;
    __mmask16 tm = tail_mask(dim - d16);
    for (; i + 4 <= nq; i += 4) {
        const float *q0 = qs + i * dim, *q1 = q0 + dim, *q2 = q1 + dim, *q3 = q2 + dim;
        size_t r = 0;
        for (; r + 4 <= nrows; r += 4) {
            const float *r0 = rows + r * dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
            __m512 z = _mm512_setzero_ps();
            __m512 a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
            __m512 a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
#define QK_TILE_STEP(LOADQ, LOADR)                                                         \
            {                                                                              \
                __m512 y0 = LOADR(r0), y1 = LOADR(r1), y2 = LOADR(r2), y3 = LOADR(r3);     \
                __m512 x = LOADQ(q0);                                                      \
                a00 = _mm512_fmadd_ps(x, y0, a00); a01 = _mm512_fmadd_ps(x, y1, a01);      \
                a02 = _mm512_fmadd_ps(x, y2, a02); a03 = _mm512_fmadd_ps(x, y3, a03);      \
                x = LOADQ(q1);                                                             \
                a10 = _mm512_fmadd_ps(x, y0, a10); a11 = _mm512_fmadd_ps(x, y1, a11);      \
                a12 = _mm512_fmadd_ps(x, y2, a12); a13 = _mm512_fmadd_ps(x, y3, a13);      \
                x = LOADQ(q2);                                                             \
                a20 = _mm512_fmadd_ps(x, y0, a20); a21 = _mm512_fmadd_ps(x, y1, a21);      \
                a22 = _mm512_fmadd_ps(x, y2, a22); a23 = _mm512_fmadd_ps(x, y3, a23);      \
                x = LOADQ(q3);                                                             \
                a30 = _mm512_fmadd_ps(x, y0, a30); a31 = _mm512_fmadd_ps(x, y1, a31);      \
                a32 = _mm512_fmadd_ps(x, y2, a32); a33 = _mm512_fmadd_ps(x, y3, a33);      \
            }
            size_t k = 0;
#define QK_LD(p) _mm512_loadu_ps((p) + k)
#define QK_LDM(p) _mm512_maskz_loadu_ps(tm, (p) + k)
            for (; k < d16; k += 16) QK_TILE_STEP(QK_LD, QK_LD)
            if (k < dim) QK_TILE_STEP(QK_LDM, QK_LDM)
#undef QK_LD
#undef QK_LDM
#undef QK_TILE_STEP
            _mm_storeu_ps(out + i * nrows + r, hsum4x512(a00, a01, a02, a03));
            _mm_storeu_ps(out + (i + 1) * nrows + r, hsum4x512(a10, a11, a12, a13));
            _mm_storeu_ps(out + (i + 2) * nrows + r, hsum4x512(a20, a21, a22, a23));
            _mm_storeu_ps(out + (i + 3) * nrows + r, hsum4x512(a30, a31, a32, a33));
        }
        for (; r < nrows; r++) {
            const float *rr = rows + r * dim;
            out[i * nrows + r] = dot_avx512(q0, rr, dim);
            out[(i + 1) * nrows + r] = dot_avx512(q1, rr, dim);
            out[(i + 2) * nrows + r] = dot_avx512(q2, rr, dim);
            out[(i + 3) * nrows + r] = dot_avx512(q3, rr, dim);
        }
    }
    for (; i < nq; i++) dot_many_avx512(qs + i * dim, rows, nrows, dim, out + i * nrows);
}

QK_AVX512 static float sq8_dot_avx512(const float *qs, const uint8_t *codes, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 c0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(codes + i))));
        __m512 c1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(codes + i + 16))));
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(qs + i), c0, s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(qs + i + 16), c1, s1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        __m512 c = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, codes + i)));
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, qs + i), c, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

QK_AVX512 static float sq8_l2sq_avx512(const float *qm, const float *scale, const uint8_t *codes, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : tail_mask(n - i);
        __m512 c = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, codes + i)));
        __m512 d = _mm512_fnmadd_ps(_mm512_maskz_loadu_ps(m, scale + i), c, _mm512_maskz_loadu_ps(m, qm + i));
        if ((i / 16) & 1) s1 = _mm512_fmadd_ps(d, d, s1); else s0 = _mm512_fmadd_ps(d, d, s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

const qk_distance_table qk_table_avx512 = {
    dot_avx512, l2sq_avx512, dot_many_avx512, l2sq_many_avx512, dot_batch_avx512, sq8_dot_avx512, sq8_l2sq_avx512,
};
#endif
