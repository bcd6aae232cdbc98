/* Digest challenge and credentials headers (RFC 3261 §20.7/§20.44, RFC 7616 §3.3-3.4, RFC 8760). */
#include <string.h>

#include "msg_int.h"

static int set_field(struct sipreg_auth *au, const struct sipreg_param *pm)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"realm", offsetof(struct sipreg_auth, realm)},
        {"domain", offsetof(struct sipreg_auth, domain)},
        {"nonce", offsetof(struct sipreg_auth, nonce)},
        {"opaque", offsetof(struct sipreg_auth, opaque)},
        {"stale", offsetof(struct sipreg_auth, stale)},
        {"algorithm", offsetof(struct sipreg_auth, algorithm)},
        {"qop", offsetof(struct sipreg_auth, qop)},
        {"charset", offsetof(struct sipreg_auth, charset)},
        {"userhash", offsetof(struct sipreg_auth, userhash)},
        {"username", offsetof(struct sipreg_auth, username)},
        {"username*", offsetof(struct sipreg_auth, username_star)},
        {"uri", offsetof(struct sipreg_auth, uri)},
        {"response", offsetof(struct sipreg_auth, response)},
        {"cnonce", offsetof(struct sipreg_auth, cnonce)},
        {"nc", offsetof(struct sipreg_auth, nc)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!sipreg_str_caseeqz(pm->name, fields[i].name))
            continue;
        struct sipreg_str *f = (struct sipreg_str *)(void *)((char *)au + fields[i].off);
        if (f->p)
            return -1; /* a parameter given twice is ambiguous: reject */
        *f = sipreg__unquote(pm->value);
        return 0;
    }
    return 0;
}

int sipreg_auth_parse(struct sipreg_auth *au, struct sipreg_str s,
                      const struct sipreg_msg_limits *limits, struct sipreg_arena *a,
                      struct sipreg_perr *why)
{
    struct sipreg_msg_limits lim;
    sipreg__limits(&lim, limits);
    memset(au, 0, sizeof *au);
    s = present(s);
    const char *p = skip_ws(s.p, s.p + s.len), *e = rskip_ws(p, s.p + s.len);
    const char *sch = p;
    while (p < e && cc((unsigned char)*p, CC_TOKEN))
        p++;
    if (p == sch)
        return perr(why, SIPREG_PERR_AUTH, s.p, p);
    au->scheme = mkstr(sch, p);
    if (p < e && !cc((unsigned char)*p, CC_WS))
        return perr(why, SIPREG_PERR_AUTH, s.p, p);
    p = skip_ws(p, e);
    if (p == e)
        return 0; /* a bare scheme */
    /* auth-param *(COMMA auth-param), auth-param = token LWS "=" LWS (token / quoted-string) */
    size_t n = 1;
    for (const char *q = p; q < e; q++)
        n += *q == ',';
    if (n > lim.max_params)
        n = lim.max_params + 1;
    au->params.v = sipreg_arena_alloc(a, n * sizeof *au->params.v);
    if (!au->params.v)
        return perr(why, SIPREG_PERR_NO_MEMORY, s.p, p);
    while (p < e) {
        const char *name = p;
        while (p < e && (cc((unsigned char)*p, CC_TOKEN) || *p == '*'))
            p++;
        if (p == name)
            return perr(why, SIPREG_PERR_AUTH, s.p, p);
        const char *name_end = p;
        p = skip_ws(p, e);
        if (p == e || *p != '=') {
            /* token68 (RFC 7235) for schemes other than Digest: keep it as a lone value */
            if (au->params.n == 0 && !sipreg_str_caseeqz(au->scheme, "Digest")) {
                while (p < e && *p == '=')
                    p++;
                if (p != e)
                    return perr(why, SIPREG_PERR_AUTH, s.p, p);
                return 0;
            }
            return perr(why, SIPREG_PERR_AUTH, s.p, p);
        }
        p = skip_ws(p + 1, e);
        const char *v = p;
        if (p < e && *p == '"') {
            p = sipreg__scan_quoted(p, e);
            if (!p)
                return perr(why, SIPREG_PERR_QUOTE, s.p, v);
        } else {
            while (p < e && *p != ',' && !cc((unsigned char)*p, CC_WS) && *p != '"')
                p++;
            if (p == v)
                return perr(why, SIPREG_PERR_AUTH, s.p, p);
        }
        if (au->params.n == lim.max_params || au->params.n == n)
            return perr(why, SIPREG_PERR_TOO_MANY_PARAMS, s.p, name);
        struct sipreg_param *pm = &au->params.v[au->params.n++];
        pm->name = mkstr(name, name_end);
        pm->value = mkstr(v, p);
        if (set_field(au, pm) != 0)
            return perr(why, SIPREG_PERR_AUTH, s.p, name);
        p = skip_ws(p, e);
        if (p < e) {
            if (*p != ',')
                return perr(why, SIPREG_PERR_AUTH, s.p, p);
            p = skip_ws(p + 1, e);
        }
    }
    if (au->nc.p) {
        /* nc = 8LHEX */
        uint32_t v = 0;
        if (au->nc.len != 8)
            return perr(why, SIPREG_PERR_AUTH, s.p, au->nc.p);
        for (size_t i = 0; i < 8; i++) {
            unsigned char c = lc((unsigned char)au->nc.p[i]);
            if (!cc(c, CC_HEX))
                return perr(why, SIPREG_PERR_AUTH, s.p, au->nc.p + i);
            v = (v << 4) | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        au->nc_val = v;
    }
    au->stale_true = au->stale.p && sipreg_str_caseeqz(au->stale, "true");
    return 0;
}
