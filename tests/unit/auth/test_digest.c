/* Tests for src/auth/digest.c: algorithm names, HA1 and request-digest known answers. */
#include "auth/auth_int.h"
#include "test.h"

#define S(z) sipreg_str_z(z)

TEST(auth_alg_parse_names)
{
    enum sipreg_auth_alg a;
    ASSERT_EQ(sipreg_auth_alg_parse(SIPREG_STR_NULL, &a), 0);
    ASSERT_EQ(a, SIPREG_AUTH_MD5);
    ASSERT_EQ(sipreg_auth_alg_parse(S("md5"), &a), 0);
    ASSERT_EQ(a, SIPREG_AUTH_MD5);
    ASSERT_EQ(sipreg_auth_alg_parse(S("MD5-SESS"), &a), 0);
    ASSERT_EQ(a, SIPREG_AUTH_MD5_SESS);
    ASSERT_EQ(sipreg_auth_alg_parse(S("sha-256"), &a), 0);
    ASSERT_EQ(a, SIPREG_AUTH_SHA256);
    ASSERT_EQ(sipreg_auth_alg_parse(S("SHA-256-sess"), &a), 0);
    ASSERT_EQ(a, SIPREG_AUTH_SHA256_SESS);
    ASSERT_EQ(sipreg_auth_alg_parse(S("SHA-512-256"), &a), 0);
    ASSERT_EQ(a, SIPREG_AUTH_SHA512_256);
    ASSERT_EQ(sipreg_auth_alg_parse(S("sha-512-256-Sess"), &a), 0);
    ASSERT_EQ(a, SIPREG_AUTH_SHA512_256_SESS);
    ASSERT_EQ(sipreg_auth_alg_parse(S(""), &a), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_alg_parse(S("SHA256"), &a), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_alg_parse(S("SHA-1"), &a), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_alg_parse(S("MD5 "), &a), SIPREG_EINVAL);
    for (int i = 0; i < SIPREG_AUTH_ALG__COUNT; i++) {
        ASSERT_EQ(sipreg_auth_alg_parse(S(sipreg_auth_alg_name((enum sipreg_auth_alg)i)), &a), 0);
        ASSERT_EQ(a, i);
    }
    ASSERT(strcmp(sipreg_auth_alg_name(SIPREG_AUTH_SHA256_SESS), "SHA-256-sess") == 0);
    ASSERT(strcmp(sipreg_auth_alg_name(SIPREG_AUTH_ALG__COUNT), "") == 0);
    ASSERT_EQ(sipreg_auth_alg_hexlen(SIPREG_AUTH_MD5_SESS), 32);
    ASSERT_EQ(sipreg_auth_alg_hexlen(SIPREG_AUTH_SHA512_256), 64);
    ASSERT_EQ(sipreg_auth_alg_hexlen(SIPREG_AUTH_ALG__COUNT), 0);
    ASSERT_EQ(sipreg_auth_alg_base(SIPREG_AUTH_SHA512_256_SESS), SIPREG_AUTH_SHA512_256);
    ASSERT_EQ(sipreg_auth_alg_base(SIPREG_AUTH_SHA256), SIPREG_AUTH_SHA256);
    ASSERT_EQ(sipreg_auth_alg_strength(SIPREG_AUTH_MD5_SESS), 1);
    ASSERT_EQ(sipreg_auth_alg_strength(SIPREG_AUTH_SHA256), 2);
    ASSERT_EQ(sipreg_auth_alg_strength(SIPREG_AUTH_SHA512_256_SESS), 3);
    ASSERT_EQ(sipreg_auth_alg_strength((enum sipreg_auth_alg)99), 1);
    return 0;
}

/* RFC 2617 §3.5: GET /dir/index.html, Mufasa / "Circle Of Life". */
TEST(auth_digest_rfc2617_md5)
{
    char ha1[SIPREG_AUTH_HEX_MAX], resp[SIPREG_AUTH_HEX_MAX];
    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_MD5, S("Mufasa"), S("testrealm@host.com"),
                              S("Circle Of Life"), ha1),
              0);
    struct sipreg_auth_calc c = {
        .alg = SIPREG_AUTH_MD5,
        .qop = SIPREG_AUTH_QOP_AUTH,
        .ha1 = S(ha1),
        .nonce = S("dcd98b7102dd2f0e8b11d0f600bfb0c093"),
        .cnonce = S("0a4f113b"),
        .nc = S("00000001"),
        .method = S("GET"),
        .uri = S("/dir/index.html"),
    };
    ASSERT_EQ(sipreg_auth_response(&c, resp), 0);
    ASSERT_STR(S(resp), "6629fae49393a05397450978507c4ef1");
    return 0;
}

/* RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256. */
TEST(auth_digest_rfc7616_md5_sha256)
{
    char ha1[SIPREG_AUTH_HEX_MAX], resp[SIPREG_AUTH_HEX_MAX];
    struct sipreg_auth_calc c = {
        .qop = SIPREG_AUTH_QOP_AUTH,
        .nonce = S("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"),
        .cnonce = S("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"),
        .nc = S("00000001"),
        .method = S("GET"),
        .uri = S("/dir/index.html"),
    };
    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_MD5, S("Mufasa"), S("http-auth@example.org"),
                              S("Circle of Life"), ha1),
              0);
    c.alg = SIPREG_AUTH_MD5;
    c.ha1 = S(ha1);
    ASSERT_EQ(sipreg_auth_response(&c, resp), 0);
    ASSERT_STR(S(resp), "8ca523f5e9506fed4657c9700eebdbec");

    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_SHA256, S("Mufasa"), S("http-auth@example.org"),
                              S("Circle of Life"), ha1),
              0);
    c.alg = SIPREG_AUTH_SHA256;
    c.ha1 = S(ha1);
    ASSERT_EQ(sipreg_auth_response(&c, resp), 0);
    ASSERT_STR(S(resp), "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    return 0;
}

/* A SIP REGISTER, every value derived independently with coreutils/openssl, e.g. for MD5:
 *   HA1=$(printf 'alice:atlanta.example.com:s3cr3t' | md5sum)         fc75c5f4...
 *   HA2=$(printf 'REGISTER:sip:atlanta.example.com' | md5sum)         29d4e618...
 *   printf "$HA1:$N:00000001:0a4f113b:auth:$HA2" | md5sum            (qop=auth)
 *   printf "$HA1:$N:$HA2" | md5sum                                    (no qop, RFC 2069)
 *   SHA1=$(printf "$HA1:$N:0a4f113b" | md5sum)                        (-sess HA1)
 *   printf "$SHA1:$N:00000002:0a4f113b:auth:$HA2" | md5sum           (-sess, nc=2)
 *   HB=$(printf 'v=0' | md5sum); HA2I=$(printf "REGISTER:sip:atlanta.example.com:$HB" | md5sum)
 *   printf "$HA1:$N:00000001:0a4f113b:auth-int:$HA2I" | md5sum       (qop=auth-int)
 * with N=ea9c8e88df84f1cec4341ae6cbe5a359, and the same with sha256sum and
 * `openssl dgst -sha512-256`. */
static const struct {
    enum sipreg_auth_alg base, sess;
    const char *ha1, *auth, *rfc2069, *sess_auth, *auth_int;
} sip_vec[] = {
    {SIPREG_AUTH_MD5, SIPREG_AUTH_MD5_SESS, "fc75c5f4eafef8505c1b57a15c7fbc42",
     "cd471ea7de83b57f2d706c7897b743dd", "f87227a842d9ca3c044e7fcc9a51c448",
     "6565f719cafda6179118b9ffca8c55a0", "9d77bea2ca290cd81a57cce289ab1000"},
    {SIPREG_AUTH_SHA256, SIPREG_AUTH_SHA256_SESS,
     "fddf6b2bb599516244a298569376446799a9a4a2d5a9458e328eb8c98bc2cd12",
     "949895c32642480ed46abb70fc8cc63f2c03e34db7eff94fe5bc29cc4f1a2406",
     "54db9853156000c601fffe579df324ba9a44a2c9de44e1e8c717abdd10f0f7a5",
     "5b8d37a90e18c591baceff0981b99b803c3d934d567a0134b7d3ea36df7cc7b5",
     "e41a95dc48bc1a02039753a6181d997a6ad438322abd6bde45e4d8d380fb5dfa"},
    {SIPREG_AUTH_SHA512_256, SIPREG_AUTH_SHA512_256_SESS,
     "e22db885c6c7cf8a41a7290a8fcfc4aa951ff0cec92be95c6799b73cb0f1d20a",
     "fec7fc7b40ba5d59c30b5402a65404a995cd487da089514731a74a30959aa42d",
     "2208590ad219d280752c34b78ea8cd3166c6b17612cf253ea24993d193d643bc",
     "4b494310de1e94c99fb3d4426a61db9e46d3770ef904301e35bca74a83c3da77",
     "6c84e5cba115795594000bbf4ca3eedfbb7cff0b52494fd2c661415420320dab"},
};

TEST(auth_digest_sip_register_vectors)
{
    char ha1[SIPREG_AUTH_HEX_MAX], resp[SIPREG_AUTH_HEX_MAX];
    for (size_t i = 0; i < sizeof sip_vec / sizeof sip_vec[0]; i++) {
        ASSERT_EQ(sipreg_auth_ha1(sip_vec[i].base, S("alice"), S("atlanta.example.com"),
                                  S("s3cr3t"), ha1),
                  0);
        ASSERT_STR(S(ha1), sip_vec[i].ha1);
        /* -sess has the same stored HA1: the session part is per response. */
        ASSERT_EQ(sipreg_auth_ha1(sip_vec[i].sess, S("alice"), S("atlanta.example.com"),
                                  S("s3cr3t"), ha1),
                  0);
        ASSERT_STR(S(ha1), sip_vec[i].ha1);
        struct sipreg_auth_calc c = {
            .alg = sip_vec[i].base,
            .qop = SIPREG_AUTH_QOP_AUTH,
            .ha1 = S(sip_vec[i].ha1),
            .nonce = S("ea9c8e88df84f1cec4341ae6cbe5a359"),
            .cnonce = S("0a4f113b"),
            .nc = S("00000001"),
            .method = S("REGISTER"),
            .uri = S("sip:atlanta.example.com"),
        };
        ASSERT_EQ(sipreg_auth_response(&c, resp), 0);
        ASSERT_STR(S(resp), sip_vec[i].auth);

        c.qop = SIPREG_AUTH_QOP_AUTH_INT;
        c.body = S("v=0");
        ASSERT_EQ(sipreg_auth_response(&c, resp), 0);
        ASSERT_STR(S(resp), sip_vec[i].auth_int);
        c.body = SIPREG_STR_NULL;
        ASSERT_EQ(sipreg_auth_response(&c, resp), 0); /* empty body: a different digest */
        ASSERT(strcmp(resp, sip_vec[i].auth_int) != 0);

        c.qop = SIPREG_AUTH_QOP_NONE;
        c.cnonce = c.nc = SIPREG_STR_NULL; /* ignored without a qop */
        ASSERT_EQ(sipreg_auth_response(&c, resp), 0);
        ASSERT_STR(S(resp), sip_vec[i].rfc2069);

        c.alg = sip_vec[i].sess;
        c.qop = SIPREG_AUTH_QOP_AUTH;
        c.cnonce = S("0a4f113b");
        c.nc = S("00000002");
        ASSERT_EQ(sipreg_auth_response(&c, resp), 0);
        ASSERT_STR(S(resp), sip_vec[i].sess_auth);
    }
    return 0;
}

TEST(auth_digest_response_input_rules)
{
    char resp[SIPREG_AUTH_HEX_MAX], up[33];
    struct sipreg_auth_calc c = {
        .alg = SIPREG_AUTH_MD5,
        .qop = SIPREG_AUTH_QOP_AUTH,
        .ha1 = S(sip_vec[0].ha1),
        .nonce = S("ea9c8e88df84f1cec4341ae6cbe5a359"),
        .cnonce = S("0a4f113b"),
        .nc = S("00000001"),
        .method = S("REGISTER"),
        .uri = S("sip:atlanta.example.com"),
    };
    /* An uppercase stored HA1 gives the same answer. */
    for (int i = 0; i < 32; i++) {
        char ch = sip_vec[0].ha1[i];
        up[i] = (ch >= 'a' && ch <= 'f') ? (char)(ch - 32) : ch;
    }
    up[32] = '\0';
    c.ha1 = S(up);
    ASSERT_EQ(sipreg_auth_response(&c, resp), 0);
    ASSERT_STR(S(resp), sip_vec[0].auth);
    /* Quoted-pair escapes are removed before hashing: \0\a4f... is 0a4f... */
    c.cnonce = S("\\0a4f\\1\\13b");
    ASSERT_EQ(sipreg_auth_response(&c, resp), 0);
    ASSERT_STR(S(resp), sip_vec[0].auth);
    c.cnonce = S("0a4f113b");

    /* HA1 of the wrong length for the algorithm. */
    c.alg = SIPREG_AUTH_SHA256;
    ASSERT_EQ(sipreg_auth_response(&c, resp), SIPREG_EINVAL);
    ASSERT_EQ(resp[0], '\0');
    c.alg = SIPREG_AUTH_ALG__COUNT;
    ASSERT_EQ(sipreg_auth_response(&c, resp), SIPREG_EINVAL);
    c.alg = SIPREG_AUTH_MD5;
    c.ha1 = SIPREG_STR_NULL;
    ASSERT_EQ(sipreg_auth_response(&c, resp), SIPREG_EINVAL);
    c.ha1 = S(sip_vec[0].ha1);
    /* A qop needs cnonce and nc. */
    c.cnonce = SIPREG_STR_NULL;
    ASSERT_EQ(sipreg_auth_response(&c, resp), SIPREG_EINVAL);
    c.cnonce = S("");
    ASSERT_EQ(sipreg_auth_response(&c, resp), SIPREG_EINVAL);
    c.cnonce = S("0a4f113b");
    c.nc = SIPREG_STR_NULL;
    ASSERT_EQ(sipreg_auth_response(&c, resp), SIPREG_EINVAL);
    c.nc = S("00000001");
    /* -sess without a qop has no cnonce to bind. */
    c.alg = SIPREG_AUTH_MD5_SESS;
    c.qop = SIPREG_AUTH_QOP_NONE;
    ASSERT_EQ(sipreg_auth_response(&c, resp), SIPREG_EINVAL);
    c.qop = (enum sipreg_auth_qop)7;
    ASSERT_EQ(sipreg_auth_response(&c, resp), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_ALG__COUNT, S("a"), S("b"), S("c"), resp), SIPREG_EINVAL);
    ASSERT_EQ(resp[0], '\0');
    return 0;
}

TEST(auth_digest_hash_unq)
{
    /* H("a\"b") computed through the unescaping path equals H of the plain bytes. */
    char a[SIPREG_AUTH_HEX_MAX], b[SIPREG_AUTH_HEX_MAX];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ASSERT(ctx);
    struct sipreg__hash h;
    sipreg__hash_begin(&h, ctx, SIPREG_AUTH_SHA256);
    sipreg__hash_add_unq(&h, S("a\\\"b\\\\c\\"));
    ASSERT_EQ(sipreg__hash_end_hex(&h, a), 0);
    sipreg__hash_begin(&h, ctx, SIPREG_AUTH_SHA256);
    sipreg__hash_add(&h, "a\"b\\c\\", 6); /* a trailing lone backslash is kept */
    ASSERT_EQ(sipreg__hash_end_hex(&h, b), 0);
    ASSERT(strcmp(a, b) == 0);
    /* A failed begin makes the whole hash fail. */
    sipreg__hash_begin(&h, NULL, SIPREG_AUTH_MD5);
    sipreg__hash_add(&h, "x", 1);
    ASSERT_EQ(sipreg__hash_end_hex(&h, a), SIPREG_ECRYPTO);
    ASSERT_EQ(a[0], '\0');
    EVP_MD_CTX_free(ctx);
    return 0;
}
