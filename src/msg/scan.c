/* Character classes and the scanners shared by every structured header parser (RFC 3261 §25). */
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

#define CLS(c)                                                                           \
    (uint16_t)((IS_TOKEN(c) ? CC_TOKEN : 0) |                                            \
               (((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n') ? CC_WS : 0) | \
               ((IS_ALNUM(c) || IS_MARK(c)) ? CC_UNRES : 0) |                            \
               (((c) == '&' || (c) == '=' || (c) == '+' || (c) == '$' || (c) == ',' ||   \
                 (c) == ';' || (c) == '?' || (c) == '/')                                 \
                    ? CC_USER                                                            \
                    : 0) |                                                               \
               (((c) == '[' || (c) == ']' || (c) == '/' || (c) == ':' || (c) == '&' ||   \
                 (c) == '+' || (c) == '$')                                               \
                    ? CC_PARAM                                                           \
                    : 0) |                                                               \
               (((c) == '[' || (c) == ']' || (c) == '/' || (c) == '?' || (c) == ':' ||   \
                 (c) == '+' || (c) == '$')                                               \
                    ? CC_HNV                                                             \
                    : 0) |                                                               \
               ((IS_ALNUM(c) || (c) == '-' || (c) == '.' || (c) == '_') ? CC_HOST : 0) | \
               ((IS_TOKEN(c) || IS_WORDX(c)) ? CC_WORD : 0) |                            \
               ((IS_ALNUM(c) || IS_MARK(c) || (c) == '&' || (c) == '=' || (c) == '+' ||  \
                 (c) == '$' || (c) == ',')                                               \
                    ? CC_PASSWD                                                          \
                    : 0) |                                                               \
               (IS_HEX(c) ? CC_HEX : 0) | (IS_DIGIT(c) ? CC_DIGIT : 0) |                 \
               ((IS_ALNUM(c) || (c) == '+' || (c) == '-' || (c) == '.') ? CC_SCHEME : 0))

#define R4(b)  CLS(b), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)

const uint16_t sipreg__cc[256] = {R64(0), R64(64), R64(128), R64(192)};

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
    while (p < end) {
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
    while (p < end) {
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

/* A parameter value ends at any of these outside quotes. */
static inline int param_delim(unsigned char c, char sep)
{
    return c == (unsigned char)sep || c == ',' || c == ';' || c == '?' || cc(c, CC_WS) ||
           c == '"' || c == '<' || c == '>';
}

int sipreg__params_parse(struct sipreg_params *ps, const char *p, const char *end, char sep,
                         const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                         enum sipreg_perr_code code, const char *base, struct sipreg_perr *why)
{
    ps->v = NULL;
    ps->n = 0;
    p = skip_ws(p, end);
    if (p == end)
        return 0;
    /* Upper bound on the count (separators inside quotes overcount, harmlessly). */
    size_t n = 0;
    for (const char *q = p; q < end; q++)
        n += *q == sep;
    if (n > lim->max_params)
        n = lim->max_params + 1; /* enough to detect the overflow below */
    ps->v = sipreg_arena_alloc(a, n * sizeof *ps->v);
    if (!ps->v)
        return perr(why, SIPREG_PERR_NO_MEMORY, base, p);
    while (p < end) {
        if (*p != sep)
            return perr(why, code, base, p);
        p = skip_ws(p + 1, end);
        const char *name = p;
        while (p < end && cc((unsigned char)*p, CC_TOKEN))
            p++;
        if (p == name)
            return perr(why, code, base, p);
        if (ps->n == lim->max_params || ps->n == n)
            return perr(why, SIPREG_PERR_TOO_MANY_PARAMS, base, name);
        struct sipreg_param *pm = &ps->v[ps->n++];
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
                while (p < end && !param_delim((unsigned char)*p, sep))
                    p++;
                if (p == v)
                    return perr(why, code, base, p);
            }
            pm->value = mkstr(v, p);
            p = skip_ws(p, end);
        }
    }
    return 0;
}

const struct sipreg_param *sipreg_params_find(const struct sipreg_params *ps, const char *name)
{
    struct sipreg_str n = sipreg_str_z(name);
    for (size_t i = 0; i < ps->n; i++)
        if (sipreg_str_caseeq(ps->v[i].name, n))
            return &ps->v[i];
    return NULL;
}
