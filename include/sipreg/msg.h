/* sipreg message layer: zero-copy SIP parser, structured header parsers and message builder. */
#ifndef SIPREG_MSG_H
#define SIPREG_MSG_H

#include "sipreg/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ---- */

/* Hard compile-time ceiling on headers per message; the configurable limit is at most this. */
#define SIPREG_MSG_HDRS_MAX 128

/* Parser limits. A zero field means the default given beside it. */
struct sipreg_msg_limits {
    size_t max_size;    /* whole message, start line to end of body: 65535 */
    size_t max_headers; /* header fields (lines, after unfolding): 64, at most 128 */
    size_t max_line;    /* one header field including folded lines: 8192 */
    size_t max_params;  /* parameters in one header value or URI: 32 */
    size_t max_uri;     /* one URI: 2048 */
    /* elements of one header field's comma-separated list (Via, Contact...): 32. A message's
     * Via or Contact values together are thus at most max_headers * max_list. */
    size_t max_list;
};

/* ---- parse errors: code, status to answer with, reason phrase ---- */
#define SIPREG_PERR_MAP(XX)                                   \
    XX(NONE, 0, "OK")                                         \
    XX(EMPTY, 400, "Empty Message")                           \
    XX(START_LINE, 400, "Malformed Start Line")               \
    XX(METHOD, 400, "Malformed Method")                       \
    XX(REQUEST_URI, 400, "Malformed Request-URI")             \
    XX(VERSION, 505, "Version Not Supported")                 \
    XX(STATUS, 400, "Malformed Status Code")                  \
    XX(REASON, 400, "Malformed Reason Phrase")                \
    XX(HEADER, 400, "Malformed Header Line")                  \
    XX(HEADER_NAME, 400, "Malformed Header Name")             \
    XX(NO_END, 400, "Header Section Not Terminated")          \
    XX(TOO_LARGE, 513, "Message Too Large")                   \
    XX(TOO_MANY_HEADERS, 400, "Too Many Headers")             \
    XX(LINE_TOO_LONG, 400, "Header Line Too Long")            \
    XX(CONTENT_LENGTH, 400, "Bad Content-Length")             \
    XX(BODY_TRUNCATED, 400, "Content-Length Exceeds Message") \
    XX(MISSING_VIA, 400, "Missing Via")                       \
    XX(MISSING_FROM, 400, "Missing From")                     \
    XX(MISSING_TO, 400, "Missing To")                         \
    XX(MISSING_CALL_ID, 400, "Missing Call-ID")               \
    XX(MISSING_CSEQ, 400, "Missing CSeq")                     \
    XX(DUP_HEADER, 400, "Duplicate Single-Value Header")      \
    XX(CSEQ, 400, "Bad CSeq")                                 \
    XX(CSEQ_METHOD, 400, "CSeq Method Mismatch")              \
    XX(CALL_ID, 400, "Bad Call-ID")                           \
    XX(MAX_FORWARDS, 400, "Bad Max-Forwards")                 \
    XX(EXPIRES, 400, "Bad Expires")                           \
    XX(URI, 400, "Malformed URI")                             \
    XX(URI_TOO_LONG, 414, "Request-URI Too Long")             \
    XX(ADDR, 400, "Malformed Address")                        \
    XX(VIA, 400, "Malformed Via")                             \
    XX(CONTACT, 400, "Malformed Contact")                     \
    XX(PARAM, 400, "Malformed Parameter")                     \
    XX(TOO_MANY_PARAMS, 400, "Too Many Parameters")           \
    XX(QUOTE, 400, "Unterminated Quoted String")              \
    XX(AUTH, 400, "Malformed Authorization")                  \
    XX(TOKEN_LIST, 400, "Malformed Option Tag List")          \
    XX(TOO_MANY_VALUES, 400, "Too Many Values")               \
    XX(NO_MEMORY, 500, "Server Internal Error")

enum sipreg_perr_code {
#define SIPREG_XX_PERR(name, status, text) SIPREG_PERR_##name,
    SIPREG_PERR_MAP(SIPREG_XX_PERR)
#undef SIPREG_XX_PERR
        SIPREG_PERR__COUNT
};

/* Why a parse failed: a code and the byte offset (from the start of the buffer) where the
 * problem was found. */
struct sipreg_perr {
    enum sipreg_perr_code code;
    size_t offset;
};

/* Reason phrase for a rejection ("Malformed Via"), usable in a 400 reason and a log line. */
SIPREG_API const char *sipreg_perr_reason(enum sipreg_perr_code code);
/* Status code to answer a rejected request with (400, 505, 513, ...). */
SIPREG_API int sipreg_perr_status(enum sipreg_perr_code code);

/* ---- methods and headers ---- */

enum sipreg_method {
    SIPREG_METHOD_UNKNOWN = 0,
    SIPREG_METHOD_REGISTER,
    SIPREG_METHOD_INVITE,
    SIPREG_METHOD_ACK,
    SIPREG_METHOD_CANCEL,
    SIPREG_METHOD_BYE,
    SIPREG_METHOD_OPTIONS,
    SIPREG_METHOD_SUBSCRIBE,
    SIPREG_METHOD_NOTIFY,
    SIPREG_METHOD_PUBLISH,
    SIPREG_METHOD_MESSAGE,
    SIPREG_METHOD_INFO,
    SIPREG_METHOD_PRACK,
    SIPREG_METHOD_UPDATE,
    SIPREG_METHOD_REFER,
};

/* Method id of an exact (case-sensitive, RFC 3261 §7.1) method token. */
SIPREG_API enum sipreg_method sipreg_method_id(struct sipreg_str token);
/* Canonical name of a known method ("REGISTER"); "" for unknown. */
SIPREG_API const char *sipreg_method_name(enum sipreg_method m);

/* Known headers; compact forms are folded into their full names. Anything else is
 * SIPREG_HDR_OTHER and is identified by its name slice. */
#define SIPREG_HDR_MAP(XX)                              \
    XX(VIA, "Via", 'v')                                 \
    XX(FROM, "From", 'f')                               \
    XX(TO, "To", 't')                                   \
    XX(CALL_ID, "Call-ID", 'i')                         \
    XX(CSEQ, "CSeq", 0)                                 \
    XX(CONTACT, "Contact", 'm')                         \
    XX(MAX_FORWARDS, "Max-Forwards", 0)                 \
    XX(CONTENT_LENGTH, "Content-Length", 'l')           \
    XX(CONTENT_TYPE, "Content-Type", 'c')               \
    XX(CONTENT_ENCODING, "Content-Encoding", 'e')       \
    XX(EXPIRES, "Expires", 0)                           \
    XX(MIN_EXPIRES, "Min-Expires", 0)                   \
    XX(AUTHORIZATION, "Authorization", 0)               \
    XX(PROXY_AUTHORIZATION, "Proxy-Authorization", 0)   \
    XX(WWW_AUTHENTICATE, "WWW-Authenticate", 0)         \
    XX(PROXY_AUTHENTICATE, "Proxy-Authenticate", 0)     \
    XX(ROUTE, "Route", 0)                               \
    XX(RECORD_ROUTE, "Record-Route", 0)                 \
    XX(PATH, "Path", 0)                                 \
    XX(REQUIRE, "Require", 0)                           \
    XX(PROXY_REQUIRE, "Proxy-Require", 0)               \
    XX(SUPPORTED, "Supported", 'k')                     \
    XX(UNSUPPORTED, "Unsupported", 0)                   \
    XX(ALLOW, "Allow", 0)                               \
    XX(ACCEPT, "Accept", 0)                             \
    XX(USER_AGENT, "User-Agent", 0)                     \
    XX(SERVER, "Server", 0)                             \
    XX(DATE, "Date", 0)                                 \
    XX(RETRY_AFTER, "Retry-After", 0)                   \
    XX(SUBJECT, "Subject", 's')                         \
    XX(EVENT, "Event", 'o')                             \
    XX(REFER_TO, "Refer-To", 'r')                       \
    XX(ALLOW_EVENTS, "Allow-Events", 'u')               \
    XX(SESSION_EXPIRES, "Session-Expires", 'x')         \
    XX(IDENTITY, "Identity", 'y')                       \
    XX(REFERRED_BY, "Referred-By", 'b')                 \
    XX(ACCEPT_CONTACT, "Accept-Contact", 'a')           \
    XX(REJECT_CONTACT, "Reject-Contact", 'j')           \
    XX(REQUEST_DISPOSITION, "Request-Disposition", 'd') \
    XX(TIMESTAMP, "Timestamp", 0)                       \
    XX(WARNING, "Warning", 0)

enum sipreg_hdr_id {
    SIPREG_HDR_OTHER = 0,
#define SIPREG_XX_HDR(id, name, compact) SIPREG_HDR_##id,
    SIPREG_HDR_MAP(SIPREG_XX_HDR)
#undef SIPREG_XX_HDR
        SIPREG_HDR__COUNT
};

/* Header id of a header name (exact, case-insensitive; compact forms folded). */
SIPREG_API enum sipreg_hdr_id sipreg_hdr_id(struct sipreg_str name);
/* Canonical name of a known header ("Call-ID"); NULL for SIPREG_HDR_OTHER. */
SIPREG_API const char *sipreg_hdr_name(enum sipreg_hdr_id id);

/* One header field as it appears in the message. `value` has leading and trailing whitespace
 * removed; it may still contain folded lines (CRLF followed by SP/HT), which every structured
 * parser treats as whitespace. */
struct sipreg_hdr {
    enum sipreg_hdr_id id;
    struct sipreg_str name;
    struct sipreg_str value;
};

/* ---- structured values ---- */

/* A generic `;name[=value]` parameter. `value.p` is NULL when there was no '='. Quoted values
 * keep their quotes. */
struct sipreg_param {
    struct sipreg_str name;
    struct sipreg_str value;
};

struct sipreg_params {
    struct sipreg_param *v; /* from the arena */
    size_t n;
};

/* First parameter named `name` (case-insensitive); NULL if absent. */
SIPREG_API const struct sipreg_param *sipreg_params_find(const struct sipreg_params *ps,
                                                         const char *name);

enum sipreg_uri_scheme {
    SIPREG_URI_OTHER = 0, /* absoluteURI with another scheme: only `scheme` and `opaque` set */
    SIPREG_URI_SIP,
    SIPREG_URI_SIPS,
    SIPREG_URI_TEL,
};

/* A SIP, SIPS or tel URI (RFC 3261 §19.1, RFC 3966). Slices are raw: escapes are not decoded.
 * For a tel URI, `user` holds the number and `host` is absent. */
struct sipreg_uri {
    enum sipreg_uri_scheme scheme;
    struct sipreg_str raw;      /* the whole URI */
    struct sipreg_str scheme_s; /* "sip", "sips", "tel", other */
    struct sipreg_str user;     /* absent when there is no userinfo */
    struct sipreg_str password; /* absent when none */
    struct sipreg_str host;     /* IPv6 references without the brackets */
    struct sipreg_str opaque;   /* for SIPREG_URI_OTHER: everything after "scheme:" */
    uint16_t port;              /* 0 when absent */
    bool host_ipv6;
    struct sipreg_params params;  /* uri-parameters */
    struct sipreg_params headers; /* ?hname=hvalue&... */
};

/* Parses a URI. Every list comes from the arena. 0, SIPREG_EPARSE (why set), SIPREG_ENOMEM when
 * the arena is full. */
SIPREG_API int sipreg_uri_parse(struct sipreg_uri *u, struct sipreg_str s,
                                const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                                struct sipreg_perr *why);

/* The URI's port, or its scheme's default when it has none: 5061 for sips, else 5060
 * (RFC 3261 §19.1.2). */
SIPREG_API uint16_t sipreg_uri_port(const struct sipreg_uri *u);

/* A name-addr or addr-spec with header parameters (From, To, Contact, Route, Path...). */
struct sipreg_addr {
    struct sipreg_str display; /* without quotes; absent when none */
    struct sipreg_str raw;     /* the whole value, for copying verbatim */
    struct sipreg_uri uri;
    bool angle; /* the URI was enclosed in <> */
    struct sipreg_params params;
    struct sipreg_str tag; /* the tag parameter, absent when none */
};

/* Parses one name-addr/addr-spec with params (the whole of `s`). */
SIPREG_API int sipreg_addr_parse(struct sipreg_addr *ad, struct sipreg_str s,
                                 const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                                 struct sipreg_perr *why);

/* One Via value (RFC 3261 §20.42, RFC 3581). */
struct sipreg_via {
    struct sipreg_str raw; /* this value alone, for copying */
    struct sipreg_str proto_name;
    struct sipreg_str proto_version;
    struct sipreg_str transport;
    struct sipreg_str host; /* IPv6 without brackets */
    bool host_ipv6;
    uint16_t port; /* 0 when absent */
    struct sipreg_str branch;
    struct sipreg_str received;
    struct sipreg_str maddr;
    int rport; /* -1 absent, 0 present without value, else the value */
    int ttl;   /* -1 absent */
    struct sipreg_params params;
    struct sipreg_via *next;
};

/* One Contact value; or the wildcard `*`. */
struct sipreg_contact {
    bool star;
    struct sipreg_addr addr;
    int64_t expires;            /* -1 absent; values above 2^32-1 are clamped to 4294967295 */
    int q;                      /* -1 absent, else 0..1000 (q * 1000) */
    struct sipreg_str instance; /* +sip.instance value without quotes; absent when none */
    int64_t reg_id;             /* -1 absent */
    struct sipreg_contact *next;
};

/* Parses a comma-separated list of Via values / Contact values (one header field's value).
 * The list nodes come from the arena. */
SIPREG_API int sipreg_via_parse(struct sipreg_via **out, struct sipreg_str s,
                                const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                                struct sipreg_perr *why);
SIPREG_API int sipreg_contact_parse(struct sipreg_contact **out, struct sipreg_str s,
                                    const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                                    struct sipreg_perr *why);

struct sipreg_cseq {
    uint32_t num;
    struct sipreg_str method;
    enum sipreg_method method_id;
};

SIPREG_API int sipreg_cseq_parse(struct sipreg_cseq *c, struct sipreg_str s,
                                 struct sipreg_perr *why);

/* Parses a delta-seconds value (Expires, Min-Expires, Max-Forwards...) at most `max`. */
SIPREG_API int sipreg_uint_parse(uint32_t *out, struct sipreg_str s, uint32_t max,
                                 struct sipreg_perr *why);

/* Splits a comma-separated token list (Require, Supported, Allow, Unsupported...). Calls
 * `fn(token, ud)` for each token; a non-zero return stops and is returned. */
SIPREG_API int sipreg_token_list_foreach(struct sipreg_str s,
                                         int (*fn)(struct sipreg_str tok, void *ud), void *ud,
                                         struct sipreg_perr *why);

/* Digest challenge or credentials (RFC 7616 / RFC 8760): WWW-Authenticate, Proxy-Authenticate,
 * Authorization, Proxy-Authorization. Quoted values are returned without the quotes (escapes not
 * decoded: the raw bytes between the quotes). */
struct sipreg_auth {
    struct sipreg_str scheme; /* "Digest", or another scheme */
    struct sipreg_str realm, domain, nonce, opaque, stale, algorithm, qop, charset, userhash;
    struct sipreg_str username, username_star, uri, response, cnonce, nc;
    uint32_t nc_val;             /* nc as a number; 0 when absent */
    bool stale_true;             /* stale=true (case-insensitive) */
    struct sipreg_params params; /* every parameter as given (values with quotes) */
};

SIPREG_API int sipreg_auth_parse(struct sipreg_auth *au, struct sipreg_str s,
                                 const struct sipreg_msg_limits *lim, struct sipreg_arena *a,
                                 struct sipreg_perr *why);

/* ---- the message ---- */

enum sipreg_msg_mode {
    SIPREG_MSG_DATAGRAM = 0, /* UDP: absent Content-Length = rest of the datagram */
    SIPREG_MSG_STREAM = 1,   /* TCP: incomplete -> SIPREG_EAGAIN; Content-Length required */
};

/* A parsed message. Caller-allocated; every slice points into the parsed buffer and stays valid
 * as long as that buffer. Structured values are parsed on demand by the accessors below, once,
 * and cached in the message; their memory comes from the arena given to sipreg_msg_parse. */
struct sipreg_msg {
    const char *buf; /* the parsed buffer: offsets in sipreg_perr are relative to it */
    bool is_request;
    size_t len;     /* bytes of this message from the start of `buf` to the end of the body,
                     * leading CRLFs (`skipped`) included */
    size_t skipped; /* leading CRLFs skipped before the start line */
    /* True once the whole header section was indexed, even when a later check failed: the
     * headers can then be used to answer the request with the error's status. */
    bool hdrs_complete;
    /* request line */
    enum sipreg_method method;
    struct sipreg_str method_s;
    struct sipreg_str ruri;
    /* status line */
    int status;
    struct sipreg_str reason;
    /* headers in order of appearance */
    struct sipreg_hdr hdr[SIPREG_MSG_HDRS_MAX];
    size_t nhdr;
    uint8_t first[SIPREG_HDR__COUNT]; /* index + 1 of the first header of each id; 0: none */
    /* for a known header, index + 1 of the next header with the same id; 0: none */
    uint8_t next_same[SIPREG_MSG_HDRS_MAX];
    struct sipreg_str body;
    /* parsed during sipreg_msg_parse */
    struct sipreg_cseq cseq;
    struct sipreg_str call_id;
    int64_t content_length; /* -1 absent */
    /* on-demand cache */
    struct sipreg_arena *arena;
    struct sipreg_msg_limits lim;
    const struct sipreg_via *via_cache;
    const struct sipreg_addr *from_cache, *to_cache;
    const struct sipreg_uri *ruri_cache;
};

/* Parses one message from `buf`. Returns 0 when a whole message was parsed (m->len says how many
 * bytes it used; trailing bytes of a datagram are ignored), SIPREG_EAGAIN in stream mode when
 * more bytes are needed, SIPREG_EPARSE with `why` filled when malformed. A request with an
 * unsupported SIP version still has its headers indexed (why->code SIPREG_PERR_VERSION) so that
 * it can be answered with 505; m->hdrs_complete says when the headers are usable after an
 * error. Checks framing, the start
 * line, that Via, From, To, Call-ID and CSeq are present (once each for single-value headers),
 * that CSeq is valid and names the request's method, and Content-Length. Never allocates from
 * the heap and never writes to `buf`. `lim` may be NULL for the defaults. Thread-safe for
 * distinct messages. */
SIPREG_API int sipreg_msg_parse(struct sipreg_msg *m, const char *buf, size_t len,
                                enum sipreg_msg_mode mode, const struct sipreg_msg_limits *lim,
                                struct sipreg_arena *a, struct sipreg_perr *why);

/* Stream framing only: given the bytes received so far, returns SIPREG_EAGAIN until a whole
 * message (headers and Content-Length body) is present, then 0 with *msg_len set. Leading CRLF
 * keep-alives are counted into *msg_len when nothing else is there (msg_len = their count). */
SIPREG_API int sipreg_msg_frame(const char *buf, size_t len, const struct sipreg_msg_limits *lim,
                                size_t *msg_len, struct sipreg_perr *why);

/* The first header with this id, or NULL. */
SIPREG_API const struct sipreg_hdr *sipreg_msg_hdr_find(const struct sipreg_msg *m,
                                                        enum sipreg_hdr_id id);
/* The next header with the same id after `h`, or NULL. */
SIPREG_API const struct sipreg_hdr *sipreg_msg_hdr_next(const struct sipreg_msg *m,
                                                        const struct sipreg_hdr *h);
/* The first header named `name` (any header, case-insensitive, compact forms folded). */
SIPREG_API const struct sipreg_hdr *sipreg_msg_hdr_findz(const struct sipreg_msg *m,
                                                         const char *name);

/* Accessors for structured values, parsed on first use and cached. Each returns 0 and sets
 * *out, or SIPREG_EPARSE (why set) / SIPREG_ENOMEM (arena full). */
/* Every Via value of the message, in order (all Via headers, comma lists flattened). */
SIPREG_API int sipreg_msg_via(struct sipreg_msg *m, const struct sipreg_via **out,
                              struct sipreg_perr *why);
SIPREG_API int sipreg_msg_from(struct sipreg_msg *m, const struct sipreg_addr **out,
                               struct sipreg_perr *why);
SIPREG_API int sipreg_msg_to(struct sipreg_msg *m, const struct sipreg_addr **out,
                             struct sipreg_perr *why);
SIPREG_API int sipreg_msg_ruri(struct sipreg_msg *m, const struct sipreg_uri **out,
                               struct sipreg_perr *why);
/* Every Contact value of the message, in order (not cached: each call parses again). */
SIPREG_API int sipreg_msg_contacts(struct sipreg_msg *m, struct sipreg_contact **out,
                                   struct sipreg_perr *why);

/* ---- builder ---- */

/* Starts a response to `req` (RFC 3261 §8.2.6): status line, then every Via of the request in
 * order (the top one with `received`/`rport` set as RFC 3581 says when `received` is not absent
 * / `rport` >= 0), From, To (with `to_tag` added when the request's To has none and `to_tag` is
 * not absent), Call-ID and CSeq copied. Append further headers with sipreg_buf_* and finish with
 * sipreg_msg_build_end(). `reason` absent means the standard phrase for the status. A To that does
 * not parse is copied without adding a tag, so that a 400 can still be sent. */
SIPREG_API int sipreg_msg_build_response(struct sipreg_buf *b, struct sipreg_msg *req, int status,
                                         struct sipreg_str reason, struct sipreg_str to_tag,
                                         struct sipreg_str received, int rport);

/* Starts a request: "METHOD ruri SIP/2.0\r\n". */
SIPREG_API void sipreg_msg_build_request(struct sipreg_buf *b, struct sipreg_str method,
                                         struct sipreg_str ruri);

/* Appends "Name: value\r\n". */
SIPREG_API void sipreg_msg_build_hdr(struct sipreg_buf *b, const char *name,
                                     struct sipreg_str value);

/* Appends Content-Length, the empty line and the body. Returns 0 or SIPREG_ENOSPC if anything
 * written into `b` did not fit (the buffer then holds no usable message). */
SIPREG_API int sipreg_msg_build_end(struct sipreg_buf *b, const void *body, size_t body_len);

/* Standard reason phrase for a status code ("Interval Too Brief"); "Unknown" if none. */
SIPREG_API const char *sipreg_status_reason(int status);

#ifdef __cplusplus
}
#endif
#endif
