/* libFuzzer target: whole-message parsing (datagram and stream, RFC 3261 §7, §18.3), every
 * structured accessor, and a response built from each parsed request (§8.2.6) re-parsed. */
#include <string.h>

#include "fuzz.h"

static void check_slices(const struct sipreg_msg *m, const uint8_t *data, size_t size)
{
    FUZZ_CHECK(m->len > 0 && m->len <= size);
    /* len counts from the start of the buffer, leading CRLFs included */
    FUZZ_CHECK(m->skipped < m->len);
    FUZZ_CHECK(m->nhdr <= SIPREG_MSG_HDRS_MAX);
    fuzz_in(m->method_s, data, size);
    fuzz_in(m->ruri, data, size);
    fuzz_in(m->reason, data, size);
    fuzz_in(m->body, data, size);
    fuzz_in(m->call_id, data, size);
    fuzz_in(m->cseq.method, data, size);
    if (m->is_request)
        FUZZ_CHECK(m->method_s.p && m->method_s.len > 0 && m->ruri.p && m->ruri.len > 0);
    else
        FUZZ_CHECK(m->status >= 100 && m->status <= 699);
    for (size_t i = 0; i < m->nhdr; i++) {
        FUZZ_CHECK(m->hdr[i].name.len > 0);
        fuzz_in(m->hdr[i].name, data, size);
        fuzz_in(m->hdr[i].value, data, size);
        FUZZ_CHECK(m->hdr[i].id < SIPREG_HDR__COUNT);
    }
    /* the body ends the message */
    if (m->body.p)
        FUZZ_CHECK(m->body.p + m->body.len == (const char *)data + m->len);
    if (m->content_length >= 0)
        FUZZ_CHECK((uint64_t)m->content_length == m->body.len);
    /* the mandatory headers are there */
    FUZZ_CHECK(sipreg_msg_hdr_find(m, SIPREG_HDR_VIA) != NULL);
    FUZZ_CHECK(sipreg_msg_hdr_find(m, SIPREG_HDR_FROM) != NULL);
    FUZZ_CHECK(sipreg_msg_hdr_find(m, SIPREG_HDR_TO) != NULL);
    FUZZ_CHECK(m->call_id.p != NULL);
}

static int count_tok(struct sipreg_str tok, void *ud)
{
    (void)tok;
    (*(size_t *)ud)++;
    return 0;
}

/* Calls every accessor; with a small arena they may fail with SIPREG_ENOMEM, never crash. */
static void access_all(struct sipreg_msg *m, const uint8_t *data, size_t size)
{
    struct sipreg_perr why;
    size_t maxp = fuzz_max(m->lim.max_params, 32), maxl = fuzz_max(m->lim.max_list, 32);
    int err;

    const struct sipreg_via *v = NULL;
    if ((err = sipreg_msg_via(m, &v, &why)) == 0) {
        FUZZ_CHECK(v != NULL);
        for (; v; v = v->next) {
            fuzz_in(v->raw, data, size);
            fuzz_in(v->host, data, size);
            fuzz_in(v->branch, data, size);
            fuzz_in(v->transport, data, size);
            FUZZ_CHECK(v->rport >= -1 && v->rport <= 65535);
            fuzz_params_in(&v->params, data, size, maxp);
        }
        /* cached: a second call gives the same list */
        const struct sipreg_via *v2 = NULL;
        FUZZ_CHECK(sipreg_msg_via(m, &v2, &why) == 0 && v2 == m->via_cache);
    } else {
        fuzz_perr_ok(err, &why, size);
    }

    const struct sipreg_addr *ad = NULL;
    if ((err = sipreg_msg_from(m, &ad, &why)) == 0)
        fuzz_addr_in(ad, data, size, maxp);
    else
        fuzz_perr_ok(err, &why, size);
    if ((err = sipreg_msg_to(m, &ad, &why)) == 0)
        fuzz_addr_in(ad, data, size, maxp);
    else
        fuzz_perr_ok(err, &why, size);
    if (m->is_request) {
        const struct sipreg_uri *u = NULL;
        if ((err = sipreg_msg_ruri(m, &u, &why)) == 0)
            fuzz_uri_in(u, data, size, maxp);
        else
            fuzz_perr_ok(err, &why, size);
    }

    struct sipreg_contact *ct = NULL;
    if ((err = sipreg_msg_contacts(m, &ct, &why)) == 0) {
        for (; ct; ct = ct->next) {
            FUZZ_CHECK(ct->q >= -1 && ct->q <= 1000);
            FUZZ_CHECK(ct->expires >= -1 && ct->expires <= 4294967295LL);
            if (!ct->star)
                fuzz_addr_in(&ct->addr, data, size, maxp);
        }
    } else {
        fuzz_perr_ok(err, &why, size);
    }

    for (size_t i = 0; i < m->nhdr; i++) {
        const struct sipreg_hdr *h = &m->hdr[i];
        struct sipreg_auth au;
        struct sipreg_addr a2;
        uint32_t u32;
        size_t n = 0;
        switch (h->id) {
        case SIPREG_HDR_AUTHORIZATION:
        case SIPREG_HDR_PROXY_AUTHORIZATION:
        case SIPREG_HDR_WWW_AUTHENTICATE:
        case SIPREG_HDR_PROXY_AUTHENTICATE:
            if ((err = sipreg_auth_parse(&au, h->value, &m->lim, m->arena, &why)) == 0) {
                fuzz_in(au.scheme, data, size);
                fuzz_in(au.nonce, data, size);
                fuzz_in(au.username, data, size);
                fuzz_in(au.response, data, size);
                fuzz_params_in(&au.params, data, size, maxp);
            } else {
                fuzz_perr_ok(err, &why, size);
            }
            break;
        case SIPREG_HDR_ROUTE:
        case SIPREG_HDR_RECORD_ROUTE:
        case SIPREG_HDR_PATH:
            if ((err = sipreg_addr_parse(&a2, h->value, &m->lim, m->arena, &why)) == 0)
                fuzz_addr_in(&a2, data, size, maxp);
            else
                fuzz_perr_ok(err, &why, size);
            break;
        case SIPREG_HDR_EXPIRES:
        case SIPREG_HDR_MIN_EXPIRES:
        case SIPREG_HDR_MAX_FORWARDS:
            if ((err = sipreg_uint_parse(&u32, h->value, 4294967295u, &why)) != 0)
                fuzz_perr_ok(err, &why, size);
            break;
        case SIPREG_HDR_REQUIRE:
        case SIPREG_HDR_PROXY_REQUIRE:
        case SIPREG_HDR_SUPPORTED:
        case SIPREG_HDR_UNSUPPORTED:
        case SIPREG_HDR_ALLOW:
            if ((err = sipreg_token_list_foreach(h->value, count_tok, &n, &why)) != 0)
                fuzz_perr_ok(err, &why, size);
            break;
        default: break;
        }
    }
    (void)maxl;
}

/* Builds a response to a parsed request into a bounded buffer; when it fits, it must parse and
 * carry the request's Call-ID and CSeq. */
static void build_and_reparse(struct sipreg_msg *req, const uint8_t *data, size_t size)
{
    static char out[16384];
    static const int statuses[] = {100, 200, 401, 423, 400, 699};
    int status = statuses[size % 6];
    struct sipreg_buf b;
    /* a buffer that may be too small, to reach the overflow paths */
    size_t cap = (size & 1) ? sizeof out : (size * 7) % 512;
    sipreg_buf_init(&b, out, cap);
    int err = sipreg_msg_build_response(&b, req, status, SIPREG_STR_NULL, SIPREG_STR_LIT("f7a9c0"),
                                        SIPREG_STR_LIT("192.0.2.1"), (size & 2) ? 5060 : -1);
    if (err != 0) {
        FUZZ_CHECK(err == SIPREG_ENOSPC || err == SIPREG_EPARSE || err == SIPREG_ENOMEM);
        return;
    }
    sipreg_buf_addz(&b, "Server: sipreg-fuzz\r\n");
    err = sipreg_msg_build_end(&b, NULL, 0);
    FUZZ_CHECK(b.len <= cap);
    if (err != 0) {
        FUZZ_CHECK(err == SIPREG_ENOSPC);
        return;
    }
    (void)data;

    /* copy to an exact-size block so that an over-read of the built message is caught */
    char *copy = malloc(b.len);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, out, b.len);
    static char mem[8192];
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    struct sipreg_msg r;
    struct sipreg_perr why = {0};
    err = sipreg_msg_parse(&r, copy, b.len, SIPREG_MSG_DATAGRAM, NULL, &a, &why);
    if (err != 0) {
        fprintf(stderr, "built response does not parse: %s at %zu:\n%.*s\n",
                sipreg_perr_reason(why.code), why.offset, (int)b.len, copy);
        FUZZ_CHECK(err == 0);
    }
    FUZZ_CHECK(!r.is_request && r.status == status);
    FUZZ_CHECK(r.len == b.len);
    FUZZ_CHECK(sipreg_str_eq(r.call_id, req->call_id));
    FUZZ_CHECK(r.cseq.num == req->cseq.num);
    FUZZ_CHECK(sipreg_str_eq(r.cseq.method, req->cseq.method));
    FUZZ_CHECK(r.content_length == 0);
    const struct sipreg_via *rv = NULL, *qv = NULL;
    if (sipreg_msg_via(&r, &rv, &why) == 0 && sipreg_msg_via(req, &qv, &why) == 0)
        FUZZ_CHECK(sipreg_str_eq(rv->branch, qv->branch));
    free(copy);
}

static int ended(const char *buf, const struct sipreg_msg *m)
{
    const char *b = m->body.p;
    if (!b || b - buf < 2 || b[-1] != '\n')
        return 0;
    return b[-2] == '\n' || (b - buf >= 3 && b[-2] == '\r' && b[-3] == '\n');
}

static void check_trailing(const char *buf, size_t size, const struct sipreg_msg *m)
{
    static char mem[4096];
    static const char junk[] = "\r\nINVITE sip:x SIP/2.0\r\n";
    char *more = malloc(size + sizeof junk - 1);
    FUZZ_CHECK(more != NULL);
    memcpy(more, buf, size);
    memcpy(more + size, junk, sizeof junk - 1);
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    struct sipreg_msg m2;
    struct sipreg_perr why;
    FUZZ_CHECK(sipreg_msg_parse(&m2, more, size + sizeof junk - 1, SIPREG_MSG_DATAGRAM, NULL, &a,
                                &why) == 0);
    FUZZ_CHECK(m2.len == m->len && m2.nhdr == m->nhdr && m2.body.len == m->body.len);
    free(more);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char big[64 * 1024], small[1024];
    const char *buf = (const char *)data;
    struct sipreg_arena a;
    struct sipreg_msg m;
    struct sipreg_perr why;
    int err;

    /* datagram: accessors with room to spare, then the response */
    sipreg_arena_init(&a, big, sizeof big);
    err = sipreg_msg_parse(&m, buf, size, SIPREG_MSG_DATAGRAM, NULL, &a, &why);
    FUZZ_CHECK(err != SIPREG_EAGAIN);
    if (err == 0) {
        check_slices(&m, data, size);
        access_all(&m, data, size);
        if (m.is_request && m.method != SIPREG_METHOD_ACK)
            build_and_reparse(&m, data, size);
        /* a small arena (size picked by the input): accessors may run out, never crash */
        struct sipreg_arena sa;
        sipreg_arena_init(&sa, small, 64 + (size * 13) % (sizeof small - 64));
        struct sipreg_msg m2;
        FUZZ_CHECK(sipreg_msg_parse(&m2, buf, size, SIPREG_MSG_DATAGRAM, NULL, &sa, &why) == 0);
        FUZZ_CHECK(m2.len == m.len);
        access_all(&m2, data, size);
        /* with Content-Length and the empty line, bytes after the message change nothing (a
         * datagram that ends without the empty line is complete only because it ends) */
        if (m.content_length >= 0 && ended(buf, &m))
            check_trailing(buf, size, &m);
    } else {
        fuzz_perr_ok(err, &why, size);
    }

    /* small limits on the same input */
    struct sipreg_msg_limits lim = fuzz_limits(size, 1);
    lim.max_headers = 1 + size % 16;
    lim.max_size = 64 + size % 1024;
    sipreg_arena_init(&a, big, sizeof big);
    err = sipreg_msg_parse(&m, buf, size, SIPREG_MSG_DATAGRAM, &lim, &a, &why);
    if (err == 0) {
        FUZZ_CHECK(m.nhdr <= lim.max_headers);
        FUZZ_CHECK(m.len <= lim.max_size);
        check_slices(&m, data, size);
        access_all(&m, data, size);
    } else {
        fuzz_perr_ok(err, &why, size);
    }

    /* stream: framing and parsing agree; any prefix of a whole message is incomplete */
    size_t flen = 0;
    struct sipreg_perr fwhy;
    int ferr = sipreg_msg_frame(buf, size, NULL, &flen, &fwhy);
    if (ferr == 0)
        FUZZ_CHECK(flen > 0 && flen <= size);
    else if (ferr != SIPREG_EAGAIN)
        fuzz_perr_ok(ferr, &fwhy, size);
    sipreg_arena_init(&a, big, sizeof big);
    err = sipreg_msg_parse(&m, buf, size, SIPREG_MSG_STREAM, NULL, &a, &why);
    if (err == 0) {
        check_slices(&m, data, size);
        FUZZ_CHECK(m.content_length >= 0);
        FUZZ_CHECK(ferr == 0 && flen == m.len);
        access_all(&m, data, size);
        size_t whole = m.len;
        struct sipreg_msg p;
        err = sipreg_msg_parse(&p, buf, whole - 1, SIPREG_MSG_STREAM, NULL, &a, &why);
        FUZZ_CHECK(err == SIPREG_EAGAIN);
        FUZZ_CHECK(sipreg_msg_frame(buf, whole - 1, NULL, &flen, &fwhy) == SIPREG_EAGAIN);
    } else if (err != SIPREG_EAGAIN) {
        fuzz_perr_ok(err, &why, size);
    }
    return 0;
}
