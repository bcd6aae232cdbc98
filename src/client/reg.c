/* Registration client state machine, RFC 3261 §10.2 (RFC 3581 rport, RFC 7616/8760 digest,
 * RFC 5626 §4.4.1 keep-alives), sans-I/O: bytes and time in, datagrams, deadlines, events out. */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "client_int.h"

/* Refill time of one answer token, ms. */
#define ANSWER_COST (1000 / SIPREG_CLIENT_ANSWER_RATE)

/* ---- small helpers ---- */

static uint64_t rnd(struct sipreg_client *c)
{
    uint64_t n = c->ctr++;
    return sipreg__siphash24(c->key, &n, sizeof n);
}

/* 16 lowercase hex digits and a NUL. */
static void rnd_hex(struct sipreg_client *c, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)rnd(c));
}

/* Uniform in [0, range]. */
static sipreg_time jitter(struct sipreg_client *c, sipreg_time range)
{
    if (range <= 0)
        return 0;
    return (sipreg_time)(rnd(c) % (uint64_t)(range + 1));
}

static void copy_z(char *dst, size_t cap, struct sipreg_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = 0;
}

const char *sipreg_reg_state_name(enum sipreg_reg_state s)
{
    switch (s) {
    case SIPREG_REG_UNREGISTERED: return "unregistered";
    case SIPREG_REG_REGISTERING: return "registering";
    case SIPREG_REG_REGISTERED: return "registered";
    case SIPREG_REG_UNREGISTERING: return "unregistering";
    case SIPREG_REG_ERROR: return "error";
    }
    return "";
}

/* Delay before retry number `failures` (1, 2, ...): exponential from retry_min up to retry_max,
 * the second half of it drawn at random ("equal jitter"), so clients that failed together do not
 * come back together. */
sipreg_time sipreg__client_backoff(struct sipreg_client *c, unsigned failures)
{
    sipreg_time d = c->retry_min;
    for (unsigned i = 1; i < failures && d < c->retry_max; i++)
        d *= 2;
    if (d > c->retry_max)
        d = c->retry_max;
    return d / 2 + jitter(c, d - d / 2);
}

/* When to refresh a binding granted for `g` seconds: before it runs out by half of it or a
 * minute, whichever is less (3600 s -> 3540 s, 100 s -> 50 s, 1 s -> 500 ms), so that a failed
 * refresh still has time for a retry and a short expiry is not refreshed in a tight loop. */
sipreg_time sipreg__client_refresh_delay(uint32_t g)
{
    sipreg_time ms = (sipreg_time)g * 1000;
    sipreg_time margin = ms / 2 < 60000 ? ms / 2 : 60000;
    return ms - margin;
}

/* ---- output queue ---- */

static int enqueue(struct sipreg_client *c, const char *p, size_t len,
                   const struct sipreg_netaddr *to, const struct sipreg_netaddr *local)
{
    if (c->qlen >= OUTQ_MAX)
        return SIPREG_ELIMIT;
    struct outq *q = sipreg_malloc(sizeof *q + len);
    if (!q)
        return SIPREG_ENOMEM;
    q->next = NULL;
    q->to = *to;
    if (local)
        q->local = *local;
    else
        memset(&q->local, 0, sizeof q->local);
    q->len = len;
    memcpy(q->data, p, len);
    *c->qtail = q;
    c->qtail = &q->next;
    c->qlen++;
    return 0;
}

int sipreg_client_pull(struct sipreg_client *c, char *out, size_t cap, size_t *n,
                       struct sipreg_netaddr *to, struct sipreg_netaddr *local)
{
    *n = 0;
    struct outq *q = c->qhead;
    if (!q)
        return 0;
    if (q->len > cap)
        return SIPREG_ENOSPC;
    memcpy(out, q->data, q->len);
    *n = q->len;
    *to = q->to;
    if (local)
        *local = q->local;
    c->qhead = q->next;
    if (!c->qhead)
        c->qtail = &c->qhead;
    c->qlen--;
    sipreg_free(q);
    return 0;
}

/* ---- client ---- */

int sipreg_client_create(struct sipreg_client **out, const struct sipreg_client_cfg *cfg)
{
    static const struct sipreg_client_cfg none;
    if (!cfg)
        cfg = &none;
    *out = NULL;
    if (cfg->t1 < 0 || cfg->t2 < 0 || cfg->t4 < 0 || cfg->t1 > SIPREG_TXN_TIMER_MAX ||
        cfg->t2 > SIPREG_TXN_TIMER_MAX || cfg->t4 > SIPREG_TXN_TIMER_MAX || cfg->retry_min < 0 ||
        cfg->retry_max < 0 || cfg->auth_retry < 0)
        return SIPREG_EINVAL;
    const char *ua = cfg->user_agent ? cfg->user_agent : "sipreg";
    size_t ual = strlen(ua);
    if (ual > 200 || strpbrk(ua, "\r\n"))
        return SIPREG_EINVAL;
    struct sipreg_client *c = sipreg_calloc(1, sizeof *c + ual + 1);
    if (!c)
        return SIPREG_ENOMEM;
    c->cfg = *cfg;
    c->user_agent = (char *)(c + 1);
    memcpy(c->user_agent, ua, ual + 1);
    c->qtail = &c->qhead;
    c->retry_min = cfg->retry_min ? cfg->retry_min : 5000;
    c->retry_max = cfg->retry_max ? cfg->retry_max : 300000;
    if (c->retry_max < c->retry_min)
        c->retry_max = c->retry_min;
    c->auth_retry = cfg->auth_retry ? cfg->auth_retry : 300000;
    c->ans_credit = ANSWER_COST * SIPREG_CLIENT_ANSWER_BURST;
    if (cfg->seed) {
        memcpy(c->key, &cfg->seed, sizeof cfg->seed);
        memcpy(c->key + 8, &cfg->seed, sizeof cfg->seed);
    } else if (RAND_bytes(c->key, sizeof c->key) != 1) {
        sipreg_free(c);
        return SIPREG_ECRYPTO;
    }
    *out = c;
    return 0;
}

void sipreg_client_destroy(struct sipreg_client *c)
{
    if (!c)
        return;
    while (c->regs)
        sipreg_reg_destroy(c->regs);
    struct outq *q = c->qhead;
    while (q) {
        struct outq *next = q->next;
        sipreg_free(q);
        q = next;
    }
    sipreg_free(c);
}

static int local_slot(uint8_t transport, uint8_t family)
{
    return (transport == SIPREG_TRANSPORT_TCP ? 2 : 0) + (family == 6 ? 1 : 0);
}

static const struct sipreg_netaddr *cur_target(const struct sipreg_reg *r)
{
    return r->ntargets ? &r->targets[r->target] : NULL;
}

/* The address requests of `r` leave from; NULL when not known yet. */
static const struct sipreg_netaddr *local_of(const struct sipreg_reg *r)
{
    if (r->local_set)
        return &r->local;
    const struct sipreg_netaddr *t = cur_target(r);
    if (!t)
        return NULL;
    int s = local_slot(t->transport, t->family);
    return r->c->local_set[s] ? &r->c->locals[s] : NULL;
}

/* Writes the automatic or configured contact URI; SIPREG_EAGAIN when the local address is
 * not known yet. */
static int contact_compute(const struct sipreg_reg *r, char *out, size_t cap)
{
    if (r->contact_cfg) {
        snprintf(out, cap, "%s", r->contact_cfg);
        return 0;
    }
    const struct sipreg_netaddr *a = local_of(r);
    if (!a)
        return SIPREG_EAGAIN;
    if (r->nat == SIPREG_NAT_REWRITE && r->pub_set)
        a = &r->pub;
    char ip[SIPREG_NETADDR_STRLEN];
    sipreg_netaddr_ip(a, ip, sizeof ip);
    const struct sipreg_netaddr *t = cur_target(r);
    int n = snprintf(out, cap, "sip:%s@%s%s%s:%u%s", r->contact_user, a->family == 6 ? "[" : "", ip,
                     a->family == 6 ? "]" : "", (unsigned)a->port,
                     t && t->transport == SIPREG_TRANSPORT_TCP ? ";transport=tcp" : "");
    return n > 0 && (size_t)n < cap ? 0 : SIPREG_ENOSPC;
}

/* True when a new REGISTER would carry another contact than the one bound. */
static bool contact_stale(const struct sipreg_reg *r)
{
    char now_c[URI_MAX];
    if (!r->bound || contact_compute(r, now_c, sizeof now_c) != 0)
        return false;
    return strcmp(now_c, r->bound_contact) != 0;
}

/* Something the contact depends on changed: re-register at once if that changes it. */
static void contact_check(struct sipreg_reg *r, sipreg_time now)
{
    if (r->active && !r->unreg_pending && !r->txn && contact_stale(r))
        r->due = now;
}

int sipreg_client_set_local(struct sipreg_client *c, const struct sipreg_netaddr *local)
{
    if (!local || (local->family != 4 && local->family != 6) ||
        (local->transport != SIPREG_TRANSPORT_UDP && local->transport != SIPREG_TRANSPORT_TCP))
        return SIPREG_EINVAL;
    int s = local_slot(local->transport, local->family);
    c->locals[s] = *local;
    c->local_set[s] = true;
    for (struct sipreg_reg *r = c->regs; r; r = r->next) {
        if (r->active && !r->txn && r->due < 0 && !r->bound)
            r->due = 0; /* it was waiting for an address */
        else if (r->bound && contact_stale(r) && r->active && !r->txn && !r->unreg_pending)
            r->due = 0;
    }
    return 0;
}

int sipreg_reg_set_local(struct sipreg_reg *r, const struct sipreg_netaddr *local)
{
    if (!local || (local->family != 4 && local->family != 6))
        return SIPREG_EINVAL;
    r->local = *local;
    r->local_set = true;
    if (r->active && !r->txn && r->due < 0 && !r->bound)
        r->due = 0;
    else if (r->active && !r->txn && !r->unreg_pending && contact_stale(r))
        r->due = 0;
    return 0;
}

/* ---- events ---- */

static void fill_info(const struct sipreg_reg *r, struct sipreg_reg_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->reg = (struct sipreg_reg *)r;
    ev->ud = r->ud;
    ev->state = r->state;
    ev->old_state = r->state;
    ev->status = r->status;
    ev->reason = (struct sipreg_str){r->reason, strlen(r->reason)};
    ev->error = r->error;
    ev->expires = r->granted;
    ev->next = (r->state == SIPREG_REG_REGISTERED && !r->no_refresh) || r->state == SIPREG_REG_ERROR
                   ? r->due
                   : -1;
    if (!r->active)
        ev->next = -1;
    ev->contact = (struct sipreg_str){r->contact, strlen(r->contact)};
    ev->public_addr = r->pub_set ? &r->pub : NULL;
}

static void set_state(struct sipreg_reg *r, enum sipreg_reg_state st, int status,
                      struct sipreg_str reason, int error, uint32_t granted)
{
    enum sipreg_reg_state old = r->state;
    r->state = st;
    r->status = status;
    copy_z(r->reason, sizeof r->reason, reason);
    r->error = error;
    r->granted = granted;
    struct sipreg_client *c = r->c;
    if (!c->cfg.on_event)
        return;
    struct sipreg_reg_event ev;
    fill_info(r, &ev);
    ev.old_state = old;
    c->cfg.on_event(&ev, c->cfg.ud);
}

enum sipreg_reg_state sipreg_reg_state(const struct sipreg_reg *r)
{
    return r->state;
}

void sipreg_reg_info(const struct sipreg_reg *r, struct sipreg_reg_event *out)
{
    fill_info(r, out);
}

/* ---- building requests ---- */

static void add_via(struct sipreg_buf *b, const struct sipreg_netaddr *to,
                    const struct sipreg_netaddr *local, const char *branch)
{
    char ip[SIPREG_NETADDR_STRLEN];
    sipreg_netaddr_ip(local, ip, sizeof ip);
    /* rport always: behind a NAT the response must come back to where the request left */
    sipreg_buf_printf(b, "Via: SIP/2.0/%s %s%s%s:%u;rport;branch=z9hG4bK%s\r\n",
                      to->transport == SIPREG_TRANSPORT_TCP ? "TCP" : "UDP",
                      local->family == 6 ? "[" : "", ip, local->family == 6 ? "]" : "",
                      (unsigned)local->port, branch);
}

static int add_credentials(struct sipreg_reg *r, struct sipreg_buf *b)
{
    char mem[4096];
    struct sipreg_arena a;
    struct sipreg_auth ch;
    struct sipreg_perr why;
    sipreg_arena_init(&a, mem, sizeof mem);
    int err = sipreg_auth_parse(&ch, (struct sipreg_str){r->chal, r->chal_len}, NULL, &a, &why);
    if (err)
        return err;
    char cnonce[17];
    rnd_hex(r->c, cnonce);
    r->nc++;
    struct sipreg_auth_client_cred cr = {
        .username = sipreg_str_z(r->auth_user),
        .password = r->password ? sipreg_str_z(r->password) : SIPREG_STR_NULL,
        .ha1 = r->ha1 ? sipreg_str_z(r->ha1) : SIPREG_STR_NULL,
        .ha1_alg = r->ha1_alg,
        .method = SIPREG_STR_LIT("REGISTER"),
        .uri = sipreg_str_z(r->registrar),
        .cnonce = (struct sipreg_str){cnonce, 16},
        .nc = r->nc,
    };
    sipreg_buf_addz(b, r->chal_proxy ? "Proxy-Authorization: " : "Authorization: ");
    err = sipreg_auth_credentials_build(b, &ch, &cr);
    sipreg_buf_addz(b, "\r\n");
    /* a nonce used for the first time is the server's fresh challenge: if it is refused, the
     * credentials themselves are wrong */
    r->sent_fresh = r->nc == 1;
    return err;
}

static int start_txn(struct sipreg_reg *r, sipreg_time now, const char *p, size_t len,
                     struct sipreg_nict **out)
{
    struct sipreg_client *c = r->c;
    const struct sipreg_netaddr *to = cur_target(r);
    struct sipreg_nict_cfg tc = {
        .reliable = to->transport != SIPREG_TRANSPORT_UDP,
        .t1 = c->cfg.t1,
        .t2 = c->cfg.t2,
        .t4 = c->cfg.t4,
    };
    struct sipreg_nict *t;
    int err = sipreg_nict_create(&t, &tc, p, len, now);
    if (err)
        return err;
    err = enqueue(c, p, len, to, local_of(r));
    if (err) {
        sipreg_nict_destroy(t);
        return err;
    }
    *out = t;
    return 0;
}

/* Builds and queues a REGISTER for purpose P_REGISTER or P_UNREGISTER and starts its
 * transaction. SIPREG_EAGAIN when no target or local address is known yet. */
static int send_register(struct sipreg_reg *r, sipreg_time now, enum purpose p)
{
    struct sipreg_client *c = r->c;
    const struct sipreg_netaddr *to = cur_target(r);
    const struct sipreg_netaddr *local = local_of(r);
    if (!to || !local)
        return SIPREG_EAGAIN;
    char contact[URI_MAX];
    if (p == P_REGISTER) {
        int err = contact_compute(r, contact, sizeof contact);
        if (err)
            return err;
    } else {
        snprintf(contact, sizeof contact, "%s", r->contact);
    }
    char mem[MSG_MAX], branch[17];
    struct sipreg_buf b;
    sipreg_buf_init(&b, mem, sizeof mem);
    rnd_hex(c, branch);
    sipreg_msg_build_request(&b, SIPREG_STR_LIT("REGISTER"), sipreg_str_z(r->registrar));
    add_via(&b, to, local, branch);
    sipreg_buf_printf(&b, "Max-Forwards: 70\r\nFrom: <%s>;tag=%s\r\nTo: <%s>\r\n", r->aor,
                      r->from_tag, r->aor);
    sipreg_buf_printf(&b, "Call-ID: %s\r\nCSeq: %u REGISTER\r\n", r->call_id,
                      (unsigned)(r->cseq + 1));
    uint32_t expires = p == P_REGISTER ? r->expires : 0;
    if (p == P_REGISTER) {
        sipreg_buf_printf(&b, "Contact: <%s>\r\n", contact);
        /* the binding the registrar holds for an address we no longer use (NAT rebinding,
         * contact rewrite, a new local port) goes in the same request */
        if (r->bound && strcmp(r->bound_contact, contact) != 0)
            sipreg_buf_printf(&b, "Contact: <%s>;expires=0\r\n", r->bound_contact);
    } else {
        sipreg_buf_printf(&b, "Contact: <%s>;expires=0\r\n", contact);
        if (r->bound && strcmp(r->bound_contact, contact) != 0)
            sipreg_buf_printf(&b, "Contact: <%s>;expires=0\r\n", r->bound_contact);
    }
    sipreg_buf_printf(&b, "Expires: %u\r\n", (unsigned)expires);
    if (c->user_agent[0])
        sipreg_buf_printf(&b, "User-Agent: %s\r\n", c->user_agent);
    uint32_t nc_before = r->nc;
    bool fresh_before = r->sent_fresh;
    if (r->chal) {
        int err = add_credentials(r, &b);
        if (err) {
            r->nc = nc_before;
            r->sent_fresh = fresh_before;
            return err == SIPREG_ENOSPC ? SIPREG_ENOSPC : err;
        }
    } else {
        r->sent_fresh = false;
    }
    int err = sipreg_msg_build_end(&b, NULL, 0);
    if (!err)
        err = start_txn(r, now, b.p, b.len, &r->txn);
    if (err) {
        r->nc = nc_before;
        r->sent_fresh = fresh_before;
        return err;
    }
    r->cseq++;
    r->purpose = p;
    r->txn_expires = expires;
    r->txn_target = *to;
    snprintf(r->contact, sizeof r->contact, "%s", contact);
    return 0;
}

static int send_options(struct sipreg_reg *r, sipreg_time now)
{
    struct sipreg_client *c = r->c;
    const struct sipreg_netaddr *to = cur_target(r);
    const struct sipreg_netaddr *local = local_of(r);
    if (!to || !local)
        return SIPREG_EAGAIN;
    char mem[1024], branch[17];
    struct sipreg_buf b;
    sipreg_buf_init(&b, mem, sizeof mem);
    rnd_hex(c, branch);
    sipreg_msg_build_request(&b, SIPREG_STR_LIT("OPTIONS"), sipreg_str_z(r->registrar));
    add_via(&b, to, local, branch);
    sipreg_buf_printf(&b, "Max-Forwards: 70\r\nFrom: <%s>;tag=%s\r\nTo: <%s>\r\n", r->aor,
                      r->from_tag, r->registrar);
    sipreg_buf_printf(&b, "Call-ID: %s-ka\r\nCSeq: %u OPTIONS\r\n", r->call_id,
                      (unsigned)++r->ka_cseq);
    if (c->user_agent[0])
        sipreg_buf_printf(&b, "User-Agent: %s\r\n", c->user_agent);
    int err = sipreg_msg_build_end(&b, NULL, 0);
    if (!err)
        err = start_txn(r, now, b.p, b.len, &r->ka_txn);
    return err;
}

/* ---- outcomes ---- */

/* A failed attempt: Error, and a retry after the backoff (at least `retry_after` ms when the
 * server said so, plus up to a tenth more at random). */
static void fail(struct sipreg_reg *r, sipreg_time now, int status, struct sipreg_str reason,
                 int error, sipreg_time retry_after)
{
    struct sipreg_client *c = r->c;
    if (r->failures < 1000)
        r->failures++;
    sipreg_time d = sipreg__client_backoff(c, r->failures);
    if (retry_after >= 0)
        d = retry_after + jitter(c, retry_after / 10);
    if (error == SIPREG_EAUTH && d < c->auth_retry)
        d = c->auth_retry + jitter(c, c->auth_retry / 10);
    r->due = r->active ? now + d : -1;
    r->ka_due = -1;
    r->tried = 0;
    set_state(r, SIPREG_REG_ERROR, status, reason, error, 0);
}

static void unregistered(struct sipreg_reg *r, int status, struct sipreg_str reason, int error)
{
    r->unreg_pending = false;
    r->due = -1;
    r->ka_due = -1;
    set_state(r, SIPREG_REG_UNREGISTERED, status, reason, error, 0);
}

static void auth_failed(struct sipreg_reg *r, sipreg_time now, int status, enum purpose p,
                        struct sipreg_str reason)
{
    sipreg_free(r->chal);
    r->chal = NULL;
    r->chal_len = 0;
    r->nc = 0;
    r->sent_fresh = false;
    r->nchal = 0;
    if (p == P_UNREGISTER)
        unregistered(r, status, reason, SIPREG_EAUTH);
    else
        fail(r, now, status, reason, SIPREG_EAUTH, -1);
}

/* RFC 3581: the top Via of a response carries the address the registrar saw us at. */
static void learn_public(struct sipreg_reg *r, struct sipreg_msg *m)
{
    const struct sipreg_via *v;
    if (sipreg_msg_via(m, &v, NULL) != 0 || !v || (!v->received.p && v->rport <= 0))
        return;
    struct sipreg_str host = v->received.p ? v->received : v->host;
    if (!host.len || host.len > 45)
        return;
    char s[64];
    bool v6 = memchr(host.p, ':', host.len) != NULL;
    snprintf(s, sizeof s, "%s%.*s%s", v6 ? "[" : "", (int)host.len, host.p, v6 ? "]" : "");
    struct sipreg_netaddr a;
    if (sipreg_netaddr_parse(&a, s, 5060) != 0)
        return;
    a.transport = r->txn_target.transport;
    if (v->rport > 0)
        a.port = (uint16_t)v->rport;
    else if (v->port)
        a.port = v->port;
    r->pub = a;
    r->pub_set = true;
}

/* 1 when the Contact URI `u` is the contact we sent, `ours` (RFC 3261 §19.1.4, reduced to what
 * registrars change: user, host case, port defaults). */
static int same_contact(const char *ours, const struct sipreg_uri *u, struct sipreg_arena *a)
{
    struct sipreg_uri o;
    if (sipreg_uri_parse(&o, sipreg_str_z(ours), NULL, a, NULL) != 0)
        return 0;
    if (o.scheme != u->scheme || !sipreg_str_eq(o.user, u->user) ||
        !sipreg_str_caseeq(o.host, u->host))
        return 0;
    return sipreg_uri_port(&o) == sipreg_uri_port(u);
}

static int hdr_uint(struct sipreg_msg *m, enum sipreg_hdr_id id, uint32_t *out)
{
    const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, id);
    if (!h)
        return SIPREG_ENOENT;
    /* "Retry-After: 120 (Maintenance);duration=60": the leading delta-seconds */
    size_t n = 0;
    while (n < h->value.len && h->value.p[n] >= '0' && h->value.p[n] <= '9')
        n++;
    return sipreg_uint_parse(out, (struct sipreg_str){h->value.p, n}, UINT32_MAX, NULL);
}

static void register_ok(struct sipreg_reg *r, struct sipreg_msg *m, sipreg_time now)
{
    uint32_t granted = 0;
    bool found = false;
    struct sipreg_contact *ct = NULL;
    if (sipreg_msg_contacts(m, &ct, NULL) == 0) {
        for (; ct; ct = ct->next) {
            if (ct->star || !same_contact(r->contact, &ct->addr.uri, m->arena))
                continue;
            if (ct->expires >= 0) {
                granted = ct->expires > UINT32_MAX ? UINT32_MAX : (uint32_t)ct->expires;
                found = true;
            }
            break;
        }
    }
    if (!found && hdr_uint(m, SIPREG_HDR_EXPIRES, &granted) != 0)
        granted = r->txn_expires;
    if (granted == 0) {
        /* our contact is not bound after all: a registrar that ignores it is not healthy */
        fail(r, now, m->status, SIPREG_STR_LIT("contact not bound"), SIPREG_EINVAL, -1);
        return;
    }
    if (granted > 31536000)
        granted = 31536000;
    r->bound = true;
    r->bound_until = now + (sipreg_time)granted * 1000;
    snprintf(r->bound_contact, sizeof r->bound_contact, "%s", r->contact);
    r->failures = 0;
    r->n423 = 0;
    r->nchal = 0;
    r->tried = 0;
    if (r->no_refresh)
        r->due = r->bound_until; /* then it just expires */
    else
        r->due = now + sipreg__client_refresh_delay(granted);
    r->ka_due = r->keepalive ? now + (sipreg_time)r->keepalive * 1000 : -1;
    /* NAT rewrite: the registrar saw another address than the contact says */
    if (!r->no_refresh && contact_stale(r))
        r->due = now;
    set_state(r, SIPREG_REG_REGISTERED, m->status, m->reason, 0, granted);
}

static void challenged(struct sipreg_reg *r, struct sipreg_msg *m, sipreg_time now, enum purpose p)
{
    enum sipreg_hdr_id id =
        m->status == 407 ? SIPREG_HDR_PROXY_AUTHENTICATE : SIPREG_HDR_WWW_AUTHENTICATE;
    struct sipreg_auth ch[CHAL_MAX];
    struct sipreg_str raw[CHAL_MAX];
    size_t n = 0, idx;
    for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, id); h && n < CHAL_MAX;
         h = sipreg_msg_hdr_next(m, h)) {
        if (sipreg_auth_parse(&ch[n], h->value, NULL, m->arena, NULL) != 0)
            continue;
        enum sipreg_auth_alg alg;
        /* an HA1 only answers challenges of its own hash family */
        if (r->ha1 && (sipreg_auth_alg_parse(ch[n].algorithm, &alg) != 0 ||
                       sipreg_auth_alg_base(alg) != sipreg_auth_alg_base(r->ha1_alg)))
            continue;
        raw[n++] = h->value;
    }
    struct sipreg_auth_client_policy pol = {
        .min_alg = r->min_alg,
        .require_qop = r->require_qop,
        .realm = r->realm ? sipreg_str_z(r->realm) : SIPREG_STR_NULL,
    };
    enum sipreg_auth_refusal why = SIPREG_AUTH_REFUSAL_UNUSABLE;
    if ((!r->password && !r->ha1) || sipreg_auth_challenge_choose(ch, n, &pol, &idx, &why) != 0) {
        /* refused by our own policy: say which rule, so that the user can tell a registrar
         * that offers only weak digests (or another realm) from a wrong password */
        struct sipreg_str reason = why == SIPREG_AUTH_REFUSAL_UNUSABLE
                                       ? SIPREG_STR_LIT("authentication failed")
                                       : sipreg_str_z(sipreg_auth_refusal_text(why));
        auth_failed(r, now, m->status, p, reason);
        return;
    }
    /* fresh credentials refused (not merely a stale nonce): the password is wrong. A loop of
     * stale nonces is cut off as well. */
    if ((r->sent_fresh && !ch[idx].stale_true) || ++r->nchal > 3) {
        auth_failed(r, now, m->status, p, SIPREG_STR_LIT("authentication failed"));
        return;
    }
    char *copy = sipreg_malloc(raw[idx].len ? raw[idx].len : 1);
    if (!copy) {
        fail(r, now, m->status, SIPREG_STR_LIT("out of memory"), SIPREG_ENOMEM, -1);
        return;
    }
    memcpy(copy, raw[idx].p, raw[idx].len);
    sipreg_free(r->chal);
    r->chal = copy;
    r->chal_len = raw[idx].len;
    r->chal_proxy = m->status == 407;
    r->nc = 0;
    r->sent_fresh = false;
    if (p == P_UNREGISTER) {
        r->unreg_pending = true;
        r->must_unbind = true;
    }
    r->due = now; /* answer at once, with the next CSeq */
}

static void final_response(struct sipreg_reg *r, struct sipreg_msg *m, sipreg_time now,
                           enum purpose p)
{
    int st = m->status;
    learn_public(r, m);
    if (st == 401 || st == 407) {
        challenged(r, m, now, p);
        return;
    }
    if (p == P_UNREGISTER) {
        if (st >= 200 && st < 300) {
            r->bound = false;
            r->bound_contact[0] = 0;
        }
        unregistered(r, st, m->reason, st < 300 ? 0 : SIPREG_EINVAL);
        return;
    }
    if (st < 300) {
        register_ok(r, m, now);
        return;
    }
    uint32_t v;
    if (st == 423) {
        /* Interval Too Brief: ask again with the Min-Expires it names, unless it does not
         * name a longer one or keeps asking */
        if (hdr_uint(m, SIPREG_HDR_MIN_EXPIRES, &v) == 0 && v > r->expires && ++r->n423 <= 3) {
            r->expires = v;
            r->due = now;
            return;
        }
        fail(r, now, st, m->reason, SIPREG_ELIMIT, -1);
        return;
    }
    if (st == 403) {
        auth_failed(r, now, st, p, SIPREG_STR_LIT("authentication failed"));
        return;
    }
    sipreg_time ra = hdr_uint(m, SIPREG_HDR_RETRY_AFTER, &v) == 0 && v > 0
                         ? (sipreg_time)(v > 86400 ? 86400 : v) * 1000
                         : -1;
    fail(r, now, st, m->reason, SIPREG_EINVAL, ra);
}

/* Asks the driver to drop the connection to `a` (see sipreg_client_pull_reset). */
static void want_reset(struct sipreg_client *c, const struct sipreg_netaddr *a)
{
    if (a->transport == SIPREG_TRANSPORT_UDP)
        return;
    for (size_t i = 0; i < c->nresets; i++)
        if (sipreg_netaddr_eq(&c->resets[i], a))
            return;
    if (c->nresets < TARGETS_MAX)
        c->resets[c->nresets++] = *a;
}

int sipreg_client_pull_reset(struct sipreg_client *c, struct sipreg_netaddr *remote)
{
    if (!c->nresets)
        return 0;
    *remote = c->resets[0];
    memmove(c->resets, c->resets + 1, --c->nresets * sizeof c->resets[0]);
    return 1;
}

/* The transaction ended without a final response: Timer F, or its connection was lost. */
static void txn_failed(struct sipreg_reg *r, sipreg_time now, enum purpose p, int error)
{
    struct sipreg_str why =
        error == SIPREG_EIO ? SIPREG_STR_LIT("connection lost") : SIPREG_STR_LIT("no response");
    int status = error == SIPREG_EIO ? 0 : 408;
    if (p == P_UNREGISTER) {
        unregistered(r, status, why, error);
        return;
    }
    if (r->ntargets > 1) {
        r->target = (r->target + 1) % r->ntargets;
        if (++r->tried < r->ntargets) {
            r->due = now; /* the registrar's next address, at once */
            return;
        }
    }
    fail(r, now, status, why, error, -1);
}

static void ka_done(struct sipreg_reg *r, sipreg_time now, bool answered)
{
    if (!r->active || r->unreg_pending || r->txn || r->state != SIPREG_REG_REGISTERED)
        return;
    if (!answered)
        r->due = now; /* the registrar went quiet: find out with a refresh */
    else
        contact_check(r, now);
}

/* ---- receive ---- */

/* Whether `from` is where one of our registrations sends its requests now (its current
 * registrar address, transport included). A stream connection is identified by that peer
 * address too: the driver opens one per registrar address and accepts none. */
static bool from_registrar(const struct sipreg_client *c, const struct sipreg_netaddr *from)
{
    for (const struct sipreg_reg *r = c->regs; r; r = r->next) {
        const struct sipreg_netaddr *t = cur_target(r);
        if (t && (r->active || r->bound || r->txn) && sipreg_netaddr_eq(t, from))
            return true;
    }
    return false;
}

/* Takes one token of the answer budget: SIPREG_CLIENT_ANSWER_BURST at most, refilled one per
 * ANSWER_COST ms. Over UDP anyone can forge even the registrar's address, so this bounds what
 * the client sends for requests it did not ask for. */
static bool answer_budget(struct sipreg_client *c, sipreg_time now)
{
    const sipreg_time full = ANSWER_COST * SIPREG_CLIENT_ANSWER_BURST;
    if (now > c->ans_at) {
        sipreg_time d = now - c->ans_at;
        c->ans_credit = d >= full - c->ans_credit ? full : c->ans_credit + d;
    }
    c->ans_at = now;
    if (c->ans_credit < ANSWER_COST)
        return false;
    c->ans_credit -= ANSWER_COST;
    return true;
}

static int answer_request(struct sipreg_client *c, sipreg_time now, struct sipreg_msg *m,
                          const struct sipreg_netaddr *from, const struct sipreg_netaddr *local)
{
    if (m->method == SIPREG_METHOD_ACK)
        return 0;
    /* answer nobody but the registrar, and it within a budget: a request with a forged source
     * must not make us send anything to that source (reflection) or more than we got */
    if (!from_registrar(c, from) || !answer_budget(c, now))
        return 0;
    char mem[MSG_MAX], tag[17];
    struct sipreg_buf b;
    sipreg_buf_init(&b, mem, sizeof mem);
    rnd_hex(c, tag);
    bool ok = m->method == SIPREG_METHOD_OPTIONS;
    if (sipreg_msg_build_response(&b, m, ok ? 200 : 501, SIPREG_STR_NULL,
                                  (struct sipreg_str){tag, 16}, SIPREG_STR_NULL, -1) != 0)
        return 0;
    if (ok)
        sipreg_buf_addz(&b, "Allow: OPTIONS\r\nAccept: application/sdp\r\n");
    if (sipreg_msg_build_end(&b, NULL, 0) != 0)
        return 0;
    int err = enqueue(c, b.p, b.len, from, local);
    return err == SIPREG_ENOMEM ? err : 0;
}

int sipreg_client_receive(struct sipreg_client *c, const char *buf, size_t len,
                          const struct sipreg_netaddr *from, const struct sipreg_netaddr *local,
                          sipreg_time now)
{
    struct sipreg_perr why;
    struct sipreg_msg *m = &c->m;
    sipreg_arena_init(&c->a, c->arena, sizeof c->arena);
    enum sipreg_msg_mode mode =
        from->transport == SIPREG_TRANSPORT_UDP ? SIPREG_MSG_DATAGRAM : SIPREG_MSG_STREAM;
    if (sipreg_msg_parse(m, buf, len, mode, NULL, &c->a, &why) != 0)
        return 0; /* keep-alive CRLFs, garbage: nothing to answer */
    if (m->is_request)
        return answer_request(c, now, m, from, local);
    for (struct sipreg_reg *r = c->regs; r; r = r->next) {
        if (r->txn && r->txn_target.transport == from->transport &&
            sipreg_nict_matches(r->txn, m)) {
            int k = sipreg_nict_receive(r->txn, m, now);
            if (k != SIPREG_NICT_FINAL)
                return 0;
            enum purpose p = r->purpose;
            sipreg_nict_destroy(r->txn);
            r->txn = NULL;
            r->purpose = P_NONE;
            final_response(r, m, now, p);
            return 0;
        }
        if (r->ka_txn && sipreg_nict_matches(r->ka_txn, m)) {
            if (sipreg_nict_receive(r->ka_txn, m, now) != SIPREG_NICT_FINAL)
                return 0;
            sipreg_nict_destroy(r->ka_txn);
            r->ka_txn = NULL;
            learn_public(r, m);
            ka_done(r, now, true);
            return 0;
        }
    }
    return 0; /* a late duplicate or a stranger's response */
}

/* ---- timers ---- */

static bool may_be_bound(const struct sipreg_reg *r, sipreg_time now)
{
    return (r->bound && now < r->bound_until) || r->must_unbind;
}

static int reg_timeout(struct sipreg_reg *r, sipreg_time now)
{
    struct sipreg_client *c = r->c;
    int ret = 0;
    if (r->txn) {
        int k = sipreg_nict_timeout(r->txn, now);
        if (k == SIPREG_NICT_RETRANSMIT) {
            const char *p;
            size_t len;
            sipreg_nict_request(r->txn, &p, &len);
            int err = enqueue(c, p, len, &r->txn_target, local_of(r));
            if (err == SIPREG_ENOMEM)
                ret = err; /* a lost retransmission: Timer E sends another */
        } else if (k == SIPREG_NICT_TIMEOUT || k == SIPREG_NICT_TERMINATED) {
            enum purpose p = r->purpose;
            sipreg_nict_destroy(r->txn);
            r->txn = NULL;
            r->purpose = P_NONE;
            if (k == SIPREG_NICT_TIMEOUT) {
                /* silence on a connection: it may be half-open, so do not reuse it */
                want_reset(c, &r->txn_target);
                txn_failed(r, now, p, SIPREG_ETIMEDOUT);
            }
        }
    }
    if (r->ka_txn) {
        int k = sipreg_nict_timeout(r->ka_txn, now);
        if (k == SIPREG_NICT_RETRANSMIT) {
            const char *p;
            size_t len;
            sipreg_nict_request(r->ka_txn, &p, &len);
            int err = enqueue(c, p, len, cur_target(r), local_of(r));
            if (err == SIPREG_ENOMEM)
                ret = err;
        } else if (k == SIPREG_NICT_TIMEOUT || k == SIPREG_NICT_TERMINATED) {
            sipreg_nict_destroy(r->ka_txn);
            r->ka_txn = NULL;
            if (k == SIPREG_NICT_TIMEOUT)
                ka_done(r, now, false);
        }
    }
    if (!r->txn && r->due >= 0 && now >= r->due) {
        if (r->unreg_pending) {
            if (!may_be_bound(r, now)) {
                r->bound = false;
                unregistered(r, r->status, sipreg_str_z(r->reason), 0);
            } else {
                int err = send_register(r, now, P_UNREGISTER);
                if (err == SIPREG_ENOMEM) {
                    r->due = now + 1000;
                    return err;
                }
                r->must_unbind = false;
                if (err) { /* no address to send it to: nothing more can be done */
                    r->bound = false;
                    unregistered(r, r->status, sipreg_str_z(r->reason), err);
                } else {
                    r->unreg_pending = false;
                    r->due = -1;
                    set_state(r, SIPREG_REG_UNREGISTERING, r->status, sipreg_str_z(r->reason), 0,
                              r->granted);
                }
            }
        } else if (!r->active) {
            r->due = -1;
        } else if (r->no_refresh && r->state == SIPREG_REG_REGISTERED) {
            r->bound = false;
            r->active = false;
            unregistered(r, r->status, SIPREG_STR_LIT("expired"), 0);
        } else {
            int err = send_register(r, now, P_REGISTER);
            if (err == SIPREG_EAGAIN) {
                r->due = -1; /* waiting for targets or a local address */
                r->want_targets = r->ntargets == 0;
            } else if (err == SIPREG_ENOMEM) {
                r->due = now + 1000;
                ret = err;
            } else if (err) {
                fail(r, now, 0, sipreg_str_z(sipreg_strerror(err)), err, -1);
            } else if (r->state != SIPREG_REG_REGISTERED && r->state != SIPREG_REG_REGISTERING) {
                r->due = -1;
                set_state(r, SIPREG_REG_REGISTERING, r->status, sipreg_str_z(r->reason), 0, 0);
            } else {
                r->due = -1;
            }
        }
    }
    if (r->ka_due >= 0 && now >= r->ka_due) {
        r->ka_due = now + (sipreg_time)r->keepalive * 1000;
        const struct sipreg_netaddr *t = cur_target(r);
        if (r->state == SIPREG_REG_REGISTERED && t && !r->ka_txn) {
            int err;
            if (t->transport != SIPREG_TRANSPORT_UDP || r->keepalive_kind == SIPREG_KEEPALIVE_CRLF)
                err = enqueue(c, "\r\n\r\n", 4, t, local_of(r));
            else
                err = send_options(r, now);
            if (err == SIPREG_ENOMEM)
                ret = err;
        }
    }
    return ret;
}

int sipreg_client_timeout(struct sipreg_client *c, sipreg_time now)
{
    int ret = 0;
    for (struct sipreg_reg *r = c->regs; r; r = r->next) {
        int err = reg_timeout(r, now);
        if (err)
            ret = err;
    }
    return ret;
}

static sipreg_time earliest(sipreg_time a, sipreg_time b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

sipreg_time sipreg_client_next_timeout(const struct sipreg_client *c)
{
    sipreg_time t = -1;
    for (const struct sipreg_reg *r = c->regs; r; r = r->next) {
        if (r->txn)
            t = earliest(t, sipreg_nict_next_timeout(r->txn));
        else
            t = earliest(t, r->due);
        if (r->ka_txn)
            t = earliest(t, sipreg_nict_next_timeout(r->ka_txn));
        t = earliest(t, r->ka_due);
    }
    return t;
}

void sipreg_client_transport_lost(struct sipreg_client *c, sipreg_time now,
                                  const struct sipreg_netaddr *remote)
{
    for (struct sipreg_reg *r = c->regs; r; r = r->next) {
        const struct sipreg_netaddr *t = cur_target(r);
        if (r->ka_txn && t && sipreg_netaddr_eq(t, remote)) {
            sipreg_nict_destroy(r->ka_txn);
            r->ka_txn = NULL;
        }
        if (r->txn && sipreg_netaddr_eq(&r->txn_target, remote)) {
            enum purpose p = r->purpose;
            sipreg_nict_destroy(r->txn);
            r->txn = NULL;
            r->purpose = P_NONE;
            txn_failed(r, now, p, SIPREG_EIO);
        } else if (!r->txn && t && sipreg_netaddr_eq(t, remote) && r->active && !r->unreg_pending &&
                   r->state == SIPREG_REG_REGISTERED) {
            /* the registrar restarted or the path broke: register again over a new connection
             * soon, spread over a few seconds so that its clients do not all come back at once */
            sipreg_time at = now + 1000 + jitter(c, 4000);
            if (r->due < 0 || at < r->due)
                r->due = at;
        }
    }
}

void sipreg_client_shutdown(struct sipreg_client *c)
{
    for (struct sipreg_reg *r = c->regs; r; r = r->next)
        sipreg_reg_end(r);
}

size_t sipreg_client_pending(const struct sipreg_client *c)
{
    size_t n = 0;
    for (const struct sipreg_reg *r = c->regs; r; r = r->next)
        if (r->unreg_pending || (r->txn && r->purpose == P_UNREGISTER))
            n++;
    return n;
}

/* ---- registrations ---- */

/* Appends a copy of z (NUL included) at *p; returns where it went (NULL for NULL). */
static char *put(char **p, const char *z)
{
    if (!z)
        return NULL;
    size_t n = strlen(z) + 1;
    char *d = *p;
    memcpy(d, z, n);
    *p += n;
    return d;
}

static size_t zlen(const char *z)
{
    return z ? strlen(z) + 1 : 0;
}

static bool bad_text(const char *z, size_t max)
{
    return z && (strlen(z) > max || strpbrk(z, "\r\n<>\"") != NULL);
}

int sipreg_reg_create(struct sipreg_client *c, struct sipreg_reg **out,
                      const struct sipreg_reg_cfg *cfg)
{
    *out = NULL;
    if (!cfg->registrar || !cfg->aor || (cfg->password && cfg->ha1) ||
        bad_text(cfg->registrar, 200) || bad_text(cfg->aor, 200) || bad_text(cfg->user, 100) ||
        bad_text(cfg->realm, 100) || (cfg->password && strlen(cfg->password) > 256) ||
        (unsigned)cfg->min_alg >= SIPREG_AUTH_ALG__COUNT ||
        (cfg->contact && strlen(cfg->contact) > 200) ||
        (cfg->transport != SIPREG_TRANSPORT_UDP && cfg->transport != SIPREG_TRANSPORT_TCP))
        return SIPREG_EINVAL;
    if (cfg->ha1 && (strlen(cfg->ha1) != sipreg_auth_alg_hexlen(cfg->ha1_alg) ||
                     strspn(cfg->ha1, "0123456789abcdefABCDEF") != strlen(cfg->ha1)))
        return SIPREG_EINVAL;
    /* an HA1 of a family below min_alg could never answer anything */
    if (cfg->ha1 && sipreg_auth_alg_strength(cfg->ha1_alg) < sipreg_auth_alg_strength(cfg->min_alg))
        return SIPREG_EINVAL;
    /* a contact given as "<sip:...>" or "sip:..." */
    char contact[URI_MAX] = "";
    if (cfg->contact) {
        const char *s = cfg->contact;
        size_t n = strlen(s);
        if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
            s++;
            n -= 2;
        }
        if (!n || n >= sizeof contact || memchr(s, '<', n) || memchr(s, '>', n) ||
            strpbrk(cfg->contact, "\r\n"))
            return SIPREG_EINVAL;
        memcpy(contact, s, n);
        contact[n] = 0;
    }
    char mem[4096];
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    struct sipreg_uri ru, au;
    if (sipreg_uri_parse(&ru, sipreg_str_z(cfg->registrar), NULL, &a, NULL) != 0 ||
        (ru.scheme != SIPREG_URI_SIP && ru.scheme != SIPREG_URI_SIPS) || !ru.host.len ||
        ru.user.p || sipreg_uri_parse(&au, sipreg_str_z(cfg->aor), NULL, &a, NULL) != 0 ||
        (au.scheme != SIPREG_URI_SIP && au.scheme != SIPREG_URI_SIPS) || !au.host.len)
        return SIPREG_EINVAL;
    uint8_t transport = cfg->transport;
    const struct sipreg_param *tp = sipreg_params_find(&ru.params, "transport");
    if (tp) {
        if (sipreg_str_caseeqz(tp->value, "tcp"))
            transport = SIPREG_TRANSPORT_TCP;
        else if (sipreg_str_caseeqz(tp->value, "udp"))
            transport = SIPREG_TRANSPORT_UDP;
        else
            return SIPREG_EINVAL;
    }
    const char *user_src = cfg->user;
    char aor_user[128] = "";
    if (au.user.len && au.user.len < sizeof aor_user && !memchr(au.user.p, '@', au.user.len))
        copy_z(aor_user, sizeof aor_user, au.user);
    if (!user_src && aor_user[0])
        user_src = aor_user;
    char host[URI_MAX];
    copy_z(host, sizeof host, ru.host);

    size_t need = zlen(cfg->registrar) + zlen(cfg->aor) + zlen(user_src) + zlen(cfg->password) +
                  zlen(cfg->ha1) + zlen(cfg->realm) + (cfg->contact ? strlen(contact) + 1 : 0) +
                  zlen(host) + zlen(aor_user[0] ? aor_user : "sipreg");
    struct sipreg_reg *r = sipreg_calloc(1, sizeof *r + need);
    if (!r)
        return SIPREG_ENOMEM;
    char *p = (char *)(r + 1);
    r->c = c;
    r->registrar = put(&p, cfg->registrar);
    r->aor = put(&p, cfg->aor);
    r->auth_user = put(&p, user_src);
    r->password = put(&p, cfg->password);
    r->ha1 = put(&p, cfg->ha1);
    r->ha1_alg = cfg->ha1_alg;
    r->min_alg = cfg->min_alg;
    r->require_qop = cfg->require_qop;
    r->realm = put(&p, cfg->realm);
    r->contact_cfg = cfg->contact ? put(&p, contact) : NULL;
    r->host = put(&p, host);
    r->contact_user = put(&p, aor_user[0] ? aor_user : "sipreg");
    r->port = ru.port;
    r->transport = transport;
    r->expires = cfg->expires ? cfg->expires : 3600;
    r->no_refresh = cfg->no_refresh;
    r->nat = cfg->nat;
    r->keepalive = cfg->keepalive;
    r->keepalive_kind = cfg->keepalive_kind;
    r->ud = cfg->ud;
    r->due = -1;
    r->ka_due = -1;
    r->state = SIPREG_REG_UNREGISTERED;
    char h1[17], h2[17];
    rnd_hex(c, h1);
    rnd_hex(c, h2);
    snprintf(r->call_id, sizeof r->call_id, "%s%s", h1, h2);
    rnd_hex(c, r->from_tag);
    r->cseq = (uint32_t)(rnd(c) % 10000);
    /* an IP address needs no resolver */
    char lit[URI_MAX + 3];
    snprintf(lit, sizeof lit, "%s%s%s", ru.host_ipv6 ? "[" : "", host, ru.host_ipv6 ? "]" : "");
    struct sipreg_netaddr t;
    if (sipreg_netaddr_parse(&t, lit, ru.port ? ru.port : 5060) == 0) {
        t.transport = transport;
        r->targets[0] = t;
        r->ntargets = 1;
    }
    r->next = c->regs;
    c->regs = r;
    *out = r;
    return 0;
}

void sipreg_reg_destroy(struct sipreg_reg *r)
{
    if (!r)
        return;
    for (struct sipreg_reg **pp = &r->c->regs; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    sipreg_nict_destroy(r->txn);
    sipreg_nict_destroy(r->ka_txn);
    sipreg_free(r->chal);
    sipreg_free(r);
}

int sipreg_reg_set_targets(struct sipreg_reg *r, const struct sipreg_netaddr *addrs, size_t n)
{
    if (!n)
        return SIPREG_EINVAL;
    if (n > TARGETS_MAX)
        n = TARGETS_MAX;
    for (size_t i = 0; i < n; i++)
        if (addrs[i].family != 4 && addrs[i].family != 6)
            return SIPREG_EINVAL;
    memcpy(r->targets, addrs, n * sizeof *addrs);
    r->ntargets = n;
    r->target = 0;
    r->tried = 0;
    if (r->active && !r->txn && r->due < 0 && !r->bound)
        r->due = 0;
    return 0;
}

int sipreg_reg_target(const struct sipreg_reg *r, struct sipreg_netaddr *out)
{
    const struct sipreg_netaddr *t = cur_target(r);
    if (!t)
        return SIPREG_ENOENT;
    *out = *t;
    return 0;
}

void sipreg_reg_registrar(const struct sipreg_reg *r, struct sipreg_str *host, uint16_t *port,
                          uint8_t *transport)
{
    *host = sipreg_str_z(r->host);
    *port = r->port;
    *transport = r->transport;
}

void sipreg_reg_begin(struct sipreg_reg *r)
{
    if (r->txn && r->purpose == P_UNREGISTER) {
        sipreg_nict_destroy(r->txn);
        r->txn = NULL;
        r->purpose = P_NONE;
    }
    r->active = true;
    r->unreg_pending = false;
    r->must_unbind = false;
    r->failures = 0;
    r->n423 = 0;
    r->nchal = 0;
    r->tried = 0;
    if (!r->txn)
        r->due = 0;
}

void sipreg_reg_end(struct sipreg_reg *r)
{
    r->active = false;
    r->ka_due = -1;
    if (r->ka_txn) {
        sipreg_nict_destroy(r->ka_txn);
        r->ka_txn = NULL;
    }
    if (r->txn && r->purpose == P_UNREGISTER)
        return; /* already on its way */
    if (r->txn) {
        /* the registrar may have bound the contact of the REGISTER we stop waiting for */
        r->must_unbind = true;
        sipreg_nict_destroy(r->txn);
        r->txn = NULL;
        r->purpose = P_NONE;
    }
    if (r->state == SIPREG_REG_UNREGISTERED && !r->bound && !r->must_unbind) {
        r->due = -1;
        return;
    }
    r->unreg_pending = true;
    r->due = 0;
}

struct sipreg_reg *sipreg_client_want_targets(struct sipreg_client *c)
{
    for (struct sipreg_reg *r = c->regs; r; r = r->next) {
        if (r->want_targets && r->ntargets == 0) {
            r->want_targets = false;
            return r;
        }
    }
    return NULL;
}

void sipreg_reg_targets_failed(struct sipreg_reg *r, sipreg_time now, int error,
                               struct sipreg_str reason)
{
    r->want_targets = false;
    if (r->ntargets == 0 && r->active)
        fail(r, now, 0, reason, error, -1);
}
