/* Tests for src/txn/nist.c: matching (§17.2.3), Timer J, the Trying guard, eviction, ids. */
#include "txn/txn_int.h"
#include "txn_test.h"

static const char OK200[] = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";
static const char ERR500[] = "SIP/2.0 500 Server Internal Error\r\nRetry-After: 5\r\n"
                             "Content-Length: 0\r\n\r\n";

static struct sipreg_netaddr addr(const char *s)
{
    struct sipreg_netaddr a;
    memset(&a, 0, sizeof a);
    (void)sipreg_netaddr_parse(&a, s, 5060);
    return a;
}

/* A fixed key keeps the tests deterministic; the zero key (random) is used where it does not
 * matter. */
static const struct sipreg_nist_cfg CFG = {
    .capacity = 16,
    .hash_key = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
};

TEST(nist_create_cfg)
{
    struct sipreg_nist_table *t = (struct sipreg_nist_table *)&t;
    struct sipreg_nist_cfg c = CFG;
    c.t1 = -1;
    ASSERT_EQ(sipreg_nist_table_create(&t, &c), SIPREG_EINVAL);
    ASSERT(t == NULL);
    c = CFG;
    c.t1 = SIPREG_TXN_TIMER_MAX + 1;
    ASSERT_EQ(sipreg_nist_table_create(&t, &c), SIPREG_EINVAL);
    c = CFG;
    c.t4 = -5;
    ASSERT_EQ(sipreg_nist_table_create(&t, &c), SIPREG_EINVAL);
    c = CFG;
    c.capacity = SIPREG_NIST_MAX_CAPACITY + 1;
    ASSERT_EQ(sipreg_nist_table_create(&t, &c), SIPREG_EINVAL);
    c = CFG;
    c.max_response = SIPREG_NIST_MAX_RESP + 1;
    ASSERT_EQ(sipreg_nist_table_create(&t, &c), SIPREG_EINVAL);
    ASSERT(t == NULL);

    /* NULL cfg: defaults and a random key */
    int err = sipreg_nist_table_create(&t, NULL);
    if (test_oom_active && err == SIPREG_ENOMEM) {
        ASSERT(t == NULL);
        return 0;
    }
    ASSERT_EQ(err, 0);
    ASSERT_EQ(sipreg_nist_table_count(t), 0);
    ASSERT_EQ(sipreg_nist_next_timeout(t), -1);
    struct sipreg_nist_stats st;
    sipreg_nist_table_stats(t, &st);
    ASSERT_EQ(st.created, 0);
    ASSERT_EQ(st.max_chain, 0);
    sipreg_nist_table_destroy(t);
    sipreg_nist_table_destroy(NULL);
    return 0;
}

TEST(nist_new_absorb_replay)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x = NULL, *y = NULL;
    struct sipreg_str cached;
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct tmsg m;
    CK_EQ(sipreg_nist_table_create(&t, &CFG), 0);
    CK_EQ(treq_make(&m, &(struct treq){0}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &x, &cached), SIPREG_NIST_NEW);
    CK(x != NULL);
    CK(cached.p == NULL);
    CK_EQ(sipreg_nist_state(x), SIPREG_NIST_STATE_TRYING);
    CK_EQ(sipreg_nist_table_count(t), 1);

    /* retransmission in Trying: absorbed, nothing to send */
    CK_EQ(treq_make(&m, &(struct treq){0}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 100, &y, &cached), SIPREG_NIST_ABSORB);
    CK(y == x);
    CK(cached.p == NULL);

    CK_EQ(sipreg_nist_respond(t, x, OK200, sizeof OK200 - 1, 200), 0);
    CK_EQ(sipreg_nist_state(x), SIPREG_NIST_STATE_COMPLETED);
    CK_EQ(sipreg_nist_next_timeout(t), 200 + 64 * 500);

    /* retransmission in Completed: the cached bytes, which are a copy */
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 300, &y, &cached), SIPREG_NIST_REPLAY);
    CK(y == x);
    CK(cached.p != OK200);
    CK_EQ(cached.len, sizeof OK200 - 1);
    CK(memcmp(cached.p, OK200, cached.len) == 0);
    /* NULL out-parameters are fine */
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 301, NULL, NULL), SIPREG_NIST_REPLAY);
    CK_EQ(sipreg_nist_table_count(t), 1);

    struct sipreg_nist_stats st;
    sipreg_nist_table_stats(t, &st);
    CK_EQ(st.created, 1);
    CK_EQ(st.absorbed, 1);
    CK_EQ(st.replayed, 2);
    CK_EQ(st.max_chain, 1);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

/* Receives q from src at time 0 and returns the result, the transaction in *x. */
static int recv_q(struct sipreg_nist_table *t, const struct treq *q, const char *src,
                  struct sipreg_nist **x)
{
    struct tmsg m;
    struct sipreg_netaddr a = addr(src);
    int err = treq_make(&m, q);
    return err ? err : sipreg_nist_receive(t, &m.m, &a, 0, x, NULL);
}

TEST(nist_match_rfc3261)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x0 = NULL, *x = NULL;
    const char *udp = "udp:192.0.2.4:5060";
    CK_EQ(sipreg_nist_table_create(&t, &CFG), 0);
    CK_EQ(recv_q(t, &(struct treq){0}, udp, &x0), SIPREG_NIST_NEW);

    /* branch and sent-by host compare case-insensitively (§7.3.1) */
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4:5060;branch=Z9HG4BK776"}, udp, &x),
          SIPREG_NIST_NEW); /* the cookie itself must be exact: this one is RFC 2543 */
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776;rport"},
                 udp, &x),
          SIPREG_NIST_ABSORB); /* other params do not matter */
    CK(x == x0);
    /* other fields do not matter when the branch has the cookie; nor does the source address */
    CK_EQ(recv_q(t, &(struct treq){.callid = "other", .cseq = 9, .ftag = "zz"},
                 "tcp:198.51.100.1:5070", &x),
          SIPREG_NIST_ABSORB);
    CK(x == x0);

    /* a different sent-by host, port, or method, or branch is another transaction */
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK776"}, udp, &x),
          SIPREG_NIST_NEW);
    CK(x != x0);
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bK776"}, udp, &x),
          SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK776"}, udp, &x),
          SIPREG_NIST_NEW); /* absent port is not 5060 */
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK777"}, udp, &x),
          SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.method = "OPTIONS"}, udp, &x), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.method = "CANCEL"}, udp, &x), SIPREG_NIST_NEW);
    /* an unknown method is keyed by its (case-sensitive) token */
    CK_EQ(recv_q(t, &(struct treq){.method = "FOO"}, udp, &x), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.method = "FOO"}, udp, &x), SIPREG_NIST_ABSORB);
    CK_EQ(recv_q(t, &(struct treq){.method = "FOo"}, udp, &x), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.method = "FOOBAR"}, udp, &x), SIPREG_NIST_NEW);
    /* case-folded host and branch: the same transaction */
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP Host.Example:5060;branch=z9hG4bKAbC"}, udp,
                 &x0),
          SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP host.example:5060;branch=z9hG4bKaBc"}, udp,
                 &x),
          SIPREG_NIST_ABSORB);
    CK(x == x0);
    /* IPv6 sent-by */
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP [2001:DB8::1]:5060;branch=z9hG4bK1"}, udp,
                 &x0),
          SIPREG_NIST_NEW);
    CK_EQ(
        recv_q(t, &(struct treq){.via = "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1"}, udp, &x),
        SIPREG_NIST_ABSORB);
    CK(x == x0);
    CK_EQ(sipreg_nist_table_count(t), 13);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_match_rfc2543)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x0 = NULL, *x = NULL;
    const char *udp = "udp:192.0.2.4:5060";
    const char *via = "SIP/2.0/UDP 192.0.2.4:5060;branch=1234";
    CK_EQ(sipreg_nist_table_create(&t, &CFG), 0);
    CK_EQ(recv_q(t, &(struct treq){.via = via}, udp, &x0), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = via}, udp, &x), SIPREG_NIST_ABSORB);
    CK(x == x0);
    CK_EQ(recv_q(t, &(struct treq){.via = via, .ftag = "ABC"}, udp, &x), SIPREG_NIST_ABSORB);
    CK(x == x0);

    /* every field counts */
    CK_EQ(recv_q(t, &(struct treq){.via = via, .cseq = 2}, udp, &x), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = via, .method = "OPTIONS"}, udp, &x), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = via, .callid = "1234@HOST"}, udp, &x), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = via, .ftag = "abd"}, udp, &x), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = via, .ftag = ""}, udp, &x), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = via, .ttag = "x"}, udp, &x), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = via, .ruri = "sip:example.org"}, udp, &x),
          SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4:5060;branch=1234;rport"}, udp, &x),
          SIPREG_NIST_NEW);
    /* no branch at all */
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4"}, udp, &x0), SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4"}, udp, &x), SIPREG_NIST_ABSORB);
    CK(x == x0);
    CK_EQ(sipreg_nist_table_count(t), 10);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_receive_rejects)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x = (struct sipreg_nist *)&x;
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct tmsg m;
    CK_EQ(sipreg_nist_table_create(&t, &CFG), 0);
    CK_EQ(tresp_make(&m, 200, "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1", "REGISTER"), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &x, NULL), SIPREG_EINVAL);
    CK(x == NULL);
    CK_EQ(recv_q(t, &(struct treq){.method = "INVITE"}, "udp:192.0.2.4:5060", &x), SIPREG_EINVAL);
    CK_EQ(recv_q(t, &(struct treq){.method = "ACK"}, "udp:192.0.2.4:5060", &x), SIPREG_EINVAL);
    CK_EQ(treq_make(&m, &(struct treq){0}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, NULL, 0, &x, NULL), SIPREG_EINVAL);

    /* the structured headers are parsed on demand: a broken Via, or no arena room, fails */
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4:5060;branch"}, "udp:1.2.3.4", &x),
          SIPREG_EPARSE);
    CK_EQ(recv_q(t, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4:5060;branch=x", .ttag = "a\"b"},
                 "udp:1.2.3.4", &x),
          SIPREG_EPARSE); /* RFC 2543 path parses From/To */
    CK_EQ(treq_make(&m, &(struct treq){0}), 0);
    m.m.arena->cap = m.m.arena->used; /* arena exhausted */
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &x, NULL), SIPREG_ENOMEM);

    /* a key longer than SIPREG_NIST_MAX_KEY */
    {
        char via[SIPREG_NIST_MAX_KEY + 100];
        int n = snprintf(via, sizeof via, "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK");
        memset(via + n, 'a', sizeof via - 1 - (size_t)n);
        via[sizeof via - 1] = 0;
        CK_EQ(recv_q(t, &(struct treq){.via = via}, "udp:1.2.3.4", &x), SIPREG_ELIMIT);
    }
    CK_EQ(sipreg_nist_table_count(t), 0);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_long_key_on_heap)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x0 = NULL, *x = NULL;
    char via[400];
    int n = snprintf(via, sizeof via, "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK");
    memset(via + n, 'q', sizeof via - 1 - (size_t)n);
    via[sizeof via - 1] = 0;
    CK_EQ(sipreg_nist_table_create(&t, &CFG), 0);
    int err = recv_q(t, &(struct treq){.via = via}, "udp:192.0.2.4", &x0);
    if (test_oom_active && err == SIPREG_ENOMEM) {
        CK_EQ(sipreg_nist_table_count(t), 0);
        goto out;
    }
    CK_EQ(err, SIPREG_NIST_NEW);
    CK_EQ(recv_q(t, &(struct treq){.via = via}, "udp:192.0.2.4", &x), SIPREG_NIST_ABSORB);
    CK(x == x0);
    via[sizeof via - 2] = 'r';
    CK_EQ(recv_q(t, &(struct treq){.via = via}, "udp:192.0.2.4", &x), SIPREG_NIST_NEW);
    CK(x != x0);
    CK_EQ(sipreg_nist_respond(t, x, OK200, sizeof OK200 - 1, 0), 0);
    CK_EQ(sipreg_nist_table_count(t), 2);
    sipreg_nist_abandon(t, x0); /* frees its key block */
    CK_EQ(sipreg_nist_table_count(t), 1);
    /* destroy frees the rest */
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_timer_j_udp)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x = NULL;
    struct sipreg_str cached;
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct fake_clock clk = {1000};
    struct tmsg m;
    CK_EQ(sipreg_nist_table_create(&t, &CFG), 0);
    CK_EQ(treq_make(&m, &(struct treq){0}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, clk.now, &x, NULL), SIPREG_NIST_NEW);
    CK_EQ(sipreg_nist_next_timeout(t), 1000 + 32000); /* the Trying guard */
    CK_EQ(sipreg_nist_respond(t, x, OK200, sizeof OK200 - 1, fake_clock_advance(&clk, 100)), 0);
    CK_EQ(sipreg_nist_next_timeout(t), 1100 + 32000); /* Timer J = 64*T1 */

    sipreg_nist_timeout(t, fake_clock_advance(&clk, 31999));
    CK_EQ(sipreg_nist_table_count(t), 1);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, clk.now, &x, &cached), SIPREG_NIST_REPLAY);
    CK_EQ(cached.len, sizeof OK200 - 1);

    sipreg_nist_timeout(t, fake_clock_advance(&clk, 1));
    CK_EQ(sipreg_nist_table_count(t), 0);
    CK_EQ(sipreg_nist_next_timeout(t), -1);
    struct sipreg_nist_stats st;
    sipreg_nist_table_stats(t, &st);
    CK_EQ(st.terminated, 1);
    CK_EQ(st.timed_out, 0);
    /* after Timer J the same request is new again */
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, clk.now, &x, &cached), SIPREG_NIST_NEW);
    CK_EQ(sipreg_nist_table_count(t), 1);

    /* shorter T1 scales Timer J */
    sipreg_nist_table_destroy(t);
    t = NULL;
    struct sipreg_nist_cfg c = CFG;
    c.t1 = 100;
    CK_EQ(sipreg_nist_table_create(&t, &c), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &x, NULL), SIPREG_NIST_NEW);
    CK_EQ(sipreg_nist_respond(t, x, OK200, sizeof OK200 - 1, 0), 0);
    CK_EQ(sipreg_nist_next_timeout(t), 6400);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_reliable_terminates_at_once)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x = NULL;
    struct tmsg m;
    CK_EQ(sipreg_nist_table_create(&t, &CFG), 0);
    const char *srcs[] = {"tcp:192.0.2.4:5060", "tls:192.0.2.4:5061"};
    for (int i = 0; i < 2; i++) {
        struct sipreg_netaddr src = addr(srcs[i]);
        CK_EQ(treq_make(&m, &(struct treq){0}), 0);
        CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &x, NULL), SIPREG_NIST_NEW);
        uint64_t id = sipreg_nist_id(x);
        /* nothing is copied, so no allocation can fail here */
        CK_EQ(sipreg_nist_respond(t, x, OK200, sizeof OK200 - 1, 10), SIPREG_NIST_TERMINATED);
        CK_EQ(sipreg_nist_table_count(t), 0);
        CK_EQ(sipreg_nist_next_timeout(t), -1);
        CK(sipreg_nist_find(t, id) == NULL);
        /* a retransmission (which a reliable peer should not send) is a new request */
        CK_EQ(sipreg_nist_receive(t, &m.m, &src, 20, &x, NULL), SIPREG_NIST_NEW);
        sipreg_nist_abandon(t, x);
    }
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_trying_guard)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x = NULL, *y = NULL;
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct tmsg m;
    CK_EQ(sipreg_nist_table_create(&t, &CFG), 0);
    CK_EQ(treq_make(&m, &(struct treq){0}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &x, NULL), SIPREG_NIST_NEW);
    uint64_t id = sipreg_nist_id(x);
    CK_EQ(treq_make(&m, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK2"}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 1000, &y, NULL), SIPREG_NIST_NEW);
    CK_EQ(sipreg_nist_next_timeout(t), 32000);
    sipreg_nist_timeout(t, 31999);
    CK_EQ(sipreg_nist_table_count(t), 2);
    CK(sipreg_nist_find(t, id) == x);
    sipreg_nist_timeout(t, 32000);
    CK_EQ(sipreg_nist_table_count(t), 1);
    CK(sipreg_nist_find(t, id) == NULL); /* the TU learns its answer is no longer wanted */
    CK_EQ(sipreg_nist_next_timeout(t), 33000);
    sipreg_nist_timeout(t, 40000);
    CK_EQ(sipreg_nist_table_count(t), 0);
    struct sipreg_nist_stats st;
    sipreg_nist_table_stats(t, &st);
    CK_EQ(st.timed_out, 2);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_time_never_goes_back)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x = NULL;
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct tmsg m;
    CK_EQ(sipreg_nist_table_create(&t, &CFG), 0);
    CK_EQ(treq_make(&m, &(struct treq){0}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 5000, &x, NULL), SIPREG_NIST_NEW);
    /* an earlier `now` is taken as the latest seen, keeping the expiry lists ordered */
    CK_EQ(sipreg_nist_respond(t, x, OK200, sizeof OK200 - 1, 10), 0);
    CK_EQ(sipreg_nist_next_timeout(t), 5000 + 32000);
    sipreg_nist_timeout(t, 100); /* no effect */
    CK_EQ(sipreg_nist_table_count(t), 1);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_full_evicts_completed)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x[3] = {0}, *y = NULL;
    struct sipreg_str cached;
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct sipreg_nist_cfg c = CFG;
    struct tmsg m;
    char via[80];
    c.capacity = 3;
    CK_EQ(sipreg_nist_table_create(&t, &c), 0);
    for (int i = 0; i < 3; i++) {
        snprintf(via, sizeof via, "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK%d", i);
        CK_EQ(treq_make(&m, &(struct treq){.via = via}), 0);
        CK_EQ(sipreg_nist_receive(t, &m.m, &src, i, &x[i], NULL), SIPREG_NIST_NEW);
    }
    /* all in Trying: nothing may go, the caller answers 503 statelessly */
    CK_EQ(treq_make(&m, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK3"}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 10, &y, NULL), SIPREG_ELIMIT);
    CK(y == NULL);
    /* retransmissions of existing ones still match */
    CK_EQ(treq_make(&m, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK1"}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 10, &y, NULL), SIPREG_NIST_ABSORB);

    /* x[2] completes first, then x[0]: x[2]'s Timer J fires first, so it is evicted first */
    CK_EQ(sipreg_nist_respond(t, x[2], OK200, sizeof OK200 - 1, 20), 0);
    CK_EQ(sipreg_nist_respond(t, x[0], ERR500, sizeof ERR500 - 1, 30), 0);
    uint64_t id0 = sipreg_nist_id(x[0]), id2 = sipreg_nist_id(x[2]);
    CK_EQ(treq_make(&m, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK3"}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 40, &y, NULL), SIPREG_NIST_NEW);
    CK(sipreg_nist_find(t, id2) == NULL);
    CK(sipreg_nist_find(t, id0) == x[0]);
    CK_EQ(sipreg_nist_table_count(t), 3);
    CK_EQ(treq_make(&m, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK0"}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 50, NULL, &cached), SIPREG_NIST_REPLAY);
    CK_EQ(cached.len, sizeof ERR500 - 1);
    /* the evicted one's retransmission is new now, and pushes x[0] out */
    CK_EQ(treq_make(&m, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK2"}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 60, &y, NULL), SIPREG_NIST_NEW);
    CK(sipreg_nist_find(t, id0) == NULL);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 60, &y, NULL), SIPREG_NIST_ABSORB);
    /* full of Trying again */
    CK_EQ(treq_make(&m, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK9"}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 70, &y, NULL), SIPREG_ELIMIT);

    struct sipreg_nist_stats st;
    sipreg_nist_table_stats(t, &st);
    CK_EQ(st.evicted, 2);
    CK_EQ(st.full, 2);
    CK_EQ(st.created, 5);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_replace_response)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x = NULL;
    struct sipreg_str cached;
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct sipreg_nist_cfg c = CFG;
    struct tmsg m;
    c.max_response = 64;
    CK_EQ(sipreg_nist_table_create(&t, &c), 0);
    CK_EQ(treq_make(&m, &(struct treq){0}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &x, NULL), SIPREG_NIST_NEW);

    /* not final responses, or too large: refused, the transaction stays in Trying */
    static const char *bad[] = {"SIP/2.0 100 Trying\r\n\r\n",
                                "SIP/2.0 180 Ringing\r\n\r\n",
                                "SIP/2.0 700 Odd\r\n\r\n",
                                "SIP/2.0 20",
                                "SIP/2.0 2000 OK\r\n\r\n",
                                "SIP/2.0 2x0 OK\r\n\r\n",
                                "SIP/3.0 200 OK\r\n\r\n",
                                "REGISTER sip:x SIP/2.0\r\n\r\n",
                                ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CK_EQ(sipreg_nist_respond(t, x, bad[i], strlen(bad[i]), 0), SIPREG_EINVAL);
    CK_EQ(sipreg_nist_respond(t, x, NULL, 10, 0), SIPREG_EINVAL);
    CK_EQ(sipreg_nist_respond(t, NULL, OK200, sizeof OK200 - 1, 0), SIPREG_EINVAL);
    CK_EQ(sipreg_nist_respond(t, x, ERR500, sizeof ERR500 - 1, 0), SIPREG_ELIMIT);
    CK_EQ(sipreg_nist_state(x), SIPREG_NIST_STATE_TRYING);

    /* lower-case version is accepted */
    static const char lc[] = "sip/2.0 404 Not Found\r\n\r\n";
    int err = sipreg_nist_respond(t, x, lc, sizeof lc - 1, 1000);
    if (test_oom_active && err == SIPREG_ENOMEM) {
        CK_EQ(sipreg_nist_state(x), SIPREG_NIST_STATE_TRYING);
        goto out;
    }
    CK_EQ(err, 0);
    CK_EQ(sipreg_nist_next_timeout(t), 33000);

    /* a longer replacement (grows the block) and a shorter one (reuses it); Timer J stays */
    char big[64];
    memset(big, 'x', sizeof big);
    memcpy(big, "SIP/2.0 500 Server Internal Error\r\n", 35);
    err = sipreg_nist_respond(t, x, big, sizeof big, 2000);
    if (test_oom_active && err == SIPREG_ENOMEM) {
        /* unchanged on failure */
        CK_EQ(sipreg_nist_receive(t, &m.m, &src, 2000, NULL, &cached), SIPREG_NIST_REPLAY);
        CK_EQ(cached.len, sizeof lc - 1);
        goto out;
    }
    CK_EQ(err, 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 2000, NULL, &cached), SIPREG_NIST_REPLAY);
    CK_EQ(cached.len, sizeof big);
    CK(memcmp(cached.p, big, sizeof big) == 0);
    CK_EQ(sipreg_nist_respond(t, x, OK200, sizeof OK200 - 1, 3000), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 3000, NULL, &cached), SIPREG_NIST_REPLAY);
    CK_EQ(cached.len, sizeof OK200 - 1);
    CK(memcmp(cached.p, OK200, cached.len) == 0);
    CK_EQ(sipreg_nist_next_timeout(t), 33000);
    CK_EQ(sipreg_nist_state(x), SIPREG_NIST_STATE_COMPLETED);

    /* abandon leaves a Completed transaction alone */
    sipreg_nist_abandon(t, x);
    sipreg_nist_abandon(t, NULL);
    CK_EQ(sipreg_nist_table_count(t), 1);
    sipreg_nist_timeout(t, 33000);
    CK_EQ(sipreg_nist_table_count(t), 0);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_abandon_and_ids)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x = NULL, *y = NULL;
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct sipreg_nist_cfg c = CFG;
    struct tmsg m;
    c.capacity = 1;
    CK_EQ(sipreg_nist_table_create(&t, &c), 0);
    CK_EQ(treq_make(&m, &(struct treq){0}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &x, NULL), SIPREG_NIST_NEW);
    uint64_t id = sipreg_nist_id(x);
    CK(sipreg_nist_find(t, id) == x);
    CK(id != 0);
    CK(sipreg_nist_find(t, 0) == NULL);
    CK(sipreg_nist_find(t, id + 1) == NULL);                   /* slot out of range */
    CK(sipreg_nist_find(t, id ^ ((uint64_t)1 << 32)) == NULL); /* wrong generation */
    sipreg_nist_abandon(t, x);
    CK_EQ(sipreg_nist_table_count(t), 0);
    CK_EQ(sipreg_nist_next_timeout(t), -1);
    CK(sipreg_nist_find(t, id) == NULL);
    /* the same request again reuses the slot with a new generation */
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &y, NULL), SIPREG_NIST_NEW);
    CK(y == x);
    CK(sipreg_nist_id(y) != id);
    CK(sipreg_nist_find(t, id) == NULL);
    CK(sipreg_nist_find(t, sipreg_nist_id(y)) == y);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_hash_spread_10000)
{
    enum { N = 10000 };
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x = NULL;
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct sipreg_nist_cfg c = CFG;
    static struct tmsg m;
    char via[96];
    c.capacity = N;
    CK_EQ(sipreg_nist_table_create(&t, &c), 0);
    /* sequential branches from a few hosts: a poor hash would cluster them */
    for (int i = 0; i < N; i++) {
        snprintf(via, sizeof via, "SIP/2.0/UDP 10.0.%d.%d:5060;branch=z9hG4bK%08d", i % 7, i % 3,
                 i);
        CK_EQ(treq_make(&m, &(struct treq){.via = via}), 0);
        /* left in Trying: no allocation per transaction, so the OOM sweep stays short */
        CK_EQ(sipreg_nist_receive(t, &m.m, &src, i / 10, &x, NULL), SIPREG_NIST_NEW);
    }
    CK_EQ(sipreg_nist_table_count(t), N);
    struct sipreg_nist_stats st;
    sipreg_nist_table_stats(t, &st);
    /* 10000 keys in 16384 buckets: the longest chain of a uniform hash is about 6 */
    CK(st.max_chain <= 10);
    /* every one is still found */
    for (int i = 0; i < N; i += 97) {
        snprintf(via, sizeof via, "SIP/2.0/UDP 10.0.%d.%d:5060;branch=z9hG4bK%08d", i % 7, i % 3,
                 i);
        CK_EQ(treq_make(&m, &(struct treq){.via = via}), 0);
        CK_EQ(sipreg_nist_receive(t, &m.m, &src, N / 10, &x, NULL), SIPREG_NIST_ABSORB);
    }
    CK_EQ(treq_make(&m, &(struct treq){.via = "SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKextra"}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, N / 10, &x, NULL), SIPREG_ELIMIT);

    /* all expire in creation order, a bounded batch at a time */
    CK_EQ(sipreg_nist_next_timeout(t), 32000);
    sipreg_nist_timeout(t, 32000 + 499);
    CK_EQ(sipreg_nist_table_count(t), N - 5000);
    CK_EQ(sipreg_nist_next_timeout(t), 32000 + 500);
    sipreg_nist_timeout(t, 32000 + N / 10);
    CK_EQ(sipreg_nist_table_count(t), 0);
    CK_EQ(sipreg_nist_next_timeout(t), -1);
    sipreg_nist_table_stats(t, &st);
    CK_EQ(st.timed_out, N);
    CK_EQ(st.max_chain, 0);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

TEST(nist_completed_expire_many)
{
    enum { N = 100 };
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x[N] = {0};
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct sipreg_nist_cfg c = CFG;
    static struct tmsg m;
    char via[96];
    c.capacity = N;
    CK_EQ(sipreg_nist_table_create(&t, &c), 0);
    for (int i = 0; i < N; i++) {
        snprintf(via, sizeof via, "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bK%d", i);
        CK_EQ(treq_make(&m, &(struct treq){.via = via}), 0);
        CK_EQ(sipreg_nist_receive(t, &m.m, &src, i, &x[i], NULL), SIPREG_NIST_NEW);
    }
    /* even ones answered at 1000, odd ones at 2000: Timer J follows the response, not the
     * request */
    for (int pass = 0; pass < 2; pass++)
        for (int i = pass; i < N; i += 2)
            CK_EQ(sipreg_nist_respond(t, x[i], OK200, sizeof OK200 - 1, 1000 + 1000 * pass), 0);
    CK_EQ(sipreg_nist_next_timeout(t), 33000);
    sipreg_nist_timeout(t, 33999);
    CK_EQ(sipreg_nist_table_count(t), N / 2);
    CK_EQ(sipreg_nist_state(x[1]), SIPREG_NIST_STATE_COMPLETED);
    CK_EQ(sipreg_nist_next_timeout(t), 34000);
    sipreg_nist_timeout(t, 34000);
    CK_EQ(sipreg_nist_table_count(t), 0);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

/* A cached response is resent a bounded number of times (what a client retransmits within
 * Timer F), so that a captured request replayed from its source draws a bounded number of
 * answers; later retransmissions are absorbed. */
TEST(nist_replays_bounded)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x = NULL;
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct sipreg_nist_cfg c = CFG;
    struct tmsg m;
    c.max_replays = 3;
    CK_EQ(sipreg_nist_table_create(&t, &c), 0);
    CK_EQ(treq_make(&m, &(struct treq){0}), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &x, NULL), SIPREG_NIST_NEW);
    CK_EQ(sipreg_nist_respond(t, x, OK200, sizeof OK200 - 1, 0), 0);
    for (int i = 0; i < 3; i++)
        CK_EQ(sipreg_nist_receive(t, &m.m, &src, 1 + i, NULL, NULL), SIPREG_NIST_REPLAY);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 10, NULL, NULL), SIPREG_NIST_ABSORB);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 11, NULL, NULL), SIPREG_NIST_ABSORB);
    sipreg_nist_table_destroy(t);
    t = NULL;
    /* the default is 10 */
    CK_EQ(sipreg_nist_table_create(&t, &CFG), 0);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 0, &x, NULL), SIPREG_NIST_NEW);
    CK_EQ(sipreg_nist_respond(t, x, OK200, sizeof OK200 - 1, 0), 0);
    for (int i = 0; i < 10; i++)
        CK_EQ(sipreg_nist_receive(t, &m.m, &src, 1 + i, NULL, NULL), SIPREG_NIST_REPLAY);
    CK_EQ(sipreg_nist_receive(t, &m.m, &src, 20, NULL, NULL), SIPREG_NIST_ABSORB);
out:
    sipreg_nist_table_destroy(t);
    return rc;
}

/* The bytes of cached responses stay within max_cached: the oldest Completed transactions end
 * early to make room, and a response that cannot fit even then is refused. */
TEST(nist_cached_bytes_budget)
{
    int rc = 0;
    struct sipreg_nist_table *t = NULL;
    struct sipreg_nist *x[4] = {0};
    struct sipreg_netaddr src = addr("udp:192.0.2.4:5060");
    struct sipreg_nist_cfg c = CFG;
    struct tmsg m;
    char via[80];
    c.max_cached = 2 * (sizeof ERR500 - 1);
    CK_EQ(sipreg_nist_table_create(&t, &c), 0);
    for (int i = 0; i < 4; i++) {
        snprintf(via, sizeof via, "SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKb%d", i);
        CK_EQ(treq_make(&m, &(struct treq){.via = via}), 0);
        CK_EQ(sipreg_nist_receive(t, &m.m, &src, i, &x[i], NULL), SIPREG_NIST_NEW);
    }
    uint64_t id0 = sipreg_nist_id(x[0]), id1 = sipreg_nist_id(x[1]);
    CK_EQ(sipreg_nist_respond(t, x[0], ERR500, sizeof ERR500 - 1, 10), 0);
    CK_EQ(sipreg_nist_respond(t, x[1], ERR500, sizeof ERR500 - 1, 11), 0);
    /* a third one pushes the oldest out */
    CK_EQ(sipreg_nist_respond(t, x[2], ERR500, sizeof ERR500 - 1, 12), 0);
    CK(sipreg_nist_find(t, id0) == NULL);
    CK(sipreg_nist_find(t, id1) == x[1]);
    struct sipreg_nist_stats st;
    sipreg_nist_table_stats(t, &st);
    CK_EQ(st.evicted, 1);
    /* larger than the whole budget: refused, the transaction stays as it was */
    char big[256];
    memset(big, 'x', sizeof big);
    memcpy(big, OK200, sizeof OK200 - 1);
    CK_EQ(sipreg_nist_respond(t, x[3], big, sizeof big, 13), SIPREG_ELIMIT);
    CK_EQ(sipreg_nist_state(x[3]), SIPREG_NIST_STATE_TRYING);
    CK(sipreg_nist_find(t, id1) == x[1]); /* nothing was ended for it */
out:
    sipreg_nist_table_destroy(t);
    return rc;
}
