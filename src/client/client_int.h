/* Internals of the registration client, shared by its sources and unit tests. */
#ifndef SIPREG_CLIENT_INT_H
#define SIPREG_CLIENT_INT_H

#include "core/core_int.h"
#include "sipreg/client.h"
#include "sipreg/msg.h"
#include "sipreg/txn.h"

#define TARGETS_MAX 8
#define URI_MAX     256
#define OUTQ_MAX    256  /* queued datagrams; more means the driver is not pulling */
#define MSG_MAX     4096 /* one request we build */
#define CHAL_MAX    8    /* challenges considered in one 401/407 */

enum purpose { P_NONE = 0, P_REGISTER, P_UNREGISTER };

/* One queued datagram. */
struct outq {
    struct outq *next;
    struct sipreg_netaddr to, local;
    size_t len;
    char data[];
};

struct sipreg_reg {
    struct sipreg_client *c;
    struct sipreg_reg *next;
    void *ud;
    /* configuration, copied into the block after the struct */
    char *registrar, *aor, *auth_user, *password, *ha1, *realm, *contact_cfg, *host;
    char *contact_user;
    enum sipreg_auth_alg ha1_alg;
    enum sipreg_auth_alg min_alg;
    bool require_qop;
    uint16_t port;
    uint8_t transport;
    uint32_t expires; /* requested; raised by 423 */
    bool no_refresh;
    enum sipreg_nat_mode nat;
    uint32_t keepalive;
    enum sipreg_keepalive keepalive_kind;
    /* identity: constant Call-ID and From tag, CSeq counting up (RFC 3261 §10.2.4) */
    char call_id[33];
    char from_tag[17];
    uint32_t cseq, ka_cseq;
    /* addresses */
    struct sipreg_netaddr targets[TARGETS_MAX];
    size_t ntargets, target, tried;
    struct sipreg_netaddr local, pub;
    bool local_set, pub_set;
    char contact[URI_MAX];       /* the contact of the last REGISTER built */
    char bound_contact[URI_MAX]; /* the contact the registrar confirmed */
    bool bound;
    sipreg_time bound_until;
    /* state */
    enum sipreg_reg_state state;
    int status, error;
    char reason[64];
    uint32_t granted;
    bool active;        /* begin() called: keep it registered */
    bool want_targets;  /* due but without an address: the driver should resolve the name */
    bool unreg_pending; /* end() called: an Expires: 0 REGISTER is due */
    bool must_unbind;   /* send that unregistration even without a confirmed binding */
    sipreg_time due;    /* next REGISTER (first, refresh, retry) or the end of the binding */
    enum purpose purpose;
    struct sipreg_nict *txn;
    struct sipreg_netaddr txn_target;
    uint32_t txn_expires;
    unsigned failures, n423, nchal;
    /* keep-alives */
    struct sipreg_nict *ka_txn;
    sipreg_time ka_due;
    /* the challenge we answer (raw header value), reused with nc+1 until refused */
    char *chal;
    size_t chal_len;
    bool chal_proxy;
    uint32_t nc;
    bool sent_fresh; /* the last request's credentials used a nonce for the first time */
};

struct sipreg_client {
    struct sipreg_client_cfg cfg;
    char *user_agent;
    sipreg_time retry_min, retry_max, auth_retry;
    uint8_t key[16];
    uint64_t ctr;
    struct sipreg_reg *regs;
    struct outq *qhead, **qtail;
    size_t qlen;
    struct sipreg_netaddr locals[4]; /* by transport (UDP, TCP) and family (4, 6) */
    bool local_set[4];
    struct sipreg_netaddr resets[TARGETS_MAX]; /* connections to close (pull_reset) */
    size_t nresets;
    /* answers to requests: a token bucket counted in ms of refill time, full at creation */
    sipreg_time ans_credit, ans_at;
    struct sipreg_msg m;   /* the message being received */
    struct sipreg_arena a; /* the message keeps a pointer to it */
    char arena[32768];     /* its structured values */
};

sipreg_time sipreg__client_backoff(struct sipreg_client *c, unsigned failures);
sipreg_time sipreg__client_refresh_delay(uint32_t granted);

#endif
