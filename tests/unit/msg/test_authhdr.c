/* Unit tests: digest challenge and credentials headers. */
#include "msg_test.h"

static char mem[8192];

static int auth(struct sipreg_auth *au, const char *z, struct sipreg_perr *why)
{
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    return sipreg_auth_parse(au, (struct sipreg_str){GUARD_Z(z), strlen(z)}, NULL, &a, why);
}

TEST(msg_auth_credentials)
{
    struct sipreg_auth au;
    struct sipreg_perr why;
    ASSERT_EQ(auth(&au,
                   "Digest username=\"bob\", realm=\"biloxi.example.com\",\r\n nonce=\"dcd98b\", "
                   "uri=\"sip:registrar.biloxi.example.com\", response=\"6629fae4\", "
                   "algorithm=SHA-256, cnonce=\"0a4f113b\", qop=auth, nc=0000001F, "
                   "opaque=\"5ccc\", userhash=false",
                   &why),
              0);
    ASSERT_STR(au.scheme, "Digest");
    ASSERT_STR(au.username, "bob");
    ASSERT_STR(au.realm, "biloxi.example.com");
    ASSERT_STR(au.nonce, "dcd98b");
    ASSERT_STR(au.uri, "sip:registrar.biloxi.example.com");
    ASSERT_STR(au.response, "6629fae4");
    ASSERT_STR(au.algorithm, "SHA-256");
    ASSERT_STR(au.cnonce, "0a4f113b");
    ASSERT_STR(au.qop, "auth");
    ASSERT_STR(au.nc, "0000001F");
    ASSERT_EQ(au.nc_val, 31);
    ASSERT_STR(au.opaque, "5ccc");
    ASSERT_STR(au.userhash, "false");
    ASSERT_EQ(au.params.n, 11);
    ASSERT(!au.stale_true);
    return 0;
}

TEST(msg_auth_challenge_and_other_schemes)
{
    struct sipreg_auth au;
    struct sipreg_perr why;
    ASSERT_EQ(auth(&au, "Digest realm=\"r\",qop=\"auth,auth-int\",nonce=\"n\",stale=TRUE", &why),
              0);
    ASSERT_STR(au.qop, "auth,auth-int");
    ASSERT(au.stale_true);
    /* RFC 4475 regaut01: an unknown scheme parses, for the registrar to challenge */
    ASSERT_EQ(auth(&au, "NoOneKnowsThisScheme opaque-data=here", &why), 0);
    ASSERT_STR(au.scheme, "NoOneKnowsThisScheme");
    ASSERT_EQ(au.params.n, 1);
    ASSERT_EQ(auth(&au, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", &why), 0);
    ASSERT_STR(au.scheme, "Basic");
    ASSERT_EQ(auth(&au, "Digest", &why), 0);
    return 0;
}

TEST(msg_auth_rejections)
{
    static const char *bad[] = {
        "",
        "Digest realm",
        "Digest realm=",
        "Digest realm=\"open",
        "Digest realm=\"a\" nonce=\"b\"",
        "Digest nc=123",
        "Digest nc=0000000g",
        "Digest realm=\"a\", realm=\"b\"",
        "Digest ,",
        "Digest Basic xyz",
        "Dig\"est x=y",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sipreg_auth au;
        struct sipreg_perr why;
        if (auth(&au, bad[i], &why) != SIPREG_EPARSE)
            TEST_FAIL_("\"%s\" accepted", bad[i]);
    }
    return 0;
}
