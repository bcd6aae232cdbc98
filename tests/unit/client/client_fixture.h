/* A fake registrar and clock around one sipreg_client: pulls the client's datagrams, parses
 * them, answers them with crafted responses and records every event. */
#ifndef SIPREG_CLIENT_FIXTURE_H
#define SIPREG_CLIENT_FIXTURE_H

#include <stdio.h>

#include "client/client_int.h"
#include "fake_clock.h"
#include "sipreg/auth.h"
#include "test.h"

#define S(z)      sipreg_str_z(z)
#define REALM     "example.com"
#define REGISTRAR "sip:192.0.2.1"
#define AOR       "sip:alice@example.com"
#define LOCAL     "udp:192.0.2.10:5062"
#define CONTACT   "sip:alice@192.0.2.10:5062"

struct fx_ev {
    enum sipreg_reg_state state, old;
    int status, error;
    uint32_t expires;
    sipreg_time next, at;
    char reason[64];
    char contact[256];
    bool has_pub;
    struct sipreg_netaddr pub;
};

struct fx {
    struct sipreg_client *c;
    struct sipreg_reg *r;
    struct fake_clock clk;
    struct fx_ev ev[64];
    size_t nev;
    /* the last datagram pulled, parsed */
    char out[8192];
    size_t outn;
    struct sipreg_netaddr to, from_local;
    struct sipreg_msg m;
    char arena[16384];
    struct sipreg_arena a; /* the message keeps a pointer to it */
    bool parsed;
    /* the fake registrar's digest state */
    struct sipreg_auth_secret secret;
    struct sipreg_auth_tracker *tracker;
    struct sipreg_auth_server_cfg srv;
    enum sipreg_auth_alg algs[3];
};

static struct fx FX;

static void fx_on_event(const struct sipreg_reg_event *e, void *ud)
{
    struct fx *f = ud;
    if (f->nev == sizeof f->ev / sizeof f->ev[0])
        return;
    struct fx_ev *x = &f->ev[f->nev++];
    memset(x, 0, sizeof *x);
    x->state = e->state;
    x->old = e->old_state;
    x->status = e->status;
    x->error = e->error;
    x->expires = e->expires;
    x->next = e->next;
    x->at = f->clk.now;
    snprintf(x->reason, sizeof x->reason, "%.*s", (int)e->reason.len, e->reason.p);
    snprintf(x->contact, sizeof x->contact, "%.*s", (int)e->contact.len, e->contact.p);
    if (e->public_addr) {
        x->has_pub = true;
        x->pub = *e->public_addr;
    }
}

static const struct fx_ev *fx_last(const struct fx *f)
{
    static const struct fx_ev none = {.state = (enum sipreg_reg_state) - 1};
    return f->nev ? &f->ev[f->nev - 1] : &none;
}

static struct sipreg_reg_cfg fx_reg_cfg(void)
{
    return (struct sipreg_reg_cfg){
        .registrar = REGISTRAR,
        .aor = AOR,
        .password = "secret",
        .expires = 3600,
    };
}

/* Creates the client (seed 1 unless cc says otherwise), the local UDP address and one
 * registration from rc (default: fx_reg_cfg()). */
static int fx_init(struct fx *f, const struct sipreg_reg_cfg *rc,
                   const struct sipreg_client_cfg *cc)
{
    memset(f, 0, sizeof *f);
    struct sipreg_client_cfg ccfg = cc ? *cc : (struct sipreg_client_cfg){0};
    ccfg.on_event = fx_on_event;
    ccfg.ud = f;
    if (!ccfg.seed)
        ccfg.seed = 1;
    int err = sipreg_client_create(&f->c, &ccfg);
    if (err)
        return err;
    struct sipreg_netaddr l;
    if (sipreg_netaddr_parse(&l, LOCAL, 0) != 0 || sipreg_client_set_local(f->c, &l) != 0)
        return SIPREG_EINVAL;
    struct sipreg_reg_cfg def = fx_reg_cfg();
    err = sipreg_reg_create(f->c, &f->r, rc ? rc : &def);
    if (err)
        return err;
    static const uint8_t key[32] = {1, 2, 3};
    if (sipreg_auth_secret_init(&f->secret, key, sizeof key) != 0)
        return SIPREG_ECRYPTO;
    err = sipreg_auth_tracker_create(&f->tracker, 64);
    if (err)
        return err;
    f->algs[0] = SIPREG_AUTH_SHA256;
    f->algs[1] = SIPREG_AUTH_MD5;
    f->srv = (struct sipreg_auth_server_cfg){
        .realm = S(REALM),
        .secret = &f->secret,
        .nonce_lifetime = 86400000,
        .algs = f->algs,
        .nalgs = 2,
    };
    return 0;
}

static void fx_fini(struct fx *f)
{
    sipreg_client_destroy(f->c);
    sipreg_auth_tracker_destroy(f->tracker);
    f->c = NULL;
    f->tracker = NULL;
}

/* Runs body with a fresh fixture; everything is freed whatever happens. */
static int fx_run(int (*body)(struct fx *f), const struct sipreg_reg_cfg *rc,
                  const struct sipreg_client_cfg *cc)
{
    int rc_ = fx_init(&FX, rc, cc);
    if (rc_ == 0)
        rc_ = body(&FX);
    else if (!test_oom_active)
        fprintf(stderr, "fixture: %s\n", sipreg_strerror(rc_));
    fx_fini(&FX);
    return rc_ ? 1 : 0;
}

/* Moves the clock to t and runs the client's timers. */
static int fx_at(struct fx *f, sipreg_time t)
{
    if (t > f->clk.now)
        f->clk.now = t;
    return sipreg_client_timeout(f->c, f->clk.now);
}

/* Pulls the next datagram: 1 and parsed into f->m (if it parses), 0 when none, <0 error. */
static int fx_pull(struct fx *f)
{
    int err = sipreg_client_pull(f->c, f->out, sizeof f->out, &f->outn, &f->to, &f->from_local);
    if (err)
        return err;
    if (!f->outn)
        return 0;
    struct sipreg_perr why;
    sipreg_arena_init(&f->a, f->arena, sizeof f->arena);
    f->parsed =
        sipreg_msg_parse(&f->m, f->out, f->outn, SIPREG_MSG_DATAGRAM, NULL, &f->a, &why) == 0;
    return 1;
}

/* Pulls everything queued; returns how many datagrams (the last one stays in f). */
static int fx_drain(struct fx *f)
{
    int n = 0, k;
    while ((k = fx_pull(f)) == 1)
        n++;
    return k < 0 ? k : n;
}

/* Runs every timer up to t, pulling what is sent; returns how many datagrams (the last one
 * stays in f). */
static int fx_until(struct fx *f, sipreg_time t)
{
    int n = 0;
    for (;;) {
        sipreg_time next = sipreg_client_next_timeout(f->c);
        if (next < 0 || next > t)
            break;
        if (fx_at(f, next) != 0)
            return -1;
        int k = fx_drain(f);
        if (k < 0)
            return k;
        n += k;
    }
    if (fx_at(f, t) != 0)
        return -1;
    int k = fx_drain(f);
    return k < 0 ? k : n + k;
}

/* The value of the first header `name` of the last datagram (absent if none). */
static struct sipreg_str fx_hdr(struct fx *f, const char *name)
{
    const struct sipreg_hdr *h = f->parsed ? sipreg_msg_hdr_findz(&f->m, name) : NULL;
    return h ? h->value : SIPREG_STR_NULL;
}

static struct sipreg_str fx_hdr2(struct fx *f, const char *name)
{
    const struct sipreg_hdr *h = f->parsed ? sipreg_msg_hdr_findz(&f->m, name) : NULL;
    h = h ? sipreg_msg_hdr_next(&f->m, h) : NULL;
    return h ? h->value : SIPREG_STR_NULL;
}

/* Answers the last request with `status`, the Via's received/rport set as given (NULL/-1: not
 * added), and `extra` header lines (each CRLF-terminated). */
static int fx_reply_via(struct fx *f, int status, const char *extra, const char *received,
                        int rport)
{
    if (!f->parsed || !f->m.is_request)
        return SIPREG_EINVAL;
    char mem[8192];
    struct sipreg_buf b;
    sipreg_buf_init(&b, mem, sizeof mem);
    int err = sipreg_msg_build_response(&b, &f->m, status, SIPREG_STR_NULL, S("srvtag"),
                                        received ? S(received) : SIPREG_STR_NULL, rport);
    if (err)
        return err;
    if (extra)
        sipreg_buf_addz(&b, extra);
    err = sipreg_msg_build_end(&b, NULL, 0);
    if (err)
        return err;
    return sipreg_client_receive(f->c, b.p, b.len, &f->to, NULL, f->clk.now);
}

static int fx_reply(struct fx *f, int status, const char *extra)
{
    return fx_reply_via(f, status, extra, NULL, -1);
}

/* Answers with a digest challenge of the fake registrar (its algorithms, now's nonce). */
static int fx_challenge(struct fx *f, int status, bool stale)
{
    char mem[2048];
    struct sipreg_buf b;
    sipreg_buf_init(&b, mem, sizeof mem - 1);
    f->srv.proxy = status == 407;
    int err = sipreg_auth_challenge_build(&b, &f->srv, SIPREG_STR_NULL, f->clk.now, stale);
    if (err)
        return err;
    mem[b.len] = 0;
    return fx_reply(f, status, mem);
}

/* Checks the last request's credentials as the fake registrar would: 0, SIPREG_EAUTH,
 * SIPREG_ESTALE, or SIPREG_ENOENT when it carries none. `alg` gets the algorithm used. */
static int fx_verify(struct fx *f, const char *password, enum sipreg_auth_alg *alg)
{
    struct sipreg_str v = fx_hdr(f, f->srv.proxy ? "Proxy-Authorization" : "Authorization");
    if (!v.p)
        return SIPREG_ENOENT;
    struct sipreg_auth cred;
    char mem[4096];
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    int err = sipreg_auth_parse(&cred, v, NULL, &a, NULL);
    if (err)
        return err;
    enum sipreg_auth_alg al;
    if (sipreg_auth_alg_parse(cred.algorithm, &al) != 0)
        return SIPREG_EAUTH;
    if (alg)
        *alg = al;
    char ha1[SIPREG_AUTH_HEX_MAX];
    err = sipreg_auth_ha1(sipreg_auth_alg_base(al), S("alice"), S(REALM), S(password), ha1);
    if (err)
        return err;
    struct sipreg_auth_request req = {.method = f->m.method_s, .ruri = f->m.ruri};
    return sipreg_auth_verify(&f->srv, &cred, &req, S(ha1), f->clk.now, f->tracker, NULL);
}

/* A 200 OK granting our contact `expires` seconds. */
static int fx_ok(struct fx *f, unsigned expires)
{
    char h[512];
    struct sipreg_str ct = fx_hdr(f, "Contact");
    /* echo the contact as the registrar binds it, without our params */
    const char *p = memchr(ct.p, '>', ct.len);
    size_t n = p ? (size_t)(p - ct.p + 1) : ct.len;
    snprintf(h, sizeof h, "Contact: %.*s;expires=%u\r\n", (int)n, ct.p, expires);
    return fx_reply(f, 200, h);
}

/* Registers: begin, send, 200 granting `expires`. */
static int fx_register(struct fx *f, unsigned expires)
{
    sipreg_reg_begin(f->r);
    int err = fx_at(f, f->clk.now);
    if (err)
        return err;
    if (fx_pull(f) != 1)
        return SIPREG_ENOENT;
    err = fx_ok(f, expires);
    if (err)
        return err;
    return sipreg_reg_state(f->r) == SIPREG_REG_REGISTERED ? 0 : SIPREG_EINVAL;
}

/* The CSeq number of the last datagram. */
static long fx_cseq(struct fx *f)
{
    return f->parsed ? (long)f->m.cseq.num : -1;
}

/* The branch of the last datagram's Via. */
static struct sipreg_str fx_branch(struct fx *f, char *buf, size_t cap)
{
    const struct sipreg_via *v;
    if (!f->parsed || sipreg_msg_via(&f->m, &v, NULL) != 0)
        return SIPREG_STR_NULL;
    snprintf(buf, cap, "%.*s", (int)v->branch.len, v->branch.p);
    return S(buf);
}

#endif
