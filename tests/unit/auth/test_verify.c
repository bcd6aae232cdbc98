/* Tests for src/auth/verify.c: challenges and credential checks against a fake clock. */
#include "auth/auth_int.h"
#include "fake_clock.h"
#include "test.h"

#define S(z)  sipreg_str_z(z)
#define REALM "atlanta.example.com"
#define RURI  "sip:atlanta.example.com"
#define T0    1700000000000

static const uint8_t key_v[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8, 7, 6, 5,  4,
                                  3, 2, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 42, 43};

static const enum sipreg_auth_alg all_algs[] = {SIPREG_AUTH_SHA512_256, SIPREG_AUTH_SHA512_256_SESS,
                                                SIPREG_AUTH_SHA256,     SIPREG_AUTH_SHA256_SESS,
                                                SIPREG_AUTH_MD5,        SIPREG_AUTH_MD5_SESS};

struct fix {
    struct sipreg_auth_secret s;
    struct sipreg_auth_server_cfg cfg;
    struct sipreg_auth_tracker *t;
    struct fake_clock clk;
    char nonce[SIPREG_AUTH_NONCE_LEN + 1];
    char ha1[SIPREG_AUTH_HEX_MAX], resp[SIPREG_AUTH_HEX_MAX], nc[9];
    struct sipreg_auth cred;
    struct sipreg_auth_request req;
    enum sipreg_auth_reason why;
};

static const enum sipreg_auth_alg sha_md5[] = {SIPREG_AUTH_SHA256, SIPREG_AUTH_MD5};

/* A fresh nonce, as the challenge after a failure brings (a wrong answer uses a nonce up). */
static int renew(struct fix *f)
{
    return sipreg_auth_nonce_build(&f->s, S(REALM), NULL, f->clk.now, f->nonce);
}

/* 0, or the tracker's allocation failure (only under the OOM sweep). */
static int fix_init(struct fix *f)
{
    memset(f, 0, sizeof *f);
    if (sipreg_auth_secret_init(&f->s, key_v, 32) != 0)
        return -1;
    f->cfg = (struct sipreg_auth_server_cfg){
        .realm = S(REALM), .secret = &f->s, .algs = sha_md5, .nalgs = 2};
    f->clk.now = T0;
    f->req = (struct sipreg_auth_request){.method = S("REGISTER"), .ruri = S(RURI)};
    if (sipreg_auth_nonce_build(&f->s, S(REALM), NULL, T0, f->nonce) != 0)
        return -1;
    return sipreg_auth_tracker_create(&f->t, 64);
}

/* Credentials as a client would send them, answered with `password` (the user's is
 * "s3cr3t"). The HA1 the server passes is set to the real one for alg's family. */
static void fix_cred(struct fix *f, enum sipreg_auth_alg alg, enum sipreg_auth_qop qop, uint32_t nc,
                     const char *password)
{
    static const char *const qops[] = {NULL, "auth", "auth-int"};
    char ha1[SIPREG_AUTH_HEX_MAX];
    snprintf(f->nc, sizeof f->nc, "%08x", nc);
    sipreg_auth_ha1(alg, S("alice"), S(REALM), S(password), ha1);
    sipreg_auth_ha1(alg, S("alice"), S(REALM), S("s3cr3t"), f->ha1);
    struct sipreg_auth_calc c = {
        .alg = alg,
        .qop = qop,
        .ha1 = S(ha1),
        .nonce = S(f->nonce),
        .cnonce = S("c0ffee42"),
        .nc = S(f->nc),
        .method = f->req.method,
        .uri = S(RURI),
        .body = f->req.body,
    };
    f->resp[0] = '\0';
    sipreg_auth_response(&c, f->resp);
    f->cred = (struct sipreg_auth){
        .scheme = S("Digest"),
        .realm = S(REALM),
        .nonce = S(f->nonce),
        .opaque = S(f->s.opaque),
        .algorithm = S(sipreg_auth_alg_name(alg)),
        .qop = qops[qop] ? S(qops[qop]) : SIPREG_STR_NULL,
        .username = S("alice"),
        .uri = S(RURI),
        .response = S(f->resp),
        .cnonce = qop ? S("c0ffee42") : SIPREG_STR_NULL,
        .nc = qop ? S(f->nc) : SIPREG_STR_NULL,
        .nc_val = qop ? nc : 0,
    };
}

static int verify(struct fix *f)
{
    f->why = SIPREG_AUTH_REASON__COUNT;
    return sipreg_auth_verify(&f->cfg, &f->cred, &f->req, S(f->ha1), f->clk.now, f->t, &f->why);
}

#define FIX_INIT(f)                                 \
    do {                                            \
        int e_ = fix_init(f);                       \
        if (e_ == SIPREG_ENOMEM && test_oom_active) \
            return 0;                               \
        ASSERT_EQ(e_, 0);                           \
    } while (0)

#define EXPECT(f, err, reason)                            \
    do {                                                  \
        ASSERT_EQ(verify(f), err);                        \
        ASSERT_EQ((f)->why, SIPREG_AUTH_REASON_##reason); \
    } while (0)

TEST(auth_verify_every_alg_and_qop)
{
    static struct fix f;
    FIX_INIT(&f);
    f.cfg.algs = all_algs;
    f.cfg.nalgs = 6;
    f.req.body = S("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");
    uint32_t nc = 1;
    for (size_t i = 0; i < 6; i++) {
        fix_cred(&f, all_algs[i], SIPREG_AUTH_QOP_AUTH, nc++, "s3cr3t");
        EXPECT(&f, 0, OK);
        fix_cred(&f, all_algs[i], SIPREG_AUTH_QOP_AUTH_INT, nc++, "s3cr3t");
        EXPECT(&f, 0, OK);
        fix_cred(&f, all_algs[i], SIPREG_AUTH_QOP_AUTH, nc++, "S3cr3t");
        EXPECT(&f, SIPREG_EAUTH, RESPONSE);
        /* the wrong answer used the nonce up: even the right one is refused, unverified */
        fix_cred(&f, all_algs[i], SIPREG_AUTH_QOP_AUTH, nc++, "s3cr3t");
        EXPECT(&f, SIPREG_ESTALE, REPLAY);
        ASSERT_EQ(renew(&f), 0);
        nc = 1;
    }
    ASSERT_EQ(sipreg_auth_tracker_count(f.t), 6);
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}

TEST(auth_verify_mismatches)
{
    static struct fix f;
    FIX_INIT(&f);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 1, "wrong");
    EXPECT(&f, SIPREG_EAUTH, RESPONSE);
    const char *realms[] = {"biloxi.example.com", "Atlanta.example.com" /* compared exactly */,
                            NULL};
    for (size_t i = 0; i < 3; i++) {
        ASSERT_EQ(renew(&f), 0);
        fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t");
        f.cred.realm = realms[i] ? S(realms[i]) : SIPREG_STR_NULL;
        EXPECT(&f, SIPREG_EAUTH, REALM);
    }
    /* equivalent per RFC 3261, but not copied */
    const char *uris[] = {"sip:atlanta.example.com;transport=udp", "SIP:atlanta.example.com", NULL};
    for (size_t i = 0; i < 3; i++) {
        ASSERT_EQ(renew(&f), 0);
        fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t");
        f.cred.uri = uris[i] ? S(uris[i]) : SIPREG_STR_NULL;
        EXPECT(&f, SIPREG_EAUTH, URI);
    }
    ASSERT_EQ(renew(&f), 0);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t");
    f.req.method = S("INVITE"); /* the method is in HA2 */
    EXPECT(&f, SIPREG_EAUTH, RESPONSE);
    f.req.method = S("REGISTER");
    ASSERT_EQ(renew(&f), 0);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH_INT, 1, "s3cr3t");
    f.req.body = S("x"); /* auth-int covers the body */
    EXPECT(&f, SIPREG_EAUTH, RESPONSE);
    f.req.body = SIPREG_STR_NULL;
    ASSERT_EQ(renew(&f), 0);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH_INT, 1, "s3cr3t");
    EXPECT(&f, 0, OK);
    ASSERT_EQ(f.why, SIPREG_AUTH_REASON_OK);
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}

TEST(auth_verify_missing_or_bad_fields)
{
    static struct fix f;
    FIX_INIT(&f);
#define RESET()                                                           \
    do {                                                                  \
        ASSERT_EQ(renew(&f), 0);                                          \
        fix_cred(&f, SIPREG_AUTH_MD5, SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t"); \
    } while (0)
/* Each wrong field, on a fresh nonce: a failure of the sender, and the nonce is used up. */
#define BAD(stmt, reason)                                                       \
    do {                                                                        \
        RESET();                                                                \
        stmt;                                                                   \
        EXPECT(&f, SIPREG_EAUTH, reason);                                       \
        ASSERT_EQ(sipreg_auth_tracker_usable(f.t, &nonce_info), SIPREG_ESTALE); \
    } while (0)
    struct sipreg_auth_nonce_info nonce_info;
#define INFO() sipreg_auth_nonce_verify(&f.s, S(REALM), NULL, S(f.nonce), T0, 1000, 0, &nonce_info)
    /* not Digest: nothing said about the sender at all */
    RESET();
    f.cred.scheme = S("Basic");
    EXPECT(&f, SIPREG_ENONCE, SCHEME);
    f.cred.scheme = SIPREG_STR_NULL;
    EXPECT(&f, SIPREG_ENONCE, SCHEME);
    f.cred.scheme = S("dIGEST"); /* case-insensitive */
    EXPECT(&f, 0, OK);
#undef BAD
#define BAD(stmt, reason)                                                       \
    do {                                                                        \
        RESET();                                                                \
        ASSERT_EQ(INFO(), 0);                                                   \
        stmt;                                                                   \
        EXPECT(&f, SIPREG_EAUTH, reason);                                       \
        ASSERT_EQ(sipreg_auth_tracker_usable(f.t, &nonce_info), SIPREG_ESTALE); \
    } while (0)
    BAD(f.cred.algorithm = S("SHA-1"), ALGORITHM);
    BAD(f.cred.algorithm = S("SHA-512-256"), ALGORITHM); /* known but not offered */
    BAD(f.cred.algorithm = S("MD5-sess"), ALGORITHM);
    BAD(f.cred.username = SIPREG_STR_NULL, USERNAME);
    BAD(f.cred.username = S(""), USERNAME);
    BAD(f.cred.opaque = SIPREG_STR_NULL, OPAQUE);
    BAD(f.cred.opaque = S("AAAAAAAAAAAAAAAAAAAAAA"), OPAQUE);
    BAD(f.cred.qop = SIPREG_STR_NULL, QOP); /* RFC 2069 form refused by default */
    BAD(f.cred.qop = S("auth-conf"), QOP);
    BAD(f.cred.qop = S("auth,auth-int"), QOP);
    BAD(f.cred.cnonce = SIPREG_STR_NULL, CNONCE);
    BAD(f.cred.cnonce = S(""), CNONCE);
    const char *bad_nc[] = {"1", "0000001", "000000001", "0000000g", "00000000", "-0000001", ""};
    for (size_t i = 0; i < sizeof bad_nc / sizeof bad_nc[0]; i++)
        BAD(f.cred.nc = S(bad_nc[i]), NC);
    BAD(f.cred.nc = SIPREG_STR_NULL, NC);
    char r[SIPREG_AUTH_HEX_MAX];
    BAD(f.cred.response = SIPREG_STR_NULL, RESPONSE_FORMAT);
    BAD((memcpy(r, f.resp, sizeof r), f.cred.response = (struct sipreg_str){r, 31}),
        RESPONSE_FORMAT);
    BAD((memcpy(r, f.resp, sizeof r), r[5] = 'g', f.cred.response = S(r)), RESPONSE_FORMAT);
    size_t held = sipreg_auth_tracker_count(f.t);
    /* nonces not issued here: nothing counted, nothing remembered */
    RESET();
    f.cred.nonce = S("dcd98b7102dd2f0e8b11d0f600bfb0c093");
    EXPECT(&f, SIPREG_ENONCE, NONCE);
    f.cred.nonce = SIPREG_STR_NULL;
    EXPECT(&f, SIPREG_ENONCE, NONCE);
    /* A genuine nonce of this secret issued for another realm. */
    ASSERT_EQ(sipreg_auth_nonce_build(&f.s, S("biloxi.example.com"), NULL, T0, f.nonce), 0);
    fix_cred(&f, SIPREG_AUTH_MD5, SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t");
    EXPECT(&f, SIPREG_ENONCE, NONCE);
    ASSERT_EQ(sipreg_auth_tracker_count(f.t), held);
#undef INFO
#undef BAD
#undef RESET
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}

TEST(auth_verify_case_tolerance)
{
    static struct fix f;
    FIX_INIT(&f);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 10, "s3cr3t");
    for (char *p = f.resp; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    f.cred.algorithm = S("sha-256");
    f.cred.qop = S("AUTH");
    EXPECT(&f, 0, OK);
    /* nc "0000000A" is the hex text the response was computed over. */
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 11, "s3cr3t");
    ASSERT_STR(S(f.nc), "0000000b");
    f.nc[7] = 'B';
    EXPECT(&f, SIPREG_EAUTH, RESPONSE); /* the digest is over the text as sent */
    /* An MD5 client needs no algorithm parameter. */
    ASSERT_EQ(renew(&f), 0);
    fix_cred(&f, SIPREG_AUTH_MD5, SIPREG_AUTH_QOP_AUTH, 12, "s3cr3t");
    f.cred.algorithm = SIPREG_STR_NULL;
    EXPECT(&f, 0, OK);
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}

TEST(auth_verify_replay)
{
    static struct fix f;
    FIX_INIT(&f);
    /* A wrong guess on one nonce does not advance another nonce's count. */
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 100, "guess");
    EXPECT(&f, SIPREG_EAUTH, RESPONSE);
    ASSERT_EQ(renew(&f), 0);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t");
    EXPECT(&f, 0, OK);
    EXPECT(&f, SIPREG_ESTALE, REPLAY); /* the same request again */
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 3, "s3cr3t");
    EXPECT(&f, 0, OK);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 2, "s3cr3t");
    EXPECT(&f, SIPREG_ESTALE, REPLAY); /* lower */
    fix_cred(&f, SIPREG_AUTH_MD5, SIPREG_AUTH_QOP_AUTH, 3, "s3cr3t");
    EXPECT(&f, SIPREG_ESTALE, REPLAY); /* the count is per nonce, whatever the algorithm */
    fix_cred(&f, SIPREG_AUTH_MD5, SIPREG_AUTH_QOP_AUTH, 4, "s3cr3t");
    EXPECT(&f, 0, OK);
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}

TEST(auth_verify_stale)
{
    static struct fix f;
    FIX_INIT(&f);
    fake_clock_advance(&f.clk, 300000); /* default lifetime: still fresh */
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t");
    EXPECT(&f, 0, OK);
    fake_clock_advance(&f.clk, 1);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 2, "s3cr3t");
    EXPECT(&f, SIPREG_ESTALE, NONCE_STALE);
    /* A stale nonce is refused before its response is computed: a right and a wrong password
     * get the same answer, so an expired nonce cannot test passwords (and counts nothing). */
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 2, "wrong");
    EXPECT(&f, SIPREG_ESTALE, NONCE_STALE);
    /* A configured lifetime and skew. */
    f.cfg.nonce_lifetime = 1000;
    f.clk.now = T0 + 1000;
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 3, "s3cr3t");
    EXPECT(&f, 0, OK);
    f.clk.now = T0 + 1001;
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 4, "s3cr3t");
    EXPECT(&f, SIPREG_ESTALE, NONCE_STALE);
    f.clk.now = T0 - 2000; /* issued by a node 2 s ahead: within the default skew */
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 5, "s3cr3t");
    EXPECT(&f, 0, OK);
    f.clk.now = T0 - 2001;
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 6, "s3cr3t");
    EXPECT(&f, SIPREG_ESTALE, NONCE_STALE);
    f.cfg.nonce_skew = 5000;
    EXPECT(&f, 0, OK);
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}

/* A nonce answered from another address is not the sender's failure (its source may be forged);
 * one of another tracker epoch (issued before a restart, or by a node that does not share the
 * tracker) is stale whatever the password. The default offer is MD5 alone. */
TEST(auth_verify_bound_nonce_and_epoch)
{
    static struct fix f;
    FIX_INIT(&f);
    const char here[] = {4, (char)192, 0, 2, 4}, there[] = {4, (char)192, 0, 2, 5};
    f.cfg.epoch = sipreg_auth_tracker_epoch(f.t);
    struct sipreg_auth_nonce_scope sc = {{here, 5}, f.cfg.epoch};
    ASSERT_EQ(sipreg_auth_nonce_build(&f.s, S(REALM), &sc, T0, f.nonce), 0);
    f.req.bind = (struct sipreg_str){there, 5};
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 1, "wrong");
    EXPECT(&f, SIPREG_ENONCE, NONCE);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t");
    EXPECT(&f, SIPREG_ENONCE, NONCE); /* even the right password: it proves nothing there */
    ASSERT_EQ(sipreg_auth_tracker_count(f.t), 0);
    f.req.bind = (struct sipreg_str){here, 5};
    EXPECT(&f, 0, OK);
    /* the same nonce after a restart: a new tracker, a new epoch */
    struct sipreg_auth_tracker *old = f.t;
    int e = sipreg_auth_tracker_create(&f.t, 64);
    sipreg_auth_tracker_destroy(old);
    if (e == SIPREG_ENOMEM && test_oom_active)
        return 0;
    ASSERT_EQ(e, 0);
    f.cfg.epoch = sipreg_auth_tracker_epoch(f.t);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 2, "s3cr3t");
    EXPECT(&f, SIPREG_ESTALE, NONCE_EPOCH);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 2, "wrong");
    EXPECT(&f, SIPREG_ESTALE, NONCE_EPOCH);
    ASSERT_EQ(sipreg_auth_tracker_count(f.t), 0);
    /* the default offer */
    char out[1024];
    struct sipreg_buf b;
    struct sipreg_auth_server_cfg def = {.realm = S(REALM), .secret = &f.s};
    sipreg_buf_init(&b, out, sizeof out - 1);
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &def, SIPREG_STR_NULL, T0, false), 0);
    out[b.len] = '\0';
    ASSERT(strstr(out, "algorithm=MD5,") && !strstr(out, "SHA-256"));
    ASSERT_EQ(strstr(out, "\r\n") + 2 - out, (long)b.len); /* one line */
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}

TEST(auth_verify_unknown_user_dummy)
{
    static struct fix f;
    FIX_INIT(&f);
    const enum sipreg_auth_alg algs[] = {SIPREG_AUTH_SHA256, SIPREG_AUTH_MD5};
    for (size_t i = 0; i < 2; i++) {
        fix_cred(&f, algs[i], SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t");
        f.cred.username = S("mallory");
        ASSERT_EQ(sipreg_auth_dummy_ha1(&f.s, algs[i], f.cred.username, S(REALM), f.ha1), 0);
        EXPECT(&f, SIPREG_EAUTH, RESPONSE);
        /* Even the password that would fit another user's HA1 does not. */
        ASSERT_EQ(renew(&f), 0);
        fix_cred(&f, algs[i], SIPREG_AUTH_QOP_AUTH, 1, "");
        ASSERT_EQ(sipreg_auth_dummy_ha1(&f.s, algs[i], f.cred.username, S(REALM), f.ha1), 0);
        EXPECT(&f, SIPREG_EAUTH, RESPONSE);
        ASSERT_EQ(renew(&f), 0);
    }
    ASSERT_EQ(sipreg_auth_tracker_count(f.t), 4); /* the four used-up nonces */
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}

TEST(auth_verify_rfc2069_policy)
{
    static struct fix f;
    FIX_INIT(&f);
    fix_cred(&f, SIPREG_AUTH_MD5, SIPREG_AUTH_QOP_NONE, 0, "s3cr3t");
    EXPECT(&f, SIPREG_EAUTH, QOP);
    f.cfg.allow_rfc2069 = true;
    ASSERT_EQ(renew(&f), 0);
    fix_cred(&f, SIPREG_AUTH_MD5, SIPREG_AUTH_QOP_NONE, 0, "s3cr3t");
    EXPECT(&f, 0, OK);
    EXPECT(&f, SIPREG_ESTALE, REPLAY); /* one request per nonce without nc */
    ASSERT_EQ(renew(&f), 0);
    fix_cred(&f, SIPREG_AUTH_MD5, SIPREG_AUTH_QOP_NONE, 0, "wrong");
    EXPECT(&f, SIPREG_EAUTH, RESPONSE);
    ASSERT_EQ(renew(&f), 0);
    const enum sipreg_auth_alg sess[] = {SIPREG_AUTH_MD5_SESS};
    f.cfg.algs = sess;
    f.cfg.nalgs = 1;
    fix_cred(&f, SIPREG_AUTH_MD5, SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t");
    f.cred.algorithm = S("MD5-sess");
    f.cred.qop = f.cred.cnonce = f.cred.nc = SIPREG_STR_NULL;
    EXPECT(&f, SIPREG_EAUTH, QOP); /* -sess needs a cnonce, so a qop */
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}

TEST(auth_verify_einval)
{
    static struct fix f;
    FIX_INIT(&f);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 1, "s3cr3t");
    struct sipreg_str good = S(f.ha1);
    ASSERT_EQ(sipreg_auth_verify(&f.cfg, &f.cred, &f.req, (struct sipreg_str){f.ha1, 32}, f.clk.now,
                                 f.t, NULL),
              SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_verify(&f.cfg, &f.cred, &f.req, SIPREG_STR_NULL, f.clk.now, f.t, NULL),
              SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_verify(&f.cfg, &f.cred, &f.req, good, f.clk.now, NULL, NULL),
              SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_verify(NULL, &f.cred, &f.req, good, f.clk.now, f.t, NULL), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_verify(&f.cfg, NULL, &f.req, good, f.clk.now, f.t, NULL), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_verify(&f.cfg, &f.cred, NULL, good, f.clk.now, f.t, NULL), SIPREG_EINVAL);
    struct sipreg_auth_server_cfg bad = f.cfg;
    bad.secret = NULL;
    ASSERT_EQ(sipreg_auth_verify(&bad, &f.cred, &f.req, good, f.clk.now, f.t, NULL), SIPREG_EINVAL);
    bad = f.cfg;
    bad.realm = S("at\"lanta");
    ASSERT_EQ(sipreg_auth_verify(&bad, &f.cred, &f.req, good, f.clk.now, f.t, NULL), SIPREG_EINVAL);
    bad.realm = SIPREG_STR_NULL;
    ASSERT_EQ(sipreg_auth_verify(&bad, &f.cred, &f.req, good, f.clk.now, f.t, NULL), SIPREG_EINVAL);
    bad = f.cfg;
    bad.algs = all_algs;
    bad.nalgs = 0;
    ASSERT_EQ(sipreg_auth_verify(&bad, &f.cred, &f.req, good, f.clk.now, f.t, NULL), SIPREG_EINVAL);
    bad = f.cfg;
    bad.nonce_lifetime = -1;
    ASSERT_EQ(sipreg_auth_verify(&bad, &f.cred, &f.req, good, f.clk.now, f.t, NULL), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_verify(&f.cfg, &f.cred, &f.req, good, f.clk.now, f.t, NULL), 0);
    /* the two steps */
    struct sipreg_auth_nonce_info info;
    ASSERT_EQ(sipreg_auth_verify_nonce(&f.cfg, &f.cred, &f.req, f.clk.now, f.t, NULL, NULL),
              SIPREG_EINVAL);
    ASSERT_EQ(sipreg_auth_verify_response(&f.cfg, &f.cred, &f.req, good, NULL, f.t, NULL),
              SIPREG_EINVAL);
    fix_cred(&f, SIPREG_AUTH_SHA256, SIPREG_AUTH_QOP_AUTH, 2, "s3cr3t");
    ASSERT_EQ(sipreg_auth_verify_nonce(&f.cfg, &f.cred, &f.req, f.clk.now, f.t, &info, NULL), 0);
    ASSERT_EQ(info.issued, T0);
    ASSERT_EQ(sipreg_auth_verify_response(&f.cfg, &f.cred, &f.req, S(f.ha1), &info, f.t, NULL), 0);
    ASSERT_EQ(sipreg_auth_verify_response(&f.cfg, &f.cred, &f.req, S(f.ha1), &info, f.t, NULL),
              SIPREG_ESTALE); /* nc 2 again */
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}

TEST(auth_reason_text)
{
    for (int r = 0; r < SIPREG_AUTH_REASON__COUNT; r++)
        ASSERT(sipreg_auth_reason_text((enum sipreg_auth_reason)r)[0] != '\0');
    ASSERT(strcmp(sipreg_auth_reason_text(SIPREG_AUTH_REASON_RESPONSE), "response mismatch") == 0);
    ASSERT(strcmp(sipreg_auth_reason_text(SIPREG_AUTH_REASON__COUNT), "unknown reason") == 0);
    return 0;
}

/* The value between `key="` and the next quote in `line`. */
static struct sipreg_str quoted(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    if (!p)
        return SIPREG_STR_NULL;
    p += strlen(key);
    const char *q = strchr(p, '"');
    return q ? (struct sipreg_str){p, (size_t)(q - p)} : SIPREG_STR_NULL;
}

TEST(auth_challenge_build)
{
    static struct fix f;
    char out[1024], out2[1024];
    struct sipreg_buf b;
    FIX_INIT(&f);
    sipreg_buf_init(&b, out, sizeof out - 1);
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &f.cfg, SIPREG_STR_NULL, T0, false), 0);
    out[b.len] = '\0';
    /* Two lines, SHA-256 first, sharing one nonce. */
    char *nl = strstr(out, "\r\n");
    ASSERT(nl);
    ASSERT(strncmp(out, "WWW-Authenticate: Digest realm=\"" REALM "\", nonce=\"", 52) == 0);
    ASSERT(strstr(out, "\", algorithm=SHA-256, qop=\"auth\"\r\nWWW-Authenticate: Digest realm=\""));
    const char *tail = "\", algorithm=MD5, qop=\"auth\"\r\n";
    ASSERT(strcmp(out + strlen(out) - strlen(tail), tail) == 0);
    ASSERT(!strstr(out, "stale"));
    struct sipreg_str n1 = quoted(out, "nonce=\""), n2 = quoted(nl, "nonce=\"");
    ASSERT_EQ(n1.len, SIPREG_AUTH_NONCE_LEN);
    ASSERT(sipreg_str_eq(n1, n2));
    ASSERT_STR(quoted(out, "opaque=\""), f.s.opaque);
    struct sipreg_auth_nonce_info info;
    ASSERT_EQ(sipreg_auth_nonce_verify(&f.s, S(REALM), NULL, n1, T0, 1, 0, &info), 0);
    ASSERT_EQ(info.issued, T0);
    /* Same shape and size at another time and with stale. */
    size_t len1 = b.len;
    sipreg_buf_init(&b, out2, sizeof out2);
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &f.cfg, SIPREG_STR_NULL, T0 + 123456789, false), 0);
    ASSERT_EQ(b.len, len1);
    ASSERT(memcmp(out2, out, 52) == 0);
    sipreg_buf_init(&b, out, sizeof out - 1);
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &f.cfg, SIPREG_STR_NULL, T0, true), 0);
    out[b.len] = '\0';
    ASSERT_EQ(b.len, len1 + 2 * strlen(", stale=true"));
    ASSERT(strstr(out, "qop=\"auth\", stale=true\r\nWWW-Authenticate"));
    /* Proxy form, auth-int offered, a configured list. */
    const enum sipreg_auth_alg one[] = {SIPREG_AUTH_SHA512_256};
    f.cfg.proxy = true;
    f.cfg.offer_auth_int = true;
    f.cfg.algs = one;
    f.cfg.nalgs = 1;
    sipreg_buf_init(&b, out, sizeof out - 1);
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &f.cfg, SIPREG_STR_NULL, T0, false), 0);
    out[b.len] = '\0';
    ASSERT(strncmp(out, "Proxy-Authenticate: Digest realm=\"", 34) == 0);
    ASSERT(strstr(out, "\", algorithm=SHA-512-256, qop=\"auth,auth-int\"\r\n"));
    ASSERT_EQ(strstr(out, "\r\n") + 2 - out, (long)b.len);
    /* Too small a buffer; a bad configuration. */
    sipreg_buf_init(&b, out, 40);
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &f.cfg, SIPREG_STR_NULL, T0, false), SIPREG_ENOSPC);
    ASSERT(b.overflow);
    sipreg_buf_init(&b, out, sizeof out);
    f.cfg.realm = S("a\\b");
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &f.cfg, SIPREG_STR_NULL, T0, false), SIPREG_EINVAL);
    f.cfg.realm = S("a\r\nb");
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &f.cfg, SIPREG_STR_NULL, T0, false), SIPREG_EINVAL);
    f.cfg.realm = S(REALM);
    const enum sipreg_auth_alg junk[] = {(enum sipreg_auth_alg)99};
    f.cfg.algs = junk;
    ASSERT_EQ(sipreg_auth_challenge_build(&b, &f.cfg, SIPREG_STR_NULL, T0, false), SIPREG_EINVAL);
    ASSERT_EQ(b.len, 0);
    sipreg_auth_tracker_destroy(f.t);
    return 0;
}
