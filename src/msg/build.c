/* Message builder: responses copied from a request (RFC 3261 §8.2.6, RFC 3581 §4) and requests. */
#include "msg_int.h"

static void add_hdr_raw(struct sipreg_buf *b, const char *name, struct sipreg_str v)
{
    sipreg_buf_addz(b, name);
    sipreg_buf_add(b, ": ", 2);
    sipreg_buf_adds(b, v);
    sipreg_buf_add(b, "\r\n", 2);
}

/* Start of the `;name=value` text of a parameter (the ';' before its name). */
static const char *param_start(const struct sipreg_param *pm, const char *lo)
{
    const char *p = pm->name.p;
    while (p > lo && p[-1] != ';')
        p--;
    return p > lo ? p - 1 : lo;
}

static const char *param_end(const struct sipreg_param *pm)
{
    return pm->value.p ? pm->value.p + pm->value.len : pm->name.p + pm->name.len;
}

/* The top Via value with received/rport rewritten: other text is copied verbatim. */
static void add_top_via(struct sipreg_buf *b, const struct sipreg_via *v,
                        struct sipreg_str received, int rport)
{
    const char *p = v->raw.p, *e = v->raw.p + v->raw.len;
    int set_rport = rport >= 0 && v->rport >= 0;
    for (size_t i = 0; i < v->params.n; i++) {
        const struct sipreg_param *pm = &v->params.v[i];
        int drop = (received.p && sipreg_str_caseeqz(pm->name, "received")) ||
                   (set_rport && sipreg_str_caseeqz(pm->name, "rport"));
        if (!drop)
            continue;
        const char *s = param_start(pm, p);
        sipreg_buf_add(b, p, (size_t)(s - p));
        p = param_end(pm);
    }
    sipreg_buf_add(b, p, (size_t)(e - p));
    if (received.p) {
        sipreg_buf_addz(b, ";received=");
        sipreg_buf_adds(b, received);
    }
    if (set_rport) {
        sipreg_buf_addz(b, ";rport=");
        sipreg_buf_addu(b, (uint64_t)rport);
    }
}

int sipreg_msg_build_response(struct sipreg_buf *b, struct sipreg_msg *req, int status,
                              struct sipreg_str reason, struct sipreg_str to_tag,
                              struct sipreg_str received, int rport)
{
    if (status < 100 || status > 699)
        return SIPREG_EINVAL;
    const struct sipreg_via *top;
    const struct sipreg_addr *to;
    const struct sipreg_hdr *from_h = sipreg_msg_hdr_find(req, SIPREG_HDR_FROM);
    const struct sipreg_hdr *to_h = sipreg_msg_hdr_find(req, SIPREG_HDR_TO);
    const struct sipreg_hdr *callid_h = sipreg_msg_hdr_find(req, SIPREG_HDR_CALL_ID);
    const struct sipreg_hdr *cseq_h = sipreg_msg_hdr_find(req, SIPREG_HDR_CSEQ);
    /* a partially parsed request may lack what a response must copy */
    if (!from_h || !to_h || !callid_h || !cseq_h)
        return SIPREG_EINVAL;
    int err = sipreg_msg_via(req, &top, NULL);
    if (err)
        return err;
    /* A To that does not parse is copied as it is, without a tag: the answer (a 400, say) must
     * still reach the client, which matches it by branch and CSeq. */
    err = sipreg_msg_to(req, &to, NULL);
    if (err == SIPREG_ENOMEM)
        return err;
    bool add_tag = err == 0 && !to->tag.p && to_tag.p && status != 100;
    sipreg_buf_addz(b, "SIP/2.0 ");
    sipreg_buf_addu(b, (uint64_t)status);
    sipreg_buf_addc(b, ' ');
    if (reason.p)
        sipreg_buf_adds(b, reason);
    else
        sipreg_buf_addz(b, sipreg_status_reason(status));
    sipreg_buf_add(b, "\r\n", 2);

    int first = 1;
    for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(req, SIPREG_HDR_VIA); h;
         h = sipreg_msg_hdr_next(req, h)) {
        if (first) {
            /* the top Via is the first value of the first Via header */
            sipreg_buf_addz(b, "Via: ");
            add_top_via(b, top, received, rport);
            const char *rest = top->raw.p + top->raw.len, *e = h->value.p + h->value.len;
            sipreg_buf_add(b, rest, (size_t)(e - rest));
            sipreg_buf_add(b, "\r\n", 2);
            first = 0;
        } else {
            add_hdr_raw(b, "Via", h->value);
        }
    }
    add_hdr_raw(b, "From", from_h->value);
    sipreg_buf_addz(b, "To: ");
    sipreg_buf_adds(b, to_h->value);
    if (add_tag) {
        sipreg_buf_addz(b, ";tag=");
        sipreg_buf_adds(b, to_tag);
    }
    sipreg_buf_add(b, "\r\n", 2);
    add_hdr_raw(b, "Call-ID", callid_h->value);
    add_hdr_raw(b, "CSeq", cseq_h->value);
    return sipreg_buf_status(b);
}

void sipreg_msg_build_request(struct sipreg_buf *b, struct sipreg_str method,
                              struct sipreg_str ruri)
{
    sipreg_buf_adds(b, method);
    sipreg_buf_addc(b, ' ');
    sipreg_buf_adds(b, ruri);
    sipreg_buf_addz(b, " SIP/2.0\r\n");
}

void sipreg_msg_build_hdr(struct sipreg_buf *b, const char *name, struct sipreg_str value)
{
    add_hdr_raw(b, name, value);
}

int sipreg_msg_build_end(struct sipreg_buf *b, const void *body, size_t body_len)
{
    sipreg_buf_addz(b, "Content-Length: ");
    sipreg_buf_addu(b, body_len);
    sipreg_buf_addz(b, "\r\n\r\n");
    sipreg_buf_add(b, body, body_len);
    return sipreg_buf_status(b);
}
