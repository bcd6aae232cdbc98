/* Unit tests: whole-message parsing, framing, limits and rejections. */
#include "msg_test.h"

static char mem[16384];

TEST(msg_parse_register)
{
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    const char *z = "\r\n\r\nREGISTER sip:example.com SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\n"
                    "v: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK2\r\n"
                    "Max-Forwards: 70\r\n"
                    "X-Custom:   spaced value  \r\n"
                    "l: 0\r\n\r\n";
    ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem, &why), 0);
    ASSERT(m.is_request);
    ASSERT_EQ(m.skipped, 4);
    ASSERT_EQ(m.len, strlen(z));
    ASSERT_EQ(m.method, SIPREG_METHOD_REGISTER);
    ASSERT_STR(m.method_s, "REGISTER");
    ASSERT_STR(m.ruri, "sip:example.com");
    ASSERT_EQ(m.nhdr, 9);
    ASSERT_STR(m.call_id, "1234@host");
    ASSERT_EQ(m.cseq.num, 1);
    ASSERT_EQ(m.cseq.method_id, SIPREG_METHOD_REGISTER);
    ASSERT_EQ(m.content_length, 0);
    ASSERT_EQ(m.body.len, 0);
    const struct sipreg_hdr *h = sipreg_msg_hdr_findz(&m, "x-custom");
    ASSERT(h);
    ASSERT_STR(h->value, "spaced value");
    h = sipreg_msg_hdr_find(&m, SIPREG_HDR_VIA);
    ASSERT(h);
    h = sipreg_msg_hdr_next(&m, h);
    ASSERT(h);
    ASSERT_STR(h->name, "v");
    ASSERT(!sipreg_msg_hdr_next(&m, h));
    ASSERT(sipreg_msg_hdr_findz(&m, "content-length"));
    ASSERT(!sipreg_msg_hdr_findz(&m, "Expires"));
    return 0;
}

TEST(msg_parse_response_and_body)
{
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    const char *z = "SIP/2.0 401 Unauthorized Now\r\n" REQ_HDRS "CSeq: 7 REGISTER\r\n"
                    "Content-Length: 5\r\n\r\nhelloTRAILING";
    ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem, &why), 0);
    ASSERT(!m.is_request);
    ASSERT_EQ(m.status, 401);
    ASSERT_STR(m.reason, "Unauthorized Now");
    ASSERT_STR(m.body, "hello");
    ASSERT_EQ(m.len, strlen(z) - strlen("TRAILING"));
    /* no Content-Length in a datagram: the body is the rest */
    z = "SIP/2.0 100 \r\n" REQ_HDRS "CSeq: 7 REGISTER\r\n\r\nrest";
    ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem, &why), 0);
    ASSERT_EQ(m.status, 100);
    ASSERT_STR(m.reason, "");
    ASSERT_STR(m.body, "rest");
    ASSERT_EQ(m.content_length, -1);
    return 0;
}

TEST(msg_parse_folding_and_lf_only)
{
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    const char *z = "OPTIONS sip:u@h SIP/2.0\n"
                    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\n"
                    "From: <sip:a@b>\n ;tag=1\n"
                    "To:\n\t<sip:u@h>\n"
                    "Call-ID: x\nCSeq: 2 OPTIONS\n\n";
    ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem, &why), 0);
    const struct sipreg_addr *ad;
    ASSERT_EQ(sipreg_msg_from(&m, &ad, &why), 0);
    ASSERT_STR(ad->tag, "1");
    ASSERT_EQ(sipreg_msg_to(&m, &ad, &why), 0);
    ASSERT_STR(ad->uri.host, "h");
    return 0;
}

struct reject_case {
    const char *msg;
    enum sipreg_perr_code code;
};

TEST(msg_parse_rejections)
{
    static const struct reject_case cases[] = {
        {"", SIPREG_PERR_EMPTY},
        {"\r\n\r\n", SIPREG_PERR_EMPTY},
        {"REGISTER sip:a SIP/2.0", SIPREG_PERR_NO_END},
        {"REGISTER sip:a SIP/3.0\r\n\r\n", SIPREG_PERR_VERSION},
        {"REGISTER sip:a HTTP/1.1\r\n\r\n", SIPREG_PERR_START_LINE},
        {"REGISTER sip:a SIP/2.\r\n\r\n", SIPREG_PERR_START_LINE},
        {"REGISTER <sip:a> SIP/2.0\r\n\r\n", SIPREG_PERR_REQUEST_URI},
        {"REGISTER sip:a b SIP/2.0\r\n\r\n", SIPREG_PERR_REQUEST_URI},
        {"REGISTER  SIP/2.0\r\n\r\n", SIPREG_PERR_REQUEST_URI},
        {"REG{STER sip:a SIP/2.0\r\n\r\n", SIPREG_PERR_METHOD},
        {"SIP/2.0 99 Low\r\n\r\n", SIPREG_PERR_STATUS},
        {"SIP/2.0 700 High\r\n\r\n", SIPREG_PERR_STATUS},
        {"SIP/2.0 2000 Long\r\n\r\n", SIPREG_PERR_STATUS},
        {"SIP/2.0 200 Bad\x01reason\r\n\r\n", SIPREG_PERR_REASON},
        {"REGISTER sip:a SIP/2.0\r\nNoColon\r\n\r\n", SIPREG_PERR_HEADER},
        {"REGISTER sip:a SIP/2.0\r\n: novalue\r\n\r\n", SIPREG_PERR_HEADER_NAME},
        {"REGISTER sip:a SIP/2.0\r\nA: b\rc\r\n\r\n", SIPREG_PERR_HEADER},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "\r\n", SIPREG_PERR_MISSING_CSEQ},
        {"REGISTER sip:a SIP/2.0\r\nCSeq: 1 REGISTER\r\n\r\n", SIPREG_PERR_MISSING_VIA},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 INVITE\r\n\r\n", SIPREG_PERR_CSEQ_METHOD},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 2147483648 REGISTER\r\n\r\n",
         SIPREG_PERR_CSEQ},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: REGISTER\r\n\r\n", SIPREG_PERR_CSEQ},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER x\r\n\r\n", SIPREG_PERR_CSEQ},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\nCall-ID: y\r\n\r\n",
         SIPREG_PERR_DUP_HEADER},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\ni: y\r\n\r\n",
         SIPREG_PERR_DUP_HEADER},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\nl: -1\r\n\r\n",
         SIPREG_PERR_CONTENT_LENGTH},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\nl: 99999999999\r\n\r\n",
         SIPREG_PERR_CONTENT_LENGTH},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\nl: 10\r\n\r\nshort",
         SIPREG_PERR_BODY_TRUNCATED},
        {"REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\nMax-Forwards: 256\r\n\r\n",
         SIPREG_PERR_MAX_FORWARDS},
        {"REGISTER sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\n"
         "To: <sip:a@b>\r\nCall-ID: a@@b\r\nCSeq: 1 REGISTER\r\n\r\n",
         SIPREG_PERR_CALL_ID},
        {"REGISTER sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\n"
         "To: <sip:a@b>\r\nCall-ID:\r\nCSeq: 1 REGISTER\r\n\r\n",
         SIPREG_PERR_CALL_ID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sipreg_msg m;
        struct sipreg_arena a;
        struct sipreg_perr why;
        int rc = parse_z(&m, cases[i].msg, &a, mem, sizeof mem, &why);
        if (rc != SIPREG_EPARSE || why.code != cases[i].code)
            TEST_FAIL_("case %zu: rc %d code %s, want %s", i, rc, sipreg_perr_reason(why.code),
                       sipreg_perr_reason(cases[i].code));
        ASSERT(why.offset <= strlen(cases[i].msg));
        ASSERT(sipreg_perr_status(why.code) >= 400);
    }
    return 0;
}

TEST(msg_parse_limits)
{
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    char big[2048];
    /* too many headers */
    size_t n = (size_t)snprintf(big, sizeof big,
                                "REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\n");
    for (int i = 0; i < 8; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "X-%d: y\r\n", i);
    n += (size_t)snprintf(big + n, sizeof big - n, "\r\n");
    struct sipreg_msg_limits lim = {.max_headers = 10};
    sipreg_arena_init(&a, mem, sizeof mem);
    ASSERT_EQ(sipreg_msg_parse(&m, guard_copy(big, n), n, SIPREG_MSG_DATAGRAM, &lim, &a, &why),
              SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_TOO_MANY_HEADERS);
    lim.max_headers = 20;
    ASSERT_EQ(sipreg_msg_parse(&m, guard_copy(big, n), n, SIPREG_MSG_DATAGRAM, &lim, &a, &why), 0);
    /* message size */
    lim = (struct sipreg_msg_limits){.max_size = 100};
    ASSERT_EQ(sipreg_msg_parse(&m, guard_copy(big, n), n, SIPREG_MSG_DATAGRAM, &lim, &a, &why),
              SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_TOO_LARGE);
    ASSERT_EQ(sipreg_perr_status(why.code), 513);
    ASSERT_EQ(sipreg_msg_parse(&m, guard_copy(big, n), n, SIPREG_MSG_STREAM, &lim, &a, &why),
              SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_TOO_LARGE);
    /* line length */
    lim = (struct sipreg_msg_limits){.max_line = 20};
    ASSERT_EQ(sipreg_msg_parse(&m, guard_copy(big, n), n, SIPREG_MSG_DATAGRAM, &lim, &a, &why),
              SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_LINE_TOO_LONG);
    /* URI length */
    lim = (struct sipreg_msg_limits){.max_uri = 4};
    ASSERT_EQ(sipreg_msg_parse(&m, guard_copy(big, n), n, SIPREG_MSG_DATAGRAM, &lim, &a, &why),
              SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_URI_TOO_LONG);
    ASSERT_EQ(sipreg_perr_status(why.code), 414);
    return 0;
}

TEST(msg_parse_stream_framing)
{
    const char *z = "REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\n"
                    "Content-Length: 4\r\n\r\nbodyNEXT";
    size_t full = strlen(z) - 4;
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    /* every prefix is incomplete, the full message parses, in stream mode */
    for (size_t n = 0; n < full; n++) {
        sipreg_arena_init(&a, mem, sizeof mem);
        int rc = sipreg_msg_parse(&m, guard_copy(z, n), n, SIPREG_MSG_STREAM, NULL, &a, &why);
        if (rc != SIPREG_EAGAIN)
            TEST_FAIL_("prefix %zu: rc %d (%s)", n, rc, sipreg_perr_reason(why.code));
        size_t ml;
        ASSERT_EQ(sipreg_msg_frame(guard_copy(z, n), n, NULL, &ml, &why), SIPREG_EAGAIN);
    }
    ASSERT_EQ(sipreg_msg_parse(&m, guard_copy(z, strlen(z)), strlen(z), SIPREG_MSG_STREAM, NULL, &a,
                               &why),
              0);
    ASSERT_EQ(m.len, full);
    ASSERT_STR(m.body, "body");
    size_t ml = 0;
    ASSERT_EQ(sipreg_msg_frame(guard_copy(z, strlen(z)), strlen(z), NULL, &ml, &why), 0);
    ASSERT_EQ(ml, full);
    /* CRLF keep-alives alone are consumable */
    ASSERT_EQ(sipreg_msg_frame(GUARD_Z("\r\n\r\n"), 4, NULL, &ml, &why), 0);
    ASSERT_EQ(ml, 4);
    /* a stream message needs Content-Length */
    const char *nocl = "REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\n\r\n";
    ASSERT_EQ(sipreg_msg_parse(&m, GUARD_Z(nocl), strlen(nocl), SIPREG_MSG_STREAM, NULL, &a, &why),
              SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_CONTENT_LENGTH);
    return 0;
}

TEST(msg_names)
{
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("via")), SIPREG_HDR_VIA);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("V")), SIPREG_HDR_VIA);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("CALL-id")), SIPREG_HDR_CALL_ID);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("i")), SIPREG_HDR_CALL_ID);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("k")), SIPREG_HDR_SUPPORTED);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("www-authenticate")), SIPREG_HDR_WWW_AUTHENTICATE);
    /* same length and first letter as Via, but not Via: an exact match is required */
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("Vib")), SIPREG_HDR_OTHER);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("Gda")), SIPREG_HDR_OTHER);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("q")), SIPREG_HDR_OTHER);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("1")), SIPREG_HDR_OTHER);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("A-Very-Long-Unknown-Header-Name")), SIPREG_HDR_OTHER);
    for (int id = 1; id < SIPREG_HDR__COUNT; id++)
        ASSERT_EQ(sipreg_hdr_id(sipreg_str_z(sipreg_hdr_name((enum sipreg_hdr_id)id))), id);
    ASSERT(sipreg_hdr_name(SIPREG_HDR_OTHER) == NULL);
    ASSERT_EQ(sipreg_method_id(SIPREG_STR_LIT("REGISTER")), SIPREG_METHOD_REGISTER);
    ASSERT_EQ(sipreg_method_id(SIPREG_STR_LIT("register")), SIPREG_METHOD_UNKNOWN);
    ASSERT(strcmp(sipreg_method_name(SIPREG_METHOD_OPTIONS), "OPTIONS") == 0);
    ASSERT(strcmp(sipreg_status_reason(423), "Interval Too Brief") == 0);
    ASSERT(strcmp(sipreg_perr_reason(SIPREG_PERR_VIA), "Malformed Via") == 0);
    ASSERT_EQ(sipreg_perr_status(SIPREG_PERR_VERSION), 505);
    return 0;
}

/* max_list bounds one header field's list, not the values of all fields together. */
TEST(msg_parse_list_limit_per_field)
{
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    struct sipreg_msg_limits lim = {.max_list = 2};
    const char *ok = "REGISTER sip:example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP h1;branch=z9hG4bK1, SIP/2.0/UDP h2;branch=z9hG4bK2\r\n"
                     "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
                     "v: SIP/2.0/UDP h3;branch=z9hG4bK3\r\nVia: SIP/2.0/UDP h4\r\n"
                     "Contact: <sip:a@c1>, <sip:a@c2>\r\nm: <sip:a@c3>\r\nContact: <sip:a@c4>\r\n"
                     "Call-ID: 1@h\r\nCSeq: 1 REGISTER\r\n\r\n";
    sipreg_arena_init(&a, mem, sizeof mem);
    ASSERT_EQ(sipreg_msg_parse(&m, GUARD_Z(ok), strlen(ok), SIPREG_MSG_DATAGRAM, &lim, &a, &why),
              0);
    const struct sipreg_via *v;
    ASSERT_EQ(sipreg_msg_via(&m, &v, &why), 0);
    const char *hosts[] = {"h1", "h2", "h3", "h4"};
    for (size_t i = 0; i < 4; i++, v = v->next) {
        ASSERT(v);
        ASSERT_STR(v->host, hosts[i]);
    }
    ASSERT(!v);
    struct sipreg_contact *c;
    ASSERT_EQ(sipreg_msg_contacts(&m, &c, &why), 0);
    const char *chosts[] = {"c1", "c2", "c3", "c4"};
    for (size_t i = 0; i < 4; i++, c = c->next) {
        ASSERT(c);
        ASSERT_STR(c->addr.uri.host, chosts[i]);
    }
    ASSERT(!c);

    /* three values in one field: rejected, offset at the third value in the buffer */
    const char *bad = "REGISTER sip:example.com SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP h1\r\n"
                      "Via: SIP/2.0/UDP h2, SIP/2.0/UDP h3, SIP/2.0/UDP h4\r\n"
                      "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\n"
                      "Contact: <sip:a@c1>\r\nContact: <sip:a@c2>,<sip:a@c3>,<sip:a@c4>\r\n"
                      "Call-ID: 1@h\r\nCSeq: 1 REGISTER\r\n\r\n";
    const char *g = GUARD_Z(bad);
    sipreg_arena_init(&a, mem, sizeof mem);
    ASSERT_EQ(sipreg_msg_parse(&m, g, strlen(bad), SIPREG_MSG_DATAGRAM, &lim, &a, &why), 0);
    ASSERT_EQ(sipreg_msg_via(&m, &v, &why), SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_TOO_MANY_VALUES);
    ASSERT_EQ(why.offset, (size_t)(strstr(bad, "SIP/2.0/UDP h4") - bad));
    ASSERT_EQ(sipreg_msg_contacts(&m, &c, &why), SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_TOO_MANY_VALUES);
    ASSERT_EQ(why.offset, (size_t)(strstr(bad, "<sip:a@c4>") - bad));
    return 0;
}

/* The Request-URI's rejection offsets are buffer offsets, like every other accessor's. */
TEST(msg_parse_ruri_offset)
{
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    const char *z = "\r\nOPTIONS sip:a@[::1 SIP/2.0\r\n" REQ_HDRS "CSeq: 1 OPTIONS\r\n\r\n";
    ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem, &why), 0);
    const struct sipreg_uri *u;
    ASSERT_EQ(sipreg_msg_ruri(&m, &u, &why), SIPREG_EPARSE);
    ASSERT_EQ(why.code, SIPREG_PERR_URI);
    ASSERT_EQ(why.offset, 2 + 18);
    const char *ok = "OPTIONS sip:a@[::1];x=1 SIP/2.0\r\n" REQ_HDRS "CSeq: 1 OPTIONS\r\n\r\n";
    ASSERT_EQ(parse_z(&m, ok, &a, mem, sizeof mem, &why), 0);
    ASSERT_EQ(sipreg_msg_ruri(&m, &u, &why), 0);
    ASSERT_STR(u->host, "::1");
    ASSERT(u->host_ipv6);
    return 0;
}

/* Parses a request whose last header line is `line` (CRLF added) and returns that header, or NULL
 * with *rc set when the parse fails. */
static const struct sipreg_hdr *last_hdr(struct sipreg_msg *m, const char *line, int *rc,
                                         struct sipreg_perr *why)
{
    static char text[512], amem[2048];
    struct sipreg_arena a;
    snprintf(text, sizeof text,
             "OPTIONS sip:a@example.com SIP/2.0\r\n" REQ_HDRS "CSeq: 1 OPTIONS\r\n%s\r\n\r\n",
             line);
    *rc = parse_z(m, text, &a, amem, sizeof amem, why);
    return *rc ? NULL : &m->hdr[m->nhdr - 1];
}

/* Every header line is indexed the same whether it has the common shape (read from one 16-byte
 * block, the name confirmed by a hash slot) or not: each known name in several spellings, its
 * prefixes and extensions, names around the 16-byte block's end, and values with odd spacing
 * or folding, against sipreg_hdr_id() and the expected trimmed value. */
TEST(msg_parse_header_line_shapes)
{
    struct sipreg_msg m;
    struct sipreg_perr why;
    char name[64], line[160];
    int rc, checked = 0;
    for (int id = 1; id < SIPREG_HDR__COUNT; id++) {
        const char *canon = sipreg_hdr_name((enum sipreg_hdr_id)id);
        size_t len = strlen(canon);
        for (int variant = 0; variant < 5; variant++) {
            for (size_t cut = 1; cut <= len + 1; cut++) {
                size_t n = cut <= len ? cut : len + 1;
                for (size_t i = 0; i < n; i++) {
                    char c = i < len ? canon[i] : 'x';
                    if (variant == 1 && c >= 'a' && c <= 'z')
                        c = (char)(c - 32);
                    if (variant == 2 && c >= 'A' && c <= 'Z')
                        c = (char)(c + 32);
                    if (variant == 3 && c == '-')
                        c = '.'; /* a token character the block read does not take */
                    if (variant == 4 && i == n - 1)
                        c = c == 'z' ? 'y' : 'z'; /* same length, another last byte */
                    name[i] = c;
                }
                name[n] = 0;
                struct sipreg_str ns = {name, n};
                enum sipreg_hdr_id want = sipreg_hdr_id(ns);
                snprintf(line, sizeof line, "%s: 0", name); /* a value valid for any header */
                const struct sipreg_hdr *h = last_hdr(&m, line, &rc, &why);
                if (rc) {
                    /* only a second From, To, Call-ID or CSeq may be refused */
                    ASSERT_EQ(why.code, SIPREG_PERR_DUP_HEADER);
                    ASSERT(want == SIPREG_HDR_FROM || want == SIPREG_HDR_TO ||
                           want == SIPREG_HDR_CALL_ID || want == SIPREG_HDR_CSEQ);
                    continue;
                }
                ASSERT_EQ(h->id, want);
                ASSERT(h->name.len == n && memcmp(h->name.p, name, n) == 0);
                ASSERT_STR(h->value, "0");
                checked++;
            }
        }
    }
    ASSERT(checked > 500);

    /* names that end just before, at and after the first 16 bytes, known and unknown */
    static const struct {
        const char *line, *value;
        enum sipreg_hdr_id id;
    } cases[] = {
        {"Session-Expires: 90", "90", SIPREG_HDR_SESSION_EXPIRES},
        {"WWW-Authenticate: Digest x=1", "Digest x=1", SIPREG_HDR_WWW_AUTHENTICATE},
        {"Content-Encoding: gzip", "gzip", SIPREG_HDR_CONTENT_ENCODING},
        {"X-Fifteen-Chars: a", "a", SIPREG_HDR_OTHER},
        {"X-Sixteen-Chars1: a", "a", SIPREG_HDR_OTHER},
        {"X-Much-Longer-Header-Name: a", "a", SIPREG_HDR_OTHER},
        {"Expires :  60", "60", SIPREG_HDR_EXPIRES},
        {"Expires:\t 60 \t", "60", SIPREG_HDR_EXPIRES},
        {"Expires:60", "60", SIPREG_HDR_EXPIRES},
        {"Expires:", "", SIPREG_HDR_EXPIRES},
        {"Expires:   ", "", SIPREG_HDR_EXPIRES},
        {"Expires: 60\r\n 0", "60\r\n 0", SIPREG_HDR_EXPIRES},
        {"l: 0", "0", SIPREG_HDR_CONTENT_LENGTH},
        {"1: 0", "0", SIPREG_HDR_OTHER},
        {"Supported: path, outbound, gruu", "path, outbound, gruu", SIPREG_HDR_SUPPORTED},
        {"Max-Forwards: 70", "70", SIPREG_HDR_MAX_FORWARDS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct sipreg_hdr *h = last_hdr(&m, cases[i].line, &rc, &why);
        ASSERT_EQ(rc, 0);
        ASSERT_EQ(h->id, cases[i].id);
        ASSERT_STR(h->value, cases[i].value);
    }
    /* a CR inside a name is no letter folded to '-' */
    ASSERT(last_hdr(&m, "Max\rForwards: 70", &rc, &why) == NULL);
    ASSERT_EQ(why.code, SIPREG_PERR_HEADER);
    return 0;
}
