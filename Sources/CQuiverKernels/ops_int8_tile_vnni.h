// One AVX-512 VNNI tile of the int8 product (ops_int8.c), included once per row count with MR
// (1...6) and TILE_NAME defined. Every accumulator is its own named variable (FOR_ROWS expands a
// row's code MR times): with arrays, clang kept some accumulators in memory (a reload and a store
// per vpdpbusd, or a memset per tile), differently per optimization level.

#if MR == 1
#define FOR_ROWS(X) X(0)
#elif MR == 2
#define FOR_ROWS(X) X(0) X(1)
#elif MR == 3
#define FOR_ROWS(X) X(0) X(1) X(2)
#elif MR == 4
#define FOR_ROWS(X) X(0) X(1) X(2) X(3)
#elif MR == 5
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4)
#elif MR == 6
#define FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#else
#error "MR must be 1...6"
#endif

#define TILE_DECLARE(i) \
    const uint8_t *row##i = a + (r0 + i) * lda; \
    __m512i acc##i##_0 = _mm512_setzero_si512(), acc##i##_1 = _mm512_setzero_si512(); \
    __m512i acc##i##_2 = _mm512_setzero_si512(), acc##i##_3 = _mm512_setzero_si512();
#define TILE_STEP(i) { \
    int32_t s##i; \
    memcpy(&s##i, row##i + 4 * g, 4); \
    __m512i b##i = _mm512_set1_epi32(s##i); \
    acc##i##_0 = _mm512_dpbusd_epi32(acc##i##_0, b##i, w0); \
    acc##i##_1 = _mm512_dpbusd_epi32(acc##i##_1, b##i, w1); \
    acc##i##_2 = _mm512_dpbusd_epi32(acc##i##_2, b##i, w2); \
    acc##i##_3 = _mm512_dpbusd_epi32(acc##i##_3, b##i, w3); }
#define TILE_STORE_RAW(i) { \
    int32_t *ci = e->c + (r0 + i) * e->ldc + col; \
    _mm512_mask_storeu_epi32(ci, m0, acc##i##_0); \
    _mm512_mask_storeu_epi32(ci + 16, m1, acc##i##_1); \
    _mm512_mask_storeu_epi32(ci + 32, m2, acc##i##_2); \
    _mm512_mask_storeu_epi32(ci + 48, m3, acc##i##_3); }
// store_sums' operations: (acc - zero * colsum) as float, times a_scale * w_scale, plus the bias.
#define TILE_DEQUANT_ONE(i, v) \
    __m512 y##i##_##v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc##i##_##v, _mm512_mullo_epi32(zp##i, sums##v))), \
                                      _mm512_mul_ps(sa##i, ws##v)); \
    if (e->bias) y##i##_##v = _mm512_add_ps(y##i##_##v, bias##v);
#define TILE_DEQUANT(i) \
    __m512i zp##i = _mm512_set1_epi32(e->zeros[r0 + i]); \
    __m512 sa##i = _mm512_set1_ps(e->a_scales[r0 + i]); \
    TILE_DEQUANT_ONE(i, 0) TILE_DEQUANT_ONE(i, 1) TILE_DEQUANT_ONE(i, 2) TILE_DEQUANT_ONE(i, 3)
#define TILE_OUTLIER(i) { \
    __m512 x##i = _mm512_set1_ps(xo[(r0 + i) * ldxo + c]); \
    y##i##_0 = _mm512_fmadd_ps(x##i, f0, y##i##_0); \
    y##i##_1 = _mm512_fmadd_ps(x##i, f1, y##i##_1); \
    y##i##_2 = _mm512_fmadd_ps(x##i, f2, y##i##_2); \
    y##i##_3 = _mm512_fmadd_ps(x##i, f3, y##i##_3); }
#define TILE_STORE(i) { \
    float *yi = e->y + (r0 + i) * e->ldy + col; \
    _mm512_mask_storeu_ps(yi, m0, y##i##_0); \
    _mm512_mask_storeu_ps(yi + 16, m1, y##i##_1); \
    _mm512_mask_storeu_ps(yi + 32, m2, y##i##_2); \
    _mm512_mask_storeu_ps(yi + 48, m3, y##i##_3); }

/// MR rows x 64 columns: 4 weight vectors per group of 4 k, one vpdpbusd per row and vector; then
/// the dequantizing epilogue in registers, the outlier channels' float32 products fused into it
/// (in channel order) and one store.
static QK_VNNI __attribute__((noinline)) void TILE_NAME(const uint8_t *a, long lda, const int8_t *wp, long k4, long r0,
                                                        long col, long jn, const qk_epilogue *e) {
    FOR_ROWS(TILE_DECLARE)
    for (long g = 0; g < k4; g++) {
        const int8_t *wg = wp + g * PANEL * 4;
        __m512i w0 = _mm512_loadu_si512(wg), w1 = _mm512_loadu_si512(wg + 64);
        __m512i w2 = _mm512_loadu_si512(wg + 128), w3 = _mm512_loadu_si512(wg + 192);
        FOR_ROWS(TILE_STEP)
    }
    __mmask16 m0 = qk_mask_avx512(jn), m1 = qk_mask_avx512(jn > 16 ? jn - 16 : 0);
    __mmask16 m2 = qk_mask_avx512(jn > 32 ? jn - 32 : 0), m3 = qk_mask_avx512(jn > 48 ? jn - 48 : 0);
    if (e->c) {
        FOR_ROWS(TILE_STORE_RAW)
        return;
    }
    __m512i sums0 = _mm512_maskz_loadu_epi32(m0, e->colsums + col), sums1 = _mm512_maskz_loadu_epi32(m1, e->colsums + col + 16);
    __m512i sums2 = _mm512_maskz_loadu_epi32(m2, e->colsums + col + 32), sums3 = _mm512_maskz_loadu_epi32(m3, e->colsums + col + 48);
    __m512 ws0 = _mm512_maskz_loadu_ps(m0, e->w_scales + col), ws1 = _mm512_maskz_loadu_ps(m1, e->w_scales + col + 16);
    __m512 ws2 = _mm512_maskz_loadu_ps(m2, e->w_scales + col + 32), ws3 = _mm512_maskz_loadu_ps(m3, e->w_scales + col + 48);
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps(), bias2 = _mm512_setzero_ps(), bias3 = _mm512_setzero_ps();
    if (e->bias) {
        bias0 = _mm512_maskz_loadu_ps(m0, e->bias + col); bias1 = _mm512_maskz_loadu_ps(m1, e->bias + col + 16);
        bias2 = _mm512_maskz_loadu_ps(m2, e->bias + col + 32); bias3 = _mm512_maskz_loadu_ps(m3, e->bias + col + 48);
    }
    FOR_ROWS(TILE_DEQUANT)
    if (e->o) {
        const float *wo = e->wo + col / PANEL * e->o * PANEL, *xo = e->xo;
        long ldxo = e->ldxo;
        for (long c = 0; c < e->o; c++) {
            const float *wc = wo + c * PANEL;
            __m512 f0 = _mm512_loadu_ps(wc), f1 = _mm512_loadu_ps(wc + 16);
            __m512 f2 = _mm512_loadu_ps(wc + 32), f3 = _mm512_loadu_ps(wc + 48);
            FOR_ROWS(TILE_OUTLIER)
        }
    }
    FOR_ROWS(TILE_STORE)
}

#undef FOR_ROWS
#undef TILE_DECLARE
#undef TILE_STEP
#undef TILE_STORE_RAW
#undef TILE_DEQUANT_ONE
#undef TILE_DEQUANT
#undef TILE_OUTLIER
#undef TILE_STORE
