/* Tests for src/txn/nict.c: Timers E, F and K (RFC 3261 §17.1.2) and matching (§17.1.3). */
#include "txn/txn_int.h"
#include "txn_test.h"

#define VIA "SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKcli1;rport"

static const char REQ[] = "REGISTER sip:example.com SIP/2.0\r\n"
                          "Via: " VIA "\r\n"
                          "From: <sip:alice@example.com>;tag=abc\r\n"
                          "To: <sip:alice@example.com>\r\n"
                          "Call-ID: 1234@host\r\n"
                          "CSeq: 1 REGISTER\r\n"
                          "Contact: <sip:alice@192.0.2.9>\r\n"
                          "Content-Length: 0\r\n\r\n";

/* Feeds a response with this status (and the request's Via and method) at `now`. */
static int feed(struct sipreg_nict *c, int status, sipreg_time now)
{
    struct tmsg m;
    int err = tresp_make(&m, status, VIA, "REGISTER");
    if (err)
        return err;
    if (!sipreg_nict_matches(c, &m.m))
        return -100;
    return sipreg_nict_receive(c, &m.m, now);
}

/* Runs the fake clock from timer to timer, recording when retransmissions happen, until the
 * transaction ends or `until`. Returns the last timeout() result. */
static int run(struct sipreg_nict *c, struct fake_clock *clk, sipreg_time until, sipreg_time *at,
               size_t cap, size_t *n)
{
    int r = SIPREG_NICT_NONE;
    *n = 0;
    for (;;) {
        sipreg_time next = sipreg_nict_next_timeout(c);
        if (next < 0 || next > until)
            return r;
        /* one ms early: nothing fires */
        if (next > clk->now && sipreg_nict_timeout(c, next - 1) != SIPREG_NICT_NONE)
            return -1;
        clk->now = next;
        r = sipreg_nict_timeout(c, clk->now);
        if (r == SIPREG_NICT_RETRANSMIT && *n < cap)
            at[(*n)++] = clk->now;
        if (r != SIPREG_NICT_RETRANSMIT)
            return r;
    }
}

TEST(nict_retransmit_schedule)
{
    struct sipreg_nict *c;
    struct fake_clock clk = {0};
    sipreg_time at[32];
    size_t n;
    int err = sipreg_nict_create(&c, NULL, REQ, sizeof REQ - 1, clk.now);
    if (test_oom_active && err == SIPREG_ENOMEM)
        return 0;
    ASSERT_EQ(err, 0);
    ASSERT_EQ(sipreg_nict_state(c), SIPREG_NICT_STATE_TRYING);
    ASSERT_EQ(sipreg_nict_next_timeout(c), 500);
    int r = run(c, &clk, 1000000, at, 32, &n);
    sipreg_nict_destroy(c);
    /* gaps 500, 1000, 2000, 4000, 4000, ... then Timer F at 64*T1 */
    static const sipreg_time want[] = {500,   1500,  3500,  7500,  11500,
                                       15500, 19500, 23500, 27500, 31500};
    ASSERT_EQ(r, SIPREG_NICT_TIMEOUT);
    ASSERT_EQ(clk.now, 32000);
    ASSERT_EQ(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(at[i], want[i]);
    return 0;
}

TEST(nict_timer_f_terminates)
{
    struct sipreg_nict *c;
    int err = sipreg_nict_create(&c, NULL, REQ, sizeof REQ - 1, 1000);
    if (test_oom_active && err == SIPREG_ENOMEM)
        return 0;
    ASSERT_EQ(err, 0);
    /* a caller that only wakes up late: one retransmission per call, no burst; F wins at 64*T1 */
    int r1 = sipreg_nict_timeout(c, 20000);
    int r2 = sipreg_nict_timeout(c, 20000);
    sipreg_time next = sipreg_nict_next_timeout(c);
    int r3 = sipreg_nict_timeout(c, 33000);
    int st = sipreg_nict_state(c);
    sipreg_time end = sipreg_nict_next_timeout(c);
    int r4 = sipreg_nict_timeout(c, 99000);
    int r5 = feed(c, 200, 99000);
    sipreg_nict_destroy(c);
    ASSERT_EQ(r1, SIPREG_NICT_RETRANSMIT);
    ASSERT_EQ(r2, SIPREG_NICT_NONE);
    ASSERT_EQ(next, 21000); /* T1 doubled once, from the late call */
    ASSERT_EQ(r3, SIPREG_NICT_TIMEOUT);
    ASSERT_EQ(st, SIPREG_NICT_STATE_TERMINATED);
    ASSERT_EQ(end, -1);
    ASSERT_EQ(r4, SIPREG_NICT_NONE);
    ASSERT_EQ(r5, SIPREG_NICT_ABSORB);
    return 0;
}

TEST(nict_proceeding_uses_t2)
{
    struct sipreg_nict *c;
    struct fake_clock clk = {0};
    sipreg_time at[32];
    size_t n;
    int err = sipreg_nict_create(&c, NULL, REQ, sizeof REQ - 1, clk.now);
    if (test_oom_active && err == SIPREG_ENOMEM)
        return 0;
    ASSERT_EQ(err, 0);
    int r0 = sipreg_nict_timeout(c, 500); /* E fires: next at 1500 */
    int p1 = feed(c, 100, 600);           /* Proceeding; E keeps its expiry */
    int st1 = sipreg_nict_state(c);
    sipreg_time e1 = sipreg_nict_next_timeout(c);
    clk.now = 600;
    int r = run(c, &clk, 20000, at, 32, &n);
    int p2 = feed(c, 183, clk.now); /* more provisionals go to the TU too */
    int st2 = sipreg_nict_state(c);
    size_t n1 = n;
    sipreg_time at1[32];
    memcpy(at1, at, sizeof at);
    int rf = run(c, &clk, 1000000, at, 32, &n);
    sipreg_nict_destroy(c);
    ASSERT_EQ(r0, SIPREG_NICT_RETRANSMIT);
    ASSERT_EQ(p1, SIPREG_NICT_PROVISIONAL);
    ASSERT_EQ(st1, SIPREG_NICT_STATE_PROCEEDING);
    ASSERT_EQ(e1, 1500);
    ASSERT_EQ(r, SIPREG_NICT_RETRANSMIT);
    static const sipreg_time want[] = {1500, 5500, 9500, 13500, 17500};
    ASSERT_EQ(n1, 5);
    for (size_t i = 0; i < n1; i++)
        ASSERT_EQ(at1[i], want[i]);
    ASSERT_EQ(p2, SIPREG_NICT_PROVISIONAL);
    ASSERT_EQ(st2, SIPREG_NICT_STATE_PROCEEDING);
    ASSERT_EQ(rf, SIPREG_NICT_TIMEOUT); /* Timer F also ends Proceeding */
    ASSERT_EQ(n, 3);                    /* 21500, 25500, 29500 */
    ASSERT_EQ(at[2], 29500);
    ASSERT_EQ(clk.now, 32000);
    return 0;
}

TEST(nict_final_then_timer_k)
{
    struct sipreg_nict *c;
    int err = sipreg_nict_create(&c, NULL, REQ, sizeof REQ - 1, 0);
    if (test_oom_active && err == SIPREG_ENOMEM)
        return 0;
    ASSERT_EQ(err, 0);
    int f = feed(c, 401, 700);
    int st1 = sipreg_nict_state(c);
    sipreg_time k = sipreg_nict_next_timeout(c);
    int a1 = feed(c, 401, 800); /* retransmitted final */
    int a2 = feed(c, 100, 900); /* late provisional */
    int a3 = feed(c, 200, 900); /* another final */
    int r1 = sipreg_nict_timeout(c, 5699);
    int r2 = sipreg_nict_timeout(c, 5700);
    int st2 = sipreg_nict_state(c);
    sipreg_time end = sipreg_nict_next_timeout(c);
    int r3 = sipreg_nict_timeout(c, 9000);
    sipreg_nict_destroy(c);
    ASSERT_EQ(f, SIPREG_NICT_FINAL);
    ASSERT_EQ(st1, SIPREG_NICT_STATE_COMPLETED);
    ASSERT_EQ(k, 700 + 5000);
    ASSERT_EQ(a1, SIPREG_NICT_ABSORB);
    ASSERT_EQ(a2, SIPREG_NICT_ABSORB);
    ASSERT_EQ(a3, SIPREG_NICT_ABSORB);
    ASSERT_EQ(r1, SIPREG_NICT_NONE); /* no retransmissions in Completed */
    ASSERT_EQ(r2, SIPREG_NICT_TERMINATED);
    ASSERT_EQ(st2, SIPREG_NICT_STATE_TERMINATED);
    ASSERT_EQ(end, -1);
    ASSERT_EQ(r3, SIPREG_NICT_NONE);
    return 0;
}

TEST(nict_final_from_proceeding)
{
    struct sipreg_nict *c;
    struct sipreg_nict_cfg cfg = {.t4 = 1000};
    int err = sipreg_nict_create(&c, &cfg, REQ, sizeof REQ - 1, 0);
    if (test_oom_active && err == SIPREG_ENOMEM)
        return 0;
    ASSERT_EQ(err, 0);
    int p = feed(c, 100, 10);
    int f = feed(c, 200, 20);
    int st = sipreg_nict_state(c);
    sipreg_time k = sipreg_nict_next_timeout(c);
    sipreg_nict_destroy(c);
    ASSERT_EQ(p, SIPREG_NICT_PROVISIONAL);
    ASSERT_EQ(f, SIPREG_NICT_FINAL);
    ASSERT_EQ(st, SIPREG_NICT_STATE_COMPLETED);
    ASSERT_EQ(k, 1020);
    return 0;
}

TEST(nict_reliable)
{
    struct sipreg_nict *c;
    struct sipreg_nict_cfg cfg = {.reliable = true};
    int err = sipreg_nict_create(&c, &cfg, REQ, sizeof REQ - 1, 0);
    if (test_oom_active && err == SIPREG_ENOMEM)
        return 0;
    ASSERT_EQ(err, 0);
    sipreg_time next = sipreg_nict_next_timeout(c); /* Timer F only */
    int r1 = sipreg_nict_timeout(c, 500);
    int r2 = sipreg_nict_timeout(c, 31999);
    int f = feed(c, 200, 32000 - 1);
    int st = sipreg_nict_state(c); /* Timer K = 0 */
    sipreg_time end = sipreg_nict_next_timeout(c);
    int a = feed(c, 200, 32000);
    sipreg_nict_destroy(c);
    ASSERT_EQ(next, 32000);
    ASSERT_EQ(r1, SIPREG_NICT_NONE);
    ASSERT_EQ(r2, SIPREG_NICT_NONE);
    ASSERT_EQ(f, SIPREG_NICT_FINAL);
    ASSERT_EQ(st, SIPREG_NICT_STATE_TERMINATED);
    ASSERT_EQ(end, -1);
    ASSERT_EQ(a, SIPREG_NICT_ABSORB);

    /* and Timer F on a reliable transport */
    err = sipreg_nict_create(&c, &cfg, REQ, sizeof REQ - 1, 0);
    if (test_oom_active && err == SIPREG_ENOMEM)
        return 0;
    ASSERT_EQ(err, 0);
    int p = feed(c, 100, 5);
    next = sipreg_nict_next_timeout(c);
    int r3 = sipreg_nict_timeout(c, 32000);
    sipreg_nict_destroy(c);
    ASSERT_EQ(p, SIPREG_NICT_PROVISIONAL);
    ASSERT_EQ(next, 32000);
    ASSERT_EQ(r3, SIPREG_NICT_TIMEOUT);
    return 0;
}

TEST(nict_custom_timers)
{
    struct sipreg_nict *c;
    struct fake_clock clk = {100};
    struct sipreg_nict_cfg cfg = {.t1 = 100, .t2 = 400, .t4 = 300};
    sipreg_time at[32];
    size_t n;
    int err = sipreg_nict_create(&c, &cfg, REQ, sizeof REQ - 1, clk.now);
    if (test_oom_active && err == SIPREG_ENOMEM)
        return 0;
    ASSERT_EQ(err, 0);
    int r = run(c, &clk, 1000000, at, 32, &n);
    sipreg_nict_destroy(c);
    ASSERT_EQ(r, SIPREG_NICT_TIMEOUT);
    ASSERT_EQ(clk.now, 100 + 6400);
    static const sipreg_time want[] = {200, 400, 800, 1200, 1600}; /* then every 400 */
    ASSERT_EQ(n, 17); /* 200, 400, then 800 .. 6400 every 400; F at 6500 */
    for (size_t i = 0; i < 5; i++)
        ASSERT_EQ(at[i], want[i]);
    ASSERT_EQ(at[16], 6400);
    return 0;
}

TEST(nict_request_bytes)
{
    int rc = 0;
    struct sipreg_nict *c = NULL;
    char buf[sizeof REQ + 16];
    const char *p;
    size_t len;
    /* leading CRLFs and trailing bytes of the datagram are not part of the request */
    memcpy(buf, "\r\n\r\n", 4);
    memcpy(buf + 4, REQ, sizeof REQ - 1);
    memcpy(buf + 4 + sizeof REQ - 1, "junk", 4);
    CK_EQ(sipreg_nict_create(&c, NULL, buf, 4 + sizeof REQ - 1 + 4, 0), 0);
    memset(buf, 'x', sizeof buf); /* the transaction holds a copy */
    sipreg_nict_request(c, &p, &len);
    CK_EQ(len, sizeof REQ - 1);
    CK(memcmp(p, REQ, len) == 0);
out:
    sipreg_nict_destroy(c);
    sipreg_nict_destroy(NULL);
    return rc;
}

TEST(nict_create_rejects)
{
    struct sipreg_nict *c = (struct sipreg_nict *)&c;
    struct sipreg_nict_cfg bad[] = {
        {.t1 = -1},
        {.t2 = -1},
        {.t4 = -1},
        {.t1 = SIPREG_TXN_TIMER_MAX + 1},
        {.t1 = 5000, .t2 = 4000}, /* T2 below T1 */
        {.t2 = 100},              /* below the default T1 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(sipreg_nict_create(&c, &bad[i], REQ, sizeof REQ - 1, 0), SIPREG_EINVAL);
        ASSERT(c == NULL);
    }
    ASSERT_EQ(sipreg_nict_create(&c, NULL, NULL, 0, 0), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_nict_create(&c, NULL, "", 0, 0), SIPREG_EPARSE);
    ASSERT_EQ(sipreg_nict_create(&c, NULL, "garbage\r\n\r\n", 11, 0), SIPREG_EPARSE);

    struct tmsg m;
    const char *methods[] = {"INVITE", "ACK"};
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(treq_make(&m, &(struct treq){.method = methods[i]}), 0);
        ASSERT_EQ(sipreg_nict_create(&c, NULL, m.buf, m.m.len, 0), SIPREG_EINVAL);
    }
    ASSERT_EQ(tresp_make(&m, 200, VIA, "REGISTER"), 0);
    ASSERT_EQ(sipreg_nict_create(&c, NULL, m.buf, m.m.len, 0), SIPREG_EINVAL);
    /* no branch: the transaction could never match a response */
    ASSERT_EQ(treq_make(&m, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.9"}), 0);
    ASSERT_EQ(sipreg_nict_create(&c, NULL, m.buf, m.m.len, 0), SIPREG_EINVAL);
    /* a malformed Via */
    ASSERT_EQ(treq_make(&m, &(struct treq){.via = "SIP/2.0/UDP 192.0.2.9:0;branch=z9hG4bK1"}), 0);
    ASSERT_EQ(sipreg_nict_create(&c, NULL, m.buf, m.m.len, 0), SIPREG_EPARSE);

    /* Vias enough to fill the parse arena: refused as over a limit, not as out of memory */
    static char big[60000];
    size_t n = 0;
    n += (size_t)snprintf(big + n, sizeof big - n, "OPTIONS sip:x SIP/2.0\r\n");
    for (int i = 0; i < 30; i++) {
        n += (size_t)snprintf(big + n, sizeof big - n, "Via: SIP/2.0/UDP h%d;branch=z9hG4bK%d", i,
                              i);
        for (int j = 0; j < 30; j++)
            n += (size_t)snprintf(big + n, sizeof big - n, ";p%d=v%d", j, j);
        n += (size_t)snprintf(big + n, sizeof big - n, "\r\n");
    }
    n += (size_t)snprintf(big + n, sizeof big - n,
                          "From: <sip:a@x>;tag=1\r\nTo: <sip:a@x>\r\nCall-ID: c\r\n"
                          "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
    ASSERT(n < sizeof big);
    ASSERT_EQ(sipreg_nict_create(&c, NULL, big, n, 0), SIPREG_ELIMIT);
    ASSERT(c == NULL);
    return 0;
}

TEST(nict_matches_branch_and_method)
{
    int rc = 0;
    struct sipreg_nict *c = NULL;
    struct tmsg m;
    CK_EQ(sipreg_nict_create(&c, NULL, REQ, sizeof REQ - 1, 0), 0);
    CK_EQ(tresp_make(&m, 200, VIA, "REGISTER"), 0);
    CK_EQ(sipreg_nict_matches(c, &m.m), 1);
    /* branch compares case-insensitively; other Via parts and later Vias do not matter */
    CK_EQ(tresp_make(&m, 200, "SIP/2.0/TCP 10.0.0.1;branch=Z9HG4BKCLI1, SIP/2.0/UDP p;branch=z9",
                     "REGISTER"),
          0);
    CK_EQ(sipreg_nict_matches(c, &m.m), 1);
    CK_EQ(tresp_make(&m, 200, "SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKcli2", "REGISTER"), 0);
    CK_EQ(sipreg_nict_matches(c, &m.m), 0);
    CK_EQ(tresp_make(&m, 200, "SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKcli", "REGISTER"), 0);
    CK_EQ(sipreg_nict_matches(c, &m.m), 0);
    CK_EQ(tresp_make(&m, 200, "SIP/2.0/UDP 192.0.2.9:5060", "REGISTER"), 0);
    CK_EQ(sipreg_nict_matches(c, &m.m), 0);
    /* the branch is in the second Via only */
    CK_EQ(tresp_make(&m, 200, "SIP/2.0/UDP p;branch=z9hG4bKx, " VIA, "REGISTER"), 0);
    CK_EQ(sipreg_nict_matches(c, &m.m), 0);
    /* the CSeq method must be the request's, exactly */
    CK_EQ(tresp_make(&m, 200, VIA, "OPTIONS"), 0);
    CK_EQ(sipreg_nict_matches(c, &m.m), 0);
    CK_EQ(tresp_make(&m, 200, VIA, "register"), 0);
    CK_EQ(sipreg_nict_matches(c, &m.m), 0);
    /* a malformed Via */
    CK_EQ(tresp_make(&m, 200, "SIP/2.0/UDP 192.0.2.9:0;branch=z9hG4bKcli1", "REGISTER"), 0);
    CK_EQ(sipreg_nict_matches(c, &m.m), 0);
    /* a request, even with the same Via, is not a response */
    CK_EQ(treq_make(&m, &(struct treq){.via = VIA}), 0);
    CK_EQ(sipreg_nict_matches(c, &m.m), 0);
    CK_EQ(sipreg_nict_receive(c, &m.m, 0), SIPREG_EINVAL);
    CK_EQ(sipreg_nict_state(c), SIPREG_NICT_STATE_TRYING);
out:
    sipreg_nict_destroy(c);
    return rc;
}
