/* Helpers shared by the message-layer unit tests. */
#ifndef SIPREG_MSG_TEST_H
#define SIPREG_MSG_TEST_H

#include "sipreg/msg.h"
#include "test.h"

/* Parses the NUL-terminated text `z`, placed against a guard page, as a datagram. */
static inline int parse_z(struct sipreg_msg *m, const char *z, struct sipreg_arena *a, char *mem,
                          size_t cap, struct sipreg_perr *why)
{
    sipreg_arena_init(a, mem, cap);
    return sipreg_msg_parse(m, GUARD_Z(z), strlen(z), SIPREG_MSG_DATAGRAM, NULL, a, why);
}

#define REQ_HDRS                                                  \
    "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776;rport\r\n" \
    "From: <sip:alice@example.com>;tag=abc\r\n"                   \
    "To: <sip:alice@example.com>\r\n"                             \
    "Call-ID: 1234@host\r\n"

#endif
