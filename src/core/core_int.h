/* Library-internal helpers of the core, shared by every area. */
#ifndef SIPREG_CORE_INT_H
#define SIPREG_CORE_INT_H

#include "sipreg/core.h"

/* The bodies of sipreg_arena_alloc(), sipreg_arena_mark() and sipreg_str_to_u64(), inline so
 * that the parsers' hot paths can use them without a call: one definition, reached two ways. */
static inline size_t sipreg__arena_mark(const struct sipreg_arena *a)
{
    return a->used;
}

static inline void *sipreg__arena_alloc(struct sipreg_arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    if (!a->base)
        return NULL;
    uintptr_t start = (uintptr_t)(a->base + a->used);
    size_t pad = (align - (start & (align - 1))) & (align - 1);
    if (n == 0)
        n = 1;
    if (pad > a->cap - a->used || n > a->cap - a->used - pad)
        return NULL;
    void *p = a->base + a->used + pad;
    a->used += pad + n;
    return p;
}

static inline int sipreg__dec_u64(struct sipreg_str s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0)
        return SIPREG_EPARSE;
    if (s.len <= 18) {
        /* 18 digits cannot overflow: one comparison at the end, no division per digit */
        for (size_t i = 0; i < s.len; i++) {
            unsigned d = (unsigned)(unsigned char)s.p[i] - '0';
            if (d > 9)
                return SIPREG_EPARSE;
            v = v * 10 + d;
        }
        if (v > max)
            return SIPREG_EPARSE;
    } else {
        for (size_t i = 0; i < s.len; i++) {
            unsigned d = (unsigned)(unsigned char)s.p[i] - '0';
            if (d > 9 || d > max || v > (max - d) / 10)
                return SIPREG_EPARSE;
            v = v * 10 + d;
        }
    }
    *out = v;
    return 0;
}

/* SipHash-2-4 of `len` bytes under a 16-byte key. */
uint64_t sipreg__siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
