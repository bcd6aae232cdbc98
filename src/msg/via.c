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
    if (fastpath() && e - p >= 8 && memcmp(p, "SIP/2.0/", 8) == 0) {
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

/* The parameters Via gives a meaning to. */
enum via_param { VP_OTHER, VP_BRANCH, VP_RECEIVED, VP_MADDR, VP_RPORT, VP_TTL };

/* 1 when the n bytes at p (4 <= n <= 8) spell `lit`, given in lower-case letters only, ignoring
 * case: OR-ing 0x20 into a byte maps only the upper-case letter onto its lower-case one, so the
 * comparison is exact. Two overlapping 4-byte words cover the name. */
static inline int name_is(const char *p, size_t n, const char *lit)
{
    const uint64_t fold = 0x20202020;
    return (load_le(p, 4) | fold) == load_le(lit, 4) &&
           (load_le(p + n - 4, 4) | fold) == load_le(lit + n - 4, 4);
}

/* The end of the parameter name (a token, maybe empty) at q, and which parameter it is. The
 * known names are compared as one word first (folded as in name_is, the bytes after the name
 * shifted off) and confirmed by a non-token byte after them: for `branch`, the '=' that nearly
 * always follows is compared with it, unfolded. With fewer than 8 bytes left, the word is the
 * last 8 up to e shifted down (all at or after `start`, the first byte that may be read), else
 * 0: the zero bytes after e, folded or not, match no byte of the names or of '='. */
static inline const char *param_name(const char *q, const char *e, const char *start,
                                     enum via_param *kind)
{
    uint64_t w = 0;
    if (e - q >= 8)
        w = load_le(q, 8);
    else if (q < e && e - start >= 8)
        w = load_le(e - 8, 8) >> (8 * (8 - (e - q)));
    if ((w | 0x202020202020u) << 8 == load_le("branch=\0", 8) << 8) {
        *kind = VP_BRANCH;
        return q + 6;
    }
    const char *r = NULL;
    w |= 0x2020202020202020u;
    if (w == load_le("received", 8)) {
        *kind = VP_RECEIVED;
        r = q + 8;
    } else if (w << 24 == load_le("rport\0\0\0", 8) << 24) {
        *kind = VP_RPORT;
        r = q + 5;
    }
    if (r && (r == e || !cc((unsigned char)*r, CC_TOKEN)))
        return r;
    /* names are short: no vector scan */
    r = span(q, e, CC_TOKEN);
    size_t n = (size_t)(r - q);
    *kind = VP_OTHER;
    if (n == 6 && name_is(q, 6, "branch"))
        *kind = VP_BRANCH;
    else if (n == 8 && name_is(q, 8, "received"))
        *kind = VP_RECEIVED;
    else if (n == 5 && name_is(q, 5, "rport"))
        *kind = VP_RPORT;
    else if (n == 5 && name_is(q, 5, "maddr"))
        *kind = VP_MADDR;
    else if (n == 3 && (q[0] | 0x20) == 't' && (q[1] | 0x20) == 't' && (q[2] | 0x20) == 'l')
        *kind = VP_TTL;
    return r;
}

/* The number of 1 to 5 decimal digits at p, followed by no other digit, with *end after it; -1
 * for none or more (leading zeros included: the general path reads those). */
static long dec5_bytes(const char *p, const char *e, const char **end)
{
    size_t n = 0;
    long v = 0;
    /* a sixth digit is enough to refuse: v stays far from overflowing */
    for (; n < 6 && p + n < e && (unsigned)(p[n] - '0') <= 9; n++)
        v = v * 10 + (p[n] - '0');
    if (n == 0 || n > 5)
        return -1;
    *end = p + n;
    return v;
}

/* dec5_bytes() on one word: the 8 bytes at p, or when fewer are left before e the 8 bytes up to
 * e (all at or after `start`, the first byte that may be read) shifted down, zero bytes coming
 * after e. A byte is a digit when its high nibble is 3 and stays 3 once 6 is added (a carry out
 * of a non-digit byte only disturbs the bytes after it); the n digits are then shifted to the top
 * of the word, under zero bytes that read as leading zeros, and combined pairwise: 2, 4, then 8
 * digits at a time. */
static inline long dec5(const char *p, const char *e, const char *start, const char **end)
{
    uint64_t w;
    if (e - p >= 8)
        w = load_le(p, 8);
    else if (p < e && e - start >= 8)
        w = load_le(e - 8, 8) >> (8 * (8 - (e - p)));
    else
        return dec5_bytes(p, e, end);
    /* 5060, the default port, is what nearly every explicit port is: one compare, then no digit
     * may follow */
    if ((uint32_t)w == load_le("5060\0\0\0", 8) && (unsigned char)((w >> 32) - '0') > 9) {
        *end = p + 4;
        return 5060;
    }
    const uint64_t hi = 0xf0f0f0f0f0f0f0f0u, three = 0x3030303030303030u;
    uint64_t x = ((w & hi) ^ three) | (((w + 0x0606060606060606u) & hi) ^ three);
    size_t n = x ? (size_t)__builtin_ctzll(x) / 8 : 8;
    if (n == 0 || n > 5)
        return -1;
    w = (w & 0x0f0f0f0f0f0f0f0fu) << (8 * (8 - n));
    /* 2561 = 10 * 2^8 + 1, 6553601 = 100 * 2^16 + 1, 42949672960001 = 10000 * 2^32 + 1: each
     * multiply adds every digit group times its weight to the group above it */
    w = (w * 2561) >> 8;
    w = ((w & 0x00ff00ff00ff00ffu) * 6553601) >> 16;
    *end = p + n;
    return (long)(((w & 0x0000ffff0000ffffu) * 42949672960001u) >> 32);
}

#ifdef __SSE2__
/* The bytes of the 16 at b that may end an unquoted parameter value, as a bit mask: every byte
 * up to ',' (controls, SP, '"' and ',' among them, and the bytes above 0x7f, negative here: the
 * sign of the byte less '-', saturated) and from ';' to '?' (';' '<' '>' '?', and '='; an
 * unsigned range as in not_host16()). */
static inline unsigned pdelim16(const char *b)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)b);
    const __m128i w4 = _mm_set1_epi8(4);
    __m128i r = _mm_sub_epi8(x, _mm_set1_epi8(0x3b));
    __m128i f = _mm_or_si128(_mm_subs_epi8(x, _mm_set1_epi8(0x2d)),
                             _mm_cmpeq_epi8(_mm_max_epu8(r, w4), w4));
    return (unsigned)_mm_movemask_epi8(f);
}

/* The end of an unquoted parameter value at p: its first CC_PDELIM byte, or e. The flagged bytes
 * of pdelim16() are looked up; the tail as in host_end(). */
static inline const char *value_end(const char *p, const char *e, const char *start)
{
    for (;;) {
        unsigned m;
        if (e - p >= 16) {
            m = pdelim16(p);
            if (!m) {
                p += 16;
                continue;
            }
        } else if (p < e && e - start >= 16) {
            m = pdelim16(e - 16) >> (16 - (e - p));
            if (!m)
                return e;
        } else {
            return span_not(p, e, CC_PDELIM);
        }
        p += __builtin_ctz(m);
        if (cc((unsigned char)*p, CC_PDELIM))
            return p;
        p++;
    }
}

/* The bytes of the 16 at b that are not host name characters (CC_HOST: letters, digits, '-',
 * '.', '_'), as a bit mask, '_' included: a byte is in when, with the case bit set, it is within
 * 'a'..'z', or when it is within '-'..'9' but not '/' (unsigned ranges: the maximum of the byte
 * less the range's start and the range's width is the width). */
static inline unsigned not_host16(const char *b)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)b);
    const __m128i w25 = _mm_set1_epi8(25), w12 = _mm_set1_epi8(12);
    __m128i alpha = _mm_sub_epi8(_mm_or_si128(x, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
    alpha = _mm_cmpeq_epi8(_mm_max_epu8(alpha, w25), w25);
    __m128i num = _mm_sub_epi8(x, _mm_set1_epi8('-'));
    num = _mm_cmpeq_epi8(_mm_max_epu8(num, w12), w12);
    num = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('/')), num);
    return ~(unsigned)_mm_movemask_epi8(_mm_or_si128(alpha, num)) & 0xffffu;
}

/* The end of the host name at p: its first byte not in CC_HOST, or e: the first byte flagged by
 * not_host16() other than '_'. With fewer than 16 bytes left, the last 16 up to e are looked at
 * when they are all at or after `start` (the first byte that may be read). */
static inline const char *host_end(const char *p, const char *e, const char *start)
{
    for (;;) {
        unsigned m;
        if (e - p >= 16) {
            m = not_host16(p);
            if (!m) {
                p += 16;
                continue;
            }
        } else if (p < e && e - start >= 16) {
            m = not_host16(e - 16) >> (16 - (e - p));
            if (!m)
                return e;
        } else {
            return span(p, e, CC_HOST);
        }
        p += __builtin_ctz(m);
        if (*p != '_')
            return p;
        p++;
    }
}

#else
static inline const char *host_end(const char *p, const char *e, const char *start)
{
    (void)start;
    return span(p, e, CC_HOST);
}

static inline const char *value_end(const char *p, const char *e, const char *start)
{
    (void)start;
    return span_not(p, e, CC_PDELIM);
}
#endif

/* Sets the field of a known parameter other than branch (that one is set inline) and rport
 * with a value (read as it is found). 0, or -1 when the general path would reject it. */
static int via_param_set(struct sipreg_via *v, enum via_param kind, struct sipreg_str val)
{
    uint64_t num;
    switch (kind) {
    case VP_RECEIVED:
    case VP_MADDR:
        if (!val.p)
            return -1;
        *(kind == VP_RECEIVED ? &v->received : &v->maddr) = val;
        return 0;
    case VP_RPORT:
        v->rport = 0; /* without a value */
        return 0;
    case VP_TTL:
        if (!val.p || sipreg__dec_u64(val, 255, &num) != 0)
            return -1;
        v->ttl = (int)num;
        return 0;
    default: return 0;
    }
}

/* The common form of a whole Via field value, from p (after any leading LWS) to e, read once
 * from left to right: each element is `SIP/2.0/` transport, one LWS byte, host [":" port]
 * *(LWS ";" token ["=" value]), with unquoted values, up to the next ',' (no element can hold a
 * quote or angle bracket here, so the first ',' is where the list splitter would cut). The
 * elements are linked from *tail on; returns where the last one's `next` is, or NULL on anything
 * else (IPv6, quotes, LWS inside a parameter, a bad or missing part, a limit or the arena's end
 * reached): the caller then forgets what this took and runs the general parser, which gives
 * every verdict. Arena use is the same as the general parser's. Bytes from `start` (at or before
 * p) on may be read, to look at the last 16 of the field at once. Inlined into both callers, so
 * that sipreg__msg_via() runs it for each Via header without a call. */
static inline __attribute__((always_inline)) struct sipreg_via **
via_fast(struct sipreg_via **tail, const char *p, const char *e, const char *start,
         const struct sipreg_msg_limits *lim, struct sipreg_arena *a)
{
    /* The parameters are written in place after their element, where the arena's next
     * allocation would start (a Via's size rounded up to the arena's alignment), and the arena
     * is advanced once their number is known: what sipreg__arena_alloc(n * size) would use. */
    const size_t align = _Alignof(max_align_t);
    const size_t via_size = (sizeof(struct sipreg_via) + align - 1) & ~(align - 1);
    size_t n = 1; /* elements so far, this one included (sipreg__limits makes max_list 1 or more) */
    for (;;) {
        if (e - p < 12 || load_le(p, 8) != load_le("SIP/2.0/", 8))
            return NULL;
        struct sipreg_via *v = sipreg__arena_alloc(a, sizeof *v);
        if (!v)
            return NULL;
        const char *t = p + 8;
        v->raw.p = p; /* its length once known: one register less in the meantime */
        v->proto_name = mkstr(p, p + 3);
        v->proto_version = mkstr(p + 4, p + 7);
        uint64_t w = load_le(t, 4);
        /* UDP, by far the most common, tested on its own: one compare and branch, not three
         * compares combined */
        if (w == load_le("UDP \0\0\0", 8)) {
            p = t + 3; /* what the token scan below would find */
        } else if (w == load_le("TCP \0\0\0", 8) || w == load_le("TLS \0\0\0", 8)) {
            p = t + 3;
        } else {
            p = span(t, e, CC_TOKEN);
            if (p == t || p == e || !cc((unsigned char)*p, CC_WS))
                return NULL;
        }
        v->transport = mkstr(t, p);
        /* one LWS byte: with more, the host name found here is empty and the general parser
         * takes the field */
        t = p = p + 1;
        p = host_end(p, e, start);
        if (p == t)
            return NULL;
        v->host = mkstr(t, p);
        v->host_ipv6 = false;
        long port = 0;
        if (p < e && *p == ':') {
            port = dec5(p + 1, e, start, &p);
            if (port <= 0 || port > 65535)
                return NULL;
        }
        v->port = (uint16_t)port;
        v->branch = v->received = v->maddr = SIPREG_STR_NULL;
        v->rport = v->ttl = -1;
        v->next = NULL;
        /* the bytes after the element: an arena too full for one parameter there is left to the
         * general parser */
        size_t left = a->cap - a->used;
        if (left < via_size - sizeof *v + sizeof(struct sipreg_param))
            return NULL;
        size_t room = (left - (via_size - sizeof *v)) / sizeof(struct sipreg_param);
        struct sipreg_param *pv = (struct sipreg_param *)(void *)((char *)v + via_size);
        if (room > lim->max_params)
            room = lim->max_params;
        /* past PARAMS_STACK parameters the general parser's arena use grows differently (its
         * spill array): such a Via is left to it, so that an arena's end gives the same verdict */
        if (room > PARAMS_STACK)
            room = PARAMS_STACK;
        struct sipreg_param *pm = pv, *pend = pv + room;
        v->params.v = pv; /* NULL again below if no parameter comes */
        /* p is the end of what was read so far: the element ends there unless a ';' follows */
        const char *q = p;
        for (;;) {
            if (q == e || *q == ',')
                break;
            if (*q != ';') {
                if (!cc((unsigned char)*q, CC_WS))
                    return NULL;
                q = skip_ws(q, e);
                continue;
            }
            if (pm == pend)
                return NULL;
            enum via_param kind;
            t = ++q;
            q = param_name(q, e, start, &kind);
            if (q == t)
                return NULL;
            pm->name = mkstr(t, q);
            struct sipreg_str val = SIPREG_STR_NULL;
            if (q < e && *q == '=') {
                t = ++q;
                if (kind == VP_RPORT) {
                    /* digits only, or the general path says why not */
                    long num = dec5(q, e, start, &q);
                    if (num <= 0 || num > 65535 || (q < e && !cc((unsigned char)*q, CC_PDELIM)))
                        return NULL;
                    v->rport = (int)num;
                    kind = VP_OTHER;
                } else {
                    q = value_end(q, e, start);
                    if (q == t)
                        return NULL;
                }
                val = mkstr(t, q);
            }
            pm->value = val;
            pm++;
            p = q;
            if (kind == VP_BRANCH) {
                if (!val.p)
                    return NULL;
                v->branch = val;
            } else if (kind != VP_OTHER && via_param_set(v, kind, val) != 0) {
                return NULL;
            }
        }
        v->params.n = (size_t)(pm - v->params.v);
        if (v->params.n)
            a->used = (size_t)((const char *)pm - a->base);
        else
            v->params.v = NULL;
        v->raw.len = (size_t)(p - v->raw.p);
        *tail = v;
        tail = &v->next;
        /* only LWS between p and q */
        if (q == e)
            return tail;
        if (++n > lim->max_list)
            return NULL;
        p = skip_ws(q + 1, e); /* after the ',' */
    }
}

/* The general parser of a Via field value: every form, every verdict. */
static int via_general(struct sipreg_via **out, struct sipreg_str s,
                       const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                       struct sipreg_perr *why)
{
    const char *p = s.p, *e = s.p + s.len;
    struct sipreg_via *head = NULL, **tail = &head;
    size_t n = 0;
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

static int via_parse(struct sipreg_via **out, struct sipreg_str s,
                     const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                     struct sipreg_perr *why)
{
    size_t mark = sipreg__arena_mark(a);
    if (fastpath() && via_fast(out, skip_ws(s.p, s.p + s.len), s.p + s.len, s.p, lim, a))
        return 0;
    /* Anything unusual: the general path derives the value again from the start, so that every
     * verdict is the same as ever (list-level errors before element errors, arena use
     * included). */
    sipreg_arena_rewind(a, mark);
    *out = NULL;
    return via_general(out, s, lim, a, why);
}

/* One Via header of m (index + 1: i) by the general parser, linked at *tail; on success *tail
 * becomes where its last element's `next` is. */
static int msg_via_general(struct sipreg_msg *m, size_t i, struct sipreg_via ***tail,
                           struct sipreg_perr *why)
{
    const struct sipreg_hdr *h = &m->hdr[i - 1];
    struct sipreg_via *v;
    int err = via_general(&v, h->value, &m->lim, m->arena, why);
    if (err) {
        if (why)
            why->offset += (size_t)(h->value.p - m->buf); /* a message offset */
        return err;
    }
    /* max_list bounds each field's list (the element parser checks it), so the total is at most
     * max_headers * max_list */
    **tail = v;
    for (; v; v = v->next)
        *tail = &v->next;
    return 0;
}

int sipreg__msg_via(struct sipreg_msg *m, const struct sipreg_via **out, struct sipreg_perr *why)
{
    struct sipreg_via *head = NULL, **tail = &head;
    struct sipreg_arena *a = m->arena;
    const bool fast = fastpath(); /* read once: the arena stores could alias the switch */
    /* the Via headers through the index sipreg_msg_hdr_find/next read, without their calls */
    for (size_t i = m->first[SIPREG_HDR_VIA]; i; i = m->next_same[i - 1]) {
        size_t mark = a->used;
        /* The index holds trimmed values (LWS first would only send the field to the general
         * parser), and the whole message may be read, not only this field. */
        struct sipreg_str s = m->hdr[i - 1].value;
        struct sipreg_via **t = fast ? via_fast(tail, s.p, s.p + s.len, m->buf, &m->lim, a) : NULL;
        if (t) {
            tail = t;
            continue;
        }
        sipreg_arena_rewind(a, mark);
        int err = msg_via_general(m, i, &tail, why);
        if (err)
            return err;
    }
    if (!head)
        return perr(why, SIPREG_PERR_MISSING_VIA, NULL, NULL);
    m->via_cache = head;
    *out = head;
    return 0;
}

int sipreg_via_parse(struct sipreg_via **out, struct sipreg_str s,
                     const struct sipreg_msg_limits *limits, struct sipreg_arena *a,
                     struct sipreg_perr *why)
{
    struct sipreg_msg_limits lim;
    sipreg__limits(&lim, limits);
    return via_parse(out, present(s), &lim, a, why);
}
