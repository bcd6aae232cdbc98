/* Zero-copy SIP message parser: framing, start line and header index (RFC 3261 §7, RFC 4475). */
#include <string.h>

#include "msg_int.h"

/* Nonzero: the fast paths give up at once (see fastpath()); for tests only. */
int sipreg__msg_general_only;

/* Headers that may appear only once (RFC 3261 §20; a comma list is not allowed for these). */
static const bool single_valued[SIPREG_HDR__COUNT] = {
    [SIPREG_HDR_FROM] = true,         [SIPREG_HDR_TO] = true,
    [SIPREG_HDR_CALL_ID] = true,      [SIPREG_HDR_CSEQ] = true,
    [SIPREG_HDR_MAX_FORWARDS] = true, [SIPREG_HDR_CONTENT_LENGTH] = true,
    [SIPREG_HDR_CONTENT_TYPE] = true, [SIPREG_HDR_EXPIRES] = true,
    [SIPREG_HDR_MIN_EXPIRES] = true,
};

#ifdef __SSE2__
/* Bit i set when byte i of x is not a letter, digit or '-' (what header names are made of). */
static inline unsigned name_stop_mask(__m128i x)
{
    __m128i l = _mm_or_si128(x, _mm_set1_epi8(0x20));
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
                                  _mm_cmpgt_epi8(_mm_set1_epi8('z' + 1), l));
    __m128i num = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), x));
    __m128i in = _mm_or_si128(_mm_or_si128(alpha, num), _mm_cmpeq_epi8(x, _mm_set1_epi8('-')));
    return ~(unsigned)_mm_movemask_epi8(in) & 0xffffu;
}
#endif

/* Indexes one header line (name and trimmed value); 0, or -1 when a header that may appear
 * only once appears again. `last` holds index + 1 of the last header of each id so far. */
static inline int add_hdr(struct sipreg_msg *m, uint8_t *last, enum sipreg_hdr_id id,
                          const char *name, const char *name_end, const char *vs, const char *ve)
{
    size_t i = m->nhdr;
    if (id != SIPREG_HDR_OTHER) {
        if (!m->first[id])
            m->first[id] = (uint8_t)(i + 1);
        else if (single_valued[id])
            return -1;
        else
            m->next_same[last[id] - 1] = (uint8_t)(i + 1);
        last[id] = (uint8_t)(i + 1);
    }
    struct sipreg_hdr *h = &m->hdr[i];
    h->name = mkstr(name, name_end);
    h->id = id;
    h->value = mkstr(vs, ve);
    m->next_same[i] = 0;
    m->nhdr = i + 1;
    return 0;
}

#ifdef __SSE2__
/* Bits of the bytes 0x08 to 0x0f in x: CR and LF, and a few other controls (HT among them)
 * that the fast path leaves to the general code, as it does any unusual shape. One compare
 * where an exact CR-or-LF test takes two. */
static inline unsigned crlf_mask(__m128i x)
{
    return (unsigned)_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_or_si128(x, _mm_set1_epi8(0x07)), _mm_set1_epi8(0x0f)));
}

static inline unsigned crlf_mask_at(const char *p)
{
    return crlf_mask(_mm_loadu_si128((const __m128i *)(const void *)p));
}

/* First byte of crlf_mask() at or after s and before e, or NULL (also when e <= s); the 16 bytes
 * before s are in the buffer and hold none, so that the last block can end at e, overlapping
 * them, and a long value is read 32 bytes a step. */
static inline const char *find_crlf(const char *s, const char *e)
{
    for (; e - s >= 32; s += 32) {
        unsigned mask = crlf_mask_at(s) | crlf_mask_at(s + 16) << 16;
        if (mask)
            return s + __builtin_ctz(mask);
    }
    if (e - s > 16) {
        unsigned mask = crlf_mask_at(s);
        if (mask)
            return s + __builtin_ctz(mask);
        s += 16;
    }
    if (s < e) {
        unsigned mask = crlf_mask_at(e - 16);
        if (mask)
            return e - 16 + __builtin_ctz(mask);
    }
    return NULL;
}

/* The id of a name of n bytes (1 to 15, before the colon in x, its first 16 bytes) that its hash
 * slot h did not confirm, or -1 unless it has bytes and all are letters, digits and '-'. Out of
 * line: nearly every header line has a known name. */
static __attribute__((noinline)) int other_name(const char *p, size_t n, __m128i x, unsigned h)
{
    if (n == 0 || (size_t)__builtin_ctz(name_stop_mask(x) | 0x10000u) != n)
        return -1;
    enum sipreg_hdr_id id =
        sipreg__hdr_hash[h] == HDR_HASH_SHARED ? hdr_lookup(p, n) : SIPREG_HDR_OTHER;
    return (int)id;
}

/* The first crlf_mask() byte of a line whose block at b has the mask crlf, any bit of which is
 * past the colon; when it has none, of the rest of the line from `scan` (the byte after that
 * block) on. It must be 3 bytes or more before limit_end (CR LF and the next line's first byte),
 * so the scan stops 2 bytes early and needs no test for them. NULL when there is none. */
static inline const char *line_stop(const char *b, unsigned crlf, const char *scan,
                                    const char *limit_end)
{
    if (!crlf)
        return find_crlf(scan, limit_end - 2);
    const char *q = b + __builtin_ctz(crlf);
    return limit_end - q < 3 ? NULL : q;
}

/* The end of fast_line (and long_line): the line at p, with a name of n bytes and its first CR,
 * LF or HT at q (from line_stop(); NULL: none), is indexed when q starts CR LF and no
 * continuation line, within the line length and header count. Returns the start of the next
 * line, or NULL. */
static inline const char *end_line(struct sipreg_msg *m, uint8_t *last, enum sipreg_hdr_id id,
                                   const char *p, size_t n, const char *q, size_t max_line,
                                   size_t max_headers)
{
    if (!q || (size_t)(q - p) > max_line)
        return NULL;
    /* CR LF, then no SP or HT (the next line is not a continuation) */
    if (load_le(q, 2) != ('\r' | '\n' << 8) ||
        ((unsigned char)q[2] <= ' ' && (q[2] == ' ' || q[2] == '\t')) || m->nhdr >= max_headers)
        return NULL;
    /* nearly always one SP before the value and none after it (no HT: see crlf_mask) */
    const char *v = p + n + 1, *vs = v + (*v == ' '), *ve = q;
    if (*vs == ' ')
        vs = skip_ws(vs, ve);
    if (ve[-1] == ' ')
        ve = rskip_ws(vs, ve);
    if (add_hdr(m, last, id, p, p + n, vs, ve) != 0)
        return NULL;
    return q + 2;
}

/* fast_line for a name of 16 to 31 bytes (WWW-Authenticate, Proxy-Authorization): the first 16
 * bytes at p hold no colon, CR or LF. Out of line: such names are few. */
static __attribute__((noinline)) const char *long_line(struct sipreg_msg *m, uint8_t *last,
                                                       const char *p, const char *limit_end,
                                                       size_t max_line, size_t max_headers)
{
    if (limit_end - p < 32)
        return NULL;
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
    unsigned crlf = crlf_mask(y);
    unsigned colon = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(y, _mm_set1_epi8(':')));
    size_t k = (size_t)__builtin_ctz(colon | crlf | 0x10000u);
    if (!((colon >> k) & 1) || name_stop_mask(x) ||
        (size_t)__builtin_ctz(name_stop_mask(y) | 0x10000u) != k)
        return NULL;
    size_t n = 16 + k;
    return end_line(m, last, hdr_lookup(p, n), p, n, line_stop(p + 16, crlf, p + 32, limit_end),
                    max_line, max_headers);
}

/* Indexes the header line at p (16 bytes or more before limit_end) when it has the common shape:
 * a name of 1 to 31 letters, digits and '-', a colon, a value without CR, LF or HT (or the other
 * controls crlf_mask finds), CRLF, and no continuation line after it, within the line and
 * header-count limits. The first 16-byte block gives both the colon and, for short lines, the
 * CR. Returns the start of the next line, or NULL for any other shape (other token characters,
 * space before the colon, folding, a bare CR or LF, a limit reached, a repeated single header):
 * the general code then reads the line again from its start, with the same verdicts as ever. */
static inline const char *fast_line(struct sipreg_msg *m, uint8_t *last, const char *p,
                                    const char *limit_end, size_t max_line, size_t max_headers)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    unsigned crlf = crlf_mask(x);
    unsigned colon = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':')));
    /* the colon, in this block and before any CR or LF */
    size_t n = (size_t)__builtin_ctz(colon | crlf | 0x10000u);
    if (!((colon >> n) & 1))
        return n == 16 ? long_line(m, last, p, limit_end, max_line, max_headers) : NULL;
    /* (an empty name is left to other_name) */
    /* A known name is confirmed by comparing its lower case, colon included, with x OR 0x20:
     * that also proves the bytes are letters and '-' (OR 0x20 only makes '-' of a CR, and no CR
     * is before the colon). */
    __m128i l = _mm_or_si128(x, _mm_set1_epi8(0x20));
    unsigned h = hdr_hash((uint32_t)_mm_cvtsi128_si32(l), n);
    __m128i key = _mm_load_si128((const __m128i *)(const void *)sipreg__hdr_vec[h]);
    unsigned eq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(l, key));
    int id;
    /* bits 0..n of eq all set: adding 1 clears them all (colon's lowest bit is bit n, so
     * colon ^ (colon - 1) selects bits 0..n) */
    if (!((eq + 1) & (colon ^ (colon - 1))))
        id = sipreg__hdr_hash[h];
    else if ((id = other_name(p, n, x, h)) < 0)
        return NULL;
    return end_line(m, last, (enum sipreg_hdr_id)id, p, n, line_stop(p, crlf, p + 16, limit_end),
                    max_line, max_headers);
}
#endif

/* p past the upper-case letters that start the slice p..e (16 at most: the caller goes on byte
 * by byte), when 16 bytes can be read from p before buf_end, the end of the buffer; else p. A
 * method token nearly always is upper-case letters only. */
static inline const char *skip_upper(const char *p, const char *e, const char *buf_end)
{
#ifdef __SSE2__
    if (fastpath() && buf_end - p >= 16) {
        __m128i t =
            _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), _mm_set1_epi8('A'));
        unsigned upper = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8('Z' - 'A')), t));
        const char *q = p + __builtin_ctz(~upper);
        return q < e ? q : e;
    }
#else
    (void)e;
    (void)buf_end;
#endif
    return p;
}

/* First control character (below SP, or DEL) at or after p, or e. With `text` set SP and HT are
 * allowed (a Reason-Phrase); otherwise SP is a control character too (a URI). A slice shorter
 * than 16 bytes is read as one block when the buffer goes on that far (to buf_end). */
static inline const char *find_ctl(const char *p, const char *e, const char *buf_end, int text)
{
    const unsigned char top = text ? 0x1f : 0x20;
#ifdef __SSE2__
    const __m128i vtop = _mm_set1_epi8((char)top), del = _mm_set1_epi8(0x7f),
                  ht = _mm_set1_epi8('\t');
    if (fastpath() && (e - p >= 16 || (p < e && buf_end - p >= 16))) {
        /* the last block ends at e, overlapping bytes already found clean, or for a short
         * slice the one block runs on past e */
        const char *last = e - p >= 16 ? e - 16 : p;
        for (;;) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            /* x <= top, unsigned: max(x, top) == top */
            __m128i low = _mm_cmpeq_epi8(_mm_max_epu8(x, vtop), vtop);
            if (text)
                low = _mm_andnot_si128(_mm_cmpeq_epi8(x, ht), low);
            unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(low, _mm_cmpeq_epi8(x, del)));
            if (mask && p + __builtin_ctz(mask) < e)
                return p + __builtin_ctz(mask);
            if (p == last)
                return e;
            p = last - p > 16 ? p + 16 : last;
        }
    }
#else
    (void)buf_end;
#endif
    for (; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c <= top && !(text && c == '\t')) || c == 0x7f)
            return p;
    }
    return p;
}

/* End of the line starting at p: *eol is where the line's content ends (before CR LF or LF),
 * the return value is the start of the next line; NULL when no LF is in reach. */
static inline const char *line_end(const char *p, const char *end, const char **eol)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return NULL;
    *eol = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
    return nl + 1;
}

static int parse_version(const char *p, const char *e, const char *base, struct sipreg_perr *why)
{
    /* SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, case-insensitive (RFC 3261 §7.1) */
    const char *v = p;
    if (e - p < 5 || lc((unsigned char)p[0]) != 's' || lc((unsigned char)p[1]) != 'i' ||
        lc((unsigned char)p[2]) != 'p' || p[3] != '/')
        return perr(why, SIPREG_PERR_START_LINE, base, v);
    p += 4;
    const char *d = p;
    while (p < e && cc((unsigned char)*p, CC_DIGIT))
        p++;
    if (p == d || p == e || *p != '.')
        return perr(why, SIPREG_PERR_START_LINE, base, v);
    d = ++p;
    while (p < e && cc((unsigned char)*p, CC_DIGIT))
        p++;
    if (p == d || p != e)
        return perr(why, SIPREG_PERR_START_LINE, base, v);
    if (e - v != 7 || memcmp(v + 4, "2.0", 3) != 0)
        return perr(why, SIPREG_PERR_VERSION, base, v);
    return 0;
}

static int parse_request_line(struct sipreg_msg *m, const char *p, const char *e, const char *base,
                              const struct sipreg_msg_limits *lim, struct sipreg_perr *why)
{
    /* Method SP Request-URI SP SIP-Version. Runs of SP and trailing SP are tolerated (RFC 4475
     * §3.1.2.9/10 allow a liberal element to accept them); whitespace inside the URI is not. */
    const char *s = p;
    p = skip_upper(p, e, e);
    while (p < e && cc((unsigned char)*p, CC_TOKEN))
        p++;
    if (p == s || p == e || (*p != ' ' && *p != '\t'))
        return perr(why, SIPREG_PERR_METHOD, base, p);
    m->method_s = mkstr(s, p);
    m->method = sipreg_method_id(m->method_s);
    const char *vs;
    int err = 0;
    if (fastpath() && e - p >= 8 && memcmp(e - 8, " SIP/2.0", 8) == 0) {
        vs = e - 7; /* what nearly every request line ends with */
    } else {
        e = rskip_ws(p, e);
        /* the version is the last space-separated word */
        vs = e;
        while (vs > p && vs[-1] != ' ' && vs[-1] != '\t')
            vs--;
        err = parse_version(vs, e, base, why);
        if (err && (!why || why->code != SIPREG_PERR_VERSION))
            return err;
    }
    const char *u = skip_ws(p, vs);
    const char *ue = rskip_ws(u, vs);
    if (u == ue)
        return perr(why, SIPREG_PERR_REQUEST_URI, base, u);
    if ((size_t)(ue - u) > lim->max_uri)
        return perr(why, SIPREG_PERR_URI_TOO_LONG, base, u);
    /* scheme ":" then no whitespace or control characters */
    if (!((*u | 0x20) >= 'a' && (*u | 0x20) <= 'z'))
        return perr(why, SIPREG_PERR_REQUEST_URI, base, u);
    const char *q = u + 1;
    while (q < ue && cc((unsigned char)*q, CC_SCHEME))
        q++;
    if (q == ue || *q != ':')
        return perr(why, SIPREG_PERR_REQUEST_URI, base, q);
    q = find_ctl(q, ue, ue, 0);
    if (q < ue)
        return perr(why, SIPREG_PERR_REQUEST_URI, base, q);
    m->ruri = mkstr(u, ue);
    m->is_request = true;
    return err;
}

static int parse_status_line(struct sipreg_msg *m, const char *p, const char *e, const char *base,
                             const char *buf_end, struct sipreg_perr *why)
{
    const char *v = p;
    if (fastpath() && e - p >= 8 && memcmp(p, "SIP/2.0 ", 8) == 0) {
        p += 7; /* what nearly every status line starts with */
    } else {
        while (p < e && *p != ' ')
            p++;
        int err = parse_version(v, p, base, why);
        if (err)
            return err;
    }
    if (p == e)
        return perr(why, SIPREG_PERR_START_LINE, base, p);
    p++;
    if (e - p < 3 || !cc((unsigned char)p[0], CC_DIGIT) || !cc((unsigned char)p[1], CC_DIGIT) ||
        !cc((unsigned char)p[2], CC_DIGIT) || (e - p > 3 && p[3] != ' '))
        return perr(why, SIPREG_PERR_STATUS, base, p);
    int status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    if (status < 100 || status > 699)
        return perr(why, SIPREG_PERR_STATUS, base, p);
    p += 3;
    if (p < e)
        p++;
    /* Reason-Phrase: text, UTF-8 and escapes allowed, but no control characters besides HT */
    const char *bad = find_ctl(p, e, buf_end, 1);
    if (bad < e)
        return perr(why, SIPREG_PERR_REASON, base, bad);
    m->status = status;
    m->reason = mkstr(p, e);
    m->is_request = false;
    return 0;
}

static int parse_content_length(int64_t *out, struct sipreg_str v, size_t max, const char *base,
                                struct sipreg_perr *why)
{
    uint64_t n;
    if (sipreg__dec_u64(v, (uint64_t)max, &n) != 0)
        return perr(why, SIPREG_PERR_CONTENT_LENGTH, base, v.p);
    *out = (int64_t)n;
    return 0;
}

/* span(p, e, CC_WORD) for a slice of the buffer that ends at buf_end: its 16-byte blocks may run
 * on past e within the buffer, so that a short value needs no byte-by-byte tail. Letters,
 * digits and "-./" are found 16 at a time, other bytes looked up in the table. */
static inline const char *word_span(const char *p, const char *e, const char *buf_end)
{
#ifdef __SSE2__
    while (fastpath() && p < e && buf_end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i l = _mm_or_si128(x, _mm_set1_epi8(0x20));
        __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
                                      _mm_cmpgt_epi8(_mm_set1_epi8('z' + 1), l));
        __m128i num = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('-' - 1)),
                                    _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), x));
        unsigned stop = ~(unsigned)_mm_movemask_epi8(_mm_or_si128(alpha, num)) & 0xffffu;
        if (!stop) {
            p += 16;
            continue;
        }
        p += __builtin_ctz(stop);
        if (p >= e || !cc((unsigned char)*p, CC_WORD))
            break;
        p++;
    }
    if (p >= e)
        return e;
#else
    (void)buf_end;
#endif
    return span(p, e, CC_WORD);
}

static int check_call_id(struct sipreg_str v, const char *buf_end, const char *base,
                         struct sipreg_perr *why)
{
    /* callid = word [ "@" word ] */
    if (v.len == 0)
        return perr(why, SIPREG_PERR_CALL_ID, base, v.p);
    const char *p = v.p, *e = v.p + v.len;
    p = word_span(p, e, buf_end);
    if (p < e && *p == '@') {
        if (p == v.p || p + 1 == e)
            return perr(why, SIPREG_PERR_CALL_ID, base, p);
        p = word_span(p + 1, e, buf_end);
    }
    if (p < e)
        return perr(why, SIPREG_PERR_CALL_ID, base, p);
    return 0;
}

/* sipreg_str_eq() without a call: method tokens are short, so compared as words. */
static inline bool str_same(struct sipreg_str a, struct sipreg_str b)
{
    return a.len == b.len && bytes_eq(a.p, b.p, a.len);
}

/* CSeq = 1*DIGIT LWS Method; the number must be below 2**31 (RFC 3261 §8.1.1.5). When the
 * method is the request's (`known`, whose id is `known_id`), its id is not looked up again. */
static inline int cseq_parse(struct sipreg_cseq *c, struct sipreg_str s, const char *buf_end,
                             struct sipreg_str known, enum sipreg_method known_id,
                             struct sipreg_perr *why)
{
    const char *p = skip_ws(s.p, s.p + s.len), *end = s.p + s.len;
    const char *d = p;
    uint64_t n = 0;
    if (fastpath() && end - p >= 8) {
        /* up to 8 leading digits at once (they stay below 2**31): x holds 0..9 for a digit, and
         * a byte of 10 or more gets its top bit set by adding 0x76 or by itself; a carry only
         * reaches the bytes after the first such one */
        uint64_t x = load_le(p, 8) ^ 0x3030303030303030u;
        uint64_t stop = ((x + 0x7676767676767676u) | x) & 0x8080808080808080u;
        unsigned k = stop ? (unsigned)__builtin_ctzll(stop) / 8 : 8;
        if (k) {
            /* the k digits into the top bytes, most significant first, then pairs, fours, eight */
            x <<= 8 * (8 - k);
            x = (x * 10 + (x >> 8)) & 0x00ff00ff00ff00ffu;
            x = (x * 100 + (x >> 16)) & 0x0000ffff0000ffffu;
            n = (x * 10000 + (x >> 32)) & 0xffffffffu;
            p += k;
        }
    }
    while (p < end && (unsigned)(*p - '0') < 10) {
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > 0x7fffffffu)
            return perr(why, SIPREG_PERR_CSEQ, s.p, p);
        p++;
    }
    if (p == d || p == end || !cc((unsigned char)*p, CC_WS))
        return perr(why, SIPREG_PERR_CSEQ, s.p, p);
    p = skip_ws(p, end);
    const char *mth = p;
    if (fastpath() && known.len && str_same(mkstr(p, end), known)) {
        /* the request's own method, a token already: the usual case */
        c->num = (uint32_t)n;
        c->method = mkstr(mth, end);
        c->method_id = known_id;
        return 0;
    }
    p = skip_upper(p, end, buf_end);
    while (p < end && cc((unsigned char)*p, CC_TOKEN))
        p++;
    if (p == mth || skip_ws(p, end) != end)
        return perr(why, SIPREG_PERR_CSEQ, s.p, p);
    c->num = (uint32_t)n;
    c->method = mkstr(mth, p);
    /* (the request's own method was taken above: header values are stored trimmed) */
    c->method_id = sipreg_method_id(c->method);
    return 0;
}

int sipreg_msg_parse(struct sipreg_msg *m, const char *buf, size_t len, enum sipreg_msg_mode mode,
                     const struct sipreg_msg_limits *limits, struct sipreg_arena *a,
                     struct sipreg_perr *why)
{
    const int stream = mode == SIPREG_MSG_STREAM;
    const char *p = buf, *end = buf + len;
    int err;

    m->buf = buf;
    m->hdrs_complete = false;
    m->is_request = false;
    m->len = 0;
    m->method = SIPREG_METHOD_UNKNOWN;
    m->method_s = m->ruri = m->reason = m->body = m->call_id = SIPREG_STR_NULL;
    m->status = 0;
    m->nhdr = 0;
    memset(m->first, 0, sizeof m->first);
    uint8_t last[SIPREG_HDR__COUNT]; /* index + 1 of the last header of each id so far */
    m->cseq = (struct sipreg_cseq){0, SIPREG_STR_NULL, SIPREG_METHOD_UNKNOWN};
    m->content_length = -1;
    m->arena = a;
    m->via_cache = NULL;
    m->from_cache = m->to_cache = NULL;
    m->ruri_cache = NULL;
    sipreg__limits(&m->lim, limits);
    const struct sipreg_msg_limits *lim = &m->lim;
    if (why)
        *why = (struct sipreg_perr){SIPREG_PERR_NONE, 0};

    if (!stream && len > lim->max_size)
        return perr(why, SIPREG_PERR_TOO_LARGE, buf, buf + lim->max_size);
    /* RFC 3261 §7.5: CRLFs before the start line are ignored. */
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    m->skipped = (size_t)(p - buf);
    if (p == end)
        return stream ? SIPREG_EAGAIN : perr(why, SIPREG_PERR_EMPTY, buf, p);
    const char *msg_start = p;
    /* Past this point a stream only waits for more bytes while within the size limit. */
    const char *limit_end =
        (size_t)(end - msg_start) > lim->max_size ? msg_start + lim->max_size : end;

    const char *eol;
    const char *next = line_end(p, limit_end, &eol);
    if (!next) {
        if (stream && limit_end == end)
            return SIPREG_EAGAIN;
        return perr(why, limit_end != end ? SIPREG_PERR_TOO_LARGE : SIPREG_PERR_NO_END, buf,
                    limit_end);
    }
    struct sipreg_perr version_err = {SIPREG_PERR_NONE, 0};
    if (eol - p >= 4 && memcmp(p, "SIP/", 4) == 0) {
        err = parse_status_line(m, p, eol, buf, end, why);
    } else {
        struct sipreg_perr w = {SIPREG_PERR_NONE, 0};
        err = parse_request_line(m, p, eol, buf, lim, &w);
        if (err && w.code == SIPREG_PERR_VERSION) {
            /* go on indexing the headers, so that the request can be answered with 505 */
            version_err = w;
            err = 0;
        } else if (err && why) {
            *why = w;
        }
    }
    if (err)
        return err;
    p = next;

    /* Header fields, one per line plus folded continuation lines. */
    const size_t max_line = lim->max_line, max_headers = lim->max_headers;
    /* read once: the index's byte stores below could alias the switch */
    const bool fast = fastpath();
    for (;;) {
#ifdef __SSE2__
        if (fast && limit_end - p >= 16) {
            const char *nx = fast_line(m, last, p, limit_end, max_line, max_headers);
            if (nx) {
                p = nx;
                continue;
            }
        }
#endif
        if (p >= limit_end) {
            if (stream && limit_end == end)
                return SIPREG_EAGAIN;
            /* A datagram whose header section ends with the datagram but lacks the empty line
             * is taken as having no body: UDP cannot truncate silently, so nothing is lost. */
            if (!stream && limit_end == end)
                break;
            return perr(why, limit_end != end ? SIPREG_PERR_TOO_LARGE : SIPREG_PERR_NO_END, buf, p);
        }
        if (*p == '\n') {
            p++;
            break;
        }
        if (*p == '\r') {
            if (p + 1 >= limit_end) {
                if (stream && limit_end == end)
                    return SIPREG_EAGAIN;
                return perr(why, SIPREG_PERR_NO_END, buf, p);
            }
            if (p[1] != '\n')
                return perr(why, SIPREG_PERR_HEADER, buf, p);
            p += 2;
            break;
        }
        const char *name = p;
        p = span_fast(p, limit_end, CC_TOKEN);
        const char *name_end = p;
        if (p == limit_end || *p != ':') {
            while (p < limit_end && (*p == ' ' || *p == '\t'))
                p++;
            if (name_end == name)
                return perr(why, SIPREG_PERR_HEADER_NAME, buf, name);
            if (p >= limit_end) {
                if (stream && limit_end == end)
                    return SIPREG_EAGAIN;
                return perr(why, SIPREG_PERR_NO_END, buf, p);
            }
            if (*p != ':')
                return perr(why, SIPREG_PERR_HEADER, buf, p);
        } else if (name_end == name) {
            return perr(why, SIPREG_PERR_HEADER_NAME, buf, name);
        }
        p++;
        /* The value runs to the end of the line, plus continuation lines starting with WSP. One
         * scan for CR or LF finds the line's end and any bare CR (not allowed in a header line,
         * but reported only once the line is known to be complete and within its length). */
        const char *v = p, *bare_cr = NULL;
        const char *q = find_any2(p, limit_end, '\r', '\n');
        if (limit_end - q > 2 && q[0] == '\r' && q[1] == '\n' && q[2] != ' ' && q[2] != '\t') {
            eol = q; /* the common case: CRLF, no folding, more to come */
            next = q + 2;
        } else {
            for (;;) {
                if (q < limit_end && *q == '\r') {
                    if (q + 1 < limit_end && q[1] == '\n') {
                        eol = q;
                        next = q + 2;
                    } else if (q + 1 < limit_end) {
                        if (!bare_cr)
                            bare_cr = q;
                        q = find_any2(q + 1, limit_end, '\r', '\n');
                        continue;
                    } else {
                        q = limit_end; /* a CR as the last byte: no LF in reach */
                    }
                } else if (q < limit_end) {
                    eol = q;
                    next = q + 1;
                }
                if (q == limit_end) {
                    if (stream && limit_end == end)
                        return SIPREG_EAGAIN;
                    return perr(why, limit_end != end ? SIPREG_PERR_TOO_LARGE : SIPREG_PERR_NO_END,
                                buf, p);
                }
                if (next < limit_end && (*next == ' ' || *next == '\t')) {
                    p = next;
                    q = find_any2(p, limit_end, '\r', '\n');
                    continue;
                }
                if (next == limit_end && stream && limit_end == end)
                    return SIPREG_EAGAIN; /* a continuation line may still come */
                break;
            }
        }
        if ((size_t)(eol - name) > max_line)
            return perr(why, SIPREG_PERR_LINE_TOO_LONG, buf, name);
        if (bare_cr)
            return perr(why, SIPREG_PERR_HEADER, buf, bare_cr);
        if (m->nhdr == max_headers)
            return perr(why, SIPREG_PERR_TOO_MANY_HEADERS, buf, name);
        const char *vs = skip_ws(v, eol);
        if (add_hdr(m, last, hdr_lookup(name, (size_t)(name_end - name)), name, name_end, vs,
                    rskip_ws(vs, eol)) != 0)
            return perr(why, SIPREG_PERR_DUP_HEADER, buf, name);
        p = next;
    }
    const char *body = p;
    m->hdrs_complete = true;
    if (version_err.code != SIPREG_PERR_NONE) {
        if (why)
            *why = version_err;
        return SIPREG_EPARSE;
    }

    /* Content-Length and the body. */
    const struct sipreg_hdr *cl = first_hdr(m, SIPREG_HDR_CONTENT_LENGTH);
    if (cl) {
        err = parse_content_length(&m->content_length, cl->value, lim->max_size, buf, why);
        if (err)
            return err;
    }
    if (stream) {
        if (!cl)
            return perr(why, SIPREG_PERR_CONTENT_LENGTH, buf, body);
        if ((size_t)(body - msg_start) + (size_t)m->content_length > lim->max_size)
            return perr(why, SIPREG_PERR_TOO_LARGE, buf, body);
        if ((size_t)(end - body) < (size_t)m->content_length)
            return SIPREG_EAGAIN;
        m->body = mkstr(body, body + m->content_length);
    } else if (cl) {
        if ((size_t)(end - body) < (size_t)m->content_length)
            return perr(why, SIPREG_PERR_BODY_TRUNCATED, buf, cl->value.p);
        m->body = mkstr(body, body + m->content_length);
    } else {
        m->body = mkstr(body, end);
    }
    m->len = (size_t)(m->body.p + m->body.len - buf);

    /* The headers every request and response must carry (RFC 3261 §8.1.1). */
    static const struct {
        enum sipreg_hdr_id id;
        enum sipreg_perr_code code;
    } required[] = {
        {SIPREG_HDR_VIA, SIPREG_PERR_MISSING_VIA},
        {SIPREG_HDR_FROM, SIPREG_PERR_MISSING_FROM},
        {SIPREG_HDR_TO, SIPREG_PERR_MISSING_TO},
        {SIPREG_HDR_CALL_ID, SIPREG_PERR_MISSING_CALL_ID},
        {SIPREG_HDR_CSEQ, SIPREG_PERR_MISSING_CSEQ},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!m->first[required[i].id])
            return perr(why, required[i].code, buf, body);

    const struct sipreg_hdr *h = first_hdr(m, SIPREG_HDR_CSEQ); /* all five are there */
    err = cseq_parse(&m->cseq, h->value, end, m->method_s, m->method, why);
    if (err) {
        if (why)
            why->offset = (size_t)(h->value.p - buf);
        return err;
    }
    /* a known method has one spelling: equal ids then mean equal names */
    if (m->is_request &&
        (m->method == SIPREG_METHOD_UNKNOWN ? !str_same(m->cseq.method, m->method_s)
                                            : m->cseq.method_id != m->method))
        return perr(why, SIPREG_PERR_CSEQ_METHOD, buf, h->value.p);

    h = first_hdr(m, SIPREG_HDR_CALL_ID);
    err = check_call_id(h->value, end, buf, why);
    if (err)
        return err;
    m->call_id = h->value;

    if ((h = first_hdr(m, SIPREG_HDR_MAX_FORWARDS))) {
        /* header values are stored without surrounding whitespace: nothing to trim */
        uint64_t mf;
        if (sipreg__dec_u64(h->value, 255, &mf) != 0)
            return perr(why, SIPREG_PERR_MAX_FORWARDS, buf, h->value.p);
    }
    return 0;
}

int sipreg_msg_frame(const char *buf, size_t len, const struct sipreg_msg_limits *lim,
                     size_t *msg_len, struct sipreg_perr *why)
{
    size_t crlf = 0;
    while (crlf < len && (buf[crlf] == '\r' || buf[crlf] == '\n'))
        crlf++;
    if (crlf == len) {
        /* Only keep-alive CRLFs so far (RFC 5626 §3.5.1): report them as consumable. */
        if (crlf == 0)
            return SIPREG_EAGAIN;
        *msg_len = crlf;
        return 0;
    }
    struct sipreg_msg m;
    struct sipreg_arena a;
    sipreg_arena_init(&a, NULL, 0);
    int err = sipreg_msg_parse(&m, buf, len, SIPREG_MSG_STREAM, lim, &a, why);
    if (err)
        return err;
    *msg_len = m.len;
    return 0;
}

const struct sipreg_hdr *sipreg_msg_hdr_find(const struct sipreg_msg *m, enum sipreg_hdr_id id)
{
    if (id <= SIPREG_HDR_OTHER || id >= SIPREG_HDR__COUNT)
        return NULL;
    return first_hdr(m, id);
}

const struct sipreg_hdr *sipreg_msg_hdr_next(const struct sipreg_msg *m, const struct sipreg_hdr *h)
{
    if (h->id != SIPREG_HDR_OTHER) {
        size_t n = m->next_same[h - m->hdr];
        return n ? &m->hdr[n - 1] : NULL;
    }
    for (size_t i = (size_t)(h - m->hdr) + 1; i < m->nhdr; i++) {
        if (m->hdr[i].id != h->id)
            continue;
        if (h->id != SIPREG_HDR_OTHER || sipreg_str_caseeq(m->hdr[i].name, h->name))
            return &m->hdr[i];
    }
    return NULL;
}

const struct sipreg_hdr *sipreg_msg_hdr_findz(const struct sipreg_msg *m, const char *name)
{
    struct sipreg_str n = sipreg_str_z(name);
    enum sipreg_hdr_id id = sipreg_hdr_id(n);
    if (id != SIPREG_HDR_OTHER)
        return sipreg_msg_hdr_find(m, id);
    for (size_t i = 0; i < m->nhdr; i++)
        if (m->hdr[i].id == SIPREG_HDR_OTHER && sipreg_str_caseeq(m->hdr[i].name, n))
            return &m->hdr[i];
    return NULL;
}

int sipreg_cseq_parse(struct sipreg_cseq *c, struct sipreg_str s, struct sipreg_perr *why)
{
    s = present(s);
    return cseq_parse(c, s, s.p + s.len, SIPREG_STR_NULL, SIPREG_METHOD_UNKNOWN, why);
}

int sipreg_uint_parse(uint32_t *out, struct sipreg_str s, uint32_t max, struct sipreg_perr *why)
{
    s = present(s);
    struct sipreg_str t = trim(s);
    uint64_t v;
    if (sipreg__dec_u64(t, max, &v) != 0)
        return perr(why, SIPREG_PERR_PARAM, s.p, t.p);
    *out = (uint32_t)v;
    return 0;
}

int sipreg_token_list_foreach(struct sipreg_str s, int (*fn)(struct sipreg_str tok, void *ud),
                              void *ud, struct sipreg_perr *why)
{
    s = present(s);
    const char *p = s.p, *end = s.p + s.len;
    while (p < end) {
        p = skip_ws(p, end);
        const char *t = p;
        while (p < end && cc((unsigned char)*p, CC_TOKEN))
            p++;
        const char *te = p;
        p = skip_ws(p, end);
        if (p < end && *p != ',')
            return perr(why, SIPREG_PERR_TOKEN_LIST, s.p, p);
        if (p < end)
            p++;
        if (te == t)
            continue; /* empty element: tolerated */
        int rc = fn(mkstr(t, te), ud);
        if (rc)
            return rc;
    }
    return 0;
}
