/* Unit tests: the registrar, RFC 3261 §10.3, with a memory store and a fake clock. */
#include <stdio.h>
#include <stdlib.h>

#include "sipreg/registrar.h"
#include "sipreg/txn.h"
#include "test.h"

#define WALL0 1764000000000LL /* ms: a fixed wall clock, so nonce and expiry maths is exact */

struct reply {
    char buf[8192];
    size_t len;
    struct sipreg_netaddr to, local;
    struct sipreg_msg m;
    char mem[16384];
    struct sipreg_arena a;
};

struct fx {
    struct sipreg_store *store;
    struct sipreg_auth_secret secret;
    struct sipreg_registrar *r;
    struct sipreg_netaddr src, local;
    sipreg_time now;
    int64_t wall;
    int cseq;
    int branch;
    char callid[32];
    struct reply rep[4];
    size_t nrep;
    int events[16];
    int outcomes[SIPREG_REG_OUT__COUNT];
    int last_status;
    struct sipreg_registrar_cfg cfg; /* as the registrar was created */
    /* flaky store */
    bool fail_commit;
    bool fail_user_get;
    int user_gets;
};

static void on_event(const struct sipreg_registrar_event *ev, void *ud)
{
    struct fx *f = ud;
    if (ev->kind >= 0 && ev->kind < 16)
        f->events[ev->kind]++;
    if ((unsigned)ev->outcome < SIPREG_REG_OUT__COUNT)
        f->outcomes[ev->outcome]++;
    f->last_status = ev->status;
}

static int add_user(struct fx *f, const char *name, const char *pass)
{
    char md5[SIPREG_AUTH_HEX_MAX], sha[SIPREG_AUTH_HEX_MAX];
    struct sipreg_str n = sipreg_str_z(name), realm = SIPREG_STR_LIT("example.com"),
                      p = sipreg_str_z(pass);
    int err = sipreg_auth_ha1(SIPREG_AUTH_MD5, n, realm, p, md5);
    if (!err)
        err = sipreg_auth_ha1(SIPREG_AUTH_SHA256, n, realm, p, sha);
    if (err)
        return err;
    struct sipreg_user u = {n,    realm, sipreg_str_z(md5), sipreg_str_z(sha), SIPREG_STR_NULL,
                            true, 0,     SIPREG_STR_NULL};
    err = sipreg_store_user_put(f->store, &u);
    return err ? err : sipreg_store_commit(f->store);
}

static int setup_cfg(struct fx *f, struct sipreg_registrar_cfg *cfg)
{
    memset(f, 0, sizeof *f);
    int err = sipreg_store_open_memory(&f->store, NULL);
    if (err)
        return err;
    err = sipreg_auth_secret_init_random(&f->secret);
    if (!err)
        err = add_user(f, "alice", "wonderland");
    if (err)
        return err;
    sipreg_netaddr_parse(&f->src, "192.0.2.4:5062", 5060);
    sipreg_netaddr_parse(&f->local, "127.0.0.1:5060", 5060);
    static const char *const domains[] = {"example.com"};
    cfg->domains = domains;
    cfg->ndomains = 1;
    if (!cfg->nlocal) {
        cfg->local = &f->local;
        cfg->nlocal = 1;
    }
    cfg->store = f->store;
    cfg->secret = &f->secret;
    cfg->on_event = on_event;
    cfg->ud = f;
    f->now = 1000;
    f->wall = WALL0;
    f->cseq = 1;
    snprintf(f->callid, sizeof f->callid, "cid-%d", rand());
    f->cfg = *cfg;
    return sipreg_registrar_create(&f->r, cfg);
}

static void teardown(struct fx *f)
{
    sipreg_registrar_destroy(f->r);
    f->r = NULL;
    sipreg_store_close(f->store);
    sipreg_auth_secret_fini(&f->secret);
}

/* Feeds a datagram, flushes, and collects every reply (parsed). */
static int feed(struct fx *f, const char *msg, size_t len)
{
    int err = sipreg_registrar_receive(f->r, msg, len, &f->src, &f->local, f->now, f->wall);
    if (err)
        return err;
    sipreg_registrar_flush(f->r, f->now);
    f->nrep = 0;
    for (;;) {
        struct reply *rp = &f->rep[f->nrep < 4 ? f->nrep : 3];
        err = sipreg_registrar_pull(f->r, rp->buf, sizeof rp->buf, &rp->len, &rp->to, &rp->local);
        if (err == SIPREG_ENOENT)
            break;
        if (err)
            return err;
        struct sipreg_perr why;
        sipreg_arena_init(&rp->a, rp->mem, sizeof rp->mem);
        if (sipreg_msg_parse(&rp->m, rp->buf, rp->len, SIPREG_MSG_DATAGRAM, NULL, &rp->a, &why))
            return SIPREG_EPARSE;
        f->nrep++;
    }
    return 0;
}

/* A REGISTER; `extra` is inserted as-is (CRLF-terminated header lines). */
static size_t build_register(struct fx *f, char *out, size_t cap, const char *ruri,
                             const char *to_user, const char *contact, const char *extra)
{
    int n = snprintf(out, cap,
                     "REGISTER %s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bK-%d;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:%s@example.com>;tag=ft%d\r\n"
                     "To: <sip:%s@example.com>\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: %d REGISTER\r\n"
                     "%s%s%s"
                     "%s"
                     "Content-Length: 0\r\n\r\n",
                     ruri, f->branch, to_user, f->branch, to_user, f->callid, f->cseq,
                     contact ? "Contact: " : "", contact ? contact : "", contact ? "\r\n" : "",
                     extra ? extra : "");
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n; /* truncated: nothing to send */
}

static int status(const struct fx *f)
{
    return f->nrep ? f->rep[0].m.status : 0;
}

/* Answers the 401 in f->rep[0] for `user`/`pass` into an Authorization header line. */
static int answer_challenge(struct fx *f, const char *user, const char *pass, const char *uri,
                            char *hdr, size_t cap)
{
    struct reply *rp = &f->rep[0];
    struct sipreg_auth ch[4];
    size_t n = 0;
    for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(&rp->m, SIPREG_HDR_WWW_AUTHENTICATE);
         h && n < 4; h = sipreg_msg_hdr_next(&rp->m, h))
        if (sipreg_auth_parse(&ch[n], h->value, NULL, &rp->a, NULL) == 0)
            n++;
    size_t idx;
    int err = sipreg_auth_challenge_choose(ch, n, NULL, &idx, NULL);
    if (err)
        return err;
    struct sipreg_buf b;
    sipreg_buf_init(&b, hdr, cap);
    sipreg_buf_addz(&b, "Authorization: ");
    struct sipreg_auth_client_cred c = {
        .username = sipreg_str_z(user),
        .password = sipreg_str_z(pass),
        .method = SIPREG_STR_LIT("REGISTER"),
        .uri = sipreg_str_z(uri),
        .nc = 1,
    };
    err = sipreg_auth_credentials_build(&b, &ch[idx], &c);
    if (err)
        return err;
    sipreg_buf_addz(&b, "\r\n");
    sipreg_buf_addc(&b, 0);
    return sipreg_buf_status(&b);
}

/* The full challenge flow; leaves the 200 (or whatever came) in f->rep[0]. */
static int register_authed(struct fx *f, const char *user, const char *pass, const char *contact,
                           const char *extra)
{
    char msg[16384], auth[1024], more[8192];
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", user, contact, extra);
    f->branch++;
    int err = feed(f, msg, n);
    if (err)
        return err;
    if (status(f) != 401)
        return -100 - status(f);
    err = answer_challenge(f, user, pass, "sip:example.com", auth, sizeof auth);
    if (err)
        return err;
    snprintf(more, sizeof more, "%s%s", auth, extra ? extra : "");
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", user, contact, more);
    f->branch++;
    f->cseq++;
    return feed(f, msg, n);
}

static int count_contacts(struct fx *f)
{
    int n = 0;
    for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(&f->rep[0].m, SIPREG_HDR_CONTACT); h;
         h = sipreg_msg_hdr_next(&f->rep[0].m, h))
        n++;
    return n;
}

static const char *hdr_text(struct fx *f, const char *name, char *out, size_t cap)
{
    const struct sipreg_hdr *h = sipreg_msg_hdr_findz(&f->rep[0].m, name);
    if (!h)
        return NULL;
    snprintf(out, cap, "%.*s", (int)h->value.len, h->value.p);
    return out;
}

/* Runs a test body over a fresh fixture made with `cfg` (NULL: defaults); under injected OOM a
 * body may fail, but must not crash or leak. */
static int run_fx(int (*body)(struct fx *f), const struct sipreg_registrar_cfg *cfg)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return 1;
    struct sipreg_registrar_cfg c = cfg ? *cfg : (struct sipreg_registrar_cfg){0};
    int rc = 1;
    if (setup_cfg(f, &c) == 0)
        rc = body(f);
    teardown(f);
    free(f);
    return test_oom_active ? 0 : rc;
}

/* In a test body: a failed check ends the body (run_fx tears the fixture down). */
#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            if (!test_oom_active)                                                            \
                fprintf(stderr, "%s:%d: check failed: %s (status %d)\n", __FILE__, __LINE__, \
                        #cond, status(f));                                                   \
            return 1;                                                                        \
        }                                                                                    \
    } while (0)

static int body_registrar_challenge_then_200(struct fx *f)
{
    char t[512];
    CHECK(register_authed(f, "alice", "wonderland", "<sip:alice@192.0.2.4:5062>", NULL) == 0);
    CHECK(status(f) == 200 && count_contacts(f) == 1);
    CHECK(hdr_text(f, "Contact", t, sizeof t) &&
          strcmp(t, "<sip:alice@192.0.2.4:5062>;expires=3600") == 0);
    CHECK(sipreg_msg_hdr_find(&f->rep[0].m, SIPREG_HDR_DATE));
    CHECK(sipreg_msg_hdr_find(&f->rep[0].m, SIPREG_HDR_SERVER));
    /* the reply went back to the source port (rport), with received/rport in the Via */
    const struct sipreg_via *v = NULL;
    CHECK(sipreg_msg_via(&f->rep[0].m, &v, NULL) == 0);
    CHECK(v->rport == 5062 && v->received.len == strlen("192.0.2.4"));
    CHECK(f->rep[0].to.port == 5062);
    /* it leaves from the address the request came in on */
    CHECK(sipreg_netaddr_eq(&f->rep[0].local, &f->local));
    CHECK(f->events[SIPREG_REG_EV_REGISTERED] == 1);
    CHECK(f->events[SIPREG_REG_EV_CHALLENGED] == 1);
    return 0;
}

TEST(registrar_challenge_then_200)
{
    return run_fx(body_registrar_challenge_then_200, NULL);
}

static int body_registrar_unknown_user_same_as_wrong_password(struct fx *f)
{
    char msg[4096], auth[1024];
    /* wrong password for a real user */
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    f->branch++;
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(answer_challenge(f, "alice", "WRONG", "sip:example.com", auth, sizeof auth) == 0);
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    f->branch++;
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    size_t len_wrong = f->rep[0].len;
    size_t hdrs_wrong = f->rep[0].m.nhdr;
    /* an unknown user, same message shape otherwise */
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alicx", "<sip:a@h>", NULL);
    f->branch++;
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(answer_challenge(f, "alicx", "WRONG", "sip:example.com", auth, sizeof auth) == 0);
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alicx", "<sip:a@h>", auth);
    f->branch++;
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    /* same status, same headers, same size (the request differs by nothing but the name's
     * last letter, which is echoed in From/To of both) */
    CHECK(f->rep[0].len == len_wrong);
    CHECK(f->rep[0].m.nhdr == hdrs_wrong);
    CHECK(f->events[SIPREG_REG_EV_AUTH_FAILED] == 2);
    return 0;
}

TEST(registrar_unknown_user_same_as_wrong_password)
{
    return run_fx(body_registrar_unknown_user_same_as_wrong_password, NULL);
}

static int body_registrar_interval_too_brief_and_cap(struct fx *f)
{
    char t[256];
    CHECK(register_authed(f, "alice", "wonderland", "<sip:alice@h1>;expires=10", NULL) == 0);
    CHECK(status(f) == 423);
    CHECK(hdr_text(f, "Min-Expires", t, sizeof t) && strcmp(t, "60") == 0);
    CHECK(register_authed(f, "alice", "wonderland", "<sip:alice@h1>", "Expires: 999999\r\n") == 0);
    CHECK(status(f) == 200);
    CHECK(hdr_text(f, "Contact", t, sizeof t) && strcmp(t, "<sip:alice@h1>;expires=7200") == 0);
    return 0;
}

TEST(registrar_interval_too_brief_and_cap)
{
    return run_fx(body_registrar_interval_too_brief_and_cap, NULL);
}

static int body_registrar_wildcard_query_and_expiry(struct fx *f)
{
    char t[256];
    CHECK(register_authed(f, "alice", "wonderland", "<sip:alice@h1>;q=0.5", NULL) == 0);
    CHECK(status(f) == 200 && count_contacts(f) == 1);
    CHECK(register_authed(f, "alice", "wonderland", "<sip:alice@h2>;expires=120", NULL) == 0);
    CHECK(status(f) == 200 && count_contacts(f) == 2);
    /* query: no Contact, nothing changes */
    f->wall += 20000;
    CHECK(register_authed(f, "alice", "wonderland", NULL, NULL) == 0);
    CHECK(status(f) == 200 && count_contacts(f) == 2);
    CHECK(f->events[SIPREG_REG_EV_QUERY] == 1);
    CHECK(hdr_text(f, "Contact", t, sizeof t) &&
          strcmp(t, "<sip:alice@h1>;expires=3580;q=0.500") == 0);
    /* the 120 s binding expires */
    f->wall += 101000;
    CHECK(register_authed(f, "alice", "wonderland", NULL, NULL) == 0);
    CHECK(status(f) == 200 && count_contacts(f) == 1);
    /* * needs Expires: 0 and must be alone */
    CHECK(register_authed(f, "alice", "wonderland", "*", NULL) == 0);
    CHECK(status(f) == 400);
    CHECK(register_authed(f, "alice", "wonderland", "*, <sip:alice@h3>", "Expires: 0\r\n") == 0);
    CHECK(status(f) == 400);
    CHECK(register_authed(f, "alice", "wonderland", "*", "Expires: 0\r\n") == 0);
    CHECK(status(f) == 200 && count_contacts(f) == 0);
    CHECK(f->events[SIPREG_REG_EV_UNREGISTERED] == 1);
    return 0;
}

TEST(registrar_wildcard_query_and_expiry)
{
    return run_fx(body_registrar_wildcard_query_and_expiry, NULL);
}

static int body_registrar_retransmission_gets_cached_reply(struct fx *f)
{
    char msg[4096], auth[1024], first[8192];
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(answer_challenge(f, "alice", "wonderland", "sip:example.com", auth, sizeof auth) == 0);
    f->branch++;
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    CHECK(feed(f, msg, n) == 0 && status(f) == 200);
    size_t flen = f->rep[0].len;
    memcpy(first, f->rep[0].buf, flen);
    int regs = f->events[SIPREG_REG_EV_REGISTERED];
    /* the same request again (same branch): the same bytes, and no processing */
    f->now += 500;
    CHECK(feed(f, msg, n) == 0 && f->nrep == 1);
    CHECK(f->rep[0].len == flen && memcmp(f->rep[0].buf, first, flen) == 0);
    CHECK(f->events[SIPREG_REG_EV_REGISTERED] == regs);
    return 0;
}

TEST(registrar_retransmission_gets_cached_reply)
{
    return run_fx(body_registrar_retransmission_gets_cached_reply, NULL);
}

static int body_registrar_nc_replay_rejected(struct fx *f)
{
    char msg[4096], auth[1024];
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(answer_challenge(f, "alice", "wonderland", "sip:example.com", auth, sizeof auth) == 0);
    f->branch++;
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    CHECK(feed(f, msg, n) == 0 && status(f) == 200);
    /* the same credentials (nonce, nc=1) in a new request: a replay, answered with a stale
     * challenge and changing nothing */
    f->branch++;
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>;expires=0", auth);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(register_authed(f, "alice", "wonderland", NULL, NULL) == 0 && count_contacts(f) == 1);
    return 0;
}

TEST(registrar_nc_replay_rejected)
{
    return run_fx(body_registrar_nc_replay_rejected, NULL);
}

static int body_registrar_out_of_order_cseq_rejected(struct fx *f)
{
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>;expires=600", NULL) == 0);
    CHECK(status(f) == 200);
    int cseq_after = f->cseq;
    /* rewind the CSeq below the stored one, same Call-ID: 500, binding untouched */
    f->cseq = 1;
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>;expires=0", NULL) == 0);
    CHECK(status(f) == 500);
    f->cseq = cseq_after + 10;
    CHECK(register_authed(f, "alice", "wonderland", NULL, NULL) == 0);
    CHECK(status(f) == 200 && count_contacts(f) == 1);
    return 0;
}

TEST(registrar_out_of_order_cseq_rejected)
{
    return run_fx(body_registrar_out_of_order_cseq_rejected, NULL);
}

static int body_registrar_stale_nonce(struct fx *f)
{
    char msg[4096], auth[1024];
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(answer_challenge(f, "alice", "wonderland", "sip:example.com", auth, sizeof auth) == 0);
    f->wall += 301000; /* past the 300 s nonce lifetime */
    f->branch++;
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    const struct sipreg_hdr *h = sipreg_msg_hdr_find(&f->rep[0].m, SIPREG_HDR_WWW_AUTHENTICATE);
    CHECK(h);
    struct sipreg_auth ch;
    CHECK(sipreg_auth_parse(&ch, h->value, NULL, &f->rep[0].a, NULL) == 0 && ch.stale_true);
    return 0;
}

TEST(registrar_stale_nonce)
{
    return run_fx(body_registrar_stale_nonce, NULL);
}

static int body_registrar_domains_require_and_authorization(struct fx *f)
{
    char msg[4096], t[256];
    /* Request-URI of a domain we do not serve */
    size_t n = build_register(f, msg, sizeof msg, "sip:other.net", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 404);
    /* our own address is accepted (phones register to IPs): challenged, not rejected */
    f->branch++;
    n = build_register(f, msg, sizeof msg, "sip:127.0.0.1", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    /* unknown scheme */
    f->branch++;
    n = build_register(f, msg, sizeof msg, "tel:+123", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 416);
    /* an extension we do not support; path is fine */
    f->branch++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>",
                       "Require: path, foo\r\n");
    CHECK(feed(f, msg, n) == 0 && status(f) == 420);
    CHECK(hdr_text(f, "Unsupported", t, sizeof t) && strcmp(t, "foo") == 0);
    /* alice may not register bob's AOR */
    CHECK(add_user(f, "bob", "builder") == 0);
    char auth[1024];
    f->branch++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "bob", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(answer_challenge(f, "alice", "wonderland", "sip:example.com", auth, sizeof auth) == 0);
    f->branch++;
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "bob", "<sip:a@h>", auth);
    CHECK(feed(f, msg, n) == 0 && status(f) == 403);
    /* digest-uri must be the Request-URI */
    f->branch++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(answer_challenge(f, "alice", "wonderland", "sip:elsewhere.com", auth, sizeof auth) == 0);
    f->branch++;
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    return 0;
}

TEST(registrar_domains_require_and_authorization)
{
    return run_fx(body_registrar_domains_require_and_authorization, NULL);
}

static int body_registrar_other_methods_and_malformed(struct fx *f)
{
    char t[256];
    const char *opt = "OPTIONS sip:example.com SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bKo1\r\n"
                      "From: <sip:x@example.com>;tag=1\r\nTo: <sip:example.com>\r\n"
                      "Call-ID: o1\r\nCSeq: 1 OPTIONS\r\n\r\n";
    CHECK(feed(f, opt, strlen(opt)) == 0 && status(f) == 200);
    CHECK(hdr_text(f, "Allow", t, sizeof t) && strstr(t, "REGISTER"));
    /* without rport the reply goes to the Via port */
    CHECK(f->rep[0].to.port == 5062);
    const char *inv = "INVITE sip:bob@example.com SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKi1\r\n"
                      "From: <sip:x@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\n"
                      "Call-ID: i1\r\nCSeq: 1 INVITE\r\n\r\n";
    CHECK(feed(f, inv, strlen(inv)) == 0 && status(f) == 405);
    CHECK(f->rep[0].to.port == 5060);
    CHECK(hdr_text(f, "Allow", t, sizeof t));
    /* a malformed request with usable headers gets 400 and the parser's reason */
    const char *bad = "REGISTER sip:example.com SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKb1\r\n"
                      "From: <sip:x@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
                      "Call-ID: b1\r\nCSeq: 1 INVITE\r\n\r\n";
    CHECK(feed(f, bad, strlen(bad)) == 0 && status(f) == 400);
    CHECK(f->rep[0].m.reason.len == strlen("CSeq Method Mismatch"));
    /* garbage, a response and an ACK get nothing */
    CHECK(feed(f, "\x16\x03\x01garbage", 10) == 0 && f->nrep == 0);
    const char *resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                       "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: r\r\n"
                       "CSeq: 1 REGISTER\r\n\r\n";
    CHECK(feed(f, resp, strlen(resp)) == 0 && f->nrep == 0);
    const char *ver = "OPTIONS sip:example.com SIP/7.0\r\n"
                      "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKv1\r\n"
                      "From: <sip:x@example.com>;tag=1\r\nTo: <sip:example.com>\r\n"
                      "Call-ID: v1\r\nCSeq: 1 OPTIONS\r\n\r\n";
    CHECK(feed(f, ver, strlen(ver)) == 0 && status(f) == 505);
    CHECK(f->events[SIPREG_REG_EV_MALFORMED] == 3);
    /* a malformed To or From still gets its 400 (the To is echoed as it is, without a tag) */
    const char *badto = "REGISTER sip:example.com SIP/2.0\r\n"
                        "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKt1\r\n"
                        "From: <sip:x@example.com>;tag=1\r\nTo: <sip:x@example.com\r\n"
                        "Call-ID: t1\r\nCSeq: 1 REGISTER\r\n\r\n";
    CHECK(feed(f, badto, strlen(badto)) == 0 && status(f) == 400);
    CHECK(hdr_text(f, "To", t, sizeof t) && strcmp(t, "<sip:x@example.com") == 0);
    const char *badfrom = "REGISTER sip:example.com SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKf1\r\n"
                          "From: <sip:x@example.com;tag=1\r\nTo: <sip:x@example.com>\r\n"
                          "Call-ID: f1\r\nCSeq: 1 REGISTER\r\n\r\n";
    CHECK(feed(f, badfrom, strlen(badfrom)) == 0 && status(f) == 400);
    return 0;
}

TEST(registrar_other_methods_and_malformed)
{
    return run_fx(body_registrar_other_methods_and_malformed, NULL);
}

static int body_registrar_brute_force_limits(struct fx *f)
{
    CHECK(add_user(f, "bob", "builder") == 0);
    for (int i = 0; i < 3; i++) {
        CHECK(register_authed(f, "alice", "guess", "<sip:a@h>", NULL) == 0);
        CHECK(status(f) == 401);
    }
    CHECK(f->events[SIPREG_REG_EV_BLOCKED] == 1);
    /* this source is now refused for alice, even with the right password (not verified)... */
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0);
    CHECK(status(f) == 403);
    /* ...but not for bob, who never failed here: the guesser's NAT neighbour gets in */
    CHECK(register_authed(f, "bob", "builder", "<sip:b@h>", NULL) == 0);
    CHECK(status(f) == 200);
    /* another source is not slowed down for alice */
    sipreg_netaddr_parse(&f->src, "198.51.100.7:5060", 5060);
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0);
    CHECK(status(f) == 200);
    /* the first slowdown is 1 s: then the first source is verified again */
    sipreg_netaddr_parse(&f->src, "192.0.2.4:5062", 5060);
    f->now += 1001;
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0);
    CHECK(status(f) == 200);
    /* and each further failure doubles the wait: 2 s after the 4th */
    CHECK(register_authed(f, "alice", "guess", "<sip:a@h>", NULL) == 0 && status(f) == 401);
    f->now += 1500;
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 403);
    f->now += 501;
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 200);
    return 0;
}

TEST(registrar_brute_force_limits)
{
    struct sipreg_registrar_cfg cfg = {.fail_limit_source = 3, .fail_limit_user = 100};
    return run_fx(body_registrar_brute_force_limits, &cfg);
}

static int body_registrar_user_under_attack_spares_its_own_phone(struct fx *f)
{
    struct sipreg_netaddr guesser = f->src, phone, fresh;
    sipreg_netaddr_parse(&phone, "203.0.113.9:5060", 5060);
    sipreg_netaddr_parse(&fresh, "198.51.100.44:5060", 5060);
    /* alice's phone registered before the attack */
    f->src = phone;
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 200);
    /* guesses from anywhere slow alice down (user limit 2) */
    f->src = guesser;
    for (int i = 0; i < 2; i++) {
        CHECK(register_authed(f, "alice", "guess", "<sip:a@h>", NULL) == 0);
        CHECK(status(f) == 401);
    }
    /* the guesser is refused even with her password, and so is any other address... */
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 403);
    f->src = fresh;
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 403);
    /* ...while alice's own phone, where she last succeeded, keeps refreshing */
    f->src = phone;
    for (int i = 0; i < 3; i++) {
        CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0);
        CHECK(status(f) == 200);
    }
    /* after the slowdown (1 s at the limit) anyone is verified again */
    f->now += 1001;
    f->src = fresh;
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 200);
    return 0;
}

TEST(registrar_user_under_attack_spares_its_own_phone)
{
    struct sipreg_registrar_cfg cfg = {.fail_limit_source = 100, .fail_limit_user = 2};
    return run_fx(body_registrar_user_under_attack_spares_its_own_phone, &cfg);
}

static int body_registrar_path_instance_and_keys(struct fx *f)
{
    char t[512];
    CHECK(register_authed(f, "alice", "wonderland",
                          "<sip:alice@192.0.2.4:5062;transport=UDP>;+sip.instance=\"<urn:uuid:1>\";"
                          "reg-id=1",
                          "Supported: path\r\nPath: <sip:edge.example.com;lr>\r\n") == 0);
    CHECK(status(f) == 200);
    CHECK(hdr_text(f, "Path", t, sizeof t) && strcmp(t, "<sip:edge.example.com;lr>") == 0);
    CHECK(hdr_text(f, "Contact", t, sizeof t) && strstr(t, "+sip.instance=\"<urn:uuid:1>\"") &&
          strstr(t, "reg-id=1"));
    /* the same instance from a new address replaces the binding instead of adding one */
    CHECK(register_authed(f, "alice", "wonderland",
                          "<sip:alice@198.51.100.1:6000>;+sip.instance=\"<urn:uuid:1>\";reg-id=1",
                          NULL) == 0);
    CHECK(status(f) == 200 && count_contacts(f) == 1);
    CHECK(hdr_text(f, "Contact", t, sizeof t) && strstr(t, "198.51.100.1:6000"));
    /* keys: case of scheme/host and the default port do not make a new binding */
    char mem[4096];
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    struct sipreg_contact *c1, *c2;
    CHECK(sipreg_contact_parse(&c1, SIPREG_STR_LIT("<SIP:bob@EXAMPLE.com;transport=TCP>"), NULL, &a,
                               NULL) == 0);
    CHECK(sipreg_contact_parse(&c2, SIPREG_STR_LIT("<sip:bob@example.com:5060;transport=tcp>"),
                               NULL, &a, NULL) == 0);
    char k1[256], k2[256];
    struct sipreg_buf b1, b2;
    sipreg_buf_init(&b1, k1, sizeof k1);
    sipreg_buf_init(&b2, k2, sizeof k2);
    CHECK(sipreg_registrar_binding_key(c1, &b1) == 0 && sipreg_registrar_binding_key(c2, &b2) == 0);
    CHECK(b1.len == b2.len && memcmp(k1, k2, b1.len) == 0);
    return 0;
}

TEST(registrar_path_instance_and_keys)
{
    return run_fx(body_registrar_path_instance_and_keys, NULL);
}

/* ---- a store whose commit can be made to fail, to test the 500 after a lost commit ---- */

static struct fx *flaky_fx;
static int fl_read(void *self, struct sipreg_str aor, struct sipreg_arena *a,
                   struct sipreg_binding_list *out, uint64_t *version)
{
    /* every stored binding: none expires before the beginning of time */
    return sipreg_store_read(self, aor, INT64_MIN, a, out, version);
}
static int fl_replace(void *self, struct sipreg_str aor, uint64_t expect,
                      const struct sipreg_binding *v, size_t n, int64_t now, uint64_t *new_version)
{
    return sipreg_store_replace(self, aor, expect, v, n, now, new_version);
}
static int fl_expire(void *self, int64_t now, size_t max, size_t *purged)
{
    return sipreg_store_expire(self, now, max, purged);
}
static int fl_iterate(void *self, int64_t now, sipreg_store_binding_fn fn, void *ud)
{
    return sipreg_store_iterate(self, now, fn, ud);
}
static int fl_commit(void *self)
{
    return flaky_fx->fail_commit ? SIPREG_ESTORE : sipreg_store_commit(self);
}
static int fl_user_put(void *self, const struct sipreg_user *u)
{
    return sipreg_store_user_put(self, u);
}
static int fl_user_del(void *self, struct sipreg_str n, struct sipreg_str r)
{
    return sipreg_store_user_del(self, n, r);
}
static int fl_user_get(void *self, struct sipreg_str n, struct sipreg_str r, struct sipreg_arena *a,
                       struct sipreg_user *out)
{
    flaky_fx->user_gets++;
    return flaky_fx->fail_user_get ? SIPREG_ESTORE : sipreg_store_user_get(self, n, r, a, out);
}
static int fl_user_iterate(void *self, sipreg_store_user_fn fn, void *ud)
{
    return sipreg_store_user_iterate(self, fn, ud);
}
static int fl_meta_get(void *self, struct sipreg_str k, struct sipreg_arena *a,
                       struct sipreg_str *out)
{
    return sipreg_store_meta_get(self, k, a, out);
}
static int fl_meta_put(void *self, struct sipreg_str k, struct sipreg_str v)
{
    return sipreg_store_meta_put(self, k, v);
}
static void fl_close(void *self)
{
    sipreg_store_close(self);
}
static const struct sipreg_store_ops flaky_ops = {
    SIPREG_STORE_OPS_VERSION,
    fl_read,
    fl_replace,
    fl_expire,
    fl_iterate,
    fl_commit,
    fl_user_put,
    fl_user_del,
    fl_user_get,
    fl_user_iterate,
    fl_meta_get,
    fl_meta_put,
    fl_close,
};

/* Puts the memory store behind the flaky wrapper and rebuilds the registrar over it. */
static int use_flaky_store(struct fx *f)
{
    struct sipreg_store *wrapped = NULL;
    sipreg_registrar_destroy(f->r);
    f->r = NULL;
    flaky_fx = f;
    int err = sipreg_store_create(&wrapped, &flaky_ops, f->store);
    if (err)
        return err;
    f->store = wrapped; /* closing it closes the inner store */
    f->cfg.store = wrapped;
    return sipreg_registrar_create(&f->r, &f->cfg);
}

static int body_registrar_failed_commit_answers_500(struct fx *f)
{
    CHECK(use_flaky_store(f) == 0);
    f->fail_commit = true;
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0);
    CHECK(status(f) == 500);
    CHECK(sipreg_msg_hdr_findz(&f->rep[0].m, "Retry-After"));
    f->fail_commit = false;
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0);
    CHECK(status(f) == 200);
    return 0;
}

TEST(registrar_failed_commit_answers_500)
{
    return run_fx(body_registrar_failed_commit_answers_500, NULL);
}

static int body_registrar_no_auth_mode_and_config_errors(struct fx *f)
{
    char msg[2048];
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "carol",
                              "<sip:carol@h>;expires=30", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 200 && count_contacts(f) == 1);
    struct sipreg_registrar *r2;
    struct sipreg_registrar_cfg bad = f->cfg;
    bad.ndomains = 0;
    CHECK(sipreg_registrar_create(&r2, &bad) == SIPREG_EINVAL);
    bad = f->cfg;
    bad.no_auth = false;
    bad.secret = NULL;
    CHECK(sipreg_registrar_create(&r2, &bad) == SIPREG_EINVAL);
    bad = f->cfg;
    bad.unknown_domain_status = 500;
    CHECK(sipreg_registrar_create(&r2, &bad) == SIPREG_EINVAL);
    bad = f->cfg;
    bad.min_expires = 100;
    bad.max_expires = 50;
    CHECK(sipreg_registrar_create(&r2, &bad) == SIPREG_EINVAL);
    return 0;
}

TEST(registrar_no_auth_mode_and_config_errors)
{
    struct sipreg_registrar_cfg cfg = {.no_auth = true, .min_expires = 30};
    return run_fx(body_registrar_no_auth_mode_and_config_errors, &cfg);
}

static int body_registrar_reply_budget_caps_unauthenticated_replies(struct fx *f)
{
#define OPT                                                        \
    "OPTIONS sip:example.com SIP/2.0\r\n"                          \
    "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bKo%d\r\n"        \
    "From: <sip:x@example.com>;tag=1\r\nTo: <sip:example.com>\r\n" \
    "Call-ID: o%d\r\nCSeq: 1 OPTIONS\r\n\r\n"
    char msg[512];
    int answered = 0;
    /* a burst of 3, then nothing within the same instant */
    for (int i = 0; i < 6; i++) {
        int n = snprintf(msg, sizeof msg, OPT, i, i);
        CHECK(feed(f, msg, (size_t)n) == 0);
        answered += (int)f->nrep;
    }
    CHECK(answered == 3);
    CHECK(f->events[SIPREG_REG_EV_THROTTLED] == 1); /* logged once, not per drop */
    /* a dropped request was not remembered: its retransmission is answered once refilled */
    f->now += 1000; /* rate 1/s: one more token */
    int n = snprintf(msg, sizeof msg, OPT, 5, 5);
    CHECK(feed(f, msg, (size_t)n) == 0 && f->nrep == 1 && status(f) == 200);
    CHECK(feed(f, msg, (size_t)n) == 0 && f->nrep == 0); /* the replay is metered too */
    /* another source has its own budget */
    sipreg_netaddr_parse(&f->src, "198.51.100.7:5060", 5060);
    n = snprintf(msg, sizeof msg, OPT, 9, 9);
    CHECK(feed(f, msg, (size_t)n) == 0 && f->nrep == 1);
    /* an authenticated REGISTER is answered even with the budget spent: spend it first */
    sipreg_netaddr_parse(&f->src, "192.0.2.4:5062", 5060);
    f->now += 2000; /* two tokens: the challenge, then nothing else is needed */
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0);
    CHECK(status(f) == 200);
    return 0;
}

#undef OPT

TEST(registrar_reply_budget_caps_unauthenticated_replies)
{
    struct sipreg_registrar_cfg cfg = {.reply_rate = 1, .reply_burst = 3};
    return run_fx(body_registrar_reply_budget_caps_unauthenticated_replies, &cfg);
}

/* Review findings, each pinned by a test. */

static int body_registrar_success_does_not_reset_guessing(struct fx *f)
{
    char msg[4096], auth[1024];
    CHECK(add_user(f, "mallory", "own-password") == 0);
    /* mallory guesses alice's password until alice is blocked for this source */
    for (int i = 0; i < 3; i++) {
        CHECK(register_authed(f, "alice", "guess", "<sip:a@h>", NULL) == 0);
        CHECK(status(f) == 401);
    }
    /* a successful login with its own account... */
    CHECK(register_authed(f, "mallory", "own-password", "<sip:m@h>", NULL) == 0);
    CHECK(status(f) == 200);
    /* ...does not buy more guesses at alice: still refused (not checked) */
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    f->branch++;
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(answer_challenge(f, "alice", "guess", "sip:example.com", auth, sizeof auth) == 0);
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    f->branch++;
    CHECK(feed(f, msg, n) == 0 && status(f) == 403);
    return 0;
}

TEST(registrar_success_does_not_reset_guessing)
{
    struct sipreg_registrar_cfg cfg = {.fail_limit_source = 100, .fail_limit_user = 3};
    return run_fx(body_registrar_success_does_not_reset_guessing, &cfg);
}

static int body_registrar_cached_reply_only_to_origin(struct fx *f)
{
    char msg[4096], auth[1024];
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(answer_challenge(f, "alice", "wonderland", "sip:example.com", auth, sizeof auth) == 0);
    f->branch++;
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    CHECK(feed(f, msg, n) == 0 && status(f) == 200);
    /* the same request from another (spoofed) address draws nothing */
    struct sipreg_netaddr origin = f->src;
    sipreg_netaddr_parse(&f->src, "203.0.113.66:5060", 5060);
    CHECK(feed(f, msg, n) == 0 && f->nrep == 0);
    /* from its origin it is answered from the cache */
    f->src = origin;
    CHECK(feed(f, msg, n) == 0 && f->nrep == 1 && status(f) == 200);
    return 0;
}

TEST(registrar_cached_reply_only_to_origin)
{
    return run_fx(body_registrar_cached_reply_only_to_origin, NULL);
}

static int body_registrar_bounds_checked_before_writing(struct fx *f)
{
    char contact[2100], extra[6000];
    /* a Contact URI over 1 KiB: 400, nothing stored */
    memset(contact, 0, sizeof contact);
    strcpy(contact, "<sip:");
    memset(contact + 5, 'a', 1100);
    strcat(contact, "@h>");
    CHECK(register_authed(f, "alice", "wonderland", contact, NULL) == 0);
    CHECK(status(f) == 400 && f->rep[0].m.reason.len == strlen("Contact Too Long"));
    /* headers a response must copy over 4 KiB: 513 before anything is written */
    int k = snprintf(extra, sizeof extra, "Via: SIP/2.0/UDP p.example.com;branch=z9hG4bKx%0*d\r\n",
                     4200, 1);
    CHECK(k > 0 && (size_t)k < sizeof extra);
    CHECK(register_authed(f, "alice", "wonderland", "<sip:alice@h1>", extra) == 0);
    CHECK(status(f) == 513);
    CHECK(register_authed(f, "alice", "wonderland", NULL, NULL) == 0);
    CHECK(status(f) == 200 && count_contacts(f) == 0);
    /* an unsupported option too long to list still gets 420 */
    char req[400];
    memset(req, 0, sizeof req);
    strcpy(req, "Require: ");
    memset(req + 9, 'x', 300);
    strcat(req, "\r\n");
    CHECK(register_authed(f, "alice", "wonderland", "<sip:alice@h1>", req) == -100 - 420);
    return 0;
}

TEST(registrar_bounds_checked_before_writing)
{
    return run_fx(body_registrar_bounds_checked_before_writing, NULL);
}

static int body_registrar_wildcard_listen_accepts_ip_request_uri(struct fx *f)
{
    char msg[2048];
    /* listening on 0.0.0.0:5060, a Request-URI naming any IPv4 address of ours is accepted */
    size_t n = build_register(f, msg, sizeof msg, "sip:192.0.2.200", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    f->branch++;
    n = build_register(f, msg, sizeof msg, "sip:192.0.2.200:5070", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 404); /* another port */
    f->branch++;
    n = build_register(f, msg, sizeof msg, "sip:[2001:db8::1]", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 404); /* another family */
    f->branch++;
    n = build_register(f, msg, sizeof msg, "sip:other.example.net", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 404); /* a name is not an address */
    return 0;
}

TEST(registrar_wildcard_listen_accepts_ip_request_uri)
{
    static struct sipreg_netaddr any;
    sipreg_netaddr_parse(&any, "0.0.0.0:5060", 5060);
    struct sipreg_registrar_cfg cfg = {.local = &any, .nlocal = 1};
    return run_fx(body_registrar_wildcard_listen_accepts_ip_request_uri, &cfg);
}

static int body_registrar_answers_faults_after_the_mandatory_headers(struct fx *f)
{
    char msg[8192], t[128];
    int n = snprintf(msg, sizeof msg,
                     "REGISTER sip:example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bKmany\r\n"
                     "From: <sip:x@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
                     "Call-ID: many\r\nCSeq: 1 REGISTER\r\n");
    for (int i = 0; i < 70; i++)
        n += snprintf(msg + n, sizeof msg - (size_t)n, "X-H%d: v\r\n", i);
    n += snprintf(msg + n, sizeof msg - (size_t)n, "\r\n");
    CHECK(feed(f, msg, (size_t)n) == 0 && status(f) == 400);
    CHECK(f->rep[0].m.reason.len == strlen("Too Many Headers"));
    /* a second To after the mandatory ones */
    const char *dup = "REGISTER sip:example.com SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bKdup\r\n"
                      "From: <sip:x@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\n"
                      "Call-ID: dup\r\nCSeq: 1 REGISTER\r\nTo: <sip:y@example.com>\r\n\r\n";
    CHECK(feed(f, dup, strlen(dup)) == 0 && status(f) == 400);
    CHECK(hdr_text(f, "To", t, sizeof t) && strncmp(t, "<sip:x@example.com>", 19) == 0);
    /* the fault before CSeq: nothing can be built, nothing is sent */
    const char *early = "REGISTER sip:example.com SIP/2.0\r\n"
                        "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bKearly\r\n"
                        "From: <sip:x@example.com>;tag=1\r\nFrom: <sip:y@example.com>;tag=2\r\n"
                        "To: <sip:x@example.com>\r\nCall-ID: early\r\nCSeq: 1 REGISTER\r\n\r\n";
    CHECK(feed(f, early, strlen(early)) == 0 && f->nrep == 0);
    return 0;
}

TEST(registrar_answers_faults_after_the_mandatory_headers)
{
    return run_fx(body_registrar_answers_faults_after_the_mandatory_headers, NULL);
}

/* Two workers' registrars over one shared object: limits and replay checks hold across them. */
static int body_registrar_workers_share_limits_and_replay_state(struct fx *f)
{
    struct sipreg_registrar_shared *sh = NULL;
    struct sipreg_registrar *w1 = NULL, *w2 = NULL;
    struct sipreg_registrar_cfg cfg = f->cfg;
    cfg.fail_limit_source = 2;
    int ok = 0;
    char msg[4096], auth[1024];
    sipreg_registrar_destroy(f->r);
    f->r = NULL;
    if (sipreg_registrar_shared_create(&sh, &cfg) != 0)
        goto out;
    cfg.shared = sh;
    if (sipreg_registrar_create(&w1, &cfg) != 0 || sipreg_registrar_create(&w2, &cfg) != 0)
        goto out;
    /* a wrong password on each worker: the source's limit (2) is reached across them */
    struct sipreg_registrar *ws[2] = {w1, w2};
    for (int i = 0; i < 2; i++) {
        f->r = ws[i];
        size_t n =
            build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
        f->branch++;
        if (feed(f, msg, n) != 0 || status(f) != 401 ||
            answer_challenge(f, "alice", "bad", "sip:example.com", auth, sizeof auth) != 0)
            goto out;
        f->cseq++;
        n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
        f->branch++;
        if (feed(f, msg, n) != 0 || status(f) != 401)
            goto out;
    }
    /* the source is now slowed down for alice on worker 1 too: her password is refused */
    f->r = w1;
    if (register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) != 0 || status(f) != 403)
        goto out;
    size_t n;
    /* from another source: accepted by worker 1, and the same credentials are a replay for
     * worker 2 */
    sipreg_netaddr_parse(&f->src, "198.51.100.20:5060", 5060);
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    f->branch++;
    if (feed(f, msg, n) != 0 || status(f) != 401 ||
        answer_challenge(f, "alice", "wonderland", "sip:example.com", auth, sizeof auth) != 0)
        goto out;
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    f->branch++;
    if (feed(f, msg, n) != 0 || status(f) != 200)
        goto out;
    f->r = w2;
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    f->branch++;
    if (feed(f, msg, n) != 0 || status(f) != 401)
        goto out;
    ok = 1;
out:
    f->r = NULL;
    sipreg_registrar_destroy(w1);
    sipreg_registrar_destroy(w2);
    sipreg_registrar_shared_destroy(sh);
    if (!ok && !test_oom_active)
        fprintf(stderr, "shared limits: status %d\n", status(f));
    return ok ? 0 : 1;
}

TEST(registrar_workers_share_limits_and_replay_state)
{
    return run_fx(body_registrar_workers_share_limits_and_replay_state, NULL);
}

/* Registrars with source_local (a driver steering each source to one of them): each keeps its
 * sources' limits, budgets and nonces, and only the per-user limit is shared. */
static int body_registrar_source_local_shares_only_the_user_limit(struct fx *f)
{
    struct sipreg_registrar_shared *sh = NULL;
    struct sipreg_registrar *w1 = NULL, *w2 = NULL, *bad = NULL;
    struct sipreg_registrar_cfg cfg = f->cfg;
    cfg.fail_limit_source = 2;
    cfg.fail_limit_user = 3;
    cfg.source_local = true;
    int ok = 0, step = 0;
    char msg[4096], auth[1024];
    sipreg_registrar_destroy(f->r);
    f->r = NULL;
    if (sipreg_registrar_shared_create(&sh, &cfg) != 0)
        goto out;
    cfg.shared = sh;
    step = 1;
    if (sipreg_registrar_create(&w1, &cfg) != 0 || sipreg_registrar_create(&w2, &cfg) != 0)
        goto out;
    /* the shared object has no per-source part: a registrar that would use it is refused */
    step = 2;
    cfg.source_local = false;
    if (sipreg_registrar_create(&bad, &cfg) != SIPREG_EINVAL)
        goto out;
    /* one wrong password from source A on each registrar: the source's limit (2) is per
     * registrar, so A is not slowed down on either */
    step = 3;
    struct sipreg_registrar *ws[2] = {w1, w2};
    for (int i = 0; i < 2; i++) {
        f->r = ws[i];
        if (register_authed(f, "alice", "bad", "<sip:a@h>", NULL) != 0 || status(f) != 401)
            goto out;
    }
    step = 4;
    f->r = w1;
    f->now += 10; /* a success after the failures, not at the same ms */
    if (register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) != 0 || status(f) != 200)
        goto out;
    /* a nonce drawn on w1 is not counted by w2's tracker (another epoch): a fresh challenge */
    step = 5;
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    f->branch++;
    if (feed(f, msg, n) != 0 || status(f) != 401 ||
        answer_challenge(f, "alice", "wonderland", "sip:example.com", auth, sizeof auth) != 0)
        goto out;
    f->r = w2;
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    f->branch++;
    if (feed(f, msg, n) != 0 || status(f) != 401)
        goto out;
    /* the user's limit (3) is shared: a third failure, from source B on w2, slows alice down
     * everywhere but at A, where she last succeeded */
    step = 6;
    f->cseq++;
    sipreg_netaddr_parse(&f->src, "198.51.100.20:5060", 5060);
    if (register_authed(f, "alice", "bad", "<sip:a@h>", NULL) != 0 || status(f) != 401)
        goto out;
    step = 7;
    sipreg_netaddr_parse(&f->src, "203.0.113.9:5060", 5060);
    f->r = w1;
    if (register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) != 0 || status(f) != 403)
        goto out;
    step = 8;
    sipreg_netaddr_parse(&f->src, "192.0.2.4:5062", 5060);
    if (register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) != 0 || status(f) != 200)
        goto out;
    ok = 1;
out:
    f->r = NULL;
    sipreg_registrar_destroy(bad);
    sipreg_registrar_destroy(w1);
    sipreg_registrar_destroy(w2);
    sipreg_registrar_shared_destroy(sh);
    if (!ok && !test_oom_active)
        fprintf(stderr, "source_local: step %d, status %d\n", step, status(f));
    return ok ? 0 : 1;
}

TEST(registrar_source_local_shares_only_the_user_limit)
{
    return run_fx(body_registrar_source_local_shares_only_the_user_limit, NULL);
}

/* ---- security under spoofing (docs/security.md): each attack, and what must hold ---- */

/* The WWW-Authenticate value of the 401 in f->rep[0], copied out to be answered again later. */
static int save_challenge(struct fx *f, char *out, size_t cap)
{
    const struct sipreg_hdr *h = sipreg_msg_hdr_find(&f->rep[0].m, SIPREG_HDR_WWW_AUTHENTICATE);
    if (!h || h->value.len >= cap)
        return -1;
    memcpy(out, h->value.p, h->value.len);
    out[h->value.len] = 0;
    return 0;
}

/* An Authorization header line answering a saved challenge with count `nc` (nonce reuse). */
static int answer_saved(const char *chal, const char *user, const char *pass, uint32_t nc,
                        char *hdr, size_t cap)
{
    char mem[4096];
    struct sipreg_arena a;
    struct sipreg_auth ch;
    sipreg_arena_init(&a, mem, sizeof mem);
    if (sipreg_auth_parse(&ch, sipreg_str_z(chal), NULL, &a, NULL) != 0)
        return -1;
    struct sipreg_buf b;
    sipreg_buf_init(&b, hdr, cap);
    sipreg_buf_addz(&b, "Authorization: ");
    struct sipreg_auth_client_cred c = {.username = sipreg_str_z(user),
                                        .password = sipreg_str_z(pass),
                                        .method = SIPREG_STR_LIT("REGISTER"),
                                        .uri = SIPREG_STR_LIT("sip:example.com"),
                                        .nc = nc};
    int err = sipreg_auth_credentials_build(&b, &ch, &c);
    sipreg_buf_addz(&b, "\r\n");
    sipreg_buf_addc(&b, 0);
    return err ? err : sipreg_buf_status(&b);
}

/* Sends one REGISTER carrying `auth` (a header line, or NULL) and returns its status (0: none). */
static int send_register(struct fx *f, const char *user, const char *contact, const char *auth)
{
    char msg[8192];
    f->cseq++;
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", user, contact, auth);
    f->branch++;
    if (!n || feed(f, msg, n) != 0)
        return -1;
    return f->nrep ? status(f) : 0;
}

/* A REGISTER for alice without credentials; its challenge saved into chal. */
static int take_challenge(struct fx *f, char *chal, size_t cap)
{
    return send_register(f, "alice", "<sip:a@h>", NULL) == 401 ? save_challenge(f, chal, cap) : -1;
}

static int body_registrar_spoofed_nonces_count_nothing(struct fx *f)
{
    char auth[1024], chal[1024];
    struct sipreg_netaddr victim = f->src, attacker;
    sipreg_netaddr_parse(&attacker, "198.51.100.66:5060", 5060);
    /* made-up nonces, with the realm and opaque of a real 401, and random users, sent in the
     * name of the victim's address: more than the source limit (3) */
    CHECK(take_challenge(f, chal, sizeof chal) == 0);
    char *nonce = strstr(chal, "nonce=\"");
    CHECK(nonce);
    for (int i = 0; i < 25; i++) {
        char user[32];
        snprintf(user, sizeof user, "u%d", i);
        nonce[7 + i % 40] ^= 1; /* a different forgery each time */
        CHECK(answer_saved(chal, user, "x", 1, auth, sizeof auth) == 0);
        CHECK(send_register(f, user, "<sip:x@h>", auth) == 401);
    }
    /* a genuine nonce, drawn by an attacker at its own address, replayed in the victim's name */
    f->src = attacker;
    CHECK(send_register(f, "alice", "<sip:a@h>", NULL) == 401);
    CHECK(answer_challenge(f, "alice", "guess", "sip:example.com", auth, sizeof auth) == 0);
    f->src = victim;
    for (int i = 0; i < 5; i++)
        CHECK(send_register(f, "alice", "<sip:a@h>", auth) == 401);
    CHECK(f->events[SIPREG_REG_EV_AUTH_FAILED] == 0 && f->events[SIPREG_REG_EV_BLOCKED] == 0);
    /* the real client at that address registers at once */
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 200);
    return 0;
}

TEST(registrar_spoofed_nonces_count_nothing)
{
    struct sipreg_registrar_cfg cfg = {.fail_limit_source = 3, .fail_limit_user = 3};
    return run_fx(body_registrar_spoofed_nonces_count_nothing, &cfg);
}

static int body_registrar_one_nonce_one_guess(struct fx *f)
{
    char auth[1024], chal[1024];
    CHECK(take_challenge(f, chal, sizeof chal) == 0);
    CHECK(answer_saved(chal, "alice", "guess1", 1, auth, sizeof auth) == 0);
    CHECK(send_register(f, "alice", "<sip:a@h>", auth) == 401);
    CHECK(f->events[SIPREG_REG_EV_AUTH_FAILED] == 1);
    /* the same nonce again, right or wrong: stale, not verified, not counted */
    const char *pw[] = {"guess2", "wonderland"};
    for (int i = 0; i < 2; i++) {
        CHECK(answer_saved(chal, "alice", pw[i], (uint32_t)(2 + i), auth, sizeof auth) == 0);
        CHECK(send_register(f, "alice", "<sip:a@h>", auth) == 401);
        char t[1024];
        CHECK(hdr_text(f, "WWW-Authenticate", t, sizeof t) && strstr(t, "stale=true"));
    }
    CHECK(f->events[SIPREG_REG_EV_AUTH_FAILED] == 1);
    return 0;
}

TEST(registrar_one_nonce_one_guess)
{
    return run_fx(body_registrar_one_nonce_one_guess, NULL);
}

static int body_registrar_ipv6_slash64_is_one_source(struct fx *f)
{
    CHECK(add_user(f, "bob", "builder") == 0);
    const char *same64[] = {"[2001:db8:5:6::1]:5060", "[2001:db8:5:6::2]:5060",
                            "[2001:db8:5:6:ffff::3]:5061"};
    for (int i = 0; i < 3; i++) {
        sipreg_netaddr_parse(&f->src, same64[i], 5060);
        CHECK(register_authed(f, "alice", "guess", "<sip:a@h>", NULL) == 0 && status(f) == 401);
    }
    /* a fourth address of that /64 is the same source: slowed down for alice */
    sipreg_netaddr_parse(&f->src, "[2001:db8:5:6::99]:5060", 5060);
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 403);
    /* the next /64 is another source */
    sipreg_netaddr_parse(&f->src, "[2001:db8:5:7::1]:5060", 5060);
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 200);
    return 0;
}

TEST(registrar_ipv6_slash64_is_one_source)
{
    struct sipreg_registrar_cfg cfg = {.fail_limit_source = 3, .fail_limit_user = 100};
    return run_fx(body_registrar_ipv6_slash64_is_one_source, &cfg);
}

/* A subscriber with many large bindings takes a nonce at its own address, then sends
 * authenticated queries in a victim's name: the nonce is worthless there, and the victim gets
 * at most a small 401, never the 200 listing the bindings. */
static int body_registrar_authenticated_query_cannot_be_reflected(struct fx *f)
{
    char auth[1024], contact[700];
    CHECK(add_user(f, "mallory", "own-password") == 0);
    struct sipreg_netaddr own = f->src, victim;
    sipreg_netaddr_parse(&victim, "203.0.113.50:5060", 5060);
    memset(contact, 'a', sizeof contact);
    for (int i = 0; i < 8; i++) {
        snprintf(contact, sizeof contact, "<sip:m%d-%0200d@h>", i, i);
        CHECK(register_authed(f, "mallory", "own-password", contact, NULL) == 0);
        CHECK(status(f) == 200);
    }
    CHECK(count_contacts(f) == 8);
    CHECK(send_register(f, "mallory", NULL, NULL) == 401);
    CHECK(answer_challenge(f, "mallory", "own-password", "sip:example.com", auth, sizeof auth) ==
          0);
    char msg[8192];
    f->src = victim;
    f->cseq++;
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "mallory", NULL, auth);
    f->branch++;
    CHECK(feed(f, msg, n) == 0 && f->nrep == 1 && status(f) == 401);
    CHECK(f->rep[0].len <= 3 * n);
    /* from its own address the same query is answered in full */
    f->src = own;
    CHECK(send_register(f, "mallory", NULL, auth) == 200 && count_contacts(f) == 8);
    return 0;
}

TEST(registrar_authenticated_query_cannot_be_reflected)
{
    return run_fx(body_registrar_authenticated_query_cannot_be_reflected, NULL);
}

/* A captured REGISTER replayed after a restart cannot re-create a binding its owner removed. */
static int body_registrar_replay_after_restart_gets_fresh_challenge(struct fx *f)
{
    char auth[1024], chal[1024], msg[8192];
    CHECK(take_challenge(f, chal, sizeof chal) == 0);
    CHECK(answer_saved(chal, "alice", "wonderland", 1, auth, sizeof auth) == 0);
    f->cseq++;
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    f->branch++;
    CHECK(feed(f, msg, n) == 0 && status(f) == 200); /* the capture */
    char unreg[1024];
    CHECK(answer_saved(chal, "alice", "wonderland", 2, unreg, sizeof unreg) == 0);
    CHECK(send_register(f, "alice", "<sip:a@h>;expires=0", unreg) == 200);
    CHECK(count_contacts(f) == 0);
    /* a restart: same store and secret, a new process */
    sipreg_registrar_destroy(f->r);
    f->r = NULL;
    CHECK(sipreg_registrar_create(&f->r, &f->cfg) == 0);
    f->branch += 100; /* a new transaction as far as the new process knows (it knows none) */
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    char t[1024];
    CHECK(hdr_text(f, "WWW-Authenticate", t, sizeof t) && strstr(t, "stale=true"));
    CHECK(send_register(f, "alice", NULL, NULL) == 401);
    CHECK(answer_challenge(f, "alice", "wonderland", "sip:example.com", auth, sizeof auth) == 0);
    CHECK(send_register(f, "alice", NULL, auth) == 200 && count_contacts(f) == 0);
    return 0;
}

TEST(registrar_replay_after_restart_gets_fresh_challenge)
{
    return run_fx(body_registrar_replay_after_restart_gets_fresh_challenge, NULL);
}

/* A spoofed flood in a client's name spends its address's budget of unproven replies; the client
 * keeps refreshing because its refreshes carry its last nonce (nc + 1), which proves it. */
static int body_registrar_proven_client_refreshes_through_flood(struct fx *f)
{
    char auth[1024], chal[1024], msg[512];
    CHECK(take_challenge(f, chal, sizeof chal) == 0);
    CHECK(answer_saved(chal, "alice", "wonderland", 1, auth, sizeof auth) == 0);
    CHECK(send_register(f, "alice", "<sip:a@h>", auth) == 200);
    int answered = 0;
    for (int i = 0; i < 20; i++) {
        int n = snprintf(msg, sizeof msg,
                         "REGISTER sip:example.com SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bKflood%d\r\n"
                         "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\n"
                         "Call-ID: flood%d\r\nCSeq: 1 REGISTER\r\nContact: <sip:evil@h>\r\n\r\n",
                         i, i);
        CHECK(feed(f, msg, (size_t)n) == 0);
        answered += (int)f->nrep;
    }
    CHECK(answered < 5);                               /* the budget is spent */
    CHECK(send_register(f, "alice", NULL, NULL) == 0); /* an unproven request: no answer */
    for (uint32_t nc = 2; nc < 5; nc++) {
        CHECK(answer_saved(chal, "alice", "wonderland", nc, auth, sizeof auth) == 0);
        CHECK(send_register(f, "alice", "<sip:a@h>", auth) == 200);
    }
    /* once the nonce went stale, the stale challenge still reaches the client (the request
     * proved its address), and the new nonce gets it through */
    f->now += 400000;
    f->wall += 400000;
    CHECK(answer_saved(chal, "alice", "wonderland", 5, auth, sizeof auth) == 0);
    CHECK(send_register(f, "alice", "<sip:a@h>", auth) == 401);
    CHECK(answer_challenge(f, "alice", "wonderland", "sip:example.com", auth, sizeof auth) == 0);
    CHECK(send_register(f, "alice", "<sip:a@h>", auth) == 200);
    return 0;
}

TEST(registrar_proven_client_refreshes_through_flood)
{
    struct sipreg_registrar_cfg cfg = {.reply_rate = 1, .reply_burst = 3};
    return run_fx(body_registrar_proven_client_refreshes_through_flood, &cfg);
}

/* No reply to an unproven source is more than 3 times its request; a trusted source (an edge
 * proxy) is exempt from that, from the reply budget and from the source limit. */
static int body_registrar_unproven_replies_within_3x_and_trusted(struct fx *f)
{
    /* a minimal REGISTER: the 401 with two challenges would be over 3x its size */
    static const char tiny[] = "REGISTER sip:example.com SIP/2.0\r\n"
                               "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                               "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
                               "Call-ID: c\r\nCSeq: 1 REGISTER\r\n\r\n";
    CHECK(feed(f, tiny, sizeof tiny - 1) == 0 && f->nrep == 0);
    CHECK(f->events[SIPREG_REG_EV_THROTTLED] == 1);
    /* a REGISTER of ordinary size gets its 401, within 3x */
    char msg[8192];
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>",
                              "User-Agent: a phone of ordinary size/1.0\r\n"
                              "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER\r\n"
                              "Supported: path, outbound, gruu\r\n");
    CHECK(feed(f, msg, n) == 0 && f->nrep == 1 && status(f) == 401 && f->rep[0].len <= 3 * n);
    /* from a trusted prefix the tiny one is answered */
    sipreg_netaddr_parse(&f->src, "10.1.2.3:5060", 5060);
    CHECK(feed(f, tiny, sizeof tiny - 1) == 0 && f->nrep == 1 && status(f) == 401);
    /* ...and no budget applies (burst 3) */
    for (int i = 0; i < 10; i++) {
        f->branch++;
        n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
        CHECK(feed(f, msg, n) == 0 && f->nrep == 1);
    }
    /* ...nor the source limit (2): two failures for alice would slow an ordinary source down
     * for her, not the proxy */
    for (int i = 0; i < 2; i++)
        CHECK(register_authed(f, "alice", "guess", "<sip:a@h>", NULL) == 0 && status(f) == 401);
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 200);
    /* the per-user limit (3) still holds for alice behind it */
    CHECK(register_authed(f, "alice", "guess", "<sip:a@h>", NULL) == 0 && status(f) == 401);
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 403);
    return 0;
}

TEST(registrar_unproven_replies_within_3x_and_trusted)
{
    static const enum sipreg_auth_alg two[] = {SIPREG_AUTH_SHA256, SIPREG_AUTH_MD5};
    static struct sipreg_cidr trusted;
    if (sipreg_cidr_parse(&trusted, "10.0.0.0/8") != 0)
        return 1;
    struct sipreg_registrar_cfg cfg = {.algs = two,
                                       .nalgs = 2,
                                       .reply_rate = 1,
                                       .reply_burst = 3,
                                       .fail_limit_source = 2,
                                       .fail_limit_user = 3,
                                       .trusted = &trusted,
                                       .ntrusted = 1};
    return run_fx(body_registrar_unproven_replies_within_3x_and_trusted, &cfg);
}

/* Answers before authentication are rebuilt for a retransmission, never kept: a flood of large
 * unauthenticated requests pins no memory. */
static int body_registrar_unauthenticated_replies_not_cached(struct fx *f)
{
    char msg[8192], t1[1024], t2[1024];
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    CHECK(feed(f, msg, n) == 0 && status(f) == 401 &&
          hdr_text(f, "WWW-Authenticate", t1, sizeof t1));
    CHECK(feed(f, msg, n) == 0 && status(f) == 401 &&
          hdr_text(f, "WWW-Authenticate", t2, sizeof t2));
    CHECK(strcmp(t1, t2) != 0); /* a new nonce: built again, not replayed */
    return 0;
}

TEST(registrar_unauthenticated_replies_not_cached)
{
    return run_fx(body_registrar_unauthenticated_replies_not_cached, NULL);
}

/* A failing credential read answers 500 with Retry-After and counts nothing: a stand-in HA1
 * would fail the right password and lock the user out. */
static int body_registrar_store_read_error_counts_nothing(struct fx *f)
{
    CHECK(use_flaky_store(f) == 0);
    f->fail_user_get = true;
    for (int i = 0; i < 5; i++) {
        CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0);
        CHECK(status(f) == 500 && sipreg_msg_hdr_findz(&f->rep[0].m, "Retry-After"));
    }
    CHECK(f->events[SIPREG_REG_EV_AUTH_FAILED] == 0);
    f->fail_user_get = false;
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 200);
    return 0;
}

TEST(registrar_store_read_error_counts_nothing)
{
    struct sipreg_registrar_cfg cfg = {.fail_limit_source = 2, .fail_limit_user = 2};
    return run_fx(body_registrar_store_read_error_counts_nothing, &cfg);
}

/* Several domains on one realm: a user registers only AORs of its own domain. */
static int put_user(struct fx *f, const char *name, const char *realm, const char *domain,
                    const char *pass)
{
    char md5[SIPREG_AUTH_HEX_MAX];
    int err = sipreg_auth_ha1(SIPREG_AUTH_MD5, sipreg_str_z(name), sipreg_str_z(realm),
                              sipreg_str_z(pass), md5);
    struct sipreg_user u = {.username = sipreg_str_z(name),
                            .realm = sipreg_str_z(realm),
                            .ha1_md5 = sipreg_str_z(md5),
                            .enabled = true,
                            .domain = domain ? sipreg_str_z(domain) : SIPREG_STR_NULL};
    if (!err)
        err = sipreg_store_user_put(f->store, &u);
    return err ? err : sipreg_store_commit(f->store);
}

/* A REGISTER of sip:USER@DOMAIN with an optional Authorization line. */
static size_t register_msg(struct fx *f, char *msg, size_t cap, const char *user,
                           const char *domain, const char *auth)
{
    int b = ++f->branch, c = ++f->cseq;
    int n = snprintf(msg, cap,
                     "REGISTER sip:%s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bK-d%d;rport\r\n"
                     "From: <sip:%s@%s>;tag=d%d\r\nTo: <sip:%s@%s>\r\n"
                     "Call-ID: dom-%s-%s\r\nCSeq: %d REGISTER\r\n"
                     "Contact: <sip:%s@192.0.2.4:5062>\r\n%s\r\n",
                     domain, b, user, domain, b, user, domain, user, domain, c, user, auth);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* The full challenge flow for `user` registering sip:USER@DOMAIN; returns the final status. */
static int register_in(struct fx *f, const char *user, const char *domain, const char *pass)
{
    char msg[4096], auth[1024], ruri[128];
    snprintf(ruri, sizeof ruri, "sip:%s", domain);
    size_t n = register_msg(f, msg, sizeof msg, user, domain, "");
    if (feed(f, msg, n) != 0 || status(f) != 401)
        return -1;
    if (answer_challenge(f, user, pass, ruri, auth, sizeof auth) != 0)
        return -2;
    n = register_msg(f, msg, sizeof msg, user, domain, auth);
    if (feed(f, msg, n) != 0)
        return -3;
    return status(f);
}

static int body_registrar_user_registers_in_its_domain_only(struct fx *f)
{
    static const char *const doms[] = {"example.com", "example.org"};
    struct sipreg_registrar_cfg cfg = f->cfg;
    cfg.domains = doms;
    cfg.ndomains = 2;
    cfg.realm = "shared";
    sipreg_registrar_destroy(f->r);
    f->r = NULL;
    CHECK(sipreg_registrar_create(&f->r, &cfg) == 0);
    CHECK(put_user(f, "alice", "shared", "example.com", "a-pass") == 0);
    CHECK(put_user(f, "carol", "shared", NULL, "c-pass") == 0); /* no domain: the realm's */
    CHECK(register_in(f, "alice", "example.com", "a-pass") == 200);
    CHECK(register_in(f, "alice", "example.org", "a-pass") == 403);
    CHECK(register_in(f, "carol", "example.com", "c-pass") == 403);
    /* each domain its own realm by default: alice of example.com has no credentials in the
     * realm of example.org at all */
    cfg.realm = NULL;
    sipreg_registrar_destroy(f->r);
    f->r = NULL;
    CHECK(sipreg_registrar_create(&f->r, &cfg) == 0);
    CHECK(put_user(f, "dave", "example.com", "example.com", "d-pass") == 0);
    CHECK(register_in(f, "dave", "example.com", "d-pass") == 200);
    CHECK(register_in(f, "dave", "example.org", "d-pass") == 401);
    /* with --allow-third-party the domain is not checked */
    cfg.realm = "shared";
    cfg.allow_third_party = true;
    sipreg_registrar_destroy(f->r);
    f->r = NULL;
    CHECK(sipreg_registrar_create(&f->r, &cfg) == 0);
    CHECK(register_in(f, "alice", "example.org", "a-pass") == 200);
    return 0;
}

TEST(registrar_user_registers_in_its_domain_only)
{
    return run_fx(body_registrar_user_registers_in_its_domain_only, NULL);
}

/* A request whose nonce proves nothing (forged, drawn at another address) is challenged before
 * the store is read: a flood of them costs no credential look-up. */
static int body_registrar_forged_nonce_reads_no_store(struct fx *f)
{
    char auth[1024], chal[1024];
    CHECK(use_flaky_store(f) == 0);
    CHECK(take_challenge(f, chal, sizeof chal) == 0);
    struct sipreg_netaddr home = f->src;
    sipreg_netaddr_parse(&f->src, "198.51.100.99:5060", 5060);
    CHECK(answer_saved(chal, "alice", "wonderland", 1, auth, sizeof auth) == 0);
    for (int i = 0; i < 5; i++)
        CHECK(send_register(f, "alice", "<sip:a@h>", auth) == 401);
    char *nonce = strstr(chal, "nonce=\"");
    CHECK(nonce);
    nonce[9] ^= 1;
    f->src = home;
    CHECK(answer_saved(chal, "alice", "wonderland", 1, auth, sizeof auth) == 0);
    CHECK(send_register(f, "alice", "<sip:a@h>", auth) == 401);
    CHECK(f->user_gets == 0);
    /* the genuine one is looked up, once */
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 200);
    CHECK(f->user_gets == 1);
    return 0;
}

TEST(registrar_forged_nonce_reads_no_store)
{
    return run_fx(body_registrar_forged_nonce_reads_no_store, NULL);
}

/* Each answer and its event come from one row of the outcome table. */
static int body_registrar_outcomes_from_one_table(struct fx *f)
{
    CHECK(add_user(f, "bob", "builder") == 0);
    /* bob registers alice's AOR: 403 with the row's phrase, and the event names the row */
    char msg[4096], auth[1024];
    size_t n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", NULL);
    f->branch++;
    CHECK(feed(f, msg, n) == 0 && status(f) == 401);
    CHECK(f->outcomes[SIPREG_REG_OUT_CHALLENGED] == 1);
    CHECK(answer_challenge(f, "bob", "builder", "sip:example.com", auth, sizeof auth) == 0);
    f->cseq++;
    n = build_register(f, msg, sizeof msg, "sip:example.com", "alice", "<sip:a@h>", auth);
    f->branch++;
    CHECK(feed(f, msg, n) == 0 && status(f) == 403);
    CHECK(f->outcomes[SIPREG_REG_OUT_NOT_ALLOWED] == 1 && f->last_status == 403);
    char t[128];
    snprintf(t, sizeof t, "%.*s", (int)f->rep[0].m.reason.len, f->rep[0].m.reason.p);
    CHECK(strcmp(t, "Not Allowed to Register This AOR") == 0);
    /* a registration, then the table's names and levels */
    CHECK(register_authed(f, "alice", "wonderland", "<sip:a@h>", NULL) == 0 && status(f) == 200);
    CHECK(f->outcomes[SIPREG_REG_OUT_REGISTERED] == 1);
    CHECK(strcmp(sipreg_registrar_outcome_name(SIPREG_REG_OUT_AUTH_FAILED), "auth-failed") == 0);
    CHECK(strcmp(sipreg_registrar_outcome_name(SIPREG_REG_OUT__COUNT), "?") == 0);
    CHECK(sipreg_registrar_outcome_level(SIPREG_REG_OUT_STORE_UNAVAILABLE) == 0);
    CHECK(sipreg_registrar_outcome_level(SIPREG_REG_OUT_CHALLENGED) == 3);
    return 0;
}

TEST(registrar_outcomes_from_one_table)
{
    return run_fx(body_registrar_outcomes_from_one_table, NULL);
}
