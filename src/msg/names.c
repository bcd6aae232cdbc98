/* Names: header-name lookup (exact, case-insensitive, compact forms folded), methods, reasons. */
#include <stdalign.h>
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

#define HDR_NAMES (sizeof hdr_names / sizeof hdr_names[0])

/* Lookup without a hash: bucket by length and lower-case first letter, chained, and every
 * candidate confirmed by a whole case-insensitive compare (a bucket alone never decides: "Vib"
 * shares Via's bucket). Built once from the table; read by hdr_lookup() in msg_int.h. */
unsigned char sipreg__hdr_bucket[SIPREG__HDR_NAME_MAX + 1][26];
unsigned char sipreg__hdr_chain[SIPREG_HDR__COUNT];
uint64_t sipreg__hdr_key[SIPREG_HDR__COUNT][3], sipreg__hdr_fold[SIPREG_HDR__COUNT][3];
unsigned char sipreg__hdr_compact[26];
unsigned char sipreg__hdr_hash[256];
alignas(16) unsigned char sipreg__hdr_vec[256][16];

static const unsigned char compact_of[] = {
#define XX(id, name, compact) (unsigned char)(compact),
    SIPREG_HDR_MAP(XX)
#undef XX
};

/* Gives the name (1 to 15 bytes) its hash slot and vector, or marks the slot shared. */
static void add_slot(const char *name, unsigned len, unsigned id)
{
    char key[16] = {0};
    /* The vector compare proves only letters and '-' (see fast_line): a name with other
     * characters shares its slot, so that it takes the exact lookup. */
    bool plain = true;
    uint32_t w = 0;
    for (unsigned k = 0; k < len; k++) {
        unsigned char c = (unsigned char)name[k];
        key[k] = (char)sipreg__lower[c];
        if (!((key[k] >= 'a' && key[k] <= 'z') || key[k] == '-'))
            plain = false;
        if (k < 4)
            w |= (uint32_t)(c | 0x20) << (8 * k);
    }
    key[len] = ':';
    unsigned h = hdr_hash(w, len);
    if (!sipreg__hdr_hash[h] && plain) {
        sipreg__hdr_hash[h] = (unsigned char)id;
        memcpy(sipreg__hdr_vec[h], key, sizeof key);
    } else {
        sipreg__hdr_hash[h] = HDR_HASH_SHARED;
        memset(sipreg__hdr_vec[h], 0, sizeof sipreg__hdr_vec[h]); /* matches nothing */
    }
}

static void build_tables(void)
{
    for (size_t i = HDR_NAMES; i-- > 0;) {
        unsigned len = hdr_names[i].len, id = hdr_names[i].id;
        char lname[SIPREG__HDR_NAME_MAX], mask[SIPREG__HDR_NAME_MAX];
        for (unsigned k = 0; k < len; k++) {
            unsigned char c = sipreg__lower[(unsigned char)hdr_names[i].name[k]];
            lname[k] = (char)c;
            mask[k] = (char)(c >= 'a' && c <= 'z' ? 0x20 : 0);
        }
        hdr_words(lname, len, sipreg__hdr_key[id]);
        hdr_words(mask, len, sipreg__hdr_fold[id]);
        unsigned char *b = &sipreg__hdr_bucket[len][lname[0] - 'a'];
        sipreg__hdr_chain[id] = *b;
        *b = (unsigned char)id;
        if (compact_of[i]) {
            sipreg__hdr_compact[compact_of[i] - 'a'] = (unsigned char)id;
            add_slot((const char *)&compact_of[i], 1, id);
        }
        if (len <= 15)
            add_slot(hdr_names[i].name, len, id);
    }
}

/* The tables are small and constant; build them before main() so lookups need no locking. */
__attribute__((constructor)) static void init_tables(void)
{
    build_tables();
}

enum sipreg_hdr_id sipreg_hdr_id(struct sipreg_str name)
{
    return hdr_lookup(name.p, name.len);
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

enum sipreg_method sipreg_method_id(struct sipreg_str t)
{
    /* Methods are case-sensitive (RFC 3261 §7.1): by length, then one whole compare. */
    static const unsigned char by_len[10][4] = {
        [3] = {SIPREG_METHOD_ACK, SIPREG_METHOD_BYE},
        [4] = {SIPREG_METHOD_INFO},
        [5] = {SIPREG_METHOD_PRACK, SIPREG_METHOD_REFER},
        [6] = {SIPREG_METHOD_INVITE, SIPREG_METHOD_CANCEL, SIPREG_METHOD_NOTIFY,
               SIPREG_METHOD_UPDATE},
        [7] = {SIPREG_METHOD_OPTIONS, SIPREG_METHOD_PUBLISH, SIPREG_METHOD_MESSAGE},
        [8] = {SIPREG_METHOD_REGISTER},
        [9] = {SIPREG_METHOD_SUBSCRIBE},
    };
    if (t.len >= sizeof by_len / sizeof by_len[0])
        return SIPREG_METHOD_UNKNOWN;
    for (size_t i = 0; i < 4 && by_len[t.len][i]; i++) {
        unsigned id = by_len[t.len][i];
        if (bytes_eq(t.p, method_names[id], t.len))
            return (enum sipreg_method)id;
    }
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
