/* Unit tests: Via values. */
#include "msg_test.h"

static char mem[8192];

static int via(struct sipreg_via **v, const char *z, struct sipreg_perr *why)
{
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    return sipreg_via_parse(v, (struct sipreg_str){GUARD_Z(z), strlen(z)}, NULL, &a, why);
}

TEST(msg_via_values)
{
    struct sipreg_via *v;
    struct sipreg_perr why;
    ASSERT_EQ(via(&v,
                  "SIP / 2.0 / UDP 192.0.2.4 : 5062 ;branch=z9hG4bK77;rport;received=10.0.0.1;"
                  "maddr=224.2.0.1;ttl=16, SIP/2.0/TCP [2001:db8::9];branch=z9hG4bK88;rport=5070",
                  &why),
              0);
    ASSERT_STR(v->proto_name, "SIP");
    ASSERT_STR(v->proto_version, "2.0");
    ASSERT_STR(v->transport, "UDP");
    ASSERT_STR(v->host, "192.0.2.4");
    ASSERT_EQ(v->port, 5062);
    ASSERT_STR(v->branch, "z9hG4bK77");
    ASSERT_EQ(v->rport, 0);
    ASSERT_STR(v->received, "10.0.0.1");
    ASSERT_STR(v->maddr, "224.2.0.1");
    ASSERT_EQ(v->ttl, 16);
    v = v->next;
    ASSERT(v);
    ASSERT(v->host_ipv6);
    ASSERT_STR(v->host, "2001:db8::9");
    ASSERT_EQ(v->port, 0);
    ASSERT_EQ(v->rport, 5070);
    ASSERT_EQ(v->ttl, -1);
    ASSERT(!v->next);
    /* unknown transports are kept (RFC 4475 transports) */
    ASSERT_EQ(via(&v, "SIP/2.0/UNKNOWN t.example.com;branch=z9hG4bKx", &why), 0);
    ASSERT_STR(v->transport, "UNKNOWN");
    ASSERT_ABSENT(v->received);
    ASSERT_EQ(v->rport, -1);
    return 0;
}

TEST(msg_via_rejections)
{
    static const char *bad[] = {
        "",
        "SIP/2.0",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP ",
        "SIP/2.0 UDP h",
        "SIP/2.0/UDPh",
        "SIP/2.0/UDP h:",
        "SIP/2.0/UDP h:0",
        "SIP/2.0/UDP h:70000",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP h;branch",
        "SIP/2.0/UDP h;rport=0",
        "SIP/2.0/UDP h;rport=x",
        "SIP/2.0/UDP h;ttl=256",
        "SIP/2.0/UDP h;received",
        "SIP/2.0/UDP h junk",
        "SIP/2.0/UDP h,",
        "SIP/2.0/UDP h;x=\"open",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sipreg_via *v;
        struct sipreg_perr why;
        if (via(&v, bad[i], &why) != SIPREG_EPARSE)
            TEST_FAIL_("\"%s\" accepted", bad[i]);
    }
    return 0;
}
