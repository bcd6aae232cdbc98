/* libFuzzer target: the message layer's fast paths against its general code (src/msg). */
/* Each input is run through the parser, every accessor and the element parsers twice, with the
 * fast paths on and then forced off (sipreg__msg_general_only), in several modes: datagram with
 * default limits and a roomy arena, with small limits and an arena the input's length sizes,
 * with a 300-byte arena, and stream framing with default and small limits; the element parsers
 * also read the whole input as one value. Everything they expose is written to a record as
 * text, slices as offsets into the input, and the two records must be the same: the first
 * difference is printed and aborts, so that the fuzzer keeps the input. In a build without the
 * fast paths both runs take the general code, and the target only replays. */
#include <stdarg.h>
#include <string.h>

#include "fuzz.h"
#include "msg/msg_int.h"

/* One run's record: text lines "field=value", slices as @offset+length into the input. */
struct rec {
    char *p;
    size_t len, cap;
    const char *base; /* the input */
    size_t size;
};

static void put(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct rec *r, const char *fmt, ...)
{
    if (!r->p) {
        FUZZ_CHECK((r->p = malloc(r->cap = 1 << 16)) != NULL);
        r->len = 0;
    }
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(r->p + r->len, r->cap - r->len, fmt, ap);
        va_end(ap);
        FUZZ_CHECK(n >= 0);
        if ((size_t)n < r->cap - r->len) {
            r->len += (size_t)n;
            return;
        }
        size_t cap = r->cap * 2;
        while (cap - r->len <= (size_t)n)
            cap *= 2;
        char *np = realloc(r->p, cap);
        FUZZ_CHECK(np != NULL);
        r->p = np;
        r->cap = cap;
    }
}

/* A slice: absent, inside the input (by offset), or elsewhere (by content: present() gives
 * absent slices a literal ""). */
static void put_str(struct rec *r, const char *pre, const char *name, struct sipreg_str s)
{
    uintptr_t b = (uintptr_t)r->base, q = (uintptr_t)s.p;
    if (!s.p)
        put(r, "%s%s=absent\n", pre, name);
    else if (q >= b && q - b <= r->size && s.len <= r->size - (q - b))
        put(r, "%s%s=@%zu+%zu\n", pre, name, (size_t)(q - b), s.len);
    else
        put(r, "%s%s=ext\"%.*s\"\n", pre, name, (int)s.len, s.p);
}

static void put_err(struct rec *r, const char *pre, int err, const struct sipreg_perr *why)
{
    if (err == SIPREG_EPARSE || err == SIPREG_ENOMEM)
        put(r, "%serr=%d code=%d offset=%zu\n", pre, err, (int)why->code, why->offset);
    else
        put(r, "%serr=%d\n", pre, err);
}

static void put_params(struct rec *r, const char *pre, const char *name,
                       const struct sipreg_params *ps)
{
    /* the names the library and its callers look up, each in the spelling they use */
    static const char *const look[] = {
        "tag", "branch", "received",      "rport",     "maddr", "ttl",  "expires",
        "q",   "reg-id", "+sip.instance", "transport", "lr",    "user", "ob"};
    char sub[96];
    put(r, "%s%s.n=%zu\n", pre, name, ps->n);
    for (size_t i = 0; i < ps->n; i++) {
        snprintf(sub, sizeof sub, "%s%s[%zu].", pre, name, i);
        put_str(r, sub, "name", ps->v[i].name);
        put_str(r, sub, "value", ps->v[i].value);
    }
    for (size_t k = 0; k < sizeof look / sizeof look[0]; k++) {
        const struct sipreg_param *f = sipreg_params_find(ps, look[k]);
        put(r, "%s%s.find(%s)=%td\n", pre, name, look[k], f ? f - ps->v : (ptrdiff_t)-1);
    }
}

static void put_uri(struct rec *r, const char *pre, const struct sipreg_uri *u)
{
    put(r, "%suri.scheme=%d port=%u ipv6=%d\n", pre, (int)u->scheme, (unsigned)u->port,
        (int)u->host_ipv6);
    put_str(r, pre, "uri.raw", u->raw);
    put_str(r, pre, "uri.scheme_s", u->scheme_s);
    put_str(r, pre, "uri.user", u->user);
    put_str(r, pre, "uri.password", u->password);
    put_str(r, pre, "uri.host", u->host);
    put_str(r, pre, "uri.opaque", u->opaque);
    put_params(r, pre, "uri.params", &u->params);
    put_params(r, pre, "uri.headers", &u->headers);
}

static void put_addr(struct rec *r, const char *pre, const struct sipreg_addr *ad)
{
    put(r, "%sangle=%d\n", pre, (int)ad->angle);
    put_str(r, pre, "display", ad->display);
    put_str(r, pre, "raw", ad->raw);
    put_str(r, pre, "tag", ad->tag);
    put_uri(r, pre, &ad->uri);
    put_params(r, pre, "params", &ad->params);
}

static void put_vias(struct rec *r, const char *pre, const struct sipreg_via *v)
{
    char sub[64];
    for (size_t i = 0; v; v = v->next, i++) {
        snprintf(sub, sizeof sub, "%s[%zu].", pre, i);
        put(r, "%sipv6=%d port=%u rport=%d ttl=%d\n", sub, (int)v->host_ipv6, (unsigned)v->port,
            v->rport, v->ttl);
        put_str(r, sub, "raw", v->raw);
        put_str(r, sub, "proto_name", v->proto_name);
        put_str(r, sub, "proto_version", v->proto_version);
        put_str(r, sub, "transport", v->transport);
        put_str(r, sub, "host", v->host);
        put_str(r, sub, "branch", v->branch);
        put_str(r, sub, "received", v->received);
        put_str(r, sub, "maddr", v->maddr);
        put_params(r, sub, "params", &v->params);
    }
}

static void put_contacts(struct rec *r, const char *pre, const struct sipreg_contact *c)
{
    char sub[64];
    for (size_t i = 0; c; c = c->next, i++) {
        snprintf(sub, sizeof sub, "%s[%zu].", pre, i);
        put(r, "%sstar=%d expires=%lld q=%d reg_id=%lld\n", sub, (int)c->star,
            (long long)c->expires, c->q, (long long)c->reg_id);
        put_str(r, sub, "instance", c->instance);
        if (!c->star)
            put_addr(r, sub, &c->addr);
    }
}

/* The parse's own results: start line, header index, CSeq, Call-ID, body. */
static void put_msg(struct rec *r, const struct sipreg_msg *m)
{
    put(r, "req=%d len=%zu skipped=%zu complete=%d method=%d status=%d nhdr=%zu cl=%lld\n",
        (int)m->is_request, m->len, m->skipped, (int)m->hdrs_complete, (int)m->method, m->status,
        m->nhdr, (long long)m->content_length);
    put_str(r, "", "method", m->method_s);
    put_str(r, "", "ruri", m->ruri);
    put_str(r, "", "reason", m->reason);
    put_str(r, "", "body", m->body);
    put_str(r, "", "call_id", m->call_id);
    put(r, "cseq.num=%u cseq.id=%d\n", (unsigned)m->cseq.num, (int)m->cseq.method_id);
    put_str(r, "", "cseq.method", m->cseq.method);
    char sub[32];
    for (size_t i = 0; i < m->nhdr && i < SIPREG_MSG_HDRS_MAX; i++) {
        snprintf(sub, sizeof sub, "hdr[%zu].", i);
        put(r, "%sid=%d next=%u\n", sub, (int)m->hdr[i].id, (unsigned)m->next_same[i]);
        put_str(r, sub, "name", m->hdr[i].name);
        put_str(r, sub, "value", m->hdr[i].value);
    }
    for (size_t id = 0; id < SIPREG_HDR__COUNT; id++)
        if (m->first[id])
            put(r, "first[%zu]=%u\n", id, (unsigned)m->first[id]);
}

static const struct sipreg_perr no_why = {SIPREG_PERR__COUNT, (size_t)-1};

/* Every accessor, then the element parsers on each header value they read. */
static void put_access(struct rec *r, struct sipreg_msg *m)
{
    struct sipreg_arena *a = m->arena;
    struct sipreg_perr why = no_why;
    int err;

    const struct sipreg_via *v = NULL;
    err = sipreg_msg_via(m, &v, &why);
    put_err(r, "via.", err, &why);
    if (err == 0)
        put_vias(r, "via", v);
    put(r, "arena=%zu\n", a->used);

    const struct sipreg_addr *ad = NULL;
    why = no_why;
    err = sipreg_msg_from(m, &ad, &why);
    put_err(r, "from.", err, &why);
    if (err == 0)
        put_addr(r, "from.", ad);
    why = no_why;
    err = sipreg_msg_to(m, &ad, &why);
    put_err(r, "to.", err, &why);
    if (err == 0)
        put_addr(r, "to.", ad);
    put(r, "arena=%zu\n", a->used);

    if (m->is_request) {
        const struct sipreg_uri *u = NULL;
        why = no_why;
        err = sipreg_msg_ruri(m, &u, &why);
        put_err(r, "ruri.", err, &why);
        if (err == 0)
            put_uri(r, "ruri.", u);
    }

    struct sipreg_contact *ct = NULL;
    why = no_why;
    err = sipreg_msg_contacts(m, &ct, &why);
    put_err(r, "contacts.", err, &why);
    if (err == 0)
        put_contacts(r, "contact", ct);
    put(r, "arena=%zu\n", a->used);

    /* the element parsers on each value, which read within the value only */
    char pre[48];
    for (size_t i = 0; i < m->nhdr; i++) {
        const struct sipreg_hdr *h = &m->hdr[i];
        snprintf(pre, sizeof pre, "el[%zu].", i);
        why = no_why;
        switch (h->id) {
        case SIPREG_HDR_VIA: {
            struct sipreg_via *vv = NULL;
            err = sipreg_via_parse(&vv, h->value, &m->lim, a, &why);
            put_err(r, pre, err, &why);
            if (err == 0)
                put_vias(r, pre, vv);
            break;
        }
        case SIPREG_HDR_FROM:
        case SIPREG_HDR_TO:
        case SIPREG_HDR_ROUTE:
        case SIPREG_HDR_RECORD_ROUTE:
        case SIPREG_HDR_PATH: {
            struct sipreg_addr a2;
            err = sipreg_addr_parse(&a2, h->value, &m->lim, a, &why);
            put_err(r, pre, err, &why);
            if (err == 0)
                put_addr(r, pre, &a2);
            break;
        }
        case SIPREG_HDR_CONTACT: {
            struct sipreg_contact *c2 = NULL;
            err = sipreg_contact_parse(&c2, h->value, &m->lim, a, &why);
            put_err(r, pre, err, &why);
            if (err == 0)
                put_contacts(r, pre, c2);
            break;
        }
        case SIPREG_HDR_CSEQ: {
            struct sipreg_cseq c;
            err = sipreg_cseq_parse(&c, h->value, &why);
            put_err(r, pre, err, &why);
            if (err == 0) {
                put(r, "%snum=%u id=%d\n", pre, (unsigned)c.num, (int)c.method_id);
                put_str(r, pre, "method", c.method);
            }
            break;
        }
        case SIPREG_HDR_EXPIRES:
        case SIPREG_HDR_MIN_EXPIRES:
        case SIPREG_HDR_MAX_FORWARDS: {
            uint32_t u32 = 0;
            err = sipreg_uint_parse(&u32, h->value, 4294967295u, &why);
            put_err(r, pre, err, &why);
            put(r, "%su32=%u\n", pre, err == 0 ? (unsigned)u32 : 0u);
            break;
        }
        default: break;
        }
        put(r, "arena=%zu\n", a->used);
    }
}

/* The element parsers on the whole input as one value (its first and last bytes are the
 * buffer's: a block read past either end is caught). */
static void put_elements(struct rec *r, const char *buf, size_t size,
                         const struct sipreg_msg_limits *lim, char *mem, size_t cap)
{
    struct sipreg_str s = {buf, size};
    struct sipreg_arena a;
    struct sipreg_perr why = no_why;
    int err;

    sipreg_arena_init(&a, mem, cap);
    struct sipreg_via *v = NULL;
    err = sipreg_via_parse(&v, s, lim, &a, &why);
    put_err(r, "v.", err, &why);
    if (err == 0)
        put_vias(r, "v", v);
    put(r, "arena=%zu\n", a.used);

    sipreg_arena_init(&a, mem, cap);
    struct sipreg_addr ad;
    why = no_why;
    err = sipreg_addr_parse(&ad, s, lim, &a, &why);
    put_err(r, "a.", err, &why);
    if (err == 0)
        put_addr(r, "a.", &ad);
    put(r, "arena=%zu\n", a.used);

    sipreg_arena_init(&a, mem, cap);
    struct sipreg_contact *c = NULL;
    why = no_why;
    err = sipreg_contact_parse(&c, s, lim, &a, &why);
    put_err(r, "c.", err, &why);
    if (err == 0)
        put_contacts(r, "c", c);
    put(r, "arena=%zu\n", a.used);

    struct sipreg_cseq cs;
    why = no_why;
    err = sipreg_cseq_parse(&cs, s, &why);
    put_err(r, "cseq.", err, &why);
    if (err == 0) {
        put(r, "cseq.num=%u id=%d\n", (unsigned)cs.num, (int)cs.method_id);
        put_str(r, "cseq.", "method", cs.method);
    }
}

enum { ARENA_BIG = 16384, ARENA_TIGHT = 300 };

struct mode {
    const char *name;
    enum sipreg_msg_mode framing;
    int small_limits;
    size_t arena; /* 0: sized by the input's length */
};

static const struct mode modes[] = {
    {"datagram", SIPREG_MSG_DATAGRAM, 0, ARENA_BIG},
    {"datagram-small-limits", SIPREG_MSG_DATAGRAM, 1, 0},
    {"datagram-tight-arena", SIPREG_MSG_DATAGRAM, 0, ARENA_TIGHT},
    {"stream", SIPREG_MSG_STREAM, 0, ARENA_BIG},
    {"stream-small-limits", SIPREG_MSG_STREAM, 1, ARENA_BIG},
};

/* One whole run of mode `md` over the input into r. */
static void run(struct rec *r, const struct mode *md, const char *buf, size_t size)
{
    static _Alignas(max_align_t) char mem[ARENA_BIG];
    struct sipreg_msg_limits lim = fuzz_limits(size, md->small_limits);
    if (md->small_limits) {
        lim.max_headers = 1 + size % 16;
        lim.max_size = 64 + size % 1024;
    }
    size_t cap = md->arena ? md->arena : 64 + (size * 13) % (ARENA_BIG / 4);
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, cap);
    struct sipreg_msg m;
    struct sipreg_perr why = no_why;
    int err = sipreg_msg_parse(&m, buf, size, md->framing, &lim, &a, &why);
    put_err(r, "parse.", err, &why);
    put_msg(r, &m);
    if (md->framing == SIPREG_MSG_STREAM) {
        size_t flen = 0;
        why = no_why;
        err = sipreg_msg_frame(buf, size, &lim, &flen, &why);
        put_err(r, "frame.", err, &why);
        put(r, "frame.len=%zu\n", err == 0 ? flen : 0);
    }
    /* the index is usable once complete, even after a later error (a 505 or 400 reply is
     * built from it) */
    if (m.hdrs_complete)
        put_access(r, &m);
    if (md->framing == SIPREG_MSG_DATAGRAM)
        put_elements(r, buf, size, md->small_limits ? &lim : NULL, mem, cap);
}

/* The first line where the records differ, printed, then abort. */
static void compare(const struct rec *f, const struct rec *g, const struct mode *md)
{
    if (f->len == g->len && memcmp(f->p, g->p, f->len) == 0)
        return;
    size_t i = 0, line = 0;
    while (i < f->len && i < g->len && f->p[i] == g->p[i])
        i++;
    while (i > 0 && f->p[i - 1] != '\n')
        i--;
    for (size_t k = 0; k < i; k++)
        line += f->p[k] == '\n';
    const char *fe = memchr(f->p + i, '\n', f->len - i), *ge = memchr(g->p + i, '\n', g->len - i);
    int fl = fe ? (int)(fe - (f->p + i)) : (int)(f->len - i);
    int gl = ge ? (int)(ge - (g->p + i)) : (int)(g->len - i);
    fprintf(stderr,
            "fast paths and general code differ (mode %s, record line %zu):\n"
            "  fast:    %.*s\n  general: %.*s\n",
            md->name, line + 1, fl, f->p + i, gl, g->p + i);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rec fast, general;
    const char *buf = (const char *)data;
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        fast.len = general.len = 0;
        fast.base = general.base = buf;
        fast.size = general.size = size;
        sipreg__msg_general_only = 0;
        run(&fast, &modes[k], buf, size);
        sipreg__msg_general_only = 1;
        run(&general, &modes[k], buf, size);
        sipreg__msg_general_only = 0;
        compare(&fast, &general, &modes[k]);
    }
    return 0;
}
