/* Unit tests: the response and request builder. */
#include "msg_test.h"

static char mem[16384];

TEST(msg_build_response_copies_request)
{
    struct sipreg_msg m, r;
    struct sipreg_arena a, a2;
    struct sipreg_perr why;
    const char *z =
        "REGISTER sip:example.com SIP/2.0\r\n"
        "v: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKa1 , SIP/2.0/UDP p;branch=z9\r\n"
        "Via: SIP/2.0/UDP q;branch=z9hG4bKq\r\n"
        "f: <sip:alice@example.com>;tag=abc\r\n"
        "t: Alice <sip:alice@example.com>\r\n"
        "i: 1234@host\r\nCSeq: 5 REGISTER\r\n\r\n";
    ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem / 2, &why), 0);
    char out[1024];
    struct sipreg_buf b;
    sipreg_buf_init(&b, out, sizeof out);
    ASSERT_EQ(sipreg_msg_build_response(&b, &m, 200, SIPREG_STR_NULL, SIPREG_STR_LIT("srv1"),
                                        SIPREG_STR_LIT("192.0.2.9"), 40000),
              0);
    sipreg_msg_build_hdr(&b, "Expires", SIPREG_STR_LIT("3600"));
    ASSERT_EQ(sipreg_msg_build_end(&b, NULL, 0), 0);
    const char *want = "SIP/2.0 200 OK\r\n"
                       "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa1;received=192.0.2.9;"
                       "rport=40000 , SIP/2.0/UDP p;branch=z9\r\n"
                       "Via: SIP/2.0/UDP q;branch=z9hG4bKq\r\n"
                       "From: <sip:alice@example.com>;tag=abc\r\n"
                       "To: Alice <sip:alice@example.com>;tag=srv1\r\n"
                       "Call-ID: 1234@host\r\nCSeq: 5 REGISTER\r\n"
                       "Expires: 3600\r\nContent-Length: 0\r\n\r\n";
    if (b.len != strlen(want) || memcmp(out, want, b.len) != 0)
        TEST_FAIL_("built:\n%.*s\nwant:\n%s", (int)b.len, out, want);
    /* and the result parses as the matching response */
    sipreg_arena_init(&a2, mem + sizeof mem / 2, sizeof mem / 2);
    ASSERT_EQ(
        sipreg_msg_parse(&r, guard_copy(out, b.len), b.len, SIPREG_MSG_DATAGRAM, NULL, &a2, &why),
        0);
    const struct sipreg_via *v;
    ASSERT_EQ(sipreg_msg_via(&r, &v, &why), 0);
    ASSERT_EQ(v->rport, 40000);
    ASSERT_STR(v->received, "192.0.2.9");
    ASSERT_STR(v->branch, "z9hG4bKa1");
    return 0;
}

TEST(msg_build_response_keeps_existing_tag_and_rport)
{
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    const char *z = "OPTIONS sip:example.com SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP h;branch=z9hG4bK1;received=1.1.1.1\r\n"
                    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=existing\r\n"
                    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
    ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem, &why), 0);
    char out[512];
    struct sipreg_buf b;
    sipreg_buf_init(&b, out, sizeof out);
    /* no rport requested by the client: none added; received replaced, not duplicated */
    ASSERT_EQ(sipreg_msg_build_response(&b, &m, 405, SIPREG_STR_LIT("Nope"), SIPREG_STR_LIT("t"),
                                        SIPREG_STR_LIT("2.2.2.2"), 5060),
              0);
    ASSERT_EQ(sipreg_msg_build_end(&b, "x", 1), 0);
    out[b.len] = 0;
    ASSERT(strstr(out, "SIP/2.0 405 Nope\r\n") == out);
    ASSERT(strstr(out, "Via: SIP/2.0/UDP h;branch=z9hG4bK1;received=2.2.2.2\r\n"));
    ASSERT(!strstr(out, "rport"));
    ASSERT(strstr(out, "To: <sip:c@d>;tag=existing\r\n"));
    ASSERT(strstr(out, "Content-Length: 1\r\n\r\nx"));
    ASSERT_EQ(sipreg_msg_build_response(&b, &m, 99, SIPREG_STR_NULL, SIPREG_STR_NULL,
                                        SIPREG_STR_NULL, -1),
              SIPREG_EINVAL);
    return 0;
}

TEST(msg_build_never_overruns)
{
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    const char *z = "REGISTER sip:example.com SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\n\r\n";
    ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem, &why), 0);
    char out[400];
    size_t full = 0;
    /* every capacity below the needed size reports ENOSPC and writes nothing past it */
    for (size_t cap = 0; cap < sizeof out; cap++) {
        memset(out, 'Z', sizeof out);
        struct sipreg_buf b;
        sipreg_buf_init(&b, out, cap);
        int rc = sipreg_msg_build_response(&b, &m, 200, SIPREG_STR_NULL, SIPREG_STR_LIT("t"),
                                           SIPREG_STR_NULL, 1234);
        if (rc == 0)
            rc = sipreg_msg_build_end(&b, "body", 4);
        for (size_t i = cap; i < sizeof out; i++)
            ASSERT_EQ(out[i], 'Z');
        if (rc == 0 && !full)
            full = cap;
        if (!full)
            ASSERT_EQ(rc, SIPREG_ENOSPC);
    }
    ASSERT(full > 100);
    /* the request builder */
    struct sipreg_buf b;
    sipreg_buf_init(&b, out, sizeof out);
    sipreg_msg_build_request(&b, SIPREG_STR_LIT("REGISTER"), SIPREG_STR_LIT("sip:example.com"));
    ASSERT_EQ(sipreg_msg_build_end(&b, NULL, 0), 0);
    ASSERT_EQ(b.len, strlen("REGISTER sip:example.com SIP/2.0\r\nContent-Length: 0\r\n\r\n"));
    return 0;
}

TEST(msg_build_answers_unsupported_version_and_refuses_partial)
{
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    /* RFC 4475 badvers: the headers are still indexed so that a 505 can be built */
    const char *z = "OPTIONS sip:t@example.com SIP/7.0\r\n" REQ_HDRS "CSeq: 1 OPTIONS\r\n\r\n";
    ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem, &why), SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_VERSION);
    ASSERT(m.hdrs_complete);
    char out[512];
    struct sipreg_buf b;
    sipreg_buf_init(&b, out, sizeof out);
    ASSERT_EQ(sipreg_msg_build_response(&b, &m, sipreg_perr_status(why.code), SIPREG_STR_NULL,
                                        SIPREG_STR_LIT("x"), SIPREG_STR_NULL, -1),
              0);
    ASSERT(b.len > 20 && memcmp(out, "SIP/2.0 505 Version Not Supported\r\n", 35) == 0);
    /* a malformed start line leaves nothing usable */
    ASSERT_EQ(parse_z(&m, "OPTIONS <sip:x> SIP/2.0\r\n" REQ_HDRS "CSeq: 1 OPTIONS\r\n\r\n", &a, mem,
                      sizeof mem, &why),
              SIPREG_EPARSE);
    ASSERT(!m.hdrs_complete);
    /* a request missing CSeq cannot be answered: the builder refuses instead of guessing */
    ASSERT_EQ(parse_z(&m, "OPTIONS sip:x SIP/2.0\r\n" REQ_HDRS "\r\n", &a, mem, sizeof mem, &why),
              SIPREG_EPARSE);
    ASSERT(m.hdrs_complete);
    sipreg_buf_init(&b, out, sizeof out);
    ASSERT_EQ(sipreg_msg_build_response(&b, &m, 400, SIPREG_STR_NULL, SIPREG_STR_NULL,
                                        SIPREG_STR_NULL, -1),
              SIPREG_EINVAL);
    return 0;
}
