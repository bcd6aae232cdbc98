/* Bump arena over caller memory with a hard cap (per-message structured values). */
#include <stdalign.h>

#include "sipreg/core.h"

void sipreg_arena_init(struct sipreg_arena *a, void *mem, size_t cap)
{
    a->base = mem;
    a->cap = mem ? cap : 0;
    a->used = 0;
}

void *sipreg_arena_alloc(struct sipreg_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
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

void sipreg_arena_reset(struct sipreg_arena *a)
{
    a->used = 0;
}

size_t sipreg_arena_mark(const struct sipreg_arena *a)
{
    return a->used;
}

void sipreg_arena_rewind(struct sipreg_arena *a, size_t mark)
{
    if (mark < a->used)
        a->used = mark;
}
