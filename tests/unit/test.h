/* Unit test framework: TEST() registration, asserts that print both values, leak and OOM checks. */
#ifndef SIPREG_TEST_H
#define SIPREG_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sipreg/core.h"

typedef int (*test_fn)(void);
void test_register(const char *name, test_fn fn);

/* Set while the runner injects allocation failures: a test may then fail, but must not crash
 * or leak. */
extern int test_oom_active;
/* Heap blocks currently allocated through the sipreg allocator hook. */
extern long test_alloc_outstanding;

#define TEST(name)                                                 \
    static int test_##name(void);                                  \
    __attribute__((constructor)) static void test_reg_##name(void) \
    {                                                              \
        test_register(#name, test_##name);                         \
    }                                                              \
    static int test_##name(void)

#define TEST_FAIL_(...)                                                                    \
    do {                                                                                   \
        if (!test_oom_active) { /* failures under injected OOM are expected: stay quiet */ \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
        return 1;                                                                          \
    } while (0)

#define ASSERT(cond)                                   \
    do {                                               \
        if (!(cond))                                   \
            TEST_FAIL_("assertion failed: %s", #cond); \
    } while (0)

#define ASSERT_EQ(a, b)                                           \
    do {                                                          \
        long long a_ = (a), b_ = (b);                             \
        if (a_ != b_)                                             \
            TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_); \
    } while (0)

/* Compares a slice with a C string. */
#define ASSERT_STR(s, z)                                                              \
    do {                                                                              \
        struct sipreg_str s_ = (s);                                                   \
        const char *z_ = (z);                                                         \
        if (!s_.p || s_.len != strlen(z_) || memcmp(s_.p, z_, s_.len) != 0)           \
            TEST_FAIL_("%s: \"%.*s\"%s != \"%s\"", #s, (int)s_.len, s_.p ? s_.p : "", \
                       s_.p ? "" : " (absent)", z_);                                  \
    } while (0)

#define ASSERT_ABSENT(s)                                                           \
    do {                                                                           \
        struct sipreg_str s_ = (s);                                                \
        if (s_.p)                                                                  \
            TEST_FAIL_("%s should be absent, is \"%.*s\"", #s, (int)s_.len, s_.p); \
    } while (0)

/* A copy of `n` bytes placed so that the byte after the last one is an unmapped page: a
 * one-byte over-read faults even without a sanitizer. Valid until the next guard_copy(). */
const char *guard_copy(const void *p, size_t n);
#define GUARD_Z(z) guard_copy((z), strlen(z))

#endif
