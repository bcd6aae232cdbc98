/* SIP/SIPS URI (RFC 3261 §19.1, §25.1), tel URI (RFC 3966) and other absolute URIs. */
#include <string.h>

#include "msg_int.h"

/* Checks an escaped run: chars of class `cls` or %HH. Returns the first offending char or e. */
static inline const char *scan_escaped(const char *p, const char *e, unsigned cls)
{
    for (;;) {
        p = span_fast(p, e, cls);
        if (p == e || *p != '%')
            return p;
        if (e - p < 3 || !cc((unsigned char)p[1], CC_HEX) || !cc((unsigned char)p[2], CC_HEX))
            return p;
        p += 3;
    }
}

static size_t count_byte(const char *p, const char *e, char c)
{
    size_t n = 0;
    for (; p < e; p++)
        n += *p == c;
    return n;
}

/* A rejection found while reading the URI. The URI is read in one pass, but the verdict is the
 * one a check in stages gives: a control character or space anywhere is a malformed URI first,
 * then too many parameters (counting the `c` separators between cs and ce, plus `extra`) before
 * any single malformed one. Only rejections pay for this second look. */
static int uri_err(struct sipreg_perr *why, enum sipreg_perr_code code, const char *base,
                   const char *at, const char *rest, const char *e, const char *cs, const char *ce,
                   char c, size_t extra, const struct sipreg_msg_limits *lim)
{
    const char *ctl = span_not(rest, e, CC_CTL);
    if (ctl < e)
        return perr(why, SIPREG_PERR_URI, base, ctl);
    if (cs && count_byte(cs, ce, c) + extra > lim->max_params)
        return perr(why, SIPREG_PERR_TOO_MANY_PARAMS, base, cs);
    return perr(why, code, base, at);
}

/* ;name[=value] uri-parameters, each of paramchars, into u->params. Stops at the first byte
 * that is not ';' after a parameter; *pp is left there. */
static int parse_uri_params(struct sipreg_uri *u, const char **pp, const char *e,
                            const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                            const char **at, enum sipreg_perr_code *code)
{
    const char *p = *pp;
    struct params_acc acc;
    params_acc_init(&acc, lim->max_params);
    while (p < e && *p == ';') {
        const char *name = ++p;
        p = scan_escaped(p, e, CC_UNRES | CC_PARAM);
        if (p == name) {
            *at = p, *code = SIPREG_PERR_URI;
            return -1;
        }
        int nomem;
        struct sipreg_param *pm = sipreg__params_push(&acc, a, &nomem);
        if (!pm) {
            *at = name, *code = nomem ? SIPREG_PERR_NO_MEMORY : SIPREG_PERR_TOO_MANY_PARAMS;
            return -1;
        }
        pm->name = mkstr(name, p);
        pm->value = SIPREG_STR_NULL;
        if (p < e && *p == '=') {
            const char *v = ++p;
            p = scan_escaped(p, e, CC_UNRES | CC_PARAM);
            if (p == v) {
                *at = p, *code = SIPREG_PERR_URI;
                return -1;
            }
            pm->value = mkstr(v, p);
        }
    }
    *pp = p;
    if (acc.n && sipreg__params_finish(&acc, &u->params, a) != 0) {
        *at = p, *code = SIPREG_PERR_NO_MEMORY;
        return -1;
    }
    return 0;
}

/* ?hname=hvalue&hname=hvalue, into u->headers. p is after the '?'. */
static int parse_uri_headers(struct sipreg_uri *u, const char *p, const char *e,
                             const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                             const char **at, enum sipreg_perr_code *code)
{
    struct params_acc acc;
    params_acc_init(&acc, lim->max_params);
    for (;;) {
        const char *name = p;
        p = scan_escaped(p, e, CC_UNRES | CC_HNV);
        if (p == name || p == e || *p != '=') {
            *at = p, *code = SIPREG_PERR_URI;
            return -1;
        }
        const char *v = ++p;
        p = scan_escaped(p, e, CC_UNRES | CC_HNV);
        int nomem;
        struct sipreg_param *pm = sipreg__params_push(&acc, a, &nomem);
        if (!pm) {
            *at = name, *code = nomem ? SIPREG_PERR_NO_MEMORY : SIPREG_PERR_TOO_MANY_PARAMS;
            return -1;
        }
        *pm = (struct sipreg_param){mkstr(name, v - 1), mkstr(v, p)};
        if (p == e)
            break;
        if (*p != '&') {
            *at = p, *code = SIPREG_PERR_URI;
            return -1;
        }
        p++;
    }
    if (sipreg__params_finish(&acc, &u->headers, a) != 0) {
        *at = p, *code = SIPREG_PERR_NO_MEMORY;
        return -1;
    }
    return 0;
}

static int parse_sip(struct sipreg_uri *u, const char *p, const char *e,
                     const struct sipreg_msg_limits *lim, struct sipreg_arena *a, const char *base,
                     struct sipreg_perr *why)
{
    const char *rest = p, *at;
    enum sipreg_perr_code code;
    /* userinfo: everything before the first '@' of the URI (the user part may hold ';', '?' and
     * '=' of its own, RFC 4475 §3.1.1.9) */
    const char *amp = memchr(p, '@', (size_t)(e - p));
    if (amp) {
        const char *ue = scan_escaped(p, amp, CC_UNRES | CC_USER);
        if (ue == p || (ue < amp && *ue != ':'))
            return uri_err(why, SIPREG_PERR_URI, base, p, rest, e, NULL, NULL, 0, 0, lim);
        u->user = mkstr(p, ue);
        if (ue < amp) {
            if (scan_escaped(ue + 1, amp, CC_PASSWD) != amp)
                return uri_err(why, SIPREG_PERR_URI, base, ue + 1, rest, e, NULL, NULL, 0, 0, lim);
            u->password = mkstr(ue + 1, amp);
        }
        p = amp + 1;
    }
    /* host = hostname / IPv4address / IPv6reference; port = 1*DIGIT */
    const char *h = p;
    if (p < e && *p == '[') {
        h = ++p;
        while (p < e && (cc((unsigned char)*p, CC_HEX) || *p == ':' || *p == '.'))
            p++;
        if (p == h || p == e || *p != ']' || !memchr(h, ':', (size_t)(p - h)))
            return uri_err(why, SIPREG_PERR_URI, base, p, rest, e, NULL, NULL, 0, 0, lim);
        u->host = mkstr(h, p);
        u->host_ipv6 = true;
        p++;
    } else {
        p = span_fast(p, e, CC_HOST);
        if (p == h)
            return uri_err(why, SIPREG_PERR_URI, base, p, rest, e, NULL, NULL, 0, 0, lim);
        u->host = mkstr(h, p);
    }
    if (p < e && *p == ':') {
        const char *d = ++p;
        uint32_t v = 0;
        while (p < e && cc((unsigned char)*p, CC_DIGIT)) {
            v = v * 10 + (uint32_t)(*p - '0');
            if (v > 65535)
                return uri_err(why, SIPREG_PERR_URI, base, p, rest, e, NULL, NULL, 0, 0, lim);
            p++;
        }
        if (p == d)
            return uri_err(why, SIPREG_PERR_URI, base, p, rest, e, NULL, NULL, 0, 0, lim);
        u->port = (uint16_t)v;
    }
    if (p == e)
        return 0;
    const char *params = p, *headers;
    if (*p != ';' && *p != '?')
        return uri_err(why, SIPREG_PERR_URI, base, p, rest, e, NULL, NULL, 0, 0, lim);
    if (*p == ';') {
        int err = parse_uri_params(u, &p, e, lim, a, &at, &code);
        if (!err && p < e && *p != '?')
            err = -1, at = p, code = SIPREG_PERR_URI;
        if (err) {
            const char *q = memchr(params, '?', (size_t)(e - params));
            return uri_err(why, code, base, at, rest, e, params, q ? q : e, ';', 0, lim);
        }
        if (p == e)
            return 0;
    }
    headers = p + 1;
    if (parse_uri_headers(u, headers, e, lim, a, &at, &code) != 0)
        return uri_err(why, code, base, at, rest, e, headers, e, '&', 1, lim);
    return 0;
}

static int parse_tel(struct sipreg_uri *u, const char *p, const char *e,
                     const struct sipreg_msg_limits *lim, struct sipreg_arena *a, const char *base,
                     struct sipreg_perr *why)
{
    const char *rest = p, *at;
    enum sipreg_perr_code code;
    const char *n = p;
    while (p < e && *p != ';') {
        unsigned char c = (unsigned char)*p;
        if (!(cc(c, CC_HEX) || c == '+' || c == '*' || c == '#' || c == '-' || c == '.' ||
              c == '(' || c == ')'))
            return uri_err(why, SIPREG_PERR_URI, base, p, rest, e, NULL, NULL, 0, 0, lim);
        p++;
    }
    if (p == n)
        return uri_err(why, SIPREG_PERR_URI, base, p, rest, e, NULL, NULL, 0, 0, lim);
    u->user = mkstr(n, p);
    const char *params = p;
    if (parse_uri_params(u, &p, e, lim, a, &at, &code) != 0)
        return uri_err(why, code, base, at, rest, e, params, e, ';', 0, lim);
    if (p != e)
        return uri_err(why, SIPREG_PERR_URI, base, p, rest, e, params, e, ';', 0, lim);
    return 0;
}

int sipreg__uri_parse(struct sipreg_uri *u, struct sipreg_str s,
                      const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                      struct sipreg_perr *why)
{
    memset(u, 0, sizeof *u);
    const char *p = s.p, *e = s.p + s.len;
    u->raw = s;
    if (s.len > lim->max_uri)
        return perr(why, SIPREG_PERR_URI_TOO_LONG, s.p, p);
    if (p == e || !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
        return perr(why, SIPREG_PERR_URI, s.p, p);
    const char *sch = p++;
    p = span(p, e, CC_SCHEME);
    if (p == e || *p != ':')
        return perr(why, SIPREG_PERR_URI, s.p, p);
    u->scheme_s = mkstr(sch, p);
    p++;
    if (STR_IS(u->scheme_s, "sip") || STR_IS(u->scheme_s, "sips")) {
        u->scheme = u->scheme_s.len == 3 ? SIPREG_URI_SIP : SIPREG_URI_SIPS;
        return parse_sip(u, p, e, lim, a, s.p, why);
    }
    if (STR_IS(u->scheme_s, "tel")) {
        u->scheme = SIPREG_URI_TEL;
        return parse_tel(u, p, e, lim, a, s.p, why);
    }
    u->scheme = SIPREG_URI_OTHER;
    const char *ctl = span_not(p, e, CC_CTL);
    if (ctl < e)
        return perr(why, SIPREG_PERR_URI, s.p, ctl);
    if (p == e)
        return perr(why, SIPREG_PERR_URI, s.p, p);
    u->opaque = mkstr(p, e);
    return 0;
}

int sipreg_uri_parse(struct sipreg_uri *u, struct sipreg_str s,
                     const struct sipreg_msg_limits *limits, struct sipreg_arena *a,
                     struct sipreg_perr *why)
{
    struct sipreg_msg_limits lim;
    sipreg__limits(&lim, limits);
    return sipreg__uri_parse(u, present(s), &lim, a, why);
}

uint16_t sipreg_uri_port(const struct sipreg_uri *u)
{
    return u->port ? u->port : u->scheme == SIPREG_URI_SIPS ? 5061 : 5060;
}
