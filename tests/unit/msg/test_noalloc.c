/* Proof that parsing a message and reading its structured values never touches the heap. */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sipreg/msg.h"
#include "test.h"

/* The same kinds of message as the benchmark corpus, written out here. */
static const char reg_auth[] =
    "REGISTER sip:registrar.example.org SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-reg-2;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:alice@example.org>;tag=a73kszlfl\r\n"
    "To: \"Alice\" <sip:alice@example.org>\r\n"
    "Call-ID: 1j9FpLxk3uxtm8tn@10.0.0.5\r\n"
    "CSeq: 2 REGISTER\r\n"
    "Contact: <sip:alice@10.0.0.5:5060;transport=udp>;expires=3600"
    ";+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\";reg-id=1\r\n"
    "Authorization: Digest username=\"alice\", realm=\"example.org\","
    " nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:registrar.example.org\","
    " response=\"7587245234b3434cc3412213e5f113a5\", algorithm=MD5, cnonce=\"0a4f113b\","
    " qop=auth, nc=00000001\r\n"
    "Expires: 3600\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char resp_401[] =
    "SIP/2.0 401 Unauthorized\r\n"
    "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK-reg-1;received=192.0.2.9;rport=40001\r\n"
    "From: \"Alice\" <sip:alice@example.org>;tag=a73kszlfl\r\n"
    "To: \"Alice\" <sip:alice@example.org>;tag=37GkEhwl6\r\n"
    "Call-ID: 1j9FpLxk3uxtm8tn@10.0.0.5\r\n"
    "CSeq: 1 REGISTER\r\n"
    "WWW-Authenticate: Digest realm=\"example.org\", qop=\"auth\", algorithm=SHA-256,"
    " nonce=\"ZGM3N2E5ZjQ3YzBhODFiNzY2NDEyNzQ2ZTQzOTA1MjE\", opaque=\"5ccc069c403ebaf9\"\r\n"
    "WWW-Authenticate: Digest realm=\"example.org\", qop=\"auth\", algorithm=MD5,"
    " nonce=\"ZGM3N2E5ZjQ3YzBhODFiNzY2NDEyNzQ2ZTQzOTA1MjE\", opaque=\"5ccc069c403ebaf9\"\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

#define SDP                                                             \
    "v=0\r\n"                                                           \
    "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n" \
    "s=-\r\n"                                                           \
    "c=IN IP4 192.0.2.101\r\n"                                          \
    "t=0 0\r\n"                                                         \
    "m=audio 49172 RTP/AVP 0\r\n"                                       \
    "a=rtpmap:0 PCMU/8000\r\n"

static const char invite_compact[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n"
    "Via: SIP/2.0/UDP bigbox3.site3.atlanta.example.com;branch=z9hG4bK77ef4c2312983.1,"
    " SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bKnashds8;received=192.0.2.101\r\n"
    "Max-Forwards: 70\r\n"
    "t: Bob <sip:bob@biloxi.example.com>\r\n"
    "f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "i: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "m: <sip:alice@pc33.atlanta.example.com>\r\n"
    "c: application/sdp\r\n"
    "k: 100rel, timer\r\n"
    "l: 149\r\n"
    "\r\n" SDP;

/* The benchmark's nine fields; NULL means absent. */
struct want {
    const char *branch, *call_id;
    uint32_t cseq;
    const char *method, *from_tag, *to_user, *to_host, *contact_host, *contact_expires;
};

static int parse(struct sipreg_msg *m, const char *z, struct sipreg_arena *a)
{
    struct sipreg_perr why = {0};
    sipreg_arena_reset(a);
    int err = sipreg_msg_parse(m, z, strlen(z), SIPREG_MSG_DATAGRAM, NULL, a, &why);
    if (err)
        fprintf(stderr, "parse: %s: %s at byte %zu\n", sipreg_errname(err),
                sipreg_perr_reason(why.code), why.offset);
    return err;
}

/* Every accessor the benchmark uses, twice (the second call must come from the cache). */
static int check_fields(struct sipreg_msg *m, const struct want *w)
{
    struct sipreg_perr why;
    const struct sipreg_via *via, *via2;
    const struct sipreg_addr *from, *to, *again;
    struct sipreg_contact *ct;

    ASSERT_EQ(sipreg_msg_via(m, &via, &why), 0);
    ASSERT_EQ(sipreg_msg_via(m, &via2, &why), 0);
    ASSERT(via != NULL && via == via2);
    ASSERT_STR(via->branch, w->branch);
    ASSERT_STR(m->call_id, w->call_id);
    ASSERT_EQ(m->cseq.num, w->cseq);
    ASSERT_STR(m->cseq.method, w->method);
    ASSERT_EQ(sipreg_msg_from(m, &from, &why), 0);
    ASSERT_EQ(sipreg_msg_from(m, &again, &why), 0);
    ASSERT(from != NULL && from == again);
    ASSERT_STR(from->tag, w->from_tag);
    ASSERT_EQ(sipreg_msg_to(m, &to, &why), 0);
    ASSERT_EQ(sipreg_msg_to(m, &again, &why), 0);
    ASSERT(to != NULL && to == again);
    ASSERT_STR(to->uri.user, w->to_user);
    ASSERT_STR(to->uri.host, w->to_host);
    ASSERT_EQ(sipreg_msg_contacts(m, &ct, &why), 0);
    if (!w->contact_host) {
        ASSERT(ct == NULL);
        return 0;
    }
    ASSERT(ct != NULL && !ct->star);
    ASSERT_STR(ct->addr.uri.host, w->contact_host);
    const struct sipreg_param *ex = sipreg_params_find(&ct->addr.params, "expires");
    if (w->contact_expires) {
        ASSERT(ex != NULL);
        ASSERT_STR(ex->value, w->contact_expires);
    } else {
        ASSERT(ex == NULL);
    }
    return 0;
}

/* Parses the three messages with everything the benchmark reads, plus the Request-URI and the
 * digest headers; then the same message over an empty arena, where the structured values must
 * fail with SIPREG_ENOMEM rather than fall back to the heap. 0 when all went as expected. */
static int parse_corpus(struct sipreg_arena *a)
{
    struct sipreg_msg m;
    struct sipreg_perr why;
    struct sipreg_auth au;
    const struct sipreg_uri *ruri;
    const struct sipreg_hdr *h;

    ASSERT_EQ(parse(&m, reg_auth, a), 0);
    ASSERT(m.is_request);
    ASSERT_EQ(m.method, SIPREG_METHOD_REGISTER);
    static const struct want w_reg = {"z9hG4bK-reg-2",
                                      "1j9FpLxk3uxtm8tn@10.0.0.5",
                                      2,
                                      "REGISTER",
                                      "a73kszlfl",
                                      "alice",
                                      "example.org",
                                      "10.0.0.5",
                                      "3600"};
    if (check_fields(&m, &w_reg))
        return 1;
    ASSERT_EQ(sipreg_msg_ruri(&m, &ruri, &why), 0);
    ASSERT_STR(ruri->host, "registrar.example.org");
    h = sipreg_msg_hdr_find(&m, SIPREG_HDR_AUTHORIZATION);
    ASSERT(h != NULL);
    ASSERT_EQ(sipreg_auth_parse(&au, h->value, &m.lim, a, &why), 0);
    ASSERT_STR(au.username, "alice");
    ASSERT_STR(au.response, "7587245234b3434cc3412213e5f113a5");
    ASSERT_EQ(au.nc_val, 1);

    ASSERT_EQ(parse(&m, resp_401, a), 0);
    ASSERT(!m.is_request);
    ASSERT_EQ(m.status, 401);
    static const struct want w_401 = {"z9hG4bK-reg-1",
                                      "1j9FpLxk3uxtm8tn@10.0.0.5",
                                      1,
                                      "REGISTER",
                                      "a73kszlfl",
                                      "alice",
                                      "example.org",
                                      NULL,
                                      NULL};
    if (check_fields(&m, &w_401))
        return 1;
    static const char *const algs[] = {"SHA-256", "MD5"};
    int n = 0;
    for (h = sipreg_msg_hdr_find(&m, SIPREG_HDR_WWW_AUTHENTICATE); h;
         h = sipreg_msg_hdr_next(&m, h), n++) {
        ASSERT(n < 2);
        ASSERT_EQ(sipreg_auth_parse(&au, h->value, &m.lim, a, &why), 0);
        ASSERT_STR(au.realm, "example.org");
        ASSERT_STR(au.algorithm, algs[n]);
    }
    ASSERT_EQ(n, 2);

    ASSERT_EQ(parse(&m, invite_compact, a), 0);
    ASSERT_EQ(m.method, SIPREG_METHOD_INVITE);
    static const struct want w_inv = {"z9hG4bK776asdhds",
                                      "a84b4c76e66710@pc33.atlanta.example.com",
                                      314159,
                                      "INVITE",
                                      "1928301774",
                                      "bob",
                                      "biloxi.example.com",
                                      "pc33.atlanta.example.com",
                                      NULL};
    if (check_fields(&m, &w_inv))
        return 1;
    const struct sipreg_via *via;
    ASSERT_EQ(sipreg_msg_via(&m, &via, &why), 0);
    n = 0;
    for (; via; via = via->next)
        n++;
    ASSERT_EQ(n, 3);
    ASSERT_EQ(m.content_length, 149);
    ASSERT_STR(m.body, SDP);
    ASSERT(sipreg_msg_hdr_find(&m, SIPREG_HDR_SUPPORTED) != NULL);

    struct sipreg_arena none;
    sipreg_arena_init(&none, NULL, 0);
    ASSERT_EQ(parse(&m, reg_auth, &none), 0);
    ASSERT_EQ(sipreg_msg_via(&m, &via, &why), SIPREG_ENOMEM);
    struct sipreg_contact *ct;
    ASSERT_EQ(sipreg_msg_contacts(&m, &ct, &why), SIPREG_ENOMEM);
    return 0;
}

/* Counting allocator for the child process: every call is an allocation the parser made. */
static long heap_calls;

static void *count_malloc(size_t n, void *ud)
{
    (void)ud;
    heap_calls++;
    return malloc(n);
}

static void *count_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    heap_calls++;
    return realloc(p, n);
}

static void count_free(void *p, void *ud)
{
    (void)ud;
    heap_calls++;
    free(p);
}

TEST(msg_parse_no_heap_alloc)
{
    alignas(max_align_t) char mem[16384];
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);

    /* In this process, through the runner's allocator: nothing may stay allocated. */
    long before = test_alloc_outstanding;
    for (int round = 0; round < 3; round++)
        if (parse_corpus(&a))
            return 1;
    ASSERT_EQ(test_alloc_outstanding, before);

    /* An allocation freed before returning would not show in the outstanding count, so count
     * every call too. The runner's allocator cannot be saved and put back from here, so that is
     * done in a child process, which leaves the runner's leak and OOM accounting untouched. */
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        struct sipreg_allocator counting = {count_malloc, count_realloc, count_free, NULL};
        sipreg_set_allocator(&counting);
        int failed = parse_corpus(&a);
        if (heap_calls)
            fprintf(stderr, "msg_parse_no_heap_alloc: %ld allocator call(s) while parsing\n",
                    heap_calls);
        _exit(failed ? 101 : heap_calls > 100 ? 100 : (int)heap_calls);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    return 0;
}
