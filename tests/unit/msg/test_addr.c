/* Unit tests: name-addr/addr-spec and Contact lists. */
#include "msg_test.h"

static char mem[16384];

static int addr(struct sipreg_addr *ad, const char *z, struct sipreg_perr *why)
{
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    return sipreg_addr_parse(ad, (struct sipreg_str){GUARD_Z(z), strlen(z)}, NULL, &a, why);
}

static int contacts(struct sipreg_contact **c, const char *z, struct sipreg_perr *why)
{
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    return sipreg_contact_parse(c, (struct sipreg_str){GUARD_Z(z), strlen(z)}, NULL, &a, why);
}

TEST(msg_addr_forms)
{
    struct sipreg_addr ad;
    struct sipreg_perr why;
    ASSERT_EQ(addr(&ad, "\"Alice \\\"A\\\" Liddell\" <sip:alice@example.com;lr>;tag=88sja8x", &why),
              0);
    ASSERT_STR(ad.display, "Alice \\\"A\\\" Liddell");
    ASSERT(ad.angle);
    ASSERT_STR(ad.uri.host, "example.com");
    ASSERT_EQ(ad.uri.params.n, 1);
    ASSERT_STR(ad.tag, "88sja8x");
    ASSERT_EQ(addr(&ad, "Bob Smith <sip:bob@h>", &why), 0);
    ASSERT_STR(ad.display, "Bob Smith");
    ASSERT_ABSENT(ad.tag);
    /* no LWS between display name and < (RFC 4475 lwsdisp) */
    ASSERT_EQ(addr(&ad, "caller<sip:caller@example.com>;tag=323", &why), 0);
    ASSERT_STR(ad.display, "caller");
    ASSERT_STR(ad.tag, "323");
    /* addr-spec: parameters after the URI belong to the header */
    ASSERT_EQ(addr(&ad, "sip:caller@example.net;tag=134161461246", &why), 0);
    ASSERT(!ad.angle);
    ASSERT_EQ(ad.uri.params.n, 0);
    ASSERT_STR(ad.tag, "134161461246");
    ASSERT_EQ(addr(&ad, "<tel:+12015550123>", &why), 0);
    ASSERT_EQ(ad.uri.scheme, SIPREG_URI_TEL);
    return 0;
}

TEST(msg_addr_rejections)
{
    static const struct {
        const char *z;
        enum sipreg_perr_code code;
    } bad[] = {
        {"\"Unterminated <sip:a@b>", SIPREG_PERR_QUOTE},
        {"Bell, Alexander <sip:a.g.bell@bell-tel.com>", SIPREG_PERR_ADDR},
        {"<sip:a@b", SIPREG_PERR_ADDR},
        {"\"x\" sip:a@b", SIPREG_PERR_ADDR},
        {"sip:user@example.com?Route=%3Csip:sip.example.com%3E", SIPREG_PERR_ADDR},
        {"<sip:a@b>;tag", SIPREG_PERR_PARAM},
        {"<sip:a@b>;tag=\"q\"", SIPREG_PERR_PARAM},
        {"<sip:a@b> junk", SIPREG_PERR_PARAM},
        {"<sip:a@b>;=1", SIPREG_PERR_PARAM},
        {"<sip:a@b>;x=\"open", SIPREG_PERR_QUOTE},
        {"<sip:a b@c>", SIPREG_PERR_URI},
        {"", SIPREG_PERR_URI},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sipreg_addr ad;
        struct sipreg_perr why;
        int rc = addr(&ad, bad[i].z, &why);
        if (rc != SIPREG_EPARSE || why.code != bad[i].code)
            TEST_FAIL_("\"%s\": rc %d %s, want %s", bad[i].z, rc, sipreg_perr_reason(why.code),
                       sipreg_perr_reason(bad[i].code));
    }
    return 0;
}

TEST(msg_contact_list)
{
    struct sipreg_contact *c;
    struct sipreg_perr why;
    ASSERT_EQ(contacts(&c,
                       "<sip:a@192.0.2.4:5060;transport=udp>;expires=7200;q=0.5;"
                       "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\";reg-id=1,"
                       " \"Quoted, Comma\" <sip:b@h2>;q=1.000 ,sip:c@h3;expires=99999999999;x",
                       &why),
              0);
    ASSERT(!c->star);
    ASSERT_STR(c->addr.uri.host, "192.0.2.4");
    ASSERT_EQ(c->expires, 7200);
    ASSERT_EQ(c->q, 500);
    ASSERT_STR(c->instance, "<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>");
    ASSERT_EQ(c->reg_id, 1);
    c = c->next;
    ASSERT(c);
    ASSERT_STR(c->addr.display, "Quoted, Comma");
    ASSERT_EQ(c->q, 1000);
    ASSERT_EQ(c->expires, -1);
    c = c->next;
    ASSERT(c);
    ASSERT_EQ(c->expires, 4294967295LL);
    ASSERT(sipreg_params_find(&c->addr.params, "x"));
    ASSERT(!c->next);
    ASSERT_EQ(contacts(&c, " * ", &why), 0);
    ASSERT(c->star);
    ASSERT(!c->next);
    return 0;
}

TEST(msg_contact_rejections)
{
    static const char *bad[] = {
        "",
        ",",
        "<sip:a@b>,",
        "<sip:a@b>;q=2",
        "<sip:a@b>;q=0.1234",
        "<sip:a@b>;q=x",
        "<sip:a@b>;q",
        "<sip:a@b>;expires=",
        "<sip:a@b>;expires=1x",
        "<sip:a@b>;reg-id=0",
        "<sip:a@b>;+sip.instance=abc",
        "<sip:a@b",
        "\"x",
        "<sip:a@b>;expires=-1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sipreg_contact *c;
        struct sipreg_perr why;
        if (contacts(&c, bad[i], &why) != SIPREG_EPARSE)
            TEST_FAIL_("\"%s\" accepted", bad[i]);
    }
    /* list length limit */
    struct sipreg_contact *c;
    struct sipreg_perr why;
    struct sipreg_arena a;
    struct sipreg_msg_limits lim = {.max_list = 2};
    sipreg_arena_init(&a, mem, sizeof mem);
    ASSERT_EQ(
        sipreg_contact_parse(&c, sipreg_str_z("<sip:a@b>,<sip:c@d>,<sip:e@f>"), &lim, &a, &why),
        SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_TOO_MANY_VALUES);
    return 0;
}
