/* Via header values (RFC 3261 §20.42, §18.2.2; rport from RFC 3581). */
#include <string.h>

#include "msg_int.h"

static int parse_one_via(struct sipreg_via *v, struct sipreg_str el,
                         const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                         const char *base, struct sipreg_perr *why)
{
    const char *p = el.p, *e = el.p + el.len;
    struct sipreg_str *parts[3] = {&v->proto_name, &v->proto_version, &v->transport};
    v->raw = el;
    v->rport = -1;
    v->ttl = -1;
    /* sent-protocol = protocol-name SLASH protocol-version SLASH transport, LWS around SLASH */
    int part = 0;
    if (e - p >= 8 && memcmp(p, "SIP/2.0/", 8) == 0) {
        /* what nearly every Via starts with: the generic loop below would read the same */
        v->proto_name = mkstr(p, p + 3);
        v->proto_version = mkstr(p + 4, p + 7);
        p += 8;
        part = 2;
    }
    for (; part < 3; part++) {
        p = skip_ws(p, e);
        const char *t = p;
        while (p < e && cc((unsigned char)*p, CC_TOKEN))
            p++;
        if (p == t)
            return perr(why, SIPREG_PERR_VIA, base, p);
        *parts[part] = mkstr(t, p);
        p = skip_ws(p, e);
        if (part < 2) {
            if (p == e || *p != '/')
                return perr(why, SIPREG_PERR_VIA, base, p);
            p++;
        }
    }
    if (p == el.p + el.len || !cc((unsigned char)p[-1], CC_WS))
        return perr(why, SIPREG_PERR_VIA, base, p);
    /* sent-by = host [ COLON port ], COLON allowing LWS around it */
    const char *hs = p;
    if (p < e && *p == '[') {
        hs = ++p;
        while (p < e && (cc((unsigned char)*p, CC_HEX) || *p == ':' || *p == '.'))
            p++;
        if (p == hs || p == e || *p != ']' || !memchr(hs, ':', (size_t)(p - hs)))
            return perr(why, SIPREG_PERR_VIA, base, p);
        v->host = mkstr(hs, p++);
        v->host_ipv6 = true;
    } else {
        p = span_fast(p, e, CC_HOST);
        if (p == hs)
            return perr(why, SIPREG_PERR_VIA, base, p);
        v->host = mkstr(hs, p);
    }
    const char *q = skip_ws(p, e);
    if (q < e && *q == ':') {
        q = skip_ws(q + 1, e);
        const char *d = q;
        uint32_t port = 0;
        while (q < e && cc((unsigned char)*q, CC_DIGIT)) {
            port = port * 10 + (uint32_t)(*q - '0');
            if (port > 65535)
                return perr(why, SIPREG_PERR_VIA, base, q);
            q++;
        }
        if (q == d || port == 0)
            return perr(why, SIPREG_PERR_VIA, base, q);
        v->port = (uint16_t)port;
        p = q;
    }
    int err;
    err = sipreg__params_parse(&v->params, p, e, lim, a, SIPREG_PERR_VIA, base, why);
    if (err)
        return err;
    for (size_t i = 0; i < v->params.n; i++) {
        const struct sipreg_param *pm = &v->params.v[i];
        if (STR_IS(pm->name, "branch")) {
            if (!pm->value.p)
                return perr(why, SIPREG_PERR_VIA, base, pm->name.p);
            v->branch = pm->value;
        } else if (STR_IS(pm->name, "received")) {
            if (!pm->value.p)
                return perr(why, SIPREG_PERR_VIA, base, pm->name.p);
            v->received = pm->value;
        } else if (STR_IS(pm->name, "maddr")) {
            if (!pm->value.p)
                return perr(why, SIPREG_PERR_VIA, base, pm->name.p);
            v->maddr = pm->value;
        } else if (STR_IS(pm->name, "rport")) {
            uint64_t n = 0;
            if (pm->value.p && (sipreg__dec_u64(pm->value, 65535, &n) != 0 || n == 0))
                return perr(why, SIPREG_PERR_VIA, base, pm->value.p);
            v->rport = (int)n;
        } else if (STR_IS(pm->name, "ttl")) {
            uint64_t n;
            if (!pm->value.p || sipreg__dec_u64(pm->value, 255, &n) != 0)
                return perr(why, SIPREG_PERR_VIA, base, pm->name.p);
            v->ttl = (int)n;
        }
    }
    return 0;
}

int sipreg__via_parse(struct sipreg_via **out, struct sipreg_str s,
                      const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                      struct sipreg_perr *why)
{
    const char *p = s.p, *e = s.p + s.len;
    struct sipreg_via *head = NULL, **tail = &head;
    size_t n = 0;
    *out = NULL;
    /* A value without a comma (nearly every Via) is one element: parse it without splitting the
     * list first. A rejection is derived again by the general path below, so that it is the
     * same as ever (list-level errors before element errors, arena use included). */
    struct sipreg_str t = trim(s);
    if (t.len && !memchr(t.p, ',', t.len)) {
        size_t mark = sipreg_arena_mark(a);
        struct sipreg_via *v = sipreg__arena_alloc(a, sizeof *v);
        if (v) {
            memset(v, 0, sizeof *v);
            if (parse_one_via(v, t, lim, a, s.p, NULL) == 0) {
                *out = v;
                return 0;
            }
        }
        sipreg_arena_rewind(a, mark); /* forget what the attempt took */
    }
    while (skip_ws(p, e) < e) {
        struct sipreg_str el;
        if (sipreg__list_next(&p, e, &el) != 0 || el.len == 0)
            return perr(why, SIPREG_PERR_VIA, s.p, p);
        if (++n > lim->max_list)
            return perr(why, SIPREG_PERR_TOO_MANY_VALUES, s.p, el.p);
        struct sipreg_via *v = sipreg__arena_alloc(a, sizeof *v);
        if (!v)
            return perr(why, SIPREG_PERR_NO_MEMORY, s.p, el.p);
        memset(v, 0, sizeof *v);
        int err = parse_one_via(v, el, lim, a, s.p, why);
        if (err)
            return err;
        *tail = v;
        tail = &v->next;
    }
    if (!head)
        return perr(why, SIPREG_PERR_VIA, s.p, p);
    *out = head;
    return 0;
}

int sipreg_via_parse(struct sipreg_via **out, struct sipreg_str s,
                     const struct sipreg_msg_limits *limits, struct sipreg_arena *a,
                     struct sipreg_perr *why)
{
    struct sipreg_msg_limits lim;
    sipreg__limits(&lim, limits);
    return sipreg__via_parse(out, s, &lim, a, why);
}
