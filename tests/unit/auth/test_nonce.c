/* Tests for src/auth/nonce.c: secrets, base64url, stateless nonces with a fake clock, dummy HA1. */
#include "auth/auth_int.h"
#include "fake_clock.h"
#include "test.h"

#define S(z) sipreg_str_z(z)
#define LIFE 300000
#define SKEW 2000

static const uint8_t key_a[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

TEST(auth_secret_init)
{
    struct sipreg_auth_secret a, b, r1, r2;
    uint8_t k[33] = {0};
    ASSERT_EQ(sipreg_auth_secret_init(&a, k, 31), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_secret_init(&a, k, 33), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_secret_init(&a, NULL, 32), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_secret_init(&a, key_a, 32), 0);
    ASSERT_EQ(sipreg_auth_secret_init(&b, key_a, 32), 0);
    ASSERT(memcmp(&a, &b, sizeof a) == 0); /* a store can persist the key and reload it */
    ASSERT_EQ(strlen(a.opaque), SIPREG_AUTH_OPAQUE_LEN);
    ASSERT(memcmp(a.k_nonce, a.key, 32) != 0);
    ASSERT(memcmp(a.k_nonce, a.k_dummy, 32) != 0);
    ASSERT_EQ(sipreg_auth_secret_init(&b, k, 32), 0);
    ASSERT(strcmp(a.opaque, b.opaque) != 0);
    ASSERT_EQ(sipreg_auth_secret_init_random(&r1), 0);
    ASSERT_EQ(sipreg_auth_secret_init_random(&r2), 0);
    ASSERT(memcmp(r1.key, r2.key, 32) != 0);
    ASSERT(strcmp(r1.opaque, r2.opaque) != 0);
    sipreg_auth_secret_fini(&r1);
    static const struct sipreg_auth_secret zero;
    ASSERT(memcmp(&r1, &zero, sizeof zero) == 0);
    return 0;
}

TEST(auth_b64url)
{
    /* RFC 4648 §10 vectors, unpadded; '+' and '/' become '-' and '_'. */
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
             {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
    char out[16];
    uint8_t back[8];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i].in);
        sipreg__b64url_encode(out, (const uint8_t *)v[i].in, n);
        ASSERT(strcmp(out, v[i].out) == 0);
        ASSERT_EQ(sipreg__b64url_decode(back, n, S(v[i].out)), 0);
        ASSERT(memcmp(back, v[i].in, n) == 0);
    }
    ASSERT_EQ(sipreg__b64url_decode(back, 2, S("-_9")), SIPREG_EPARSE); /* unused bits set */
    ASSERT_EQ(sipreg__b64url_decode(back, 2, S("+/8")), SIPREG_EPARSE); /* not url alphabet */
    ASSERT_EQ(sipreg__b64url_decode(back, 2, S("-_8=")), SIPREG_EPARSE);
    ASSERT_EQ(sipreg__b64url_decode(back, 2, S("-_")), SIPREG_EPARSE);
    ASSERT_EQ(sipreg__b64url_decode(back, 1, SIPREG_STR_NULL), SIPREG_EPARSE);
    return 0;
}

TEST(auth_nonce_roundtrip)
{
    struct sipreg_auth_secret s, other_node;
    struct fake_clock clk = {.now = 1700000000000};
    char n1[SIPREG_AUTH_NONCE_LEN + 1], n2[SIPREG_AUTH_NONCE_LEN + 1];
    struct sipreg_auth_nonce_info info;
    ASSERT_EQ(sipreg_auth_secret_init(&s, key_a, 32), 0);
    ASSERT_EQ(sipreg_auth_nonce_build(&s, S("example.com"), NULL, clk.now, n1), 0);
    ASSERT_EQ(strlen(n1), SIPREG_AUTH_NONCE_LEN);
    for (size_t i = 0; i < SIPREG_AUTH_NONCE_LEN; i++)
        ASSERT(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", n1[i]));
    ASSERT_EQ(sipreg_auth_nonce_build(&s, S("example.com"), NULL, clk.now, n2), 0);
    ASSERT(strcmp(n1, n2) != 0); /* same instant, different random part */
    memset(&info, 0, sizeof info);
    ASSERT_EQ(
        sipreg_auth_nonce_verify(&s, S("example.com"), NULL, S(n1), clk.now, LIFE, SKEW, &info), 0);
    ASSERT_EQ(info.issued, clk.now);
    uint8_t raw[36];
    ASSERT_EQ(sipreg__b64url_decode(raw, 36, S(n1)), 0);
    ASSERT(memcmp(info.tag, raw + 20, 16) == 0);
    ASSERT_EQ(
        sipreg_auth_nonce_verify(&s, S("example.com"), NULL, S(n1), clk.now, LIFE, SKEW, NULL), 0);
    /* Any node holding the same secret bytes accepts it. */
    ASSERT_EQ(sipreg_auth_secret_init(&other_node, key_a, 32), 0);
    ASSERT_EQ(sipreg_auth_nonce_verify(&other_node, S("example.com"), NULL, S(n1),
                                       fake_clock_advance(&clk, 1000), LIFE, SKEW, NULL),
              0);
    return 0;
}

TEST(auth_nonce_tampered)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    struct sipreg_auth_secret s, wrong;
    char n[SIPREG_AUTH_NONCE_LEN + 1], t[SIPREG_AUTH_NONCE_LEN + 1];
    sipreg_time now = 5000000;
    ASSERT_EQ(sipreg_auth_secret_init(&s, key_a, 32), 0);
    ASSERT_EQ(sipreg_auth_secret_init_random(&wrong), 0);
    ASSERT_EQ(sipreg_auth_nonce_build(&s, S("example.com"), NULL, now, n), 0);
    /* Every other character at every position: forged. */
    for (size_t i = 0; i < SIPREG_AUTH_NONCE_LEN; i++) {
        for (size_t j = 0; j < 64; j++) {
            if (alphabet[j] == n[i])
                continue;
            memcpy(t, n, sizeof t);
            t[i] = alphabet[j];
            ASSERT_EQ(
                sipreg_auth_nonce_verify(&s, S("example.com"), NULL, S(t), now, LIFE, SKEW, NULL),
                SIPREG_EAUTH);
        }
    }
    ASSERT_EQ(sipreg_auth_nonce_verify(&wrong, S("example.com"), NULL, S(n), now, LIFE, SKEW, NULL),
              SIPREG_EAUTH);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("example.org"), NULL, S(n), now, LIFE, SKEW, NULL),
              SIPREG_EAUTH);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("Example.com"), NULL, S(n), now, LIFE, SKEW, NULL),
              SIPREG_EAUTH);
    return 0;
}

/* A nonce is worth something only at the address it was sent to (an IPv4 address, or an IPv6
 * /64) and for the tracker epoch it was issued with. */
TEST(auth_nonce_bound_to_source_and_epoch)
{
    struct sipreg_auth_secret s;
    struct sipreg_netaddr a, a_port, b, v6, v6_same64, v6_other64, mapped;
    uint8_t ka[SIPREG_AUTH_BIND_MAX], kb[SIPREG_AUTH_BIND_MAX], k6[SIPREG_AUTH_BIND_MAX],
        k6s[SIPREG_AUTH_BIND_MAX], k6o[SIPREG_AUTH_BIND_MAX], km[SIPREG_AUTH_BIND_MAX],
        kp[SIPREG_AUTH_BIND_MAX];
    char n[SIPREG_AUTH_NONCE_LEN + 1];
    struct sipreg_auth_nonce_info info;
    ASSERT_EQ(sipreg_auth_secret_init(&s, key_a, 32), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&a, "192.0.2.4:5060", 5060), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&a_port, "192.0.2.4:7777", 5060), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&b, "192.0.2.5:5060", 5060), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&v6, "[2001:db8:1:2::1]:5060", 5060), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&v6_same64, "[2001:db8:1:2:ffff::99]:5062", 5060), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&v6_other64, "[2001:db8:1:3::1]:5060", 5060), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&mapped, "[::ffff:192.0.2.4]:5060", 5060), 0);
    size_t la = sipreg_auth_bind_addr(&a, ka), lb = sipreg_auth_bind_addr(&b, kb),
           l6 = sipreg_auth_bind_addr(&v6, k6), l6s = sipreg_auth_bind_addr(&v6_same64, k6s),
           l6o = sipreg_auth_bind_addr(&v6_other64, k6o), lm = sipreg_auth_bind_addr(&mapped, km),
           lp = sipreg_auth_bind_addr(&a_port, kp);
    ASSERT_EQ(la, 5);
    ASSERT_EQ(l6, 9);
    ASSERT(lp == la && memcmp(kp, ka, la) == 0); /* the port does not matter */
    ASSERT(lm == la && memcmp(km, ka, la) == 0); /* IPv4-mapped is IPv4 */
    ASSERT(l6s == l6 && memcmp(k6s, k6, l6) == 0);
    ASSERT(memcmp(k6o, k6, l6) != 0 && memcmp(kb, ka, la) != 0);

    struct sipreg_auth_nonce_scope sa = {{(char *)ka, la}, 7}, sb = {{(char *)kb, lb}, 7},
                                   s6 = {{(char *)k6, l6}, 7}, s6s = {{(char *)k6s, l6s}, 7},
                                   s6o = {{(char *)k6o, l6o}, 7},
                                   other_epoch = {{(char *)ka, la}, 8};
    ASSERT_EQ(sipreg_auth_nonce_build(&s, S("r"), &sa, 1000, n), 0);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), &sa, S(n), 1000, LIFE, SKEW, &info), 0);
    ASSERT_EQ(info.epoch, 7);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), &sb, S(n), 1000, LIFE, SKEW, NULL),
              SIPREG_EAUTH);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), 1000, LIFE, SKEW, NULL),
              SIPREG_EAUTH);
    /* genuine for the address, but from another epoch (a restart, another node): stale */
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), &other_epoch, S(n), 1000, LIFE, SKEW, &info),
              SIPREG_ESTALE);
    ASSERT_EQ(info.epoch, 7);
    /* IPv6: any address of the /64, none outside it */
    ASSERT_EQ(sipreg_auth_nonce_build(&s, S("r"), &s6, 1000, n), 0);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), &s6s, S(n), 1000, LIFE, SKEW, NULL), 0);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), &s6o, S(n), 1000, LIFE, SKEW, NULL),
              SIPREG_EAUTH);
    /* realm and binding cannot trade bytes: length-prefixed in the MAC */
    uint8_t rb[] = {'r', 4, 192, 0, 2, 4};
    struct sipreg_auth_nonce_scope shifted = {{(char *)rb + 1, 5}, 7};
    ASSERT_EQ(sipreg_auth_nonce_build(&s, S("r"), &shifted, 1000, n), 0);
    struct sipreg_auth_nonce_scope empty = {{(char *)rb, 0}, 7};
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, (struct sipreg_str){(char *)rb, 6}, &empty, S(n), 1000,
                                       LIFE, SKEW, NULL),
              SIPREG_EAUTH);
    return 0;
}

TEST(auth_nonce_garbage)
{
    struct sipreg_auth_secret s;
    char n[SIPREG_AUTH_NONCE_LEN + 1], t[SIPREG_AUTH_NONCE_LEN + 2];
    struct sipreg_auth_nonce_info info = {.issued = 77};
    ASSERT_EQ(sipreg_auth_secret_init(&s, key_a, 32), 0);
    ASSERT_EQ(sipreg_auth_nonce_build(&s, S("r"), NULL, 0, n), 0);
    const char *bad[] = {"", "x", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                         "===========================================",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(bad[i]), 0, LIFE, SKEW, &info),
                  SIPREG_EAUTH);
    ASSERT_EQ(info.issued, 77); /* untouched for a forgery */
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, SIPREG_STR_NULL, 0, LIFE, SKEW, NULL),
              SIPREG_EAUTH);
    /* Short, long, and non-base64url characters around a genuine nonce. */
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL,
                                       (struct sipreg_str){n, SIPREG_AUTH_NONCE_LEN - 1}, 0, LIFE,
                                       SKEW, NULL),
              SIPREG_EAUTH);
    memcpy(t, n, SIPREG_AUTH_NONCE_LEN);
    t[SIPREG_AUTH_NONCE_LEN] = 'A';
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL,
                                       (struct sipreg_str){t, SIPREG_AUTH_NONCE_LEN + 1}, 0, LIFE,
                                       SKEW, NULL),
              SIPREG_EAUTH);
    const char odd[] = {'+', '/', '=', ' ', '"', '\0', '\xc3'};
    for (size_t i = 0; i < sizeof odd; i++) {
        memcpy(t, n, SIPREG_AUTH_NONCE_LEN);
        t[10] = odd[i];
        ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL,
                                           (struct sipreg_str){t, SIPREG_AUTH_NONCE_LEN}, 0, LIFE,
                                           SKEW, NULL),
                  SIPREG_EAUTH);
    }
    /* The genuine one placed against a guard page: no over-read. */
    const char *g = guard_copy(n, SIPREG_AUTH_NONCE_LEN);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL,
                                       (struct sipreg_str){g, SIPREG_AUTH_NONCE_LEN}, 0, LIFE, SKEW,
                                       NULL),
              0);
    return 0;
}

TEST(auth_nonce_age)
{
    struct sipreg_auth_secret s;
    struct fake_clock clk = {.now = 1000};
    char n[SIPREG_AUTH_NONCE_LEN + 1];
    struct sipreg_auth_nonce_info info;
    ASSERT_EQ(sipreg_auth_secret_init(&s, key_a, 32), 0);
    sipreg_time t0 = clk.now;
    ASSERT_EQ(sipreg_auth_nonce_build(&s, S("r"), NULL, t0, n), 0);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), fake_clock_advance(&clk, LIFE - 1),
                                       LIFE, SKEW, NULL),
              0);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), fake_clock_advance(&clk, 1), LIFE,
                                       SKEW, NULL),
              0); /* exactly the lifetime: still fresh */
    memset(&info, 0, sizeof info);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), fake_clock_advance(&clk, 1), LIFE,
                                       SKEW, &info),
              SIPREG_ESTALE);
    ASSERT_EQ(info.issued, t0); /* genuine, so described */
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), t0 + 86400000, LIFE, SKEW, NULL),
              SIPREG_ESTALE);
    /* From the future: within the skew it is fine, beyond it is stale. */
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), t0 - SKEW, LIFE, SKEW, NULL), 0);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), t0 - SKEW - 1, LIFE, SKEW, NULL),
              SIPREG_ESTALE);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), t0 - 1, LIFE, 0, NULL),
              SIPREG_ESTALE);
    /* Extreme clocks do not overflow. */
    ASSERT_EQ(sipreg_auth_nonce_build(&s, S("r"), NULL, INT64_MIN, n), 0);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), INT64_MAX, LIFE, SKEW, &info),
              SIPREG_ESTALE);
    ASSERT_EQ(info.issued, INT64_MIN);
    ASSERT_EQ(sipreg_auth_nonce_build(&s, S("r"), NULL, INT64_MAX, n), 0);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), INT64_MIN, LIFE, SKEW, NULL),
              SIPREG_ESTALE);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), INT64_MAX, LIFE, SKEW, NULL), 0);
    ASSERT_EQ(sipreg_auth_nonce_verify(&s, S("r"), NULL, S(n), INT64_MAX, -5, -5, NULL), 0);
    return 0;
}

TEST(auth_dummy_ha1)
{
    struct sipreg_auth_secret s, s2;
    char a[SIPREG_AUTH_HEX_MAX], b[SIPREG_AUTH_HEX_MAX];
    ASSERT_EQ(sipreg_auth_secret_init(&s, key_a, 32), 0);
    ASSERT_EQ(sipreg_auth_secret_init_random(&s2), 0);
    ASSERT_EQ(sipreg_auth_dummy_ha1(&s, SIPREG_AUTH_MD5, S("nobody"), S("r"), a), 0);
    ASSERT_EQ(strlen(a), 32);
    ASSERT(strspn(a, "0123456789abcdef") == 32);
    ASSERT_EQ(sipreg_auth_dummy_ha1(&s, SIPREG_AUTH_MD5_SESS, S("nobody"), S("r"), b), 0);
    ASSERT(strcmp(a, b) == 0); /* one HA1 per hash family */
    ASSERT_EQ(sipreg_auth_dummy_ha1(&s, SIPREG_AUTH_MD5, S("nobody"), S("r"), b), 0);
    ASSERT(strcmp(a, b) == 0); /* deterministic */
    ASSERT_EQ(sipreg_auth_dummy_ha1(&s, SIPREG_AUTH_MD5, S("nobodz"), S("r"), b), 0);
    ASSERT(strcmp(a, b) != 0);
    ASSERT_EQ(sipreg_auth_dummy_ha1(&s, SIPREG_AUTH_MD5, S("nobod"), S("yr"), b), 0);
    ASSERT(strcmp(a, b) != 0); /* the username/realm boundary counts */
    ASSERT_EQ(sipreg_auth_dummy_ha1(&s2, SIPREG_AUTH_MD5, S("nobody"), S("r"), b), 0);
    ASSERT(strcmp(a, b) != 0);
    ASSERT_EQ(sipreg_auth_dummy_ha1(&s, SIPREG_AUTH_SHA256, S("nobody"), S("r"), a), 0);
    ASSERT_EQ(strlen(a), 64);
    ASSERT_EQ(sipreg_auth_dummy_ha1(&s, SIPREG_AUTH_SHA512_256, S("nobody"), S("r"), b), 0);
    ASSERT_EQ(strlen(b), 64);
    ASSERT(strcmp(a, b) != 0);
    ASSERT_EQ(sipreg_auth_dummy_ha1(&s, SIPREG_AUTH_ALG__COUNT, S("nobody"), S("r"), a),
              SIPREG_EINVAL);
    ASSERT_EQ(a[0], '\0');
    return 0;
}
