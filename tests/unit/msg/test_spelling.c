/* The same value in two spellings, one the fast readers take and one they leave to the general
 * parsers, must give the same verdict at every arena size; and absent slices are empty ones. */
#include <string.h>

#include "msg_test.h"

/* A Via with `np` parameters, with one or two spaces before the host (two take the general
 * parser), parsed from exactly-sized guarded copies into an arena of `cap` bytes. */
static int via_with(int np, int spaces, size_t cap, size_t *used, size_t *nparams)
{
    char text[512];
    size_t n = (size_t)snprintf(text, sizeof text, "SIP/2.0/UDP%shost.example.com:5060",
                                spaces == 1 ? " " : "  ");
    for (int i = 0; i < np; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, ";p%d", i);
    n += (size_t)snprintf(text + n, sizeof text - n, ";branch=z9hG4bKx");
    static char mem[4096];
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, cap);
    struct sipreg_via *v = NULL;
    struct sipreg_perr why;
    int err = sipreg_via_parse(&v, (struct sipreg_str){GUARD_Z(text), n}, NULL, &a, &why);
    *used = a.used;
    *nparams = err == 0 ? v->params.n : 0;
    return err;
}

TEST(msg_via_arena_verdict_same_for_both_spellings)
{
    /* 15 to 17 parameters with the branch: either side of the general parser's 16 on the stack */
    for (int np = 14; np <= 16; np++) {
        int ok = 0, nomem = 0;
        for (size_t cap = 0; cap <= 2048; cap += 8) {
            size_t u1, u2, n1, n2;
            int e1 = via_with(np, 1, cap, &u1, &n1), e2 = via_with(np, 2, cap, &u2, &n2);
            if (e1 != e2)
                TEST_FAIL_("%d params, arena %zu: %d with one space, %d with two", np + 1, cap, e1,
                           e2);
            ASSERT(e1 == 0 || e1 == SIPREG_ENOMEM);
            if (e1 == 0) {
                ASSERT_EQ(n1, (size_t)np + 1);
                ASSERT_EQ(n2, (size_t)np + 1);
                ASSERT_EQ(u1, u2);
                ok++;
            } else {
                nomem++;
            }
        }
        ASSERT(ok > 0 && nomem > 0);
    }
    return 0;
}

TEST(msg_absent_slice_is_empty)
{
    char mem[512];
    struct sipreg_arena a;
    struct sipreg_perr why;
    sipreg_arena_init(&a, mem, sizeof mem);
    struct sipreg_via *v;
    struct sipreg_addr ad;
    struct sipreg_uri u;
    struct sipreg_contact *c;
    struct sipreg_cseq cs;
    uint32_t x;
    struct sipreg_auth au;
    ASSERT_EQ(sipreg_via_parse(&v, SIPREG_STR_NULL, NULL, &a, &why), SIPREG_EPARSE);
    ASSERT_EQ(why.offset, 0);
    ASSERT_EQ(sipreg_addr_parse(&ad, SIPREG_STR_NULL, NULL, &a, &why), SIPREG_EPARSE);
    ASSERT_EQ(sipreg_uri_parse(&u, SIPREG_STR_NULL, NULL, &a, &why), SIPREG_EPARSE);
    ASSERT_EQ(sipreg_contact_parse(&c, SIPREG_STR_NULL, NULL, &a, &why), SIPREG_EPARSE);
    ASSERT_EQ(sipreg_cseq_parse(&cs, SIPREG_STR_NULL, &why), SIPREG_EPARSE);
    ASSERT_EQ(sipreg_uint_parse(&x, SIPREG_STR_NULL, 10, &why), SIPREG_EPARSE);
    ASSERT_EQ(sipreg_auth_parse(&au, SIPREG_STR_NULL, NULL, &a, &why), SIPREG_EPARSE);
    return 0;
}
