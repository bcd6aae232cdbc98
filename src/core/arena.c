/* Bump arena over caller memory with a hard cap (per-message structured values). */
#include "core/core_int.h"

void sipreg_arena_init(struct sipreg_arena *a, void *mem, size_t cap)
{
    a->base = mem;
    a->cap = mem ? cap : 0;
    a->used = 0;
}

void *sipreg_arena_alloc(struct sipreg_arena *a, size_t n)
{
    return sipreg__arena_alloc(a, n);
}

void sipreg_arena_reset(struct sipreg_arena *a)
{
    a->used = 0;
}

size_t sipreg_arena_mark(const struct sipreg_arena *a)
{
    return sipreg__arena_mark(a);
}

void sipreg_arena_rewind(struct sipreg_arena *a, size_t mark)
{
    if (mark < a->used)
        a->used = mark;
}
