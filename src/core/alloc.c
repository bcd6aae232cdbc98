/* The single allocation hook every heap allocation of the library goes through. */
#include <stdlib.h>
#include <string.h>

#include "sipreg/core.h"

static void *std_malloc(size_t n, void *ud)
{
    (void)ud;
    return malloc(n);
}

static void *std_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    return realloc(p, n);
}

static void std_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static struct sipreg_allocator alloc = {std_malloc, std_realloc, std_free, NULL};

void sipreg_set_allocator(const struct sipreg_allocator *a)
{
    if (a && a->malloc && a->realloc && a->free)
        alloc = *a;
    else
        alloc = (struct sipreg_allocator){std_malloc, std_realloc, std_free, NULL};
}

void *sipreg_malloc(size_t n)
{
    return alloc.malloc(n ? n : 1, alloc.ud);
}

void *sipreg_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = sipreg_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *sipreg_realloc(void *p, size_t n)
{
    return alloc.realloc(p, n ? n : 1, alloc.ud);
}

void sipreg_free(void *p)
{
    if (p)
        alloc.free(p, alloc.ud);
}
