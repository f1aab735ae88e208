// int8 quantized matrix products (see qk_int8.h): VNNI, AVX2 and scalar forms over one packed layout.
#include "qk_int8.h"
#include "ops_internal.h"
#include <stdlib.h>

#if QK_X86
#include <cpuid.h>
#define QK_VNNI __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#endif

#define PANEL 64  // output channels per packed panel
/// Rows per block of the products: each block runs over every panel before the next starts, so the
/// block's output rows (block x n floats) stay in cache while the panels stream through; one pass
/// of all rows per panel instead writes the whole output once per panel and misses on every tile
/// once it outgrows L2 (the [tokens, 3 x 768] QKV output of a 2,048-token batch is 19 MB).
#ifndef ROW_BLOCK
#define ROW_BLOCK 48
#endif

size_t qk_int8_packed_bytes(long n, long k) {
    long panels = (n + PANEL - 1) / PANEL, k4 = (k + 3) / 4;
    return (size_t)panels * PANEL * (size_t)k4 * 4;
}

long qk_int8_row_bytes(long k) { return (k + 3) / 4 * 4; }

int qk_int8_has_vnni(void) {
#if QK_X86
    static volatile int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (v < 0) {
        unsigned int a, b, c, d;
        v = 0;
        if (qk_cpu_hardware_level() >= QK_LEVEL_AVX512 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) v = (c >> 11) & 1;
        __atomic_store_n(&cached, v, __ATOMIC_RELEASE);
    }
    return v;
#else
    return 0;
#endif
}

int qk_int8_effective_level(qk_level level) {
    qk_level l = qk_effective_level(level);
    if (l == QK_LEVEL_AVX512 && !qk_int8_has_vnni()) l = QK_LEVEL_AVX2;
    return (int)l;
}

static void pack_into(const int8_t *w, long n, long k, long ldw, int8_t *packed) {
    long k4 = (k + 3) / 4, panels = (n + PANEL - 1) / PANEL;
    memset(packed, 0, (size_t)panels * PANEL * (size_t)k4 * 4);
    for (long j = 0; j < n; j++) {
        long p = j / PANEL, jj = j % PANEL;
        for (long i = 0; i < k; i++) packed[((p * k4 + i / 4) * PANEL + jj) * 4 + i % 4] = w[j * ldw + i];
    }
}

void qk_int8_pack(const int8_t *w, long n, long k, long ldw, int8_t *packed, int32_t *colsums) {
    pack_into(w, n, k, ldw, packed);
    for (long j = 0; j < n; j++) {
        int32_t s = 0;
        for (long i = 0; i < k; i++) s += w[j * ldw + i];
        colsums[j] = s;
    }
}

void qk_int8_quantize_weights(const float *w, long n, long k, long ldw, int8_t *packed, float *scales, int32_t *colsums) {
    int8_t *q = malloc((size_t)(n > 0 ? n : 1) * (size_t)(k > 0 ? k : 1));
    for (long j = 0; j < n; j++) {
        const float *row = w + j * ldw;
        float m = 0;
        for (long i = 0; i < k; i++) { float a = fabsf(row[i]); if (a > m) m = a; }
        float s = m > 0 ? m / 127.0f : 1.0f;
        scales[j] = s;
        for (long i = 0; i < k; i++) {
            float v = nearbyintf(row[i] / s);
            if (v > 127) v = 127;
            if (v < -127) v = -127;
            q[j * k + i] = (int8_t)v;
        }
    }
    qk_int8_pack(q, n, k, k, packed, colsums);
    free(q);
}

// ---- activation quantization ----

static inline void row_params(float lo, float hi, float *scale_out, int32_t *zero_out, float *inv_out) {
    float scale = (hi - lo) / 255.0f;
    int32_t zero = 0;
    if (!(scale > 0) || !isfinite(scale)) scale = 1.0f;
    else {
        float z = nearbyintf(-lo / scale);
        zero = z < 0 ? 0 : (z > 255 ? 255 : (int32_t)z);
    }
    *scale_out = scale;
    *zero_out = zero;
    *inv_out = 1.0f / scale;
}

/// Where a quantization pass reads and what it also gathers: `keep` (NULL: all) zeroes the outlier
/// channels before the row range and the rounding, and the `o` channels of `outliers` are copied
/// to `xo` (rows `ldxo` floats apart) as they are.
typedef struct {
    const float *keep;
    const int32_t *outliers;
    long o;
    float *xo;
    long ldxo;
} qk_split;

static void gather_outliers(const qk_split *sp, const float *xr, long r) {
    float *t = sp->xo + r * sp->ldxo;
    for (long i = 0; i < sp->o; i++) t[i] = xr[sp->outliers[i]];
}

static void quantize_rows_scalar(const float *x, long m, long k, long ldx, uint8_t *q, long ldq, float *scales, int32_t *zeros,
                                 const qk_split *sp) {
    long rb = qk_int8_row_bytes(k);
    const float *keep = sp->keep;
    for (long r = 0; r < m; r++) {
        const float *xr = x + r * ldx;
        uint8_t *qr = q + r * ldq;
        float lo = 0, hi = 0;
        for (long c = 0; c < k; c++) { float v = keep ? xr[c] * keep[c] : xr[c]; if (v < lo) lo = v; if (v > hi) hi = v; }
        float inv;
        row_params(lo, hi, &scales[r], &zeros[r], &inv);
        int32_t zp = zeros[r];
        for (long c = 0; c < k; c++) {
            float t = (keep ? xr[c] * keep[c] : xr[c]) * inv;
            int32_t v = (int32_t)nearbyintf(t) + zp;
            qr[c] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
        }
        for (long c = k; c < rb; c++) qr[c] = 0;
        if (sp->o) gather_outliers(sp, xr, r);
    }
}

#if QK_X86
static QK_AVX2 void quantize_rows_avx2(const float *x, long m, long k, long ldx, uint8_t *q, long ldq, float *scales, int32_t *zeros,
                                        const qk_split *sp) {
    long rb = qk_int8_row_bytes(k);
    const float *keep = sp->keep;
    for (long r = 0; r < m; r++) {
        const float *xr = x + r * ldx;
        uint8_t *qr = q + r * ldq;
        __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps();
        long c = 0;
        for (; c + 8 <= k; c += 8) {
            __m256 v = _mm256_loadu_ps(xr + c);
            if (keep) v = _mm256_mul_ps(v, _mm256_loadu_ps(keep + c));
            vlo = _mm256_min_ps(vlo, v);
            vhi = _mm256_max_ps(vhi, v);
        }
        float lo = -qk_hmax_avx2(_mm256_sub_ps(_mm256_setzero_ps(), vlo)), hi = qk_hmax_avx2(vhi);
        for (; c < k; c++) { float v = keep ? xr[c] * keep[c] : xr[c]; if (v < lo) lo = v; if (v > hi) hi = v; }
        float inv;
        row_params(lo, hi, &scales[r], &zeros[r], &inv);
        int32_t zp = zeros[r];
        __m256 vinv = _mm256_set1_ps(inv);
        __m256i vzp = _mm256_set1_epi32(zp), v0 = _mm256_setzero_si256(), v255 = _mm256_set1_epi32(255);
        int32_t tmp[8];
        for (c = 0; c + 8 <= k; c += 8) {
            __m256 xv = _mm256_loadu_ps(xr + c);
            if (keep) xv = _mm256_mul_ps(xv, _mm256_loadu_ps(keep + c));
            __m256i v = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(xv, vinv)), vzp);
            v = _mm256_min_epi32(_mm256_max_epi32(v, v0), v255);
            _mm256_storeu_si256((__m256i *)tmp, v);
            for (int i = 0; i < 8; i++) qr[c + i] = (uint8_t)tmp[i];
        }
        for (; c < k; c++) {
            float t = (keep ? xr[c] * keep[c] : xr[c]) * inv;
            int32_t v = (int32_t)nearbyintf(t) + zp;
            qr[c] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
        }
        for (c = k; c < rb; c++) qr[c] = 0;
        if (sp->o) gather_outliers(sp, xr, r);
    }
}

static QK_AVX512 void quantize_rows_avx512(const float *x, long m, long k, long ldx, uint8_t *q, long ldq, float *scales, int32_t *zeros,
                                            const qk_split *sp) {
    long rb = qk_int8_row_bytes(k);
    const float *keep = sp->keep;
    for (long r = 0; r < m; r++) {
        const float *xr = x + r * ldx;
        uint8_t *qr = q + r * ldq;
        __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
        long c = 0;
        for (; c < k; c += 16) {
            __mmask16 mk = qk_mask_avx512(k - c);
            __m512 v = _mm512_maskz_loadu_ps(mk, xr + c);  // masked lanes are 0, inside [lo, hi] already
            if (keep) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mk, keep + c));
            vlo = _mm512_min_ps(vlo, v);
            vhi = _mm512_max_ps(vhi, v);
        }
        float lo = _mm512_reduce_min_ps(vlo), hi = _mm512_reduce_max_ps(vhi);
        float inv;
        row_params(lo, hi, &scales[r], &zeros[r], &inv);
        __m512 vinv = _mm512_set1_ps(inv);
        __m512i vzp = _mm512_set1_epi32(zeros[r]), v0 = _mm512_setzero_si512(), v255 = _mm512_set1_epi32(255);
        for (c = 0; c < rb; c += 16) {
            long left = rb - c;
            __mmask16 mk = qk_mask_avx512(k - c > 0 ? k - c : 0);
            __m512 xv = _mm512_maskz_loadu_ps(mk, xr + c);
            if (keep) xv = _mm512_mul_ps(xv, _mm512_maskz_loadu_ps(mk, keep + c));
            __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(xv, vinv)), vzp);
            v = _mm512_min_epi32(_mm512_max_epi32(v, v0), v255);
            v = _mm512_maskz_mov_epi32(mk, v);  // padding bytes past k are 0
            _mm512_mask_cvtusepi32_storeu_epi8(qr + c, qk_mask_avx512(left), v);
        }
        if (sp->o) gather_outliers(sp, xr, r);
    }
}
#endif

void qk_int8_quantize_rows_split_at(qk_level level, const float *x, long m, long k, long ldx, const float *keep,
                                    const int32_t *outliers, long o, uint8_t *q, long ldq, float *scales, int32_t *zeros,
                                    float *xo, long ldxo) {
    qk_split sp = {keep, outliers, o > 0 ? o : 0, xo, ldxo};
#if QK_X86
    switch (qk_effective_level(level)) {
    case QK_LEVEL_AVX512: quantize_rows_avx512(x, m, k, ldx, q, ldq, scales, zeros, &sp); return;
    case QK_LEVEL_AVX2: quantize_rows_avx2(x, m, k, ldx, q, ldq, scales, zeros, &sp); return;
    default: break;
    }
#else
    (void)level;
#endif
    quantize_rows_scalar(x, m, k, ldx, q, ldq, scales, zeros, &sp);
}

void qk_int8_quantize_rows_at(qk_level level, const float *x, long m, long k, long ldx, uint8_t *q, long ldq,
                              float *scales, int32_t *zeros) {
    qk_int8_quantize_rows_split_at(level, x, m, k, ldx, NULL, NULL, 0, q, ldq, scales, zeros, NULL, 0);
}

void qk_int8_quantize_rows(const float *x, long m, long k, long ldx, uint8_t *q, long ldq, float *scales, int32_t *zeros) {
    qk_int8_quantize_rows_at(qk_cpu_level(), x, m, k, ldx, q, ldq, scales, zeros);
}

size_t qk_int8_outlier_packed_floats(long n, long o) {
    long panels = (n + PANEL - 1) / PANEL;
    return (size_t)panels * PANEL * (size_t)(o > 0 ? o : 0);
}

void qk_int8_pack_outliers(const float *w, long n, long k, long ldw, const int32_t *outliers, long o, float *packed) {
    (void)k;
    memset(packed, 0, qk_int8_outlier_packed_floats(n, o) * sizeof(float));
    for (long j = 0; j < n; j++) {
        long p = j / PANEL, jj = j % PANEL;
        for (long c = 0; c < o; c++) packed[(p * o + c) * PANEL + jj] = w[j * ldw + outliers[c]];
    }
}

// ---- products ----

/// Where a finished int32 tile goes: raw (c) or dequantized (y).
typedef struct {
    int32_t *c;
    long ldc;
    float *y;
    long ldy;
    const float *a_scales;
    const int32_t *zeros;
    const float *w_scales;
    const int32_t *colsums;
    const float *bias;
    const float *xo;  // the float32 outlier inputs [m, o] (rows ldxo apart), or NULL
    long ldxo;
    const float *wo;  // their weights, qk_int8_pack_outliers' layout
    long o;
} qk_epilogue;

/// Stores `count` sums of row `r` starting at column `col` (the same float operations at every level).
static void store_sums(const qk_epilogue *e, long r, long col, const int32_t *acc, long count) {
    if (e->c) {
        for (long j = 0; j < count; j++) e->c[r * e->ldc + col + j] = acc[j];
        return;
    }
    float sa = e->a_scales[r];
    int32_t zp = e->zeros[r];
    float *yr = e->y + r * e->ldy + col;
    for (long j = 0; j < count; j++) {
        int32_t corr = (int32_t)((uint32_t)acc[j] - (uint32_t)zp * (uint32_t)e->colsums[col + j]);
        float scale = sa * e->w_scales[col + j];
        float v = (float)corr * scale;
        if (e->bias) v += e->bias[col + j];
        if (e->o) {
            const float *xr = e->xo + r * e->ldxo;
            const float *wp = e->wo + (col + j) / PANEL * e->o * PANEL + (col + j) % PANEL;
            for (long c = 0; c < e->o; c++) v = fmaf(xr[c], wp[c * PANEL], v);
        }
        yr[j] = v;
    }
}

static void gemm_scalar(const uint8_t *a, long lda, const int8_t *packed, long m, long n, long k, const qk_epilogue *e) {
    long k4 = (k + 3) / 4;
    int32_t acc[PANEL];
    for (long p = 0; p * PANEL < n; p++) {
        const int8_t *wp = packed + p * k4 * PANEL * 4;
        long jn = n - p * PANEL < PANEL ? n - p * PANEL : PANEL;
        for (long r = 0; r < m; r++) {
            const uint8_t *ar = a + r * lda;
            for (long j = 0; j < jn; j++) acc[j] = 0;
            for (long g = 0; g < k4; g++) {
                const int8_t *wg = wp + g * PANEL * 4;
                const uint8_t *ag = ar + 4 * g;
                for (long j = 0; j < jn; j++)
                    acc[j] += (int32_t)ag[0] * wg[4 * j] + (int32_t)ag[1] * wg[4 * j + 1]
                            + (int32_t)ag[2] * wg[4 * j + 2] + (int32_t)ag[3] * wg[4 * j + 3];
            }
            store_sums(e, r, p * PANEL, acc, jn);
        }
    }
}

#if QK_X86
/// MR rows x 8 columns at a time with exact 16-bit products (vpmaddwd), summed pairwise at the end.
static inline QK_AVX2 __attribute__((always_inline)) void tile_avx2(const uint8_t *a, long lda, const int8_t *wp, long k4,
                                                                    const int MR, long r0, long col, long jn, const qk_epilogue *e) {
    for (long ch = 0; ch * 8 < jn; ch++) {
        __m256i acc[4][2];
        for (int i = 0; i < MR; i++) { acc[i][0] = _mm256_setzero_si256(); acc[i][1] = _mm256_setzero_si256(); }
        for (long g = 0; g < k4; g++) {
            const int8_t *wg = wp + g * PANEL * 4 + ch * 32;
            __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wg));
            __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wg + 16)));
            for (int i = 0; i < MR; i++) {
                const uint8_t *ag = a + (r0 + i) * lda + 4 * g;
                long long pat = (long long)ag[0] | ((long long)ag[1] << 16) | ((long long)ag[2] << 32) | ((long long)ag[3] << 48);
                __m256i b = _mm256_set1_epi64x(pat);
                acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(b, w0));
                acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(b, w1));
            }
        }
        long cnt = jn - ch * 8 < 8 ? jn - ch * 8 : 8;
        for (int i = 0; i < MR; i++) {
            __m256i s = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[i][0], acc[i][1]), 0xD8);
            if (e->c || cnt < 8) {
                int32_t out[8];
                _mm256_storeu_si256((__m256i *)out, s);
                store_sums(e, r0 + i, col + ch * 8, out, cnt);
                continue;
            }
            // store_sums' operations, eight columns at a time.
            long r = r0 + i, c0 = col + ch * 8;
            __m256i corr = _mm256_sub_epi32(s, _mm256_mullo_epi32(_mm256_set1_epi32(e->zeros[r]),
                                                                  _mm256_loadu_si256((const __m256i *)(e->colsums + c0))));
            __m256 scale = _mm256_mul_ps(_mm256_set1_ps(e->a_scales[r]), _mm256_loadu_ps(e->w_scales + c0));
            __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(corr), scale);
            if (e->bias) y = _mm256_add_ps(y, _mm256_loadu_ps(e->bias + c0));
            if (e->o) {
                const float *xr = e->xo + r * e->ldxo, *wc = e->wo + col / PANEL * e->o * PANEL + ch * 8;
                for (long c = 0; c < e->o; c++) y = _mm256_fmadd_ps(_mm256_set1_ps(xr[c]), _mm256_loadu_ps(wc + c * PANEL), y);
            }
            _mm256_storeu_ps(e->y + r * e->ldy + c0, y);
        }
    }
}

static QK_AVX2 void gemm_avx2(const uint8_t *a, long lda, const int8_t *packed, long m, long n, long k, const qk_epilogue *e) {
    long k4 = (k + 3) / 4;
    for (long r0 = 0; r0 < m; r0 += ROW_BLOCK) {
        long end = r0 + ROW_BLOCK < m ? r0 + ROW_BLOCK : m;
        for (long p = 0; p * PANEL < n; p++) {
            const int8_t *wp = packed + p * k4 * PANEL * 4;
            long jn = n - p * PANEL < PANEL ? n - p * PANEL : PANEL;
            long r = r0;
            for (; r + 4 <= end; r += 4) tile_avx2(a, lda, wp, k4, 4, r, p * PANEL, jn, e);
            switch (end - r) {
            case 3: tile_avx2(a, lda, wp, k4, 3, r, p * PANEL, jn, e); break;
            case 2: tile_avx2(a, lda, wp, k4, 2, r, p * PANEL, jn, e); break;
            case 1: tile_avx2(a, lda, wp, k4, 1, r, p * PANEL, jn, e); break;
            default: break;
            }
        }
    }
}

#define MR 1
#define TILE_NAME tile_vnni_1
#include "ops_int8_tile_vnni.h"
#undef TILE_NAME
#undef MR
#define MR 2
#define TILE_NAME tile_vnni_2
#include "ops_int8_tile_vnni.h"
#undef TILE_NAME
#undef MR
#define MR 3
#define TILE_NAME tile_vnni_3
#include "ops_int8_tile_vnni.h"
#undef TILE_NAME
#undef MR
#define MR 4
#define TILE_NAME tile_vnni_4
#include "ops_int8_tile_vnni.h"
#undef TILE_NAME
#undef MR
#define MR 5
#define TILE_NAME tile_vnni_5
#include "ops_int8_tile_vnni.h"
#undef TILE_NAME
#undef MR
#define MR 6
#define TILE_NAME tile_vnni_6
#include "ops_int8_tile_vnni.h"
#undef TILE_NAME
#undef MR

static QK_VNNI void gemm_vnni(const uint8_t *a, long lda, const int8_t *packed, long m, long n, long k, const qk_epilogue *e) {
    long k4 = (k + 3) / 4;
    for (long r0 = 0; r0 < m; r0 += ROW_BLOCK) {
        long end = r0 + ROW_BLOCK < m ? r0 + ROW_BLOCK : m;
        for (long p = 0; p * PANEL < n; p++) {
            const int8_t *wp = packed + p * k4 * PANEL * 4;
            long jn = n - p * PANEL < PANEL ? n - p * PANEL : PANEL;
            long r = r0;
            for (; r + 6 <= end; r += 6) tile_vnni_6(a, lda, wp, k4, r, p * PANEL, jn, e);
            switch (end - r) {
            case 5: tile_vnni_5(a, lda, wp, k4, r, p * PANEL, jn, e); break;
            case 4: tile_vnni_4(a, lda, wp, k4, r, p * PANEL, jn, e); break;
            case 3: tile_vnni_3(a, lda, wp, k4, r, p * PANEL, jn, e); break;
            case 2: tile_vnni_2(a, lda, wp, k4, r, p * PANEL, jn, e); break;
            case 1: tile_vnni_1(a, lda, wp, k4, r, p * PANEL, jn, e); break;
            default: break;
            }
        }
    }
}
#endif

static void gemm_dispatch(qk_level level, const uint8_t *a, long lda, const int8_t *packed, long m, long n, long k, const qk_epilogue *e) {
    if (m <= 0 || n <= 0) return;
#if QK_X86
    switch (qk_int8_effective_level(level)) {
    case QK_LEVEL_AVX512: gemm_vnni(a, lda, packed, m, n, k, e); return;
    case QK_LEVEL_AVX2: gemm_avx2(a, lda, packed, m, n, k, e); return;
    default: break;
    }
#else
    (void)level;
#endif
    gemm_scalar(a, lda, packed, m, n, k, e);
}

void qk_int8_gemm_s32_at(qk_level level, const uint8_t *a, long lda, const int8_t *packed,
                         long m, long n, long k, int32_t *c, long ldc) {
    qk_epilogue e = {c, ldc, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0};
    gemm_dispatch(level, a, lda, packed, m, n, k, &e);
}

void qk_int8_gemm_f32_split_at(qk_level level, const uint8_t *a, long lda, const int8_t *packed, long m, long n, long k,
                               const float *a_scales, const int32_t *zeros, const float *w_scales, const int32_t *colsums,
                               const float *bias, const float *xo, long ldxo, const float *wo, long o, float *y, long ldy) {
    qk_epilogue e = {NULL, 0, y, ldy, a_scales, zeros, w_scales, colsums, bias, xo, ldxo, wo, o > 0 && xo && wo ? o : 0};
    gemm_dispatch(level, a, lda, packed, m, n, k, &e);
}

void qk_int8_gemm_f32_at(qk_level level, const uint8_t *a, long lda, const int8_t *packed, long m, long n, long k,
                         const float *a_scales, const int32_t *zeros, const float *w_scales, const int32_t *colsums,
                         const float *bias, float *y, long ldy) {
    qk_int8_gemm_f32_split_at(level, a, lda, packed, m, n, k, a_scales, zeros, w_scales, colsums, bias, NULL, 0, NULL, 0, y, ldy);
}

void qk_int8_gemm_f32(const uint8_t *a, long lda, const int8_t *packed, long m, long n, long k,
                      const float *a_scales, const int32_t *zeros, const float *w_scales, const int32_t *colsums,
                      const float *bias, float *y, long ldy) {
    qk_int8_gemm_f32_at(qk_cpu_level(), a, lda, packed, m, n, k, a_scales, zeros, w_scales, colsums, bias, y, ldy);
}
