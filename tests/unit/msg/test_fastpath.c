/* Unit tests: results at the edges of the message layer's fast paths (parse.c, via.c, addr.c). */
/* The fast readers take the common shape of a header line, a CSeq, a Call-ID, a Via value and a
 * name-addr, and hand anything else to the general code. Each case here sits on one side or the
 * other of such an edge and pins the exact result: fields, slices (by offset), error codes and
 * error offsets. Inputs sit against a guard page after their last byte (guard_copy) or before
 * their first (guard_lead below), so that a block read past either end faults. */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msg_test.h"

static alignas(max_align_t) char mem[16384];

/* A copy of `n` bytes whose first byte follows an unmapped page: a read before the start faults.
 * Valid until the next guard_lead(). */
static const char *guard_lead(const void *p, size_t n)
{
    static char *map;
    static size_t maplen;
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    if (map)
        munmap(map, maplen);
    maplen = pg + (n + pg - 1) / pg * pg + pg;
    map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || mprotect(map, pg, PROT_NONE) != 0) {
        perror("guard_lead");
        exit(2);
    }
    if (n)
        memcpy(map + pg, p, n);
    return map + pg;
}

/* The slice as an offset from `base`, or -1 when absent. */
static long long off(struct sipreg_str s, const char *base)
{
    return s.p ? (long long)(s.p - base) : -1;
}

/* ---- header lines (fast_line, long_line, other_name, find_crlf, end_line) ---- */

#define REQ_START   "OPTIONS sip:a@example.com SIP/2.0\r\n" REQ_HDRS "CSeq: 1 OPTIONS\r\n"
#define NHDR_BEFORE 5 /* headers of REQ_START */

/* Parses REQ_START, then `n` bytes of `line`, then `tail` (CR LF first, and the empty line),
 * placed against a guard page, with the limits `lim` (may be NULL). *at is where the line
 * starts in the parsed buffer, whose start is *base. */
static int with_line(struct sipreg_msg *m, const char *line, size_t n, const char *tail,
                     const struct sipreg_msg_limits *lim, struct sipreg_perr *why, size_t *at,
                     const char **base)
{
    static char text[4096];
    struct sipreg_arena a;
    size_t k = strlen(REQ_START), t = strlen(tail);
    memcpy(text, REQ_START, k);
    memcpy(text + k, line, n);
    memcpy(text + k + n, tail, t);
    *at = k;
    *base = guard_copy(text, k + n + t);
    sipreg_arena_init(&a, mem, sizeof mem);
    return sipreg_msg_parse(m, *base, k + n + t, SIPREG_MSG_DATAGRAM, lim, &a, why);
}

/* The line `z` is indexed as header id `id`, name of `name_len` bytes, value of `vlen` bytes at
 * column `col` of the line; 1 on failure (reported). Also with another header line after it. */
static int line_is(const char *z, enum sipreg_hdr_id id, size_t name_len, size_t col, size_t vlen)
{
    static const char *tails[] = {"\r\n\r\n", "\r\nMax-Forwards: 70\r\n\r\n", "\r\n"};
    for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
        struct sipreg_msg m;
        struct sipreg_perr why;
        size_t at;
        const char *base;
        int rc = with_line(&m, z, strlen(z), tails[t], NULL, &why, &at, &base);
        if (rc != 0)
            TEST_FAIL_("\"%s\" (tail %zu): rc %d %s at %zu", z, t, rc, sipreg_perr_reason(why.code),
                       why.offset - at);
        const struct sipreg_hdr *h = &m.hdr[NHDR_BEFORE];
        if (m.nhdr != NHDR_BEFORE + 1 + (t == 1) || h->id != id ||
            off(h->name, base) != (long long)at || h->name.len != name_len ||
            off(h->value, base) != (long long)(at + col) || h->value.len != vlen)
            TEST_FAIL_("\"%s\" (tail %zu): nhdr %zu id %d name %lld+%zu value %lld+%zu, want id %d "
                       "name %zu+%zu value %zu+%zu",
                       z, t, m.nhdr, h->id, off(h->name, base), h->name.len, off(h->value, base),
                       h->value.len, id, at, name_len, at + col, vlen);
    }
    return 0;
}

/* The line `n` bytes at z is refused with `code` at column `col` of the line. */
static int line_refused(const char *z, size_t n, enum sipreg_perr_code code, size_t col)
{
    struct sipreg_msg m;
    struct sipreg_perr why;
    size_t at;
    const char *base;
    int rc = with_line(&m, z, n, "\r\n\r\n", NULL, &why, &at, &base);
    if (rc != SIPREG_EPARSE || why.code != code || why.offset != at + col)
        TEST_FAIL_("\"%.*s\": rc %d %s at %zu, want %s at %zu", (int)n, z, rc,
                   sipreg_perr_reason(why.code), why.offset - at, sipreg_perr_reason(code), col);
    return 0;
}

/* Leading and trailing SP or HT, one or several: HT (or any byte 0x08..0x0f) sends the line to
 * the general code, SP alone does not; both trim the same and point at the same bytes. */
TEST(msg_fastpath_hdr_value_spacing)
{
    static const struct {
        const char *line;
        size_t col, len;
    } cases[] = {
        {"Expires: 60", 9, 2},     {"Expires:60", 8, 2},           {"Expires:\t60", 9, 2},
        {"Expires: \t60", 10, 2},  {"Expires:\t 60", 10, 2},       {"Expires:  60", 10, 2},
        {"Expires: 60 ", 9, 2},    {"Expires: 60\t", 9, 2},        {"Expires: 60  ", 9, 2},
        {"Expires: 60 \t ", 9, 2}, {"Expires: 60\t ", 9, 2},       {"Expires: 6 0", 9, 3},
        {"Expires: 6\t0", 9, 3},   {"Expires: 6  \t 0 ", 9, 6},    {"Expires:", 8, 0},
        {"Expires: ", 9, 0},       {"Expires:  ", 10, 0},          {"Expires:\t", 9, 0},
        {"Expires: \t ", 11, 0},   {"Expires:     60    ", 13, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (line_is(cases[i].line, SIPREG_HDR_EXPIRES, 7, cases[i].col, cases[i].len))
            return 1;
    /* the same spacings after a name past the first block (long_line) and an unknown one */
    ASSERT_EQ(line_is("WWW-Authenticate:\tDigest x=1 \t", SIPREG_HDR_WWW_AUTHENTICATE, 16, 18, 10),
              0);
    ASSERT_EQ(line_is("WWW-Authenticate:  Digest x=1  ", SIPREG_HDR_WWW_AUTHENTICATE, 16, 19, 10),
              0);
    ASSERT_EQ(line_is("WWW-Authenticate:", SIPREG_HDR_WWW_AUTHENTICATE, 16, 17, 0), 0);
    ASSERT_EQ(line_is("X-Twenty-Byte-Name-1: ", SIPREG_HDR_OTHER, 20, 22, 0), 0);
    ASSERT_EQ(line_is("X-Twenty-Byte-Name-1:\t\tv\t", SIPREG_HDR_OTHER, 20, 23, 1), 0);
    /* space before the colon: the general code's, for short and long names */
    ASSERT_EQ(line_is("Expires : 60", SIPREG_HDR_EXPIRES, 7, 10, 2), 0);
    ASSERT_EQ(line_is("Expires\t:60", SIPREG_HDR_EXPIRES, 7, 9, 2), 0);
    ASSERT_EQ(line_is("Proxy-Authorization :x", SIPREG_HDR_PROXY_AUTHORIZATION, 19, 21, 1), 0);
    /* folding: a continuation is part of the value */
    ASSERT_EQ(line_is("Expires: 60\r\n 0", SIPREG_HDR_EXPIRES, 7, 9, 6), 0);
    ASSERT_EQ(line_is("Expires:\r\n\t60", SIPREG_HDR_EXPIRES, 7, 11, 2), 0);
    return 0;
}

/* Names around the 16-byte block (15, 16, 31, 32 bytes and on), known and unknown, in either
 * case, with a short and a long value: the id and the name's slice. */
TEST(msg_fastpath_hdr_name_lengths)
{
    static const struct {
        const char *name;
        enum sipreg_hdr_id id;
    } names[] = {
        {"Accept-Encoding", SIPREG_HDR_OTHER},             /* 15 */
        {"Session-Expires", SIPREG_HDR_SESSION_EXPIRES},   /* 15 */
        {"X-Fifteen-Bytes", SIPREG_HDR_OTHER},             /* 15 */
        {"WWW-Authenticate", SIPREG_HDR_WWW_AUTHENTICATE}, /* 16 */
        {"Content-Encoding", SIPREG_HDR_CONTENT_ENCODING}, /* 16 */
        {"X-Sixteen-Bytes1", SIPREG_HDR_OTHER},            /* 16 */
        {"Proxy-Authenticate", SIPREG_HDR_PROXY_AUTHENTICATE},
        {"Proxy-Authorization", SIPREG_HDR_PROXY_AUTHORIZATION},
        {"Request-Disposition", SIPREG_HDR_REQUEST_DISPOSITION},
        {"X-Twenty-Byte-Name-1", SIPREG_HDR_OTHER},              /* 20 */
        {"X-Twenty-Four-Bytes-Name", SIPREG_HDR_OTHER},          /* 24 */
        {"X-Twenty-Five-Bytes-Name1", SIPREG_HDR_OTHER},         /* 25 */
        {"X-Thirty-One-Bytes-Long-Name-31", SIPREG_HDR_OTHER},   /* 31 */
        {"X-Thirty-Two-Bytes-Long-Name-032", SIPREG_HDR_OTHER},  /* 32 */
        {"X-Thirty-Three-Bytes-Long-Name-33", SIPREG_HDR_OTHER}, /* 33 */
        {"X-A-Name-Of-Forty-Bytes-Is-Long-Enough-4", SIPREG_HDR_OTHER},
        {"Proxy-Authorization-X", SIPREG_HDR_OTHER},
        {"WWW-Authenticat", SIPREG_HDR_OTHER},
        {"WWW-Authenticatee", SIPREG_HDR_OTHER},
        {"0123456789012345678", SIPREG_HDR_OTHER},
    };
    static const char *values[] = {"v", "Digest realm=\"example.org\", nonce=\"0123456789abcdef\""};
    char line[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i].name);
        for (int variant = 0; variant < 3; variant++) {
            for (size_t v = 0; v < 2; v++) {
                memcpy(line, names[i].name, n);
                for (size_t k = 0; k < n && variant; k++)
                    if ((line[k] | 0x20) >= 'a' && (line[k] | 0x20) <= 'z')
                        line[k] = (char)(variant == 1 ? line[k] | 0x20 : line[k] & ~0x20);
                snprintf(line + n, sizeof line - n, ": %s", values[v]);
                if (line_is(line, names[i].id, n, n + 2, strlen(values[v])))
                    return 1;
            }
        }
    }
    /* one byte that is a token character but not a letter, digit or '-' (general code) */
    ASSERT_EQ(line_is("X.Fifteen-Bytes: v", SIPREG_HDR_OTHER, 15, 17, 1), 0);
    ASSERT_EQ(line_is("X-Sixteen_Bytes1: v", SIPREG_HDR_OTHER, 16, 18, 1), 0);
    ASSERT_EQ(line_is("X-Twenty-Byte-Name!1: v", SIPREG_HDR_OTHER, 20, 22, 1), 0);
    ASSERT_EQ(line_is("X-Thirty-One-Bytes-Long-Name-3~: v", SIPREG_HDR_OTHER, 31, 33, 1), 0);
    ASSERT_EQ(line_is("WWW-Authenticate+: v", SIPREG_HDR_OTHER, 17, 19, 1), 0);
    /* a 16-byte name whose colon is the 17th byte, and a line that ends inside the second block */
    ASSERT_EQ(line_is("Content-Encoding:", SIPREG_HDR_CONTENT_ENCODING, 16, 17, 0), 0);
    ASSERT_EQ(line_is("X-Thirty-One-Bytes-Long-Name-31:", SIPREG_HDR_OTHER, 31, 32, 0), 0);
    /* no colon within 32 bytes, and none at all */
    ASSERT_EQ(line_refused("X-Thirty-Three-Bytes-Long-Name-33 v", 35, SIPREG_PERR_HEADER, 34), 0);
    ASSERT_EQ(line_refused("X-Sixteen-Bytes1", 16, SIPREG_PERR_HEADER, 16), 0);
    ASSERT_EQ(line_refused("X-Fifteen-Bytes", 15, SIPREG_PERR_HEADER, 15), 0);
    /* an empty name, a name of non-token bytes */
    ASSERT_EQ(line_refused(": v", 3, SIPREG_PERR_HEADER_NAME, 0), 0);
    ASSERT_EQ(line_refused("@: v", 4, SIPREG_PERR_HEADER_NAME, 0), 0);
    ASSERT_EQ(line_refused("{X-Sixteen-Bytes: v", 19, SIPREG_PERR_HEADER_NAME, 0), 0);
    return 0;
}

/* Bytes that read as a name's byte once OR 0x20 is applied (the fast path's case fold): CR and
 * '-', '@' and '`', '[' and '{', DEL and '_', ^ and ~, 0x1a and ':'. Only the general code's
 * verdict counts: a token byte makes another (unknown) name, any other byte a malformed line. */
TEST(msg_fastpath_hdr_name_fold_lookalikes)
{
    /* unknown names */
    ASSERT_EQ(line_is("X-A`b: 1", SIPREG_HDR_OTHER, 5, 7, 1), 0);
    ASSERT_EQ(line_refused("X-A@b: 1", 8, SIPREG_PERR_HEADER, 3), 0);
    ASSERT_EQ(line_refused("X-A[b: 1", 8, SIPREG_PERR_HEADER, 3), 0);
    ASSERT_EQ(line_refused("X-A{b: 1", 8, SIPREG_PERR_HEADER, 3), 0);
    ASSERT_EQ(line_is("X-A_b: 1", SIPREG_HDR_OTHER, 5, 7, 1), 0);
    ASSERT_EQ(line_refused("X-A\x7f"
                           "b: 1",
                           8, SIPREG_PERR_HEADER, 3),
              0);
    ASSERT_EQ(line_is("X-A~b: 1", SIPREG_HDR_OTHER, 5, 7, 1), 0);
    ASSERT_EQ(line_refused("X-A^b: 1", 8, SIPREG_PERR_HEADER, 3), 0);
    ASSERT_EQ(line_refused("Via\x1a: 1", 7, SIPREG_PERR_HEADER, 3), 0);
    ASSERT_EQ(line_refused("Via\x1a 1", 6, SIPREG_PERR_HEADER, 3), 0);
    /* a known name with a CR, HT, LF, NUL or 0x0d-like byte where its '-' is */
    ASSERT_EQ(line_refused("Max\rForwards: 70", 16, SIPREG_PERR_HEADER, 3), 0);
    ASSERT_EQ(line_refused("Max\nForwards: 70", 16, SIPREG_PERR_HEADER, 3), 0);
    ASSERT_EQ(line_refused("Max\tForwards: 70", 16, SIPREG_PERR_HEADER, 4), 0);
    ASSERT_EQ(line_refused("Max Forwards: 70", 16, SIPREG_PERR_HEADER, 4), 0);
    ASSERT_EQ(line_refused("Max\0Forwards: 70", 16, SIPREG_PERR_HEADER, 3), 0);
    ASSERT_EQ(line_refused("Call\rID: x", 10, SIPREG_PERR_HEADER, 4), 0);
    ASSERT_EQ(line_refused("Proxy\rAuthorization: x", 22, SIPREG_PERR_HEADER, 5), 0);
    ASSERT_EQ(line_refused("WWW\rAuthenticate: x", 19, SIPREG_PERR_HEADER, 3), 0);
    ASSERT_EQ(line_refused("Max-Forwards\r: 70", 17, SIPREG_PERR_HEADER, 12), 0);

    /* Every known name, each byte replaced by every byte whose OR 0x20 equals the byte's own OR
     * 0x20, and by a few others: the other case of a letter is the same header; a token byte
     * makes an unknown name; SP or HT before the colon leaves the byte after as the culprit; any
     * other byte is a malformed line at its offset (an empty name at the first byte). */
    static const unsigned char extra[] = {0x00, 0x09, 0x0a, 0x0d, 0x1a, ' ', '!', '.',
                                          ':',  '@',  '[',  '_',  '`',  '{', '~', 0x7f,
                                          0x80, 0xc1, 0xcd, 0xe1, 0xed, 0xff};
    char line[64];
    size_t checked = 0;
    for (int i_ = 1; i_ < SIPREG_HDR__COUNT; i_++) {
        const enum sipreg_hdr_id id = (enum sipreg_hdr_id)i_;
        const char *name = sipreg_hdr_name(id);
        size_t n = strlen(name);
        for (size_t i = 0; i < n; i++) {
            unsigned char subst[2 + sizeof extra];
            size_t ns = 0;
            subst[ns++] = (unsigned char)(name[i] | 0x20);
            subst[ns++] = (unsigned char)(name[i] & ~0x20);
            memcpy(subst + ns, extra, sizeof extra);
            ns += sizeof extra;
            for (size_t s = 0; s < ns; s++) {
                unsigned char b = subst[s];
                memcpy(line, name, n);
                line[i] = (char)b;
                memcpy(line + n, ": 0", 4);
                size_t len = n + 3;
                int letter = (b | 0x20) >= 'a' && (b | 0x20) <= 'z';
                int same = letter && (b | 0x20) == (unsigned char)(name[i] | 0x20);
                int token = letter || (b >= '0' && b <= '9') || (b && strchr("-.!%*_+`'~", b));
                if (b == ':') {
                    /* the name ends there: valid when the rest is a token, else malformed */
                    continue;
                }
                if (same || token) {
                    struct sipreg_msg m;
                    struct sipreg_perr why;
                    size_t at;
                    const char *base;
                    int rc = with_line(&m, line, len, "\r\n\r\n", NULL, &why, &at, &base);
                    enum sipreg_hdr_id want =
                        same ? id : sipreg_hdr_id((struct sipreg_str){line, n});
                    if (rc == SIPREG_EPARSE && why.code == SIPREG_PERR_DUP_HEADER &&
                        (want == SIPREG_HDR_FROM || want == SIPREG_HDR_TO ||
                         want == SIPREG_HDR_CALL_ID || want == SIPREG_HDR_CSEQ))
                        continue;
                    if (rc != 0 || m.hdr[NHDR_BEFORE].id != want ||
                        m.hdr[NHDR_BEFORE].name.len != n)
                        TEST_FAIL_("\"%s\" byte %zu = 0x%02x: rc %d id %d, want id %d", name, i, b,
                                   rc, rc ? -1 : (int)m.hdr[NHDR_BEFORE].id, want);
                    if (same && want != id)
                        TEST_FAIL_("\"%s\" byte %zu = 0x%02x: not the same header", name, i, b);
                } else if (i == 0 && (b == ' ' || b == '\t' || b == '\n')) {
                    continue; /* a continuation of the line before, or the empty line */
                } else if (i == n - 1 && (b == ' ' || b == '\t')) {
                    /* "Name :": the name without its last byte */
                    struct sipreg_msg m;
                    struct sipreg_perr why;
                    size_t at;
                    const char *base;
                    int rc = with_line(&m, line, len, "\r\n\r\n", NULL, &why, &at, &base);
                    enum sipreg_hdr_id want = sipreg_hdr_id((struct sipreg_str){line, n - 1});
                    if (rc == SIPREG_EPARSE && why.code == SIPREG_PERR_DUP_HEADER &&
                        (want == SIPREG_HDR_FROM || want == SIPREG_HDR_TO ||
                         want == SIPREG_HDR_CALL_ID || want == SIPREG_HDR_CSEQ))
                        continue;
                    if (rc != 0 || m.hdr[NHDR_BEFORE].id != want ||
                        m.hdr[NHDR_BEFORE].name.len != n - 1)
                        TEST_FAIL_("\"%s\" byte %zu = 0x%02x: rc %d, want id %d", name, i, b, rc,
                                   want);
                } else {
                    size_t col = i;
                    enum sipreg_perr_code code = SIPREG_PERR_HEADER;
                    if (i == 0 && b != '\r')
                        code = SIPREG_PERR_HEADER_NAME;
                    else if (b == ' ' || b == '\t')
                        col = i + 1;
                    if (line_refused(line, len, code, col))
                        TEST_FAIL_("\"%s\" byte %zu = 0x%02x", name, i, b);
                }
                checked++;
            }
        }
    }
    ASSERT(checked > 8500);
    return 0;
}

/* Compact forms (one letter, in either case) and other one-letter names. */
TEST(msg_fastpath_hdr_compact_forms)
{
    static const struct {
        char c;
        enum sipreg_hdr_id id;
    } forms[] = {
        {'v', SIPREG_HDR_VIA},
        {'m', SIPREG_HDR_CONTACT},
        {'l', SIPREG_HDR_CONTENT_LENGTH},
        {'c', SIPREG_HDR_CONTENT_TYPE},
        {'e', SIPREG_HDR_CONTENT_ENCODING},
        {'k', SIPREG_HDR_SUPPORTED},
        {'s', SIPREG_HDR_SUBJECT},
        {'o', SIPREG_HDR_EVENT},
        {'r', SIPREG_HDR_REFER_TO},
        {'u', SIPREG_HDR_ALLOW_EVENTS},
        {'x', SIPREG_HDR_SESSION_EXPIRES},
        {'y', SIPREG_HDR_IDENTITY},
        {'b', SIPREG_HDR_REFERRED_BY},
        {'a', SIPREG_HDR_ACCEPT_CONTACT},
        {'j', SIPREG_HDR_REJECT_CONTACT},
        {'d', SIPREG_HDR_REQUEST_DISPOSITION},
        {'g', SIPREG_HDR_OTHER},
        {'h', SIPREG_HDR_OTHER},
        {'n', SIPREG_HDR_OTHER},
        {'p', SIPREG_HDR_OTHER},
        {'q', SIPREG_HDR_OTHER},
        {'w', SIPREG_HDR_OTHER},
        {'z', SIPREG_HDR_OTHER},
        {'0', SIPREG_HDR_OTHER},
        {'9', SIPREG_HDR_OTHER},
        {'-', SIPREG_HDR_OTHER},
    };
    char line[16];
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        for (int up = 0; up < 2; up++) {
            char c = forms[i].c;
            if (up && c >= 'a' && c <= 'z')
                c = (char)(c - 32);
            snprintf(line, sizeof line, "%c: 0", c);
            if (line_is(line, forms[i].id, 1, 3, 1))
                return 1;
            snprintf(line, sizeof line, "%c:0", c);
            if (line_is(line, forms[i].id, 1, 2, 1))
                return 1;
        }
    }
    /* a repeated single header in compact form */
    ASSERT_EQ(line_refused("i: y", 4, SIPREG_PERR_DUP_HEADER, 0), 0);
    ASSERT_EQ(line_refused("f: <sip:b@c>", 12, SIPREG_PERR_DUP_HEADER, 0), 0);
    ASSERT_EQ(line_refused("T: <sip:b@c>", 12, SIPREG_PERR_DUP_HEADER, 0), 0);
    return 0;
}

/* Unknown names of 1 to 40 bytes, of every first 4 bytes the hash sees: indexed as unknown,
 * whatever slot they hash to; a known name's exact spelling is the only match. */
TEST(msg_fastpath_hdr_unknown_names_any_slot)
{
    char line[64];
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
    size_t seed = 12345, checked = 0;
    for (size_t n = 1; n <= 40; n++) {
        for (int k = 0; k < 300; k++) {
            for (size_t i = 0; i < n; i++) {
                seed = seed * 6364136223846793005u + 1442695040888963407u;
                line[i] = alphabet[(seed >> 33) % (sizeof alphabet - 1)];
            }
            memcpy(line + n, ": z", 4);
            enum sipreg_hdr_id want = sipreg_hdr_id((struct sipreg_str){line, n});
            if (want != SIPREG_HDR_OTHER)
                continue; /* the known names have their own tests */
            if (line_is(line, SIPREG_HDR_OTHER, n, n + 2, 1))
                return 1;
            checked++;
        }
    }
    ASSERT(checked > 11000);
    return 0;
}

/* A line of exactly max_line bytes (CR LF not counted) is taken, one more is refused at the
 * line's start, for short lines (within the first block), long values and long names. The line
 * is the first header, so that no line before it can be the one refused. */
TEST(msg_fastpath_hdr_line_at_max_line)
{
    static const char start[] = "OPTIONS sip:a@example.com SIP/2.0\r\n";
    static const char rest[] = "\r\n" REQ_HDRS "CSeq: 1 OPTIONS\r\n\r\n";
    static const char *names[] = {"X",
                                  "Subject",
                                  "X-Fifteen-Bytes",
                                  "WWW-Authenticate",
                                  "X-Thirty-One-Bytes-Long-Name-31",
                                  "X-Thirty-Two-Bytes-Long-Name-032"};
    static char text[512];
    const size_t at = sizeof start - 1;
    memcpy(text, start, at);
    for (size_t ni = 0; ni < sizeof names / sizeof names[0]; ni++) {
        size_t nl = strlen(names[ni]);
        for (size_t len = nl + 1; len <= 140; len++) {
            /* name ":" value, `len` bytes in all */
            memcpy(text + at, names[ni], nl);
            text[at + nl] = ':';
            memset(text + at + nl + 1, 'v', len - nl - 1);
            memcpy(text + at + len, rest, sizeof rest - 1);
            size_t total = at + len + sizeof rest - 1;
            for (size_t lim_n = len - 1; lim_n <= len; lim_n++) {
                struct sipreg_msg_limits lim = {.max_line = lim_n};
                struct sipreg_msg m;
                struct sipreg_perr why;
                struct sipreg_arena a;
                sipreg_arena_init(&a, mem, sizeof mem);
                int rc = sipreg_msg_parse(&m, guard_copy(text, total), total, SIPREG_MSG_DATAGRAM,
                                          &lim, &a, &why);
                if (lim_n < len) {
                    if (rc != SIPREG_EPARSE || why.code != SIPREG_PERR_LINE_TOO_LONG ||
                        why.offset != at)
                        TEST_FAIL_("%s, %zu bytes, max_line %zu: rc %d %s at %zu", names[ni], len,
                                   lim_n, rc, sipreg_perr_reason(why.code), why.offset);
                    ASSERT_EQ(m.nhdr, 0);
                    continue;
                }
                /* taken; a later line may be the one refused */
                if (rc != 0 && !(rc == SIPREG_EPARSE && why.code == SIPREG_PERR_LINE_TOO_LONG &&
                                 why.offset > at + len))
                    TEST_FAIL_("%s, %zu bytes, max_line %zu: rc %d %s at %zu", names[ni], len,
                               lim_n, rc, sipreg_perr_reason(why.code), why.offset);
                const struct sipreg_hdr *h = &m.hdr[0];
                ASSERT(m.nhdr >= 1);
                ASSERT_EQ(off(h->name, m.buf), (long long)at);
                ASSERT_EQ(h->name.len, nl);
                ASSERT_EQ(off(h->value, m.buf), (long long)(at + nl + 1));
                ASSERT_EQ(h->value.len, len - nl - 1);
                if (len >= 55)
                    ASSERT_EQ(rc, 0); /* every line of REQ_HDRS fits */
            }
        }
    }
    return 0;
}

/* Values of 15 to 70 bytes after names of several lengths (the value's start moves across the
 * first block, the 32-byte steps and the overlapping last block), with one control byte at each
 * position: HT and SP are trimmed at the ends and kept inside, other controls but CR kept, a
 * bare CR refused where it is. Each line is followed by the empty line, or by another header. */
TEST(msg_fastpath_hdr_long_values)
{
    static const char *names[] = {"X", "Subject", "X-Fifteen-Bytes", "WWW-Authenticate",
                                  "X-Twenty-Byte-Name-1"};
    static const unsigned char ctl[] = {0x00, 0x01, 0x08, '\t', 0x0b, 0x0c, 0x0e,
                                        0x0f, 0x1f, 0x7f, '\r', ' ',  0x80, 0xff};
    static const char *tails[] = {"\r\n\r\n", "\r\nMax-Forwards: 70\r\n\r\n"};
    char line[128];
    size_t checked = 0;
    for (size_t ni = 0; ni < sizeof names / sizeof names[0]; ni++) {
        size_t nl = strlen(names[ni]);
        memcpy(line, names[ni], nl);
        memcpy(line + nl, ": ", 2);
        char *val = line + nl + 2;
        for (size_t vl = 15; vl <= 70; vl++) {
            for (size_t pos = 0; pos <= vl; pos++) {
                for (size_t ci = 0; ci < sizeof ctl; ci++) {
                    if (pos == vl && ci > 0)
                        break; /* pos == vl: no control byte at all */
                    for (size_t i = 0; i < vl; i++)
                        val[i] = (char)('a' + (i % 26));
                    if (pos < vl)
                        val[pos] = (char)ctl[ci];
                    unsigned char b = pos < vl ? ctl[ci] : 'a';
                    size_t len = nl + 2 + vl;
                    struct sipreg_msg m;
                    struct sipreg_perr why;
                    size_t at;
                    const char *base;
                    int rc = with_line(&m, line, len, tails[pos % 2], NULL, &why, &at, &base);
                    if (b == '\r') {
                        if (rc != SIPREG_EPARSE || why.code != SIPREG_PERR_HEADER ||
                            why.offset != at + nl + 2 + pos)
                            TEST_FAIL_("%s, value %zu, CR at %zu: rc %d %s at %zu", names[ni], vl,
                                       pos, rc, sipreg_perr_reason(why.code), why.offset - at);
                        checked++;
                        continue;
                    }
                    size_t vs = 0, ve = vl;
                    if (b == ' ' || b == '\t') {
                        if (pos == 0)
                            vs = 1;
                        if (pos == vl - 1)
                            ve = vl - 1;
                    }
                    const struct sipreg_hdr *h = &m.hdr[NHDR_BEFORE];
                    if (rc != 0 || off(h->name, base) != (long long)at || h->name.len != nl ||
                        off(h->value, base) != (long long)(at + nl + 2 + vs) ||
                        h->value.len != ve - vs || m.nhdr != NHDR_BEFORE + 1 + pos % 2)
                        TEST_FAIL_("%s, value %zu, 0x%02x at %zu: rc %d %s, value %lld+%zu",
                                   names[ni], vl, b, pos, rc, sipreg_perr_reason(why.code),
                                   rc ? -1 : off(h->value, base) - (long long)at,
                                   rc ? 0 : h->value.len);
                    checked++;
                }
            }
        }
    }
    ASSERT(checked > 50000);
    return 0;
}

/* ---- CSeq (cseq_parse: 8 digits as one word, the request's method compared first) ---- */

#define CSEQ_HDRS                                                 \
    "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776;rport\r\n" \
    "From: <sip:alice@example.com>;tag=abc\r\n"                   \
    "To: <sip:alice@example.com>\r\n"                             \
    "Call-ID: 1234@host\r\n"

/* Parses `start` (a start line with its CR LF), CSEQ_HDRS, "CSeq: " `cseq` and the empty line. */
static int with_cseq(struct sipreg_msg *m, const char *start, const char *cseq,
                     struct sipreg_perr *why, size_t *value_at)
{
    static char text[512];
    snprintf(text, sizeof text, "%s" CSEQ_HDRS "CSeq: %s\r\n\r\n", start, cseq);
    *value_at = strlen(start) + strlen(CSEQ_HDRS) + 6;
    struct sipreg_arena a;
    return parse_z(m, text, &a, mem, sizeof mem, why);
}

TEST(msg_fastpath_cseq_numbers)
{
    static const struct {
        const char *v;
        long long num; /* -1: refused (SIPREG_PERR_CSEQ at the value) */
    } cases[] = {
        {"1 REGISTER", 1},
        {"12 REGISTER", 12},
        {"123 REGISTER", 123},
        {"1234 REGISTER", 1234},
        {"12345 REGISTER", 12345},
        {"123456 REGISTER", 123456},
        {"1234567 REGISTER", 1234567},
        {"12345678 REGISTER", 12345678},
        {"123456789 REGISTER", 123456789},
        {"1234567890 REGISTER", 1234567890},
        {"99999999 REGISTER", 99999999},
        {"999999999 REGISTER", 999999999},
        {"2147483647 REGISTER", 2147483647},
        {"2147483648 REGISTER", -1},
        {"2147483650 REGISTER", -1},
        {"4294967295 REGISTER", -1},
        {"4294967296 REGISTER", -1},
        {"9999999999 REGISTER", -1},
        {"12345678901 REGISTER", -1},
        {"0 REGISTER", 0},
        {"00000000 REGISTER", 0},
        {"00000001 REGISTER", 1},
        {"0000000001 REGISTER", 1},
        {"000000002147483647 REGISTER", 2147483647},
        {"000000002147483648 REGISTER", -1},
        {"00000000000000000000042 REGISTER", 42},
        {"1\tREGISTER", 1},
        {"12345678\tREGISTER", 12345678},
        {"1  \t REGISTER", 1},
        {"12345678  REGISTER", 12345678},
        {"1REGISTER", -1},
        {"12345678REGISTER", -1},
        {"123456789REGISTER", -1},
        {"1234a678 REGISTER", -1},
        {"1234567a REGISTER", -1},
        {"12345678a REGISTER", -1},
        {"1 2 REGISTER", -1},
        {"12345678", -1},
        {"123456789", -1},
        {"1", -1},
        {"REGISTER", -1},
        {"-1 REGISTER", -1},
        {"+1 REGISTER", -1},
        {"1.0 REGISTER", -1},
        {"1\x80 REGISTER", -1},
        {"1234567\xb0 REGISTER", -1},
        {"1234567: REGISTER", -1},
        {"1234567/ REGISTER", -1},
        {"1 REGISTER x", -1},
        {"1 REGISTER\r\n x", -1},
        {"1\r\n REGISTER", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sipreg_msg m;
        struct sipreg_perr why;
        size_t at;
        int rc = with_cseq(&m, "REGISTER sip:a SIP/2.0\r\n", cases[i].v, &why, &at);
        if (cases[i].num < 0) {
            if (rc != SIPREG_EPARSE || why.code != SIPREG_PERR_CSEQ || why.offset != at)
                TEST_FAIL_("\"%s\": rc %d %s at %zu, want Malformed CSeq at %zu", cases[i].v, rc,
                           sipreg_perr_reason(why.code), why.offset, at);
            continue;
        }
        if (rc != 0 || m.cseq.num != (uint32_t)cases[i].num ||
            m.cseq.method_id != SIPREG_METHOD_REGISTER || off(m.cseq.method, m.buf) < 0 ||
            m.cseq.method.len != 8 || memcmp(m.cseq.method.p, "REGISTER", 8) != 0 ||
            m.cseq.method.p + 8 != m.buf + at + strlen(cases[i].v))
            TEST_FAIL_("\"%s\": rc %d %s num %u", cases[i].v, rc, sipreg_perr_reason(why.code),
                       rc ? 0 : m.cseq.num);
    }
    /* the public parser, on an exactly-sized slice (no trailing bytes to read) */
    static const struct {
        const char *v;
        long long num;
        const char *method;
    } pub[] = {
        {"12345678 A", 12345678, "A"},
        {"1 a", 1, "a"},
        {"  7 INVITE  ", 7, "INVITE"},
        {"12345678", -1, NULL},
        {"1", -1, NULL},
        {"", -1, NULL},
        {"2147483648 A", -1, NULL},
        {"2147483647 ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2147483647, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    };
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++) {
        struct sipreg_cseq c;
        struct sipreg_perr why;
        size_t n = strlen(pub[i].v);
        int rc = sipreg_cseq_parse(&c, (struct sipreg_str){guard_copy(pub[i].v, n), n}, &why);
        if (pub[i].num < 0) {
            ASSERT_EQ(rc, SIPREG_EPARSE);
            ASSERT_EQ(why.code, SIPREG_PERR_CSEQ);
            continue;
        }
        ASSERT_EQ(rc, 0);
        ASSERT_EQ(c.num, pub[i].num);
        ASSERT_STR(c.method, pub[i].method);
    }
    /* where the public parser reports a number too large: at its tenth digit */
    struct sipreg_cseq c;
    struct sipreg_perr why;
    ASSERT_EQ(sipreg_cseq_parse(&c, SIPREG_STR_LIT("2147483648 A"), &why), SIPREG_EPARSE);
    ASSERT_EQ(why.offset, 9);
    ASSERT_EQ(sipreg_cseq_parse(&c, SIPREG_STR_LIT("12345678a A"), &why), SIPREG_EPARSE);
    ASSERT_EQ(why.offset, 8);
    ASSERT_EQ(sipreg_cseq_parse(&c, SIPREG_STR_LIT("1234a678 A"), &why), SIPREG_EPARSE);
    ASSERT_EQ(why.offset, 4);
    return 0;
}

/* The CSeq method against the request's: the same (the fast compare), another, another case,
 * an unknown method of any length (past the 16-byte upper-case step and the 24-byte words). */
TEST(msg_fastpath_cseq_methods)
{
    static const struct {
        const char *start, *cseq;
        int ok;
        enum sipreg_method id; /* of the CSeq */
    } cases[] = {
        {"REGISTER sip:a SIP/2.0\r\n", "1 REGISTER", 1, SIPREG_METHOD_REGISTER},
        {"REGISTER sip:a SIP/2.0\r\n", "1 INVITE", 0, 0},
        {"REGISTER sip:a SIP/2.0\r\n", "1 register", 0, 0},
        {"REGISTER sip:a SIP/2.0\r\n", "1 REGISTERS", 0, 0},
        {"REGISTER sip:a SIP/2.0\r\n", "1 REGISTE", 0, 0},
        {"REGISTER sip:a SIP/2.0\r\n", "1 REGISTER  ", 1, SIPREG_METHOD_REGISTER},
        {"register sip:a SIP/2.0\r\n", "1 register", 1, SIPREG_METHOD_UNKNOWN},
        {"register sip:a SIP/2.0\r\n", "1 REGISTER", 0, 0},
        {"Register sip:a SIP/2.0\r\n", "1 Register", 1, SIPREG_METHOD_UNKNOWN},
        {"OPTIONS sip:a SIP/2.0\r\n", "1 OPTIONS", 1, SIPREG_METHOD_OPTIONS},
        {"INVITE sip:a SIP/2.0\r\n", "1 INVITE", 1, SIPREG_METHOD_INVITE},
        {"FOO sip:a SIP/2.0\r\n", "1 FOO", 1, SIPREG_METHOD_UNKNOWN},
        {"FOO sip:a SIP/2.0\r\n", "1 FOOBAR", 0, 0},
        {"FOO sip:a SIP/2.0\r\n", "1 FOo", 0, 0},
        {"FOO-BAR.X sip:a SIP/2.0\r\n", "1 FOO-BAR.X", 1, SIPREG_METHOD_UNKNOWN},
        {"ABCDEFGHIJKLMNOP sip:a SIP/2.0\r\n", "1 ABCDEFGHIJKLMNOP", 1, SIPREG_METHOD_UNKNOWN},
        {"ABCDEFGHIJKLMNOPQ sip:a SIP/2.0\r\n", "1 ABCDEFGHIJKLMNOPQ", 1, SIPREG_METHOD_UNKNOWN},
        {"ABCDEFGHIJKLMNOPQ sip:a SIP/2.0\r\n", "1 ABCDEFGHIJKLMNOPR", 0, 0},
        {"ABCDEFGHIJKLMNOPQRSTUVWX sip:a SIP/2.0\r\n", "1 ABCDEFGHIJKLMNOPQRSTUVWX", 1,
         SIPREG_METHOD_UNKNOWN},
        {"ABCDEFGHIJKLMNOPQRSTUVWXY sip:a SIP/2.0\r\n", "1 ABCDEFGHIJKLMNOPQRSTUVWXY", 1,
         SIPREG_METHOD_UNKNOWN},
        {"ABCDEFGHIJKLMNOPQRSTUVWXY sip:a SIP/2.0\r\n", "1 ABCDEFGHIJKLMNOPQRSTUVWXZ", 0, 0},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH sip:a SIP/2.0\r\n",
         "1 ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH", 1, SIPREG_METHOD_UNKNOWN},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH sip:a SIP/2.0\r\n",
         "1 ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGh", 0, 0},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH sip:a SIP/2.0\r\n",
         "1 aBCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sipreg_msg m;
        struct sipreg_perr why;
        size_t at;
        int rc = with_cseq(&m, cases[i].start, cases[i].cseq, &why, &at);
        if (!cases[i].ok) {
            if (rc != SIPREG_EPARSE || why.code != SIPREG_PERR_CSEQ_METHOD || why.offset != at)
                TEST_FAIL_("%s / %s: rc %d %s at %zu, want CSeq method mismatch at %zu",
                           cases[i].start, cases[i].cseq, rc, sipreg_perr_reason(why.code),
                           why.offset, at);
            ASSERT(m.hdrs_complete);
            continue;
        }
        const char *mth = cases[i].cseq + 2;
        size_t ml = strcspn(mth, " ");
        if (rc != 0 || m.cseq.num != 1 || m.cseq.method_id != cases[i].id ||
            off(m.cseq.method, m.buf) != (long long)(at + 2) || m.cseq.method.len != ml)
            TEST_FAIL_("%s / %s: rc %d %s", cases[i].start, cases[i].cseq, rc,
                       sipreg_perr_reason(why.code));
    }
    return 0;
}

/* A response's CSeq method is read on its own (its upper-case letters in a 16-byte step that may
 * run on within the buffer): every length, with 0 to 20 bytes after it in the buffer. */
TEST(msg_fastpath_cseq_response_methods)
{
    static const struct {
        const char *m;
        enum sipreg_method id;
    } known[] = {
        {"REGISTER", SIPREG_METHOD_REGISTER}, {"INVITE", SIPREG_METHOD_INVITE},
        {"OPTIONS", SIPREG_METHOD_OPTIONS},   {"register", SIPREG_METHOD_UNKNOWN},
        {"Register", SIPREG_METHOD_UNKNOWN},  {"REGISTERX", SIPREG_METHOD_UNKNOWN},
        {"REGISTE", SIPREG_METHOD_UNKNOWN},   {"X-FOO.bar", SIPREG_METHOD_UNKNOWN},
    };
    char text[512], mth[64];
    for (size_t i = 0; i < sizeof known / sizeof known[0] + 40; i++) {
        const char *method;
        enum sipreg_method id = SIPREG_METHOD_UNKNOWN;
        if (i < sizeof known / sizeof known[0]) {
            method = known[i].m;
            id = known[i].id;
        } else {
            /* upper-case letters, then maybe other token bytes */
            size_t k = i - sizeof known / sizeof known[0];
            size_t len = k % 20 + 1;
            for (size_t j = 0; j < len; j++)
                mth[j] = (char)('A' + j % 26);
            if (k >= 20)
                mth[len - 1] = k % 2 ? '~' : '1';
            mth[len] = 0;
            method = mth;
        }
        for (size_t after = 0; after <= 20; after++) {
            int n =
                snprintf(text, sizeof text, "SIP/2.0 200 OK\r\n" CSEQ_HDRS "CSeq: 3 %s\r\n\r\n%.*s",
                         method, (int)after, "abcdefghijklmnopqrstuvwxyz");
            struct sipreg_msg m;
            struct sipreg_perr why;
            struct sipreg_arena a;
            sipreg_arena_init(&a, mem, sizeof mem);
            int rc = sipreg_msg_parse(&m, guard_copy(text, (size_t)n), (size_t)n,
                                      SIPREG_MSG_DATAGRAM, NULL, &a, &why);
            size_t at = (size_t)(strstr(text, "CSeq: 3 ") - text) + 8;
            if (rc != 0 || m.cseq.num != 3 || m.cseq.method_id != id ||
                off(m.cseq.method, m.buf) != (long long)at || m.cseq.method.len != strlen(method) ||
                m.body.len != after)
                TEST_FAIL_("\"%s\", %zu after: rc %d %s id %d", method, after, rc,
                           sipreg_perr_reason(why.code), (int)m.cseq.method_id);
        }
    }
    /* not a token, or two words */
    static const char *bad[] = {"3 REG ISTER", "3 REGISTER;", "3 REG@", "3 \x80", "3 REGISTER\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sipreg_msg m;
        struct sipreg_perr why;
        size_t at;
        int rc = with_cseq(&m, "SIP/2.0 200 OK\r\n", bad[i], &why, &at);
        if (rc != SIPREG_EPARSE || why.code != SIPREG_PERR_CSEQ || why.offset != at)
            TEST_FAIL_("\"%s\": rc %d %s at %zu", bad[i], rc, sipreg_perr_reason(why.code),
                       why.offset);
    }
    return 0;
}

/* ---- Call-ID and Reason-Phrase at the buffer's end (block reads that run on) ---- */

/* A Call-ID of 1 to 40 bytes as the last header, with 0 to 17 bytes after its CR LF (the empty
 * line and a body, or nothing: a datagram may end with its headers), in an exactly-sized buffer
 * against the guard page; a bad byte at each position is reported there. */
TEST(msg_fastpath_call_id_at_buffer_end)
{
    static const char *after[] = {"\r\n", "\r\n\r\n", "\r\n\r\nx", "\r\n\r\n0123456789abcdef"};
    static const char word[] = "aZ9-._!%*+`'~()<>:\\\"/[]?{}";
    char id[64], text[512];
    for (size_t len = 1; len <= 40; len++) {
        for (size_t t = 0; t < sizeof after / sizeof after[0]; t++) {
            for (int shape = 0; shape < 3; shape++) {
                for (size_t i = 0; i < len; i++)
                    id[i] = word[(i * 7 + len) % (sizeof word - 1)];
                if (shape == 1 && len >= 3)
                    id[len / 2] = '@';
                id[len] = 0;
                int n = snprintf(text, sizeof text,
                                 "REGISTER sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
                                 "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCSeq: 1 REGISTER\r\n"
                                 "Call-ID: %s%s",
                                 id, after[t]);
                size_t at = (size_t)n - strlen(after[t]) - len;
                size_t bad = len; /* none */
                if (shape == 2) {
                    /* a byte no word holds, at a position that walks along the value */
                    bad = (len * 5 + t) % len;
                    text[at + bad] = t % 2 ? ',' : (char)0x80;
                }
                struct sipreg_msg m;
                struct sipreg_perr why;
                struct sipreg_arena a;
                sipreg_arena_init(&a, mem, sizeof mem);
                int rc = sipreg_msg_parse(&m, guard_copy(text, (size_t)n), (size_t)n,
                                          SIPREG_MSG_DATAGRAM, NULL, &a, &why);
                if (bad < len) {
                    if (rc != SIPREG_EPARSE || why.code != SIPREG_PERR_CALL_ID ||
                        why.offset != at + bad)
                        TEST_FAIL_("Call-ID of %zu, bad byte at %zu, tail %zu: rc %d %s at %zu",
                                   len, bad, t, rc, sipreg_perr_reason(why.code), why.offset);
                    continue;
                }
                if (rc != 0 || off(m.call_id, m.buf) != (long long)at || m.call_id.len != len)
                    TEST_FAIL_("Call-ID \"%s\", tail %zu: rc %d %s", id, t, rc,
                               sipreg_perr_reason(why.code));
            }
        }
    }
    /* '@' placement: at the start, at the end, twice */
    static const struct {
        const char *id;
        size_t at; /* of the refusal, from the value's start */
    } bad[] = {{"@host", 0},
               {"abc@", 3},
               {"a@b@c", 3},
               {"0123456789abcdef@", 16},
               {"0123456789abcdef@0123456789abcdef@x", 33},
               {"@", 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = snprintf(text, sizeof text,
                         "REGISTER sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
                         "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCSeq: 1 REGISTER\r\n"
                         "Call-ID: %s\r\n",
                         bad[i].id);
        size_t at = (size_t)n - 2 - strlen(bad[i].id);
        struct sipreg_msg m;
        struct sipreg_perr why;
        struct sipreg_arena a;
        sipreg_arena_init(&a, mem, sizeof mem);
        ASSERT_EQ(sipreg_msg_parse(&m, guard_copy(text, (size_t)n), (size_t)n, SIPREG_MSG_DATAGRAM,
                                   NULL, &a, &why),
                  SIPREG_EPARSE);
        ASSERT_EQ(why.code, SIPREG_PERR_CALL_ID);
        ASSERT_EQ(why.offset, at + bad[i].at);
    }
    return 0;
}

/* A status line alone (then no header: Via is missing) whose Reason-Phrase of 0 to 40 bytes ends
 * 2 bytes before the buffer's end; a control byte at each position is refused there, HT and
 * bytes above 0x7f taken; the CR LF after the phrase is never taken for part of it. */
TEST(msg_fastpath_reason_at_buffer_end)
{
    char text[128];
    static const unsigned char ctl[] = {0x00, 0x01, '\t', 0x0b, 0x1f, 0x7f, 0x80, 0xff};
    for (size_t len = 0; len <= 40; len++) {
        for (size_t pos = 0; pos <= len; pos++) {
            for (size_t ci = 0; ci < sizeof ctl; ci++) {
                if (pos == len && ci > 0)
                    break;
                int n = snprintf(text, sizeof text, "SIP/2.0 486 ");
                for (size_t i = 0; i < len; i++)
                    text[n + (int)i] = (char)('A' + i % 26);
                if (pos < len)
                    text[(size_t)n + pos] = (char)ctl[ci];
                memcpy(text + n + len, "\r\n", 2);
                size_t total = (size_t)n + len + 2;
                unsigned char b = pos < len ? ctl[ci] : 'A';
                int refused = b < 0x20 ? b != '\t' : b == 0x7f;
                struct sipreg_msg m;
                struct sipreg_perr why;
                struct sipreg_arena a;
                sipreg_arena_init(&a, mem, sizeof mem);
                int rc = sipreg_msg_parse(&m, guard_copy(text, total), total, SIPREG_MSG_DATAGRAM,
                                          NULL, &a, &why);
                ASSERT_EQ(rc, SIPREG_EPARSE);
                if (refused) {
                    if (why.code != SIPREG_PERR_REASON || why.offset != (size_t)n + pos)
                        TEST_FAIL_("reason of %zu, 0x%02x at %zu: %s at %zu", len, b, pos,
                                   sipreg_perr_reason(why.code), why.offset);
                    continue;
                }
                if (why.code != SIPREG_PERR_MISSING_VIA || m.status != 486 ||
                    off(m.reason, m.buf) != n || m.reason.len != len)
                    TEST_FAIL_("reason of %zu, 0x%02x at %zu: %s, reason %lld+%zu", len, b, pos,
                               sipreg_perr_reason(why.code), off(m.reason, m.buf), m.reason.len);
            }
        }
    }
    return 0;
}

/* ---- Via (via_fast and its hand-over to the general parser) ---- */

/* Parses the Via value `z` placed against a guard page after it (lead 0) or before it (lead 1),
 * in an arena of `cap` bytes of mem; *base is where the value was placed. */
static int via_at(struct sipreg_via **v, const char *z, int lead, size_t cap,
                  const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                  struct sipreg_perr *why, const char **base)
{
    size_t n = strlen(z);
    *base = lead ? guard_lead(z, n) : guard_copy(z, n);
    sipreg_arena_init(a, mem, cap);
    *v = NULL;
    return sipreg_via_parse(v, (struct sipreg_str){*base, n}, lim, a, why);
}

struct via_want {
    const char *z;
    int err;          /* 0, or the offset of the SIPREG_PERR_VIA refusal */
    const char *host; /* host and port of the first element */
    long port;
};

static int via_check(const struct via_want *w)
{
    for (int lead = 0; lead < 2; lead++) {
        struct sipreg_via *v;
        struct sipreg_arena a;
        struct sipreg_perr why;
        const char *base;
        int rc = via_at(&v, w->z, lead, sizeof mem, NULL, &a, &why, &base);
        if (w->err) {
            if (rc != SIPREG_EPARSE || why.code != SIPREG_PERR_VIA || why.offset != (size_t)w->err)
                TEST_FAIL_("\"%s\": rc %d %s at %zu, want Malformed Via at %d", w->z, rc,
                           sipreg_perr_reason(why.code), why.offset, w->err);
            continue;
        }
        if (rc != 0)
            TEST_FAIL_("\"%s\": rc %d %s at %zu", w->z, rc, sipreg_perr_reason(why.code),
                       why.offset);
        const char *h = strstr(w->z, w->host);
        if (off(v->host, base) != h - w->z || v->host.len != strlen(w->host) || v->port != w->port)
            TEST_FAIL_("\"%s\": host %lld+%zu port %u, want %s port %ld", w->z, off(v->host, base),
                       v->host.len, v->port, w->host, w->port);
    }
    return 0;
}

/* Ports: 5060 (one word compare), other values of 1 to 5 digits, more digits or leading zeros
 * (general parser), 65535 and 65536, 0, a trailing non-digit; at the value's end and before a
 * parameter. Refusals are at the digit that overflows, or after the digits. */
TEST(msg_fastpath_via_ports)
{
    static const struct via_want cases[] = {
        {"SIP/2.0/UDP h:5060", 0, "h", 5060},
        {"SIP/2.0/UDP h:5060;branch=z9hG4bK1", 0, "h", 5060},
        {"SIP/2.0/UDP h:50600", 0, "h", 50600},
        {"SIP/2.0/UDP h:50600;rport", 0, "h", 50600},
        {"SIP/2.0/UDP h:50601", 0, "h", 50601},
        {"SIP/2.0/UDP h:5061", 0, "h", 5061},
        {"SIP/2.0/UDP h:506", 0, "h", 506},
        {"SIP/2.0/UDP h:5059", 0, "h", 5059},
        {"SIP/2.0/UDP h:6060", 0, "h", 6060},
        {"SIP/2.0/UDP h:1", 0, "h", 1},
        {"SIP/2.0/UDP h:9;x", 0, "h", 9},
        {"SIP/2.0/UDP h:10", 0, "h", 10},
        {"SIP/2.0/UDP h:65535", 0, "h", 65535},
        {"SIP/2.0/UDP h:65535;branch=z9hG4bK1", 0, "h", 65535},
        {"SIP/2.0/UDP h:05060", 0, "h", 5060},
        {"SIP/2.0/UDP h:005060", 0, "h", 5060},
        {"SIP/2.0/UDP h:0000000000005060", 0, "h", 5060},
        {"SIP/2.0/UDP h:00001", 0, "h", 1},
        {"SIP/2.0/UDP example.com:5060", 0, "example.com", 5060},
        {"SIP/2.0/UDP a-very-long-host-name.example.com:5060", 0,
         "a-very-long-host-name.example.com", 5060},
        {"SIP/2.0/UDP a-very-long-host-name.example.com:50600;branch=z9hG4bK1", 0,
         "a-very-long-host-name.example.com", 50600},
        {"SIP/2.0/UDP h : 5060", 0, "h", 5060},
        {"SIP/2.0/UDP h:5060 ;rport", 0, "h", 5060},
        {"SIP/2.0/UDP h: 5060", 0, "h", 5060},
        {"SIP/2.0/UDP h:5060 ", 0, "h", 5060},
        {"SIP/2.0/UDP h", 0, "h", 0},
        {"SIP/2.0/UDP h:65536", 18, NULL, 0},
        {"SIP/2.0/UDP h:65536;branch=z9hG4bK1", 18, NULL, 0},
        {"SIP/2.0/UDP h:99999", 18, NULL, 0},
        {"SIP/2.0/UDP h:100000", 19, NULL, 0},
        {"SIP/2.0/UDP h:506000", 19, NULL, 0},
        {"SIP/2.0/UDP h:0", 15, NULL, 0},
        {"SIP/2.0/UDP h:00000", 19, NULL, 0},
        {"SIP/2.0/UDP h:", 14, NULL, 0},
        {"SIP/2.0/UDP h:;x", 14, NULL, 0},
        {"SIP/2.0/UDP h:5060x", 18, NULL, 0},
        {"SIP/2.0/UDP h:50600x", 19, NULL, 0},
        {"SIP/2.0/UDP h:5060:5060", 18, NULL, 0},
        {"SIP/2.0/UDP h:-1", 14, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (via_check(&cases[i]))
            return 1;
    return 0;
}

/* One LWS byte between transport and host is the fast path's; more, HT or folding are the
 * general parser's: the same host, raw slice and transport either way. */
TEST(msg_fastpath_via_transport_and_lws)
{
    static const struct {
        const char *z, *name, *version, *transport, *host;
    } cases[] = {
        {"SIP/2.0/UDP h", "SIP", "2.0", "UDP", "h"},
        {"SIP/2.0/UDP  h", "SIP", "2.0", "UDP", "h"},
        {"SIP/2.0/UDP   h;rport", "SIP", "2.0", "UDP", "h"},
        {"SIP/2.0/UDP\th", "SIP", "2.0", "UDP", "h"},
        {"SIP/2.0/UDP \th", "SIP", "2.0", "UDP", "h"},
        {"SIP/2.0/UDP\r\n h", "SIP", "2.0", "UDP", "h"},
        {"SIP/2.0/TCP h", "SIP", "2.0", "TCP", "h"},
        {"SIP/2.0/TCP  h", "SIP", "2.0", "TCP", "h"},
        {"SIP/2.0/TLS h", "SIP", "2.0", "TLS", "h"},
        {"SIP/2.0/SCTP h", "SIP", "2.0", "SCTP", "h"},
        {"SIP/2.0/TLS-SCTP h", "SIP", "2.0", "TLS-SCTP", "h"},
        {"SIP/2.0/WS h", "SIP", "2.0", "WS", "h"},
        {"SIP/2.0/WSS  h", "SIP", "2.0", "WSS", "h"},
        {"SIP/2.0/udp h", "SIP", "2.0", "udp", "h"},
        {"SIP/2.0/UDPX h", "SIP", "2.0", "UDPX", "h"},
        {"SIP/2.0/UD h", "SIP", "2.0", "UD", "h"},
        {"sip/2.0/UDP h", "sip", "2.0", "UDP", "h"},
        {"SIP / 2.0 / UDP h", "SIP", "2.0", "UDP", "h"},
        {"SIP/2.1/UDP h", "SIP", "2.1", "UDP", "h"},
        {"SIP/2.0/UDP h_1.example", "SIP", "2.0", "UDP", "h_1.example"},
        {"SIP/2.0/UDP 0123456789abcdef.example.com", "SIP", "2.0", "UDP",
         "0123456789abcdef.example.com"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int lead = 0; lead < 2; lead++) {
            struct sipreg_via *v;
            struct sipreg_arena a;
            struct sipreg_perr why;
            const char *base, *z = cases[i].z;
            int rc = via_at(&v, z, lead, sizeof mem, NULL, &a, &why, &base);
            if (rc != 0)
                TEST_FAIL_("\"%s\": rc %d %s at %zu", z, rc, sipreg_perr_reason(why.code),
                           why.offset);
            ASSERT_EQ(off(v->raw, base), 0);
            ASSERT_EQ(v->raw.len, strlen(z));
            ASSERT_EQ(off(v->proto_name, base), strstr(z, cases[i].name) - z);
            ASSERT_STR(v->proto_name, cases[i].name);
            ASSERT_EQ(off(v->proto_version, base), strstr(z, cases[i].version) - z);
            ASSERT_STR(v->proto_version, cases[i].version);
            ASSERT_EQ(off(v->transport, base), strstr(z, cases[i].transport) - z);
            ASSERT_STR(v->transport, cases[i].transport);
            ASSERT_EQ(off(v->host, base), (long long)(strlen(z) - strlen(cases[i].host) -
                                                      (strchr(z, ';') ? strlen(";rport") : 0)));
            ASSERT_STR(v->host, cases[i].host);
            ASSERT(!v->host_ipv6);
            ASSERT(!v->next);
        }
    }
    /* refusals around the transport and the host */
    static const struct via_want bad[] = {
        {"SIP/2.0/UDPh", 12, NULL, 0},     {"SIP/2.0/UDP", 11, NULL, 0},
        {"SIP/2.0/UDP ", 11, NULL, 0},     {"SIP/2.0/ h", 10, NULL, 0},
        {"SIP/2.0/UDP ;x", 12, NULL, 0},   {"SIP/2.0/UDP h;", 14, NULL, 0},
        {"SIP/2.0/UDP h;;x", 14, NULL, 0}, {"SIP/2.0/UDP h x", 14, NULL, 0},
        {"SIP/2.0/UDP h@x", 13, NULL, 0},  {"SIP/2.0/UDP [::1", 16, NULL, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (via_check(&bad[i]))
            return 1;
    return 0;
}

/* branch, rport, received, maddr and ttl as the value's last bytes (the word reads of the last
 * 8 or 16 bytes up to the end), of every length, in either case, and names that only begin like
 * them; with the value against a guard page on either side. */
TEST(msg_fastpath_via_params_at_end)
{
    char val[64];
    static const char *heads[] = {"SIP/2.0/UDP h", "SIP/2.0/UDP h:5060;foo=bar",
                                  "SIP/2.0/TCP 192.0.2.4:50600;x"};
    for (size_t hi = 0; hi < sizeof heads / sizeof heads[0]; hi++) {
        size_t before = strchr(heads[hi], ';') ? 1 : 0;
        for (size_t k = 1; k <= 24; k++) {
            for (size_t i = 0; i < k; i++)
                val[i] = "z9hG4bK-0123456789.abcdefghijklmnopqrstuvwxyz"[i];
            val[k] = 0;
            for (int form = 0; form < 8; form++) {
                static const char *prefix[] = {
                    ";branch=", ";BRANCH=",       ";received=", ";Received=",
                    ";maddr=",  ";rport;branch=", ";branchx=",  ";x="};
                char zz[160];
                snprintf(zz, sizeof zz, "%s%s%s", heads[hi], prefix[form], val);
                for (int lead = 0; lead < 2; lead++) {
                    struct sipreg_via *v;
                    struct sipreg_arena a;
                    struct sipreg_perr why;
                    const char *base;
                    int rc = via_at(&v, zz, lead, sizeof mem, NULL, &a, &why, &base);
                    if (rc != 0)
                        TEST_FAIL_("\"%s\": rc %d %s at %zu", zz, rc, sipreg_perr_reason(why.code),
                                   why.offset);
                    long long vat = (long long)(strlen(zz) - k);
                    ASSERT_EQ(off(v->branch, base), form <= 1 || form == 5 ? vat : -1);
                    ASSERT_EQ(off(v->received, base), form == 2 || form == 3 ? vat : -1);
                    ASSERT_EQ(off(v->maddr, base), form == 4 ? vat : -1);
                    ASSERT_EQ(v->branch.p ? v->branch.len : k, k);
                    ASSERT_EQ(v->received.p ? v->received.len : k, k);
                    ASSERT_EQ(v->maddr.p ? v->maddr.len : k, k);
                    ASSERT_EQ(v->rport, form == 5 ? 0 : -1);
                    ASSERT_EQ(v->ttl, -1);
                    ASSERT_EQ(v->params.n, before + 1 + (form == 5));
                    const struct sipreg_param *pm = &v->params.v[v->params.n - 1];
                    ASSERT_EQ(off(pm->value, base), vat);
                    ASSERT_EQ(pm->value.len, k);
                    ASSERT_EQ(off(v->raw, base), 0);
                    ASSERT_EQ(v->raw.len, strlen(zz));
                }
            }
        }
    }
    /* rport and ttl values, and names without a value */
    static const struct {
        const char *z;
        int rport, ttl, err; /* err: offset of the refusal, or 0 */
    } cases[] = {
        {"SIP/2.0/UDP h;rport", 0, -1, 0},
        {"SIP/2.0/UDP h;RPORT", 0, -1, 0},
        {"SIP/2.0/UDP h;rport=1", 1, -1, 0},
        {"SIP/2.0/UDP h;rport=5060", 5060, -1, 0},
        {"SIP/2.0/UDP h;rport=50600", 50600, -1, 0},
        {"SIP/2.0/UDP h;rport=65535", 65535, -1, 0},
        {"SIP/2.0/UDP h;rport=05060", 5060, -1, 0},
        {"SIP/2.0/UDP h;rport=0000000005060", 5060, -1, 0},
        {"SIP/2.0/UDP h;rport=5060;branch=z9hG4bK1", 5060, -1, 0},
        {"SIP/2.0/UDP h;rport=5060 ;x", 5060, -1, 0},
        {"SIP/2.0/UDP h;rport=5061,SIP/2.0/UDP g", 5061, -1, 0},
        {"SIP/2.0/UDP h;rport=5070;rport", 0, -1, 0},
        {"SIP/2.0/UDP h;rport;rport=5070", 5070, -1, 0},
        {"SIP/2.0/UDP h;rportx", -1, -1, 0},
        {"SIP/2.0/UDP h;rportx=1", -1, -1, 0},
        {"SIP/2.0/UDP h;rpor", -1, -1, 0},
        {"SIP/2.0/UDP h;ttl=0", -1, 0, 0},
        {"SIP/2.0/UDP h;ttl=255", -1, 255, 0},
        {"SIP/2.0/UDP h;TTL=1", -1, 1, 0},
        {"SIP/2.0/UDP h;rport=65536", 0, 0, 20},
        {"SIP/2.0/UDP h;rport=0", 0, 0, 20},
        {"SIP/2.0/UDP h;rport=", 0, 0, 20},
        {"SIP/2.0/UDP h;rport=x", 0, 0, 20},
        {"SIP/2.0/UDP h;rport=5060x", 0, 0, 20},
        {"SIP/2.0/UDP h;rport=5060=", 0, 0, 20},
        {"SIP/2.0/UDP h;ttl=256", 0, 0, 14},
        {"SIP/2.0/UDP h;ttl", 0, 0, 14},
        {"SIP/2.0/UDP h;branch", 0, 0, 14},
        {"SIP/2.0/UDP h;branch=", 0, 0, 21},
        {"SIP/2.0/UDP h;received", 0, 0, 14},
        {"SIP/2.0/UDP h;received=", 0, 0, 23},
        {"SIP/2.0/UDP h;maddr", 0, 0, 14},
        {"SIP/2.0/UDP h;x=\"q\"", -1, -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int lead = 0; lead < 2; lead++) {
            struct sipreg_via *v;
            struct sipreg_arena a;
            struct sipreg_perr why;
            const char *base;
            int rc = via_at(&v, cases[i].z, lead, sizeof mem, NULL, &a, &why, &base);
            if (cases[i].err) {
                if (rc != SIPREG_EPARSE || why.code != SIPREG_PERR_VIA ||
                    why.offset != (size_t)cases[i].err)
                    TEST_FAIL_("\"%s\": rc %d %s at %zu, want Malformed Via at %d", cases[i].z, rc,
                               sipreg_perr_reason(why.code), why.offset, cases[i].err);
                continue;
            }
            if (rc != 0 || v->rport != cases[i].rport || v->ttl != cases[i].ttl)
                TEST_FAIL_("\"%s\": rc %d rport %d ttl %d", cases[i].z, rc, rc ? 0 : v->rport,
                           rc ? 0 : v->ttl);
        }
    }
    return 0;
}

/* All of a message's Via headers, comma lists included, some read by the fast reader and some
 * by the general parser (two spaces, an IPv6 host, a quoted value), in order, with message
 * offsets; and a refusal in the third header reported at its message offset. */
TEST(msg_fastpath_via_message_lists)
{
    const char *z = "REGISTER sip:example.com SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP a1:5060;branch=z9hG4bK1, SIP/2.0/TCP a2;rport\r\n"
                    "From: <sip:a@example.com>;tag=1\r\n"
                    "v: SIP/2.0/UDP  a3;branch=z9hG4bK3,SIP/2.0/UDP a4;received=10.0.0.4\r\n"
                    "Via: SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK5, SIP/2.0/TLS a6:50600\r\n"
                    "To: <sip:a@example.com>\r\n"
                    "Via: SIP/2.0/UDP a7;x=\"q\";branch=z9hG4bK7\r\n"
                    "VIA:SIP/2.0/UDP a8;rport=65535\r\n"
                    "Call-ID: 1@h\r\nCSeq: 1 REGISTER\r\n\r\n";
    static const struct {
        const char *raw, *host, *branch, *received;
        unsigned port;
        int rport;
    } want[] = {
        {"SIP/2.0/UDP a1:5060;branch=z9hG4bK1", "a1", "z9hG4bK1", NULL, 5060, -1},
        {"SIP/2.0/TCP a2;rport", "a2", NULL, NULL, 0, 0},
        {"SIP/2.0/UDP  a3;branch=z9hG4bK3", "a3", "z9hG4bK3", NULL, 0, -1},
        {"SIP/2.0/UDP a4;received=10.0.0.4", "a4", NULL, "10.0.0.4", 0, -1},
        {"SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK5", "2001:db8::1", "z9hG4bK5", NULL, 5070,
         -1},
        {"SIP/2.0/TLS a6:50600", "a6", NULL, NULL, 50600, -1},
        {"SIP/2.0/UDP a7;x=\"q\";branch=z9hG4bK7", "a7", "z9hG4bK7", NULL, 0, -1},
        {"SIP/2.0/UDP a8;rport=65535", "a8", NULL, NULL, 0, 65535},
    };
    {
        struct sipreg_msg m;
        struct sipreg_arena a;
        struct sipreg_perr why;
        ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem, &why), 0);
        const struct sipreg_via *v;
        ASSERT_EQ(sipreg_msg_via(&m, &v, &why), 0);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++, v = v->next) {
            ASSERT(v);
            ASSERT_EQ(off(v->raw, m.buf), strstr(z, want[i].raw) - z);
            ASSERT_EQ(v->raw.len, strlen(want[i].raw));
            ASSERT_EQ(off(v->host, m.buf), strstr(z, want[i].raw) - z +
                                               (strstr(want[i].raw, want[i].host) - want[i].raw));
            ASSERT_STR(v->host, want[i].host);
            ASSERT_EQ(v->port, want[i].port);
            ASSERT_EQ(v->rport, want[i].rport);
            if (want[i].branch)
                ASSERT_STR(v->branch, want[i].branch);
            else
                ASSERT_ABSENT(v->branch);
            if (want[i].received)
                ASSERT_STR(v->received, want[i].received);
            else
                ASSERT_ABSENT(v->received);
        }
        ASSERT(!v);
        /* the list is cached: the same pointer again */
        const struct sipreg_via *again;
        ASSERT_EQ(sipreg_msg_via(&m, &again, &why), 0);
        ASSERT(again == m.via_cache);
    }
    const char *bad = "REGISTER sip:example.com SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP b1\r\n"
                      "Via: SIP/2.0/UDP b2, SIP/2.0/UDP b3;branch=z9hG4bK3\r\n"
                      "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
                      "Via: SIP/2.0/UDP b4, SIP/2.0/UDP b5:65536\r\n"
                      "Call-ID: 1@h\r\nCSeq: 1 REGISTER\r\n\r\n";
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    ASSERT_EQ(parse_z(&m, bad, &a, mem, sizeof mem, &why), 0);
    const struct sipreg_via *v;
    ASSERT_EQ(sipreg_msg_via(&m, &v, &why), SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_VIA);
    ASSERT_EQ(why.offset, (size_t)(strstr(bad, "65536") - bad) + 4);
    ASSERT(!m.via_cache);
    return 0;
}

/* The arena use of a Via list is the general parser's, to the byte: an arena of exactly that
 * size parses, every smaller one fails with SIPREG_ENOMEM at the general parser's offset (the
 * element whose node does not fit, or the end of the element whose parameters do not). */
TEST(msg_fastpath_via_arena_exact)
{
    const size_t al = alignof(max_align_t);
    const size_t node = sizeof(struct sipreg_via), vs = (node + al - 1) / al * al;
    const size_t ps = sizeof(struct sipreg_param);
    ASSERT_EQ(ps % al, 0); /* parameter arrays need no padding after one another */
    static const char one[] = "SIP/2.0/UDP h;branch=z9hG4bK1;rport";
    static const char none[] = "SIP/2.0/UDP h";
    static const char two[] = "SIP/2.0/UDP h;branch=1, SIP/2.0/UDP g;rport;x=y";
    /* as many parameters as the general parser collects on its stack before it spills */
    static const char sixteen[] = "SIP/2.0/UDP h;a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p";
    /* one more: the general parser spills to an array of min(32, max_params) parameters, and
     * so must the fast reader's verdict (it leaves such an element to the general parser) */
    static const char seventeen[] = "SIP/2.0/UDP h;a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p;q";
    struct {
        const char *z;
        size_t need[4]; /* caps at which each next step fits */
        size_t at[4];   /* offset of the refusal below need[i] */
        size_t nsteps;
    } cases[] = {
        {one, {node, vs + 2 * ps}, {0, sizeof one - 1}, 2},
        {none, {node}, {0}, 1},
        {sixteen, {node, vs + 16 * ps}, {0, sizeof sixteen - 1}, 2},
        {seventeen, {node, vs + 32 * ps}, {0, 46}, 2},
        {two, {node, vs + ps, vs + ps + node, 2 * vs + 3 * ps}, {0, 22, 24, sizeof two - 1}, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t need = cases[i].need[cases[i].nsteps - 1];
        for (size_t cap = 0; cap <= need + 40; cap++) {
            for (int lead = 0; lead < 2; lead++) {
                struct sipreg_via *v;
                struct sipreg_arena a;
                struct sipreg_perr why;
                const char *base;
                int rc = via_at(&v, cases[i].z, lead, cap, NULL, &a, &why, &base);
                size_t step = 0;
                while (step < cases[i].nsteps && cap >= cases[i].need[step])
                    step++;
                if (step < cases[i].nsteps) {
                    if (rc != SIPREG_ENOMEM || why.code != SIPREG_PERR_NO_MEMORY ||
                        why.offset != cases[i].at[step])
                        TEST_FAIL_("\"%s\", arena %zu: rc %d %s at %zu, want no memory at %zu",
                                   cases[i].z, cap, rc, sipreg_perr_reason(why.code), why.offset,
                                   cases[i].at[step]);
                    continue;
                }
                if (rc != 0 || a.used != need || off(v->host, base) != 12)
                    TEST_FAIL_("\"%s\", arena %zu: rc %d, used %zu, want %zu", cases[i].z, cap, rc,
                               a.used, need);
            }
        }
    }
    /* the same through the message accessor: offsets in the message */
    static char z[256];
    int n = snprintf(z, sizeof z,
                     "REGISTER sip:a SIP/2.0\r\nVia: %s\r\nFrom: <sip:a@b>;tag=1\r\n"
                     "To: <sip:a@b>\r\nCall-ID: 1@h\r\nCSeq: 1 REGISTER\r\n\r\n",
                     two);
    const size_t vat = strlen("REGISTER sip:a SIP/2.0\r\nVia: ");
    const size_t need = 2 * vs + 3 * ps;
    for (size_t cap = 0; cap <= need; cap++) {
        struct sipreg_msg m;
        struct sipreg_arena a;
        struct sipreg_perr why;
        sipreg_arena_init(&a, mem, cap);
        ASSERT_EQ(sipreg_msg_parse(&m, guard_copy(z, (size_t)n), (size_t)n, SIPREG_MSG_DATAGRAM,
                                   NULL, &a, &why),
                  0);
        ASSERT_EQ(a.used, 0);
        const struct sipreg_via *v;
        int rc = sipreg_msg_via(&m, &v, &why);
        size_t at = cap < node             ? 0
                    : cap < vs + ps        ? 22
                    : cap < vs + ps + node ? 24
                                           : sizeof two - 1;
        if (cap < need) {
            ASSERT_EQ(rc, SIPREG_ENOMEM);
            ASSERT_EQ(why.code, SIPREG_PERR_NO_MEMORY);
            ASSERT_EQ(why.offset, vat + at);
        } else {
            ASSERT_EQ(rc, 0);
            ASSERT_EQ(a.used, need);
            ASSERT_STR(v->next->host, "g");
        }
    }
    return 0;
}

/* max_params and max_list: exactly at the limit parses, one more is refused where the general
 * parser refuses it. */
TEST(msg_fastpath_via_limits)
{
    struct sipreg_via *v;
    struct sipreg_arena a;
    struct sipreg_perr why;
    const char *base;
    struct sipreg_msg_limits lim = {.max_params = 3};
    for (int lead = 0; lead < 2; lead++) {
        lim.max_params = 3;
        ASSERT_EQ(via_at(&v, "SIP/2.0/UDP h;a;b;c", lead, sizeof mem, &lim, &a, &why, &base), 0);
        ASSERT_EQ(v->params.n, 3);
        ASSERT_EQ(off(v->params.v[2].name, base), 18);
        lim.max_params = 2;
        ASSERT_EQ(via_at(&v, "SIP/2.0/UDP h;a;b;c", lead, sizeof mem, &lim, &a, &why, &base),
                  SIPREG_EPARSE);
        ASSERT_EQ(why.code, SIPREG_PERR_TOO_MANY_PARAMS);
        ASSERT_EQ(why.offset, 18);
        lim = (struct sipreg_msg_limits){.max_list = 1};
        ASSERT_EQ(via_at(&v, "SIP/2.0/UDP a", lead, sizeof mem, &lim, &a, &why, &base), 0);
        ASSERT_EQ(
            via_at(&v, "SIP/2.0/UDP a, SIP/2.0/UDP b", lead, sizeof mem, &lim, &a, &why, &base),
            SIPREG_EPARSE);
        ASSERT_EQ(why.code, SIPREG_PERR_TOO_MANY_VALUES);
        ASSERT_EQ(why.offset, 15);
        lim.max_list = 2;
        ASSERT_EQ(
            via_at(&v, "SIP/2.0/UDP a, SIP/2.0/UDP b", lead, sizeof mem, &lim, &a, &why, &base), 0);
        ASSERT_EQ(off(v->next->host, base), 27);
        lim = (struct sipreg_msg_limits){0};
    }
    return 0;
}

/* ---- From, To and Contact (fast_one and its hand-over to the general parser) ---- */

struct addr_want {
    const char *z;
    const char *display; /* NULL: absent */
    const char *user;    /* NULL: absent */
    const char *host;
    unsigned port;
    size_t nuri, nparams;
    const char *tag; /* NULL: absent */
    enum sipreg_perr_code code;
    size_t at; /* of the refusal */
};

/* The slice s equals z (NULL: absent) and lies within the input at base. */
static int same_slice(struct sipreg_str s, const char *z, const char *base, size_t len)
{
    if (!z)
        return s.p == NULL;
    return s.p && s.p >= base && s.p + s.len <= base + len && s.len == strlen(z) &&
           memcmp(s.p, z, s.len) == 0;
}

/* 0 when a parse of z returned rc/why as wanted: refused with `code` at offset `at`, or
 * accepted when code is NONE. */
static int verdict_differs(const char *z, int rc, const struct sipreg_perr *why,
                           enum sipreg_perr_code code, size_t at)
{
    if (code) {
        if (rc != SIPREG_EPARSE || why->code != code || why->offset != at)
            TEST_FAIL_("\"%s\": rc %d %s at %zu, want %s at %zu", z, rc,
                       sipreg_perr_reason(why->code), why->offset, sipreg_perr_reason(code), at);
    } else if (rc != 0) {
        TEST_FAIL_("\"%s\": rc %d %s at %zu", z, rc, sipreg_perr_reason(why->code), why->offset);
    }
    return 0;
}

static int addr_check(const struct addr_want *w)
{
    for (int lead = 0; lead < 2; lead++) {
        size_t n = strlen(w->z);
        const char *base = lead ? guard_lead(w->z, n) : guard_copy(w->z, n);
        struct sipreg_addr ad;
        struct sipreg_arena a;
        struct sipreg_perr why;
        sipreg_arena_init(&a, mem, sizeof mem);
        int rc = sipreg_addr_parse(&ad, (struct sipreg_str){base, n}, NULL, &a, &why);
        if (verdict_differs(w->z, rc, &why, w->code, w->at))
            return 1;
        if (w->code)
            continue;
        if (!same_slice(ad.display, w->display, base, n) ||
            !same_slice(ad.uri.user, w->user, base, n) ||
            !same_slice(ad.uri.host, w->host, base, n) || ad.uri.port != w->port ||
            ad.uri.params.n != w->nuri || ad.params.n != w->nparams ||
            !same_slice(ad.tag, w->tag, base, n))
            TEST_FAIL_("\"%s\": display \"%.*s\" user \"%.*s\" host \"%.*s\" port %u uri params "
                       "%zu params %zu tag \"%.*s\"",
                       w->z, (int)ad.display.len, ad.display.p ? ad.display.p : "",
                       (int)ad.uri.user.len, ad.uri.user.p ? ad.uri.user.p : "",
                       (int)ad.uri.host.len, ad.uri.host.p ? ad.uri.host.p : "", ad.uri.port,
                       ad.uri.params.n, ad.params.n, (int)ad.tag.len, ad.tag.p ? ad.tag.p : "");
        /* the tag is the value of a parameter named tag */
        if (w->tag) {
            size_t k = 0;
            while (k < ad.params.n && !(ad.params.v[k].value.p == ad.tag.p))
                k++;
            ASSERT(k < ad.params.n);
            ASSERT_EQ(ad.params.v[k].name.len, 3);
        }
        /* raw is the whole value without the surrounding LWS */
        const char *s = w->z;
        while (*s == ' ')
            s++;
        size_t rl = strlen(s);
        while (rl && s[rl - 1] == ' ')
            rl--;
        ASSERT_EQ(off(ad.raw, base), s - w->z);
        ASSERT_EQ(ad.raw.len, rl);
    }
    return 0;
}

/* A From or To whose one parameter is its tag (taken in one step), and the forms next to it. */
TEST(msg_fastpath_addr_tag_forms)
{
    static const struct addr_want cases[] = {
        {"<sip:a@b>;tag=x", NULL, "a", "b", 0, 0, 1, "x", 0, 0},
        {"<sip:a@b>;tag=1234567890abcdef1234", NULL, "a", "b", 0, 0, 1, "1234567890abcdef1234", 0,
         0},
        {"<sip:a@b>;TAG=x", NULL, "a", "b", 0, 0, 1, "x", 0, 0},
        {"<sip:a@b>;Tag=x", NULL, "a", "b", 0, 0, 1, "x", 0, 0},
        {"<sip:a@b>;tag=x;tag=y", NULL, "a", "b", 0, 0, 2, "x", 0, 0},
        {"<sip:a@b>;x=1;tag=y", NULL, "a", "b", 0, 0, 2, "y", 0, 0},
        {"<sip:a@b>;tag=y;x", NULL, "a", "b", 0, 0, 2, "y", 0, 0},
        {"<sip:a@b;lr>;tag=x", NULL, "a", "b", 0, 1, 1, "x", 0, 0},
        {"<sip:b>;tag=x", NULL, NULL, "b", 0, 0, 1, "x", 0, 0},
        {"<sip:a@b:5060>;tag=x", NULL, "a", "b", 5060, 0, 1, "x", 0, 0},
        {"<sip:a@b> ;tag=x", NULL, "a", "b", 0, 0, 1, "x", 0, 0},
        {"<sip:a@b>;tag=x ", NULL, "a", "b", 0, 0, 1, "x", 0, 0},
        {"  <sip:a@b>;tag=x  ", NULL, "a", "b", 0, 0, 1, "x", 0, 0},
        {"<sip:a@b>; tag=x", NULL, "a", "b", 0, 0, 1, "x", 0, 0},
        {"<sip:a@b>;tag =x", NULL, "a", "b", 0, 0, 1, "x", 0, 0},
        {"<sip:a@b>;tag= x", NULL, "a", "b", 0, 0, 1, "x", 0, 0},
        {"<sip:a@b>;tagx=1", NULL, "a", "b", 0, 0, 1, NULL, 0, 0},
        {"<sip:a@b>;ta=1", NULL, "a", "b", 0, 0, 1, NULL, 0, 0},
        {"<sip:a@b>;x", NULL, "a", "b", 0, 0, 1, NULL, 0, 0},
        {"<sip:a@b>", NULL, "a", "b", 0, 0, 0, NULL, 0, 0},
        {"sip:a@b;tag=x", NULL, "a", "b", 0, 0, 1, "x", 0, 0},
        {"<sip:a@b>;tag=", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 14},
        {"<sip:a@b>;tag", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 10},
        {"<sip:a@b>;TAG", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 10},
        {"<sip:a@b>;tag;tag=x", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 10},
        {"<sip:a@b>;tag=\"x\"", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 10},
        {"<sip:a@b>;tag=x y", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 16},
        {"<sip:a@b>;tag=x>", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 15},
        {"<sip:a@b>;tag=x,y", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 15},
        {"<sip:a@b>;", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 10},
        {"<sip:a@b>x", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 9},
        /* ESC OR 0x20 is ';', 0x1a OR 0x20 is ':': neither is one */
        {"<sip:a@b>\x1btag=x", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_PARAM, 9},
        {"<sip\x1a"
         "a@b>;tag=x",
         NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_URI, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (addr_check(&cases[i]))
            return 1;
    /* max_params 1: the tag alone fits, a second parameter does not */
    struct sipreg_msg_limits lim = {.max_params = 1};
    struct sipreg_addr ad;
    struct sipreg_arena a;
    struct sipreg_perr why;
    sipreg_arena_init(&a, mem, sizeof mem);
    ASSERT_EQ(sipreg_addr_parse(&ad, SIPREG_STR_LIT("<sip:a@b>;tag=x"), &lim, &a, &why), 0);
    ASSERT_STR(ad.tag, "x");
    ASSERT_EQ(sipreg_addr_parse(&ad, SIPREG_STR_LIT("<sip:a@b>;tag=x;y"), &lim, &a, &why),
              SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_TOO_MANY_PARAMS);
    ASSERT_EQ(why.offset, 16);
    ASSERT_EQ(sipreg_addr_parse(&ad, SIPREG_STR_LIT("<sip:a@b;lr;x>;tag=x"), &lim, &a, &why),
              SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_TOO_MANY_PARAMS);
    return 0;
}

/* Display names (one space before '<' is the fast path's end; more, HT, none, a quoted name),
 * and the URI forms around the fast reader's: ports, schemes, an empty user, a password. */
TEST(msg_fastpath_addr_display_and_uri)
{
    static const struct addr_want cases[] = {
        {"A <sip:a@b>;tag=x", "A", "a", "b", 0, 0, 1, "x", 0, 0},
        {"A  <sip:a@b>", "A", "a", "b", 0, 0, 0, NULL, 0, 0},
        {"A   <sip:a@b>", "A", "a", "b", 0, 0, 0, NULL, 0, 0},
        {"A B <sip:a@b>", "A B", "a", "b", 0, 0, 0, NULL, 0, 0},
        {"A B  <sip:a@b>", "A B", "a", "b", 0, 0, 0, NULL, 0, 0},
        {"A\t<sip:a@b>", "A", "a", "b", 0, 0, 0, NULL, 0, 0},
        {"A \t<sip:a@b>", "A", "a", "b", 0, 0, 0, NULL, 0, 0},
        {"A\t <sip:a@b>", "A", "a", "b", 0, 0, 0, NULL, 0, 0},
        {"A<sip:a@b>", "A", "a", "b", 0, 0, 0, NULL, 0, 0},
        {" A <sip:a@b> ", "A", "a", "b", 0, 0, 0, NULL, 0, 0},
        {"Alice-Liddell.x <sip:alice@example.com:5060;transport=udp>;tag=9fxced76sl",
         "Alice-Liddell.x", "alice", "example.com", 5060, 1, 1, "9fxced76sl", 0, 0},
        {"\"A\" <sip:a@b>;tag=x", "A", "a", "b", 0, 0, 1, "x", 0, 0},
        {"\"A B\"<sip:a@b>", "A B", "a", "b", 0, 0, 0, NULL, 0, 0},
        {"<sip:a@b:0>", NULL, "a", "b", 0, 0, 0, NULL, 0, 0},
        {"<sip:a@b:1>", NULL, "a", "b", 1, 0, 0, NULL, 0, 0},
        {"<sip:a@b:65535>", NULL, "a", "b", 65535, 0, 0, NULL, 0, 0},
        {"<sip:a@b:05060>", NULL, "a", "b", 5060, 0, 0, NULL, 0, 0},
        {"<sip:a@b:0000005060>", NULL, "a", "b", 5060, 0, 0, NULL, 0, 0},
        {"<SIP:a@b>", NULL, "a", "b", 0, 0, 0, NULL, 0, 0},
        {"<Sip:a@b>", NULL, "a", "b", 0, 0, 0, NULL, 0, 0},
        {"<sips:a@b>", NULL, "a", "b", 0, 0, 0, NULL, 0, 0},
        {"<sip:a:pw@b>", NULL, "a", "b", 0, 0, 0, NULL, 0, 0},
        {"<sip:a%40x@b>", NULL, "a%40x", "b", 0, 0, 0, NULL, 0, 0},
        {"<sip:a;p=1@b>", NULL, "a;p=1", "b", 0, 0, 0, NULL, 0, 0},
        {"<sip:b;maddr=x@y>", NULL, "b;maddr=x", "y", 0, 0, 0, NULL, 0, 0},
        {"<sip:a@b;p1;p2=v;p3=[x]>", NULL, "a", "b", 0, 3, 0, NULL, 0, 0},
        {"<sip:a@b;p=%41>", NULL, "a", "b", 0, 1, 0, NULL, 0, 0},
        {"<sip:a@b?h=v>", NULL, "a", "b", 0, 0, 0, NULL, 0, 0},
        {"<sip:a@b:65536>", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_URI, 13},
        {"<sip:a@b:123456>", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_URI, 14},
        {"<sip:a@b:>", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_URI, 9},
        {"<sip:@b>", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_URI, 5},
        {"<sip:a@>", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_URI, 7},
        {"<sip:a@b;>", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_URI, 9},
        {"<sip:a@b;p=>", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_URI, 11},
        {"A B <sip:a@b", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_ADDR, 4},
        {"A,B <sip:a@b>", NULL, NULL, NULL, 0, 0, 0, NULL, SIPREG_PERR_ADDR, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (addr_check(&cases[i]))
            return 1;
    return 0;
}

struct contact_want {
    const char *z;
    long long expires, reg_id;
    int q;
    const char *instance; /* NULL: absent */
    enum sipreg_perr_code code;
    size_t at;
};

static int contact_check(const struct contact_want *w)
{
    for (int lead = 0; lead < 2; lead++) {
        size_t n = strlen(w->z);
        const char *base = lead ? guard_lead(w->z, n) : guard_copy(w->z, n);
        struct sipreg_contact *c;
        struct sipreg_arena a;
        struct sipreg_perr why;
        sipreg_arena_init(&a, mem, sizeof mem);
        int rc = sipreg_contact_parse(&c, (struct sipreg_str){base, n}, NULL, &a, &why);
        if (verdict_differs(w->z, rc, &why, w->code, w->at))
            return 1;
        if (w->code)
            continue;
        while (c->next)
            c = c->next; /* the values sit in the last element */
        if (c->expires != w->expires || c->reg_id != w->reg_id || c->q != w->q ||
            !same_slice(c->instance, w->instance, base, n))
            TEST_FAIL_("\"%s\": expires %lld reg-id %lld q %d instance \"%.*s\"%s", w->z,
                       (long long)c->expires, (long long)c->reg_id, c->q, (int)c->instance.len,
                       c->instance.p ? c->instance.p : "", c->instance.p ? "" : " (absent)");
    }
    return 0;
}

/* expires (clamped to 2**32-1), reg-id (1 to 2**31-1), q and +sip.instance: values read while
 * they are scanned, at the edges of their ranges, and what the general parser refuses. */
TEST(msg_fastpath_contact_params)
{
    static const struct contact_want cases[] = {
        {"<sip:a@b>;expires=0", 0, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=1", 1, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=3600", 3600, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;EXPIRES=5", 5, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;Expires=5", 5, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=4294967295", 4294967295LL, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=4294967296", 4294967295LL, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=42949672950", 4294967295LL, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=18446744073709551615", 4294967295LL, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=18446744073709551616", 4294967295LL, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=99999999999999999999999999999999", 4294967295LL, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=0000000000000000000000001", 1, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=00004294967295", 4294967295LL, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=1;expires=2", 2, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=1,<sip:c@d>;expires=7", 7, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=7 ;x", 7, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expiresx=7", -1, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expire=7", -1, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;reg-id=1", -1, 1, -1, NULL, 0, 0},
        {"<sip:a@b>;REG-ID=2", -1, 2, -1, NULL, 0, 0},
        {"<sip:a@b>;reg-id=2147483647", -1, 2147483647LL, -1, NULL, 0, 0},
        {"<sip:a@b>;reg-id=0001", -1, 1, -1, NULL, 0, 0},
        {"<sip:a@b>;reg-id=00000000000000000000001", -1, 1, -1, NULL, 0, 0},
        {"<sip:a@b>;reg-idx=0", -1, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;reg_id=0", -1, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;q=0", -1, -1, 0, NULL, 0, 0},
        {"<sip:a@b>;q=1", -1, -1, 1000, NULL, 0, 0},
        {"<sip:a@b>;q=0.5", -1, -1, 500, NULL, 0, 0},
        {"<sip:a@b>;Q=0.123", -1, -1, 123, NULL, 0, 0},
        {"<sip:a@b>;q=1.000", -1, -1, 1000, NULL, 0, 0},
        {"<sip:a@b>;q=0.", -1, -1, 0, NULL, 0, 0},
        {"<sip:a@b>;+sip.instance=\"<urn:uuid:1>\"", -1, -1, -1, "<urn:uuid:1>", 0, 0},
        {"<sip:a@b>;+SIP.INSTANCE=\"x\"", -1, -1, -1, "x", 0, 0},
        {"<sip:a@b>;+sip.instance=\"\"", -1, -1, -1, "", 0, 0},
        {"<sip:a@b>;+sip.instance=\"a\\\"b\"", -1, -1, -1, "a\\\"b", 0, 0},
        {"<sip:a@b>;+sip.instance=\"a,b\";expires=1", 1, -1, -1, "a,b", 0, 0},
        {"<sip:a@b>;+sip.instance=\"x\" ;q=1", -1, -1, 1000, "x", 0, 0},
        {"<sip:a@b>;+sip.instancex=\"x\"", -1, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;+sip.instanc=\"x\"", -1, -1, -1, NULL, 0, 0},
        {"<sip:a@b>;expires=0;reg-id=1;+sip.instance=\"<x>\";q=0.1", 0, 1, 100, "<x>", 0, 0},
        {"<sip:a@b>;expires=", 0, 0, 0, NULL, SIPREG_PERR_PARAM, 18},
        {"<sip:a@b>;expires", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;expires=1x", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 18},
        {"<sip:a@b>;expires=-1", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 18},
        {"<sip:a@b>;expires=\"1\"", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 18},
        {"<sip:a@b>;reg-id=0", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;reg-id=000", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;reg-id=2147483648", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;reg-id=4294967295", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;reg-id=4294967296", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;reg-id=99999999999999999999", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;reg-id", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;reg-id=1a", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;q=1.001", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;q=0.1234", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;q", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;+sip.instance=abc", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;+sip.instance", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 10},
        {"<sip:a@b>;+sip.instance=\"x", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 0},
        {"<sip:a@b>;tag=", 0, 0, 0, NULL, SIPREG_PERR_PARAM, 14},
        {"<sip:a@b>;tag", 0, 0, 0, NULL, SIPREG_PERR_PARAM, 10},
        /* look-alikes of the unfolded bytes of the known names: 0x0e for '.', CR for '-' */
        {"<sip:a@b>;+sip\x0einstance=\"x\"", 0, 0, 0, NULL, SIPREG_PERR_PARAM, 14},
        {"<sip:a@b>;reg\r-id=1", 0, 0, 0, NULL, SIPREG_PERR_PARAM, 14},
        {"<sip:a@b>\x1b"
         "expires=1",
         0, 0, 0, NULL, SIPREG_PERR_PARAM, 9},
        {"<sip:a@b>, <sip:c@d>;reg-id=0", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 21},
        {"<sip:a@b>;expires=1,", 0, 0, 0, NULL, SIPREG_PERR_CONTACT, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (contact_check(&cases[i]))
            return 1;
    return 0;
}

/* ---- sipreg_params_find (one word compare for the caller's spelling, then byte by byte) ---- */

TEST(msg_fastpath_params_find)
{
    /* names of 1 to 20 bytes, all prefixes of one string, in one buffer whose last byte is the
     * last name's, against a guard page */
    static const char full[] = "aBcDeFgHiJkLmNoPqRsT";
    char names[512], q[32];
    size_t pos = 0, at[24];
    for (size_t n = 1; n <= 20; n++) {
        at[n] = pos;
        memcpy(names + pos, full, n);
        pos += n;
    }
    /* a few names with bytes a case fold could confuse */
    static const char *odd[] = {"x@y", "a[b", "m-n", "abcdefgh1", "abcdefghijklmnopq1"};
    size_t odd_at[5];
    for (size_t i = 0; i < 5; i++) {
        odd_at[i] = pos;
        memcpy(names + pos, odd[i], strlen(odd[i]));
        pos += strlen(odd[i]);
    }
    const char *g = guard_copy(names, pos);
    struct sipreg_param pv[25];
    for (size_t n = 1; n <= 20; n++)
        pv[n - 1] = (struct sipreg_param){{g + at[n], n}, SIPREG_STR_NULL};
    for (size_t i = 0; i < 5; i++)
        pv[20 + i] = (struct sipreg_param){{g + odd_at[i], strlen(odd[i])}, SIPREG_STR_NULL};
    struct sipreg_params ps = {pv, 25};
    for (size_t n = 1; n <= 20; n++) {
        for (int variant = 0; variant < 4; variant++) {
            for (size_t k = 0; k < n; k++) {
                char c = full[k];
                if (variant == 1)
                    c = (char)(c | 0x20);
                else if (variant == 2)
                    c = (char)(c & ~0x20);
                else if (variant == 3)
                    c = (char)(c ^ 0x20);
                q[k] = c;
            }
            q[n] = 0;
            if (sipreg_params_find(&ps, q) != &pv[n - 1])
                TEST_FAIL_("\"%s\" not found as name %zu", q, n);
            /* one byte another letter, or the letter's non-letter look-alike: no match */
            for (size_t k = 0; k < n; k++) {
                char keep = q[k];
                q[k] = (char)((keep | 0x20) == 'z' ? 'y' : 'z');
                if (sipreg_params_find(&ps, q) != NULL)
                    TEST_FAIL_("\"%s\" found (byte %zu changed)", q, k);
                q[k] = (char)((keep | 0x20) + 0x1f - 0x20); /* the byte before, not a letter case */
                if (sipreg_params_find(&ps, q) != NULL)
                    TEST_FAIL_("\"%s\" found (byte %zu changed)", q, k);
                q[k] = keep;
            }
        }
    }
    ASSERT(sipreg_params_find(&ps, "x@y") == &pv[20]);
    ASSERT(sipreg_params_find(&ps, "X@Y") == &pv[20]);
    ASSERT(sipreg_params_find(&ps, "x`y") == NULL);
    ASSERT(sipreg_params_find(&ps, "a[b") == &pv[21]);
    ASSERT(sipreg_params_find(&ps, "A[B") == &pv[21]);
    ASSERT(sipreg_params_find(&ps, "a{b") == NULL);
    ASSERT(sipreg_params_find(&ps, "m-n") == &pv[22]);
    ASSERT(sipreg_params_find(&ps, "m\rn") == NULL);
    ASSERT(sipreg_params_find(&ps, "M\rN") == NULL);
    /* differing only past the 8th byte */
    ASSERT(sipreg_params_find(&ps, "abcdefgh1") == &pv[23]);
    ASSERT(sipreg_params_find(&ps, "ABCDEFGH1") == &pv[23]);
    ASSERT(sipreg_params_find(&ps, "abcdefgh2") == NULL);
    ASSERT(sipreg_params_find(&ps, "ABCDEFGH2") == NULL);
    ASSERT(sipreg_params_find(&ps, "abcdefghijklmnopq1") == &pv[24]);
    ASSERT(sipreg_params_find(&ps, "ABCDEFGHIJKLMNOPQ1") == &pv[24]);
    ASSERT(sipreg_params_find(&ps, "abcdefghijklmnopq2") == NULL);
    ASSERT(sipreg_params_find(&ps, "abcdefghi") == &pv[8]);
    ASSERT(sipreg_params_find(&ps, "") == NULL);
    ASSERT(sipreg_params_find(&ps, "abcdefghijklmnopqrstu") == NULL);
    struct sipreg_params empty = {NULL, 0};
    ASSERT(sipreg_params_find(&empty, "tag") == NULL);
    return 0;
}
