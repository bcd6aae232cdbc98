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

int sipreg__addr_parse(struct sipreg_addr *ad, struct sipreg_str s,
                       const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                       struct sipreg_perr *why)
{
    /* every field is set here or by the URI parser (no memset of the large struct twice) */
    ad->display = ad->tag = SIPREG_STR_NULL;
    ad->angle = false;
    ad->params = (struct sipreg_params){NULL, 0};
    const char *p = skip_ws(s.p, s.p + s.len), *e = rskip_ws(p, s.p + s.len);
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

int sipreg_addr_parse(struct sipreg_addr *ad, struct sipreg_str s,
                      const struct sipreg_msg_limits *limits, struct sipreg_arena *a,
                      struct sipreg_perr *why)
{
    struct sipreg_msg_limits lim;
    sipreg__limits(&lim, limits);
    return sipreg__addr_parse(ad, s, &lim, a, why);
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

int sipreg__contact_parse(struct sipreg_contact **out, struct sipreg_str s,
                          const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                          struct sipreg_perr *why)
{
    const char *p = s.p, *e = s.p + s.len;
    struct sipreg_contact *head = NULL, **tail = &head;
    size_t n = 0;
    *out = NULL;
    /* A value without a comma is one element: parse it without splitting the list first. A
     * rejection is derived again by the general path below, so that it is the same as ever
     * (list-level errors before element errors, arena use included). */
    struct sipreg_str t = trim(s);
    if (t.len && !memchr(t.p, ',', t.len)) {
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
    return sipreg__contact_parse(out, s, &lim, a, why);
}
