/* Helpers shared by the transaction unit tests: requests and responses built as text and
 * parsed, and checks that clean up before returning (so the --oom sweep sees no leaks). */
#ifndef SIPREG_TXN_TEST_H
#define SIPREG_TXN_TEST_H

#include <stdio.h>

#include "fake_clock.h"
#include "sipreg/txn.h"
#include "test.h"

/* Like ASSERT/ASSERT_EQ, but jump to `out:` (where the test frees what it holds) with rc set.
 * Quiet while the runner injects allocation failures. */
#define CK(cond)                                                                         \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            if (!test_oom_active)                                                        \
                fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            rc = 1;                                                                      \
            goto out;                                                                    \
        }                                                                                \
    } while (0)

#define CK_EQ(a, b)                                                                                \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            if (!test_oom_active)                                                                  \
                fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, \
                        b_);                                                                       \
            rc = 1;                                                                                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* A message parsed from its own buffer (several can be alive at once). */
struct tmsg {
    struct sipreg_msg m;
    struct sipreg_arena a;
    _Alignas(max_align_t) char mem[8192];
    char buf[4096];
};

/* Fields of a test request; NULL/0 fields take the defaults below. */
struct treq {
    const char *method; /* "REGISTER" */
    const char *via;    /* "SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776" */
    const char *ruri;   /* "sip:example.com" */
    const char *ftag;   /* "abc"; "" for none */
    const char *ttag;   /* none */
    const char *callid; /* "1234@host" */
    unsigned cseq;      /* 1 */
};

static inline int tmsg_parse(struct tmsg *t, size_t n)
{
    sipreg_arena_init(&t->a, t->mem, sizeof t->mem);
    return sipreg_msg_parse(&t->m, t->buf, n, SIPREG_MSG_DATAGRAM, NULL, &t->a, NULL);
}

/* Builds and parses a request; 0 or the parser's error. */
static inline int treq_make(struct tmsg *t, const struct treq *q)
{
    const char *method = q->method ? q->method : "REGISTER";
    const char *ftag = q->ftag ? q->ftag : "abc";
    int n = snprintf(t->buf, sizeof t->buf,
                     "%s %s SIP/2.0\r\n"
                     "Via: %s\r\n"
                     "From: <sip:alice@example.com>%s%s\r\n"
                     "To: <sip:alice@example.com>%s%s\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: %u %s\r\n"
                     "Max-Forwards: 70\r\n"
                     "Content-Length: 0\r\n\r\n",
                     method, q->ruri ? q->ruri : "sip:example.com",
                     q->via ? q->via : "SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776",
                     *ftag ? ";tag=" : "", ftag, q->ttag ? ";tag=" : "", q->ttag ? q->ttag : "",
                     q->callid ? q->callid : "1234@host", q->cseq ? q->cseq : 1, method);
    if (n < 0 || (size_t)n >= sizeof t->buf)
        return SIPREG_ENOSPC;
    return tmsg_parse(t, (size_t)n);
}

/* Builds and parses a response with the given status, top Via and CSeq method. */
static inline int tresp_make(struct tmsg *t, int status, const char *via, const char *method)
{
    int n = snprintf(t->buf, sizeof t->buf,
                     "SIP/2.0 %d %s\r\n"
                     "Via: %s\r\n"
                     "From: <sip:alice@example.com>;tag=abc\r\n"
                     "To: <sip:alice@example.com>;tag=srv\r\n"
                     "Call-ID: 1234@host\r\n"
                     "CSeq: 1 %s\r\n"
                     "Content-Length: 0\r\n\r\n",
                     status, status < 200 ? "Trying" : "OK", via, method);
    if (n < 0 || (size_t)n >= sizeof t->buf)
        return SIPREG_ENOSPC;
    return tmsg_parse(t, (size_t)n);
}

#endif
