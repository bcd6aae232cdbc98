/* Internals shared by the message-layer parsers: character classes, whitespace and list scanning.
 */
#ifndef SIPREG_MSG_INT_H
#define SIPREG_MSG_INT_H

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <stddef.h>
#include <string.h>

#include "core/core_int.h"
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
    CC_PDELIM = 1 << 12, /* ends an unquoted parameter value: ; , ? " < > SP HT CR LF */
    CC_LIST = 1 << 13,   /* significant to the list splitter: , " < > */
    CC_CTL = 1 << 14,    /* not allowed anywhere in a URI: controls, SP, DEL */
};

extern const uint16_t sipreg__cc[256];

/* The fast paths (fast_line, via_fast, fast_one, fast_contacts, and the shortcuts and block
 * scans beside them) each give up on anything unusual, and the general code then reads the
 * value again with the same verdicts. Each is taken only while fastpath() holds: tested where it
 * starts, or where it is called (once per message or per header list, in a local, where the
 * index's or the arena's stores could alias the switch and make the compiler load it again per
 * line). Built with SIPREG_MSG_FASTPATH=0 it is false and the compiler drops them: only the
 * general code is left. Otherwise sipreg__msg_general_only, which only the tests and the
 * differential fuzz target set (never the library), turns them off at run time, so that one
 * binary can parse an input both ways and compare; nothing writes it on the hot path, so the
 * branch on it is always predicted. */
#ifndef SIPREG_MSG_FASTPATH
#define SIPREG_MSG_FASTPATH 1
#endif
extern int sipreg__msg_general_only;

static inline bool fastpath(void)
{
#if SIPREG_MSG_FASTPATH
    return __builtin_expect(!sipreg__msg_general_only, 1);
#else
    return false;
#endif
}

/* The fast paths load words with memcpy and compare them with constants made from strings
 * (load_le), shift the bytes past a value's end off the top of such a word (Via parameter names
 * and ports), take a name's first four bytes as a number (fast_line's hdr_hash, whose slots
 * names.c fills from bytes shifted into place lowest first) and convert digits within a word
 * (CSeq, Via ports): all of it takes the first byte in memory as the lowest of the word. Made
 * portable, each would need a byte swap on the other order; no target of ours has it. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "src/msg's word loads assume a little-endian target");

/* ASCII lower case of every byte (other bytes unchanged). */
extern const unsigned char sipreg__lower[256];

static inline int cc(unsigned char c, unsigned cls)
{
    return (sipreg__cc[c] & cls) != 0;
}

/* First byte at or after p that is not of class `cls`, or e. */
static inline const char *span(const char *p, const char *e, unsigned cls)
{
    while (p < e && (sipreg__cc[(unsigned char)*p] & cls))
        p++;
    return p;
}

/* First byte at or after p that is of class `cls`, or e. */
static inline const char *span_not(const char *p, const char *e, unsigned cls)
{
    while (p < e && !(sipreg__cc[(unsigned char)*p] & cls))
        p++;
    return p;
}

/* First byte at or after p equal to a or b (find_any2) or to any of a..d (find_any4), or e.
 * With SSE2 (always there on x86-64) 16 bytes are tested at a time, only while 16 bytes remain
 * before e: the input is never read past its end. */
#ifdef __SSE2__
static inline const char *find_any2(const char *p, const char *e, char a, char b)
{
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
    while (e - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)));
        if (mask)
            return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
    while (p < e && *p != a && *p != b)
        p++;
    return p;
}

static inline const char *find_any4(const char *p, const char *e, char a, char b, char c, char d)
{
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c),
                  vd = _mm_set1_epi8(d);
    while (e - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, vc), _mm_cmpeq_epi8(x, vd)));
        int mask = _mm_movemask_epi8(m);
        if (mask)
            return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
    while (p < e && *p != a && *p != b && *p != c && *p != d)
        p++;
    return p;
}
#else
static inline const char *find_any2(const char *p, const char *e, char a, char b)
{
    while (p < e && *p != a && *p != b)
        p++;
    return p;
}

static inline const char *find_any4(const char *p, const char *e, char a, char b, char c, char d)
{
    while (p < e && *p != a && *p != b && *p != c && *p != d)
        p++;
    return p;
}
#endif

/* Like span() (neg = 0) or span_not() (neg = 1), for classes holding every ASCII letter and digit,
 * '-' and '.' (token, host, unreserved, word, scheme chars; not a parameter-value delimiter):
 * those runs are skipped 16 bytes at a time, and only other bytes looked up in the table. */
static inline const char *span_fast_(const char *p, const char *e, unsigned cls, int neg)
{
#ifdef __SSE2__
    const __m128i x20 = _mm_set1_epi8(0x20), a0 = _mm_set1_epi8('a' - 1),
                  z1 = _mm_set1_epi8('z' + 1), d0 = _mm_set1_epi8('-' - 1),
                  d1 = _mm_set1_epi8('9' + 1), sl = _mm_set1_epi8('/');
    while (e - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i l = _mm_or_si128(x, x20);
        __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(l, a0), _mm_cmpgt_epi8(z1, l));
        __m128i num = _mm_and_si128(_mm_cmpgt_epi8(x, d0), _mm_cmpgt_epi8(d1, x));
        __m128i in = _mm_andnot_si128(_mm_cmpeq_epi8(x, sl), _mm_or_si128(alpha, num));
        unsigned m = ~(unsigned)_mm_movemask_epi8(in) & 0xffffu;
        if (!m) {
            p += 16;
            continue;
        }
        p += __builtin_ctz(m);
        if (((sipreg__cc[(unsigned char)*p] & cls) != 0) == neg)
            return p;
        p++;
    }
#endif
    return neg ? span_not(p, e, cls) : span(p, e, cls);
}

#define span_fast(p, e, cls)     span_fast_((p), (e), (cls), 0)
#define span_not_fast(p, e, cls) span_fast_((p), (e), (cls), 1)

/* 1 when the n bytes at p equal `lit` (lower case) ignoring ASCII case. */
static inline int caseeq_lit(const char *p, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sipreg__lower[(unsigned char)p[i]] != (unsigned char)lit[i])
            return 0;
    return 1;
}

/* 1 when the slice is the literal `lit` (lower case, given with its length) ignoring case. */
#define STR_IS(s, lit) ((s).len == sizeof(lit) - 1 && caseeq_lit((s).p, lit, sizeof(lit) - 1))

/* Whitespace is SP HT CR LF, all at most ' ': the table is only consulted for those bytes. */
static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (unsigned char)*p <= ' ' && cc((unsigned char)*p, CC_WS))
        p++;
    return p;
}

static inline const char *rskip_ws(const char *start, const char *end)
{
    while (end > start && (unsigned char)end[-1] <= ' ' && cc((unsigned char)end[-1], CC_WS))
        end--;
    return end;
}

/* An absent slice (NULL, 0) handed to a public parser, as the empty string: the parsers do
 * pointer arithmetic on s.p, which NULL does not allow even with 0. */
static inline struct sipreg_str present(struct sipreg_str s)
{
    return s.p ? s : (struct sipreg_str){"", 0};
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

/* Header-name lookup tables (names.c). */
#define SIPREG__HDR_NAME_MAX 24
extern unsigned char sipreg__hdr_bucket[SIPREG__HDR_NAME_MAX + 1][26]; /* first id; 0: none */
extern unsigned char sipreg__hdr_chain[SIPREG_HDR__COUNT];             /* next id in bucket */
extern uint64_t sipreg__hdr_key[SIPREG_HDR__COUNT][3], sipreg__hdr_fold[SIPREG_HDR__COUNT][3];
extern unsigned char sipreg__hdr_compact[26]; /* id of each compact form */

/* Names of 1 to 15 bytes, compact forms included, also have a hash slot (hdr_hash): the id whose
 * name alone has that slot, HDR_HASH_SHARED when names share it (none do today; they would then
 * take hdr_lookup), 0 for none. The slot's vector is that name in lower case followed by a
 * colon, zero-padded, so that one 16-byte compare confirms a name and its length; all zero
 * (matching no header line) for the other slots. */
#define HDR_HASH_SHARED 0xff
extern unsigned char sipreg__hdr_hash[256];
extern _Alignas(16) unsigned char sipreg__hdr_vec[256][16]; /* read with aligned loads */
_Static_assert(SIPREG_HDR__COUNT < HDR_HASH_SHARED, "header ids must not reach the shared mark");

/* Slot of a name of n bytes (at most 15) from n and its first 4 bytes OR 0x20 (so that case does
 * not matter), little-endian in w; the bytes past the name are masked off. The multiplier gives
 * each of today's names and compact forms a slot of its own. */
static inline unsigned hdr_hash(uint32_t w, size_t n)
{
    static const uint32_t keep[16] = {0,          0xff,       0xffff,     0xffffff,
                                      0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
                                      0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
                                      0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    return (((w & keep[n]) ^ (uint32_t)n) * 0xf2242639u) >> 24;
}

static inline uint64_t load_le(const char *p, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, p, n); /* n is a constant at each call: one load */
    return v;
}

/* 1 when the n bytes at a and b are the same. Short runs (4 to 16 bytes: method and parameter
 * names) are compared as two overlapping words, others with memcmp. */
static inline bool bytes_eq(const char *a, const char *b, size_t n)
{
    if (n >= 8 && n <= 16)
        return load_le(a, 8) == load_le(b, 8) && load_le(a + n - 8, 8) == load_le(b + n - 8, 8);
    if (n >= 4 && n < 8)
        return load_le(a, 4) == load_le(b, 4) && load_le(a + n - 4, 4) == load_le(b + n - 4, 4);
    return n == 0 || memcmp(a, b, n) == 0;
}

/* Words covering all n bytes at p (1 <= n <= 24) without reading outside them: overlapping
 * loads from both ends, as memcpy implementations do. */
static inline void hdr_words(const char *p, size_t n, uint64_t w[3])
{
    if (n >= 8) {
        w[0] = load_le(p, 8);
        w[1] = load_le(p + n - 8, 8);
        w[2] = n > 16 ? load_le(p + 8, 8) : 0;
    } else if (n >= 4) {
        w[0] = load_le(p, 4);
        w[1] = load_le(p + n - 4, 4);
        w[2] = 0;
    } else {
        w[0] = (uint64_t)(unsigned char)p[0] | (uint64_t)(unsigned char)p[n / 2] << 8 |
               (uint64_t)(unsigned char)p[n - 1] << 16;
        w[1] = w[2] = 0;
    }
}

/* Header id of the name at p (n bytes): bucket by length and first letter, then the whole name
 * compared as words, with the case bit folded on letters only (exact, case-insensitive). */
static inline __attribute__((always_inline)) enum sipreg_hdr_id hdr_lookup(const char *p, size_t n)
{
    if (n == 0 || n > SIPREG__HDR_NAME_MAX)
        return SIPREG_HDR_OTHER;
    unsigned c = (unsigned)sipreg__lower[(unsigned char)p[0]] - 'a';
    if (c >= 26)
        return SIPREG_HDR_OTHER;
    if (n == 1)
        return (enum sipreg_hdr_id)sipreg__hdr_compact[c];
    unsigned id = sipreg__hdr_bucket[n][c];
    if (!id)
        return SIPREG_HDR_OTHER;
    uint64_t w[3];
    hdr_words(p, n, w);
    for (; id; id = sipreg__hdr_chain[id]) {
        const uint64_t *k = sipreg__hdr_key[id], *f = sipreg__hdr_fold[id];
        if ((((w[0] | f[0]) ^ k[0]) | ((w[1] | f[1]) ^ k[1]) | ((w[2] | f[2]) ^ k[2])) == 0)
            return (enum sipreg_hdr_id)id;
    }
    return SIPREG_HDR_OTHER;
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

/* The structured parsers, given limits already filled by sipreg__limits (the public functions
 * fill them and call these; the message accessors pass the message's own). The message's Via
 * headers have their own entry, sipreg__msg_via() below. */
int sipreg__uri_parse(struct sipreg_uri *u, struct sipreg_str s,
                      const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                      struct sipreg_perr *why);
int sipreg__addr_parse(struct sipreg_addr *ad, struct sipreg_str s,
                       const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                       struct sipreg_perr *why);
int sipreg__contact_parse(struct sipreg_contact **out, struct sipreg_str s,
                          const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                          struct sipreg_perr *why);

/* The first header of a known id (not SIPREG_HDR_OTHER), or NULL: sipreg_msg_hdr_find() for
 * callers whose id needs no range check. */
static inline const struct sipreg_hdr *first_hdr(const struct sipreg_msg *m, enum sipreg_hdr_id id)
{
    return m->first[id] ? &m->hdr[m->first[id] - 1] : NULL;
}

/* Via: sipreg_msg_via() once its cache is empty. Parses all of m's Via headers into one list,
 * stores it in m->via_cache and sets *out; why's offset is within m->buf. */
int sipreg__msg_via(struct sipreg_msg *m, const struct sipreg_via **out, struct sipreg_perr *why);

/* Scans a quoted-string starting at `p` (which must be '"'); returns the position after the
 * closing quote, or NULL if unterminated or holding a bare CR/LF not part of folding. */
const char *sipreg__scan_quoted(const char *p, const char *end);

/* Splits off the next element of a comma-separated list, honouring quotes and <>. On return
 * *elem is the trimmed element and *pp is after the comma (or at end). Returns 0, or
 * SIPREG_EPARSE for an unterminated quote or angle bracket, or a trailing comma. */
int sipreg__list_next(const char **pp, const char *end, struct sipreg_str *elem);

/* Parses `;name[=value]` parameters from p to end (p at the first ';' or at end). Values may be
 * quoted strings (kept with their quotes) or runs of non-delimiters. The array comes from the
 * arena (none when there is no parameter). Returns 0 / SIPREG_EPARSE / SIPREG_ENOMEM with why
 * set; `code` is the perr code used for malformed parameters. */
int sipreg__params_parse(struct sipreg_params *ps, const char *p, const char *end,
                         const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                         enum sipreg_perr_code code, const char *base, struct sipreg_perr *why);

/* Parameters are first collected on the stack, then copied to the arena once their number is
 * known: no counting pass, one allocation. Past PARAMS_STACK they spill to an arena array sized
 * for the limit. */
#define PARAMS_STACK 16
struct params_acc {
    struct sipreg_param tmp[PARAMS_STACK];
    struct sipreg_param *v; /* tmp, or the spill array */
    size_t n, cap, max;
};

static inline void params_acc_init(struct params_acc *acc, size_t max)
{
    acc->v = acc->tmp;
    acc->n = 0;
    acc->cap = PARAMS_STACK;
    acc->max = max;
}

/* A slot for one more parameter; NULL when the limit is reached (*nomem = 0) or the arena is
 * full (*nomem = 1). */
struct sipreg_param *sipreg__params_push(struct params_acc *acc, struct sipreg_arena *a,
                                         int *nomem);
/* Moves the collected parameters into `ps` (arena memory). 0 or SIPREG_ENOMEM. */
int sipreg__params_finish(struct params_acc *acc, struct sipreg_params *ps, struct sipreg_arena *a);

/* Removes the quotes of a quoted parameter value (no unescaping). */
struct sipreg_str sipreg__unquote(struct sipreg_str v);

#endif
