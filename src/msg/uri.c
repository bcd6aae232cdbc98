/* SIP/SIPS URI (RFC 3261 §19.1, §25.1), tel URI (RFC 3966) and other absolute URIs. */
#include <string.h>

#include "msg_int.h"

/* Checks an escaped run: chars of class `cls` or %HH. Returns the first offending char or e. */
static const char *scan_escaped(const char *p, const char *e, unsigned cls)
{
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (cc(c, cls)) {
            p++;
        } else if (c == '%') {
            if (e - p < 3 || !cc((unsigned char)p[1], CC_HEX) || !cc((unsigned char)p[2], CC_HEX))
                return p;
            p += 3;
        } else {
            return p;
        }
    }
    return p;
}

/* host = hostname / IPv4address / IPv6reference; port = 1*DIGIT. */
static int parse_hostport(struct sipreg_str *host, bool *v6, uint16_t *port, const char *p,
                          const char *e, const char *base, enum sipreg_perr_code code,
                          struct sipreg_perr *why)
{
    const char *h = p;
    *v6 = false;
    *port = 0;
    if (p < e && *p == '[') {
        h = ++p;
        while (p < e && (cc((unsigned char)*p, CC_HEX) || *p == ':' || *p == '.'))
            p++;
        if (p == h || p == e || *p != ']' || !memchr(h, ':', (size_t)(p - h)))
            return perr(why, code, base, p);
        *host = mkstr(h, p);
        *v6 = true;
        p++;
    } else {
        while (p < e && cc((unsigned char)*p, CC_HOST))
            p++;
        if (p == h)
            return perr(why, code, base, p);
        *host = mkstr(h, p);
    }
    if (p < e && *p == ':') {
        const char *d = ++p;
        uint32_t v = 0;
        while (p < e && cc((unsigned char)*p, CC_DIGIT)) {
            v = v * 10 + (uint32_t)(*p - '0');
            if (v > 65535)
                return perr(why, code, base, p);
            p++;
        }
        if (p == d)
            return perr(why, code, base, p);
        *port = (uint16_t)v;
    }
    if (p != e)
        return perr(why, code, base, p);
    return 0;
}

/* ?hname=hvalue&hname=hvalue, into u->headers. p is after the '?'. */
static int parse_uri_headers(struct sipreg_uri *u, const char *p, const char *e,
                             const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                             const char *base, struct sipreg_perr *why)
{
    size_t n = 1;
    for (const char *q = p; q < e; q++)
        n += *q == '&';
    if (n > lim->max_params)
        return perr(why, SIPREG_PERR_TOO_MANY_PARAMS, base, p);
    u->headers.v = sipreg_arena_alloc(a, n * sizeof *u->headers.v);
    if (!u->headers.v)
        return perr(why, SIPREG_PERR_NO_MEMORY, base, p);
    for (;;) {
        const char *name = p;
        p = scan_escaped(p, e, CC_UNRES | CC_HNV);
        if (p == name || p == e || *p != '=')
            return perr(why, SIPREG_PERR_URI, base, p);
        const char *v = ++p;
        p = scan_escaped(p, e, CC_UNRES | CC_HNV);
        u->headers.v[u->headers.n++] = (struct sipreg_param){mkstr(name, v - 1), mkstr(v, p)};
        if (p == e)
            return 0;
        if (*p != '&')
            return perr(why, SIPREG_PERR_URI, base, p);
        p++;
    }
}

/* ;name[=value] uri-parameters, each of paramchars, into u->params. */
static int parse_uri_params(struct sipreg_uri *u, const char *p, const char *e,
                            const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                            const char *base, struct sipreg_perr *why)
{
    size_t n = 0;
    for (const char *q = p; q < e; q++)
        n += *q == ';';
    if (n > lim->max_params)
        return perr(why, SIPREG_PERR_TOO_MANY_PARAMS, base, p);
    if (n == 0)
        return 0;
    u->params.v = sipreg_arena_alloc(a, n * sizeof *u->params.v);
    if (!u->params.v)
        return perr(why, SIPREG_PERR_NO_MEMORY, base, p);
    while (p < e) {
        /* *p == ';' here */
        const char *name = ++p;
        p = scan_escaped(p, e, CC_UNRES | CC_PARAM);
        if (p == name)
            return perr(why, SIPREG_PERR_URI, base, p);
        struct sipreg_param *pm = &u->params.v[u->params.n++];
        pm->name = mkstr(name, p);
        pm->value = SIPREG_STR_NULL;
        if (p < e && *p == '=') {
            const char *v = ++p;
            p = scan_escaped(p, e, CC_UNRES | CC_PARAM);
            if (p == v)
                return perr(why, SIPREG_PERR_URI, base, p);
            pm->value = mkstr(v, p);
        }
        if (p < e && *p != ';')
            return perr(why, SIPREG_PERR_URI, base, p);
    }
    return 0;
}

static int parse_sip(struct sipreg_uri *u, const char *p, const char *e,
                     const struct sipreg_msg_limits *lim, struct sipreg_arena *a, const char *base,
                     struct sipreg_perr *why)
{
    /* The end of hostport: the first ';' or '?' after the userinfo. */
    const char *at = memchr(p, '@', (size_t)(e - p));
    const char *hp = p;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *ue = colon ? colon : at;
        if (ue == p || scan_escaped(p, ue, CC_UNRES | CC_USER) != ue)
            return perr(why, SIPREG_PERR_URI, base, p);
        u->user = mkstr(p, ue);
        if (colon) {
            if (scan_escaped(colon + 1, at, CC_PASSWD) != at)
                return perr(why, SIPREG_PERR_URI, base, colon + 1);
            u->password = mkstr(colon + 1, at);
        }
        hp = at + 1;
    }
    const char *he = hp;
    while (he < e && *he != ';' && *he != '?')
        he++;
    int err = parse_hostport(&u->host, &u->host_ipv6, &u->port, hp, he, base, SIPREG_PERR_URI, why);
    if (err)
        return err;
    const char *q = memchr(he, '?', (size_t)(e - he));
    const char *pe = q ? q : e;
    err = parse_uri_params(u, he, pe, lim, a, base, why);
    if (err)
        return err;
    if (q)
        return parse_uri_headers(u, q + 1, e, lim, a, base, why);
    return 0;
}

static int parse_tel(struct sipreg_uri *u, const char *p, const char *e,
                     const struct sipreg_msg_limits *lim, struct sipreg_arena *a, const char *base,
                     struct sipreg_perr *why)
{
    const char *n = p;
    while (p < e && *p != ';') {
        unsigned char c = (unsigned char)*p;
        if (!(cc(c, CC_HEX) || c == '+' || c == '*' || c == '#' || c == '-' || c == '.' ||
              c == '(' || c == ')'))
            return perr(why, SIPREG_PERR_URI, base, p);
        p++;
    }
    if (p == n)
        return perr(why, SIPREG_PERR_URI, base, p);
    u->user = mkstr(n, p);
    return parse_uri_params(u, p, e, lim, a, base, why);
}

int sipreg_uri_parse(struct sipreg_uri *u, struct sipreg_str s,
                     const struct sipreg_msg_limits *limits, struct sipreg_arena *a,
                     struct sipreg_perr *why)
{
    struct sipreg_msg_limits lim;
    sipreg__limits(&lim, limits);
    memset(u, 0, sizeof *u);
    const char *p = s.p, *e = s.p + s.len;
    u->raw = s;
    if (s.len > lim.max_uri)
        return perr(why, SIPREG_PERR_URI_TOO_LONG, s.p, p);
    if (p == e || !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
        return perr(why, SIPREG_PERR_URI, s.p, p);
    const char *sch = p++;
    while (p < e && cc((unsigned char)*p, CC_SCHEME))
        p++;
    if (p == e || *p != ':')
        return perr(why, SIPREG_PERR_URI, s.p, p);
    u->scheme_s = mkstr(sch, p);
    p++;
    for (const char *q = p; q < e; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return perr(why, SIPREG_PERR_URI, s.p, q);
    if (sipreg_str_caseeqz(u->scheme_s, "sip"))
        u->scheme = SIPREG_URI_SIP;
    else if (sipreg_str_caseeqz(u->scheme_s, "sips"))
        u->scheme = SIPREG_URI_SIPS;
    else if (sipreg_str_caseeqz(u->scheme_s, "tel"))
        u->scheme = SIPREG_URI_TEL;
    else
        u->scheme = SIPREG_URI_OTHER;
    switch (u->scheme) {
    case SIPREG_URI_SIP:
    case SIPREG_URI_SIPS: return parse_sip(u, p, e, &lim, a, s.p, why);
    case SIPREG_URI_TEL: return parse_tel(u, p, e, &lim, a, s.p, why);
    default:
        if (p == e)
            return perr(why, SIPREG_PERR_URI, s.p, p);
        u->opaque = mkstr(p, e);
        return 0;
    }
}
