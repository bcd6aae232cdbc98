/* Non-INVITE server transactions, RFC 3261 §17.2.2 (Timer J) with §17.2.3 request matching. */
#include <string.h>

#include <openssl/rand.h>

#include "txn/txn_int.h"

/* Keys up to this many bytes live in the slot itself: a typical RFC 3261 key (method id, a
 * 40-byte branch, an IPv4 sent-by) is about 60 bytes, so a new transaction allocates nothing. */
#define KEY_INLINE 72

enum {
    ST_FREE = 0,
    ST_TRYING = SIPREG_NIST_STATE_TRYING,
    ST_COMPLETED = SIPREG_NIST_STATE_COMPLETED
};

struct sipreg_nist {
    struct sipreg_nist *hnext;       /* hash bucket chain */
    struct sipreg_nist **hpprev;     /* what points at this one: unlinking walks nothing */
    struct sipreg_nist *prev, *next; /* the timer FIFO of its state; the free list uses next */
    uint64_t hash;
    sipreg_time expires; /* Timer J in Completed, the 64*T1 guard in Trying */
    uint32_t gen;        /* bumped each time the slot is taken, so stale ids miss */
    uint32_t idx;        /* position in the slab, for ids */
    uint8_t state;
    uint8_t reliable;
    uint8_t replays; /* times the cached response was resent */
    uint16_t key_len;
    struct sipreg_netaddr src; /* where the request first came from */
    char *key_heap;            /* the key when longer than KEY_INLINE */
    char *resp;                /* cached final response (unreliable transports) */
    size_t resp_len, resp_cap;
    char key[KEY_INLINE];
};

struct fifo {
    struct sipreg_nist *head, *tail;
};

struct sipreg_nist_table {
    struct sipreg_nist *slots;
    struct sipreg_nist **buckets;
    size_t capacity, mask, count;
    struct sipreg_nist *free;
    struct fifo trying, completed; /* each ordered by expiry: the timers have constant length */
    sipreg_time timer_j;           /* 64*T1 */
    sipreg_time latest;            /* the latest `now` seen: time never goes back here */
    size_t max_resp;
    size_t cached, max_cached; /* bytes held in cached responses, and their budget */
    unsigned max_replays;
    uint8_t hash_key[16];
    struct sipreg_nist_stats st;
};

int sipreg__txn_timer(sipreg_time v, sipreg_time def, sipreg_time *out)
{
    if (v < 0 || v > SIPREG_TXN_TIMER_MAX)
        return SIPREG_EINVAL;
    *out = v ? v : def;
    return 0;
}

/* ---- the match key: a self-delimiting byte string, so equal keys mean equal fields ---- */

struct keybuf {
    uint8_t *p;
    size_t len;
    bool over;
};

static void kb_add(struct keybuf *k, const void *p, size_t n, bool lower)
{
    if (k->over || n > SIPREG_NIST_MAX_KEY - k->len) {
        k->over = true;
        return;
    }
    const uint8_t *s = p;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        k->p[k->len++] = (lower && c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
    }
}

static void kb_u16(struct keybuf *k, unsigned v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    kb_add(k, b, 2, false);
}

/* A length-prefixed field; an absent one (p == NULL) is distinct from an empty one. */
static void kb_str(struct keybuf *k, struct sipreg_str s, bool lower)
{
    if (!s.p) {
        kb_u16(k, 0xffff);
        return;
    }
    if (s.len >= 0xffff) {
        k->over = true;
        return;
    }
    kb_u16(k, (unsigned)s.len);
    kb_add(k, s.p, s.len, lower);
}

/* Methods are case-sensitive (§7.1); known ones take one byte. */
static void kb_method(struct keybuf *k, const struct sipreg_msg *m)
{
    uint8_t id = (uint8_t)m->method;
    kb_add(k, &id, 1, false);
    if (m->method == SIPREG_METHOD_UNKNOWN)
        kb_str(k, m->method_s, false);
}

static int build_key(struct sipreg_msg *m, struct keybuf *k)
{
    const struct sipreg_via *v;
    int err = sipreg_msg_via(m, &v, NULL);
    if (err)
        return err;
    static const char cookie[] = "z9hG4bK";
    if (v->branch.len >= sizeof cookie - 1 && memcmp(v->branch.p, cookie, sizeof cookie - 1) == 0) {
        /* §17.2.3: branch and sent-by; tokens and hosts compare case-insensitively (§7.3.1) */
        kb_add(k, "B", 1, false);
        kb_method(k, m);
        kb_str(k, v->branch, true);
        kb_str(k, v->host, true);
        kb_u16(k, v->port);
    } else {
        /* RFC 2543 peer: Request-URI, To tag, From tag, Call-ID, CSeq, top Via (§17.2.3) */
        const struct sipreg_addr *from, *to;
        if ((err = sipreg_msg_from(m, &from, NULL)) != 0 ||
            (err = sipreg_msg_to(m, &to, NULL)) != 0)
            return err;
        uint8_t num[4] = {(uint8_t)(m->cseq.num >> 24), (uint8_t)(m->cseq.num >> 16),
                          (uint8_t)(m->cseq.num >> 8), (uint8_t)m->cseq.num};
        kb_add(k, "L", 1, false);
        kb_method(k, m);
        kb_str(k, m->ruri, false);
        kb_str(k, to->tag, true);
        kb_str(k, from->tag, true);
        kb_str(k, m->call_id, false); /* byte for byte (§20.8) */
        kb_add(k, num, 4, false);
        kb_str(k, v->raw, false);
    }
    return k->over ? SIPREG_ELIMIT : 0;
}

static const char *slot_key(const struct sipreg_nist *x)
{
    return x->key_heap ? x->key_heap : x->key;
}

/* ---- lists ---- */

static void fifo_push(struct fifo *f, struct sipreg_nist *x)
{
    x->next = NULL;
    x->prev = f->tail;
    if (f->tail)
        f->tail->next = x;
    else
        f->head = x;
    f->tail = x;
}

static void fifo_unlink(struct fifo *f, struct sipreg_nist *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        f->head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    else
        f->tail = x->prev;
    x->prev = x->next = NULL;
}

static struct fifo *fifo_of(struct sipreg_nist_table *t, const struct sipreg_nist *x)
{
    return x->state == ST_TRYING ? &t->trying : &t->completed;
}

/* Ends a live transaction and returns its slot to the free list. */
static void release(struct sipreg_nist_table *t, struct sipreg_nist *x)
{
    fifo_unlink(fifo_of(t, x), x);
    *x->hpprev = x->hnext;
    if (x->hnext)
        x->hnext->hpprev = x->hpprev;
    sipreg_free(x->key_heap);
    sipreg_free(x->resp);
    t->cached -= x->resp_cap;
    x->key_heap = x->resp = NULL;
    x->resp_len = x->resp_cap = 0;
    x->hnext = NULL;
    x->hpprev = NULL;
    x->state = ST_FREE;
    x->next = t->free;
    t->free = x;
    t->count--;
}

static sipreg_time advance(struct sipreg_nist_table *t, sipreg_time now)
{
    if (now > t->latest)
        t->latest = now;
    return t->latest;
}

/* ---- table ---- */

int sipreg_nist_table_create(struct sipreg_nist_table **out, const struct sipreg_nist_cfg *cfg)
{
    static const struct sipreg_nist_cfg zero;
    struct sipreg_nist_table *t = NULL;
    sipreg_time t1, t4;
    int err;
    *out = NULL;
    if (!cfg)
        cfg = &zero;
    if ((err = sipreg__txn_timer(cfg->t1, SIPREG_TXN_T1, &t1)) != 0 ||
        (err = sipreg__txn_timer(cfg->t4, SIPREG_TXN_T4, &t4)) != 0)
        return err;
    size_t cap = cfg->capacity ? cfg->capacity : SIPREG_NIST_DEFAULT_CAPACITY;
    size_t max_resp = cfg->max_response ? cfg->max_response : SIPREG_NIST_DEFAULT_MAX_RESP;
    if (cap > SIPREG_NIST_MAX_CAPACITY || max_resp > SIPREG_NIST_MAX_RESP)
        return SIPREG_EINVAL;
    if (!(t = sipreg_calloc(1, sizeof *t)))
        return SIPREG_ENOMEM;
    /* load factor at most 1: buckets are the next power of two >= capacity */
    size_t nb = 1;
    while (nb < cap)
        nb <<= 1;
    t->slots = sipreg_calloc(cap, sizeof *t->slots);
    t->buckets = sipreg_calloc(nb, sizeof *t->buckets);
    if (!t->slots || !t->buckets) {
        err = SIPREG_ENOMEM;
        goto out;
    }
    t->capacity = cap;
    t->mask = nb - 1;
    t->timer_j = 64 * t1;
    t->max_resp = max_resp;
    t->max_cached = cfg->max_cached ? cfg->max_cached : (size_t)32 << 20;
    t->max_replays = cfg->max_replays ? cfg->max_replays : 10;
    t->latest = INT64_MIN;
    for (size_t i = cap; i-- > 0;) {
        t->slots[i].idx = (uint32_t)i;
        t->slots[i].next = t->free;
        t->free = &t->slots[i];
    }
    static const uint8_t nokey[16];
    if (memcmp(cfg->hash_key, nokey, 16) != 0)
        memcpy(t->hash_key, cfg->hash_key, 16);
    else if (RAND_bytes(t->hash_key, 16) != 1) {
        err = SIPREG_ECRYPTO;
        goto out;
    }
    *out = t;
    return 0;
out:
    sipreg_nist_table_destroy(t);
    return err;
}

void sipreg_nist_table_destroy(struct sipreg_nist_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->slots && i < t->capacity; i++) {
        sipreg_free(t->slots[i].key_heap);
        sipreg_free(t->slots[i].resp);
    }
    sipreg_free(t->slots);
    sipreg_free(t->buckets);
    sipreg_free(t);
}

size_t sipreg_nist_table_count(const struct sipreg_nist_table *t)
{
    return t->count;
}

void sipreg_nist_table_stats(const struct sipreg_nist_table *t, struct sipreg_nist_stats *out)
{
    *out = t->st;
    out->max_chain = 0;
    for (size_t b = 0; b <= t->mask; b++) {
        size_t n = 0;
        for (const struct sipreg_nist *x = t->buckets[b]; x; x = x->hnext)
            n++;
        if (n > out->max_chain)
            out->max_chain = n;
    }
}

/* ---- receive ---- */

static struct sipreg_nist *lookup(struct sipreg_nist_table *t, uint64_t h, const uint8_t *key,
                                  size_t len)
{
    for (struct sipreg_nist *x = t->buckets[h & t->mask]; x; x = x->hnext)
        if (x->hash == h && x->key_len == len && memcmp(slot_key(x), key, len) == 0)
            return x;
    return NULL;
}

int sipreg_nist_receive(struct sipreg_nist_table *t, struct sipreg_msg *req,
                        const struct sipreg_netaddr *src, sipreg_time now, struct sipreg_nist **txn,
                        struct sipreg_str *cached)
{
    uint8_t kmem[SIPREG_NIST_MAX_KEY];
    struct keybuf k = {kmem, 0, false};
    int err;
    if (txn)
        *txn = NULL;
    if (cached)
        *cached = SIPREG_STR_NULL;
    if (!req->is_request || req->method == SIPREG_METHOD_INVITE ||
        req->method == SIPREG_METHOD_ACK || !src)
        return SIPREG_EINVAL;
    now = advance(t, now);
    if ((err = build_key(req, &k)) != 0)
        return err;
    uint64_t h = sipreg__siphash24(t->hash_key, kmem, k.len);
    struct sipreg_nist *x = lookup(t, h, kmem, k.len);
    if (x) {
        if (txn)
            *txn = x;
        if (x->state == ST_TRYING) {
            /* §17.2.2: no provisional was sent (registrars send none), so nothing to resend */
            t->st.absorbed++;
            return SIPREG_NIST_ABSORB;
        }
        if (x->replays >= t->max_replays) {
            t->st.absorbed++;
            return SIPREG_NIST_ABSORB;
        }
        x->replays++;
        if (cached)
            *cached = (struct sipreg_str){x->resp, x->resp_len};
        t->st.replayed++;
        return SIPREG_NIST_REPLAY;
    }
    char *heap = NULL;
    if (k.len > KEY_INLINE) {
        if (!(heap = sipreg_malloc(k.len)))
            return SIPREG_ENOMEM;
        memcpy(heap, kmem, k.len);
    }
    if (!t->free) {
        /* Full: the Completed entry nearest to its Timer J gives the least protection away */
        if (!t->completed.head) {
            sipreg_free(heap);
            t->st.full++;
            return SIPREG_ELIMIT;
        }
        release(t, t->completed.head);
        t->st.evicted++;
    }
    x = t->free;
    t->free = x->next;
    x->hash = h;
    x->gen++;
    x->state = ST_TRYING;
    x->replays = 0;
    x->reliable = src->transport != SIPREG_TRANSPORT_UDP;
    x->src = *src;
    x->key_len = (uint16_t)k.len;
    x->key_heap = heap;
    if (!heap)
        memcpy(x->key, kmem, k.len);
    /* A TU that never answers must not pin the slot: the guard matches the client's Timer F */
    x->expires = now + t->timer_j;
    fifo_push(&t->trying, x);
    struct sipreg_nist **b = &t->buckets[h & t->mask];
    x->hnext = *b;
    x->hpprev = b;
    if (*b)
        (*b)->hpprev = &x->hnext;
    *b = x;
    t->count++;
    t->st.created++;
    if (txn)
        *txn = x;
    return SIPREG_NIST_NEW;
}

/* ---- respond, abandon, timers ---- */

static bool final_status_line(const char *p, size_t len)
{
    static const char v[] = "SIP/2.0 ";
    if (len < sizeof v - 1 + 4)
        return false;
    for (size_t i = 0; i < sizeof v - 1; i++) {
        char c = p[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (c != v[i])
            return false;
    }
    p += sizeof v - 1;
    return p[0] >= '2' && p[0] <= '6' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
           p[3] == ' ';
}

int sipreg_nist_respond(struct sipreg_nist_table *t, struct sipreg_nist *txn, const char *resp,
                        size_t len, sipreg_time now)
{
    if (!txn || txn->state == ST_FREE || !resp || !final_status_line(resp, len))
        return SIPREG_EINVAL;
    if (len > t->max_resp || len > t->max_cached)
        return SIPREG_ELIMIT;
    now = advance(t, now);
    if (txn->reliable) {
        /* §17.2.2: Timer J is zero on reliable transports; the caller sends the bytes itself */
        release(t, txn);
        t->st.terminated++;
        return SIPREG_NIST_TERMINATED;
    }
    if (len > txn->resp_cap) {
        /* the budget: the Completed transactions nearest to their Timer J go first */
        while (t->cached - txn->resp_cap + len > t->max_cached && t->completed.head &&
               t->completed.head != txn) {
            release(t, t->completed.head);
            t->st.evicted++;
        }
        if (t->cached - txn->resp_cap + len > t->max_cached)
            return SIPREG_ELIMIT;
        char *p = sipreg_realloc(txn->resp, len);
        if (!p)
            return SIPREG_ENOMEM;
        t->cached += len - txn->resp_cap;
        txn->resp = p;
        txn->resp_cap = len;
    }
    memcpy(txn->resp, resp, len);
    txn->resp_len = len;
    if (txn->state == ST_TRYING) {
        /* Timer J runs from the first final response; a replacement keeps it (FIFO order) */
        fifo_unlink(&t->trying, txn);
        txn->state = ST_COMPLETED;
        txn->expires = now + t->timer_j;
        fifo_push(&t->completed, txn);
    }
    return 0;
}

void sipreg_nist_abandon(struct sipreg_nist_table *t, struct sipreg_nist *txn)
{
    if (txn && txn->state == ST_TRYING)
        release(t, txn);
}

int sipreg_nist_state(const struct sipreg_nist *txn)
{
    return txn->state;
}

uint64_t sipreg_nist_id(const struct sipreg_nist *txn)
{
    return (uint64_t)txn->gen << 32 | txn->idx;
}

struct sipreg_nist *sipreg_nist_find(struct sipreg_nist_table *t, uint64_t id)
{
    uint32_t idx = (uint32_t)id;
    if (idx >= t->capacity)
        return NULL;
    struct sipreg_nist *x = &t->slots[idx];
    return x->state != ST_FREE && x->gen == (uint32_t)(id >> 32) ? x : NULL;
}

sipreg_time sipreg_nist_next_timeout(const struct sipreg_nist_table *t)
{
    const struct sipreg_nist *a = t->trying.head, *b = t->completed.head;
    if (a && b)
        return a->expires < b->expires ? a->expires : b->expires;
    return a ? a->expires : b ? b->expires : -1;
}

void sipreg_nist_timeout(struct sipreg_nist_table *t, sipreg_time now)
{
    now = advance(t, now);
    while (t->trying.head && t->trying.head->expires <= now) {
        release(t, t->trying.head);
        t->st.timed_out++;
    }
    while (t->completed.head && t->completed.head->expires <= now) {
        release(t, t->completed.head);
        t->st.terminated++;
    }
}

const struct sipreg_netaddr *sipreg_nist_source(const struct sipreg_nist *txn)
{
    return &txn->src;
}
