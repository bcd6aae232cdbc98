/* Tests for src/client/reg.c: the registration state machine against a fake registrar and a
 * fake clock (RFC 3261 §10.2, RFC 3581, RFC 7616 digest, backoff, NAT, keep-alives). */
#include "client_fixture.h"

#define EXPECT_STATE(f, st) ASSERT_EQ(sipreg_reg_state((f)->r), (st))

/* ---- the first REGISTER and the 200 ---- */

static int t_basic(struct fx *f)
{
    ASSERT_EQ(sipreg_client_next_timeout(f->c), -1);
    ASSERT_EQ(fx_at(f, 1000), 0);
    ASSERT_EQ(fx_pull(f), 0); /* nothing before begin */
    sipreg_reg_begin(f->r);
    ASSERT_EQ(sipreg_client_next_timeout(f->c), 0); /* due now */
    ASSERT_EQ(fx_at(f, 1000), 0);
    ASSERT_EQ(f->nev, 1);
    ASSERT_EQ(f->ev[0].state, SIPREG_REG_REGISTERING);
    ASSERT_EQ(f->ev[0].old, SIPREG_REG_UNREGISTERED);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(f->parsed);
    char txt[64];
    ASSERT_EQ(sipreg_netaddr_format(&f->to, txt, sizeof txt) > 0, 1);
    ASSERT_STR(S(txt), "udp:192.0.2.1:5060");
    ASSERT_STR(f->m.method_s, "REGISTER");
    ASSERT_STR(f->m.ruri, REGISTRAR);
    const struct sipreg_via *v;
    ASSERT_EQ(sipreg_msg_via(&f->m, &v, NULL), 0);
    ASSERT_STR(v->host, "192.0.2.10");
    ASSERT_EQ(v->port, 5062);
    ASSERT_EQ(v->rport, 0); /* rport always asked for */
    ASSERT(v->branch.len > 7 && memcmp(v->branch.p, "z9hG4bK", 7) == 0);
    ASSERT_STR(fx_hdr(f, "To"), "<" AOR ">");
    ASSERT(fx_hdr(f, "From").len > sizeof("<" AOR ">;tag="));
    ASSERT_STR(fx_hdr(f, "Contact"), "<" CONTACT ">");
    ASSERT_STR(fx_hdr(f, "Expires"), "3600");
    ASSERT_STR(fx_hdr(f, "Max-Forwards"), "70");
    ASSERT_STR(fx_hdr(f, "User-Agent"), "sipreg");
    ASSERT_ABSENT(fx_hdr(f, "Authorization"));
    ASSERT_EQ(fx_pull(f), 0);
    /* the 200 grants 1800 s: refresh a minute before */
    ASSERT_EQ(fx_ok(f, 1800), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    ASSERT_EQ(f->nev, 2);
    ASSERT_EQ(f->ev[1].status, 200);
    ASSERT_STR(S(f->ev[1].reason), "OK");
    ASSERT_EQ(f->ev[1].expires, 1800);
    ASSERT_EQ(f->ev[1].next, 1000 + 1740000);
    ASSERT_STR(S(f->ev[1].contact), CONTACT);
    ASSERT_EQ(f->ev[1].has_pub, 0);
    ASSERT_EQ(sipreg_client_next_timeout(f->c), 1000 + 1740000);
    struct sipreg_reg_event info;
    sipreg_reg_info(f->r, &info);
    ASSERT_EQ(info.state, SIPREG_REG_REGISTERED);
    ASSERT_EQ(info.expires, 1800);
    ASSERT_STR(S(sipreg_reg_state_name(info.state)), "registered");
    return 0;
}
TEST(client_register_basic)
{
    return fx_run(t_basic, NULL, NULL);
}

/* Refreshes keep Call-ID and From tag, count CSeq up and take a new branch each time. */
static int t_refresh_ids(struct fx *f)
{
    ASSERT_EQ(fx_register(f, 600), 0);
    char cid[64], from[128], br1[64], br2[64];
    snprintf(cid, sizeof cid, "%.*s", (int)f->m.call_id.len, f->m.call_id.p);
    struct sipreg_str fr = fx_hdr(f, "From");
    snprintf(from, sizeof from, "%.*s", (int)fr.len, fr.p);
    long cseq = fx_cseq(f);
    fx_branch(f, br1, sizeof br1);
    /* 600 s granted: refreshed at 540 s, not a millisecond before */
    ASSERT_EQ(fx_at(f, 539999), 0);
    ASSERT_EQ(fx_pull(f), 0);
    ASSERT_EQ(fx_at(f, 540000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(f->m.call_id, cid);
    ASSERT_STR(fx_hdr(f, "From"), from);
    ASSERT_EQ(fx_cseq(f), cseq + 1);
    fx_branch(f, br2, sizeof br2);
    ASSERT(strcmp(br1, br2) != 0);
    size_t nev = f->nev;
    ASSERT_EQ(fx_ok(f, 600), 0);
    /* a refresh stays Registered, and reports its outcome */
    ASSERT_EQ(f->nev, nev + 1);
    ASSERT_EQ(fx_last(f)->old, SIPREG_REG_REGISTERED);
    ASSERT_EQ(fx_last(f)->next, 540000 + 540000);
    return 0;
}
TEST(client_refresh_keeps_ids)
{
    return fx_run(t_refresh_ids, NULL, NULL);
}

TEST(client_refresh_margin)
{
    ASSERT_EQ(sipreg__client_refresh_delay(3600), 3540000);
    ASSERT_EQ(sipreg__client_refresh_delay(120), 60000);
    ASSERT_EQ(sipreg__client_refresh_delay(100), 50000);
    ASSERT_EQ(sipreg__client_refresh_delay(2), 1000);
    ASSERT_EQ(sipreg__client_refresh_delay(1), 500);
    ASSERT_EQ(sipreg__client_refresh_delay(4294967295u), 4294967295000LL - 60000);
    return 0;
}

/* A very short expiry is refreshed before it runs out, not in a loop. */
static int t_short_expiry(struct fx *f)
{
    ASSERT_EQ(fx_register(f, 2), 0);
    ASSERT_EQ(fx_last(f)->next, 1000);
    int sent = 0;
    for (sipreg_time t = 0; t <= 10000; t += 100) {
        ASSERT_EQ(fx_at(f, t), 0);
        if (fx_pull(f) == 1) {
            sent++;
            ASSERT_EQ(fx_ok(f, 2), 0);
        }
    }
    ASSERT_EQ(sent, 10); /* one per second */
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    return 0;
}
TEST(client_short_expiry)
{
    return fx_run(t_short_expiry, NULL, NULL);
}

/* ---- granted expiry ---- */

static int t_granted(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    /* this contact's param wins over Expires and over other contacts' */
    ASSERT_EQ(fx_reply(f, 200,
                       "Contact: <sip:alice@198.51.100.7>;expires=50\r\n"
                       "Contact: <sip:alice@192.0.2.10:5062>;expires=120;q=0.5\r\n"
                       "Expires: 3600\r\n"),
              0);
    ASSERT_EQ(fx_last(f)->expires, 120);
    ASSERT_EQ(fx_last(f)->next, 60000);
    /* the registrar changes its mind at the refresh: the new value is followed */
    ASSERT_EQ(fx_at(f, 60000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 200,
                       "Contact: <sip:ALICE@192.0.2.10:5062>;expires=10\r\n"
                       "Contact: <sip:alice@192.0.2.10:5062>;expires=300\r\n"),
              0);
    ASSERT_EQ(fx_last(f)->expires, 300);
    ASSERT_EQ(fx_last(f)->next, 60000 + 240000);
    /* no expires param for us: the Expires header */
    ASSERT_EQ(fx_at(f, 300000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 200, "Contact: <sip:alice@192.0.2.10:5062>\r\nExpires: 90\r\n"), 0);
    ASSERT_EQ(fx_last(f)->expires, 90);
    /* neither: what we asked for */
    ASSERT_EQ(fx_at(f, 400000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 200, NULL), 0);
    ASSERT_EQ(fx_last(f)->expires, 3600);
    /* our contact bound for 0 s is no binding: an error, retried later */
    ASSERT_EQ(fx_at(f, 400000 + 3540000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 200, "Contact: <sip:alice@192.0.2.10:5062>;expires=0\r\n"), 0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->error, SIPREG_EINVAL);
    return 0;
}
TEST(client_granted_expiry)
{
    return fx_run(t_granted, NULL, NULL);
}

/* ---- digest ---- */

static int t_auth(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    long cseq = fx_cseq(f);
    ASSERT_EQ(fx_challenge(f, 401, false), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERING); /* a challenge is no error */
    ASSERT_EQ(f->nev, 1);
    ASSERT_EQ(sipreg_client_next_timeout(f->c), 0);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_cseq(f), cseq + 1);
    enum sipreg_auth_alg alg;
    /* SHA-256 and MD5 offered: SHA-256 answered, and the registrar accepts it */
    ASSERT_EQ(fx_verify(f, "secret", &alg), 0);
    ASSERT_EQ(alg, SIPREG_AUTH_SHA256);
    struct sipreg_str a = fx_hdr(f, "Authorization");
    ASSERT(strstr(a.p, "nc=00000001") && strstr(a.p, "qop=auth") && strstr(a.p, "cnonce="));
    ASSERT(strstr(a.p, "opaque=\""));
    ASSERT_EQ(fx_ok(f, 600), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    /* the refresh reuses the nonce with the next nc, and is accepted */
    ASSERT_EQ(fx_at(f, 540000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    a = fx_hdr(f, "Authorization");
    ASSERT(a.p && strstr(a.p, "nc=00000002"));
    ASSERT_EQ(fx_verify(f, "secret", NULL), 0);
    ASSERT_EQ(fx_ok(f, 600), 0);
    ASSERT_EQ(fx_at(f, 1080000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(strstr(fx_hdr(f, "Authorization").p, "nc=00000003"));
    /* the registrar forgot the nonce (no stale flag): a fresh challenge is answered at once,
     * no error */
    size_t nev = f->nev;
    ASSERT_EQ(fx_challenge(f, 401, false), 0);
    ASSERT_EQ(fx_at(f, 1080000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(strstr(fx_hdr(f, "Authorization").p, "nc=00000001"));
    ASSERT_EQ(fx_verify(f, "secret", NULL), 0);
    ASSERT_EQ(fx_ok(f, 600), 0);
    ASSERT_EQ(f->nev, nev + 1);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    return 0;
}
TEST(client_auth_challenge)
{
    return fx_run(t_auth, NULL, NULL);
}

static int t_auth_strongest(struct fx *f)
{
    f->algs[0] = SIPREG_AUTH_MD5;
    f->algs[1] = SIPREG_AUTH_SHA512_256;
    f->algs[2] = SIPREG_AUTH_SHA256;
    f->srv.nalgs = 3;
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_challenge(f, 401, false), 0);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    enum sipreg_auth_alg alg;
    ASSERT_EQ(fx_verify(f, "secret", &alg), 0);
    ASSERT_EQ(alg, SIPREG_AUTH_SHA512_256);
    return 0;
}
TEST(client_auth_strongest)
{
    return fx_run(t_auth_strongest, NULL, NULL);
}

/* With an MD5 HA1 only MD5 can be answered, even when SHA-256 is offered first. */
static int t_auth_ha1(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_challenge(f, 401, false), 0);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    enum sipreg_auth_alg alg;
    ASSERT_EQ(fx_verify(f, "secret", &alg), 0);
    ASSERT_EQ(alg, SIPREG_AUTH_MD5);
    return 0;
}
TEST(client_auth_ha1)
{
    char ha1[SIPREG_AUTH_HEX_MAX];
    ASSERT_EQ(sipreg_auth_ha1(SIPREG_AUTH_MD5, S("alice"), S(REALM), S("secret"), ha1), 0);
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.password = NULL;
    rc.ha1 = ha1;
    rc.ha1_alg = SIPREG_AUTH_MD5;
    return fx_run(t_auth_ha1, &rc, NULL);
}

/* A proxy in front of the registrar: 407 answered with Proxy-Authorization. */
static int t_auth_407(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_challenge(f, 407, false), 0);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_ABSENT(fx_hdr(f, "Authorization"));
    ASSERT_EQ(fx_verify(f, "secret", NULL), 0);
    ASSERT_EQ(fx_ok(f, 60), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    return 0;
}
TEST(client_auth_407)
{
    return fx_run(t_auth_407, NULL, NULL);
}

/* stale=true: retried at once with the new nonce, not an error, even after fresh credentials. */
static int t_auth_stale(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_challenge(f, 401, false), 0);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    char nonce1[128];
    snprintf(nonce1, sizeof nonce1, "%s", strstr(fx_hdr(f, "Authorization").p, "nonce="));
    f->clk.now = 5000;
    ASSERT_EQ(fx_challenge(f, 401, true), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERING);
    ASSERT_EQ(fx_at(f, 5000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    struct sipreg_str a = fx_hdr(f, "Authorization");
    ASSERT(a.p && strstr(a.p, "nc=00000001"));
    ASSERT(strncmp(strstr(a.p, "nonce="), nonce1, 50) != 0);
    ASSERT_EQ(fx_verify(f, "secret", NULL), 0);
    ASSERT_EQ(fx_ok(f, 60), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    /* an endless run of stale nonces is cut off */
    ASSERT_EQ(fx_at(f, 35000), 0);
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(fx_pull(f), 1);
        ASSERT_EQ(fx_challenge(f, 401, true), 0);
        ASSERT_EQ(fx_at(f, 35000), 0);
    }
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->error, SIPREG_EAUTH);
    return 0;
}
TEST(client_auth_stale)
{
    return fx_run(t_auth_stale, NULL, NULL);
}

/* Fresh credentials refused: Error "authentication failed", and nothing sent again before the
 * long auth backoff (no tight loop). */
static int t_auth_wrong(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_challenge(f, 401, false), 0);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_verify(f, "not-the-password", NULL), SIPREG_EAUTH);
    ASSERT_EQ(fx_challenge(f, 401, false), 0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    const struct fx_ev *e = fx_last(f);
    ASSERT_EQ(e->error, SIPREG_EAUTH);
    ASSERT_EQ(e->status, 401);
    ASSERT_STR(S(e->reason), "authentication failed");
    ASSERT(e->next >= 300000 && e->next <= 330000);
    int sent = 0;
    for (sipreg_time t = 0; t < 300000; t += 1000) {
        ASSERT_EQ(fx_at(f, t), 0);
        sent += fx_drain(f);
    }
    ASSERT_EQ(sent, 0);
    ASSERT_EQ(fx_at(f, e->next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    EXPECT_STATE(f, SIPREG_REG_REGISTERING);
    /* the retry starts over without the refused challenge */
    ASSERT_ABSENT(fx_hdr(f, "Authorization"));
    return 0;
}
TEST(client_auth_wrong_password)
{
    return fx_run(t_auth_wrong, NULL, NULL);
}

static int t_auth_403(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 403, NULL), 0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->error, SIPREG_EAUTH);
    ASSERT_EQ(fx_last(f)->status, 403);
    ASSERT(fx_last(f)->next >= 300000);
    return 0;
}
TEST(client_auth_403)
{
    return fx_run(t_auth_403, NULL, NULL);
}

/* No usable challenge (unknown algorithm only), or no credentials at all: auth failed. */
static int t_auth_unusable(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 401,
                       "WWW-Authenticate: Digest realm=\"x\", nonce=\"n\", algorithm=SHA-1, "
                       "qop=\"auth\"\r\nWWW-Authenticate: Basic realm=\"x\"\r\n"),
              0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->error, SIPREG_EAUTH);
    return 0;
}
TEST(client_auth_unusable)
{
    return fx_run(t_auth_unusable, NULL, NULL);
}

static int t_auth_nocred(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_challenge(f, 401, false), 0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->error, SIPREG_EAUTH);
    return 0;
}
TEST(client_auth_no_credentials)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.password = NULL;
    return fx_run(t_auth_nocred, &rc, NULL);
}

/* The first REGISTER, answered by `reply` (a 401 or 407 challenge, from the fixture's
 * registrar when `hdrs` is NULL), which the configuration refuses: Error with SIPREG_EAUTH,
 * `status` and `reason`, and nothing sent. */
static int fx_refused(struct fx *f, int status, const char *hdrs, const char *reason)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(hdrs ? fx_reply(f, status, hdrs) : fx_challenge(f, status, false), 0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->error, SIPREG_EAUTH);
    ASSERT_EQ(fx_last(f)->status, status);
    ASSERT_STR(S(fx_last(f)->reason), reason);
    ASSERT_EQ(fx_drain(f), 0); /* no Authorization */
    return 0;
}

/* A realm given in the configuration: other realms' challenges are not answered (not even a
 * realm differing in case only), and the event says why; the realm is compared unescaped. */
static int t_auth_realm(struct fx *f)
{
    ASSERT_EQ(fx_refused(f, 401, NULL, "challenge realm not allowed"), 0);
    /* the retry: "Other.example.org" differs in case; the escaped form of the realm is it */
    ASSERT_EQ(fx_at(f, fx_last(f)->next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 401,
                       "WWW-Authenticate: Digest realm=\"Other.example.org\", nonce=\"n1\", "
                       "algorithm=SHA-256, qop=\"auth\"\r\n"
                       "WWW-Authenticate: Digest realm=\"other.ex\\ample.org\", nonce=\"n2\", "
                       "algorithm=MD5, qop=\"auth\"\r\n"),
              0);
    ASSERT_EQ(fx_at(f, f->clk.now), 0);
    ASSERT_EQ(fx_pull(f), 1);
    struct sipreg_str a = fx_hdr(f, "Authorization");
    ASSERT(a.p && strstr(a.p, "nonce=\"n2\"") && strstr(a.p, "algorithm=MD5"));
    return 0;
}
TEST(client_auth_realm)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.realm = "other.example.org";
    return fx_run(t_auth_realm, &rc, NULL);
}

/* min_alg SHA-256 against a registrar offering MD5 only: nothing is sent, Error with
 * SIPREG_EAUTH and a reason naming the algorithm; SHA-256 offered besides MD5 is answered. */
static int t_min_alg(struct fx *f)
{
    f->algs[0] = SIPREG_AUTH_MD5;
    f->srv.nalgs = 1;
    ASSERT_EQ(fx_refused(f, 401, NULL, "challenge algorithm too weak"), 0);
    ASSERT(fx_last(f)->next >= 300000); /* the authentication-failure wait, no loop */
    ASSERT_EQ(fx_until(f, fx_last(f)->next - 1), 0);
    /* the registrar learns SHA-256 */
    f->algs[0] = SIPREG_AUTH_MD5;
    f->algs[1] = SIPREG_AUTH_SHA256;
    f->srv.nalgs = 2;
    ASSERT_EQ(fx_at(f, fx_last(f)->next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_ABSENT(fx_hdr(f, "Authorization"));
    ASSERT_EQ(fx_challenge(f, 401, false), 0);
    ASSERT_EQ(fx_at(f, f->clk.now), 0);
    ASSERT_EQ(fx_pull(f), 1);
    enum sipreg_auth_alg alg;
    ASSERT_EQ(fx_verify(f, "secret", &alg), 0);
    ASSERT_EQ(alg, SIPREG_AUTH_SHA256);
    ASSERT_EQ(fx_ok(f, 600), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    return 0;
}
TEST(client_auth_min_alg)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.min_alg = SIPREG_AUTH_SHA256;
    return fx_run(t_min_alg, &rc, NULL);
}

/* SHA-512-256 required: SHA-256 and MD5 offered are both too weak. */
static int t_min_alg_512(struct fx *f)
{
    return fx_refused(f, 407, NULL, "challenge algorithm too weak");
}
TEST(client_auth_min_alg_sha512)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.min_alg = SIPREG_AUTH_SHA512_256;
    return fx_run(t_min_alg_512, &rc, NULL);
}

/* RFC 2069 challenges (no qop): answered by default, refused with require_qop, and with a
 * min_alg above MD5 even when their algorithm is strong enough. */
static const char rfc2069[] = "WWW-Authenticate: Digest realm=\"" REALM "\", nonce=\"n69\"\r\n"
                              "WWW-Authenticate: Digest realm=\"" REALM "\", nonce=\"n69\", "
                              "algorithm=SHA-256\r\n";

static int t_rfc2069(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 401, rfc2069), 0);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    struct sipreg_str a = fx_hdr(f, "Authorization");
    ASSERT(a.p && strstr(a.p, "algorithm=SHA-256") && !strstr(a.p, "qop="));
    return 0;
}
TEST(client_auth_rfc2069_default)
{
    return fx_run(t_rfc2069, NULL, NULL);
}

static const char *rfc2069_why;

static int t_rfc2069_refused(struct fx *f)
{
    return fx_refused(f, 401, rfc2069, rfc2069_why);
}
TEST(client_auth_require_qop)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.require_qop = true;
    rfc2069_why = "challenge without qop not allowed";
    ASSERT_EQ(fx_run(t_rfc2069_refused, &rc, NULL), 0);
    /* the first challenge refused (MD5) gives the reason */
    rc.require_qop = false;
    rc.min_alg = SIPREG_AUTH_SHA256;
    rfc2069_why = "challenge algorithm too weak";
    return fx_run(t_rfc2069_refused, &rc, NULL);
}

/* ---- 423 ---- */

static int t_423(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 423, "Min-Expires: 7200\r\n"), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERING);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(fx_hdr(f, "Expires"), "7200");
    ASSERT_EQ(fx_ok(f, 7200), 0);
    ASSERT_EQ(fx_last(f)->expires, 7200);
    /* a 423 that does not ask for more, or has no Min-Expires, ends in Error */
    ASSERT_EQ(fx_at(f, 7200000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(fx_hdr(f, "Expires"), "7200");
    ASSERT_EQ(fx_reply(f, 423, "Min-Expires: 60\r\n"), 0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->error, SIPREG_ELIMIT);
    ASSERT_EQ(fx_last(f)->status, 423);
    ASSERT_EQ(fx_at(f, fx_last(f)->next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 423, NULL), 0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    return 0;
}
TEST(client_423_min_expires)
{
    return fx_run(t_423, NULL, NULL);
}

/* ---- failures, backoff, Retry-After ---- */

/* Silence: Timer E retransmissions, then Timer F, Error with 408 and a jittered backoff that
 * doubles per failure up to the cap. */
static int t_timeout(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    sipreg_time at[16];
    int n = 0;
    while (sipreg_reg_state(f->r) == SIPREG_REG_REGISTERING && n < 16) {
        ASSERT_EQ(fx_at(f, sipreg_client_next_timeout(f->c)), 0);
        if (fx_pull(f) == 1)
            at[n++] = f->clk.now;
    }
    ASSERT_EQ(n, 10);
    ASSERT_EQ(at[0], 500);
    ASSERT_EQ(at[1], 1500);
    ASSERT_EQ(at[2], 3500);
    ASSERT_EQ(at[3], 7500);
    ASSERT_EQ(at[4], 11500);
    ASSERT_EQ(f->clk.now, 32000);
    const struct fx_ev *e = fx_last(f);
    ASSERT_EQ(e->state, SIPREG_REG_ERROR);
    ASSERT_EQ(e->status, 408);
    ASSERT_EQ(e->error, SIPREG_ETIMEDOUT);
    ASSERT_STR(S(e->reason), "no response");
    ASSERT(e->next >= 32000 + 2500 && e->next <= 32000 + 5000);
    struct sipreg_netaddr dead; /* no connection to reset on UDP */
    ASSERT_EQ(sipreg_client_pull_reset(f->c, &dead), 0);
    /* next failures: 10 s, 20 s, ... capped at 300 s (each drawn in [d/2, d]) */
    sipreg_time caps[] = {10000, 20000, 40000, 80000, 160000, 300000, 300000};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        ASSERT_EQ(fx_at(f, fx_last(f)->next), 0);
        EXPECT_STATE(f, SIPREG_REG_REGISTERING);
        sipreg_time start = f->clk.now;
        while (sipreg_reg_state(f->r) == SIPREG_REG_REGISTERING) {
            ASSERT_EQ(fx_at(f, sipreg_client_next_timeout(f->c)), 0);
            fx_drain(f);
        }
        ASSERT_EQ(f->clk.now, start + 32000);
        sipreg_time d = fx_last(f)->next - f->clk.now;
        ASSERT(d >= caps[i] / 2 && d <= caps[i]);
    }
    /* then it answers */
    ASSERT_EQ(fx_at(f, fx_last(f)->next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_ok(f, 3600), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    return 0;
}
TEST(client_timeout_backoff)
{
    return fx_run(t_timeout, NULL, NULL);
}

/* A thousand clients that lose their server together do not come back in lock-step. */
TEST(client_backoff_jitter)
{
    static sipreg_time first[1000];
    int distinct = 0;
    for (int i = 0; i < 1000; i++) {
        struct sipreg_client *c;
        struct sipreg_client_cfg cc = {.seed = (uint64_t)i + 1};
        int err = sipreg_client_create(&c, &cc);
        if (err)
            return 1;
        first[i] = sipreg__client_backoff(c, 1);
        sipreg_client_destroy(c);
        ASSERT(first[i] >= 2500 && first[i] <= 5000);
    }
    /* spread over the whole window: every 100 ms bucket of [2.5 s, 5 s] is hit */
    for (int b = 0; b < 25; b++) {
        int hit = 0;
        for (int i = 0; i < 1000 && !hit; i++)
            hit = first[i] >= 2500 + b * 100 && first[i] < 2600 + b * 100;
        distinct += hit;
    }
    ASSERT_EQ(distinct, 25);
    return 0;
}

static int t_503(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 503, "Retry-After: 30 (maintenance)\r\n"), 0);
    const struct fx_ev *e = fx_last(f);
    ASSERT_EQ(e->state, SIPREG_REG_ERROR);
    ASSERT_EQ(e->status, 503);
    ASSERT_STR(S(e->reason), "Service Unavailable");
    ASSERT(e->next >= 30000 && e->next <= 33000);
    ASSERT_EQ(fx_at(f, 29999), 0);
    ASSERT_EQ(fx_pull(f), 0);
    ASSERT_EQ(fx_at(f, e->next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    /* a 500 without Retry-After: the ordinary backoff (second failure: 5-10 s) */
    sipreg_time t = f->clk.now;
    ASSERT_EQ(fx_reply(f, 500, NULL), 0);
    ASSERT(fx_last(f)->next >= t + 5000 && fx_last(f)->next <= t + 10000);
    ASSERT_EQ(fx_last(f)->error, SIPREG_EINVAL);
    /* a 6xx too */
    ASSERT_EQ(fx_at(f, fx_last(f)->next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 603, NULL), 0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->status, 603);
    return 0;
}
TEST(client_503_retry_after)
{
    return fx_run(t_503, NULL, NULL);
}

/* Several addresses: a timeout moves to the next one at once; Error only when all failed. */
static int t_targets(struct fx *f)
{
    struct sipreg_netaddr t[2];
    ASSERT_EQ(sipreg_netaddr_parse(&t[0], "192.0.2.1:5060", 0), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&t[1], "192.0.2.2:5080", 0), 0);
    ASSERT_EQ(sipreg_reg_set_targets(f->r, t, 0), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_reg_set_targets(f->r, t, 2), 0);
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(sipreg_netaddr_eq(&f->to, &t[0]));
    ASSERT_EQ(fx_until(f, 31999), 10); /* retransmissions to the first */
    ASSERT(sipreg_netaddr_eq(&f->to, &t[0]));
    ASSERT_EQ(fx_at(f, 32000), 0); /* Timer F */
    EXPECT_STATE(f, SIPREG_REG_REGISTERING);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(sipreg_netaddr_eq(&f->to, &t[1]));
    struct sipreg_netaddr cur;
    ASSERT_EQ(sipreg_reg_target(f->r, &cur), 0);
    ASSERT(sipreg_netaddr_eq(&cur, &t[1]));
    ASSERT_EQ(fx_until(f, 64000), 10);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->error, SIPREG_ETIMEDOUT);
    /* the second address answers: it is kept for refreshes */
    ASSERT_EQ(fx_at(f, fx_last(f)->next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(sipreg_netaddr_eq(&f->to, &t[0]));
    ASSERT_EQ(fx_until(f, f->clk.now + 31999), 10);
    ASSERT_EQ(fx_at(f, f->clk.now + 1), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(sipreg_netaddr_eq(&f->to, &t[1]));
    ASSERT_EQ(fx_ok(f, 600), 0);
    ASSERT_EQ(fx_at(f, f->clk.now + 540000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(sipreg_netaddr_eq(&f->to, &t[1]));
    return 0;
}
TEST(client_next_address)
{
    return fx_run(t_targets, NULL, NULL);
}

/* ---- NAT ---- */

static int t_rport_learn(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply_via(f, 200, "Contact: <" CONTACT ">;expires=600\r\n", "203.0.113.5", 40000),
              0);
    const struct fx_ev *e = fx_last(f);
    ASSERT(e->has_pub);
    char txt[64];
    sipreg_netaddr_format(&e->pub, txt, sizeof txt);
    ASSERT_STR(S(txt), "udp:203.0.113.5:40000");
    /* without contact rewrite nothing else happens */
    ASSERT_EQ(e->next, 540000);
    ASSERT_EQ(fx_at(f, 1000), 0);
    ASSERT_EQ(fx_pull(f), 0);
    return 0;
}
TEST(client_rport_learn)
{
    return fx_run(t_rport_learn, NULL, NULL);
}

static int t_nat_rewrite(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply_via(f, 200, "Contact: <" CONTACT ">;expires=600\r\n", "203.0.113.5", 40000),
              0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    /* re-registered at once with the public address; the stale binding removed in the same
     * request */
    ASSERT_EQ(sipreg_client_next_timeout(f->c), 0);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(fx_hdr(f, "Contact"), "<sip:alice@203.0.113.5:40000>");
    ASSERT_STR(fx_hdr2(f, "Contact"), "<" CONTACT ">;expires=0");
    ASSERT_EQ(fx_reply_via(f, 200, "Contact: <sip:alice@203.0.113.5:40000>;expires=600\r\n",
                           "203.0.113.5", 40000),
              0);
    ASSERT_STR(S(fx_last(f)->contact), "sip:alice@203.0.113.5:40000");
    ASSERT_EQ(fx_last(f)->next, 540000); /* stable now: no loop */
    /* the NAT rebinds to another port: seen on the refresh, fixed at once */
    ASSERT_EQ(fx_at(f, 540000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(fx_hdr(f, "Contact"), "<sip:alice@203.0.113.5:40000>");
    ASSERT_ABSENT(fx_hdr2(f, "Contact"));
    ASSERT_EQ(fx_reply_via(f, 200, "Contact: <sip:alice@203.0.113.5:40000>;expires=600\r\n",
                           "203.0.113.5", 41234),
              0);
    ASSERT_EQ(fx_at(f, 540000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(fx_hdr(f, "Contact"), "<sip:alice@203.0.113.5:41234>");
    ASSERT_STR(fx_hdr2(f, "Contact"), "<sip:alice@203.0.113.5:40000>;expires=0");
    return 0;
}
TEST(client_nat_rewrite)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.nat = SIPREG_NAT_REWRITE;
    return fx_run(t_nat_rewrite, &rc, NULL);
}

/* ---- keep-alives ---- */

static int t_ka_options(struct fx *f)
{
    ASSERT_EQ(fx_register(f, 3600), 0);
    ASSERT_EQ(fx_at(f, 29999), 0);
    ASSERT_EQ(fx_pull(f), 0);
    ASSERT_EQ(fx_at(f, 30000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(f->m.method_s, "OPTIONS");
    const struct sipreg_via *v;
    ASSERT_EQ(sipreg_msg_via(&f->m, &v, NULL), 0);
    ASSERT_EQ(v->rport, 0);
    ASSERT_EQ(fx_reply(f, 200, NULL), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    /* the next one goes unanswered: Timer F, then a refresh at once */
    ASSERT_EQ(fx_at(f, 60000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(f->m.method_s, "OPTIONS");
    ASSERT_EQ(fx_until(f, 91999), 10); /* its retransmissions */
    ASSERT_STR(f->m.method_s, "OPTIONS");
    ASSERT_EQ(fx_at(f, 92000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(f->m.method_s, "REGISTER");
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    return 0;
}
TEST(client_keepalive_options)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.keepalive = 30;
    rc.keepalive_kind = SIPREG_KEEPALIVE_OPTIONS;
    return fx_run(t_ka_options, &rc, NULL);
}

static int t_ka_crlf(struct fx *f)
{
    ASSERT_EQ(fx_register(f, 3600), 0);
    for (int i = 1; i <= 3; i++) {
        ASSERT_EQ(fx_at(f, i * 15000), 0);
        ASSERT_EQ(fx_pull(f), 1);
        ASSERT_EQ(f->outn, 4);
        ASSERT(memcmp(f->out, "\r\n\r\n", 4) == 0);
        ASSERT_EQ(fx_pull(f), 0);
    }
    /* a pong (or any CRLF) received is dropped */
    struct sipreg_netaddr from = f->to;
    ASSERT_EQ(sipreg_client_receive(f->c, "\r\n", 2, &from, NULL, f->clk.now), 0);
    ASSERT_EQ(sipreg_client_receive(f->c, "garbage", 7, &from, NULL, f->clk.now), 0);
    /* none after end */
    sipreg_reg_end(f->r);
    ASSERT_EQ(fx_at(f, 60000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(f->m.method_s, "REGISTER");
    ASSERT_EQ(fx_reply(f, 200, NULL), 0);
    ASSERT_EQ(fx_at(f, 75000), 0);
    ASSERT_EQ(fx_pull(f), 0);
    return 0;
}
TEST(client_keepalive_crlf)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.keepalive = 15;
    return fx_run(t_ka_crlf, &rc, NULL);
}

/* ---- end, shutdown ---- */

static int t_end(struct fx *f)
{
    ASSERT_EQ(fx_register(f, 600), 0);
    long cseq = fx_cseq(f);
    sipreg_reg_end(f->r);
    ASSERT_EQ(sipreg_client_pending(f->c), 1);
    ASSERT_EQ(fx_at(f, 10), 0);
    EXPECT_STATE(f, SIPREG_REG_UNREGISTERING);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(fx_hdr(f, "Contact"), "<" CONTACT ">;expires=0");
    ASSERT_STR(fx_hdr(f, "Expires"), "0");
    ASSERT_EQ(fx_cseq(f), cseq + 1);
    /* the registrar challenges the unregistration too */
    ASSERT_EQ(fx_challenge(f, 401, false), 0);
    ASSERT_EQ(fx_at(f, 10), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(fx_hdr(f, "Expires"), "0");
    ASSERT_EQ(fx_verify(f, "secret", NULL), 0);
    ASSERT_EQ(fx_reply(f, 200, NULL), 0);
    EXPECT_STATE(f, SIPREG_REG_UNREGISTERED);
    ASSERT_EQ(fx_last(f)->status, 200);
    ASSERT_EQ(sipreg_client_pending(f->c), 0);
    ASSERT_EQ(sipreg_client_next_timeout(f->c), -1); /* no refresh any more */
    /* ending again does nothing */
    size_t nev = f->nev;
    sipreg_reg_end(f->r);
    ASSERT_EQ(fx_at(f, 20), 0);
    ASSERT_EQ(fx_pull(f), 0);
    ASSERT_EQ(f->nev, nev);
    return 0;
}
TEST(client_end_unregisters)
{
    return fx_run(t_end, NULL, NULL);
}

/* end() while the first REGISTER is unanswered: that one may have bound, so unregister; end()
 * while in Error before any binding: just Unregistered. */
static int t_end_states(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    sipreg_reg_end(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(fx_hdr(f, "Expires"), "0");
    EXPECT_STATE(f, SIPREG_REG_UNREGISTERING);
    /* silence: the unregistration times out and gives up */
    ASSERT_EQ(fx_at(f, 32000), 0);
    EXPECT_STATE(f, SIPREG_REG_UNREGISTERED);
    ASSERT_EQ(fx_last(f)->error, SIPREG_ETIMEDOUT);
    fx_drain(f);
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 40000), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 404, NULL), 0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    sipreg_reg_end(f->r);
    ASSERT_EQ(fx_at(f, 40000), 0);
    ASSERT_EQ(fx_pull(f), 0);
    EXPECT_STATE(f, SIPREG_REG_UNREGISTERED);
    ASSERT_EQ(sipreg_client_next_timeout(f->c), -1);
    return 0;
}
TEST(client_end_states)
{
    return fx_run(t_end_states, NULL, NULL);
}

/* Two registrations; shutdown ends both, pending counts the unanswered ones. */
static int t_shutdown(struct fx *f)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.aor = "sip:bob@example.com";
    struct sipreg_reg *bob;
    ASSERT_EQ(sipreg_reg_create(f->c, &bob, &rc), 0);
    sipreg_reg_begin(f->r);
    sipreg_reg_begin(bob);
    ASSERT_EQ(fx_at(f, 0), 0);
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(fx_pull(f), 1);
        ASSERT_EQ(fx_ok(f, 600), 0);
    }
    ASSERT_EQ(sipreg_reg_state(bob), SIPREG_REG_REGISTERED);
    /* two distinct Call-IDs */
    ASSERT(strcmp(f->r->call_id, bob->call_id) != 0);
    sipreg_client_shutdown(f->c);
    ASSERT_EQ(sipreg_client_pending(f->c), 2);
    ASSERT_EQ(fx_at(f, 100), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 200, NULL), 0);
    ASSERT_EQ(sipreg_client_pending(f->c), 1);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(fx_hdr(f, "Expires"), "0");
    ASSERT_EQ(fx_reply(f, 500, NULL), 0); /* refused: still over, nothing to wait for */
    ASSERT_EQ(sipreg_client_pending(f->c), 0);
    ASSERT_EQ(sipreg_reg_state(bob), SIPREG_REG_UNREGISTERED);
    sipreg_reg_destroy(bob);
    return 0;
}
TEST(client_shutdown)
{
    return fx_run(t_shutdown, NULL, NULL);
}

/* no_refresh: the binding simply expires. */
static int t_no_refresh(struct fx *f)
{
    ASSERT_EQ(fx_register(f, 60), 0);
    ASSERT_EQ(fx_last(f)->next, -1);
    ASSERT_EQ(fx_at(f, 59999), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    ASSERT_EQ(fx_at(f, 60000), 0);
    ASSERT_EQ(fx_pull(f), 0);
    EXPECT_STATE(f, SIPREG_REG_UNREGISTERED);
    ASSERT_STR(S(fx_last(f)->reason), "expired");
    return 0;
}
TEST(client_no_refresh)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.no_refresh = true;
    return fx_run(t_no_refresh, &rc, NULL);
}

/* ---- addresses, contacts, transports ---- */

/* An automatic contact waits for the local address; a later local change re-registers and
 * removes the stale contact. */
static int t_wait_local(struct fx *f)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.registrar = "sip:[2001:db8::1]:5070";
    struct sipreg_reg *r6;
    ASSERT_EQ(sipreg_reg_create(f->c, &r6, &rc), 0);
    f->r = r6;
    sipreg_reg_begin(r6);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 0);
    ASSERT_EQ(sipreg_client_next_timeout(f->c), -1);
    EXPECT_STATE(f, SIPREG_REG_UNREGISTERED);
    struct sipreg_netaddr l;
    ASSERT_EQ(sipreg_netaddr_parse(&l, "[2001:db8::10]:5062", 0), 0);
    ASSERT_EQ(sipreg_client_set_local(f->c, &l), 0);
    ASSERT_EQ(fx_at(f, 5), 0);
    ASSERT_EQ(fx_pull(f), 1);
    char txt[64];
    sipreg_netaddr_format(&f->to, txt, sizeof txt);
    ASSERT_STR(S(txt), "udp:[2001:db8::1]:5070");
    ASSERT_STR(f->m.ruri, "sip:[2001:db8::1]:5070");
    ASSERT_STR(fx_hdr(f, "Contact"), "<sip:alice@[2001:db8::10]:5062>");
    const struct sipreg_via *v;
    ASSERT_EQ(sipreg_msg_via(&f->m, &v, NULL), 0);
    ASSERT(v->host_ipv6);
    ASSERT_STR(v->host, "2001:db8::10");
    ASSERT_EQ(fx_ok(f, 600), 0);
    ASSERT_EQ(sipreg_reg_state(r6), SIPREG_REG_REGISTERED);
    ASSERT_EQ(sipreg_reg_set_local(r6, &(struct sipreg_netaddr){0}), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_netaddr_parse(&l, "[2001:db8::10]:6000", 0), 0);
    ASSERT_EQ(sipreg_reg_set_local(r6, &l), 0);
    ASSERT_EQ(fx_at(f, 10), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(fx_hdr(f, "Contact"), "<sip:alice@[2001:db8::10]:6000>");
    ASSERT_STR(fx_hdr2(f, "Contact"), "<sip:alice@[2001:db8::10]:5062>;expires=0");
    return 0;
}
TEST(client_wait_for_local)
{
    return fx_run(t_wait_local, NULL, NULL);
}

/* A host name needs targets from the caller; a given contact is used as is. */
static int t_given(struct fx *f)
{
    struct sipreg_str host;
    uint16_t port;
    uint8_t tr;
    sipreg_reg_registrar(f->r, &host, &port, &tr);
    ASSERT_STR(host, "registrar.example.com");
    ASSERT_EQ(port, 0);
    ASSERT_EQ(tr, SIPREG_TRANSPORT_TCP);
    struct sipreg_netaddr t;
    ASSERT_EQ(sipreg_reg_target(f->r, &t), SIPREG_ENOENT);
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&t, "tcp:192.0.2.50:5060", 0), 0);
    ASSERT_EQ(sipreg_reg_set_targets(f->r, &t, 1), 0);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 0); /* no TCP local address yet */
    struct sipreg_netaddr l;
    ASSERT_EQ(sipreg_netaddr_parse(&l, "tcp:192.0.2.10:40001", 0), 0);
    ASSERT_EQ(sipreg_reg_set_local(f->r, &l), 0);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(sipreg_client_pull(f->c, f->out, 10, &f->outn, &f->to, NULL), SIPREG_ENOSPC);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(f->to.transport, SIPREG_TRANSPORT_TCP);
    ASSERT_STR(fx_hdr(f, "Contact"), "<sip:bob@198.51.100.1:5070>");
    ASSERT(strstr(fx_hdr(f, "Via").p, "SIP/2.0/TCP 192.0.2.10:40001;rport;branch="));
    ASSERT_ABSENT(fx_hdr(f, "User-Agent"));
    /* TCP: no retransmission; silence until Timer F asks the driver to drop the connection */
    struct sipreg_netaddr dead;
    ASSERT_EQ(sipreg_client_pull_reset(f->c, &dead), 0);
    ASSERT_EQ(fx_at(f, 5000), 0);
    ASSERT_EQ(fx_pull(f), 0);
    ASSERT_EQ(fx_at(f, 32000), 0);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->error, SIPREG_ETIMEDOUT);
    ASSERT_EQ(sipreg_client_pull_reset(f->c, &dead), 1);
    ASSERT(sipreg_netaddr_eq(&dead, &t));
    ASSERT_EQ(sipreg_client_pull_reset(f->c, &dead), 0);
    /* a lost connection fails the transaction at once */
    ASSERT_EQ(fx_at(f, fx_last(f)->next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    sipreg_time lost_at = f->clk.now + 100;
    f->clk.now = lost_at;
    sipreg_client_transport_lost(f->c, lost_at, &t);
    EXPECT_STATE(f, SIPREG_REG_ERROR);
    ASSERT_EQ(fx_last(f)->error, SIPREG_EIO);
    ASSERT_STR(S(fx_last(f)->reason), "connection lost");
    ASSERT_EQ(fx_at(f, fx_last(f)->next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    /* a TCP response is read in stream mode */
    ASSERT_EQ(fx_ok(f, 600), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERED);
    /* the connection drops while registered: re-register within 1-5 s, not at the refresh */
    sipreg_time now = f->clk.now;
    sipreg_client_transport_lost(f->c, now, &t);
    sipreg_time next = sipreg_client_next_timeout(f->c);
    ASSERT(next >= now + 1000 && next <= now + 5000);
    ASSERT_EQ(fx_at(f, next), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_STR(f->m.method_s, "REGISTER");
    return 0;
}
TEST(client_given_contact_tcp)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.registrar = "sip:registrar.example.com;transport=TCP";
    rc.contact = "<sip:bob@198.51.100.1:5070>";
    struct sipreg_client_cfg cc = {.user_agent = ""};
    return fx_run(t_given, &rc, &cc);
}

/* Requests reaching the client from its registrar: OPTIONS answered 200, others 501, ACK
 * dropped; responses to nobody dropped. */
static const char opt[] = "OPTIONS sip:alice@192.0.2.10:5062 SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKping\r\n"
                          "From: <sip:ping@example.com>;tag=p1\r\n"
                          "To: <sip:alice@192.0.2.10:5062>\r\n"
                          "Call-ID: ping1\r\nCSeq: 7 OPTIONS\r\nContent-Length: 0\r\n\r\n";

static int t_requests(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_drain(f), 1); /* the REGISTER */
    struct sipreg_netaddr src, loc;
    ASSERT_EQ(sipreg_netaddr_parse(&src, "192.0.2.1:5060", 0), 0);
    ASSERT_EQ(sipreg_netaddr_parse(&loc, LOCAL, 0), 0);
    ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &src, &loc, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(sipreg_netaddr_eq(&f->to, &src));
    ASSERT(sipreg_netaddr_eq(&f->from_local, &loc));
    ASSERT(!f->m.is_request);
    ASSERT_EQ(f->m.status, 200);
    ASSERT_STR(f->m.call_id, "ping1");
    /* malformed: dropped */
    static const char bad[] = "NOTIFY nothing\r\n\r\n";
    ASSERT_EQ(sipreg_client_receive(f->c, bad, sizeof bad - 1, &src, NULL, 0), 0);
    ASSERT_EQ(fx_pull(f), 0);
    static const char notify[] = "NOTIFY sip:alice@192.0.2.10:5062 SIP/2.0\r\n"
                                 "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKn\r\n"
                                 "From: <sip:x@example.com>;tag=p1\r\nTo: <sip:alice@x>\r\n"
                                 "Call-ID: n1\r\nCSeq: 1 NOTIFY\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(sipreg_client_receive(f->c, notify, sizeof notify - 1, &src, NULL, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(f->m.status, 501);
    static const char ack[] = "ACK sip:alice@192.0.2.10:5062 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa\r\n"
                              "From: <sip:x@example.com>;tag=p1\r\nTo: <sip:alice@x>\r\n"
                              "Call-ID: a1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(sipreg_client_receive(f->c, ack, sizeof ack - 1, &src, NULL, 0), 0);
    ASSERT_EQ(fx_pull(f), 0);
    static const char stray[] = "SIP/2.0 200 OK\r\n"
                                "Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKnobody\r\n"
                                "From: <sip:x@example.com>;tag=p1\r\nTo: <sip:alice@x>\r\n"
                                "Call-ID: s1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
    size_t nev = f->nev;
    ASSERT_EQ(sipreg_client_receive(f->c, stray, sizeof stray - 1, &src, NULL, 0), 0);
    ASSERT_EQ(f->nev, nev);
    EXPECT_STATE(f, SIPREG_REG_REGISTERING);
    return 0;
}
TEST(client_incoming_requests)
{
    return fx_run(t_requests, NULL, NULL);
}

/* Requests are answered only from the registrar's current address and transport: any other
 * source (another host, another port, another transport, an address the client no longer
 * uses) gets nothing, so a forged source cannot turn the client into a reflector. */
static int t_requests_source(struct fx *f)
{
    struct sipreg_netaddr reg;
    ASSERT_EQ(sipreg_netaddr_parse(&reg, "udp:192.0.2.1:5060", 0), 0);
    /* created but not begun: it talks to nobody yet */
    ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &reg, NULL, 0), 0);
    ASSERT_EQ(fx_pull(f), 0);
    ASSERT_EQ(fx_register(f, 600), 0);
    ASSERT_EQ(fx_drain(f), 0);
    static const char *const strangers[] = {
        "udp:198.51.100.7:5060", /* another host */
        "udp:192.0.2.1:5999",    /* the registrar's host, another port */
        "tcp:192.0.2.1:5060",    /* the registrar's address, another transport */
        "udp:[2001:db8::1]:5060",
    };
    for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
        struct sipreg_netaddr a;
        ASSERT_EQ(sipreg_netaddr_parse(&a, strangers[i], 0), 0);
        ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &a, NULL, 0), 0);
        if (fx_drain(f) != 0)
            TEST_FAIL_("answered %s", strangers[i]);
    }
    ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &reg, NULL, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(sipreg_netaddr_eq(&f->to, &reg));
    ASSERT_EQ(f->m.status, 200);
    /* the registrar moved (the name resolves elsewhere now): its old address is a stranger */
    struct sipreg_netaddr moved;
    ASSERT_EQ(sipreg_netaddr_parse(&moved, "udp:192.0.2.2:5060", 0), 0);
    ASSERT_EQ(sipreg_reg_set_targets(f->r, &moved, 1), 0);
    ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &reg, NULL, 0), 0);
    ASSERT_EQ(fx_pull(f), 0);
    ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &moved, NULL, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT(sipreg_netaddr_eq(&f->to, &moved));
    /* ended and unregistered: nobody is answered any more */
    sipreg_reg_end(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 200, NULL), 0);
    EXPECT_STATE(f, SIPREG_REG_UNREGISTERED);
    ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &moved, NULL, 0), 0);
    ASSERT_EQ(fx_pull(f), 0);
    return 0;
}
TEST(client_requests_only_from_registrar)
{
    return fx_run(t_requests_source, NULL, NULL);
}

/* Even the registrar's address gets at most SIPREG_CLIENT_ANSWER_BURST answers at once, then
 * SIPREG_CLIENT_ANSWER_RATE per second (its source may be forged too). */
static int t_answer_budget(struct fx *f)
{
    ASSERT_EQ(fx_register(f, 3600), 0);
    ASSERT_EQ(fx_drain(f), 0);
    struct sipreg_netaddr reg;
    ASSERT_EQ(sipreg_netaddr_parse(&reg, "udp:192.0.2.1:5060", 0), 0);
    sipreg_time t = 1000000;
    int n = 0;
    for (int i = 0; i < 100; i++) {
        ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &reg, NULL, t), 0);
        n += fx_drain(f);
    }
    ASSERT_EQ(n, SIPREG_CLIENT_ANSWER_BURST);
    /* one token back after 1000 / rate ms, not before */
    const sipreg_time cost = 1000 / SIPREG_CLIENT_ANSWER_RATE;
    ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &reg, NULL, t + cost - 1), 0);
    ASSERT_EQ(fx_drain(f), 0);
    ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &reg, NULL, t + cost), 0);
    ASSERT_EQ(fx_drain(f), 1);
    ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &reg, NULL, t + cost), 0);
    ASSERT_EQ(fx_drain(f), 0);
    /* a flood of 1000 a second for 10 s: rate * 10 answers */
    n = 0;
    t += cost;
    for (int i = 1; i <= 10000; i++) {
        ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &reg, NULL, t + i), 0);
        n += fx_drain(f);
    }
    ASSERT_EQ(n, SIPREG_CLIENT_ANSWER_RATE * 10);
    /* a long silence refills the bucket, but only up to the burst */
    t += 10000 + 3600000;
    n = 0;
    for (int i = 0; i < 100; i++) {
        ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &reg, NULL, t), 0);
        n += fx_drain(f);
    }
    ASSERT_EQ(n, SIPREG_CLIENT_ANSWER_BURST);
    /* an ACK costs nothing: still none left, and none spent */
    static const char ack[] = "ACK sip:alice@192.0.2.10:5062 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKa\r\n"
                              "From: <sip:x@example.com>;tag=p1\r\nTo: <sip:alice@x>\r\n"
                              "Call-ID: a1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(sipreg_client_receive(f->c, ack, sizeof ack - 1, &reg, NULL, t + cost), 0);
    ASSERT_EQ(sipreg_client_receive(f->c, opt, sizeof opt - 1, &reg, NULL, t + cost), 0);
    ASSERT_EQ(fx_drain(f), 1);
    return 0;
}
TEST(client_answer_budget)
{
    return fx_run(t_answer_budget, NULL, NULL);
}

/* A late duplicate of the final response changes nothing; a 100 Trying stops retransmissions
 * growing past T2 but is no outcome. */
static int t_provisional(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_pull(f), 1);
    ASSERT_EQ(fx_reply(f, 100, NULL), 0);
    EXPECT_STATE(f, SIPREG_REG_REGISTERING);
    ASSERT_EQ(fx_ok(f, 600), 0);
    size_t nev = f->nev;
    ASSERT_EQ(fx_ok(f, 600), 0);
    ASSERT_EQ(f->nev, nev);
    return 0;
}
TEST(client_provisional_and_duplicates)
{
    return fx_run(t_provisional, NULL, NULL);
}

TEST(client_create_errors)
{
    struct sipreg_client *c;
    struct sipreg_client_cfg bad = {.t1 = -1};
    ASSERT_EQ(sipreg_client_create(&c, &bad), SIPREG_EINVAL);
    bad = (struct sipreg_client_cfg){.user_agent = "a\r\nInjected: 1"};
    ASSERT_EQ(sipreg_client_create(&c, &bad), SIPREG_EINVAL);
    int err = sipreg_client_create(&c, NULL);
    if (err)
        return 1;
    struct sipreg_reg *r = NULL;
    struct sipreg_reg_cfg cases[] = {
        {.aor = AOR},
        {.registrar = REGISTRAR},
        {.registrar = "http://example.com", .aor = AOR},
        {.registrar = "sip:bob@example.com", .aor = AOR},
        {.registrar = REGISTRAR, .aor = "tel:+123"},
        {.registrar = "sip:example.com;transport=sctp", .aor = AOR},
        {.registrar = REGISTRAR, .aor = AOR, .password = "a", .ha1 = "b"},
        {.registrar = REGISTRAR, .aor = AOR, .ha1 = "abc"},
        {.registrar = REGISTRAR, .aor = AOR, .contact = "<>"},
        {.registrar = REGISTRAR, .aor = AOR, .contact = "sip:a\r\nX: y"},
        {.registrar = REGISTRAR, .aor = AOR, .user = "a\r\nb"},
        {.registrar = REGISTRAR, .aor = AOR, .transport = SIPREG_TRANSPORT_TLS},
        {.registrar = REGISTRAR, .aor = AOR, .min_alg = SIPREG_AUTH_ALG__COUNT},
        {.registrar = REGISTRAR,
         .aor = AOR,
         .min_alg = SIPREG_AUTH_SHA256,
         .ha1 = "0123456789abcdef0123456789abcdef"}, /* an MD5 HA1 below min_alg */
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (sipreg_reg_create(c, &r, &cases[i]) != SIPREG_EINVAL) {
            fprintf(stderr, "case %zu accepted\n", i);
            rc = 1;
        }
    }
    struct sipreg_netaddr l = {.family = 5};
    if (sipreg_client_set_local(c, &l) != SIPREG_EINVAL)
        rc = 1;
    sipreg_client_destroy(c);
    return rc;
}

/* Destroying with queued output and live transactions frees everything. */
static int t_destroy_busy(struct fx *f)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.aor = "sip:carol@example.com";
    struct sipreg_reg *r2;
    ASSERT_EQ(sipreg_reg_create(f->c, &r2, &rc), 0);
    sipreg_reg_begin(f->r);
    sipreg_reg_begin(r2);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_at(f, 500), 0); /* retransmissions queued, not pulled */
    sipreg_reg_destroy(r2);
    sipreg_reg_destroy(NULL);
    return 0;
}
TEST(client_destroy_busy)
{
    return fx_run(t_destroy_busy, NULL, NULL);
}

/* The registrar's name does not resolve yet (no network at boot, say): the registration is
 * handed to the driver to resolve each time it is due, reports Error with a retry time while
 * it fails, and registers as soon as addresses are given. */
static int body_client_resolves_name_later(struct fx *f)
{
    sipreg_reg_begin(f->r);
    ASSERT_EQ(fx_at(f, 0), 0);
    ASSERT_EQ(fx_drain(f), 0); /* nothing can be sent without an address */
    ASSERT(sipreg_client_want_targets(f->c) == f->r);
    ASSERT(sipreg_client_want_targets(f->c) == NULL); /* once per due time */
    sipreg_reg_targets_failed(f->r, 0, SIPREG_ENOENT, S("cannot resolve the registrar's name"));
    const struct fx_ev *e = fx_last(f);
    ASSERT_EQ(e->state, SIPREG_REG_ERROR);
    ASSERT_EQ(e->error, SIPREG_ENOENT);
    ASSERT(strcmp(e->reason, "cannot resolve the registrar's name") == 0);
    ASSERT(e->next > 0 && e->next <= 10000); /* the first retry of the usual backoff */
    sipreg_time retry = e->next;
    ASSERT_EQ(fx_at(f, retry - 1), 0);
    ASSERT(sipreg_client_want_targets(f->c) == NULL); /* not before it is due */
    ASSERT_EQ(fx_at(f, retry), 0);
    ASSERT(sipreg_client_want_targets(f->c) == f->r);
    struct sipreg_netaddr t;
    ASSERT_EQ(sipreg_netaddr_parse(&t, "udp:192.0.2.1:5060", 0), 0);
    ASSERT_EQ(sipreg_reg_set_targets(f->r, &t, 1), 0);
    ASSERT_EQ(fx_at(f, retry), 0);
    ASSERT_EQ(fx_drain(f), 1);
    ASSERT(f->parsed && f->m.is_request && f->m.method == SIPREG_METHOD_REGISTER);
    ASSERT(sipreg_netaddr_eq(&f->to, &t));
    ASSERT_EQ(sipreg_reg_state(f->r), SIPREG_REG_REGISTERING);
    return 0;
}

TEST(client_resolves_name_later)
{
    struct sipreg_reg_cfg rc = fx_reg_cfg();
    rc.registrar = "sip:registrar.example.com";
    return fx_run(body_client_resolves_name_later, &rc, NULL);
}
