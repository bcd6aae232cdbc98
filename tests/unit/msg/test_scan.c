/* Unit tests: the scanners at 16-byte block edges (SSE2 paths), exact header-name lookup, method
 * names and same-header links. Every input sits against a guard page. */
#include <ctype.h>

#include "msg_test.h"

static char mem[16384];

/* A run of n copies of c into out (NUL-terminated); returns out. */
static char *run(char *out, char c, size_t n)
{
    memset(out, c, n);
    out[n] = 0;
    return out;
}

TEST(msg_scan_block_boundaries)
{
    char msg[1024], val[128], r[64], exp[128];
    for (size_t k = 1; k <= 40; k++) {
        struct sipreg_msg m;
        struct sipreg_arena a;
        struct sipreg_perr why;
        /* a bare CR k bytes into a header value: rejected there, whatever the alignment */
        int n = snprintf(msg, sizeof msg,
                         "REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\n"
                         "X-Pad: %s\rz\r\n\r\n",
                         run(r, 'v', k));
        ASSERT_EQ(parse_z(&m, msg, &a, mem, sizeof mem, &why), SIPREG_EPARSE);
        ASSERT_EQ(why.code, SIPREG_PERR_HEADER);
        ASSERT_EQ(why.offset, (size_t)n - 6);
        /* a header name of k+1 letters, a value of k bytes ending the header section */
        snprintf(msg, sizeof msg,
                 "REGISTER sip:a SIP/2.0\r\n" REQ_HDRS "CSeq: 1 REGISTER\r\n"
                 "Q%s:%s\r\n\r\n",
                 run(r, 'n', k), run(val, 'w', k));
        ASSERT_EQ(parse_z(&m, msg, &a, mem, sizeof mem, &why), 0);
        snprintf(exp, sizeof exp, "q%s", run(r, 'N', k));
        const struct sipreg_hdr *h = sipreg_msg_hdr_findz(&m, exp);
        ASSERT(h != NULL);
        ASSERT_STR(h->value, val);
        /* a Call-ID with its '@' k bytes in, then one with a ',' there */
        snprintf(msg, sizeof msg,
                 "REGISTER sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\n"
                 "To: <sip:a@b>\r\nCall-ID: %s@x\r\nCSeq: 1 REGISTER\r\n\r\n",
                 run(r, 'c', k));
        ASSERT_EQ(parse_z(&m, msg, &a, mem, sizeof mem, &why), 0);
        snprintf(msg, sizeof msg,
                 "REGISTER sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\n"
                 "To: <sip:a@b>\r\nCall-ID: %s,x\r\nCSeq: 1 REGISTER\r\n\r\n",
                 run(r, 'c', k));
        ASSERT_EQ(parse_z(&m, msg, &a, mem, sizeof mem, &why), SIPREG_EPARSE);
        ASSERT_EQ(why.code, SIPREG_PERR_CALL_ID);

        /* structured values whose last token ends exactly at the end of the input */
        sipreg_arena_init(&a, mem, sizeof mem);
        snprintf(val, sizeof val, "SIP/2.0/UDP h;branch=%s", run(r, 'b', k));
        struct sipreg_via *v;
        ASSERT_EQ(
            sipreg_via_parse(&v, (struct sipreg_str){GUARD_Z(val), strlen(val)}, NULL, &a, &why),
            0);
        ASSERT_STR(v->branch, r);
        snprintf(val, sizeof val, "sip:h;x=%s", run(r, 'p', k));
        struct sipreg_uri u;
        ASSERT_EQ(
            sipreg_uri_parse(&u, (struct sipreg_str){GUARD_Z(val), strlen(val)}, NULL, &a, &why),
            0);
        ASSERT_STR(u.params.v[0].value, r);
        snprintf(val, sizeof val, "sip:%s", run(r, 'h', k));
        ASSERT_EQ(
            sipreg_uri_parse(&u, (struct sipreg_str){GUARD_Z(val), strlen(val)}, NULL, &a, &why),
            0);
        ASSERT_STR(u.host, r);
        /* an escaped quote k bytes into a display name */
        snprintf(val, sizeof val, "\"%s\\\"x\" <sip:a@b>;tag=t", run(r, 'd', k));
        struct sipreg_addr ad;
        ASSERT_EQ(
            sipreg_addr_parse(&ad, (struct sipreg_str){GUARD_Z(val), strlen(val)}, NULL, &a, &why),
            0);
        snprintf(exp, sizeof exp, "%s\\\"x", r);
        ASSERT_STR(ad.display, exp);
        ASSERT_STR(ad.tag, "t");
        /* a list separator k bytes in */
        snprintf(val, sizeof val, "<sip:%s@h>,<sip:v@h2>", run(r, 'u', k));
        struct sipreg_contact *c;
        ASSERT_EQ(sipreg_contact_parse(&c, (struct sipreg_str){GUARD_Z(val), strlen(val)}, NULL, &a,
                                       &why),
                  0);
        ASSERT_STR(c->addr.uri.user, r);
        ASSERT(c->next != NULL);
        ASSERT_STR(c->next->addr.uri.host, "h2");
        /* an unterminated quoted string k bytes long */
        snprintf(val, sizeof val, "\"%s <sip:a@b>", run(r, 'q', k));
        ASSERT_EQ(
            sipreg_addr_parse(&ad, (struct sipreg_str){GUARD_Z(val), strlen(val)}, NULL, &a, &why),
            SIPREG_EPARSE);
        ASSERT_EQ(why.code, SIPREG_PERR_QUOTE);
    }
    return 0;
}

/* The name a lookup result stands for must be the input itself, ignoring case. */
static int name_ok(const char *z, size_t n)
{
    enum sipreg_hdr_id id = sipreg_hdr_id((struct sipreg_str){guard_copy(z, n), n});
    if (id == SIPREG_HDR_OTHER)
        return 1;
    if (n == 1) /* compact forms */
        return 1;
    const char *canon = sipreg_hdr_name(id);
    if (strlen(canon) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)canon[i]) != tolower((unsigned char)z[i]))
            return 0;
    return 1;
}

TEST(msg_hdr_names_exact)
{
    char z[64];
    for (unsigned i_ = 1; i_ < SIPREG_HDR__COUNT; i_++) {
        const enum sipreg_hdr_id id = (enum sipreg_hdr_id)i_;
        const char *name = sipreg_hdr_name(id);
        size_t n = strlen(name);
        for (size_t i = 0; i < n; i++) {
            /* other case: same header */
            memcpy(z, name, n);
            z[i] = (char)(isupper((unsigned char)z[i]) ? tolower((unsigned char)z[i])
                                                       : toupper((unsigned char)z[i]));
            ASSERT_EQ(sipreg_hdr_id((struct sipreg_str){guard_copy(z, n), n}), id);
            /* any other byte: never this header (CR for '-' would fool a case-folding OR) */
            static const char subst[] = {'q', '\r', '\0', '-', '_', 'm' ^ 0x20, (char)0xc1};
            for (size_t s = 0; s < sizeof subst; s++) {
                memcpy(z, name, n);
                if (tolower((unsigned char)z[i]) == tolower((unsigned char)subst[s]))
                    continue;
                z[i] = subst[s];
                if (!name_ok(z, n))
                    TEST_FAIL_("\"%.*s\" taken for %s", (int)n, z, name);
                ASSERT(sipreg_hdr_id((struct sipreg_str){guard_copy(z, n), n}) != id);
            }
        }
        /* one byte more or less */
        memcpy(z, name, n);
        z[n] = 'x';
        ASSERT(name_ok(z, n + 1));
        ASSERT(sipreg_hdr_id((struct sipreg_str){guard_copy(z, n + 1), n + 1}) != id);
        if (n > 2) /* "T" alone is To's compact form */
            ASSERT(sipreg_hdr_id((struct sipreg_str){guard_copy(name, n - 1), n - 1}) != id);
    }
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("Call\rID")), SIPREG_HDR_OTHER);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("Max\rForwards")), SIPREG_HDR_OTHER);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("PROXY-AUTHORIZATION")), SIPREG_HDR_PROXY_AUTHORIZATION);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("Proxy-Authorizatioo")), SIPREG_HDR_OTHER);
    ASSERT_EQ(sipreg_hdr_id(SIPREG_STR_LIT("")), SIPREG_HDR_OTHER);
    return 0;
}

TEST(msg_method_names_round_trip)
{
    for (int i = SIPREG_METHOD_REGISTER; i <= SIPREG_METHOD_REFER; i++) {
        const char *name = sipreg_method_name((enum sipreg_method)i);
        size_t n = strlen(name);
        ASSERT(n > 0);
        ASSERT_EQ(sipreg_method_id((struct sipreg_str){guard_copy(name, n), n}), i);
        ASSERT_EQ(sipreg_method_id((struct sipreg_str){guard_copy(name, n - 1), n - 1}),
                  SIPREG_METHOD_UNKNOWN);
    }
    ASSERT_EQ(sipreg_method_id(SIPREG_STR_LIT("")), SIPREG_METHOD_UNKNOWN);
    ASSERT_EQ(sipreg_method_id(SIPREG_STR_LIT("Invite")), SIPREG_METHOD_UNKNOWN);
    return 0;
}

TEST(msg_hdr_next_links)
{
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    const char *z = "REGISTER sip:a SIP/2.0\r\n"
                    "Via: SIP/2.0/UDP h1;branch=z9hG4bK1\r\n"
                    "X-A: 1\r\n"
                    "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n"
                    "v: SIP/2.0/UDP h2\r\n"
                    "Contact: <sip:a@h3>\r\n"
                    "x-a: 2\r\n"
                    "VIA: SIP/2.0/UDP h4\r\n"
                    "m: <sip:a@h5>\r\n\r\n";
    ASSERT_EQ(parse_z(&m, z, &a, mem, sizeof mem, &why), 0);
    static const char *const vias[] = {"SIP/2.0/UDP h1;branch=z9hG4bK1", "SIP/2.0/UDP h2",
                                       "SIP/2.0/UDP h4"};
    size_t n = 0;
    for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(&m, SIPREG_HDR_VIA); h;
         h = sipreg_msg_hdr_next(&m, h), n++) {
        ASSERT(n < 3);
        ASSERT_STR(h->value, vias[n]);
    }
    ASSERT_EQ(n, 3);
    const struct sipreg_hdr *h = sipreg_msg_hdr_findz(&m, "X-A");
    ASSERT(h != NULL);
    ASSERT_STR(h->value, "1");
    h = sipreg_msg_hdr_next(&m, h);
    ASSERT(h != NULL);
    ASSERT_STR(h->value, "2");
    ASSERT(sipreg_msg_hdr_next(&m, h) == NULL);
    const struct sipreg_via *v;
    ASSERT_EQ(sipreg_msg_via(&m, &v, &why), 0);
    ASSERT_STR(v->next->next->host, "h4");
    struct sipreg_contact *c;
    ASSERT_EQ(sipreg_msg_contacts(&m, &c, &why), 0);
    ASSERT_STR(c->addr.uri.host, "h3");
    ASSERT_STR(c->next->addr.uri.host, "h5");
    ASSERT(c->next->next == NULL);
    return 0;
}
