/* libFuzzer target: the registration client (RFC 3261 §10.2) against a hostile registrar. The
 * input is a response template fed back in several rounds, each time with its placeholders
 * filled from the client's latest request, so that mutated responses still match the client
 * transaction and reach the 401/407, 423, 503 and 200 handling: $B the top Via branch, $C the
 * Call-ID, $S the CSeq number, $F the From tag. Time runs between rounds, so refreshes, retries
 * and timeouts happen too. Every request the client sends must parse. The input's length picks
 * a challenge policy (realm, minimum algorithm, qop required), and a request in the input is
 * also sent from a stranger's address first, which must get nothing back. */
#include <string.h>

#include "fuzz.h"
#include "sipreg/client.h"

struct req_vars {
    char branch[128], callid[256], from_tag[128], cseq[16];
    int have;
};

static void on_event(const struct sipreg_reg_event *e, void *ud)
{
    (void)ud;
    FUZZ_CHECK(e->state >= SIPREG_REG_UNREGISTERED && e->state <= SIPREG_REG_ERROR);
}

static void copy_str(char *out, size_t cap, struct sipreg_str s)
{
    size_t n = s.p ? (s.len < cap - 1 ? s.len : cap - 1) : 0;
    if (n)
        memcpy(out, s.p, n);
    out[n] = 0;
}

static struct sipreg_netaddr stranger;

/* Pulls everything the client sends; each request must parse, nothing goes to the stranger; the
 * last REGISTER's values are kept for the placeholders. */
static void drain(struct sipreg_client *c, struct req_vars *v)
{
    static char out[65536];
    size_t n;
    struct sipreg_netaddr to, local;
    for (int i = 0; i < 64 && sipreg_client_pull(c, out, sizeof out, &n, &to, &local) == 0 && n;
         i++) {
        FUZZ_CHECK(!sipreg_netaddr_eq(&to, &stranger));
        if (n <= 4 && (out[0] == '\r' || out[0] == '\n'))
            continue; /* a CRLF keep-alive */
        struct sipreg_msg m;
        char mem[16384];
        struct sipreg_arena a;
        sipreg_arena_init(&a, mem, sizeof mem);
        FUZZ_CHECK(sipreg_msg_parse(&m, out, n, SIPREG_MSG_DATAGRAM, NULL, &a, NULL) == 0);
        if (!m.is_request)
            continue; /* the client answers requests too */
        const struct sipreg_via *via;
        const struct sipreg_addr *from;
        FUZZ_CHECK(sipreg_msg_via(&m, &via, NULL) == 0 && via->branch.p);
        FUZZ_CHECK(sipreg_msg_from(&m, &from, NULL) == 0 && from->tag.p);
        copy_str(v->branch, sizeof v->branch, via->branch);
        copy_str(v->callid, sizeof v->callid, m.call_id);
        copy_str(v->from_tag, sizeof v->from_tag, from->tag);
        snprintf(v->cseq, sizeof v->cseq, "%u", m.cseq.num);
        v->have = 1;
    }
}

static size_t fill(const uint8_t *in, size_t n, char *out, size_t cap, const struct req_vars *v)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        const char *s = NULL;
        if (in[i] == '$' && i + 1 < n) {
            switch (in[i + 1]) {
            case 'B': s = v->branch; break;
            case 'C': s = v->callid; break;
            case 'S': s = v->cseq; break;
            case 'F': s = v->from_tag; break;
            default: break;
            }
        }
        if (!s) {
            out[o++] = (char)in[i];
            continue;
        }
        size_t l = strlen(s);
        if (l > cap - o)
            l = cap - o;
        memcpy(out + o, s, l);
        o += l;
        i++;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    struct sipreg_client_cfg ccfg = {.on_event = on_event, .seed = 7, .t1 = 500};
    struct sipreg_client *c;
    if (sipreg_client_create(&c, &ccfg) != 0)
        return 0;
    struct sipreg_netaddr local, registrar;
    sipreg_netaddr_parse(&local, "udp:192.0.2.10:5062", 0);
    sipreg_netaddr_parse(&registrar, "udp:192.0.2.1:5060", 0);
    sipreg_netaddr_parse(&stranger, "udp:192.0.2.1:5061", 0);
    static const enum sipreg_auth_alg mins[] = {SIPREG_AUTH_MD5, SIPREG_AUTH_SHA256,
                                                SIPREG_AUTH_SHA512_256, SIPREG_AUTH_MD5};
    struct sipreg_reg_cfg rc = {.registrar = "sip:192.0.2.1",
                                .aor = "sip:alice@example.com",
                                .password = "secret",
                                .expires = 120,
                                .nat = SIPREG_NAT_REWRITE,
                                .keepalive = 30,
                                .realm = size & 4 ? "example.com" : NULL,
                                .min_alg = mins[size & 3],
                                .require_qop = (size & 3) == 3};
    struct sipreg_reg *r;
    if (sipreg_client_set_local(c, &local) != 0 || sipreg_reg_create(c, &r, &rc) != 0) {
        sipreg_client_destroy(c);
        return 0;
    }
    sipreg_time now = 0;
    struct req_vars v = {0};
    sipreg_reg_begin(r);
    (void)sipreg_client_timeout(c, now);
    drain(c, &v);
    static char resp[65536];
    for (int round = 0; round < 6 && v.have; round++) {
        size_t n = fill(data, size, resp, sizeof resp, &v);
        if (n < 4 || memcmp(resp, "SIP/", 4) != 0) {
            /* a request (or garbage) from anyone but the registrar is never answered */
            (void)sipreg_client_receive(c, resp, n, &stranger, &local, now);
            drain(c, &v);
        }
        (void)sipreg_client_receive(c, resp, n, &registrar, &local, now);
        drain(c, &v);
        /* let timers run: refreshes, retransmissions, retries, keep-alives */
        sipreg_time next = sipreg_client_next_timeout(c);
        now = next > now && next - now < 400000 ? next : now + 1000;
        (void)sipreg_client_timeout(c, now);
        drain(c, &v);
    }
    sipreg_reg_end(r);
    (void)sipreg_client_timeout(c, now + 1);
    drain(c, &v);
    sipreg_client_destroy(c);
    return 0;
}
