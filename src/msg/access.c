/* On-demand structured accessors of a parsed message, cached in the message. */
#include "msg_int.h"

static void shift_offset(struct sipreg_perr *why, const struct sipreg_hdr *h,
                         const struct sipreg_msg *m)
{
    /* structured parsers report offsets within the value; make them message offsets */
    if (why)
        why->offset += (size_t)(h->value.p - m->buf);
}

int sipreg_msg_via(struct sipreg_msg *m, const struct sipreg_via **out, struct sipreg_perr *why)
{
    if (m->via_cache) {
        *out = m->via_cache;
        return 0;
    }
    return sipreg__msg_via(m, out, why);
}

static int addr_of(struct sipreg_msg *m, enum sipreg_hdr_id id, const struct sipreg_addr **cache,
                   const struct sipreg_addr **out, struct sipreg_perr *why)
{
    if (*cache) {
        *out = *cache;
        return 0;
    }
    const struct sipreg_hdr *h = first_hdr(m, id);
    if (!h)
        return perr(why, id == SIPREG_HDR_FROM ? SIPREG_PERR_MISSING_FROM : SIPREG_PERR_MISSING_TO,
                    NULL, NULL);
    struct sipreg_addr *ad = sipreg__arena_alloc(m->arena, sizeof *ad);
    if (!ad)
        return perr(why, SIPREG_PERR_NO_MEMORY, NULL, NULL);
    int err = sipreg__addr_parse(ad, h->value, &m->lim, m->arena, why);
    if (err) {
        shift_offset(why, h, m);
        return err;
    }
    *cache = *out = ad;
    return 0;
}

int sipreg_msg_from(struct sipreg_msg *m, const struct sipreg_addr **out, struct sipreg_perr *why)
{
    return addr_of(m, SIPREG_HDR_FROM, &m->from_cache, out, why);
}

int sipreg_msg_to(struct sipreg_msg *m, const struct sipreg_addr **out, struct sipreg_perr *why)
{
    return addr_of(m, SIPREG_HDR_TO, &m->to_cache, out, why);
}

int sipreg_msg_ruri(struct sipreg_msg *m, const struct sipreg_uri **out, struct sipreg_perr *why)
{
    if (m->ruri_cache) {
        *out = m->ruri_cache;
        return 0;
    }
    if (!m->is_request)
        return perr(why, SIPREG_PERR_REQUEST_URI, NULL, NULL);
    struct sipreg_uri *u = sipreg__arena_alloc(m->arena, sizeof *u);
    if (!u)
        return perr(why, SIPREG_PERR_NO_MEMORY, NULL, NULL);
    int err = sipreg__uri_parse(u, m->ruri, &m->lim, m->arena, why);
    if (err) {
        if (why)
            why->offset += (size_t)(m->ruri.p - m->buf); /* a buffer offset, like the others */
        return err;
    }
    m->ruri_cache = *out = u;
    return 0;
}

int sipreg_msg_contacts(struct sipreg_msg *m, struct sipreg_contact **out, struct sipreg_perr *why)
{
    struct sipreg_contact *head = NULL, **tail = &head;
    /* the message's own index: Contact is a known id, so its headers are linked by next_same */
    for (size_t i = m->first[SIPREG_HDR_CONTACT]; i; i = m->next_same[i - 1]) {
        const struct sipreg_hdr *h = &m->hdr[i - 1];
        struct sipreg_contact *c;
        int err = sipreg__contact_parse(&c, h->value, &m->lim, m->arena, why);
        if (err) {
            shift_offset(why, h, m);
            return err;
        }
        *tail = c; /* as for Via: at most max_headers * max_list in all */
        for (; c; c = c->next)
            tail = &c->next;
    }
    *out = head;
    return 0;
}
