/* Internals shared by the message-layer parsers: character classes, whitespace and list scanning.
 */
#ifndef SIPREG_MSG_INT_H
#define SIPREG_MSG_INT_H

#include "sipreg/msg.h"

/* Character class bits (RFC 3261 §25.1). */
enum {
    CC_TOKEN = 1 << 0,   /* token: alphanum and -.!%*_+`'~ */
    CC_WS = 1 << 1,      /* SP HT CR LF: inside a header value, CR/LF only occur as folding */
    CC_UNRES = 1 << 2,   /* unreserved: alphanum and mark -_.!~*'() */
    CC_USER = 1 << 3,    /* user-unreserved: &=+$,;?/ */
    CC_PARAM = 1 << 4,   /* param-unreserved: []/:&+$ */
    CC_HNV = 1 << 5,     /* hnv-unreserved: []/?:+$ */
    CC_HOST = 1 << 6,    /* hostname characters: alphanum - . _ */
    CC_WORD = 1 << 7,    /* word (Call-ID): token chars and ()<>:\"/[]?{} */
    CC_PASSWD = 1 << 8,  /* password: unreserved and &=+$, */
    CC_HEX = 1 << 9,     /* HEXDIG */
    CC_DIGIT = 1 << 10,  /* DIGIT */
    CC_SCHEME = 1 << 11, /* scheme after the first char: alphanum + - . */
};

extern const uint16_t sipreg__cc[256];

static inline int cc(unsigned char c, unsigned cls)
{
    return (sipreg__cc[c] & cls) != 0;
}

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && cc((unsigned char)*p, CC_WS))
        p++;
    return p;
}

static inline const char *rskip_ws(const char *start, const char *end)
{
    while (end > start && cc((unsigned char)end[-1], CC_WS))
        end--;
    return end;
}

static inline struct sipreg_str mkstr(const char *p, const char *end)
{
    return (struct sipreg_str){p, (size_t)(end - p)};
}

static inline struct sipreg_str trim(struct sipreg_str s)
{
    const char *p = skip_ws(s.p, s.p + s.len);
    const char *e = rskip_ws(p, s.p + s.len);
    return mkstr(p, e);
}

static inline unsigned char lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* Sets why (when non-NULL) and returns SIPREG_EPARSE. `base` is the start of the parsed buffer
 * or slice, so the offset is relative to it. */
static inline int perr(struct sipreg_perr *why, enum sipreg_perr_code code, const char *base,
                       const char *at)
{
    if (why) {
        why->code = code;
        why->offset = (base && at >= base) ? (size_t)(at - base) : 0;
    }
    return code == SIPREG_PERR_NO_MEMORY ? SIPREG_ENOMEM : SIPREG_EPARSE;
}

/* The limits with defaults filled in. */
void sipreg__limits(struct sipreg_msg_limits *out, const struct sipreg_msg_limits *in);

/* Scans a quoted-string starting at `p` (which must be '"'); returns the position after the
 * closing quote, or NULL if unterminated or holding a bare CR/LF not part of folding. */
const char *sipreg__scan_quoted(const char *p, const char *end);

/* Splits off the next element of a comma-separated list, honouring quotes and <>. On return
 * *elem is the trimmed element and *pp is after the comma (or at end). Returns 0, or
 * SIPREG_EPARSE for an unterminated quote or angle bracket, or a trailing comma. */
int sipreg__list_next(const char **pp, const char *end, struct sipreg_str *elem);

/* Parses `;name[=value]` parameters from p to end (p at the first ';' or at end). Values may be
 * quoted strings (kept with their quotes) or runs of non-delimiters. The array comes from the
 * arena. Returns 0 / SIPREG_EPARSE / SIPREG_ENOMEM with why set; `code` is the perr code used
 * for malformed parameters. */
int sipreg__params_parse(struct sipreg_params *ps, const char *p, const char *end, char sep,
                         const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                         enum sipreg_perr_code code, const char *base, struct sipreg_perr *why);

/* Removes the quotes of a quoted parameter value (no unescaping). */
struct sipreg_str sipreg__unquote(struct sipreg_str v);

#endif
