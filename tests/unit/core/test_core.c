/* Unit tests: error table, allocator hook, arena, buffer, slices. */
#include <stdalign.h>

#include "test.h"

TEST(core_errors)
{
    ASSERT(strcmp(sipreg_strerror(SIPREG_ENOMEM), "out of memory") == 0);
    ASSERT(strcmp(sipreg_errname(SIPREG_EAGAIN), "SIPREG_EAGAIN") == 0);
    ASSERT(strcmp(sipreg_errname(0), "SIPREG_OK") == 0);
    ASSERT(strcmp(sipreg_strerror(-9999), "unknown error") == 0);
    return 0;
}

TEST(core_arena)
{
    char mem[256];
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    char *p = sipreg_arena_alloc(&a, 3);
    char *q = sipreg_arena_alloc(&a, 8);
    ASSERT(p && q);
    ASSERT_EQ((uintptr_t)q % alignof(max_align_t), 0);
    ASSERT(q >= p + 3);
    ASSERT(sipreg_arena_alloc(&a, 1000) == NULL);
    ASSERT(sipreg_arena_alloc(&a, SIZE_MAX) == NULL);
    sipreg_arena_reset(&a);
    ASSERT_EQ(a.used, 0);
    ASSERT(sipreg_arena_alloc(&a, 200) != NULL);
    struct sipreg_arena none;
    sipreg_arena_init(&none, NULL, 100);
    ASSERT(sipreg_arena_alloc(&none, 1) == NULL);
    return 0;
}

TEST(core_arena_mark_rewind)
{
    char mem[256];
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    char *p = sipreg_arena_alloc(&a, 10);
    ASSERT(p != NULL);
    size_t mark = sipreg_arena_mark(&a);
    ASSERT_EQ(mark, a.used);
    char *q = sipreg_arena_alloc(&a, 100);
    char *r = sipreg_arena_alloc(&a, 100);
    ASSERT(q && r);
    ASSERT(sipreg_arena_alloc(&a, 100) == NULL); /* full */
    sipreg_arena_rewind(&a, mark);
    ASSERT_EQ(sipreg_arena_mark(&a), mark);
    /* the space taken after the mark is handed out again, the one before it is kept */
    ASSERT(sipreg_arena_alloc(&a, 100) == q);
    ASSERT(sipreg_arena_alloc(&a, 100) == r);
    /* a mark beyond the current fill never grows the arena */
    size_t used = sipreg_arena_mark(&a);
    sipreg_arena_rewind(&a, used + 50);
    ASSERT_EQ(sipreg_arena_mark(&a), used);
    sipreg_arena_rewind(&a, 0);
    ASSERT(sipreg_arena_alloc(&a, 10) == p);
    return 0;
}

TEST(core_buf)
{
    char mem[16];
    struct sipreg_buf b;
    sipreg_buf_init(&b, mem, sizeof mem);
    sipreg_buf_addz(&b, "ab");
    sipreg_buf_addu(&b, 1234567);
    sipreg_buf_addi(&b, -42);
    ASSERT_EQ(sipreg_buf_status(&b), 0);
    ASSERT_EQ(b.len, 12);
    ASSERT(memcmp(mem, "ab1234567-42", 12) == 0);
    sipreg_buf_printf(&b, "%s", "toolong");
    ASSERT_EQ(sipreg_buf_status(&b), SIPREG_ENOSPC);
    ASSERT_EQ(b.len, 12);
    sipreg_buf_addc(&b, 'x'); /* sticky: nothing more is appended */
    ASSERT_EQ(b.len, 12);
    sipreg_buf_init(&b, mem, sizeof mem);
    sipreg_buf_printf(&b, "%d-%s", 7, "ok");
    ASSERT_EQ(b.len, 4);
    sipreg_buf_addi(&b, INT64_MIN);
    ASSERT_EQ(sipreg_buf_status(&b), SIPREG_ENOSPC);
    return 0;
}

TEST(core_str)
{
    uint64_t v;
    ASSERT(sipreg_str_eq(SIPREG_STR_LIT("abc"), sipreg_str_z("abc")));
    ASSERT(!sipreg_str_eq(SIPREG_STR_LIT("abc"), sipreg_str_z("abd")));
    ASSERT(sipreg_str_caseeqz(SIPREG_STR_LIT("Call-ID"), "call-id"));
    ASSERT(!sipreg_str_caseeqz(SIPREG_STR_LIT("Call-ID"), "call-i"));
    ASSERT_EQ(sipreg_str_to_u64(SIPREG_STR_LIT("4294967295"), 0xffffffffu, &v), 0);
    ASSERT_EQ(v, 4294967295LL);
    ASSERT_EQ(sipreg_str_to_u64(SIPREG_STR_LIT("4294967296"), 0xffffffffu, &v), SIPREG_EPARSE);
    ASSERT_EQ(sipreg_str_to_u64(SIPREG_STR_LIT("18446744073709551616"), UINT64_MAX, &v),
              SIPREG_EPARSE);
    ASSERT_EQ(sipreg_str_to_u64(SIPREG_STR_LIT(""), 10, &v), SIPREG_EPARSE);
    ASSERT_EQ(sipreg_str_to_u64(SIPREG_STR_LIT("1a"), 100, &v), SIPREG_EPARSE);
    /* a single digit above a small maximum (max - d must not wrap) */
    ASSERT_EQ(sipreg_str_to_u64(SIPREG_STR_LIT("7"), 5, &v), SIPREG_EPARSE);
    ASSERT_EQ(sipreg_str_to_u64(SIPREG_STR_LIT("5"), 5, &v), 0);
    ASSERT_EQ(v, 5);
    ASSERT_EQ(sipreg_str_to_u64(SIPREG_STR_LIT("0"), 0, &v), 0);
    return 0;
}

TEST(core_alloc_hook)
{
    long before = test_alloc_outstanding;
    void *p = sipreg_malloc(10);
    void *q = sipreg_calloc(4, 8);
    ASSERT(test_oom_active || (p && q));
    if (p && q)
        ASSERT_EQ(test_alloc_outstanding, before + 2);
    ASSERT(sipreg_calloc(SIZE_MAX / 2, 4) == NULL);
    void *r = sipreg_realloc(q, 64);
    if (r)
        q = r;
    sipreg_free(p);
    sipreg_free(q);
    sipreg_free(NULL);
    ASSERT_EQ(test_alloc_outstanding, before);
    return 0;
}

TEST(core_netaddr)
{
    struct sipreg_netaddr a, b;
    char out[SIPREG_NETADDR_STRLEN];
    ASSERT_EQ(sipreg_netaddr_parse(&a, "192.0.2.4:5070", 5060), 0);
    ASSERT_EQ(a.family, 4);
    ASSERT_EQ(a.port, 5070);
    ASSERT_EQ(a.transport, SIPREG_TRANSPORT_UDP);
    sipreg_netaddr_format(&a, out, sizeof out);
    ASSERT(strcmp(out, "udp:192.0.2.4:5070") == 0);
    ASSERT_EQ(sipreg_netaddr_parse(&b, "udp:192.0.2.4:5070", 1), 0);
    ASSERT(sipreg_netaddr_eq(&a, &b));
    ASSERT_EQ(sipreg_netaddr_parse(&a, "tcp:[2001:DB8:0:0:1::1]", 5060), 0);
    ASSERT_EQ(a.family, 6);
    ASSERT_EQ(a.port, 5060);
    ASSERT_EQ(a.transport, SIPREG_TRANSPORT_TCP);
    sipreg_netaddr_format(&a, out, sizeof out);
    ASSERT(strcmp(out, "tcp:[2001:db8::1:0:0:1]:5060") == 0);
    ASSERT_EQ(sipreg_netaddr_parse(&a, "[::1]:5062", 5060), 0);
    sipreg_netaddr_ip(&a, out, sizeof out);
    ASSERT(strcmp(out, "::1") == 0);
    ASSERT_EQ(sipreg_netaddr_parse(&a, "::ffff:192.0.2.1", 5060), 0);
    sipreg_netaddr_ip(&a, out, sizeof out);
    ASSERT(strcmp(out, "::ffff:c000:201") == 0);
    ASSERT_EQ(sipreg_netaddr_parse(&a, "127.0.0.1", 5060), 0);
    ASSERT(!sipreg_netaddr_eq(&a, &b));
    static const char *bad[] = {"",
                                "1.2.3",
                                "1.2.3.4.5",
                                "256.1.1.1",
                                "1.2.3.4:",
                                "1.2.3.4:70000",
                                "[::1",
                                "[::1]x",
                                "1:2:3:4:5:6:7:8:9",
                                "1::2::3",
                                "01.2.3.4",
                                "[12345::]",
                                "host.example.com:5060",
                                "sctp:1.2.3.4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sipreg_netaddr_parse(&a, bad[i], 5060) != SIPREG_EINVAL)
            TEST_FAIL_("\"%s\" accepted", bad[i]);
    return 0;
}

TEST(core_cidr)
{
    struct sipreg_cidr c;
    struct sipreg_netaddr a;
    ASSERT_EQ(sipreg_cidr_parse(&c, "10.0.0.0/8"), 0);
    ASSERT_EQ(c.family, 4);
    ASSERT_EQ(c.bits, 8);
    ASSERT_EQ(sipreg_netaddr_parse(&a, "10.200.3.4:5060", 5060), 0);
    ASSERT(sipreg_cidr_match(&c, &a));
    ASSERT_EQ(sipreg_netaddr_parse(&a, "11.0.0.1:5060", 5060), 0);
    ASSERT(!sipreg_cidr_match(&c, &a));
    ASSERT_EQ(sipreg_netaddr_parse(&a, "[::ffff:10.1.1.1]:5060", 5060), 0);
    ASSERT(sipreg_cidr_match(&c, &a)); /* IPv4-mapped */
    ASSERT_EQ(sipreg_cidr_parse(&c, "192.0.2.128/25"), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&a, "192.0.2.200:1", 5060), 0);
    ASSERT(sipreg_cidr_match(&c, &a));
    ASSERT_EQ(sipreg_netaddr_parse(&a, "192.0.2.127:1", 5060), 0);
    ASSERT(!sipreg_cidr_match(&c, &a));
    ASSERT_EQ(sipreg_cidr_parse(&c, "192.0.2.7"), 0); /* a bare address */
    ASSERT_EQ(c.bits, 32);
    ASSERT_EQ(sipreg_netaddr_parse(&a, "192.0.2.7:9", 5060), 0);
    ASSERT(sipreg_cidr_match(&c, &a));
    ASSERT_EQ(sipreg_cidr_parse(&c, "0.0.0.0/0"), 0);
    ASSERT(sipreg_cidr_match(&c, &a));
    ASSERT_EQ(sipreg_cidr_parse(&c, "2001:db8::/32"), 0);
    ASSERT_EQ(c.family, 6);
    ASSERT_EQ(sipreg_netaddr_parse(&a, "[2001:db8:ffff::1]:5060", 5060), 0);
    ASSERT(sipreg_cidr_match(&c, &a));
    ASSERT_EQ(sipreg_netaddr_parse(&a, "[2001:db9::1]:5060", 5060), 0);
    ASSERT(!sipreg_cidr_match(&c, &a));
    ASSERT_EQ(sipreg_netaddr_parse(&a, "10.0.0.1:5060", 5060), 0);
    ASSERT(!sipreg_cidr_match(&c, &a));
    /* refused: host bits set, bad lengths, junk */
    const char *bad[] = {
        "10.0.0.1/8",     "10.0.0.0/33",    "10.0.0.0/",       "10.0.0.0/-1", "10.0.0.0/8x",
        "2001:db8::1/32", "2001:db8::/129", "[2001:db8::]/32", "host/8",      "",
        "10.0.0.0/0008"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_EQ(sipreg_cidr_parse(&c, bad[i]), SIPREG_EINVAL);
    return 0;
}
