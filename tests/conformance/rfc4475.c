/* RFC 4475 torture messages: one data-driven check per message (RFC 4475 §3, RFC 3261 §7, §19-20).
 *
 * Usage: rfc4475 <dir> <file.dat>   checks one message (one CTest per MANIFEST row)
 *        rfc4475 <dir>              checks every message of the table
 *
 * Each message is read byte-exact into a heap block of exactly its size (so a sanitizer catches
 * any over-read), parsed as one UDP datagram, and the outcome compared with the table below. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sipreg/msg.h"

enum outcome {
    ACCEPT,         /* valid: parses, and every structured accessor succeeds */
    ACCEPT_LIBERAL, /* invalid, but RFC 4475 lets a tolerant element accept it: we do */
    REJECT,         /* sipreg_msg_parse() fails with `code` */
    REJECT_FIELD,   /* parses, but the accessor for `field` fails with `code` */
};

static const char *const outcome_names[] = {"ACCEPT", "ACCEPT_LIBERAL", "REJECT", "REJECT_FIELD"};

enum field { F_NONE, F_RURI, F_VIA, F_FROM, F_TO, F_CONTACT, F_AUTH };

static const char *const field_names[] = {"-",  "Request-URI", "Via",          "From",
                                          "To", "Contact",     "Authorization"};

/* A string expectation: NULL = not checked; ABSENT = the slice must be absent (p == NULL). */
static const char ABSENT[] = "(absent)";

struct check;
typedef void (*extra_fn)(struct check *c, struct sipreg_msg *m);

struct expect {
    const char *file;
    enum outcome outcome;
    /* REJECT, REJECT_FIELD: the field and the code (alt: a second acceptable code, for messages
     * with several defects where any one of them is a correct reason to reject) */
    enum field field;
    enum sipreg_perr_code code, alt;
    /* ACCEPT, ACCEPT_LIBERAL */
    const char *method; /* request method token; NULL for a response */
    enum sipreg_method method_id;
    int status;
    const char *reason;
    const char *ruri, *ruri_user, *ruri_host;
    size_t nvia;
    const char *branch; /* top Via */
    const char *call_id;
    uint32_t cseq;
    const char *cseq_method;
    const char *from_tag;
    const char *to_user, *to_host;
    size_t ncontact;
    const char *contact_host, *contact_expires; /* first Contact */
    const char *content_length;                 /* header value as a number, or ABSENT */
    size_t body_len;
    size_t msg_len; /* 0: the whole file */
    extra_fn extra; /* message-specific checks */
    const char *why;
    /* A known library bug makes this row fail: the mismatches are still printed, as PENDING
     * instead of FAIL, and the row does not count as failed. Once the row passes, it fails
     * until this marker is removed, so a fix cannot go unnoticed. */
    const char *pending;
};

/* ---- the state of one check, and reporting ---- */

struct check {
    const char *file;
    const char *tag; /* "FAIL" or "PENDING" */
    const char *buf;
    size_t len;
    int failed;
    struct sipreg_arena arena;
};

static void fail(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct check *c, const char *fmt, ...)
{
    va_list ap;
    printf("%s %s: ", c->tag, c->file);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    c->failed = 1;
}

static const char *perr_name(enum sipreg_perr_code code)
{
    static const char *const names[] = {
#define XX_NAME(name, status, text) "SIPREG_PERR_" #name,
        SIPREG_PERR_MAP(XX_NAME)
#undef XX_NAME
    };
    if ((size_t)code < sizeof names / sizeof names[0])
        return names[code];
    return "(bad perr code)";
}

/* Prints a slice with non-printable bytes escaped, into a static ring of buffers. */
static const char *show(struct sipreg_str s)
{
    static char ring[4][200];
    static int k;
    char *out = ring[k++ & 3];
    size_t o = 0;
    if (!s.p)
        return ABSENT;
    out[o++] = '"';
    for (size_t i = 0; i < s.len && o < sizeof ring[0] - 8; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, 6, "\\x%02x", ch);
    }
    if (o >= sizeof ring[0] - 8)
        o += (size_t)snprintf(out + o, 5, "...");
    out[o++] = '"';
    out[o] = 0;
    return out;
}

static const char *showz(const char *z)
{
    if (z == ABSENT)
        return ABSENT;
    return show((struct sipreg_str){z, strlen(z)});
}

static int str_matches(struct sipreg_str s, const char *want)
{
    if (want == ABSENT)
        return s.p == NULL;
    return s.p && s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static void expect_str(struct check *c, const char *what, struct sipreg_str got, const char *want)
{
    if (want && !str_matches(got, want))
        fail(c, "expected %s %s got %s", what, showz(want), show(got));
}

/* Like expect_str, for expected values holding bytes a C string cannot (NUL). */
static void expect_mem(struct check *c, const char *what, struct sipreg_str got, const char *want,
                       size_t n)
{
    if (!got.p || got.len != n || memcmp(got.p, want, n) != 0)
        fail(c, "expected %s %s got %s", what, show((struct sipreg_str){want, n}), show(got));
}

static void expect_int(struct check *c, const char *what, long long got, long long want)
{
    if (got != want)
        fail(c, "expected %s %lld got %lld", what, want, got);
}

/* ---- helpers for the extra checks ---- */

static const struct sipreg_via *via_at(struct check *c, struct sipreg_msg *m, size_t i)
{
    const struct sipreg_via *v = NULL;
    struct sipreg_perr why = {0};
    if (sipreg_msg_via(m, &v, &why) != 0) {
        fail(c, "expected Via to parse got %s", perr_name(why.code));
        return NULL;
    }
    for (; v && i > 0; i--)
        v = v->next;
    if (!v)
        fail(c, "expected a Via value at index %zu", i);
    return v;
}

static const struct sipreg_addr *addr_of(struct check *c, struct sipreg_msg *m, enum field f)
{
    const struct sipreg_addr *ad = NULL;
    struct sipreg_perr why = {0};
    int err = f == F_FROM ? sipreg_msg_from(m, &ad, &why) : sipreg_msg_to(m, &ad, &why);
    if (err != 0) {
        fail(c, "expected %s to parse got %s", field_names[f], perr_name(why.code));
        return NULL;
    }
    return ad;
}

static const struct sipreg_uri *ruri_of(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_uri *u = NULL;
    struct sipreg_perr why = {0};
    if (sipreg_msg_ruri(m, &u, &why) != 0) {
        fail(c, "expected Request-URI to parse got %s", perr_name(why.code));
        return NULL;
    }
    return u;
}

static struct sipreg_contact *contact_at(struct check *c, struct sipreg_msg *m, size_t i)
{
    struct sipreg_contact *ct = NULL;
    struct sipreg_perr why = {0};
    if (sipreg_msg_contacts(m, &ct, &why) != 0) {
        fail(c, "expected Contact to parse got %s", perr_name(why.code));
        return NULL;
    }
    for (; ct && i > 0; i--)
        ct = ct->next;
    if (!ct)
        fail(c, "expected a Contact value at index %zu", i);
    return ct;
}

static void expect_param(struct check *c, const char *what, const struct sipreg_params *ps,
                         const char *name, const char *value)
{
    const struct sipreg_param *p = sipreg_params_find(ps, name);
    if (!p) {
        fail(c, "expected %s parameter %s got none", what, name);
        return;
    }
    char label[512];
    snprintf(label, sizeof label, "%s parameter %s value", what, name);
    expect_str(c, label, p->value, value ? value : ABSENT);
}

static void expect_hdr(struct check *c, struct sipreg_msg *m, const char *name, const char *value)
{
    const struct sipreg_hdr *h = sipreg_msg_hdr_findz(m, name);
    if (!h) {
        fail(c, "expected header %s got none", name);
        return;
    }
    char label[512];
    snprintf(label, sizeof label, "header %s value", name);
    expect_str(c, label, h->value, value);
}

/* ---- message-specific checks (what RFC 4475 says each message exercises) ---- */

static void x_wsinv(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_via *v;
    if ((v = via_at(c, m, 0))) {
        expect_str(c, "Via[0] protocol name", v->proto_name, "SIP");
        expect_str(c, "Via[0] version", v->proto_version, "2.0");
        expect_str(c, "Via[0] transport", v->transport, "UDP");
        expect_str(c, "Via[0] host", v->host, "192.0.2.2");
    }
    if ((v = via_at(c, m, 1))) {
        expect_str(c, "Via[1] transport", v->transport, "TCP");
        expect_str(c, "Via[1] host", v->host, "spindle.example.com");
        expect_str(c, "Via[1] branch", v->branch, "z9hG4bK9ikj8");
    }
    if ((v = via_at(c, m, 2))) {
        expect_str(c, "Via[2] host", v->host, "192.168.255.111");
        expect_str(c, "Via[2] branch", v->branch, "z9hG4bK30239");
    }
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_FROM)))
        expect_str(c, "From display name", ad->display, "J Rosenberg \\\\\\\"");
    if ((ad = addr_of(c, m, F_TO)))
        expect_int(c, "To params", (long long)ad->params.n, 1);
    const struct sipreg_uri *u;
    if ((u = ruri_of(c, m)))
        expect_param(c, "Request-URI", &u->params, "unknownparam", NULL);
    struct sipreg_contact *ct;
    if ((ct = contact_at(c, m, 0))) {
        expect_str(c, "Contact display name", ct->addr.display, "Quoted string \\\"\\\"");
        expect_int(c, "Contact q", ct->q, 330);
        expect_param(c, "Contact", &ct->addr.params, "newparam", "newvalue");
        expect_param(c, "Contact", &ct->addr.params, "secondparam", NULL);
    }
    expect_int(c, "Max-Forwards header id", sipreg_msg_hdr_find(m, SIPREG_HDR_MAX_FORWARDS) != NULL,
               1);
    /* `s :` is the compact Subject with an empty value */
    const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, SIPREG_HDR_SUBJECT);
    if (!h)
        fail(c, "expected a Subject header (compact `s`) got none");
    else
        expect_str(c, "Subject value", h->value, "");
    expect_hdr(c, m, "UnknownHeaderWithUnusualValue", ";;,,;;,;");
    uint32_t mf = 0;
    struct sipreg_perr why = {0};
    h = sipreg_msg_hdr_find(m, SIPREG_HDR_MAX_FORWARDS);
    if (h && sipreg_uint_parse(&mf, h->value, 255, &why) != 0)
        fail(c, "expected Max-Forwards 0068 to parse got %s", perr_name(why.code));
    else if (h)
        expect_int(c, "Max-Forwards", mf, 68);
}

static void x_intmeth(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_uri *u;
    if ((u = ruri_of(c, m)))
        expect_str(c, "Request-URI password", u->password,
                   "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_TO))) {
        static const char dn[] = "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f";
        expect_mem(c, "To display name", ad->display, dn, sizeof dn - 1);
    }
    if ((ad = addr_of(c, m, F_FROM))) {
        expect_str(c, "From display name", ad->display, "token1~` token2'+_ token3*%!.-");
        expect_str(c, "From user", ad->uri.user, "mundane");
        expect_int(c, "From params", (long long)ad->params.n, 2);
    }
    const struct sipreg_hdr *h = sipreg_msg_hdr_findz(m, "extensionHeader-!.%*+_`'~");
    if (!h)
        fail(c, "expected header extensionHeader-!.%%*+_`'~ got none");
    else
        expect_int(c, "extension header id", h->id, SIPREG_HDR_OTHER);
}

static void x_esc01(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_FROM)))
        expect_str(c, "From user", ad->uri.user, "I%20have%20spaces");
    struct sipreg_contact *ct;
    if ((ct = contact_at(c, m, 0))) {
        expect_str(c, "Contact user", ct->addr.uri.user, "cal%6Cer");
        expect_param(c, "Contact URI", &ct->addr.uri.params, "%6C%72", NULL);
        expect_param(c, "Contact URI", &ct->addr.uri.params, "n%61me", "v%61lue%25%34%31");
    }
    expect_int(c, "Content-Type (compact c) present",
               sipreg_msg_hdr_find(m, SIPREG_HDR_CONTENT_TYPE) != NULL, 1);
}

static void x_escnull(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_FROM)))
        expect_str(c, "From user", ad->uri.user, "null-%00-null");
    struct sipreg_contact *ct;
    if ((ct = contact_at(c, m, 0)))
        expect_str(c, "Contact[0] user", ct->addr.uri.user, "%00");
    if ((ct = contact_at(c, m, 1)))
        expect_str(c, "Contact[1] user", ct->addr.uri.user, "%00%00");
}

static void x_esc02(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_TO)))
        expect_str(c, "To display name", ad->display, "%Z%45");
    struct sipreg_contact *ct;
    if ((ct = contact_at(c, m, 1)))
        expect_str(c, "Contact[1] host", ct->addr.uri.host, "host3.example.com");
    const struct sipreg_hdr *h = sipreg_msg_hdr_findz(m, "C%6Fntact");
    if (!h)
        fail(c, "expected header C%%6Fntact got none");
    else
        expect_int(c, "C%6Fntact header id", h->id, SIPREG_HDR_OTHER);
}

static void x_lwsdisp(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_FROM))) {
        expect_str(c, "From display name", ad->display, "caller");
        expect_int(c, "From angle", ad->angle, 1);
        expect_str(c, "From user", ad->uri.user, "caller");
    }
}

static void x_longreq(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_TO))) {
        expect_str(c, "To display name", ad->display,
                   "I have a user name of extremeextremeextremeextremeextremeextremeextremeextreme"
                   "extremeextreme proportion");
        expect_int(c, "To port", ad->uri.port, 6000);
        expect_int(c, "To URI params", (long long)ad->uri.params.n, 3);
        expect_param(c, "To URI", &ad->uri.params,
                     "longparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamename"
                     "namenamenamenamenamenamenamenamenamename",
                     "shortvalue");
    }
    if ((ad = addr_of(c, m, F_FROM)))
        expect_int(c, "From params", (long long)ad->params.n, 3);
    const struct sipreg_via *v;
    if ((v = via_at(c, m, 33))) {
        expect_str(c, "Via[33] host", v->host, "host.example.com");
        expect_str(c, "Via[33] received", v->received, "192.0.2.5");
        if (!v->branch.p || v->branch.len != 215)
            fail(c, "expected Via[33] branch of 215 bytes got %s", show(v->branch));
    }
    expect_hdr(c, m,
               "Unknown-LongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLong"
               "LongLong-Name",
               NULL);
}

static void x_dblreq(struct check *c, struct sipreg_msg *m)
{
    /* what follows the REGISTER is the ignored INVITE (after one stray CRLF) */
    if (m->len + 8 > c->len || memcmp(c->buf + m->len, "\r\nINVITE", 8) != 0)
        fail(c, "expected the trailing INVITE right after the REGISTER (at %zu)", m->len);
}

static void x_semiuri(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_uri *u;
    if ((u = ruri_of(c, m)))
        expect_int(c, "Request-URI params", (long long)u->params.n, 0);
    const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, SIPREG_HDR_ACCEPT);
    static const char tail[] = "message/sipfrag";
    size_t n = sizeof tail - 1;
    if (!h || h->value.len < n || memcmp(h->value.p + h->value.len - n, tail, n) != 0 ||
        memcmp(h->value.p, "application/sdp,", 16) != 0)
        fail(c, "expected the folded Accept value from application/sdp to %s got %s", tail,
             h ? show(h->value) : ABSENT);
}

static void x_transports(struct check *c, struct sipreg_msg *m)
{
    static const char *const tr[] = {"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"};
    for (size_t i = 0; i < 5; i++) {
        const struct sipreg_via *v = via_at(c, m, i);
        char label[32];
        snprintf(label, sizeof label, "Via[%zu] transport", i);
        if (v)
            expect_str(c, label, v->transport, tr[i]);
    }
}

static void x_mpart01(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_via *v;
    if ((v = via_at(c, m, 0))) {
        expect_int(c, "Via port", v->port, 5070);
        expect_int(c, "Via rport", v->rport, 0);
    }
    /* the body is binary: it is the last 553 bytes of the file, NULs included */
    if (m->body.p != c->buf + c->len - 553)
        fail(c, "expected the body to start at offset %zu got %td", c->len - 553,
             m->body.p ? m->body.p - c->buf : -1);
    if (!memchr(m->body.p, 0, m->body.len))
        fail(c, "expected NUL bytes inside the body");
}

static void x_unreason(struct check *c, struct sipreg_msg *m)
{
    const char *eol = strstr(c->buf, "\r\n");
    expect_mem(c, "reason phrase", m->reason, c->buf + 12, (size_t)(eol - c->buf - 12));
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_TO)))
        expect_str(c, "To tag", ad->tag, "2229");
}

static void x_zeromf(struct check *c, struct sipreg_msg *m)
{
    expect_hdr(c, m, "Max-Forwards", "0");
}

static void x_badbranch(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_via *v;
    if ((v = via_at(c, m, 0)))
        expect_str(c, "Via host", v->host, "192.0.2.1");
}

static void x_unknown_scheme(struct check *c, struct sipreg_msg *m, const char *scheme,
                             const char *opaque)
{
    const struct sipreg_uri *u;
    if ((u = ruri_of(c, m))) {
        expect_int(c, "Request-URI scheme id", u->scheme, SIPREG_URI_OTHER);
        expect_str(c, "Request-URI scheme", u->scheme_s, scheme);
        expect_str(c, "Request-URI opaque part", u->opaque, opaque);
    }
}

static void x_unkscm(struct check *c, struct sipreg_msg *m)
{
    x_unknown_scheme(c, m, "nobodyKnowsThisScheme", "totallyopaquecontent");
}

static void x_novelsc(struct check *c, struct sipreg_msg *m)
{
    x_unknown_scheme(c, m, "soap.beep", "//192.0.2.103:3002");
}

static void x_unksm2(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_TO))) {
        expect_int(c, "To scheme id", ad->uri.scheme, SIPREG_URI_OTHER);
        expect_str(c, "To scheme", ad->uri.scheme_s, "isbn");
        expect_str(c, "To opaque part", ad->uri.opaque, "2983792873");
    }
    if ((ad = addr_of(c, m, F_FROM))) {
        expect_int(c, "From scheme id", ad->uri.scheme, SIPREG_URI_OTHER);
        expect_str(c, "From scheme", ad->uri.scheme_s, "http");
    }
    struct sipreg_contact *ct;
    if ((ct = contact_at(c, m, 0))) {
        expect_int(c, "Contact scheme id", ct->addr.uri.scheme, SIPREG_URI_OTHER);
        expect_str(c, "Contact opaque part", ct->addr.uri.opaque, "John_Smith");
    }
}

static void x_bext01(struct check *c, struct sipreg_msg *m)
{
    expect_hdr(c, m, "Require", "nothingSupportsThis, nothingSupportsThisEither");
    expect_hdr(c, m, "Proxy-Require", "noProxiesSupportThis, norDoAnyProxiesSupportThis");
}

static void x_regaut01(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, SIPREG_HDR_AUTHORIZATION);
    struct sipreg_auth au;
    struct sipreg_perr why = {0};
    if (!h) {
        fail(c, "expected an Authorization header got none");
        return;
    }
    if (sipreg_auth_parse(&au, h->value, &m->lim, &c->arena, &why) != 0) {
        fail(c, "expected the unknown-scheme Authorization to parse got %s", perr_name(why.code));
        return;
    }
    expect_str(c, "Authorization scheme", au.scheme, "NoOneKnowsThisScheme");
    expect_param(c, "Authorization", &au.params, "opaque-data", "here");
    expect_str(c, "Authorization username", au.username, ABSENT);
}

static void x_bcast(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_via *v;
    if ((v = via_at(c, m, 1)))
        expect_str(c, "Via[1] host", v->host, "255.255.255.255");
}

static void x_cparam01(struct check *c, struct sipreg_msg *m)
{
    struct sipreg_contact *ct;
    if ((ct = contact_at(c, m, 0))) {
        expect_int(c, "Contact angle", ct->addr.angle, 0);
        expect_str(c, "Contact user", ct->addr.uri.user, "+19725552222");
        expect_int(c, "Contact URI params", (long long)ct->addr.uri.params.n, 0);
        expect_param(c, "Contact header", &ct->addr.params, "unknownparam", NULL);
    }
}

static void x_cparam02(struct check *c, struct sipreg_msg *m)
{
    struct sipreg_contact *ct;
    if ((ct = contact_at(c, m, 0))) {
        expect_int(c, "Contact angle", ct->addr.angle, 1);
        expect_int(c, "Contact header params", (long long)ct->addr.params.n, 0);
        expect_param(c, "Contact URI", &ct->addr.uri.params, "unknownparam", NULL);
    }
}

static void x_uri_route_header(struct check *c, const struct sipreg_uri *u, const char *what,
                               const char *value)
{
    expect_int(c, "URI headers", (long long)u->headers.n, 1);
    expect_param(c, what, &u->headers, "Route", value);
}

static void x_regescrt(struct check *c, struct sipreg_msg *m)
{
    struct sipreg_contact *ct;
    if ((ct = contact_at(c, m, 0))) {
        expect_str(c, "Contact host", ct->addr.uri.host, "example.com");
        x_uri_route_header(c, &ct->addr.uri, "Contact URI header", "%3Csip:sip.example.com%3E");
    }
}

static void x_escruri(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_uri *u;
    if ((u = ruri_of(c, m)))
        x_uri_route_header(c, u, "Request-URI header", "%3Csip:example.com%3E");
}

static void x_inv2543(struct check *c, struct sipreg_msg *m)
{
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_TO))) {
        expect_int(c, "To angle", ad->angle, 0);
        /* without <>, ;user=phone is a To header param (RFC 3261 §20), not a URI param */
        expect_param(c, "To", &ad->params, "user", "phone");
        expect_int(c, "To URI params", (long long)ad->uri.params.n, 0);
    }
    expect_int(c, "Max-Forwards present", sipreg_msg_hdr_find(m, SIPREG_HDR_MAX_FORWARDS) != NULL,
               0);
}

static void x_baddate(struct check *c, struct sipreg_msg *m)
{
    expect_hdr(c, m, "Date", "Fri, 01 Jan 2010 16:00:00 EST");
}

/* ---- the table: one row per message of RFC 4475 (and the archive's stray test.dat) ---- */

#define REQ(m, id)  .method = (m), .method_id = SIPREG_METHOD_##id
#define RESP(st, r) .status = (st), .reason = (r)

static const struct expect table[] = {
    /* 3.1.1 Parser tests (syntax): valid messages */
    {"wsinv.dat",
     ACCEPT,
     REQ("INVITE", INVITE),
     .ruri = "sip:vivekg@chair-dnrc.example.com;unknownparam",
     .ruri_user = "vivekg",
     .ruri_host = "chair-dnrc.example.com",
     .nvia = 3,
     .branch = "390skdjuw",
     .call_id = "wsinv.ndaksdj@192.0.2.1",
     .cseq = 9,
     .cseq_method = "INVITE",
     .from_tag = "98asjd8",
     .to_user = "vivekg",
     .to_host = "chair-dnrc.example.com",
     .ncontact = 1,
     .contact_host = "example.com",
     .contact_expires = ABSENT,
     .content_length = "150",
     .body_len = 150,
     .extra = x_wsinv,
     .why = "3.1.1.1: folded lines, odd whitespace and case, escaped quotes in display names, "
            "compact forms and an empty Subject must all parse"},
    {"intmeth.dat", ACCEPT, REQ("!interesting-Method0123456789_*+`.%indeed'~", UNKNOWN),
     .ruri = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
             "(doesn't-it)@example.com",
     .ruri_user = "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*", .ruri_host = "example.com",
     .nvia = 1, .branch = "z9hG4bK-.!%66*_+`'~",
     .call_id = "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", .cseq = 139122385,
     .cseq_method = "!interesting-Method0123456789_*+`.%indeed'~", .from_tag = "_token~1'+`*%!-.",
     .to_user = "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*", .to_host = "example.com",
     .ncontact = 0, .content_length = "0", .body_len = 0, .extra = x_intmeth,
     .why = "3.1.1.2: every legal token/word character in method, URI user and password, "
            "branch, tag and Call-ID; NUL, BEL, DEL quoted-pairs in a display name"},
    {"esc01.dat",
     ACCEPT,
     REQ("INVITE", INVITE),
     .ruri = "sip:sips%3Auser%40example.com@example.net",
     .ruri_user = "sips%3Auser%40example.com",
     .ruri_host = "example.net",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw",
     .call_id = "esc01.239409asdfakjkn23onasd0-3234",
     .cseq = 234234,
     .cseq_method = "INVITE",
     .from_tag = "938",
     .to_user = "%75se%72",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "host5.example.net",
     .contact_expires = ABSENT,
     .content_length = "150",
     .body_len = 150,
     .extra = x_esc01,
     .why = "3.1.1.3: %-escapes in user parts and URI params are valid; slices stay raw "
            "(the Request-URI user is not a sips: URI)"},
    {"escnull.dat",
     ACCEPT,
     REQ("REGISTER", REGISTER),
     .ruri = "sip:example.com",
     .ruri_user = ABSENT,
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw",
     .call_id = "escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd",
     .cseq = 14398234,
     .cseq_method = "REGISTER",
     .from_tag = "839923423",
     .to_user = "null-%00-null",
     .to_host = "example.com",
     .ncontact = 2,
     .contact_host = "host5.example.com",
     .contact_expires = ABSENT,
     .content_length = "0",
     .body_len = 0,
     .extra = x_escnull,
     .why = "3.1.1.4: escaped NULs (%00) in user parts are legal; the AORs differ from "
            "null--null"},
    {"esc02.dat",
     ACCEPT,
     REQ("RE%47IST%45R", UNKNOWN),
     .ruri = "sip:registrar.example.com",
     .ruri_user = ABSENT,
     .ruri_host = "registrar.example.com",
     .nvia = 1,
     .branch = "z9hG4bK209%fzsnel234",
     .call_id = "esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf",
     .cseq = 29344,
     .cseq_method = "RE%47IST%45R",
     .from_tag = "f232jadfj23",
     .to_user = "resource",
     .to_host = "example.com",
     .ncontact = 2,
     .contact_host = "host1.example.com",
     .contact_expires = ABSENT,
     .content_length = "0",
     .body_len = 0,
     .extra = x_esc02,
     .why = "3.1.1.5: % is a plain token char in methods and header names: the method is not "
            "REGISTER and C%6Fntact is not Contact"},
    {"lwsdisp.dat", ACCEPT, REQ("OPTIONS", OPTIONS), .ruri = "sip:user@example.com",
     .ruri_user = "user", .ruri_host = "example.com", .nvia = 1, .branch = "z9hG4bKkdjuw",
     .call_id = "lwsdisp.1234abcd@funky.example.com", .cseq = 60, .cseq_method = "OPTIONS",
     .from_tag = "323", .to_user = "user", .to_host = "example.com", .ncontact = 0,
     .content_length = "0", .body_len = 0, .extra = x_lwsdisp,
     .why = "3.1.1.6: no LWS is needed between a token display name and <"},
    {"longreq.dat",
     ACCEPT,
     REQ("INVITE", INVITE),
     .ruri = "sip:user@example.com",
     .ruri_user = "user",
     .ruri_host = "example.com",
     .nvia = 34,
     .branch = ABSENT,
     .call_id = "longreq.onereallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreally"
                "reallyreallyreallyreallyreallyreallyreallyreallyreallylongcallid",
     .cseq = 3882340,
     .cseq_method = "INVITE",
     .from_tag = "1298298298298298298298298298298298298298298298298298298298298298298298298"
                 "2982982982982982982982982982982982982982982982982982982982982982982982982982982"
                 "424",
     .to_user = "user",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "host5.example.net",
     .contact_expires = ABSENT,
     .content_length = "150",
     .body_len = 150,
     .extra = x_longreq,
     .why = "3.1.1.7: long display names, params, tag and Call-ID, and 34 Via values in 34 "
            "header fields (mixed case and compact names) must all be processed"},
    {"dblreq.dat",
     ACCEPT,
     REQ("REGISTER", REGISTER),
     .ruri = "sip:example.com",
     .ruri_user = ABSENT,
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw23492",
     .call_id = "dblreq.0ha0isndaksdj99sdfafnl3lk233412",
     .cseq = 8,
     .cseq_method = "REGISTER",
     .from_tag = "43251j3j324",
     .to_user = "j.user",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "host.example.com",
     .contact_expires = ABSENT,
     .content_length = "0",
     .body_len = 0,
     .msg_len = 300,
     .extra = x_dblreq,
     .why = "3.1.1.8: Content-Length 0 ends the REGISTER; the INVITE after it in the same "
            "datagram is ignored"},
    {"semiuri.dat", ACCEPT, REQ("OPTIONS", OPTIONS),
     .ruri = "sip:user;par=u%40example.net@example.com", .ruri_user = "user;par=u%40example.net",
     .ruri_host = "example.com", .nvia = 1, .branch = "z9hG4bKkdjuw",
     .call_id = "semiuri.0ha0isndaksdj", .cseq = 8, .cseq_method = "OPTIONS", .from_tag = "33242",
     .to_user = "j_user", .to_host = "example.com", .ncontact = 0, .content_length = "0",
     .body_len = 0, .extra = x_semiuri,
     .why = "3.1.1.9: ; is legal in a user part: the Request-URI has no params (the user is "
            "user;par=u%40example.net)"},
    {"transports.dat", ACCEPT, REQ("OPTIONS", OPTIONS), .ruri = "sip:user@example.com",
     .ruri_user = "user", .ruri_host = "example.com", .nvia = 5, .branch = "z9hG4bKkdjuw",
     .call_id = "transports.kijh4akdnaqjkwendsasfdj", .cseq = 60, .cseq_method = "OPTIONS",
     .from_tag = "323", .to_user = "user", .to_host = "example.com", .ncontact = 0,
     .content_length = "0", .body_len = 0, .extra = x_transports,
     .why = "3.1.1.10: unknown transports in Via are legal; the reply goes to the top Via"},
    {"mpart01.dat",
     ACCEPT,
     REQ("MESSAGE", MESSAGE),
     .ruri = "sip:kumiko@example.org",
     .ruri_user = "kumiko",
     .ruri_host = "example.org",
     .nvia = 1,
     .branch = "z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-",
     .call_id = "3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..",
     .cseq = 1,
     .cseq_method = "MESSAGE",
     .from_tag = "2fb0dcc9",
     .to_user = "kumiko",
     .to_host = "example.org",
     .ncontact = 1,
     .contact_host = "127.0.0.1",
     .contact_expires = ABSENT,
     .content_length = "553",
     .body_len = 553,
     .extra = x_mpart01,
     .why = "3.1.1.11: a binary multipart body (NULs, bare CRs) is exactly Content-Length bytes"},
    {"unreason.dat", ACCEPT, RESP(200, NULL), .nvia = 1, .branch = "z9hG4bK1324923",
     .call_id = "unreason.1234ksdfak3j2erwedfsASdf", .cseq = 35, .cseq_method = "INVITE",
     .from_tag = "11141343", .to_user = "user", .to_host = "example.edu", .ncontact = 1,
     .contact_host = "host198.example.com", .contact_expires = ABSENT, .content_length = "154",
     .body_len = 154, .extra = x_unreason,
     .why = "3.1.1.12: the reason phrase may hold any UTF-8 text and =, *, digits"},
    {"noreason.dat", ACCEPT, RESP(100, ""), .nvia = 1, .branch = "z9hG4bK2398ndaoe",
     .call_id = "noreason.asndj203insdf99223ndf", .cseq = 35, .cseq_method = "INVITE",
     .from_tag = "39ansfi3", .to_user = "user", .to_host = "example.edu", .ncontact = 1,
     .contact_host = "host105.example.com", .contact_expires = ABSENT, .content_length = "0",
     .body_len = 0, .why = "3.1.1.13: an empty reason phrase (SP then CRLF) is well-formed"},

    /* 3.1.2 Parser tests (syntax): invalid messages */
    {"badinv01.dat", REJECT_FIELD, .field = F_VIA, .code = SIPREG_PERR_VIA,
     .alt = SIPREG_PERR_PARAM,
     .why = "3.1.2.1: empty params and list elements in Via (;;,;,,) and Contact (;;;;): 400 or "
            "discard; the top Via cannot even be parsed, so it is discarded"},
    {"clerr.dat", REJECT, .code = SIPREG_PERR_BODY_TRUNCATED,
     .why = "3.1.2.2: Content-Length 9999 exceeds the datagram: a UDP element must not wait, "
            "it discards or answers 400"},
    {"ncl.dat", REJECT, .code = SIPREG_PERR_CONTENT_LENGTH,
     .why = "3.1.2.3: a negative Content-Length is not a valid value: 400"},
    {"scalar02.dat", REJECT, .code = SIPREG_PERR_CSEQ,
     .why = "3.1.2.4: CSeq 36893488147419103232 overflows 32 bits: 400 (Expires, Max-Forwards "
            "and Contact expires also overflow)"},
    {"scalarlg.dat", REJECT, .code = SIPREG_PERR_CSEQ,
     .why = "3.1.2.5: a response whose CSeq overflows 32 bits is discarded"},
    {"quotbal.dat", REJECT_FIELD, .field = F_TO, .code = SIPREG_PERR_QUOTE,
     .why = "3.1.2.6: the To display name has no closing quote: 400"},
    {"ltgtruri.dat", REJECT, .code = SIPREG_PERR_REQUEST_URI,
     .why = "3.1.2.7: the Request-URI may not be enclosed in <>: 400, decided on the request line"},
    {"lwsruri.dat", REJECT, .code = SIPREG_PERR_REQUEST_URI,
     .why = "3.1.2.8: LWS inside the Request-URI (`; lr`): 400, not 505 (the version is fine)"},
    {"lwsstart.dat",
     ACCEPT_LIBERAL,
     REQ("INVITE", INVITE),
     .ruri = "sip:user@example.com",
     .ruri_user = "user",
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw3923",
     .call_id = "lwsstart.dfknq234oi243099adsdfnawe3@example.com",
     .cseq = 1893884,
     .cseq_method = "INVITE",
     .from_tag = "8814",
     .to_user = "user",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "host1.example.net",
     .contact_expires = ABSENT,
     .content_length = "150",
     .body_len = 150,
     .why = "3.1.2.9: extra SP between request-line elements may be ignored; nothing is "
            "ambiguous, so a registrar loses nothing by accepting"},
    {"trws.dat", ACCEPT_LIBERAL, REQ("OPTIONS", OPTIONS), .ruri = "sip:remote-target@example.com",
     .ruri_user = "remote-target", .ruri_host = "example.com", .nvia = 1,
     .branch = "z9hG4bK299342093", .call_id = "trws.oicu34958239neffasdhr2345r", .cseq = 238923,
     .cseq_method = "OPTIONS", .from_tag = "329429089", .to_user = "remote-target",
     .to_host = "example.com", .ncontact = 0, .content_length = "0", .body_len = 0,
     .why = "3.1.2.10: trailing SP after SIP/2.0 may be ignored; unambiguous, so accept"},
    {"escruri.dat",
     ACCEPT_LIBERAL,
     REQ("INVITE", INVITE),
     .ruri = "sip:user@example.com?Route=%3Csip:example.com%3E",
     .ruri_user = "user",
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw",
     .call_id = "escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5",
     .cseq = 149209342,
     .cseq_method = "INVITE",
     .from_tag = "341518",
     .to_user = "user",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "host39923.example.net",
     .contact_expires = ABSENT,
     .content_length = "150",
     .body_len = 150,
     .extra = x_escruri,
     .why = "3.1.2.11: headers in a Request-URI may be rejected or ignored; the URI parser keeps "
            "them apart in uri.headers and a registrar never acts on them"},
    {"baddate.dat",
     ACCEPT_LIBERAL,
     REQ("INVITE", INVITE),
     .ruri = "sip:user@example.com",
     .ruri_user = "user",
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw",
     .call_id = "baddate.239423mnsadf3j23lj42--sedfnm234",
     .cseq = 1392934,
     .cseq_method = "INVITE",
     .from_tag = "2234923",
     .to_user = "user",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "host5.example.net",
     .contact_expires = ABSENT,
     .content_length = "150",
     .body_len = 150,
     .extra = x_baddate,
     .why = "3.1.2.12: a non-GMT Date may be tolerated; a registrar never reads a request's Date"},
    {"regbadct.dat", REJECT_FIELD, .field = F_CONTACT, .code = SIPREG_PERR_ADDR,
     .why = "3.1.2.13: a Contact URI with ? headers must be in <>; inferring them only works "
            "by luck here, and a binding must be unambiguous: 400"},
    {"badaspec.dat", REJECT_FIELD, .field = F_TO, .code = SIPREG_PERR_URI,
     .why = "3.1.2.14: SP inside the <> of the To addr-spec: RFC 4475 finds a 400 reasonable "
            "(tolerating it is optional); a registrar's AOR comes from To, so stay strict"},
    {"baddn.dat", REJECT_FIELD, .field = F_FROM, .code = SIPREG_PERR_ADDR,
     .why = "3.1.2.15: unquoted display names with non-token chars (`Bell, Alexander`): 400. "
            "This copy lacks the final empty line; a datagram ending after a whole header line "
            "is taken as complete, so the From value decides"},
    {"badvers.dat", REJECT, .code = SIPREG_PERR_VERSION,
     .why = "3.1.2.16: SIP/7.0: 505 Version Not Supported"},
    {"mismatch01.dat", REJECT, .code = SIPREG_PERR_CSEQ_METHOD,
     .why = "3.1.2.17: OPTIONS request with CSeq method INVITE: 400"},
    {"mismatch02.dat", REJECT, .code = SIPREG_PERR_CSEQ_METHOD,
     .why = "3.1.2.18: NEWMETHOD request with CSeq method INVITE: 400 (not just 501)"},
    {"bigcode.dat", REJECT, .code = SIPREG_PERR_STATUS,
     .why = "3.1.2.19: status 4294967301 is not 3 digits (and > 699): discard, never wrap"},

    /* 3.2 Transaction layer semantics */
    {"badbranch.dat", ACCEPT, REQ("OPTIONS", OPTIONS), .ruri = "sip:user@example.com",
     .ruri_user = "user", .ruri_host = "example.com", .nvia = 1, .branch = "z9hG4bK",
     .call_id = "badbranch.sadonfo23i420jv0as0derf3j3n", .cseq = 8, .cseq_method = "OPTIONS",
     .from_tag = "33242", .to_user = "user", .to_host = "example.com", .ncontact = 0,
     .content_length = "0", .body_len = 0, .extra = x_badbranch,
     .why = "3.2.1: a branch that is only the magic cookie parses; what to do with it is the "
            "transaction layer's business"},

    /* 3.3 Application layer semantics */
    {"insuf.dat", REJECT, .code = SIPREG_PERR_MISSING_FROM, .alt = SIPREG_PERR_MISSING_TO,
     .why = "3.3.1: no To, From or Call-ID: 400 (the first missing one checked is reported)"},
    {"unkscm.dat", ACCEPT, REQ("OPTIONS", OPTIONS),
     .ruri = "nobodyKnowsThisScheme:totallyopaquecontent", .ruri_user = ABSENT, .ruri_host = ABSENT,
     .nvia = 1, .branch = "z9hG4bKkdjuw39234", .call_id = "unkscm.nasdfasser0q239nwsdfasdkl34",
     .cseq = 3923423, .cseq_method = "OPTIONS", .from_tag = "384", .to_user = "user",
     .to_host = "example.com", .ncontact = 0, .content_length = "0", .body_len = 0,
     .extra = x_unkscm,
     .why = "3.3.2: an unknown Request-URI scheme parses as an absoluteURI; the element answers "
            "416"},
    {"novelsc.dat", ACCEPT, REQ("OPTIONS", OPTIONS), .ruri = "soap.beep://192.0.2.103:3002",
     .ruri_user = ABSENT, .ruri_host = ABSENT, .nvia = 1, .branch = "z9hG4bKkdjuw39234",
     .call_id = "novelsc.asdfasser0q239nwsdfasdkl34", .cseq = 3923423, .cseq_method = "OPTIONS",
     .from_tag = "384", .to_user = "user", .to_host = "example.com", .ncontact = 0,
     .content_length = "0", .body_len = 0, .extra = x_novelsc,
     .why = "3.3.3: a known but non-SIP scheme (with . in it) parses; the element answers 416"},
    {"unksm2.dat",
     ACCEPT,
     REQ("REGISTER", REGISTER),
     .ruri = "sip:example.com",
     .ruri_user = ABSENT,
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw",
     .call_id = "unksm2.daksdj@hyphenated-host.example.com",
     .cseq = 234902,
     .cseq_method = "REGISTER",
     .from_tag = "3234233",
     .to_user = ABSENT,
     .to_host = ABSENT,
     .ncontact = 1,
     .contact_host = ABSENT,
     .contact_expires = ABSENT,
     .content_length = "0",
     .body_len = 0,
     .extra = x_unksm2,
     .why = "3.3.4: isbn:, http: and name: URIs in To, From and Contact parse as absoluteURIs; "
            "the registrar then refuses the non-SIP AOR"},
    {"bext01.dat", ACCEPT, REQ("OPTIONS", OPTIONS), .ruri = "sip:user@example.com",
     .ruri_user = "user", .ruri_host = "example.com", .nvia = 1, .branch = "z9hG4bKkdjuw",
     .call_id = "bext01.0ha0isndaksdj", .cseq = 8, .cseq_method = "OPTIONS", .from_tag = "242etr",
     .to_user = "j_user", .to_host = "example.com", .ncontact = 0, .content_length = "0",
     .body_len = 0, .extra = x_bext01,
     .why = "3.3.5: unknown Require/Proxy-Require tags parse; the element answers 420"},
    {"invut.dat",
     ACCEPT,
     REQ("INVITE", INVITE),
     .ruri = "sip:user@example.com",
     .ruri_user = "user",
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw",
     .call_id = "invut.0ha0isndaksdjadsfij34n23d",
     .cseq = 235448,
     .cseq_method = "INVITE",
     .from_tag = "8392034",
     .to_user = "j.user",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "host5.example.net",
     .contact_expires = ABSENT,
     .content_length = "40",
     .body_len = 40,
     .why = "3.3.6: an unknown Content-Type parses; the element answers 415"},
    {"regaut01.dat", ACCEPT, REQ("REGISTER", REGISTER), .ruri = "sip:example.com",
     .ruri_user = ABSENT, .ruri_host = "example.com", .nvia = 1, .branch = "z9hG4bKkdjuw",
     .call_id = "regaut01.0ha0isndaksdj", .cseq = 9338, .cseq_method = "REGISTER",
     .from_tag = "87321hj23128", .to_user = "j.user", .to_host = "example.com", .ncontact = 0,
     .content_length = "0", .body_len = 0, .extra = x_regaut01,
     .why = "3.3.7: an unknown Authorization scheme parses; the registrar answers 401 with a "
            "Digest challenge"},
    {"multi01.dat", REJECT, .code = SIPREG_PERR_DUP_HEADER,
     .why = "3.3.8: two CSeq, Call-ID, To, From and Max-Forwards values: 400"},
    {"mcl01.dat", REJECT, .code = SIPREG_PERR_DUP_HEADER, .alt = SIPREG_PERR_CONTENT_LENGTH,
     .why = "3.3.9: two Content-Length values (13 and 5): the body length is unknowable, 400"},
    {"bcast.dat", ACCEPT, RESP(200, "OK"), .nvia = 2, .branch = "z9hG4bK1324923",
     .call_id = "bcast.0384840201234ksdfak3j2erwedfsASdf", .cseq = 35, .cseq_method = "INVITE",
     .from_tag = "11141343", .to_user = "user", .to_host = "example.edu", .ncontact = 1,
     .contact_host = "host28.example.com", .contact_expires = ABSENT, .content_length = "154",
     .body_len = 154, .extra = x_bcast,
     .why = "3.3.10: a broadcast address in the second Via is well-formed; a proxy drops the "
            "response instead of forwarding it"},
    {"zeromf.dat", ACCEPT, REQ("OPTIONS", OPTIONS), .ruri = "sip:user@example.com",
     .ruri_user = "user", .ruri_host = "example.com", .nvia = 1, .branch = "z9hG4bKkdjuw2349i",
     .call_id = "zeromf.jfasdlfnm2o2l43r5u0asdfas", .cseq = 39234321, .cseq_method = "OPTIONS",
     .from_tag = "3ghsd41", .to_user = "user", .to_host = "example.com", .ncontact = 0,
     .content_length = "0", .body_len = 0, .extra = x_zeromf,
     .why = "3.3.11: Max-Forwards 0 is valid; an endpoint answers, a proxy returns 483"},
    {"cparam01.dat",
     ACCEPT,
     REQ("REGISTER", REGISTER),
     .ruri = "sip:example.com",
     .ruri_user = ABSENT,
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw",
     .call_id = "cparam01.70710@saturn.example.com",
     .cseq = 2,
     .cseq_method = "REGISTER",
     .from_tag = "DkfVgjkrtMwaerKKpe",
     .to_user = "watson",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "gw1.example.net",
     .contact_expires = ABSENT,
     .content_length = "0",
     .body_len = 0,
     .extra = x_cparam01,
     .why = "3.3.12: without <>, ;unknownparam is a Contact header param, not a URI param"},
    {"cparam02.dat",
     ACCEPT,
     REQ("REGISTER", REGISTER),
     .ruri = "sip:example.com",
     .ruri_user = ABSENT,
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw",
     .call_id = "cparam02.70710@saturn.example.com",
     .cseq = 3,
     .cseq_method = "REGISTER",
     .from_tag = "838293",
     .to_user = "watson",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "gw1.example.net",
     .contact_expires = ABSENT,
     .content_length = "0",
     .body_len = 0,
     .extra = x_cparam02,
     .why = "3.3.13: inside <>, ;unknownparam is a URI param and stays in the binding's URI"},
    {"regescrt.dat",
     ACCEPT,
     REQ("REGISTER", REGISTER),
     .ruri = "sip:example.com",
     .ruri_user = ABSENT,
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw",
     .call_id = "regescrt.k345asrl3fdbv@192.0.2.1",
     .cseq = 14398234,
     .cseq_method = "REGISTER",
     .from_tag = "8",
     .to_user = "user",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "example.com",
     .contact_expires = ABSENT,
     .content_length = "0",
     .body_len = 0,
     .extra = x_regescrt,
     .why = "3.3.14: an escaped Route header inside a <> Contact URI is legal and kept"},
    {"sdp01.dat",
     ACCEPT,
     REQ("INVITE", INVITE),
     .ruri = "sip:user@example.com",
     .ruri_user = "user",
     .ruri_host = "example.com",
     .nvia = 1,
     .branch = "z9hG4bKkdjuw",
     .call_id = "sdp01.ndaksdj9342dasdd",
     .cseq = 8,
     .cseq_method = "INVITE",
     .from_tag = "234",
     .to_user = "j_user",
     .to_host = "example.com",
     .ncontact = 1,
     .contact_host = "host15.example.net",
     .contact_expires = ABSENT,
     .content_length = "150",
     .body_len = 150,
     .why = "3.3.15: an Accept nobody supports parses; the element answers 406"},

    /* 3.4 Backward compatibility */
    {"inv2543.dat", ACCEPT, REQ("INVITE", INVITE), .ruri = "sip:UserB@example.com",
     .ruri_user = "UserB", .ruri_host = "example.com", .nvia = 1, .branch = ABSENT,
     .call_id = "inv2543.1717@ift.client.example.com", .cseq = 56, .cseq_method = "INVITE",
     .from_tag = ABSENT, .to_user = "+16505552222", .to_host = "ss1.example.net", .ncontact = 0,
     .content_length = ABSENT, .body_len = 105, .extra = x_inv2543,
     .why = "3.4.1: RFC 2543 syntax (no branch, no From tag, no Max-Forwards, no Content-Length "
            "over UDP: the body is the rest of the datagram) must be accepted"},

    /* not in the RFC text: the stray file of the RFC's archive */
    {"test.dat", REJECT, .code = SIPREG_PERR_START_LINE,
     .why = "archive extra: the request line has no SIP-Version (and a header has no colon): "
            "400, not 505"},
};

#define NTABLE (sizeof table / sizeof table[0])

/* ---- running one row ---- */

static int read_file(const char *dir, const char *file, char **out, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("FAIL %s: cannot open %s: %s\n", file, path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n + k > cap) {
            cap = (n + k) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                printf("FAIL %s: out of memory\n", file);
                return -1;
            }
            buf = nb;
        }
        memcpy(buf + n, chunk, k);
        n += k;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || n == 0) {
        free(buf);
        printf("FAIL %s: %s is %s\n", file, path, bad ? "unreadable" : "empty");
        return -1;
    }
    /* exactly n bytes, so that reading one byte past the message is caught by ASan */
    *out = malloc(n);
    if (!*out) {
        free(buf);
        return -1;
    }
    memcpy(*out, buf, n);
    free(buf);
    *len = n;
    return 0;
}

static int field_parse(struct sipreg_msg *m, enum field f, struct sipreg_perr *why,
                       struct sipreg_arena *a)
{
    const struct sipreg_via *v;
    const struct sipreg_addr *ad;
    const struct sipreg_uri *u;
    struct sipreg_contact *ct;
    struct sipreg_auth au;
    const struct sipreg_hdr *h;
    switch (f) {
    case F_RURI: return sipreg_msg_ruri(m, &u, why);
    case F_VIA: return sipreg_msg_via(m, &v, why);
    case F_FROM: return sipreg_msg_from(m, &ad, why);
    case F_TO: return sipreg_msg_to(m, &ad, why);
    case F_CONTACT: return sipreg_msg_contacts(m, &ct, why);
    case F_AUTH:
        h = sipreg_msg_hdr_find(m, SIPREG_HDR_AUTHORIZATION);
        return h ? sipreg_auth_parse(&au, h->value, &m->lim, a, why) : SIPREG_ENOENT;
    case F_NONE: break;
    }
    return SIPREG_EINVAL;
}

static int code_ok(const struct expect *e, enum sipreg_perr_code got)
{
    return got == e->code || (e->alt != SIPREG_PERR_NONE && got == e->alt);
}

static const char *want_codes(const struct expect *e)
{
    static char s[128];
    if (e->alt == SIPREG_PERR_NONE)
        return perr_name(e->code);
    snprintf(s, sizeof s, "%s or %s", perr_name(e->code), perr_name(e->alt));
    return s;
}

static void check_accept(struct check *c, const struct expect *e, struct sipreg_msg *m)
{
    struct sipreg_perr why = {0};

    /* start line */
    expect_int(c, "is_request", m->is_request, e->method != NULL);
    if (e->method) {
        expect_str(c, "method", m->method_s, e->method);
        expect_int(c, "method id", m->method, e->method_id);
        expect_str(c, "Request-URI", m->ruri, e->ruri);
    } else {
        expect_int(c, "status", m->status, e->status);
        expect_str(c, "reason", m->reason, e->reason);
    }
    expect_int(c, "message length", (long long)m->len,
               (long long)(e->msg_len ? e->msg_len : c->len));
    expect_int(c, "skipped", (long long)m->skipped, 0);

    /* the fields parsed by sipreg_msg_parse */
    expect_str(c, "Call-ID", m->call_id, e->call_id);
    expect_int(c, "CSeq number", m->cseq.num, e->cseq);
    expect_str(c, "CSeq method", m->cseq.method, e->cseq_method);
    if (e->method)
        expect_int(c, "CSeq method id", m->cseq.method_id, e->method_id);
    if (e->content_length == ABSENT)
        expect_int(c, "Content-Length", m->content_length, -1);
    else
        expect_int(c, "Content-Length", m->content_length, strtoll(e->content_length, NULL, 10));
    expect_int(c, "body length", (long long)m->body.len, (long long)e->body_len);
    if (m->body.p && m->body.p + m->body.len != c->buf + m->len)
        fail(c, "expected the body to end the message (at %zu) got it ending at %td", m->len,
             m->body.p + m->body.len - c->buf);

    /* Request-URI */
    if (e->method) {
        const struct sipreg_uri *u = ruri_of(c, m);
        if (u) {
            expect_str(c, "Request-URI raw", u->raw, e->ruri);
            expect_str(c, "Request-URI user", u->user, e->ruri_user);
            expect_str(c, "Request-URI host", u->host, e->ruri_host);
        }
    }

    /* Via */
    const struct sipreg_via *v = NULL;
    if (sipreg_msg_via(m, &v, &why) != 0) {
        fail(c, "expected Via to parse got %s at %zu", perr_name(why.code), why.offset);
    } else {
        size_t n = 0;
        for (const struct sipreg_via *p = v; p; p = p->next)
            n++;
        expect_int(c, "Via values", (long long)n, (long long)e->nvia);
        if (v)
            expect_str(c, "top Via branch", v->branch, e->branch);
    }

    /* From, To */
    const struct sipreg_addr *ad;
    if ((ad = addr_of(c, m, F_FROM)))
        expect_str(c, "From tag", ad->tag, e->from_tag);
    if ((ad = addr_of(c, m, F_TO))) {
        expect_str(c, "To user", ad->uri.user, e->to_user);
        expect_str(c, "To host", ad->uri.host, e->to_host);
    }

    /* Contact */
    struct sipreg_contact *ct = NULL;
    if (sipreg_msg_contacts(m, &ct, &why) != 0) {
        fail(c, "expected Contact to parse got %s at %zu", perr_name(why.code), why.offset);
    } else {
        size_t n = 0;
        for (struct sipreg_contact *p = ct; p; p = p->next)
            n++;
        expect_int(c, "Contact values", (long long)n, (long long)e->ncontact);
        if (ct && e->contact_host) {
            expect_str(c, "Contact host", ct->addr.uri.host, e->contact_host);
            if (e->contact_expires == ABSENT)
                expect_int(c, "Contact expires", ct->expires, -1);
            else if (e->contact_expires)
                expect_int(c, "Contact expires", ct->expires,
                           strtoll(e->contact_expires, NULL, 10));
        }
    }

    /* every Authorization header parses (the scheme may be unknown) */
    for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, SIPREG_HDR_AUTHORIZATION); h;
         h = sipreg_msg_hdr_next(m, h)) {
        struct sipreg_auth au;
        if (sipreg_auth_parse(&au, h->value, &m->lim, &c->arena, &why) != 0)
            fail(c, "expected Authorization to parse got %s", perr_name(why.code));
    }

    if (e->extra)
        e->extra(c, m);

    /* Stream framing must agree with the datagram parse when Content-Length is given. */
    if (m->content_length >= 0) {
        size_t flen = 0;
        int err = sipreg_msg_frame(c->buf, c->len, NULL, &flen, &why);
        if (err != 0)
            fail(c, "expected sipreg_msg_frame to frame the message got %s (%s)",
                 sipreg_errname(err), perr_name(why.code));
        else
            expect_int(c, "framed length", (long long)flen, (long long)m->len);
        struct sipreg_msg sm;
        sipreg_arena_reset(&c->arena);
        err = sipreg_msg_parse(&sm, c->buf, c->len, SIPREG_MSG_STREAM, NULL, &c->arena, &why);
        if (err != 0)
            fail(c, "expected a stream-mode parse to succeed got %s (%s)", sipreg_errname(err),
                 perr_name(why.code));
        else
            expect_int(c, "stream-mode length", (long long)sm.len, (long long)m->len);
    }
}

static int run(const char *dir, const struct expect *e)
{
    static char mem[64 * 1024];
    struct check c = {.file = e->file, .tag = e->pending ? "PENDING" : "FAIL"};
    char *buf;
    if (read_file(dir, e->file, &buf, &c.len) != 0)
        return 1;
    c.buf = buf;
    sipreg_arena_init(&c.arena, mem, sizeof mem);

    struct sipreg_msg m;
    struct sipreg_perr why = {SIPREG_PERR_NONE, 0};
    int err = sipreg_msg_parse(&m, buf, c.len, SIPREG_MSG_DATAGRAM, NULL, &c.arena, &why);

    switch (e->outcome) {
    case REJECT:
        if (err == 0) {
            fail(&c, "expected REJECT %s got ACCEPT", want_codes(e));
        } else if (err != SIPREG_EPARSE) {
            fail(&c, "expected REJECT %s got %s", want_codes(e), sipreg_errname(err));
        } else if (!code_ok(e, why.code)) {
            fail(&c, "expected REJECT %s got REJECT %s at %zu", want_codes(e), perr_name(why.code),
                 why.offset);
        } else if (why.offset > c.len) {
            fail(&c, "expected the error offset within the message got %zu", why.offset);
        }
        break;
    case REJECT_FIELD:
        if (err != 0) {
            fail(&c, "expected REJECT_FIELD %s %s got REJECT %s at %zu", field_names[e->field],
                 want_codes(e), perr_name(why.code), why.offset);
            break;
        }
        why = (struct sipreg_perr){SIPREG_PERR_NONE, 0};
        err = field_parse(&m, e->field, &why, &c.arena);
        if (err == 0)
            fail(&c, "expected REJECT_FIELD %s %s got ACCEPT", field_names[e->field],
                 want_codes(e));
        else if (err != SIPREG_EPARSE)
            fail(&c, "expected REJECT_FIELD %s %s got %s", field_names[e->field], want_codes(e),
                 sipreg_errname(err));
        else if (!code_ok(e, why.code))
            fail(&c, "expected REJECT_FIELD %s %s got %s at %zu", field_names[e->field],
                 want_codes(e), perr_name(why.code), why.offset);
        else if (why.offset > c.len)
            fail(&c, "expected the error offset within the message got %zu", why.offset);
        break;
    case ACCEPT:
    case ACCEPT_LIBERAL:
        if (err != 0) {
            fail(&c, "expected %s got REJECT %s (%s) at %zu", outcome_names[e->outcome],
                 perr_name(why.code), sipreg_errname(err), why.offset);
            break;
        }
        check_accept(&c, e, &m);
        break;
    }
    free(buf);
    if (e->pending) {
        if (c.failed) {
            printf("pending %s %s: known bug, not counted: %s\n", e->file,
                   outcome_names[e->outcome], e->pending);
            return 0;
        }
        printf("FAIL %s: passes now; remove the row's pending marker (%s)\n", e->file, e->pending);
        return 1;
    }
    if (!c.failed)
        printf("ok %s %s\n", e->file, outcome_names[e->outcome]);
    return c.failed;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s <dir> [file.dat]\n", argv[0]);
        return 2;
    }
    /* the table must be complete and well-formed: every row says why */
    for (size_t i = 0; i < NTABLE; i++) {
        if (!table[i].why || !table[i].why[0]) {
            printf("FAIL %s: the table row has no why\n", table[i].file);
            return 1;
        }
    }
    int failed = 0;
    if (argc == 3) {
        for (size_t i = 0; i < NTABLE; i++)
            if (strcmp(table[i].file, argv[2]) == 0)
                return run(argv[1], &table[i]);
        printf("FAIL %s: no expectation in the table\n", argv[2]);
        return 1;
    }
    for (size_t i = 0; i < NTABLE; i++)
        failed += run(argv[1], &table[i]);
    printf("%zu messages, %d failed\n", NTABLE, failed);
    return failed != 0;
}
