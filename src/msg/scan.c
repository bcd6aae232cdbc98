/* Character classes and the scanners shared by every structured header parser (RFC 3261 §25). */
#include <string.h>

#include "msg_int.h"

#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALNUM(c) (IS_ALPHA(c) || IS_DIGIT(c))
#define IS_HEX(c)   (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define IS_MARK(c)                                                                       \
    ((c) == '-' || (c) == '_' || (c) == '.' || (c) == '!' || (c) == '~' || (c) == '*' || \
     (c) == '\'' || (c) == '(' || (c) == ')')
#define IS_TOKEN(c)                                                                       \
    (IS_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '!' || (c) == '%' || (c) == '*' || \
     (c) == '_' || (c) == '+' || (c) == '`' || (c) == '\'' || (c) == '~')
#define IS_WORDX(c)                                                                       \
    ((c) == '(' || (c) == ')' || (c) == '<' || (c) == '>' || (c) == ':' || (c) == '\\' || \
     (c) == '"' || (c) == '/' || (c) == '[' || (c) == ']' || (c) == '?' || (c) == '{' ||  \
     (c) == '}')

#define CLS(c)                                                                             \
    (uint16_t)((IS_TOKEN(c) ? CC_TOKEN : 0) |                                              \
               (((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n') ? CC_WS : 0) |   \
               ((IS_ALNUM(c) || IS_MARK(c)) ? CC_UNRES : 0) |                              \
               (((c) == '&' || (c) == '=' || (c) == '+' || (c) == '$' || (c) == ',' ||     \
                 (c) == ';' || (c) == '?' || (c) == '/')                                   \
                    ? CC_USER                                                              \
                    : 0) |                                                                 \
               (((c) == '[' || (c) == ']' || (c) == '/' || (c) == ':' || (c) == '&' ||     \
                 (c) == '+' || (c) == '$')                                                 \
                    ? CC_PARAM                                                             \
                    : 0) |                                                                 \
               (((c) == '[' || (c) == ']' || (c) == '/' || (c) == '?' || (c) == ':' ||     \
                 (c) == '+' || (c) == '$')                                                 \
                    ? CC_HNV                                                               \
                    : 0) |                                                                 \
               ((IS_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '_') ? CC_HOST : 0) |   \
               ((IS_TOKEN(c) || IS_WORDX(c)) ? CC_WORD : 0) |                              \
               ((IS_ALNUM(c) || IS_MARK(c) || (c) == '&' || (c) == '=' || (c) == '+' ||    \
                 (c) == '$' || (c) == ',')                                                 \
                    ? CC_PASSWD                                                            \
                    : 0) |                                                                 \
               (IS_HEX(c) ? CC_HEX : 0) | (IS_DIGIT(c) ? CC_DIGIT : 0) |                   \
               ((IS_ALNUM(c) || (c) == '+' || (c) == '-' || (c) == '.') ? CC_SCHEME : 0) | \
               (((c) == ';' || (c) == ',' || (c) == '?' || (c) == '"' || (c) == '<' ||     \
                 (c) == '>' || (c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')    \
                    ? CC_PDELIM                                                            \
                    : 0) |                                                                 \
               (((c) == ',' || (c) == '"' || (c) == '<' || (c) == '>') ? CC_LIST : 0) |    \
               (((c) <= ' ' || (c) == 0x7f) ? CC_CTL : 0))

#define R4(b)  CLS(b), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)

const uint16_t sipreg__cc[256] = {R64(0), R64(64), R64(128), R64(192)};

#undef R4
#define LOW(c) (unsigned char)(((c) >= 'A' && (c) <= 'Z') ? (c) | 0x20 : (c))
#define R4(b)  LOW(b), LOW((b) + 1), LOW((b) + 2), LOW((b) + 3)

const unsigned char sipreg__lower[256] = {R64(0), R64(64), R64(128), R64(192)};

void sipreg__limits(struct sipreg_msg_limits *out, const struct sipreg_msg_limits *in)
{
    static const struct sipreg_msg_limits def = {65535, 64, 8192, 32, 2048, 32};
    if (!in) {
        *out = def;
        return;
    }
    out->max_size = in->max_size ? in->max_size : def.max_size;
    out->max_headers = in->max_headers ? in->max_headers : def.max_headers;
    if (out->max_headers > SIPREG_MSG_HDRS_MAX)
        out->max_headers = SIPREG_MSG_HDRS_MAX;
    out->max_line = in->max_line ? in->max_line : def.max_line;
    out->max_params = in->max_params ? in->max_params : def.max_params;
    out->max_uri = in->max_uri ? in->max_uri : def.max_uri;
    out->max_list = in->max_list ? in->max_list : def.max_list;
}

const char *sipreg__scan_quoted(const char *p, const char *end)
{
    p++; /* opening quote */
    for (;;) {
        p = find_any4(p, end, '"', '\\', '\r', '\n');
        if (p == end)
            break;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            /* quoted-pair: any char but CR/LF */
            if (p + 1 >= end || p[1] == '\r' || p[1] == '\n')
                return NULL;
            p += 2;
            continue;
        }
        if (c == '\r' || c == '\n') {
            /* only folding (CRLF followed by WSP) may appear inside a quoted string */
            const char *q = p;
            if (*q == '\r')
                q++;
            if (q < end && *q == '\n')
                q++;
            if (q >= end || (*q != ' ' && *q != '\t'))
                return NULL;
            p = q;
            continue;
        }
        p++;
    }
    return NULL;
}

int sipreg__list_next(const char **pp, const char *end, struct sipreg_str *elem)
{
    const char *p = skip_ws(*pp, end);
    const char *start = p;
    int angle = 0;
    for (;;) {
        p = find_any4(p, end, ',', '"', '<', '>');
        if (p == end)
            break;
        char c = *p;
        if (c == '"') {
            const char *q = sipreg__scan_quoted(p, end);
            if (!q)
                return SIPREG_EPARSE;
            p = q;
            continue;
        }
        if (c == '<')
            angle = 1;
        else if (c == '>')
            angle = 0;
        else if (c == ',' && !angle)
            break;
        p++;
    }
    if (angle)
        return SIPREG_EPARSE;
    *elem = mkstr(start, rskip_ws(start, p));
    if (p < end) {
        /* a separator must be followed by another element */
        if (skip_ws(p + 1, end) == end)
            return SIPREG_EPARSE;
        p++;
    }
    *pp = p;
    return 0;
}

struct sipreg_str sipreg__unquote(struct sipreg_str v)
{
    if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
        return (struct sipreg_str){v.p + 1, v.len - 2};
    return v;
}

struct sipreg_param *sipreg__params_push(struct params_acc *acc, struct sipreg_arena *a, int *nomem)
{
    *nomem = 0;
    if (acc->n == acc->max)
        return NULL;
    if (acc->n == acc->cap) {
        /* spill: grow geometrically, bounded by the limit (the arena is bounded anyway) */
        size_t cap = acc->cap * 2 < acc->max ? acc->cap * 2 : acc->max;
        struct sipreg_param *v = sipreg__arena_alloc(a, cap * sizeof *v);
        if (!v) {
            *nomem = 1;
            return NULL;
        }
        memcpy(v, acc->v, acc->n * sizeof *v);
        acc->v = v;
        acc->cap = cap;
    }
    return &acc->v[acc->n++];
}

int sipreg__params_finish(struct params_acc *acc, struct sipreg_params *ps, struct sipreg_arena *a)
{
    if (acc->v == acc->tmp) {
        struct sipreg_param *v = sipreg__arena_alloc(a, acc->n * sizeof *v);
        if (!v)
            return SIPREG_ENOMEM;
        memcpy(v, acc->tmp, acc->n * sizeof *v);
        acc->v = v;
    }
    ps->v = acc->v;
    ps->n = acc->n;
    return 0;
}

int sipreg__params_parse(struct sipreg_params *ps, const char *p, const char *end,
                         const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                         enum sipreg_perr_code code, const char *base, struct sipreg_perr *why)
{
    ps->v = NULL;
    ps->n = 0;
    p = skip_ws(p, end);
    if (p == end)
        return 0;
    struct params_acc acc;
    params_acc_init(&acc, lim->max_params);
    while (p < end) {
        if (*p != ';')
            return perr(why, code, base, p);
        p = skip_ws(p + 1, end);
        const char *name = p;
        p = span_fast(p, end, CC_TOKEN);
        if (p == name)
            return perr(why, code, base, p);
        int nomem;
        struct sipreg_param *pm = sipreg__params_push(&acc, a, &nomem);
        if (!pm)
            return perr(why, nomem ? SIPREG_PERR_NO_MEMORY : SIPREG_PERR_TOO_MANY_PARAMS, base,
                        name);
        pm->name = mkstr(name, p);
        pm->value = SIPREG_STR_NULL;
        p = skip_ws(p, end);
        if (p < end && *p == '=') {
            p = skip_ws(p + 1, end);
            const char *v = p;
            if (p < end && *p == '"') {
                p = sipreg__scan_quoted(p, end);
                if (!p)
                    return perr(why, SIPREG_PERR_QUOTE, base, v);
            } else {
                p = span_not_fast(p, end, CC_PDELIM);
                if (p == v)
                    return perr(why, code, base, p);
            }
            pm->value = mkstr(v, p);
            p = skip_ws(p, end);
        }
    }
    if (sipreg__params_finish(&acc, ps, a) != 0)
        return perr(why, SIPREG_PERR_NO_MEMORY, base, p);
    return 0;
}

const struct sipreg_param *sipreg_params_find(const struct sipreg_params *ps, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < ps->n; i++) {
        const struct sipreg_str *pn = &ps->v[i].name;
        if (pn->len != n)
            continue;
        /* names are nearly always written as the caller spells them: that is one word compare,
         * and only a difference is looked at byte by byte, ignoring case */
        if (fastpath() && bytes_eq(pn->p, name, n))
            return &ps->v[i];
        size_t k = 0;
        while (k < n &&
               sipreg__lower[(unsigned char)pn->p[k]] == sipreg__lower[(unsigned char)name[k]])
            k++;
        if (k == n)
            return &ps->v[i];
    }
    return NULL;
}
