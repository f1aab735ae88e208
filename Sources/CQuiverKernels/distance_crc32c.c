// CRC-32C for index file checksums: slicing-by-8 tables and the SSE4.2 crc32 instruction.
#include "qk_distance.h"
#include <string.h>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

static uint32_t qk_crc_table[8][256];
static volatile int qk_crc_ready = 0;

static void qk_crc_init(void) {
    if (__atomic_load_n(&qk_crc_ready, __ATOMIC_ACQUIRE)) return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        qk_crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) qk_crc_table[t][i] = (qk_crc_table[t - 1][i] >> 8) ^ qk_crc_table[0][qk_crc_table[t - 1][i] & 0xFF];
    __atomic_store_n(&qk_crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t qk_crc32c_scalar(uint32_t crc, const void *data, size_t n) {
    qk_crc_init();
    const uint8_t *p = (const uint8_t *)data;
    uint32_t c = ~crc;
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4); memcpy(&hi, p + 4, 4);  // little-endian hosts (x86-64, aarch64)
        lo ^= c;
        c = qk_crc_table[7][lo & 0xFF] ^ qk_crc_table[6][(lo >> 8) & 0xFF] ^ qk_crc_table[5][(lo >> 16) & 0xFF] ^
            qk_crc_table[4][lo >> 24] ^ qk_crc_table[3][hi & 0xFF] ^ qk_crc_table[2][(hi >> 8) & 0xFF] ^
            qk_crc_table[1][(hi >> 16) & 0xFF] ^ qk_crc_table[0][hi >> 24];
        p += 8; n -= 8;
    }
    while (n--) c = (c >> 8) ^ qk_crc_table[0][(c ^ *p++) & 0xFF];
    return ~c;
}

#if defined(__x86_64__) || defined(_M_X64)
__attribute__((target("sse4.2"))) static uint32_t qk_crc32c_hw(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    unsigned long long c = ~crc;
    while (n >= 8) {
        unsigned long long v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8; n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#endif

uint32_t qk_crc32c(uint32_t crc, const void *data, size_t n) {
#if defined(__x86_64__) || defined(_M_X64)
    if (qk_cpu_level() >= QK_LEVEL_AVX2) return qk_crc32c_hw(crc, data, n);
#endif
    return qk_crc32c_scalar(crc, data, n);
}
