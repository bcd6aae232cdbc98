/* sipreg core: string slices, error codes, allocation hook, arenas and output buffers. */
#ifndef SIPREG_CORE_H
#define SIPREG_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SIPREG_BUILDING) && defined(__GNUC__)
#define SIPREG_API __attribute__((visibility("default")))
#else
#define SIPREG_API
#endif

/* A borrowed byte range. Never NUL-terminated; valid as long as the buffer it points into.
 * An absent value has p == NULL; a present but empty one has p != NULL and len == 0. */
struct sipreg_str {
    const char *p;
    size_t len;
};

#define SIPREG_STR_NULL   ((struct sipreg_str){NULL, 0})
#define SIPREG_STR_LIT(s) ((struct sipreg_str){(s), sizeof(s) - 1})

/* Monotonic time in milliseconds. The library never reads a clock: callers pass it in. */
typedef int64_t sipreg_time;

/* Error codes: 0 is success, failures are negative. One list gives code, name and text. */
#define SIPREG_ERRNO_MAP(XX)                                \
    XX(ENOMEM, -1, "out of memory")                         \
    XX(EINVAL, -2, "invalid argument")                      \
    XX(EAGAIN, -3, "incomplete message, more bytes needed") \
    XX(EPARSE, -4, "malformed input")                       \
    XX(ELIMIT, -5, "a configured limit was exceeded")       \
    XX(ENOSPC, -6, "output buffer too small")               \
    XX(ENOENT, -7, "not found")                             \
    XX(EEXIST, -8, "already exists")                        \
    XX(EAUTH, -9, "authentication failed")                  \
    XX(ESTALE, -10, "stale nonce")                          \
    XX(EORDER, -11, "out-of-order request")                 \
    XX(ESTORE, -12, "storage error")                        \
    XX(EIO, -13, "input/output error")                      \
    XX(ETIMEDOUT, -14, "timed out")                         \
    XX(ECRYPTO, -15, "cryptographic library error")         \
    XX(EBUSY, -16, "resource busy")                         \
    XX(ENONCE, -17, "nonce not issued to this client")      \
    XX(ECONFLICT, -18, "changed concurrently (version mismatch)")

enum sipreg_errno {
    SIPREG_OK = 0,
#define SIPREG_XX_ERR(name, val, text) SIPREG_##name = (val),
    SIPREG_ERRNO_MAP(SIPREG_XX_ERR)
#undef SIPREG_XX_ERR
};

/* Human text for an error code ("out of memory"); never NULL. */
SIPREG_API const char *sipreg_strerror(int err);
/* Symbolic name of an error code ("SIPREG_ENOMEM"); never NULL. */
SIPREG_API const char *sipreg_errname(int err);

/* Allocation hook. Every heap allocation of the library goes through these. Passing NULLs
 * restores the C library's. Not thread-safe: set it once before using the library. */
struct sipreg_allocator {
    void *(*malloc)(size_t n, void *ud);
    void *(*realloc)(void *p, size_t n, void *ud);
    void (*free)(void *p, void *ud);
    void *ud;
};
SIPREG_API void sipreg_set_allocator(const struct sipreg_allocator *a);
SIPREG_API void *sipreg_malloc(size_t n);
SIPREG_API void *sipreg_calloc(size_t n, size_t size);
SIPREG_API void *sipreg_realloc(void *p, size_t n);
SIPREG_API void sipreg_free(void *p);

/* A bump arena over caller-provided memory with a hard cap: nothing is ever allocated from the
 * heap, which bounds the memory spent on one message. */
struct sipreg_arena {
    char *base;
    size_t cap;
    size_t used;
};

/* Uses `mem` (cap bytes) for allocations. The arena does not own `mem`. */
SIPREG_API void sipreg_arena_init(struct sipreg_arena *a, void *mem, size_t cap);
/* Returns n bytes aligned for any scalar type, or NULL when the cap would be exceeded. */
SIPREG_API void *sipreg_arena_alloc(struct sipreg_arena *a, size_t n);
/* Forgets every allocation; the memory is reused by the next ones. */
SIPREG_API void sipreg_arena_reset(struct sipreg_arena *a);
/* The arena's current fill, to be given to sipreg_arena_rewind() later. */
SIPREG_API size_t sipreg_arena_mark(const struct sipreg_arena *a);
/* Forgets every allocation made since `mark` (from sipreg_arena_mark() on this arena). */
SIPREG_API void sipreg_arena_rewind(struct sipreg_arena *a, size_t mark);

/* An output buffer over caller memory that never overruns: once an append does not fit, the
 * buffer is marked overflowed, later appends are ignored, and sipreg_buf_ok() returns false. */
struct sipreg_buf {
    char *p;
    size_t cap;
    size_t len;
    bool overflow;
};

SIPREG_API void sipreg_buf_init(struct sipreg_buf *b, char *mem, size_t cap);
SIPREG_API void sipreg_buf_add(struct sipreg_buf *b, const void *p, size_t n);
SIPREG_API void sipreg_buf_addc(struct sipreg_buf *b, char c);
SIPREG_API void sipreg_buf_adds(struct sipreg_buf *b, struct sipreg_str s);
SIPREG_API void sipreg_buf_addz(struct sipreg_buf *b, const char *z);
SIPREG_API void sipreg_buf_addu(struct sipreg_buf *b, uint64_t v);
SIPREG_API void sipreg_buf_addi(struct sipreg_buf *b, int64_t v);
/* printf-style append; the output is truncated (and the buffer marked overflowed) if too long. */
SIPREG_API void sipreg_buf_printf(struct sipreg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 0 when everything appended so far fit, SIPREG_ENOSPC otherwise. */
SIPREG_API int sipreg_buf_status(const struct sipreg_buf *b);

/* A transport address without socket headers (the core never includes them): transport, IP
 * version, address bytes in network order and port. */
enum sipreg_transport {
    SIPREG_TRANSPORT_UDP = 0,
    SIPREG_TRANSPORT_TCP = 1,
    SIPREG_TRANSPORT_TLS = 2,
};

struct sipreg_netaddr {
    uint8_t transport; /* enum sipreg_transport */
    uint8_t family;    /* 4 or 6 */
    uint16_t port;     /* host order */
    uint8_t ip[16];    /* IPv4 in the first 4 bytes */
};

#define SIPREG_NETADDR_STRLEN 64

/* Writes "192.0.2.4" or "2001:db8::1" (no brackets, no port) into out; returns its length. */
SIPREG_API size_t sipreg_netaddr_ip(const struct sipreg_netaddr *a, char *out, size_t cap);
/* Writes "udp:192.0.2.4:5060" or "tcp:[2001:db8::1]:5060"; returns its length. */
SIPREG_API size_t sipreg_netaddr_format(const struct sipreg_netaddr *a, char *out, size_t cap);
/* Parses "[udp:]IPv4:port", "[tcp:][IPv6]:port" (port optional: default_port). 0 or EINVAL. */
SIPREG_API int sipreg_netaddr_parse(struct sipreg_netaddr *a, const char *s, uint16_t default_port);
/* 1 when transport, address and port are equal. */
SIPREG_API int sipreg_netaddr_eq(const struct sipreg_netaddr *a, const struct sipreg_netaddr *b);

/* An address prefix: "192.0.2.0/24", "2001:db8::/32". */
struct sipreg_cidr {
    uint8_t family; /* 4 or 6 */
    uint8_t bits;   /* prefix length: at most 32 or 128 */
    uint8_t ip[16]; /* the prefix, host bits zero */
};
/* Parses "IPv4[/bits]" or "IPv6[/bits]" (no brackets; a bare address is a /32 or /128). Host bits
 * set beyond the prefix are refused, so that a typo cannot widen what the operator meant.
 * 0 or SIPREG_EINVAL. */
SIPREG_API int sipreg_cidr_parse(struct sipreg_cidr *c, const char *s);
/* 1 when the address lies in the prefix (an IPv4-mapped IPv6 address matches IPv4 prefixes). */
SIPREG_API int sipreg_cidr_match(const struct sipreg_cidr *c, const struct sipreg_netaddr *a);

/* Slice helpers. */
SIPREG_API struct sipreg_str sipreg_str_z(const char *z);
/* Exact byte comparison; 1 when equal. */
SIPREG_API int sipreg_str_eq(struct sipreg_str a, struct sipreg_str b);
/* ASCII case-insensitive comparison; 1 when equal. */
SIPREG_API int sipreg_str_caseeq(struct sipreg_str a, struct sipreg_str b);
SIPREG_API int sipreg_str_caseeqz(struct sipreg_str a, const char *z);
/* Parses a decimal unsigned integer filling the whole slice, at most `max`. 0 or SIPREG_EPARSE. */
SIPREG_API int sipreg_str_to_u64(struct sipreg_str s, uint64_t max, uint64_t *out);

#ifdef __cplusplus
}
#endif
#endif
