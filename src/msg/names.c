/* Names: header-name lookup (exact, case-insensitive, compact forms folded), methods, reasons. */
#include <string.h>

#include "msg_int.h"

struct hdr_name {
    const char *name;
    unsigned char len;
    unsigned char id;
};

static const struct hdr_name hdr_names[] = {
#define XX(id, name, compact) {name, (unsigned char)(sizeof(name) - 1), SIPREG_HDR_##id},
    SIPREG_HDR_MAP(XX)
#undef XX
};

#define HDR_NAMES    (sizeof hdr_names / sizeof hdr_names[0])
#define MAX_NAME_LEN 24

/* Lookup without a hash: bucket by length and lower-case first letter, chained by `next`, and
 * every candidate confirmed by a whole case-insensitive compare (a bucket alone never decides:
 * "Vib" shares Via's bucket). Index + 1 of the first candidate; 0: none. */
static unsigned char bucket[MAX_NAME_LEN + 1][26];
static unsigned char next_of[HDR_NAMES];
/* Each name as three words of its bytes (see name_words): lower case, and the bits to set in the
 * input before comparing (0x20 on letters, so that only their case is ignored). */
static uint64_t key[HDR_NAMES][3], fold[HDR_NAMES][3];
/* Compact forms, by lower-case letter. */
static unsigned char compact_ids[26];

static const unsigned char compact_of[] = {
#define XX(id, name, compact) (unsigned char)(compact),
    SIPREG_HDR_MAP(XX)
#undef XX
};

static inline uint64_t ld(const char *p, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, p, n); /* n is a constant at each call: one load */
    return v;
}

/* Words covering all n bytes at p (1 <= n <= 24), without reading outside them: overlapping
 * loads from both ends, as memcpy implementations do. */
static inline void name_words(const char *p, size_t n, uint64_t w[3])
{
    if (n >= 8) {
        w[0] = ld(p, 8);
        w[1] = ld(p + n - 8, 8);
        w[2] = n > 16 ? ld(p + 8, 8) : 0;
    } else if (n >= 4) {
        w[0] = ld(p, 4);
        w[1] = ld(p + n - 4, 4);
        w[2] = 0;
    } else {
        w[0] = (uint64_t)(unsigned char)p[0] | (uint64_t)(unsigned char)p[n / 2] << 8 |
               (uint64_t)(unsigned char)p[n - 1] << 16;
        w[1] = w[2] = 0;
    }
}

static void build_tables(void)
{
    for (size_t i = HDR_NAMES; i-- > 0;) {
        unsigned len = hdr_names[i].len;
        char lname[MAX_NAME_LEN], mask[MAX_NAME_LEN];
        for (unsigned k = 0; k < len; k++) {
            unsigned char c = (unsigned char)hdr_names[i].name[k];
            lname[k] = (char)sipreg__lower[c];
            mask[k] = (char)(sipreg__lower[c] >= 'a' && sipreg__lower[c] <= 'z' ? 0x20 : 0);
        }
        name_words(lname, len, key[i]);
        name_words(mask, len, fold[i]);
        unsigned char *b = &bucket[len][lname[0] - 'a'];
        next_of[i] = *b;
        *b = (unsigned char)(i + 1);
        if (compact_of[i])
            compact_ids[compact_of[i] - 'a'] = hdr_names[i].id;
    }
}

/* The tables are small and constant; build them before main() so lookups need no locking. */
__attribute__((constructor)) static void init_tables(void)
{
    build_tables();
}

enum sipreg_hdr_id sipreg_hdr_id(struct sipreg_str name)
{
    if (name.len == 0 || name.len > MAX_NAME_LEN)
        return SIPREG_HDR_OTHER;
    unsigned c = (unsigned)sipreg__lower[(unsigned char)name.p[0]] - 'a';
    if (c >= 26)
        return SIPREG_HDR_OTHER;
    if (name.len == 1)
        return (enum sipreg_hdr_id)compact_ids[c];
    unsigned i = bucket[name.len][c];
    if (!i)
        return SIPREG_HDR_OTHER;
    uint64_t w[3];
    name_words(name.p, name.len, w);
    for (; i; i = next_of[i - 1]) {
        const uint64_t *k = key[i - 1], *f = fold[i - 1];
        if (((w[0] | f[0]) ^ k[0]) == 0 && ((w[1] | f[1]) ^ k[1]) == 0 &&
            ((w[2] | f[2]) ^ k[2]) == 0)
            return (enum sipreg_hdr_id)hdr_names[i - 1].id;
    }
    return SIPREG_HDR_OTHER;
}

const char *sipreg_hdr_name(enum sipreg_hdr_id id)
{
    if (id <= SIPREG_HDR_OTHER || id >= SIPREG_HDR__COUNT)
        return NULL;
    return hdr_names[id - 1].name;
}

static const char *const method_names[] = {
    "",       "REGISTER", "INVITE",  "ACK",  "CANCEL", "BYE",    "OPTIONS", "SUBSCRIBE",
    "NOTIFY", "PUBLISH",  "MESSAGE", "INFO", "PRACK",  "UPDATE", "REFER",
};

static const unsigned char method_len[] = {0, 8, 6, 3, 6, 3, 7, 9, 6, 7, 7, 4, 5, 6, 5};

enum sipreg_method sipreg_method_id(struct sipreg_str t)
{
    /* Methods are case-sensitive (RFC 3261 §7.1). */
    for (size_t i = 1; i < sizeof method_names / sizeof method_names[0]; i++)
        if (t.len == method_len[i] && t.p[0] == method_names[i][0] &&
            memcmp(t.p, method_names[i], t.len) == 0)
            return (enum sipreg_method)i;
    return SIPREG_METHOD_UNKNOWN;
}

const char *sipreg_method_name(enum sipreg_method m)
{
    if ((size_t)m >= sizeof method_names / sizeof method_names[0])
        return "";
    return method_names[m];
}

static const struct {
    const char *reason;
    short status;
} perr_table[] = {
#define XX(name, status, text) {text, status},
    SIPREG_PERR_MAP(XX)
#undef XX
};

const char *sipreg_perr_reason(enum sipreg_perr_code code)
{
    if ((unsigned)code >= SIPREG_PERR__COUNT)
        return "Bad Request";
    return perr_table[code].reason;
}

int sipreg_perr_status(enum sipreg_perr_code code)
{
    if ((unsigned)code >= SIPREG_PERR__COUNT)
        return 400;
    return perr_table[code].status;
}

const char *sipreg_status_reason(int status)
{
    switch (status) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 183: return "Session Progress";
    case 200: return "OK";
    case 202: return "Accepted";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 423: return "Interval Too Brief";
    case 429: return "Too Many Requests";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default: return "Unknown";
    }
}
