/* Non-INVITE client transaction, RFC 3261 §17.1.2 (Timers E, F, K) and §17.1.3 matching. */
#include <string.h>

#include "txn/txn_int.h"

/* Parsing our own request needs the top Via only; this bounds the stack it takes. */
#define PARSE_ARENA 8192

struct sipreg_nict {
    uint8_t state;
    bool reliable;
    sipreg_time t2, t4;
    sipreg_time timer_e;    /* next retransmission; -1: none (reliable, or no longer Trying) */
    sipreg_time e_interval; /* the interval that led to timer_e */
    sipreg_time timer_f;    /* transaction timeout, 64*T1 after create */
    sipreg_time timer_k;    /* end of Completed */
    size_t branch_off, branch_len;
    size_t method_off, method_len;
    size_t len;
    char req[]; /* the request, sent and resent as is */
};

int sipreg_nict_create(struct sipreg_nict **out, const struct sipreg_nict_cfg *cfg, const char *req,
                       size_t len, sipreg_time now)
{
    static const struct sipreg_nict_cfg zero;
    sipreg_time t1, t2, t4;
    int err;
    *out = NULL;
    if (!cfg)
        cfg = &zero;
    if ((err = sipreg__txn_timer(cfg->t1, SIPREG_TXN_T1, &t1)) != 0 ||
        (err = sipreg__txn_timer(cfg->t2, SIPREG_TXN_T2, &t2)) != 0 ||
        (err = sipreg__txn_timer(cfg->t4, SIPREG_TXN_T4, &t4)) != 0)
        return err;
    if (t2 < t1 || !req)
        return SIPREG_EINVAL;

    struct sipreg_msg m;
    struct sipreg_arena a;
    _Alignas(max_align_t) char mem[PARSE_ARENA];
    const struct sipreg_via *v;
    sipreg_arena_init(&a, mem, sizeof mem);
    if ((err = sipreg_msg_parse(&m, req, len, SIPREG_MSG_DATAGRAM, NULL, &a, NULL)) != 0)
        return err == SIPREG_EAGAIN ? SIPREG_EPARSE : err;
    if (!m.is_request || m.method == SIPREG_METHOD_INVITE || m.method == SIPREG_METHOD_ACK)
        return SIPREG_EINVAL;
    if ((err = sipreg_msg_via(&m, &v, NULL)) != 0)
        return err == SIPREG_ENOMEM ? SIPREG_ELIMIT : err; /* our arena, not the heap */
    if (!v->branch.p)
        return SIPREG_EINVAL;

    /* only the message itself is kept: leading CRLFs and trailing bytes are not ours to resend */
    const char *start = req + m.skipped;
    size_t n = (size_t)(m.body.p + m.body.len - start);
    struct sipreg_nict *c = sipreg_malloc(sizeof *c + n);
    if (!c)
        return SIPREG_ENOMEM;
    memcpy(c->req, start, n);
    c->len = n;
    c->branch_off = (size_t)(v->branch.p - start);
    c->branch_len = v->branch.len;
    c->method_off = (size_t)(m.cseq.method.p - start);
    c->method_len = m.cseq.method.len;
    c->state = SIPREG_NICT_STATE_TRYING;
    c->reliable = cfg->reliable;
    c->t2 = t2;
    c->t4 = t4;
    c->e_interval = t1;
    c->timer_e = c->reliable ? -1 : now + t1;
    c->timer_f = now + 64 * t1;
    c->timer_k = -1;
    *out = c;
    return 0;
}

void sipreg_nict_destroy(struct sipreg_nict *c)
{
    sipreg_free(c);
}

void sipreg_nict_request(const struct sipreg_nict *c, const char **p, size_t *len)
{
    *p = c->req;
    *len = c->len;
}

int sipreg_nict_matches(const struct sipreg_nict *c, struct sipreg_msg *resp)
{
    const struct sipreg_via *v;
    if (resp->is_request)
        return 0;
    struct sipreg_str method = {c->req + c->method_off, c->method_len};
    struct sipreg_str branch = {c->req + c->branch_off, c->branch_len};
    if (!sipreg_str_eq(resp->cseq.method, method))
        return 0;
    if (sipreg_msg_via(resp, &v, NULL) != 0 || !v->branch.p)
        return 0;
    return sipreg_str_caseeq(v->branch, branch);
}

int sipreg_nict_receive(struct sipreg_nict *c, const struct sipreg_msg *resp, sipreg_time now)
{
    if (resp->is_request || resp->status < 100 || resp->status > 699)
        return SIPREG_EINVAL;
    if (c->state == SIPREG_NICT_STATE_COMPLETED || c->state == SIPREG_NICT_STATE_TERMINATED)
        return SIPREG_NICT_ABSORB;
    if (resp->status < 200) {
        /* Timer E keeps its pending expiry; from its next firing on it is T2 (§17.1.2.2) */
        c->state = SIPREG_NICT_STATE_PROCEEDING;
        return SIPREG_NICT_PROVISIONAL;
    }
    c->timer_e = -1;
    if (c->reliable) {
        c->state = SIPREG_NICT_STATE_TERMINATED; /* Timer K is zero */
    } else {
        c->state = SIPREG_NICT_STATE_COMPLETED;
        c->timer_k = now + c->t4; /* absorbs retransmitted finals */
    }
    return SIPREG_NICT_FINAL;
}

int sipreg_nict_timeout(struct sipreg_nict *c, sipreg_time now)
{
    switch (c->state) {
    case SIPREG_NICT_STATE_TRYING:
    case SIPREG_NICT_STATE_PROCEEDING:
        if (now >= c->timer_f) {
            c->state = SIPREG_NICT_STATE_TERMINATED;
            c->timer_e = -1;
            return SIPREG_NICT_TIMEOUT;
        }
        if (c->timer_e >= 0 && now >= c->timer_e) {
            if (c->state == SIPREG_NICT_STATE_PROCEEDING)
                c->e_interval = c->t2;
            else
                c->e_interval = 2 * c->e_interval < c->t2 ? 2 * c->e_interval : c->t2;
            /* from now, not from the missed expiry: a late caller gets no burst */
            c->timer_e = now + c->e_interval;
            return SIPREG_NICT_RETRANSMIT;
        }
        return SIPREG_NICT_NONE;
    case SIPREG_NICT_STATE_COMPLETED:
        if (now >= c->timer_k) {
            c->state = SIPREG_NICT_STATE_TERMINATED;
            return SIPREG_NICT_TERMINATED;
        }
        return SIPREG_NICT_NONE;
    default: return SIPREG_NICT_NONE;
    }
}

sipreg_time sipreg_nict_next_timeout(const struct sipreg_nict *c)
{
    switch (c->state) {
    case SIPREG_NICT_STATE_TRYING:
    case SIPREG_NICT_STATE_PROCEEDING:
        return c->timer_e >= 0 && c->timer_e < c->timer_f ? c->timer_e : c->timer_f;
    case SIPREG_NICT_STATE_COMPLETED: return c->timer_k;
    default: return -1;
    }
}

int sipreg_nict_state(const struct sipreg_nict *c)
{
    return c->state;
}
