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
static char lname[HDR_NAMES][MAX_NAME_LEN]; /* lower-case names */
/* Compact forms, by lower-case letter. */
static unsigned char compact_ids[26];

static const unsigned char compact_of[] = {
#define XX(id, name, compact) (unsigned char)(compact),
    SIPREG_HDR_MAP(XX)
#undef XX
};

static void build_tables(void)
{
    for (size_t i = HDR_NAMES; i-- > 0;) {
        unsigned len = hdr_names[i].len;
        for (unsigned k = 0; k < len; k++)
            lname[i][k] = (char)sipreg__lower[(unsigned char)hdr_names[i].name[k]];
        unsigned char *b = &bucket[len][lname[i][0] - 'a'];
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
    for (unsigned i = bucket[name.len][c]; i; i = next_of[i - 1])
        if (caseeq_lit(name.p + 1, lname[i - 1] + 1, name.len - 1))
            return (enum sipreg_hdr_id)hdr_names[i - 1].id;
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
