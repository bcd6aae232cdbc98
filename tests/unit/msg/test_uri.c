/* Unit tests: SIP/SIPS/tel/other URI parsing. */
#include "msg_test.h"

static char mem[8192];

static int uri(struct sipreg_uri *u, const char *z, struct sipreg_perr *why)
{
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    return sipreg_uri_parse(u, (struct sipreg_str){GUARD_Z(z), strlen(z)}, NULL, &a, why);
}

TEST(msg_uri_sip)
{
    struct sipreg_uri u;
    struct sipreg_perr why;
    ASSERT_EQ(uri(&u, "sip:alice:secret@example.com:5070;transport=tcp;lr?subject=hi&x=y", &why),
              0);
    ASSERT_EQ(u.scheme, SIPREG_URI_SIP);
    ASSERT_STR(u.user, "alice");
    ASSERT_STR(u.password, "secret");
    ASSERT_STR(u.host, "example.com");
    ASSERT_EQ(u.port, 5070);
    ASSERT_EQ(u.params.n, 2);
    ASSERT_STR(sipreg_params_find(&u.params, "TRANSPORT")->value, "tcp");
    ASSERT_ABSENT(sipreg_params_find(&u.params, "lr")->value);
    ASSERT_EQ(u.headers.n, 2);
    ASSERT_STR(u.headers.v[1].name, "x");
    ASSERT_STR(u.headers.v[1].value, "y");

    ASSERT_EQ(uri(&u, "SIPS:[2001:db8::7]:5061", &why), 0);
    ASSERT_EQ(u.scheme, SIPREG_URI_SIPS);
    ASSERT(u.host_ipv6);
    ASSERT_STR(u.host, "2001:db8::7");
    ASSERT_EQ(u.port, 5061);
    ASSERT_ABSENT(u.user);

    /* escaped and unusual user parts (RFC 4475 esc01, escnull, semiuri) */
    ASSERT_EQ(uri(&u, "sip:sips%3Auser%40example.com@example.net", &why), 0);
    ASSERT_STR(u.user, "sips%3Auser%40example.com");
    ASSERT_EQ(uri(&u, "sip:null-%00-null@example.com", &why), 0);
    ASSERT_STR(u.user, "null-%00-null");
    ASSERT_EQ(uri(&u, "sip:user;par=u%40example.net@example.com", &why), 0);
    ASSERT_STR(u.user, "user;par=u%40example.net");
    ASSERT_STR(u.host, "example.com");
    return 0;
}

TEST(msg_uri_tel_and_other)
{
    struct sipreg_uri u;
    struct sipreg_perr why;
    ASSERT_EQ(uri(&u, "tel:+1-201-555-0123;phone-context=example.com", &why), 0);
    ASSERT_EQ(u.scheme, SIPREG_URI_TEL);
    ASSERT_STR(u.user, "+1-201-555-0123");
    ASSERT_STR(sipreg_params_find(&u.params, "phone-context")->value, "example.com");
    ASSERT_EQ(uri(&u, "soap.beep://192.0.2.103:3002", &why), 0);
    ASSERT_EQ(u.scheme, SIPREG_URI_OTHER);
    ASSERT_STR(u.scheme_s, "soap.beep");
    ASSERT_STR(u.opaque, "//192.0.2.103:3002");
    return 0;
}

TEST(msg_uri_rejections)
{
    static const char *bad[] = {
        "",
        "sip:",
        "sip:@example.com",
        "sip:user@",
        "sip:user@exa mple.com",
        "sip:user@example.com:",
        "sip:user@example.com:65536",
        "sip:user@example.com:5x",
        "sip:user@[2001:db8::1",
        "sip:user@[]",
        "sip:user@[zz]",
        "sip:us%zzer@example.com",
        "sip:us%4@example.com",
        "sip:user@example.com;=x",
        "sip:user@example.com;a=",
        "sip:user@example.com?noval",
        "sip:user@example.com?a=b&",
        "sip:user@example.com;lr>",
        "1sip:user@example.com",
        "sip",
        "tel:",
        "tel:12ab#g",
        "x:",
        "sip:a@b\x01",
        "sip:us\"er@h",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sipreg_uri u;
        struct sipreg_perr why;
        int rc = uri(&u, bad[i], &why);
        if (rc != SIPREG_EPARSE)
            TEST_FAIL_("\"%s\" accepted", bad[i]);
        ASSERT(why.code == SIPREG_PERR_URI || why.code == SIPREG_PERR_TOO_MANY_PARAMS);
    }
    return 0;
}

TEST(msg_uri_limits_and_arena)
{
    struct sipreg_uri u;
    struct sipreg_perr why;
    struct sipreg_arena a;
    struct sipreg_msg_limits lim = {.max_params = 2};
    const char *z = "sip:h;a;b;c";
    sipreg_arena_init(&a, mem, sizeof mem);
    ASSERT_EQ(sipreg_uri_parse(&u, sipreg_str_z(z), &lim, &a, &why), SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_TOO_MANY_PARAMS);
    lim.max_uri = 5;
    lim.max_params = 0;
    ASSERT_EQ(sipreg_uri_parse(&u, sipreg_str_z(z), &lim, &a, &why), SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_URI_TOO_LONG);
    /* an arena too small for the parameter array */
    char tiny[8];
    sipreg_arena_init(&a, tiny, sizeof tiny);
    ASSERT_EQ(sipreg_uri_parse(&u, sipreg_str_z(z), NULL, &a, &why), SIPREG_ENOMEM);
    ASSERT_EQ(why.code, SIPREG_PERR_NO_MEMORY);
    return 0;
}

TEST(msg_uri_default_port)
{
    struct sipreg_uri u;
    ASSERT_EQ(uri(&u, "sip:example.com", NULL), 0);
    ASSERT_EQ(sipreg_uri_port(&u), 5060);
    ASSERT_EQ(uri(&u, "sips:example.com", NULL), 0);
    ASSERT_EQ(sipreg_uri_port(&u), 5061);
    ASSERT_EQ(uri(&u, "sips:example.com:5099", NULL), 0);
    ASSERT_EQ(sipreg_uri_port(&u), 5099);
    ASSERT_EQ(uri(&u, "sip:[2001:db8::1]:7000", NULL), 0);
    ASSERT_EQ(sipreg_uri_port(&u), 7000);
    return 0;
}
