/* Tests for src/auth/client.c: choosing a challenge, building credentials, and round trips
 * through the server's challenge and check. */
#include "auth/auth_int.h"
#include "test.h"

#define S(z)  sipreg_str_z(z)
#define REALM "atlanta.example.com"
#define RURI  "sip:atlanta.example.com"
#define T0    1700000000000

static struct sipreg_auth digest(const char *alg, const char *qop)
{
    return (struct sipreg_auth){
        .scheme = S("Digest"),
        .realm = S(REALM),
        .nonce = S("n0nce"),
        .algorithm = alg ? S(alg) : SIPREG_STR_NULL,
        .qop = qop ? S(qop) : SIPREG_STR_NULL,
    };
}

TEST(auth_client_choose)
{
    struct sipreg_auth ch[8] = {0};
    size_t idx = 99;
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 0, NULL, &idx, NULL), SIPREG_ENOENT);
    ASSERT_EQ(idx, 99);
    ch[0] = digest("MD5", "auth");
    ch[0].scheme = S("Basic");
    ch[1] = digest(NULL, "auth"); /* MD5 by default */
    ch[2] = digest("SHA-256", "auth,auth-int");
    ch[3] = digest("SHA-512-256", "auth-conf"); /* no qop we know */
    ch[4] = digest("SHA-1", "auth");
    ch[5] = digest("SHA-512-256-sess", NULL); /* -sess needs a qop */
    ch[6] = digest("SHA-512-256", "auth");
    ch[6].nonce = SIPREG_STR_NULL;
    ch[7] = digest("SHA-512-256", "auth");
    ch[7].realm = SIPREG_STR_NULL;
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 8, NULL, &idx, NULL), 0);
    ASSERT_EQ(idx, 2);
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 2, NULL, &idx, NULL), 0);
    ASSERT_EQ(idx, 1);
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, NULL, &idx, NULL), SIPREG_ENOENT);
    /* The strongest wins wherever it is; among equals the server's first. */
    ch[7] = digest("sha-512-256", " auth-int ");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 8, NULL, &idx, NULL), 0);
    ASSERT_EQ(idx, 7);
    ch[1] = digest("SHA-256-sess", "auth");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 3, NULL, &idx, NULL), 0);
    ASSERT_EQ(idx, 1);
    ch[0] = digest("MD5", NULL); /* RFC 2069 challenge */
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, NULL, &idx, NULL), 0);
    ASSERT_EQ(idx, 0);
    ch[0].scheme = S("digest");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, NULL, &idx, NULL), 0);
    ch[0].qop = S(",,");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, NULL, &idx, NULL), SIPREG_ENOENT);
    return 0;
}

/* The client's policy: a minimum algorithm, qop required, a pinned realm; and why nothing was
 * chosen. */
TEST(auth_client_choose_policy)
{
    struct sipreg_auth ch[4];
    size_t idx = 99;
    enum sipreg_auth_refusal why = SIPREG_AUTH_REFUSAL__COUNT;
    struct sipreg_auth_client_policy pol = {0};
    /* a zeroed policy is no policy: RFC 2069 MD5 is still answered */
    ch[0] = digest("MD5", NULL);
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, &pol, &idx, &why), 0);
    ASSERT_EQ(idx, 0);
    ASSERT_EQ(why, SIPREG_AUTH_REFUSAL_OK);
    /* qop required */
    pol.require_qop = true;
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, &pol, &idx, &why), SIPREG_ENOENT);
    ASSERT_EQ(why, SIPREG_AUTH_REFUSAL_QOP);
    ch[1] = digest("MD5", "auth");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 2, &pol, &idx, &why), 0);
    ASSERT_EQ(idx, 1);
    /* a minimum algorithm skips weaker families (-sess as its base) ... */
    pol = (struct sipreg_auth_client_policy){.min_alg = SIPREG_AUTH_SHA256};
    ch[0] = digest("MD5", "auth");
    ch[1] = digest("MD5-sess", "auth");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 2, &pol, &idx, &why), SIPREG_ENOENT);
    ASSERT_EQ(why, SIPREG_AUTH_REFUSAL_ALGORITHM);
    ch[2] = digest("SHA-256-sess", "auth");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 3, &pol, &idx, &why), 0);
    ASSERT_EQ(idx, 2);
    pol.min_alg = SIPREG_AUTH_SHA256_SESS; /* the same as SHA-256 */
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 3, &pol, &idx, &why), 0);
    ASSERT_EQ(idx, 2);
    pol.min_alg = SIPREG_AUTH_SHA512_256;
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 3, &pol, &idx, &why), SIPREG_ENOENT);
    ASSERT_EQ(why, SIPREG_AUTH_REFUSAL_ALGORITHM);
    pol.min_alg = (enum sipreg_auth_alg)99; /* out of range: nothing, rather than anything */
    ch[3] = digest("SHA-512-256", "auth");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 4, &pol, &idx, &why), SIPREG_ENOENT);
    /* ... and implies a qop: SHA-256 without one is refused */
    pol.min_alg = SIPREG_AUTH_SHA256;
    ch[0] = digest("SHA-256", NULL);
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, &pol, &idx, &why), SIPREG_ENOENT);
    ASSERT_EQ(why, SIPREG_AUTH_REFUSAL_QOP);
    pol.min_alg = SIPREG_AUTH_MD5;
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, &pol, &idx, &why), 0);
    /* a pinned realm: exact and case-sensitive, compared without the quoted-pair escapes */
    pol = (struct sipreg_auth_client_policy){.realm = S(REALM)};
    ch[0] = digest("SHA-512-256", "auth");
    ch[0].realm = S("Atlanta.example.com");
    ch[1] = digest("SHA-256", "auth");
    ch[1].realm = S("atlanta.example.com.evil");
    ch[2] = digest("SHA-256", "auth");
    ch[2].realm = S("atlanta.example.co");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 3, &pol, &idx, &why), SIPREG_ENOENT);
    ASSERT_EQ(why, SIPREG_AUTH_REFUSAL_REALM);
    ch[3] = digest("MD5", "auth");
    ch[3].realm = S("atlanta.ex\\ample.com"); /* \a is a */
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 4, &pol, &idx, &why), 0);
    ASSERT_EQ(idx, 3);
    pol.realm = S("a\\b");
    ch[0].realm = S("a\\\\b"); /* "a\\b" unescapes to a\b */
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, &pol, &idx, &why), 0);
    ch[0].realm = S("a\\b"); /* unescapes to ab */
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, &pol, &idx, &why), SIPREG_ENOENT);
    pol.realm = S("");
    ch[0].realm = S("");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, &pol, &idx, &why), 0);
    /* the first challenge refused only by the policy says why; none usable: UNUSABLE */
    pol = (struct sipreg_auth_client_policy){.realm = S(REALM), .min_alg = SIPREG_AUTH_SHA256};
    ch[0] = digest("SHA-1", "auth");
    ch[1] = digest("MD5", "auth");
    ch[2] = digest("SHA-256", "auth");
    ch[2].realm = S("other");
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 3, &pol, &idx, &why), SIPREG_ENOENT);
    ASSERT_EQ(why, SIPREG_AUTH_REFUSAL_ALGORITHM);
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, &pol, &idx, &why), SIPREG_ENOENT);
    ASSERT_EQ(why, SIPREG_AUTH_REFUSAL_UNUSABLE);
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 0, &pol, &idx, &why), SIPREG_ENOENT);
    ASSERT_EQ(why, SIPREG_AUTH_REFUSAL_UNUSABLE);
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 3, &pol, &idx, NULL), SIPREG_ENOENT);
    ASSERT_STR(S(sipreg_auth_refusal_text(SIPREG_AUTH_REFUSAL_ALGORITHM)),
               "challenge algorithm too weak");
    ASSERT_STR(S(sipreg_auth_refusal_text(SIPREG_AUTH_REFUSAL_REALM)),
               "challenge realm not allowed");
    ASSERT_STR(S(sipreg_auth_refusal_text(SIPREG_AUTH_REFUSAL__COUNT)), "");
    ASSERT_EQ(idx, 0); /* failures leave it alone */
    return 0;
}

/* RFC 2617 §3.5 as the client writes it. */
TEST(auth_client_build_rfc2617)
{
    char out[512];
    struct sipreg_buf b;
    struct sipreg_auth ch = {
        .scheme = S("Digest"),
        .realm = S("testrealm@host.com"),
        .qop = S("auth,auth-int"),
        .nonce = S("dcd98b7102dd2f0e8b11d0f600bfb0c093"),
        .opaque = S("5ccc069c403ebaf9f0171e9517f40e41"),
    };
    struct sipreg_auth_client_cred c = {
        .username = S("Mufasa"),
        .password = S("Circle Of Life"),
        .method = S("GET"),
        .uri = S("/dir/index.html"),
        .cnonce = S("0a4f113b"),
        .nc = 1,
    };
    sipreg_buf_init(&b, out, sizeof out);
    ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch, &c), 0);
    ASSERT_STR(((struct sipreg_str){out, b.len}),
               "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
               "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
               "response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, "
               "cnonce=\"0a4f113b\", qop=auth, nc=00000001, "
               "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
    /* The same from a stored HA1 (of any MD5-family algorithm). */
    char ha1[SIPREG_AUTH_HEX_MAX];
    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_MD5, S("Mufasa"), S("testrealm@host.com"),
                              S("Circle Of Life"), ha1),
              0);
    c.password = SIPREG_STR_NULL;
    c.ha1 = S(ha1);
    c.ha1_alg = SIPREG_AUTH_MD5_SESS;
    size_t len = b.len;
    char out2[512];
    sipreg_buf_init(&b, out2, sizeof out2);
    ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch, &c), 0);
    ASSERT_EQ(b.len, len);
    ASSERT(memcmp(out, out2, len) == 0);
    /* nc is 8 hex digits. */
    c.nc = 0x1ab;
    sipreg_buf_init(&b, out2, sizeof out2);
    ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch, &c), 0);
    out2[b.len] = '\0';
    ASSERT(strstr(out2, ", nc=000001ab, "));
    return 0;
}

/* RFC 7616 §3.9.1, SHA-256, without opaque and with the RFC 2069 form. */
TEST(auth_client_build_rfc7616_and_2069)
{
    char out[512];
    struct sipreg_buf b;
    struct sipreg_auth ch = {
        .scheme = S("Digest"),
        .realm = S("http-auth@example.org"),
        .qop = S("auth, auth-int"),
        .algorithm = S("SHA-256"),
        .nonce = S("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"),
    };
    struct sipreg_auth_client_cred c = {
        .username = S("Mufasa"),
        .password = S("Circle of Life"),
        .method = S("GET"),
        .uri = S("/dir/index.html"),
        .cnonce = S("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"),
        .nc = 1,
    };
    sipreg_buf_init(&b, out, sizeof out - 1);
    ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch, &c), 0);
    out[b.len] = '\0';
    ASSERT(strstr(out, ", response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db"
                       "5856cb6c1\", algorithm=SHA-256, cnonce=\"f2/"));
    ASSERT(!strstr(out, "opaque"));
    /* No qop offered: RFC 2069 form, no cnonce/qop/nc. Vector from test_digest.c. */
    struct sipreg_auth ch2 = {
        .scheme = S("Digest"),
        .realm = S(REALM),
        .nonce = S("ea9c8e88df84f1cec4341ae6cbe5a359"),
    };
    struct sipreg_auth_client_cred c2 = {
        .username = S("alice"),
        .password = S("s3cr3t"),
        .method = S("REGISTER"),
        .uri = S(RURI),
        .nc = 1,
    };
    sipreg_buf_init(&b, out, sizeof out);
    ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch2, &c2), 0);
    ASSERT_STR(((struct sipreg_str){out, b.len}),
               "Digest username=\"alice\", realm=\"" REALM "\", "
               "nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", uri=\"" RURI "\", "
               "response=\"f87227a842d9ca3c044e7fcc9a51c448\", algorithm=MD5");
    return 0;
}

TEST(auth_client_build_errors)
{
    char out[512], ha1[SIPREG_AUTH_HEX_MAX];
    struct sipreg_buf b;
    struct sipreg_auth ch = digest("SHA-256", "auth");
    struct sipreg_auth_client_cred c = {
        .username = S("alice"),
        .password = S("s3cr3t"),
        .method = S("REGISTER"),
        .uri = S(RURI),
        .nc = 1,
    };
#define BUILD() (sipreg_buf_init(&b, out, sizeof out), sipreg_auth_credentials_build(&b, &ch, &c))
    ASSERT_EQ(BUILD(), 0);
    /* A generated cnonce: 32 hex digits, new each time. */
    out[b.len] = '\0';
    struct sipreg_str cn1 = {strstr(out, "cnonce=\"") + 8, 32};
    ASSERT(strspn(cn1.p, "0123456789abcdef") == 32 && cn1.p[32] == '"');
    char first[33];
    memcpy(first, cn1.p, 32);
    ASSERT_EQ(BUILD(), 0);
    ASSERT(memcmp(strstr(out, "cnonce=\"") + 8, first, 32) != 0);

    c.nc = 0;
    ASSERT_EQ(BUILD(), SIPREG_EINVAL);
    c.nc = 1;
    c.password = SIPREG_STR_NULL;
    ASSERT_EQ(BUILD(), SIPREG_EINVAL); /* neither password nor HA1 */
    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_MD5, S("alice"), S(REALM), S("s3cr3t"), ha1), 0);
    c.ha1 = S(ha1);
    c.ha1_alg = SIPREG_AUTH_MD5;
    ASSERT_EQ(BUILD(), SIPREG_EINVAL); /* MD5 HA1 for a SHA-256 challenge */
    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_SHA512_256, S("alice"), S(REALM), S("s3cr3t"), ha1), 0);
    c.ha1_alg = SIPREG_AUTH_SHA512_256;
    ASSERT_EQ(BUILD(), SIPREG_EINVAL); /* same length, another hash */
    c.ha1_alg = SIPREG_AUTH_SHA256;
    c.ha1 = (struct sipreg_str){ha1, 32};
    ASSERT_EQ(BUILD(), SIPREG_EINVAL); /* wrong length */
    c.ha1_alg = (enum sipreg_auth_alg)42;
    ASSERT_EQ(BUILD(), SIPREG_EINVAL);
    c.ha1_alg = SIPREG_AUTH_SHA256;
    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_SHA256, S("alice"), S(REALM), S("s3cr3t"), ha1), 0);
    c.ha1 = S(ha1);
    ASSERT_EQ(BUILD(), 0);
    c.uri = S("sip:a\"b");
    ASSERT_EQ(BUILD(), SIPREG_EINVAL);
    c.uri = SIPREG_STR_NULL;
    ASSERT_EQ(BUILD(), SIPREG_EINVAL);
    c.uri = S(RURI);
    c.cnonce = S("");
    ASSERT_EQ(BUILD(), SIPREG_EINVAL);
    c.cnonce = S("a\\b");
    ASSERT_EQ(BUILD(), SIPREG_EINVAL);
    c.cnonce = SIPREG_STR_NULL;
    c.username = S("al\r\nice");
    ASSERT_EQ(BUILD(), SIPREG_EINVAL);
    c.username = SIPREG_STR_NULL;
    ASSERT_EQ(BUILD(), SIPREG_EINVAL);
    c.username = S("alice");
    c.method = SIPREG_STR_NULL;
    ASSERT_EQ(BUILD(), SIPREG_EINVAL);
    c.method = S("REGISTER");
    ch.scheme = S("Basic");
    ASSERT_EQ(BUILD(), SIPREG_EINVAL);
    ch = digest("SHA-256", "auth");
    sipreg_buf_init(&b, out, 60);
    ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch, &c), SIPREG_ENOSPC);
#undef BUILD
    return 0;
}

TEST(auth_client_quoting)
{
    char out[512], ha1[SIPREG_AUTH_HEX_MAX], resp[SIPREG_AUTH_HEX_MAX];
    struct sipreg_buf b;
    /* The realm arrives escaped; it is echoed as received and hashed unescaped. */
    struct sipreg_auth ch = digest("MD5", "auth");
    ch.realm = S("we \\\"love\\\" SIP");
    struct sipreg_auth_client_cred c = {
        .username = S("o\"neil\\x"),
        .password = S("pw"),
        .method = S("REGISTER"),
        .uri = S(RURI),
        .cnonce = S("abc"),
        .nc = 2,
    };
    sipreg_buf_init(&b, out, sizeof out - 1);
    ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch, &c), 0);
    out[b.len] = '\0';
    ASSERT(strncmp(out, "Digest username=\"o\\\"neil\\\\x\", realm=\"we \\\"love\\\" SIP\", ",
                   55) == 0);
    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_MD5, S("o\"neil\\x"), S("we \"love\" SIP"), S("pw"), ha1),
              0);
    struct sipreg_auth_calc calc = {
        .alg = SIPREG_AUTH_MD5,
        .qop = SIPREG_AUTH_QOP_AUTH,
        .ha1 = S(ha1),
        .nonce = S("n0nce"),
        .cnonce = S("abc"),
        .nc = S("00000002"),
        .method = S("REGISTER"),
        .uri = S(RURI),
    };
    ASSERT_EQ(sipreg_auth_response(&calc, resp), 0);
    ASSERT(strstr(out, resp));
    return 0;
}

/* A test-only reader for the credentials we write: `key=value` or `key="value"` pairs. */
static struct sipreg_str param(const char *s, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = s; (p = strstr(p, key)) != NULL; p += kl) {
        if ((p != s && p[-1] != ' ') || p[kl] != '=')
            continue;
        p += kl + 1;
        if (*p == '"') {
            const char *q = ++p;
            while (*q && *q != '"')
                q += (*q == '\\' && q[1]) ? 2 : 1;
            return (struct sipreg_str){p, (size_t)(q - p)};
        }
        const char *q = p;
        while (*q && *q != ',')
            q++;
        return (struct sipreg_str){p, (size_t)(q - p)};
    }
    return SIPREG_STR_NULL;
}

static void read_cred(struct sipreg_auth *a, const char *s)
{
    memset(a, 0, sizeof *a);
    a->scheme = (struct sipreg_str){s, 6};
    a->username = param(s, "username");
    a->realm = param(s, "realm");
    a->nonce = param(s, "nonce");
    a->uri = param(s, "uri");
    a->response = param(s, "response");
    a->algorithm = param(s, "algorithm");
    a->cnonce = param(s, "cnonce");
    a->qop = param(s, "qop");
    a->nc = param(s, "nc");
    a->opaque = param(s, "opaque");
}

/* Challenge lines from the server, read back into challenge structs. */
static size_t read_challenges(struct sipreg_auth *ch, size_t max, char *text)
{
    size_t n = 0;
    for (char *line = text; *line && n < max; n++) {
        char *end = strstr(line, "\r\n");
        *end = '\0';
        char *v = strstr(line, ": ") + 2;
        memset(&ch[n], 0, sizeof ch[n]);
        ch[n].scheme = (struct sipreg_str){v, 6};
        ch[n].realm = param(v, "realm");
        ch[n].nonce = param(v, "nonce");
        ch[n].opaque = param(v, "opaque");
        ch[n].algorithm = param(v, "algorithm");
        ch[n].qop = param(v, "qop");
        ch[n].stale_true = param(v, "stale").p != NULL;
        line = end + 2;
    }
    return n;
}

/* Every algorithm and qop: the server challenges, the client answers (from the password and
 * from a stored HA1), the server accepts; the next nc is accepted, a replay is not. */
TEST(auth_client_server_roundtrip)
{
    static const enum sipreg_auth_alg algs[] = {
        SIPREG_AUTH_MD5,         SIPREG_AUTH_MD5_SESS,   SIPREG_AUTH_SHA256,
        SIPREG_AUTH_SHA256_SESS, SIPREG_AUTH_SHA512_256, SIPREG_AUTH_SHA512_256_SESS};
    static const uint8_t key[32] = {7};
    struct sipreg_auth_secret s;
    struct sipreg_auth_tracker *t;
    char text[2048], out[1024], ha1[SIPREG_AUTH_HEX_MAX];
    struct sipreg_auth ch[8], cred;
    struct sipreg_buf b;
    enum sipreg_auth_reason why;
    size_t idx;
    ASSERT_EQ(sipreg_auth_secret_init(&s, key, 32), 0);
    int err = sipreg_auth_tracker_create(&t, 128);
    if (err == SIPREG_ENOMEM && test_oom_active)
        return 0;
    ASSERT_EQ(err, 0);
    struct sipreg_auth_request req = {
        .method = S("REGISTER"), .ruri = S(RURI), .body = S("v=0\r\n")};
    for (size_t a = 0; a < 6; a++) {
        for (int q = 0; q < 3; q++) {
            /* q: 0 auth, 1 auth-int (offered alone), 2 none (RFC 2069 server and client) */
            if (q == 2 && algs[a] != sipreg_auth_alg_base(algs[a]))
                continue;
            struct sipreg_auth_server_cfg cfg = {.realm = S(REALM),
                                                 .secret = &s,
                                                 .algs = &algs[a],
                                                 .nalgs = 1,
                                                 .allow_rfc2069 = q == 2};
            sipreg_buf_init(&b, text, sizeof text - 1);
            ASSERT_EQ(sipreg_auth_challenge_build(&b, &cfg, SIPREG_STR_NULL, T0, false), 0);
            text[b.len] = '\0';
            ASSERT_EQ(read_challenges(ch, 8, text), 1);
            if (q == 1)
                ch[0].qop = S("auth-int");
            if (q == 2)
                ch[0].qop = SIPREG_STR_NULL;
            ASSERT_EQ(sipreg_auth_challenge_choose(ch, 1, NULL, &idx, NULL), 0);
            ASSERT_EQ(sipreg_auth_ha1(algs[a], S("alice"), S(REALM), S("s3cr3t"), ha1), 0);
            for (uint32_t nc = 1; nc <= 2; nc++) {
                struct sipreg_auth_client_cred c = {
                    .username = S("alice"),
                    .method = req.method,
                    .uri = req.ruri,
                    .body = req.body,
                    .nc = nc,
                };
                if (nc == 1)
                    c.password = S("s3cr3t");
                else
                    c.ha1 = S(ha1), c.ha1_alg = sipreg_auth_alg_base(algs[a]);
                sipreg_buf_init(&b, out, sizeof out - 1);
                ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch[idx], &c), 0);
                out[b.len] = '\0';
                read_cred(&cred, out);
                ASSERT_STR(cred.algorithm, sipreg_auth_alg_name(algs[a]));
                ASSERT_STR(cred.opaque, s.opaque);
                if (q == 2)
                    ASSERT_ABSENT(cred.qop);
                else
                    ASSERT_STR(cred.qop, q == 1 ? "auth-int" : "auth");
                ASSERT_EQ(sipreg_auth_verify(&cfg, &cred, &req, S(ha1), T0 + 10, t, &why),
                          q == 2 && nc == 2 ? SIPREG_ESTALE : 0);
                /* The same credentials again are a replay. */
                ASSERT_EQ(sipreg_auth_verify(&cfg, &cred, &req, S(ha1), T0 + 10, t, &why),
                          SIPREG_ESTALE);
                ASSERT_EQ(why, SIPREG_AUTH_REASON_REPLAY);
            }
            /* Wrong password against the stored HA1. */
            struct sipreg_auth_client_cred bad = {.username = S("alice"),
                                                  .password = S("s3cr3T"),
                                                  .method = req.method,
                                                  .uri = req.ruri,
                                                  .body = req.body,
                                                  .nc = 3};
            sipreg_buf_init(&b, out, sizeof out - 1);
            ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch[idx], &bad), 0);
            out[b.len] = '\0';
            read_cred(&cred, out);
            ASSERT_EQ(sipreg_auth_verify(&cfg, &cred, &req, S(ha1), T0 + 10, t, &why),
                      SIPREG_EAUTH);
            ASSERT_EQ(why, SIPREG_AUTH_REASON_RESPONSE);
        }
    }
    /* A two-challenge offer: the client picks SHA-256 and is accepted after the nonce went
     * stale and a new challenge said so. */
    static const enum sipreg_auth_alg two[] = {SIPREG_AUTH_SHA256, SIPREG_AUTH_MD5};
    struct sipreg_auth_server_cfg cfg = {.realm = S(REALM), .secret = &s, .algs = two, .nalgs = 2};
    sipreg_buf_init(&b, text, sizeof text - 1);
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &cfg, SIPREG_STR_NULL, T0, false), 0);
    text[b.len] = '\0';
    ASSERT_EQ(read_challenges(ch, 8, text), 2);
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 2, NULL, &idx, NULL), 0);
    ASSERT_EQ(idx, 0);
    ASSERT_STR(ch[idx].algorithm, "SHA-256");
    struct sipreg_auth_client_cred c = {.username = S("alice"),
                                        .password = S("s3cr3t"),
                                        .method = req.method,
                                        .uri = req.ruri,
                                        .nc = 1};
    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_SHA256, S("alice"), S(REALM), S("s3cr3t"), ha1), 0);
    sipreg_buf_init(&b, out, sizeof out - 1);
    ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch[idx], &c), 0);
    out[b.len] = '\0';
    read_cred(&cred, out);
    ASSERT_EQ(sipreg_auth_verify(&cfg, &cred, &req, S(ha1), T0 + 300001, t, &why), SIPREG_ESTALE);
    ASSERT_EQ(why, SIPREG_AUTH_REASON_NONCE_STALE);
    sipreg_buf_init(&b, text, sizeof text - 1);
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &cfg, SIPREG_STR_NULL, T0 + 300001, true), 0);
    text[b.len] = '\0';
    ASSERT_EQ(read_challenges(ch, 8, text), 2);
    ASSERT(ch[0].stale_true);
    ASSERT_EQ(sipreg_auth_challenge_choose(ch, 2, NULL, &idx, NULL), 0);
    sipreg_buf_init(&b, out, sizeof out - 1);
    ASSERT_EQ(sipreg_auth_credentials_build(&b, &ch[idx], &c), 0);
    out[b.len] = '\0';
    read_cred(&cred, out);
    ASSERT_EQ(sipreg_auth_verify(&cfg, &cred, &req, S(ha1), T0 + 300002, t, &why), 0);
    sipreg_auth_tracker_destroy(t);
    return 0;
}
