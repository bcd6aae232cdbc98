/* name-addr / addr-spec with header parameters (RFC 3261 §20.10, §20.20, §20.39) and Contact. */
#include <string.h>

#include "msg_int.h"

/* A rejection before the URI was read: the URI is left empty rather than undefined. */
static int addr_fail(struct sipreg_addr *ad, struct sipreg_perr *why, enum sipreg_perr_code code,
                     const char *base, const char *at)
{
    memset(&ad->uri, 0, sizeof ad->uri);
    return perr(why, code, base, at);
}

/* q = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as q * 1000. */
static int parse_q(struct sipreg_str v, int *out)
{
    if (v.len == 0 || v.len > 5 || (v.p[0] != '0' && v.p[0] != '1'))
        return -1;
    int q = (v.p[0] - '0') * 1000;
    if (v.len > 1) {
        if (v.p[1] != '.')
            return -1;
        int scale = 100;
        for (size_t i = 2; i < v.len; i++, scale /= 10) {
            if (!cc((unsigned char)v.p[i], CC_DIGIT))
                return -1;
            q += (v.p[i] - '0') * scale;
        }
    }
    if (q > 1000)
        return -1;
    *out = q;
    return 0;
}

/* The header parameters the callers read. */
enum known { K_NONE, K_TAG, K_EXPIRES, K_Q, K_INSTANCE, K_REG_ID };

/* The n (4 or 8) bytes at p are `lit` (lower case), with ASCII case folded where `fold` has 0x20
 * (on the letters only: folding another byte would let a control character match). */
#define WORD_IS(p, lit, n, fold) ((load_le((p), (n)) | (fold)) == load_le((lit), (n)))

/* The known parameter whose name and '=' start at p (the bytes to e), as one or two word
 * compares; *len is the name's length. K_NONE for any other name, and for a known one not
 * followed by '=' (known_name() catches those). */
static inline enum known known_eq(const char *p, const char *e, bool contact, size_t *len)
{
    const size_t left = (size_t)(e - p);
    switch (*p | 0x20) {
    case 't':
        if (left >= 4 && WORD_IS(p, "tag=", 4, 0x00202020u))
            return *len = 3, K_TAG;
        break;
    case 'e':
        if (contact && left >= 8 && WORD_IS(p, "expires=", 8, 0x0020202020202020u))
            return *len = 7, K_EXPIRES;
        break;
    case 'q':
        if (contact && left >= 2 && p[1] == '=')
            return *len = 1, K_Q;
        break;
    case 'r':
        if (contact && left >= 7 && WORD_IS(p, "reg-", 4, 0x00202020u) &&
            WORD_IS(p + 3, "-id=", 4, 0x00202000u))
            return *len = 6, K_REG_ID;
        break;
    case '+':
        if (contact && left >= 14 && WORD_IS(p, "+sip.ins", 8, 0x2020200020202000u) &&
            WORD_IS(p + 6, "nstance=", 8, 0x0020202020202020u))
            return *len = 13, K_INSTANCE;
        break;
    }
    return K_NONE;
}

/* The known parameter named nm, by length, then the whole name ignoring case. */
static enum known known_name(struct sipreg_str nm, bool contact)
{
    switch (nm.len) {
    case 3: return caseeq_lit(nm.p, "tag", 3) ? K_TAG : K_NONE;
    case 7: return contact && caseeq_lit(nm.p, "expires", 7) ? K_EXPIRES : K_NONE;
    case 1: return contact && lc((unsigned char)nm.p[0]) == 'q' ? K_Q : K_NONE;
    case 13: return contact && caseeq_lit(nm.p, "+sip.instance", 13) ? K_INSTANCE : K_NONE;
    case 6: return contact && caseeq_lit(nm.p, "reg-id", 6) ? K_REG_ID : K_NONE;
    default: return K_NONE;
    }
}

/* Takes the value of known parameter `id`, checked as the general path checks it once every
 * parameter is in (the first tag counts; for a Contact the last of each other). 0, or -1 for a
 * value the general path refuses. */
static inline __attribute__((always_inline)) int fast_known(struct sipreg_addr *ad,
                                                            struct sipreg_contact *c, enum known id,
                                                            struct sipreg_str v, bool *tag_seen)
{
    if (!c && id != K_TAG)
        return 0; /* not reached: only a Contact has the others (this tells the compiler) */
    switch (id) {
    case K_TAG:
        if (*tag_seen)
            return 0;
        *tag_seen = true;
        if (!v.p || v.p[0] == '"')
            return -1;
        ad->tag = v;
        return 0;
    case K_EXPIRES:
    case K_REG_ID:
        /* with a value, fast_one() reads these as their digits come (known_eq() always
         * recognises them before a '='): here they have none, which the general path judges */
        return -1;
    case K_Q: return v.p && parse_q(v, &c->q) == 0 ? 0 : -1;
    case K_INSTANCE:
        if (!v.p || v.p[0] != '"')
            return -1;
        /* a whole quoted string, as read here: sipreg__unquote() without the call */
        c->instance = mkstr(v.p + 1, v.p + v.len - 1);
        return 0;
    default: return 0;
    }
}

/* span_fast() for a run that is mostly short (a URI's user): its first 8 bytes one at a time,
 * done sooner than a 16-byte test is set up, and any more 16 at a time. */
static inline const char *span_short(const char *p, const char *e, unsigned cls)
{
    const char *p8 = e - p > 8 ? p + 8 : e;
    p = span(p, p8, cls);
    return p == p8 ? span_fast(p, e, cls) : p;
}

/* The fused reader of the form nearly every From, To and Contact value takes:
 *   [token-display] <sip:[user@]host[:port][;uri-params]>[;params]
 * with no escapes, no quoted display name, no IPv6 host, no URI headers, no whitespace after the
 * '<' and at most FAST_PARAMS parameters. Each byte is read once: the URI and the header
 * parameters are read in the same pass as the address around them, the parameters the callers
 * want (tag; and for a Contact expires, q, +sip.instance, reg-id) are recognised as they are
 * read, and the parameters of both lists are written once, into one arena array (room for
 * FAST_PARAMS is taken at the first and the rest given back at the end; a tag alone takes just
 * its own slot). It gives up (NULL) on anything else, including every rejection, so that the
 * general path derives the verdict as it always did; on success its fields are those the general
 * path gives, with no more arena used. */
#define FAST_PARAMS 8

/* The next of the fast path's parameter slots, named [nm, ne) and without a value yet: the
 * FAST_PARAMS slots are taken from the arena at the first parameter. NULL when the arena is full
 * or the slots are used up (the general path then decides). */
static inline struct sipreg_param *next_param(struct sipreg_param **pv, size_t *n,
                                              struct sipreg_arena *a, const char *nm,
                                              const char *ne)
{
    if (!*pv && !(*pv = sipreg__arena_alloc(a, FAST_PARAMS * sizeof **pv)))
        return NULL;
    if (*n == FAST_PARAMS)
        return NULL;
    struct sipreg_param *pm = &(*pv)[(*n)++];
    pm->name = mkstr(nm, ne);
    pm->value = SIPREG_STR_NULL;
    return pm;
}

/* Reads one value from p (not whitespace) to e, or for a Contact (c non-NULL, ad == &c->addr)
 * up to a ',' that ends the element. Returns where it stopped (e or the ','), or NULL. */
static inline __attribute__((always_inline)) const char *
fast_one(struct sipreg_addr *ad, struct sipreg_contact *c, const char *p, const char *e,
         const struct sipreg_msg_limits *lim, struct sipreg_arena *a)
{
    struct sipreg_param *pv = NULL;
    struct sipreg_uri *u = &ad->uri;
    const char *start = p;
    size_t n = 0;
    /* *(token LWS) LAQUOT: the display name runs to the first '<' */
    while (p < e && cc((unsigned char)*p, CC_TOKEN | CC_WS))
        p++;
    if (p == e || *p != '<')
        return NULL;
    if (p == start)
        ad->display = SIPREG_STR_NULL;
    else if (p[-1] == ' ' && p - 1 > start && !cc((unsigned char)p[-2], CC_WS))
        ad->display = mkstr(start, p - 1); /* the usual one space before the '<' */
    else
        ad->display = mkstr(start, rskip_ws(start, p));
    const char *us = ++p;
    /* "sip:" in any case, as one word (the case bit folded on the three letters only) */
    if (e - p < 4 || (load_le(p, 4) | 0x00202020u) != 0x3a706973u)
        return NULL;
    p += 4;
    /* userinfo ends at the first '@'; without one the URI has none, unless the '@' is further
     * on (after a password or an escape: the general path decides those) */
    const char *h = p;
    p = span_short(p, e, CC_UNRES | CC_USER);
    if (p < e && *p == '@') {
        if (p == h)
            return NULL;
        u->user = mkstr(h, p);
        h = ++p;
    } else {
        const char *q = find_any2(p, e, '@', '>');
        if (q == e || *q == '@')
            return NULL;
        u->user = SIPREG_STR_NULL;
        p = h;
    }
    p = span_fast(p, e, CC_HOST);
    if (p == h)
        return NULL;
    u->host = mkstr(h, p);
    u->port = 0;
    if (p < e && *p == ':') {
        /* at most five digits: a sixth is left for the check after the URI to refuse */
        const char *d = ++p, *de = e - p > 5 ? p + 5 : e;
        uint32_t v = 0;
        for (unsigned k; p < de && (k = (unsigned)(unsigned char)*p - '0') <= 9; p++)
            v = v * 10 + k;
        if (p == d || v > 65535)
            return NULL;
        u->port = (uint16_t)v;
    }
    if (p < e && *p == ';') {
        /* tested before the loop: a URI without parameters then skips the loop's set-up */
        do {
            const char *nm = ++p;
            p = span_fast(p, e, CC_UNRES | CC_PARAM);
            struct sipreg_param *pm = p == nm ? NULL : next_param(&pv, &n, a, nm, p);
            if (!pm)
                return NULL;
            if (p < e && *p == '=') {
                const char *v = ++p;
                p = span(p, e, CC_UNRES | CC_PARAM); /* short: udp, phone, a number */
                if (p == v)
                    return NULL;
                pm->value = mkstr(v, p);
            }
        } while (p < e && *p == ';');
    }
    /* no URI class holds '>', so this is the first one, where the general path ends the URI */
    if (p == e || *p != '>' || n > lim->max_params || (size_t)(p - us) > lim->max_uri)
        return NULL;
    const size_t nu = n;
    u->scheme = SIPREG_URI_SIP;
    u->raw = mkstr(us, p);
    u->scheme_s = mkstr(us, us + 3);
    u->password = u->opaque = SIPREG_STR_NULL;
    u->host_ipv6 = false;
    u->headers = (struct sipreg_params){NULL, 0};
    ad->angle = true;
    ad->tag = SIPREG_STR_NULL;
    p++;
    if (!c && e - p > 5 && WORD_IS(p, ";tag", 4, 0x20202000u) && p[4] == '=' && !pv) {
        /* a From or To nearly always ends with its tag, after a URI without parameters: that
         * is then the value's one parameter (max_params is 1 or more), in a slot of its own */
        const char *v = p + 5, *q = span_not(v, e, CC_PDELIM);
        if (q == e && q != v) {
            if (!(pv = sipreg__arena_alloc(a, sizeof *pv)))
                return NULL;
            *pv = (struct sipreg_param){mkstr(p + 1, p + 4), mkstr(v, q)};
            ad->tag = pv->value;
            ad->raw = mkstr(start, e);
            u->params = (struct sipreg_params){NULL, 0};
            ad->params = (struct sipreg_params){pv, 1};
            return e;
        }
    }
    bool tag_seen = false;
    while (p < e) {
        if (*p != ';') {
            /* a ',' here is outside <> and quotes: the list splitter ends the element at it */
            if (c && *p == ',')
                break;
            return NULL;
        }
        const char *nm = ++p;
        size_t len = 0;
        enum known id = p < e ? known_eq(p, e, c != NULL, &len) : K_NONE;
        p = id ? p + len : span_fast(p, e, CC_TOKEN);
        struct sipreg_param *pm = p == nm ? NULL : next_param(&pv, &n, a, nm, p);
        if (!pm)
            return NULL;
        if (p < e && *p == '=') {
            const char *v = ++p;
            if (id == K_EXPIRES || id == K_REG_ID) {
                /* both are digits only: the number is taken as the value is read, and a value
                 * with anything else in it is given up here (fast_known() would refuse it) */
                uint64_t x = 0;
                for (unsigned d; p < e && (d = (unsigned)(unsigned char)*p - '0') <= 9; p++)
                    if (x <= 0xffffffffu)
                        x = x * 10 + d;
                if (p == v || (p < e && !cc((unsigned char)*p, CC_PDELIM)))
                    return NULL;
                pm->value = mkstr(v, p);
                if (id == K_EXPIRES) {
                    c->expires = (int64_t)(x > 0xffffffffu ? 0xffffffffu : x);
                } else {
                    if (x == 0 || x > 0x7fffffff)
                        return NULL;
                    c->reg_id = (int64_t)x;
                }
                continue;
            }
            if (p < e && *p == '"') {
                p = sipreg__scan_quoted(p, e);
                if (!p)
                    return NULL;
            } else {
                p = span_not(p, e, CC_PDELIM);
                if (p == v)
                    return NULL;
            }
            pm->value = mkstr(v, p);
        }
        if (!id)
            id = known_name(pm->name, c != NULL);
        if (id && fast_known(ad, c, id, pm->value, &tag_seen) != 0)
            return NULL;
    }
    if (n - nu > lim->max_params)
        return NULL;
    ad->raw = mkstr(start, p);
    u->params = ad->params = (struct sipreg_params){NULL, 0};
    if (pv) {
        /* give back the slots not used: nothing was taken from the arena after them */
        a->used -= (FAST_PARAMS - n) * sizeof *pv;
        if (nu)
            u->params = (struct sipreg_params){pv, nu};
        if (n > nu)
            ad->params = (struct sipreg_params){pv + nu, n - nu};
    }
    return p;
}

/* The general path: every form and every verdict. */
static __attribute__((noinline)) int addr_parse(struct sipreg_addr *ad, struct sipreg_str s,
                                                const struct sipreg_msg_limits *lim,
                                                struct sipreg_arena *a, struct sipreg_perr *why)
{
    const char *p = skip_ws(s.p, s.p + s.len), *e = rskip_ws(p, s.p + s.len);
    /* every field is set here or by the URI parser (no memset of the large struct twice) */
    ad->display = ad->tag = SIPREG_STR_NULL;
    ad->angle = false;
    ad->params = (struct sipreg_params){NULL, 0};
    ad->raw = mkstr(p, e);
    const char *us, *ue;
    int err;
    if (p < e && *p == '"') {
        /* quoted display name, then LAQUOT */
        const char *q = sipreg__scan_quoted(p, e);
        if (!q)
            return addr_fail(ad, why, SIPREG_PERR_QUOTE, s.p, p);
        ad->display = mkstr(p + 1, q - 1);
        p = skip_ws(q, e);
        if (p == e || *p != '<')
            return addr_fail(ad, why, SIPREG_PERR_ADDR, s.p, p);
    } else {
        /* either *(token LWS) LAQUOT, or an addr-spec */
        const char *lt = memchr(p, '<', (size_t)(e - p));
        if (lt) {
            const char *d = p;
            d = span_fast(d, lt, CC_TOKEN | CC_WS);
            if (d != lt)
                return addr_fail(ad, why, SIPREG_PERR_ADDR, s.p, d);
            if (lt > p)
                ad->display = mkstr(p, rskip_ws(p, lt));
            p = lt;
        }
    }
    if (p < e && *p == '<') {
        us = p + 1;
        ue = memchr(us, '>', (size_t)(e - us));
        if (!ue)
            return addr_fail(ad, why, SIPREG_PERR_ADDR, s.p, p);
        p = ue + 1;
        ad->angle = true;
    } else {
        /* addr-spec: header parameters start at the first ';' and the URI may carry neither
         * ',' nor '?' (RFC 3261 §20: such a URI must be enclosed in <>) */
        us = p;
        while (p < e && *p != ';' && !cc((unsigned char)*p, CC_WS)) {
            if (*p == ',' || *p == '?' || *p == '"' || *p == '<' || *p == '>')
                return addr_fail(ad, why, SIPREG_PERR_ADDR, s.p, p);
            p++;
        }
        ue = p;
    }
    err = sipreg__uri_parse(&ad->uri, mkstr(us, ue), lim, a, why);
    if (err) {
        if (why)
            why->offset += (size_t)(us - s.p);
        return err;
    }
    err = sipreg__params_parse(&ad->params, p, e, lim, a, SIPREG_PERR_PARAM, s.p, why);
    if (err)
        return err;
    for (size_t i = 0; i < ad->params.n; i++) {
        const struct sipreg_param *tag = &ad->params.v[i];
        if (!STR_IS(tag->name, "tag"))
            continue;
        if (!tag->value.p || tag->value.len == 0 || tag->value.p[0] == '"')
            return perr(why, SIPREG_PERR_PARAM, s.p, tag->name.p);
        ad->tag = tag->value;
        break;
    }
    return 0;
}

int sipreg__addr_parse(struct sipreg_addr *ad, struct sipreg_str s,
                       const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                       struct sipreg_perr *why)
{
    const char *p = skip_ws(s.p, s.p + s.len), *e = rskip_ws(p, s.p + s.len);
    size_t mark = sipreg__arena_mark(a);
    if (fastpath() && fast_one(ad, NULL, p, e, lim, a) == e)
        return 0;
    sipreg_arena_rewind(a, mark); /* forget what the attempt took */
    return addr_parse(ad, s, lim, a, why);
}

int sipreg_addr_parse(struct sipreg_addr *ad, struct sipreg_str s,
                      const struct sipreg_msg_limits *limits, struct sipreg_arena *a,
                      struct sipreg_perr *why)
{
    struct sipreg_msg_limits lim;
    sipreg__limits(&lim, limits);
    return sipreg__addr_parse(ad, present(s), &lim, a, why);
}

static int parse_one_contact(struct sipreg_contact *c, struct sipreg_str el,
                             const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                             const char *base, struct sipreg_perr *why)
{
    c->expires = -1;
    c->q = -1;
    c->reg_id = -1;
    int err = sipreg__addr_parse(&c->addr, el, lim, a, why);
    if (err) {
        if (why)
            why->offset += (size_t)(el.p - base);
        return err;
    }
    for (size_t i = 0; i < c->addr.params.n; i++) {
        const struct sipreg_param *pm = &c->addr.params.v[i];
        if (STR_IS(pm->name, "expires")) {
            /* delta-seconds; larger than 2**32-1 is taken as 2**32-1 (RFC 3261 §20.19) */
            uint64_t v;
            if (!pm->value.p || pm->value.len == 0)
                return perr(why, SIPREG_PERR_CONTACT, base, pm->name.p);
            size_t k = 0;
            while (k < pm->value.len && cc((unsigned char)pm->value.p[k], CC_DIGIT))
                k++;
            if (k != pm->value.len)
                return perr(why, SIPREG_PERR_CONTACT, base, pm->value.p);
            if (sipreg__dec_u64(pm->value, 0xffffffffu, &v) != 0)
                v = 0xffffffffu;
            c->expires = (int64_t)v;
        } else if (STR_IS(pm->name, "q")) {
            if (!pm->value.p || parse_q(pm->value, &c->q) != 0)
                return perr(why, SIPREG_PERR_CONTACT, base, pm->name.p);
        } else if (STR_IS(pm->name, "+sip.instance")) {
            if (!pm->value.p || pm->value.len < 2 || pm->value.p[0] != '"')
                return perr(why, SIPREG_PERR_CONTACT, base, pm->name.p);
            c->instance = sipreg__unquote(pm->value);
        } else if (STR_IS(pm->name, "reg-id")) {
            uint64_t v;
            if (!pm->value.p || sipreg__dec_u64(pm->value, 0x7fffffff, &v) != 0 || v == 0)
                return perr(why, SIPREG_PERR_CONTACT, base, pm->name.p);
            c->reg_id = (int64_t)v;
        }
    }
    return 0;
}

/* Every element of a Contact value by fast_one, or -1 with nothing taken from the arena. The
 * elements and the arena use are those of the list splitter and the element parser below. */
static int fast_contacts(struct sipreg_contact **out, struct sipreg_str s,
                         const struct sipreg_msg_limits *lim, struct sipreg_arena *a)
{
    const char *p = skip_ws(s.p, s.p + s.len), *e = rskip_ws(p, s.p + s.len);
    struct sipreg_contact *head = NULL, **tail = &head;
    size_t mark = sipreg__arena_mark(a), n = 0;
    if (!fastpath())
        return -1;
    while (p < e) {
        struct sipreg_contact *c;
        if (++n > lim->max_list || !(c = sipreg__arena_alloc(a, sizeof *c)))
            goto fail;
        c->star = false;
        c->expires = c->reg_id = -1;
        c->q = -1;
        c->instance = SIPREG_STR_NULL;
        c->next = NULL;
        p = fast_one(&c->addr, c, p, e, lim, a);
        if (!p)
            goto fail;
        *tail = c;
        tail = &c->next;
        if (p < e) {
            /* at a ',', which must be followed by another element */
            p = skip_ws(p + 1, e);
            if (p == e)
                goto fail;
        }
    }
    if (head) {
        *out = head;
        return 0;
    }
fail:
    sipreg_arena_rewind(a, mark);
    return -1;
}

int sipreg__contact_parse(struct sipreg_contact **out, struct sipreg_str s,
                          const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                          struct sipreg_perr *why)
{
    const char *p = s.p, *e = s.p + s.len;
    struct sipreg_contact *head = NULL, **tail = &head;
    size_t n = 0;
    *out = NULL;
    if (fast_contacts(out, s, lim, a) == 0)
        return 0;
    /* A value without a comma is one element: parse it without splitting the list first. A
     * rejection is derived again by the general path below, so that it is the same as ever
     * (list-level errors before element errors, arena use included). */
    struct sipreg_str t = trim(s);
    if (fastpath() && t.len && !memchr(t.p, ',', t.len)) {
        size_t mark = sipreg_arena_mark(a);
        struct sipreg_contact *c = sipreg__arena_alloc(a, sizeof *c);
        if (c) {
            c->star = false;
            c->instance = SIPREG_STR_NULL;
            c->next = NULL;
            if (t.len == 1 && t.p[0] == '*') {
                memset(&c->addr, 0, sizeof c->addr);
                c->star = true;
                c->expires = c->q = -1;
                c->reg_id = -1;
                *out = c;
                return 0;
            }
            /* a '"' inside an opaque URI (<name:a"b>) would open a quoted string for the list
             * splitter: only the general path gives that value's verdict */
            const struct sipreg_uri *u = &c->addr.uri;
            if (parse_one_contact(c, t, lim, a, s.p, NULL) == 0 &&
                !(u->scheme == SIPREG_URI_OTHER && memchr(u->opaque.p, '"', u->opaque.len))) {
                *out = c;
                return 0;
            }
        }
        sipreg_arena_rewind(a, mark); /* forget what the attempt took */
    }
    while (skip_ws(p, e) < e) {
        struct sipreg_str el;
        if (sipreg__list_next(&p, e, &el) != 0)
            return perr(why, SIPREG_PERR_CONTACT, s.p, p);
        if (el.len == 0)
            return perr(why, SIPREG_PERR_CONTACT, s.p, el.p);
        if (++n > lim->max_list)
            return perr(why, SIPREG_PERR_TOO_MANY_VALUES, s.p, el.p);
        struct sipreg_contact *c = sipreg__arena_alloc(a, sizeof *c);
        if (!c)
            return perr(why, SIPREG_PERR_NO_MEMORY, s.p, el.p);
        c->star = false;
        c->instance = SIPREG_STR_NULL;
        c->next = NULL;
        if (el.len == 1 && el.p[0] == '*') {
            memset(&c->addr, 0, sizeof c->addr);
            c->star = true;
            c->expires = c->q = -1;
            c->reg_id = -1;
        } else {
            int err = parse_one_contact(c, el, lim, a, s.p, why);
            if (err)
                return err;
        }
        *tail = c;
        tail = &c->next;
    }
    if (!head)
        return perr(why, SIPREG_PERR_CONTACT, s.p, p);
    *out = head;
    return 0;
}

int sipreg_contact_parse(struct sipreg_contact **out, struct sipreg_str s,
                         const struct sipreg_msg_limits *limits, struct sipreg_arena *a,
                         struct sipreg_perr *why)
{
    struct sipreg_msg_limits lim;
    sipreg__limits(&lim, limits);
    return sipreg__contact_parse(out, present(s), &lim, a, why);
}
