/* Registrar, RFC 3261 §10.3 (with RFC 3327 Path, RFC 3581 rport, RFC 5626 instance/reg-id). */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "registrar_int.h"
#include "sipreg/registrar.h"
#include "sipreg/txn.h"
#include "store/store_int.h"
#include "store/writer.h"

#define ARENA_SIZE   (64 * 1024)
#define REPLY_MAX    65000 /* a UDP datagram; what a 200 may list is bounded below to fit */
/* Bounds checked before any change is written, so that the 200 listing every binding, or the
 * 500 replacing it, can always be built afterwards: the headers a response copies from the
 * request, a Contact URI and an instance, times the store's bindings per AOR (32). */
#define COPIED_MAX   4096
#define CONTACT_MAX  1024
#define INSTANCE_MAX 256
#define OUTBOX_MAX   1024
#define PURGE_EVERY  1000 /* ms between purges of expired bindings */
#define PURGE_ROWS   256
#define TXN_DEFAULT  16384 /* server transactions */

struct outmsg {
    char *data;
    size_t len;
    struct sipreg_netaddr local; /* the address the request came in on: the reply leaves there */
    struct sipreg_netaddr to;
};

/* A change decided and waiting to become durable: its change set (a job for the store's writer,
 * or for flush), and what its answer needs, built while the request was at hand. */
struct pend {
    struct pend *next;
    struct sipreg__wjob *job; /* the writer's while taken */
    bool taken;
    char *head; /* the 200: status line, copied headers with the To tag, Server */
    size_t head_len;
    size_t status_end; /* bytes of its status line */
    struct sipreg_str path, user;
    int64_t wall_ms;
    struct sipreg_netaddr src, to, local;
    uint64_t txn_id; /* 0: none; the transaction may end meanwhile, so keep its id */
};

#define GOOD_TTL (24 * 3600 * 1000) /* ms a user's success at a source spares it a slowdown */

/* The state kept per source (keyed by sipreg_auth_bind_addr() bytes: nonces are bound to them)
 * and the state kept per user. A shared object made with cfg.source_local holds only the per-user
 * part; each registrar then keeps its own per-source part. */
struct sipreg_registrar_shared {
    struct sipreg_auth_tracker *tracker;          /* per source; NULL when no_auth */
    struct sipreg__limiter *src_fail, *pair_fail; /* per source; pair: user at a source */
    struct sipreg__buckets *replies;              /* per source; NULL: unlimited */
    struct sipreg__limiter *user_fail;            /* per user */
};

enum { PART_SOURCE = 1, PART_USER = 2 };

/* A domain served, with its digest realm and algorithms. */
struct dom {
    char *name;
    char *realm;
    enum sipreg_auth_alg algs[4];
    struct sipreg_auth_server_cfg auth;
};

struct sipreg_registrar {
    struct sipreg_registrar_cfg cfg;
    struct dom *doms; /* cfg.ndomains */
    struct sipreg_netaddr *local;
    struct sipreg_cidr *trusted;
    char *server;
    struct sipreg_registrar_shared *sh;  /* &view: the state in use */
    struct sipreg_registrar_shared view; /* own and shared parts together (not owned as such) */
    struct sipreg_registrar_shared *own; /* what this registrar made itself, or NULL */
    struct sipreg_nist_table *nist;
    sipreg_time now; /* of the datagram being processed */
    uint64_t throttled;
    struct outmsg outbox[OUTBOX_MAX];
    size_t out_head, out_n;
    sipreg_time next_purge;
    struct pend *pend_head, *pend_tail; /* in decision order */
    size_t npend;
    bool writer; /* a driver's writer applies the changes and purges: the store is only read */
    uint64_t tag_counter;
    uint8_t tag_key[16];
    char *arena_mem;
    struct sipreg_arena arena;
    char reply[REPLY_MAX];
};

/* ---- helpers ---- */

static char *dupz(const char *z)
{
    size_t n = strlen(z) + 1;
    char *d = sipreg_malloc(n);
    if (d)
        memcpy(d, z, n);
    return d;
}

/* The outcome table (registrar.h), as data. */
static const struct outcome {
    const char *name;
    int status;
    const char *phrase;
    enum sipreg_registrar_event_kind kind;
    int level;
} outcomes[] = {
#define XX(n, text, st, ph, k, lv) {text, st, ph, SIPREG_REG_EV_##k, lv},
    SIPREG_REG_OUTCOME_MAP(XX)
#undef XX
};

const char *sipreg_registrar_outcome_name(enum sipreg_registrar_outcome o)
{
    return (unsigned)o < SIPREG_REG_OUT__COUNT ? outcomes[o].name : "?";
}

int sipreg_registrar_outcome_level(enum sipreg_registrar_outcome o)
{
    return (unsigned)o < SIPREG_REG_OUT__COUNT ? outcomes[o].level : 2;
}

static void emit(struct sipreg_registrar *r, enum sipreg_registrar_outcome o, int status,
                 const char *reason, struct sipreg_str aor, struct sipreg_str contact,
                 struct sipreg_str user, int64_t expires, const struct sipreg_netaddr *src)
{
    if (!r->cfg.on_event)
        return;
    enum sipreg_registrar_event_kind kind = outcomes[o].kind;
    /* rejections of a source that is over its reply budget are not logged one by one (the
     * throttled event says it): a spoofed flood must not become a log flood */
    if (src && r->sh->replies &&
        (kind == SIPREG_REG_EV_REJECTED || kind == SIPREG_REG_EV_AUTH_FAILED ||
         kind == SIPREG_REG_EV_CHALLENGED || kind == SIPREG_REG_EV_MALFORMED)) {
        uint8_t sk[SIPREG_AUTH_BIND_MAX];
        size_t n = sipreg_auth_bind_addr(src, sk);
        if (!sipreg__buckets_peek(r->sh->replies, sk, n, r->now))
            return;
    }
    struct sipreg_registrar_event ev = {kind, status, reason, aor, contact, user, expires, src, o};
    r->cfg.on_event(&ev, r->cfg.ud);
}

static const struct dom *domain_of(const struct sipreg_registrar *r, struct sipreg_str host)
{
    for (size_t i = 0; i < r->cfg.ndomains; i++)
        if (sipreg_str_caseeqz(host, r->doms[i].name))
            return &r->doms[i];
    return NULL;
}

static int is_unspecified(const struct sipreg_netaddr *a)
{
    static const uint8_t zero[16];
    return memcmp(a->ip, zero, a->family == 4 ? 4 : 16) == 0;
}

static int host_is_local(const struct sipreg_registrar *r, const struct sipreg_uri *u)
{
    char ip[SIPREG_NETADDR_STRLEN];
    uint16_t port = sipreg_uri_port(u);
    /* an IP literal in the Request-URI, parsed once (IPv6 without its brackets) */
    struct sipreg_netaddr lit;
    int is_ip = 0;
    if (u->host.len < sizeof ip) {
        memcpy(ip, u->host.p, u->host.len);
        ip[u->host.len] = 0;
        is_ip = sipreg_netaddr_parse(&lit, ip, port) == 0;
    }
    for (size_t i = 0; i < r->cfg.nlocal; i++) {
        const struct sipreg_netaddr *l = &r->local[i];
        if (port != l->port || !is_ip || lit.family != l->family)
            continue;
        /* a wildcard listen address answers for every address of its family */
        if (is_unspecified(l) || memcmp(lit.ip, l->ip, l->family == 4 ? 4 : 16) == 0)
            return 1;
    }
    return 0;
}

/* Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4): the source address when the client
 * asked for rport, else the source IP and the port of the Via sent-by. */
static void reply_dest(struct sipreg_netaddr *to, const struct sipreg_via *v,
                       const struct sipreg_netaddr *src)
{
    *to = *src;
    if (v && v->rport < 0 && src->transport == SIPREG_TRANSPORT_UDP)
        to->port = v->port ? v->port : 5060;
}

/* received= goes in when the sent-by host is not the source address, or rport was asked for. */
static struct sipreg_str received_of(const struct sipreg_via *v, const struct sipreg_netaddr *src,
                                     char *ip, size_t cap)
{
    size_t n = sipreg_netaddr_ip(src, ip, cap);
    struct sipreg_str s = {ip, n};
    if (v && v->rport < 0 && sipreg_str_caseeq(v->host, s))
        return SIPREG_STR_NULL;
    return s;
}

static struct sipreg_str make_tag(struct sipreg_registrar *r, char *buf)
{
    /* To-tags only need to be unique per registrar; derive them from a keyed counter so they
     * reveal nothing about the load */
    uint64_t x = sipreg__siphash24(r->tag_key, &r->tag_counter, sizeof r->tag_counter);
    r->tag_counter++;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        buf[i] = hex[(x >> (4 * i)) & 15];
    return (struct sipreg_str){buf, 16};
}

static void add_date(struct sipreg_buf *b, int64_t wall_ms)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return;
    sipreg_buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", days[tm.tm_wday],
                      tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                      tm.tm_sec);
}

/* ---- the outbox ---- */

static struct outmsg *outbox_push(struct sipreg_registrar *r)
{
    if (r->out_n == OUTBOX_MAX)
        return NULL;
    struct outmsg *o = &r->outbox[(r->out_head + r->out_n) % OUTBOX_MAX];
    memset(o, 0, sizeof *o);
    r->out_n++;
    return o;
}

static void outmsg_free(struct outmsg *o)
{
    sipreg_free(o->data);
    o->data = NULL;
}

/* Queues a finished response. With `txn`, it becomes the transaction's cached response. */
static int queue_reply(struct sipreg_registrar *r, const struct sipreg_buf *b,
                       const struct sipreg_netaddr *to, const struct sipreg_netaddr *local,
                       struct sipreg_nist *txn, sipreg_time now)
{
    struct outmsg *o = outbox_push(r);
    if (!o)
        return SIPREG_ELIMIT;
    o->data = sipreg_malloc(b->len);
    if (!o->data) {
        r->out_n--;
        return SIPREG_ENOMEM;
    }
    memcpy(o->data, b->p, b->len);
    o->len = b->len;
    o->to = *to;
    if (local)
        o->local = *local;
    if (txn)
        (void)sipreg_nist_respond(r->nist, txn, o->data, o->len, now);
    return 0;
}

/* ---- responses ---- */

struct req_ctx {
    struct sipreg_msg *m;
    const struct sipreg_netaddr *src;
    struct sipreg_nist *txn;
    sipreg_time now;
    int64_t wall_ms;
    const struct sipreg_via *via;
    const struct sipreg_netaddr *local; /* where it came in; may be NULL */
    size_t len;                         /* bytes of the request */
    uint8_t sk[SIPREG_AUTH_BIND_MAX];   /* the source key: its IPv4 address or IPv6 /64 */
    size_t sklen;
    bool trusted; /* the source is in a --trusted-source prefix */
    bool authed;  /* the request carried valid credentials */
    bool proven;  /* it answered a nonce sent to its source: the source receives our packets */
    bool metered; /* a reply token was already taken for this request */
};

static void throttled(struct sipreg_registrar *r, struct req_ctx *q,
                      enum sipreg_registrar_outcome o)
{
    /* one event per 1000 drops: the log must not become the amplifier */
    if (r->throttled++ % 1000 == 0)
        emit(r, o, 0, outcomes[o].phrase, SIPREG_STR_NULL, SIPREG_STR_NULL, SIPREG_STR_NULL, -1,
             q->src);
}

/* Whether a reply of `len` bytes to q's source may be sent. A source address may be forged, so
 * unless the request proved that its source receives what we send (it answered a nonce sent
 * there) or the source is trusted, the reply is at most 3 times the request and counted
 * against the source's budget: the registrar is useless as an amplifier, and a spoofed flood
 * can only spend the budget of unproven replies, never that of a proven client. */
static int may_reply(struct sipreg_registrar *r, struct req_ctx *q, size_t len)
{
    if (q->authed || q->proven || q->trusted)
        return 1;
    if (!r->cfg.no_auth && len > 3 * q->len) {
        throttled(r, q, SIPREG_REG_OUT_THROTTLED_SIZE);
        return 0;
    }
    if (q->metered || !r->sh->replies)
        return 1;
    if (sipreg__buckets_take(r->sh->replies, q->sk, q->sklen, q->now)) {
        q->metered = true;
        return 1;
    }
    throttled(r, q, SIPREG_REG_OUT_THROTTLED_BUDGET);
    return 0;
}

/* The transaction a reply is cached in, or NULL: only answers after authentication are kept
 * for retransmissions (the rest are cheap to rebuild, and keeping them would let spoofed
 * requests pin memory); the caller's transaction then ends when the request is done. */
static struct sipreg_nist *cache_txn(const struct sipreg_registrar *r, const struct req_ctx *q)
{
    return q->authed || r->cfg.no_auth ? q->txn : NULL;
}

static int begin_reply(struct sipreg_registrar *r, struct req_ctx *q, struct sipreg_buf *b,
                       char *mem, size_t cap, int status, const char *reason)
{
    char tagbuf[16], ip[SIPREG_NETADDR_STRLEN];
    sipreg_buf_init(b, mem, cap);
    struct sipreg_str rcv = received_of(q->via, q->src, ip, sizeof ip);
    int rport = q->via && q->via->rport >= 0 ? q->src->port : -1;
    int err =
        sipreg_msg_build_response(b, q->m, status, reason ? sipreg_str_z(reason) : SIPREG_STR_NULL,
                                  make_tag(r, tagbuf), rcv, rport);
    if (err)
        return err;
    sipreg_buf_addz(b, "Server: ");
    sipreg_buf_addz(b, r->server);
    sipreg_buf_addz(b, "\r\n");
    return 0;
}

/* A complete response with optional extra header lines (CRLF-terminated text). */
static int reply_simple(struct sipreg_registrar *r, struct req_ctx *q, int status,
                        const char *reason, const char *extra)
{
    struct sipreg_buf b;
    int err = begin_reply(r, q, &b, r->reply, sizeof r->reply, status, reason);
    if (err)
        return err;
    if (extra)
        sipreg_buf_addz(&b, extra);
    if (sipreg_msg_build_end(&b, NULL, 0) != 0)
        return SIPREG_ENOSPC;
    if (!may_reply(r, q, b.len))
        return SIPREG_EBUSY;
    struct sipreg_netaddr to;
    reply_dest(&to, q->via, q->src);
    return queue_reply(r, &b, &to, q->local, cache_txn(r, q), q->now);
}

/* Answers q with outcome o: the status and phrase of its row (`reason`, when not NULL, is the
 * phrase instead: a parse error's), `extra` header lines, and its event. */
static int answer(struct sipreg_registrar *r, struct req_ctx *q, enum sipreg_registrar_outcome o,
                  const char *reason, const char *extra, struct sipreg_str aor,
                  struct sipreg_str user)
{
    int status =
        o == SIPREG_REG_OUT_DOMAIN_NOT_SERVED ? r->cfg.unknown_domain_status : outcomes[o].status;
    const char *phrase = reason ? reason : outcomes[o].phrase;
    emit(r, o, status, phrase ? phrase : sipreg_status_reason(status), aor, SIPREG_STR_NULL, user,
         -1, q->src);
    return reply_simple(r, q, status, phrase, extra);
}

/* A 401 with a fresh nonce bound to the source. Never cached: a retransmission gets a new one. */
static int reply_challenge(struct sipreg_registrar *r, struct req_ctx *q, const struct dom *d,
                           bool stale)
{
    struct sipreg_buf b;
    int err = begin_reply(r, q, &b, r->reply, sizeof r->reply, 401, NULL);
    if (err)
        return err;
    err = sipreg_auth_challenge_build(&b, &d->auth, (struct sipreg_str){(char *)q->sk, q->sklen},
                                      q->wall_ms, stale);
    if (err)
        return err;
    if (sipreg_msg_build_end(&b, NULL, 0) != 0)
        return SIPREG_ENOSPC;
    if (!may_reply(r, q, b.len))
        return SIPREG_EBUSY;
    struct sipreg_netaddr to;
    reply_dest(&to, q->via, q->src);
    return queue_reply(r, &b, &to, q->local, NULL, q->now);
}

/* ---- binding keys ---- */

static void add_lower(struct sipreg_buf *b, struct sipreg_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        sipreg_buf_addc(b, (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c);
    }
}

int sipreg_registrar_binding_key(const struct sipreg_contact *c, struct sipreg_buf *out)
{
    if (c->instance.p) {
        /* RFC 5626 §6: with an instance, the binding is the instance (and reg-id) */
        sipreg_buf_addz(out, "instance:");
        sipreg_buf_adds(out, c->instance);
        if (c->reg_id >= 0) {
            sipreg_buf_addz(out, ";reg-id=");
            sipreg_buf_addu(out, (uint64_t)c->reg_id);
        }
        return sipreg_buf_status(out);
    }
    /* RFC 3261 §19.1.4, simplified: scheme and host case-insensitive, user and password exact,
     * the default port explicit, and the transport parameter (the other comparison-relevant
     * parameters are rare in Contacts) */
    const struct sipreg_uri *u = &c->addr.uri;
    if (u->scheme != SIPREG_URI_SIP && u->scheme != SIPREG_URI_SIPS) {
        add_lower(out, u->scheme_s);
        sipreg_buf_addc(out, ':');
        sipreg_buf_adds(out, u->scheme == SIPREG_URI_TEL ? u->user : u->opaque);
        return sipreg_buf_status(out);
    }
    sipreg_buf_addz(out, u->scheme == SIPREG_URI_SIPS ? "sips:" : "sip:");
    if (u->user.p) {
        sipreg_buf_adds(out, u->user);
        if (u->password.p) {
            sipreg_buf_addc(out, ':');
            sipreg_buf_adds(out, u->password);
        }
        sipreg_buf_addc(out, '@');
    }
    if (u->host_ipv6)
        sipreg_buf_addc(out, '[');
    add_lower(out, u->host);
    if (u->host_ipv6)
        sipreg_buf_addc(out, ']');
    sipreg_buf_addc(out, ':');
    sipreg_buf_addu(out, sipreg_uri_port(u));
    const struct sipreg_param *t = sipreg_params_find(&u->params, "transport");
    if (t && t->value.p) {
        sipreg_buf_addz(out, ";transport=");
        add_lower(out, t->value);
    }
    return sipreg_buf_status(out);
}

/* ---- REGISTER ---- */

struct require_ctx {
    char list[256]; /* for the Unsupported header; may be cut short */
    size_t n;
    bool unsupported;
};

static int check_require(struct sipreg_str tok, void *ud)
{
    struct require_ctx *c = ud;
    if (sipreg_str_caseeqz(tok, "path"))
        return 0;
    c->unsupported = true;
    /* collect what we do not support for the Unsupported header */
    if (c->n + tok.len + 2 < sizeof c->list) {
        if (c->n) {
            memcpy(c->list + c->n, ", ", 2);
            c->n += 2;
        }
        memcpy(c->list + c->n, tok.p, tok.len);
        c->n += tok.len;
    }
    return 0;
}

static int find_path_option(struct sipreg_str tok, void *ud)
{
    (void)ud;
    return sipreg_str_caseeqz(tok, "path") ? 1 : 0;
}

static int supports_path(struct sipreg_msg *m)
{
    for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, SIPREG_HDR_SUPPORTED); h;
         h = sipreg_msg_hdr_next(m, h))
        if (sipreg_token_list_foreach(h->value, find_path_option, NULL, NULL) == 1)
            return 1;
    return 0;
}

/* The Authorization credentials for `realm`, if any. 1 found, 0 none, <0 malformed. */
static int find_credentials(struct sipreg_msg *m, const char *realm, struct sipreg_auth *out)
{
    int malformed = 0;
    for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, SIPREG_HDR_AUTHORIZATION); h;
         h = sipreg_msg_hdr_next(m, h)) {
        if (sipreg_auth_parse(out, h->value, &m->lim, m->arena, NULL) != 0) {
            malformed = 1;
            continue;
        }
        if (sipreg_str_caseeqz(out->scheme, "Digest") && sipreg_str_caseeqz(out->realm, realm))
            return 1;
    }
    return malformed ? SIPREG_EPARSE : 0;
}

/* A refusal without verification: the source or user is in a failure slowdown. */
static int refuse(struct sipreg_registrar *r, struct req_ctx *q, enum sipreg_registrar_outcome o,
                  struct sipreg_str aor, struct sipreg_str user)
{
    if (!r->cfg.fail_silent)
        return answer(r, q, o, NULL, NULL, aor, user);
    emit(r, o, 0, outcomes[o].phrase, aor, SIPREG_STR_NULL, user, -1, q->src);
    return 0;
}

/* Authenticates the request for domain d. Returns 1 when authenticated (*user and *u set), 0
 * when a response was queued (challenge or rejection), <0 on local failure.
 *
 * What counts as a failure, and against what (the threat model is in docs/security.md):
 * - only a wrong answer to a genuine, fresh nonce that was sent to this source: anything else
 *   (no credentials, a forged nonce, a nonce drawn from another address, a stale one) may come
 *   from a forged source address and gets a fresh challenge, counted nowhere;
 * - such a failure counts for the source (its IPv4 address or IPv6 /64), the user (across all
 *   sources) and the user at that source;
 * - a source in a slowdown is refused only for users that failed from there, so a client behind
 *   the same NAT as a guesser still gets in; a user in a slowdown is refused unless this source
 *   is where it last succeeded with no failure since, so its own phone keeps refreshing. */
static int authenticate(struct sipreg_registrar *r, struct req_ctx *q, const struct dom *d,
                        struct sipreg_str aor, struct sipreg_str *user, struct sipreg_user *u)
{
    struct sipreg_auth cred;
    int found = find_credentials(q->m, d->realm, &cred);
    if (found <= 0) {
        emit(r, SIPREG_REG_OUT_CHALLENGED, 401,
             found < 0 ? "malformed credentials" : "no credentials", aor, SIPREG_STR_NULL,
             SIPREG_STR_NULL, -1, q->src);
        return reply_challenge(r, q, d, false);
    }
    *user = cred.username;

    /* the keys: realm and user (a long name is cut: a shared counter harms no one), and with
     * the source key for the pair */
    uint8_t ukey[600], pkey[600 + SIPREG_AUTH_BIND_MAX];
    size_t rl = strlen(d->realm), ul = cred.username.len < 256 ? cred.username.len : 256;
    if (rl > sizeof ukey - 258)
        rl = sizeof ukey - 258;
    memcpy(ukey, d->realm, rl);
    ukey[rl] = 0;
    if (ul)
        memcpy(ukey + rl + 1, cred.username.p, ul);
    size_t ukeylen = rl + 1 + ul;
    memcpy(pkey, ukey, ukeylen);
    pkey[ukeylen] = 0;
    memcpy(pkey + ukeylen + 1, q->sk, q->sklen);
    size_t pkeylen = ukeylen + 1 + q->sklen;

    /* the nonce first: one that proves nothing about the sender (forged, drawn elsewhere,
     * stale) gets a fresh challenge before any counter or the store is consulted */
    struct sipreg_auth_request areq = {q->m->method_s, q->m->ruri, q->m->body,
                                       (struct sipreg_str){(char *)q->sk, q->sklen}};
    struct sipreg_auth_nonce_info info;
    enum sipreg_auth_reason why = SIPREG_AUTH_REASON_OK;
    int err =
        sipreg_auth_verify_nonce(&d->auth, &cred, &areq, q->wall_ms, r->sh->tracker, &info, &why);
    if (err == SIPREG_ENONCE || err == SIPREG_ESTALE) {
        /* a stale nonce still proves the address it was sent to */
        q->proven = err == SIPREG_ESTALE;
        emit(r, SIPREG_REG_OUT_CHALLENGED, 401, sipreg_auth_reason_text(why), aor, SIPREG_STR_NULL,
             cred.username, -1, q->src);
        return reply_challenge(r, q, d, err == SIPREG_ESTALE);
    }
    if (err)
        return err;
    q->proven = true;

    if (!q->trusted && sipreg__limiter_blocked(r->sh->src_fail, q->sk, q->sklen, q->now) &&
        sipreg__limiter_failures(r->sh->pair_fail, pkey, pkeylen, q->now) > 0)
        return refuse(r, q, SIPREG_REG_OUT_SOURCE_REFUSED, aor, cred.username);
    if (sipreg__limiter_blocked(r->sh->user_fail, ukey, ukeylen, q->now) &&
        !sipreg__limiter_known_good(r->sh->pair_fail, pkey, pkeylen, q->now))
        return refuse(r, q, SIPREG_REG_OUT_USER_REFUSED, aor, cred.username);

    /* the stored HA1 for the hash family used, or a stand-in so that an unknown user costs the
     * same and gets the same answer */
    enum sipreg_auth_alg alg = SIPREG_AUTH_MD5;
    int alg_ok = sipreg_auth_alg_parse(cred.algorithm, &alg) == 0;
    char ha1buf[SIPREG_AUTH_HEX_MAX];
    struct sipreg_str ha1 = SIPREG_STR_NULL;
    int serr = SIPREG_ENOENT;
    if (cred.username.p && cred.username.len > 0)
        serr = sipreg_store_user_get(r->cfg.store, cred.username, sipreg_str_z(d->realm), &r->arena,
                                     u);
    if (serr != 0 && serr != SIPREG_ENOENT) {
        /* no answer about the credentials can be given: nothing is counted, and the client is
         * asked to come back (a stand-in HA1 would fail right passwords and lock users out) */
        return answer(r, q, SIPREG_REG_OUT_CREDENTIALS_UNAVAILABLE, NULL, "Retry-After: 5\r\n", aor,
                      cred.username);
    }
    if (serr == 0 && u->enabled) {
        switch (sipreg_auth_alg_base(alg)) {
        case SIPREG_AUTH_MD5: ha1 = u->ha1_md5; break;
        case SIPREG_AUTH_SHA256: ha1 = u->ha1_sha256; break;
        case SIPREG_AUTH_SHA512_256: ha1 = u->ha1_sha512_256; break;
        default: break;
        }
    }
    if (!ha1.p || ha1.len != sipreg_auth_alg_hexlen(alg)) {
        if (sipreg_auth_dummy_ha1(r->cfg.secret, alg_ok ? alg : SIPREG_AUTH_MD5, cred.username,
                                  sipreg_str_z(d->realm), ha1buf) != 0)
            return SIPREG_ECRYPTO;
        ha1 = sipreg_str_z(ha1buf);
    }
    err = sipreg_auth_verify_response(&d->auth, &cred, &areq, ha1, &info, r->sh->tracker, &why);
    if (err == 0) {
        /* failures are not forgiven by a success: a subscriber could otherwise interleave its
         * own logins with guesses at someone else's password */
        q->authed = true;
        sipreg__limiter_ok(r->sh->pair_fail, pkey, pkeylen, q->now);
        return 1;
    }
    if (err == SIPREG_ESTALE) { /* a count already used: a replay */
        emit(r, SIPREG_REG_OUT_CHALLENGED, 401, sipreg_auth_reason_text(why), aor, SIPREG_STR_NULL,
             cred.username, -1, q->src);
        return reply_challenge(r, q, d, true);
    }
    if (err != SIPREG_EAUTH)
        return err;
    int blocked = 0;
    if (!q->trusted)
        blocked |= sipreg__limiter_fail(r->sh->src_fail, q->sk, q->sklen, q->now);
    blocked |= sipreg__limiter_fail(r->sh->user_fail, ukey, ukeylen, q->now);
    (void)sipreg__limiter_fail(r->sh->pair_fail, pkey, pkeylen, q->now);
    emit(r, SIPREG_REG_OUT_AUTH_FAILED, 401, sipreg_auth_reason_text(why), aor, SIPREG_STR_NULL,
         cred.username, -1, q->src);
    if (blocked)
        emit(r, SIPREG_REG_OUT_SLOWED_DOWN, 0, outcomes[SIPREG_REG_OUT_SLOWED_DOWN].phrase, aor,
             SIPREG_STR_NULL, cred.username, -1, q->src);
    /* the same fresh challenge as for an unknown user or a first attempt */
    return reply_challenge(r, q, d, false);
}

/* The domain a user belongs to: the one its record names, else the one its realm names. */
static int user_in_domain(const struct sipreg_user *u, const struct dom *d)
{
    return sipreg_str_caseeqz(u->domain.p ? u->domain : u->realm, d->name);
}

static int aor_of(struct sipreg_buf *b, const struct sipreg_uri *u)
{
    sipreg_buf_addz(b, "sip:");
    sipreg_buf_adds(b, u->user);
    sipreg_buf_addc(b, '@');
    add_lower(b, u->host);
    return sipreg_buf_status(b);
}

static void add_binding_contact(struct sipreg_buf *b, const struct sipreg_binding *bd,
                                int64_t wall_s)
{
    int64_t left = bd->expires_at - wall_s;
    sipreg_buf_addz(b, "Contact: <");
    sipreg_buf_adds(b, bd->contact);
    sipreg_buf_addz(b, ">;expires=");
    sipreg_buf_addi(b, left > 0 ? left : 0);
    if (bd->q >= 0) {
        sipreg_buf_printf(b, ";q=%d.%03d", bd->q / 1000, bd->q % 1000);
    }
    if (bd->instance.p && bd->instance.len) {
        sipreg_buf_addz(b, ";+sip.instance=\"");
        sipreg_buf_adds(b, bd->instance);
        sipreg_buf_addc(b, '"');
    }
    if (bd->reg_id >= 0) {
        sipreg_buf_addz(b, ";reg-id=");
        sipreg_buf_addu(b, (uint64_t)bd->reg_id);
    }
    sipreg_buf_addz(b, "\r\n");
}

/* The rest of a 200 after its head: every current binding, Date, Path; 0 or SIPREG_ENOSPC. */
static int finish_ok(struct sipreg_buf *b, const struct sipreg_binding_list *list, int64_t wall_s,
                     int64_t wall_ms, struct sipreg_str path)
{
    for (size_t i = 0; i < list->n; i++)
        add_binding_contact(b, &list->v[i], wall_s);
    add_date(b, wall_ms);
    if (path.p) {
        sipreg_buf_addz(b, "Path: ");
        sipreg_buf_adds(b, path);
        sipreg_buf_addz(b, "\r\nSupported: path\r\n");
    }
    return sipreg_msg_build_end(b, NULL, 0) != 0 ? SIPREG_ENOSPC : 0;
}

#define PEND_MAX TXN_DEFAULT /* changes waiting for the store, per registrar */

/* Parks the change set of q: its job joins the pending list, with the head of its answer (what
 * the response copies from the request is bounded, see COPIED_MAX, so any answer fits). */
static int park(struct sipreg_registrar *r, struct req_ctx *q, struct sipreg_str aor,
                const struct sipreg_store_op *ops, size_t nops, struct sipreg_str path,
                struct sipreg_str user)
{
    if (r->npend >= PEND_MAX)
        return answer(r, q, SIPREG_REG_OUT_NO_TRANSACTION_ROOM, NULL, "Retry-After: 1\r\n", aor,
                      user);
    struct sipreg_buf b;
    int err = begin_reply(r, q, &b, r->reply, sizeof r->reply, 200, NULL);
    if (err)
        return err;
    const char *nl = memchr(b.p, '\n', b.len);
    if (!nl)
        return SIPREG_EINVAL;
    struct pend *p = sipreg_malloc(sizeof *p + b.len + path.len + user.len);
    if (!p)
        return SIPREG_ENOMEM;
    memset(p, 0, sizeof *p);
    struct sipreg_store_change ch = {aor, ops, nops};
    if (sipreg__wjob_new(&p->job, &ch, q->wall_ms / 1000, p) != 0) {
        sipreg_free(p);
        return SIPREG_ENOMEM;
    }
    char *cur = (char *)(p + 1);
    p->head = cur;
    memcpy(cur, b.p, b.len);
    cur += b.len;
    p->head_len = b.len;
    p->status_end = (size_t)(nl - b.p) + 1;
    p->path = sipreg__str_copy(path, &cur);
    p->user = sipreg__str_copy(user, &cur);
    p->wall_ms = q->wall_ms;
    p->src = *q->src;
    reply_dest(&p->to, q->via, q->src);
    if (q->local)
        p->local = *q->local;
    p->txn_id = q->txn ? sipreg_nist_id(q->txn) : 0;
    if (r->pend_tail)
        r->pend_tail->next = p;
    else
        r->pend_head = p;
    r->pend_tail = p;
    r->npend++;
    return 0;
}

/* Answers a parked change from its job's outcome: a 200 listing the bindings the change left,
 * or the error it met (ordering, limits, the store). */
static void complete(struct sipreg_registrar *r, struct pend *p, sipreg_time now)
{
    const struct sipreg__wjob *j = p->job;
    struct sipreg_str aor = j->change.aor;
    enum sipreg_registrar_outcome o;
    const char *extra = NULL;
    struct sipreg_buf b;
    bool quiet = false;
    switch (j->err) {
    case 0:
        sipreg_buf_init(&b, r->reply, sizeof r->reply);
        sipreg_buf_add(&b, p->head, p->head_len);
        if (finish_ok(&b, &j->list, j->now, p->wall_ms, p->path) == 0) {
            for (size_t i = 0; i < j->change.nops; i++) {
                const struct sipreg_store_op *op = &j->change.ops[i];
                if (op->kind == SIPREG_STORE_UPSERT)
                    emit(r, SIPREG_REG_OUT_REGISTERED, 200, "registered", aor, op->b.contact,
                         p->user, op->b.expires_at - j->now, &p->src);
                else
                    emit(r,
                         op->kind == SIPREG_STORE_REMOVE_ALL ? SIPREG_REG_OUT_ALL_REMOVED
                                                             : SIPREG_REG_OUT_UNREGISTERED,
                         200,
                         op->kind == SIPREG_STORE_REMOVE_ALL ? "all bindings removed"
                                                             : "unregistered",
                         aor, op->b.contact, p->user, 0, &p->src);
            }
            goto send;
        }
        /* not for changes made under the bounds of handle_register, but bindings stored
         * before those bounds may be larger: the change stays, answered by a 500 */
        emit(r, SIPREG_REG_OUT_RESPONSE_TOO_LARGE, 500, "response too large", aor, SIPREG_STR_NULL,
             p->user, -1, &p->src);
        quiet = true;
        o = SIPREG_REG_OUT_STORE_UNAVAILABLE;
        extra = "Retry-After: 5\r\n";
        break;
    case SIPREG_EORDER:
        /* (no "CSeq" in the phrase: some clients look for the first "CSeq" in a response) */
        o = SIPREG_REG_OUT_OUT_OF_ORDER;
        extra = "Retry-After: 1\r\n";
        break;
    case SIPREG_ELIMIT: o = SIPREG_REG_OUT_TOO_MANY_CONTACTS; break;
    case SIPREG_EINVAL: o = SIPREG_REG_OUT_INVALID_CONTACT; break;
    default: /* the store failed, or the commit did: the change is lost and the client retries */
        o = SIPREG_REG_OUT_STORE_UNAVAILABLE;
        extra = "Retry-After: 5\r\n";
        break;
    }
    int status = outcomes[o].status;
    const char *phrase = outcomes[o].phrase;
    if (!quiet)
        emit(r, o, status, phrase, aor, SIPREG_STR_NULL, p->user, -1, &p->src);
    sipreg_buf_init(&b, r->reply, sizeof r->reply);
    sipreg_buf_printf(&b, "SIP/2.0 %d %s\r\n", status, phrase);
    sipreg_buf_add(&b, p->head + p->status_end, p->head_len - p->status_end);
    if (extra)
        sipreg_buf_addz(&b, extra);
    if (sipreg_msg_build_end(&b, NULL, 0) != 0)
        return;
send:;
    struct sipreg_nist *txn = p->txn_id ? sipreg_nist_find(r->nist, p->txn_id) : NULL;
    (void)queue_reply(r, &b, &p->to, &p->local, txn, now);
}

/* Unlinks p from the pending list. */
static void pend_unlink(struct sipreg_registrar *r, struct pend *p)
{
    struct pend **pp = &r->pend_head, *prev = NULL;
    while (*pp != p) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    *pp = p->next;
    if (r->pend_tail == p)
        r->pend_tail = prev;
    r->npend--;
}

#define MAX_OPS 32

static int handle_register(struct sipreg_registrar *r, struct req_ctx *q)
{
    struct sipreg_msg *m = q->m;
    struct sipreg_perr why;
    const struct sipreg_uri *ru;
    struct sipreg_str none = SIPREG_STR_NULL;

    /* step 1: the Request-URI names a domain we serve (or one of our addresses) */
    if (sipreg_msg_ruri(m, &ru, &why) != 0)
        return answer(r, q, SIPREG_REG_OUT_MALFORMED_FIELD, sipreg_perr_reason(why.code), NULL,
                      none, none);
    if (ru->scheme != SIPREG_URI_SIP && ru->scheme != SIPREG_URI_SIPS)
        return answer(r, q, SIPREG_REG_OUT_URI_SCHEME, NULL, NULL, none, none);
    if (!domain_of(r, ru->host) && !host_is_local(r, ru))
        return answer(r, q, SIPREG_REG_OUT_DOMAIN_NOT_SERVED, NULL, NULL, none, none);

    /* step 2: Require */
    struct require_ctx rq = {.n = 0};
    for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, SIPREG_HDR_REQUIRE); h;
         h = sipreg_msg_hdr_next(m, h))
        if (sipreg_token_list_foreach(h->value, check_require, &rq, &why) != 0)
            return answer(r, q, SIPREG_REG_OUT_MALFORMED_FIELD, sipreg_perr_reason(why.code), NULL,
                          none, none);
    if (rq.unsupported) {
        char extra[300];
        snprintf(extra, sizeof extra, "Unsupported: %.*s\r\n", (int)rq.n, rq.list);
        return answer(r, q, SIPREG_REG_OUT_UNSUPPORTED, NULL, extra, none, none);
    }

    /* step 3: the address-of-record, from To; From must be well-formed too */
    const struct sipreg_addr *to, *from;
    if (sipreg_msg_to(m, &to, &why) != 0 || sipreg_msg_from(m, &from, &why) != 0)
        return answer(r, q, SIPREG_REG_OUT_MALFORMED_FIELD, sipreg_perr_reason(why.code), NULL,
                      none, none);
    if (to->uri.scheme != SIPREG_URI_SIP && to->uri.scheme != SIPREG_URI_SIPS)
        return answer(r, q, SIPREG_REG_OUT_TO_NOT_AOR, NULL, NULL, none, none);
    if (!to->uri.user.p || to->uri.user.len == 0)
        return answer(r, q, SIPREG_REG_OUT_AOR_WITHOUT_USER, NULL, NULL, none, none);
    const struct dom *d = domain_of(r, to->uri.host);
    if (!d)
        return answer(r, q, SIPREG_REG_OUT_DOMAIN_NOT_SERVED, NULL, NULL, none, to->uri.user);
    char aorbuf[512];
    struct sipreg_buf ab;
    sipreg_buf_init(&ab, aorbuf, sizeof aorbuf);
    if (aor_of(&ab, &to->uri) != 0)
        return answer(r, q, SIPREG_REG_OUT_AOR_TOO_LONG, NULL, NULL, none, none);
    struct sipreg_str aor = {aorbuf, ab.len};

    /* steps 4-5: authentication and authorization */
    struct sipreg_str user = SIPREG_STR_NULL;
    if (!r->cfg.no_auth) {
        struct sipreg_user u;
        int rc = authenticate(r, q, d, aor, &user, &u);
        if (rc <= 0)
            return rc;
        /* a user registers its own AOR, in its own domain */
        if (!r->cfg.allow_third_party &&
            (!sipreg_str_eq(user, to->uri.user) || !user_in_domain(&u, d)))
            return answer(r, q, SIPREG_REG_OUT_NOT_ALLOWED, NULL, NULL, aor, user);
    }

    /* step 6: Contacts and their expiry */
    struct sipreg_contact *contacts;
    if (sipreg_msg_contacts(m, &contacts, &why) != 0)
        return answer(r, q, SIPREG_REG_OUT_MALFORMED_FIELD, sipreg_perr_reason(why.code), NULL, aor,
                      user);
    int64_t hdr_expires = -1;
    const struct sipreg_hdr *eh = sipreg_msg_hdr_find(m, SIPREG_HDR_EXPIRES);
    if (eh) {
        uint32_t v;
        if (sipreg_uint_parse(&v, eh->value, UINT32_MAX, NULL) != 0) {
            /* all digits but too large is taken as the largest value (RFC 3261 §20.19) */
            struct sipreg_str t = eh->value;
            size_t k = 0;
            while (k < t.len && t.p[k] >= '0' && t.p[k] <= '9')
                k++;
            if (k == 0 || k != t.len)
                return answer(r, q, SIPREG_REG_OUT_BAD_EXPIRES, NULL, NULL, aor, user);
            v = UINT32_MAX;
        }
        hdr_expires = v;
    }

    struct sipreg_store_op ops[MAX_OPS];
    size_t nops = 0;
    char keys[MAX_OPS][256];
    int64_t wall_s = q->wall_ms / 1000;
    char srcbuf[SIPREG_NETADDR_STRLEN];
    size_t srclen = sipreg_netaddr_format(q->src, srcbuf, sizeof srcbuf);
    static const char *const tnames[] = {"udp", "tcp", "tls"};
    struct sipreg_str transport = sipreg_str_z(tnames[q->src->transport % 3]);
    const struct sipreg_hdr *ua = sipreg_msg_hdr_find(m, SIPREG_HDR_USER_AGENT);
    char pathbuf[1024];
    struct sipreg_str path = SIPREG_STR_NULL;
    if (sipreg_msg_hdr_find(m, SIPREG_HDR_PATH) && supports_path(m)) {
        struct sipreg_buf pb;
        sipreg_buf_init(&pb, pathbuf, sizeof pathbuf);
        for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, SIPREG_HDR_PATH); h;
             h = sipreg_msg_hdr_next(m, h)) {
            if (pb.len)
                sipreg_buf_addz(&pb, ", ");
            sipreg_buf_adds(&pb, h->value);
        }
        if (sipreg_buf_status(&pb) != 0)
            return answer(r, q, SIPREG_REG_OUT_PATH_TOO_LONG, NULL, NULL, aor, user);
        path = (struct sipreg_str){pathbuf, pb.len};
    }

    /* what a response copies from the request is bounded before anything is written, so that
     * the answer to a change can always be built (see COPIED_MAX) */
    size_t copied = 0;
    for (size_t i = 0; i < m->nhdr; i++) {
        enum sipreg_hdr_id id = m->hdr[i].id;
        if (id == SIPREG_HDR_VIA || id == SIPREG_HDR_FROM || id == SIPREG_HDR_TO ||
            id == SIPREG_HDR_CALL_ID || id == SIPREG_HDR_CSEQ)
            copied += m->hdr[i].value.len + 16;
    }
    if (copied > COPIED_MAX)
        return answer(r, q, SIPREG_REG_OUT_MESSAGE_TOO_LARGE, NULL, NULL, aor, user);

    int star = 0;
    for (struct sipreg_contact *c = contacts; c; c = c->next) {
        star |= c->star;
        if (!c->star && (c->addr.uri.raw.len > CONTACT_MAX || c->instance.len > INSTANCE_MAX))
            return answer(r, q, SIPREG_REG_OUT_CONTACT_TOO_LONG, NULL, NULL, aor, user);
    }
    if (star) {
        /* Contact: * only alone and only with Expires: 0 */
        if (contacts->next || hdr_expires != 0)
            return answer(r, q, SIPREG_REG_OUT_BAD_WILDCARD, NULL, NULL, aor, user);
        ops[nops++] = (struct sipreg_store_op){
            SIPREG_STORE_REMOVE_ALL,
            {.call_id = m->call_id, .cseq = m->cseq.num, .q = -1, .reg_id = -1}};
    } else {
        for (struct sipreg_contact *c = contacts; c; c = c->next) {
            if (nops == MAX_OPS)
                return answer(r, q, SIPREG_REG_OUT_TOO_MANY_CONTACTS, NULL, NULL, aor, user);
            int64_t exp = c->expires >= 0    ? c->expires
                          : hdr_expires >= 0 ? hdr_expires
                                             : r->cfg.default_expires;
            if (exp > 0 && exp < r->cfg.min_expires) {
                char extra[64];
                snprintf(extra, sizeof extra, "Min-Expires: %u\r\n", r->cfg.min_expires);
                return answer(r, q, SIPREG_REG_OUT_INTERVAL_TOO_BRIEF, NULL, extra, aor, user);
            }
            if (exp > r->cfg.max_expires)
                exp = r->cfg.max_expires;
            struct sipreg_buf kb;
            sipreg_buf_init(&kb, keys[nops], sizeof keys[nops]);
            if (sipreg_registrar_binding_key(c, &kb) != 0)
                return answer(r, q, SIPREG_REG_OUT_CONTACT_TOO_LONG, NULL, NULL, aor, user);
            struct sipreg_store_op *op = &ops[nops++];
            memset(op, 0, sizeof *op);
            op->kind = exp > 0 ? SIPREG_STORE_UPSERT : SIPREG_STORE_REMOVE;
            op->b.key = (struct sipreg_str){keys[nops - 1], kb.len};
            op->b.contact = c->addr.uri.raw;
            op->b.expires_at = wall_s + exp;
            op->b.q = c->q;
            op->b.call_id = m->call_id;
            op->b.cseq = m->cseq.num;
            op->b.source = (struct sipreg_str){srcbuf, srclen};
            op->b.transport = transport;
            op->b.path = path.p ? path : SIPREG_STR_LIT("");
            op->b.instance = c->instance;
            op->b.reg_id = c->reg_id >= 0 ? (int32_t)c->reg_id : -1;
            op->b.user_agent = ua ? ua->value : SIPREG_STR_NULL;
        }
    }

    /* without authentication (no_auth mode) the reply is metered: decide before changing
     * anything, so that a dropped reply never leaves a change behind */
    if (!may_reply(r, q, 0))
        return SIPREG_EBUSY;
    /* a change is decided here, made durable by the store's writer (or at flush), and
     * answered then, from the bindings it left */
    if (nops)
        return park(r, q, aor, ops, nops, path, user);

    /* a query: the current bindings, read now */
    struct sipreg_binding_list list;
    int err = sipreg_store_lookup(r->cfg.store, aor, wall_s, &r->arena, &list);
    if (err)
        return answer(r, q, SIPREG_REG_OUT_STORE_UNAVAILABLE, NULL, "Retry-After: 5\r\n", aor,
                      user);
    struct sipreg_netaddr dst;
    reply_dest(&dst, q->via, q->src);
    struct sipreg_buf b;
    err = begin_reply(r, q, &b, r->reply, sizeof r->reply, 200, NULL);
    if (err == 0)
        err = finish_ok(&b, &list, wall_s, q->wall_ms, path);
    if (err)
        return answer(r, q, SIPREG_REG_OUT_RESPONSE_TOO_LARGE, NULL, NULL, aor, user);
    emit(r, SIPREG_REG_OUT_QUERY, 200, "query", aor, SIPREG_STR_NULL, user, -1, q->src);
    return queue_reply(r, &b, &dst, q->local, q->txn, q->now);
}

static int handle_options(struct sipreg_registrar *r, struct req_ctx *q)
{
    return reply_simple(r, q, 200, NULL,
                        "Allow: REGISTER, OPTIONS\r\nAccept: application/sdp\r\n"
                        "Supported: path\r\n");
}

/* ---- entry points ---- */

int sipreg_registrar_receive(struct sipreg_registrar *r, const char *buf, size_t len,
                             const struct sipreg_netaddr *src, const struct sipreg_netaddr *local,
                             sipreg_time now, int64_t wall_ms)
{
    struct sipreg_msg m;
    struct sipreg_perr why;
    sipreg_arena_reset(&r->arena);
    struct req_ctx q = {
        .m = &m, .src = src, .local = local, .now = now, .wall_ms = wall_ms, .len = len};
    q.sklen = sipreg_auth_bind_addr(src, q.sk);
    for (size_t i = 0; i < r->cfg.ntrusted && !q.trusted; i++)
        q.trusted = sipreg_cidr_match(&r->trusted[i], src);
    r->now = now;
    int err = sipreg_msg_parse(&m, buf, len,
                               src->transport == SIPREG_TRANSPORT_UDP ? SIPREG_MSG_DATAGRAM
                                                                      : SIPREG_MSG_STREAM,
                               NULL, &r->arena, &why);
    if (err) {
        emit(r, SIPREG_REG_OUT_MALFORMED, 0, sipreg_perr_reason(why.code), SIPREG_STR_NULL,
             SIPREG_STR_NULL, SIPREG_STR_NULL, -1, src);
        /* answer a malformed request when the headers indexed before the fault allow a
         * response to be built (the builder refuses when Via, From, To, Call-ID or CSeq is
         * missing); never answer a malformed response or an ACK */
        if (!m.is_request || m.method == SIPREG_METHOD_ACK)
            return 0;
        if (sipreg_msg_via(&m, &q.via, NULL) != 0)
            return 0;
        return reply_simple(r, &q, sipreg_perr_status(why.code), sipreg_perr_reason(why.code),
                            NULL) == SIPREG_ENOMEM
                   ? SIPREG_ENOMEM
                   : 0;
    }
    if (!m.is_request || m.method == SIPREG_METHOD_ACK)
        return 0; /* responses and ACKs are not for a registrar */
    if (sipreg_msg_via(&m, &q.via, &why) != 0) {
        emit(r, SIPREG_REG_OUT_MALFORMED, 0, sipreg_perr_reason(why.code), SIPREG_STR_NULL,
             SIPREG_STR_NULL, SIPREG_STR_NULL, -1, src);
        return 0; /* no usable Via: nowhere to send a response */
    }
    struct sipreg_str cached;
    int match = sipreg_nist_receive(r->nist, &m, src, now, &q.txn, &cached);
    if (match == SIPREG_NIST_ABSORB)
        return 0;
    if (match == SIPREG_NIST_REPLAY) {
        /* the cached response goes back only to where the request first came from: anyone can
         * resend a captured request from a spoofed address to draw it again. Only answers after
         * authentication are cached (the source proved itself then), and the transaction
         * bounds how many times (no_auth mode keeps everything, and meters it) */
        if (!sipreg_netaddr_eq(src, sipreg_nist_source(q.txn)) ||
            (r->cfg.no_auth && !may_reply(r, &q, 0)))
            return 0;
        struct outmsg *o = outbox_push(r);
        if (!o)
            return 0;
        o->data = sipreg_malloc(cached.len);
        if (!o->data) {
            r->out_n--;
            return SIPREG_ENOMEM;
        }
        memcpy(o->data, cached.p, cached.len);
        o->len = cached.len;
        reply_dest(&o->to, q.via, src);
        if (local)
            o->local = *local;
        return 0;
    }
    if (match == SIPREG_ENOMEM)
        return SIPREG_ENOMEM;
    if (match == SIPREG_EPARSE) {
        /* From or To is malformed: answer statelessly */
        q.txn = NULL;
        return answer(r, &q, SIPREG_REG_OUT_MALFORMED_FROM_TO, NULL, NULL, SIPREG_STR_NULL,
                      SIPREG_STR_NULL) == SIPREG_ENOMEM
                   ? SIPREG_ENOMEM
                   : 0;
    }
    if (match == SIPREG_ELIMIT) {
        /* no room for another transaction: answer statelessly and let the client retry */
        q.txn = NULL;
        return answer(r, &q, SIPREG_REG_OUT_NO_TRANSACTION_ROOM, NULL, "Retry-After: 1\r\n",
                      SIPREG_STR_NULL, SIPREG_STR_NULL) == SIPREG_ENOMEM
                   ? SIPREG_ENOMEM
                   : 0;
    }
    if (match < 0)
        q.txn = NULL; /* INVITE and the like: no non-INVITE transaction, answered statelessly */
    switch (m.method) {
    case SIPREG_METHOD_REGISTER: err = handle_register(r, &q); break;
    case SIPREG_METHOD_OPTIONS: err = handle_options(r, &q); break;
    default:
        err = answer(r, &q, SIPREG_REG_OUT_METHOD_NOT_ALLOWED, NULL, "Allow: REGISTER, OPTIONS\r\n",
                     SIPREG_STR_NULL, SIPREG_STR_NULL);
        break;
    }
    if (q.txn && (err || !cache_txn(r, &q))) {
        /* nothing was cached for this transaction: forget it so that a retransmission is
         * processed again (a new challenge, or another try after an error) */
        sipreg_nist_abandon(r->nist, q.txn);
    }
    return err == SIPREG_ENOMEM || err == SIPREG_ESTORE ? err : 0;
}

int sipreg_registrar_flush(struct sipreg_registrar *r, sipreg_time now)
{
    /* without a writer: apply every parked change to the store, one commit for them all
     * (group commit), then answer each */
    bool any = false;
    for (struct pend *p = r->pend_head; p; p = p->next) {
        if (p->taken)
            continue;
        sipreg_arena_reset(&r->arena);
        (void)sipreg__wjob_apply(p->job, r->cfg.store, &r->arena);
        any = true;
    }
    if (!any)
        return 0;
    int err = sipreg_store_commit(r->cfg.store);
    for (struct pend *p = r->pend_head, *next; p; p = next) {
        next = p->next;
        if (p->taken)
            continue;
        if (err && p->job->err == 0)
            sipreg__wjob_fail(p->job, err); /* rolled back with the batch */
        complete(r, p, now);
        pend_unlink(r, p);
        sipreg__wjob_free(p->job);
        sipreg_free(p);
    }
    return err;
}

void sipreg__registrar_use_writer(struct sipreg_registrar *r)
{
    r->writer = true;
}

struct sipreg__wjob *sipreg__registrar_take_jobs(struct sipreg_registrar *r)
{
    struct sipreg__wjob *head = NULL, **tail = &head;
    r->writer = true;
    for (struct pend *p = r->pend_head; p; p = p->next) {
        if (p->taken)
            continue;
        p->taken = true;
        p->job->next = NULL;
        *tail = p->job;
        tail = &p->job->next;
    }
    return head;
}

void sipreg__registrar_complete(struct sipreg_registrar *r, struct sipreg__wjob *j, sipreg_time now)
{
    struct pend *p = j->ud;
    complete(r, p, now);
    pend_unlink(r, p);
    sipreg__wjob_free(j);
    sipreg_free(p);
}

size_t sipreg__registrar_pending(const struct sipreg_registrar *r)
{
    return r->npend;
}

int sipreg_registrar_pull(struct sipreg_registrar *r, char *out, size_t cap, size_t *n,
                          struct sipreg_netaddr *to, struct sipreg_netaddr *local)
{
    if (!r->out_n)
        return SIPREG_ENOENT;
    struct outmsg *o = &r->outbox[r->out_head];
    if (o->len > cap)
        return SIPREG_ENOSPC;
    memcpy(out, o->data, o->len);
    *n = o->len;
    *to = o->to;
    if (local)
        *local = o->local;
    outmsg_free(o);
    r->out_head = (r->out_head + 1) % OUTBOX_MAX;
    r->out_n--;
    return 0;
}

int sipreg_registrar_timeout(struct sipreg_registrar *r, sipreg_time now, int64_t wall_ms)
{
    sipreg_nist_timeout(r->nist, now);
    if (!r->writer && now >= r->next_purge) {
        size_t purged = 0;
        int err = sipreg_store_expire(r->cfg.store, wall_ms / 1000, PURGE_ROWS, &purged);
        int cerr = sipreg_store_commit(r->cfg.store);
        if (!err)
            err = cerr;
        r->next_purge = now + PURGE_EVERY;
        return err;
    }
    return 0;
}

sipreg_time sipreg_registrar_next_timeout(const struct sipreg_registrar *r)
{
    sipreg_time t = sipreg_nist_next_timeout(r->nist);
    if (!r->writer && (t < 0 || t > r->next_purge)) /* a writer purges: no purge timer here */
        t = r->next_purge;
    return t;
}

void sipreg_registrar_destroy(struct sipreg_registrar *r)
{
    if (!r)
        return;
    while (r->out_n) {
        outmsg_free(&r->outbox[r->out_head]);
        r->out_head = (r->out_head + 1) % OUTBOX_MAX;
        r->out_n--;
    }
    for (struct pend *p = r->pend_head, *next; p; p = next) {
        next = p->next;
        if (!p->taken) /* a taken job is the writer's: its driver frees it */
            sipreg__wjob_free(p->job);
        sipreg_free(p);
    }
    if (r->doms)
        for (size_t i = 0; i < r->cfg.ndomains; i++) {
            sipreg_free(r->doms[i].name);
            sipreg_free(r->doms[i].realm);
        }
    sipreg_free(r->doms);
    sipreg_free(r->local);
    sipreg_free(r->trusted);
    sipreg_free(r->server);
    sipreg_registrar_shared_destroy(r->own);
    sipreg_nist_table_destroy(r->nist);
    sipreg_free(r->arena_mem);
    sipreg_free(r);
}

static int shared_make(struct sipreg_registrar_shared **out, const struct sipreg_registrar_cfg *c,
                       int parts);

/* The limits and replay state this registrar uses: its own, the shared object's, or with
 * source_local its own per-source part beside the shared per-user part. */
static int make_state(struct sipreg_registrar *r, const struct sipreg_registrar_cfg *c)
{
    int err = 0;
    if (!c->shared || c->source_local) {
        err = shared_make(&r->own, c, c->shared ? PART_SOURCE : PART_SOURCE | PART_USER);
        if (err)
            return err;
        r->view = *r->own;
    }
    if (c->shared) {
        if (!c->source_local)
            r->view = *c->shared;
        r->view.user_fail = c->shared->user_fail;
    }
    /* a shared object made for source_local registrars lacks the per-source part */
    if (!r->view.src_fail || !r->view.pair_fail || !r->view.user_fail)
        return SIPREG_EINVAL;
    r->sh = &r->view;
    return 0;
}

/* Each domain's realm (its policy's, else cfg->realm, else its name) and algorithms (its
 * policy's, else cfg->algs, else the auth default), and its digest settings. */
static int make_domains(struct sipreg_registrar *r, const struct sipreg_registrar_cfg *c)
{
    if (c->nalgs > 4 || (c->nalgs && !c->algs) || (c->ndomain_policy && !c->domain_policy))
        return SIPREG_EINVAL;
    for (size_t k = 0; k < c->ndomain_policy; k++) {
        const struct sipreg_registrar_domain *p = &c->domain_policy[k];
        size_t i = 0;
        while (i < c->ndomains && strcasecmp(p->name ? p->name : "", c->domains[i]) != 0)
            i++;
        if (i == c->ndomains || p->nalgs > 4 || (p->nalgs && !p->algs))
            return SIPREG_EINVAL; /* a policy for a domain not served is a configuration error */
    }
    r->doms = sipreg_calloc(c->ndomains, sizeof *r->doms);
    if (!r->doms)
        return SIPREG_ENOMEM;
    for (size_t i = 0; i < c->ndomains; i++) {
        struct dom *d = &r->doms[i];
        const struct sipreg_registrar_domain *p = NULL;
        for (size_t k = 0; k < c->ndomain_policy; k++)
            if (strcasecmp(c->domain_policy[k].name, c->domains[i]) == 0)
                p = &c->domain_policy[k];
        const char *realm = p && p->realm ? p->realm : c->realm ? c->realm : c->domains[i];
        d->name = dupz(c->domains[i]);
        d->realm = dupz(realm);
        if (!d->name || !d->realm)
            return SIPREG_ENOMEM;
        const enum sipreg_auth_alg *algs = p && p->nalgs ? p->algs : c->algs;
        size_t nalgs = p && p->nalgs ? p->nalgs : c->nalgs;
        d->auth = (struct sipreg_auth_server_cfg){
            .realm = sipreg_str_z(d->realm),
            .secret = c->secret,
            .nonce_lifetime = c->nonce_lifetime,
            .epoch = r->sh->tracker ? sipreg_auth_tracker_epoch(r->sh->tracker) : 0,
        };
        if (nalgs) {
            memcpy(d->algs, algs, nalgs * sizeof *d->algs);
            d->auth.algs = d->algs;
            d->auth.nalgs = nalgs;
        }
    }
    return 0;
}

int sipreg_registrar_create(struct sipreg_registrar **out, const struct sipreg_registrar_cfg *cfg)
{
    if (!cfg || !cfg->domains || !cfg->ndomains || !cfg->store || (!cfg->no_auth && !cfg->secret))
        return SIPREG_EINVAL;
    if (cfg->unknown_domain_status && cfg->unknown_domain_status != 403 &&
        cfg->unknown_domain_status != 404)
        return SIPREG_EINVAL;
    struct sipreg_registrar *r = sipreg_calloc(1, sizeof *r);
    if (!r)
        return SIPREG_ENOMEM;
    r->cfg = *cfg;
    struct sipreg_registrar_cfg *c = &r->cfg;
    if (!c->unknown_domain_status)
        c->unknown_domain_status = 404;
    if (!c->min_expires)
        c->min_expires = 60;
    if (!c->max_expires)
        c->max_expires = 7200;
    if (!c->default_expires)
        c->default_expires = 3600;
    if (c->default_expires > c->max_expires)
        c->default_expires = c->max_expires;
    if (c->min_expires > c->max_expires) {
        sipreg_free(r);
        return SIPREG_EINVAL;
    }
    if (!c->nonce_lifetime)
        c->nonce_lifetime = 300000;
    if (!c->fail_limit_source)
        c->fail_limit_source = 20;
    if (!c->fail_limit_user)
        c->fail_limit_user = 10;
    if (!c->fail_window)
        c->fail_window = 60000;
    if (!c->fail_cooldown)
        c->fail_cooldown = 300000;
    int err = SIPREG_ENOMEM;
    if (c->nlocal) {
        r->local = sipreg_calloc(c->nlocal, sizeof *r->local);
        if (!r->local)
            goto fail;
        memcpy(r->local, c->local, c->nlocal * sizeof *r->local);
    }
    if (c->ntrusted) {
        if (!c->trusted) {
            err = SIPREG_EINVAL;
            goto fail;
        }
        r->trusted = sipreg_calloc(c->ntrusted, sizeof *r->trusted);
        if (!r->trusted)
            goto fail;
        memcpy(r->trusted, c->trusted, c->ntrusted * sizeof *r->trusted);
    }
    c->local = NULL;
    c->trusted = NULL; /* the copies above are what count */
    r->server = dupz(c->server ? c->server : "sipreg");
    r->arena_mem = sipreg_malloc(ARENA_SIZE);
    if (!r->server || !r->arena_mem)
        goto fail;
    sipreg_arena_init(&r->arena, r->arena_mem, ARENA_SIZE);
    err = make_state(r, c);
    if (err)
        goto fail;
    err = make_domains(r, c);
    if (err)
        goto fail;
    /* the copies in r->doms are what count */
    c->domains = NULL;
    c->domain_policy = NULL;
    c->algs = NULL;
    c->realm = c->server = NULL;
    /* a change waits in its transaction until the writer has committed it: room for a storm's
     * queue (the slots are taken as used, a few MB at most) */
    struct sipreg_nist_cfg ncfg = {.capacity = c->txn_capacity ? c->txn_capacity : TXN_DEFAULT,
                                   .max_response = SIPREG_NIST_MAX_RESP};
    err = sipreg_nist_table_create(&r->nist, &ncfg);
    if (err)
        goto fail;
    if (RAND_bytes(r->tag_key, sizeof r->tag_key) != 1) {
        err = SIPREG_ECRYPTO;
        goto fail;
    }
    *out = r;
    return 0;
fail:
    r->cfg.ndomains = r->doms ? c->ndomains : 0;
    sipreg_registrar_destroy(r);
    return err;
}

void sipreg_registrar_shared_destroy(struct sipreg_registrar_shared *sh)
{
    if (!sh)
        return;
    sipreg_auth_tracker_destroy(sh->tracker);
    sipreg__limiter_destroy(sh->src_fail);
    sipreg__limiter_destroy(sh->user_fail);
    sipreg__limiter_destroy(sh->pair_fail);
    sipreg__buckets_destroy(sh->replies);
    sipreg_free(sh);
}

int sipreg_registrar_shared_create(struct sipreg_registrar_shared **out,
                                   const struct sipreg_registrar_cfg *c)
{
    return shared_make(out, c, c->source_local ? PART_USER : PART_SOURCE | PART_USER);
}

static int shared_make(struct sipreg_registrar_shared **out, const struct sipreg_registrar_cfg *c,
                       int parts)
{
    struct sipreg_registrar_shared *sh = sipreg_calloc(1, sizeof *sh);
    if (!sh)
        return SIPREG_ENOMEM;
    int err = 0;
    bool src = parts & PART_SOURCE;
    if (src && !c->no_auth)
        err = sipreg_auth_tracker_create(&sh->tracker,
                                         c->tracker_capacity ? c->tracker_capacity : 65536);
    sipreg_time window = c->fail_window ? c->fail_window : 60000;
    sipreg_time cooldown = c->fail_cooldown ? c->fail_cooldown : 300000;
    if (!err && src)
        err = sipreg__limiter_create(&sh->src_fail, 16384,
                                     c->fail_limit_source ? c->fail_limit_source : 20, window,
                                     cooldown, 0);
    if (!err && (parts & PART_USER))
        err = sipreg__limiter_create(&sh->user_fail, 16384,
                                     c->fail_limit_user ? c->fail_limit_user : 10, window, cooldown,
                                     0);
    /* a user at a source: its failures (within a cooldown) and its last success; its own limit
     * never matters */
    if (!err && src)
        err =
            sipreg__limiter_create(&sh->pair_fail, 65536, UINT32_MAX, cooldown, cooldown, GOOD_TTL);
    if (!err && src && !c->reply_unlimited)
        err = sipreg__buckets_create(&sh->replies, 16384, c->reply_rate ? c->reply_rate : 100,
                                     c->reply_burst ? c->reply_burst : 200);
    if (err) {
        sipreg_registrar_shared_destroy(sh);
        return err;
    }
    *out = sh;
    return 0;
}
