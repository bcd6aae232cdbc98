/* Unit test runner: runs registered tests by name, checks for leaks after each, and with --oom
 * re-runs each test failing the Nth allocation for N = 0, 1, 2 ... (libre test_oom idea). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"

struct test {
    const char *name;
    test_fn fn;
};

static struct test tests[1024];
static size_t ntests;

int test_oom_active;
long test_alloc_outstanding;
static long fail_after = -1; /* allocations left before one fails; -1: never */
static int oom_hit;

void test_register(const char *name, test_fn fn)
{
    if (ntests == sizeof tests / sizeof tests[0]) {
        fprintf(stderr, "too many tests\n");
        exit(2);
    }
    tests[ntests++] = (struct test){name, fn};
}

static int should_fail(void)
{
    if (fail_after < 0)
        return 0;
    if (fail_after == 0) {
        oom_hit = 1;
        return 1;
    }
    fail_after--;
    return 0;
}

static void *t_malloc(size_t n, void *ud)
{
    (void)ud;
    if (should_fail())
        return NULL;
    void *p = malloc(n);
    if (p) /* atomic: the server driver's workers allocate on their own threads */
        __atomic_fetch_add(&test_alloc_outstanding, 1, __ATOMIC_RELAXED);
    return p;
}

static void *t_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    if (should_fail())
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        __atomic_fetch_add(&test_alloc_outstanding, 1, __ATOMIC_RELAXED);
    return q;
}

static void t_free(void *p, void *ud)
{
    (void)ud;
    if (p)
        __atomic_fetch_sub(&test_alloc_outstanding, 1, __ATOMIC_RELAXED);
    free(p);
}

const char *guard_copy(const void *p, size_t n)
{
    static char *map;
    static size_t maplen;
    long pg = sysconf(_SC_PAGESIZE);
    size_t data_pages = (n + (size_t)pg - 1) / (size_t)pg;
    if (data_pages == 0)
        data_pages = 1;
    if (map)
        munmap(map, maplen);
    maplen = (data_pages + 1) * (size_t)pg;
    map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    char *guard = map + data_pages * (size_t)pg;
    if (mprotect(guard, (size_t)pg, PROT_NONE) != 0) {
        perror("mprotect");
        exit(2);
    }
    char *dst = guard - n;
    if (n)
        memcpy(dst, p, n);
    return dst;
}

static int run_one(const struct test *t, int oom)
{
    test_alloc_outstanding = 0;
    int rc = t->fn();
    if (rc == 0 && test_alloc_outstanding != 0) {
        fprintf(stderr, "%s: %ld allocation(s) leaked\n", t->name, test_alloc_outstanding);
        return 1;
    }
    if (rc != 0 || !oom)
        return rc;
    /* OOM sweep: fail allocation N until a run completes without hitting a failure. */
    for (long n = 0; n < 100000; n++) {
        test_alloc_outstanding = 0;
        fail_after = n;
        oom_hit = 0;
        test_oom_active = 1;
        (void)t->fn(); /* may fail under injected OOM; must not crash */
        test_oom_active = 0;
        fail_after = -1;
        if (test_alloc_outstanding != 0) {
            fprintf(stderr, "%s: leak of %ld block(s) when allocation %ld fails\n", t->name,
                    test_alloc_outstanding, n);
            return 1;
        }
        if (!oom_hit)
            return 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int oom = 0, list = 0, failed = 0, ran = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--oom") == 0)
            oom = 1;
        else if (strcmp(argv[i], "--list") == 0)
            list = 1;
        else
            only = argv[i];
    }
    struct sipreg_allocator a = {t_malloc, t_realloc, t_free, NULL};
    sipreg_set_allocator(&a);
    for (size_t i = 0; i < ntests; i++) {
        if (list) {
            printf("%s\n", tests[i].name);
            continue;
        }
        if (only && strcmp(only, tests[i].name) != 0)
            continue;
        ran++;
        int rc = run_one(&tests[i], oom);
        if (rc) {
            failed++;
            printf("FAIL %s\n", tests[i].name);
        } else if (!only) {
            printf("ok   %s\n", tests[i].name);
        }
    }
    if (list)
        return 0;
    if (only && ran == 0) {
        fprintf(stderr, "no test named %s\n", only);
        return 2;
    }
    if (!only)
        printf("%d passed, %d failed\n", ran - failed, failed);
    return failed ? 1 : 0;
}
