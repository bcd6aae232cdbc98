/* The compact location table (see loctab.h).
 *
 * One allocation per AOR: a 40-byte header, the AOR, then its bindings packed back to back
 * (lengths in 16 bits, times as one 64-bit expiry and two 32-bit deltas, the transport as a code,
 * the binding key as a slice of the Contact when it is one, which it nearly always is). Replacing
 * an AOR allocates its next block before it frees the old one, so a failure changes nothing.
 * A chained table finds an AOR in O(1); a wheel of one-second slots, one slot per second for
 * 4096 seconds, queues every AOR at its earliest expiry, so purging visits only AORs with
 * something to purge (an AOR further out than the wheel reaches waits in the last slot and is
 * filed again when that slot comes round). */
#define _GNU_SOURCE /* memmem */
#include <string.h>

#include "store/loctab.h"

#define WHEEL_BITS 12
#define WHEEL_N    ((int64_t)1 << WHEEL_BITS)
#define WHEEL_MASK ((uint64_t)WHEEL_N - 1)
#define ABSENT16   0xFFFFu

struct lrec {
    struct lrec *next;    /* hash chain */
    struct lrec *wnext;   /* wheel slot list */
    struct lrec **wpprev; /* what points at us in that list; NULL: not queued */
    uint64_t version;
    uint32_t hash; /* low bits of the AOR's SipHash: buckets are at most 2^32 */
    uint16_t aor_len;
    uint16_t n;
    char data[]; /* the AOR, then n packed bindings */
};

struct sipreg__loctab {
    uint8_t key[16];
    struct lrec **b;
    size_t nb; /* a power of two */
    size_t naors;
    size_t total;
    size_t max_total;
    uint64_t last_version;
    int64_t wtick; /* the next wheel second to visit */
    int wstarted;
    struct lrec *wheel[WHEEL_N];
};

/* ---- packing ---- */

enum {
    F_KEY_IN_CONTACT = 1, /* the key is a slice of the contact: an offset and a length */
    F_WIDE_TIMES = 2,     /* registered_at and updated_at as full 64-bit values */
    T_SHIFT = 2,          /* then the transport's code in 3 bits */
    T_STORED = 0,
    T_ABSENT = 7,
};

static const char *const transport_names[] = {NULL, "udp", "tcp", "tls", "ws", "wss", "sctp"};

static unsigned transport_code(struct sipreg_str t)
{
    if (!t.p)
        return T_ABSENT;
    for (unsigned i = 1; i < sizeof transport_names / sizeof transport_names[0]; i++)
        if (sipreg_str_eq(t, sipreg_str_z(transport_names[i])))
            return i;
    return T_STORED;
}

static void put16(char **p, uint16_t v)
{
    memcpy(*p, &v, 2);
    *p += 2;
}

static void put32(char **p, uint32_t v)
{
    memcpy(*p, &v, 4);
    *p += 4;
}

static void put64(char **p, int64_t v)
{
    memcpy(*p, &v, 8);
    *p += 8;
}

static void put_str(char **p, struct sipreg_str s)
{
    put16(p, s.p ? (uint16_t)s.len : (uint16_t)ABSENT16);
    if (s.p && s.len) {
        memcpy(*p, s.p, s.len);
        *p += s.len;
    }
}

static uint16_t get16(const char **p)
{
    uint16_t v;
    memcpy(&v, *p, 2);
    *p += 2;
    return v;
}

static uint32_t get32(const char **p)
{
    uint32_t v;
    memcpy(&v, *p, 4);
    *p += 4;
    return v;
}

static int64_t get64(const char **p)
{
    int64_t v;
    memcpy(&v, *p, 8);
    *p += 8;
    return v;
}

static struct sipreg_str get_str(const char **p)
{
    uint16_t len = get16(p);
    if (len == ABSENT16)
        return SIPREG_STR_NULL;
    struct sipreg_str s = {*p, len};
    *p += len;
    return s;
}

/* How b will be packed: its flags and, with F_KEY_IN_CONTACT, where the key sits. */
struct plan {
    unsigned flags;
    size_t key_off;
    int64_t d_upd, d_reg; /* expires_at - updated_at, updated_at - registered_at */
};

static int fits32(int64_t a, int64_t b, int64_t *d)
{
    return !__builtin_sub_overflow(a, b, d) && *d >= 0 && *d <= (int64_t)UINT32_MAX;
}

/* The packed size of b, or 0 when a string is too long to pack. */
static size_t plan_binding(const struct sipreg_binding *b, struct plan *pl)
{
    const struct sipreg_str strs[] = {b->key,  b->contact,  b->call_id,    b->source,
                                      b->path, b->instance, b->user_agent, b->transport};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i].p && strs[i].len > SIPREG__LOCTAB_MAX_FIELD)
            return 0;
    pl->flags = transport_code(b->transport) << T_SHIFT;
    size_t sz = 1 + 8 + 4 + 2 + 4; /* flags, expires_at, cseq, q, reg_id */
    if (fits32(b->expires_at, b->updated_at, &pl->d_upd) &&
        fits32(b->updated_at, b->registered_at, &pl->d_reg))
        sz += 8;
    else {
        pl->flags |= F_WIDE_TIMES;
        sz += 16;
    }
    pl->key_off = 0;
    if (b->key.p && b->key.len && b->contact.p && b->contact.len >= b->key.len) {
        const char *k = memmem(b->contact.p, b->contact.len, b->key.p, b->key.len);
        if (k) {
            pl->flags |= F_KEY_IN_CONTACT;
            pl->key_off = (size_t)(k - b->contact.p);
        }
    }
    sz += pl->flags & F_KEY_IN_CONTACT ? 4 : 2 + b->key.len;
    sz += 2 + b->contact.len + 2 + b->call_id.len + 2 + b->source.len;
    if (((pl->flags >> T_SHIFT) & 7) == T_STORED)
        sz += 2 + b->transport.len;
    sz += 2 + b->path.len + 2 + b->instance.len + 2 + b->user_agent.len;
    return sz;
}

static void pack_binding(char **p, const struct sipreg_binding *b, const struct plan *pl)
{
    *(*p)++ = (char)pl->flags;
    put64(p, b->expires_at);
    if (pl->flags & F_WIDE_TIMES) {
        put64(p, b->registered_at);
        put64(p, b->updated_at);
    } else {
        put32(p, (uint32_t)pl->d_upd);
        put32(p, (uint32_t)pl->d_reg);
    }
    put32(p, b->cseq);
    put16(p, (uint16_t)(int16_t)b->q);
    put32(p, (uint32_t)b->reg_id);
    if (pl->flags & F_KEY_IN_CONTACT) {
        put16(p, (uint16_t)pl->key_off);
        put16(p, (uint16_t)b->key.len);
    } else {
        put_str(p, b->key);
    }
    put_str(p, b->contact);
    put_str(p, b->call_id);
    put_str(p, b->source);
    if (((pl->flags >> T_SHIFT) & 7) == T_STORED)
        put_str(p, b->transport);
    put_str(p, b->path);
    put_str(p, b->instance);
    put_str(p, b->user_agent);
}

/* Decodes the binding at *p (slices into the record) and advances *p past it. */
static void unpack_binding(const char **p, struct sipreg_binding *b)
{
    unsigned flags = (unsigned char)*(*p)++;
    memset(b, 0, sizeof *b);
    b->expires_at = get64(p);
    if (flags & F_WIDE_TIMES) {
        b->registered_at = get64(p);
        b->updated_at = get64(p);
    } else {
        b->updated_at = b->expires_at - (int64_t)get32(p);
        b->registered_at = b->updated_at - (int64_t)get32(p);
    }
    b->cseq = get32(p);
    b->q = (int16_t)get16(p);
    b->reg_id = (int32_t)get32(p);
    size_t key_off = 0, key_len = 0;
    if (flags & F_KEY_IN_CONTACT) {
        key_off = get16(p);
        key_len = get16(p);
    } else {
        b->key = get_str(p);
    }
    b->contact = get_str(p);
    if (flags & F_KEY_IN_CONTACT)
        b->key = (struct sipreg_str){b->contact.p + key_off, key_len};
    b->call_id = get_str(p);
    b->source = get_str(p);
    unsigned tc = (flags >> T_SHIFT) & 7;
    if (tc == T_STORED)
        b->transport = get_str(p);
    else if (tc != T_ABSENT)
        b->transport = sipreg_str_z(transport_names[tc]);
    b->path = get_str(p);
    b->instance = get_str(p);
    b->user_agent = get_str(p);
}

static const char *rec_bindings(const struct lrec *r)
{
    return r->data + r->aor_len;
}

static int64_t rec_min_exp(const struct lrec *r)
{
    const char *p = rec_bindings(r);
    int64_t m = INT64_MAX;
    struct sipreg_binding b;
    for (unsigned i = 0; i < r->n; i++) {
        unpack_binding(&p, &b);
        if (b.expires_at < m)
            m = b.expires_at;
    }
    return m;
}

/* ---- the table ---- */

int sipreg__loctab_create(struct sipreg__loctab **out, size_t max_total, const uint8_t key[16])
{
    struct sipreg__loctab *t = sipreg_calloc(1, sizeof *t);
    if (!t)
        return SIPREG_ENOMEM;
    t->nb = 16;
    t->b = sipreg_calloc(t->nb, sizeof *t->b);
    if (!t->b) {
        sipreg_free(t);
        return SIPREG_ENOMEM;
    }
    memcpy(t->key, key, sizeof t->key);
    t->max_total = max_total;
    *out = t;
    return 0;
}

void sipreg__loctab_destroy(struct sipreg__loctab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nb; i++) {
        struct lrec *r = t->b[i], *next;
        for (; r; r = next) {
            next = r->next;
            sipreg_free(r);
        }
    }
    sipreg_free(t->b);
    sipreg_free(t);
}

static uint32_t hash_of(const struct sipreg__loctab *t, struct sipreg_str aor)
{
    return (uint32_t)sipreg__siphash24(t->key, aor.p, aor.len);
}

/* The link that points at the AOR's record (or at NULL, the end of its chain). */
static struct lrec **find(struct sipreg__loctab *t, uint32_t h, struct sipreg_str aor)
{
    struct lrec **pp = &t->b[h & (t->nb - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->aor_len == aor.len &&
            (aor.len == 0 || memcmp((*pp)->data, aor.p, aor.len) == 0))
            break;
    return pp;
}

/* Doubles the buckets at load factor 1; when that allocation fails, chains just grow longer. */
static void maybe_grow(struct sipreg__loctab *t)
{
    if (t->naors <= t->nb || t->nb >= ((size_t)1 << 31))
        return;
    size_t nb = t->nb * 2;
    struct lrec **b = sipreg_calloc(nb, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < t->nb; i++) {
        struct lrec *r = t->b[i], *next;
        for (; r; r = next) {
            next = r->next;
            r->next = b[r->hash & (nb - 1)];
            b[r->hash & (nb - 1)] = r;
        }
    }
    sipreg_free(t->b);
    t->b = b;
    t->nb = nb;
}

static void wheel_unlink(struct lrec *r)
{
    if (!r->wpprev)
        return;
    *r->wpprev = r->wnext;
    if (r->wnext)
        r->wnext->wpprev = r->wpprev;
    r->wnext = NULL;
    r->wpprev = NULL;
}

/* Queues r at second `when`: never before the next second visited, never further than the
 * wheel reaches (it is then filed again when its slot comes round). */
static void wheel_file(struct sipreg__loctab *t, struct lrec *r, int64_t when)
{
    int64_t tick = when;
    if (tick < t->wtick)
        tick = t->wtick;
    else if (tick - t->wtick >= WHEEL_N)
        tick = t->wtick + WHEEL_N - 1;
    struct lrec **slot = &t->wheel[(uint64_t)tick & WHEEL_MASK];
    r->wnext = *slot;
    if (r->wnext)
        r->wnext->wpprev = &r->wnext;
    *slot = r;
    r->wpprev = slot;
}

static void wheel_start(struct sipreg__loctab *t, int64_t now)
{
    if (!t->wstarted) {
        t->wtick = now;
        t->wstarted = 1;
    }
}

int sipreg__loctab_read(struct sipreg__loctab *t, struct sipreg_str aor, struct sipreg_arena *a,
                        struct sipreg_binding_list *out, uint64_t *version)
{
    struct lrec *r = *find(t, hash_of(t, aor), aor);
    size_t mark = sipreg__arena_mark(a);
    *version = r ? r->version : 0;
    out->v = NULL;
    out->n = 0;
    if (!r)
        return 0;
    struct sipreg_binding *v = sipreg__arena_alloc(a, r->n * sizeof *v);
    /* one copy of the record's strings: every slice is then repointed into it */
    const char *p = rec_bindings(r);
    struct sipreg_binding b;
    for (unsigned i = 0; i < r->n; i++)
        unpack_binding(&p, &b);
    size_t len = (size_t)(p - r->data);
    char *copy = sipreg__arena_alloc(a, len);
    if (!v || !copy) {
        sipreg_arena_rewind(a, mark);
        return SIPREG_ENOMEM;
    }
    memcpy(copy, r->data, len);
    struct sipreg_str aor_copy = {copy, r->aor_len};
    const char *q = copy + r->aor_len;
    for (unsigned i = 0; i < r->n; i++) {
        unpack_binding(&q, &v[i]);
        v[i].aor = aor_copy;
    }
    out->v = v;
    out->n = r->n;
    return 0;
}

int sipreg__loctab_replace(struct sipreg__loctab *t, struct sipreg_str aor, uint64_t expect,
                           const struct sipreg_binding *v, size_t n, int64_t now, uint64_t *version)
{
    if (aor.len > SIPREG__LOCTAB_MAX_FIELD || n > UINT16_MAX)
        return SIPREG_ELIMIT;
    uint32_t h = hash_of(t, aor);
    struct lrec **pp = find(t, h, aor), *r = *pp;
    if ((r ? r->version : 0) != expect)
        return SIPREG_ECONFLICT;
    size_t nold = r ? r->n : 0;
    if (n > nold && (n - nold > t->max_total || t->total > t->max_total - (n - nold)))
        return SIPREG_ELIMIT;
    wheel_start(t, now);
    if (n == 0) {
        if (r) {
            *pp = r->next;
            wheel_unlink(r);
            sipreg_free(r);
            t->naors--;
            t->total -= nold;
        }
        *version = 0;
        return 0;
    }
    size_t size = sizeof(struct lrec) + aor.len;
    int64_t min_exp = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        struct plan pl;
        size_t bs = plan_binding(&v[i], &pl);
        if (!bs)
            return SIPREG_ELIMIT;
        size += bs;
        if (v[i].expires_at < min_exp)
            min_exp = v[i].expires_at;
    }
    struct lrec *nr = sipreg_malloc(size);
    if (!nr)
        return SIPREG_ENOMEM;
    memset(nr, 0, sizeof *nr);
    nr->hash = h;
    nr->aor_len = (uint16_t)aor.len;
    nr->n = (uint16_t)n;
    nr->version = ++t->last_version;
    char *p = nr->data;
    if (aor.len)
        memcpy(p, aor.p, aor.len);
    p += aor.len;
    for (size_t i = 0; i < n; i++) {
        struct plan pl;
        (void)plan_binding(&v[i], &pl);
        pack_binding(&p, &v[i], &pl);
    }
    if (r) {
        nr->next = r->next;
        *pp = nr;
        wheel_unlink(r);
        sipreg_free(r);
    } else {
        nr->next = t->b[h & (t->nb - 1)];
        t->b[h & (t->nb - 1)] = nr;
        t->naors++;
        maybe_grow(t);
    }
    wheel_file(t, nr, min_exp);
    t->total = t->total - nold + n;
    *version = nr->version;
    return 0;
}

/* Drops at most max bindings of r expired at now, compacting the record in place (its block
 * keeps its size until the AOR is next replaced); frees r when none is left (*freed). Returns
 * how many were dropped. */
static size_t purge(struct sipreg__loctab *t, struct lrec *r, int64_t now, size_t max, int *freed)
{
    const char *rp = rec_bindings(r);
    char *wp = r->data + r->aor_len;
    size_t gone = 0;
    unsigned kept = 0;
    for (unsigned i = 0; i < r->n; i++) {
        const char *start = rp;
        struct sipreg_binding b;
        unpack_binding(&rp, &b);
        if (gone < max && b.expires_at <= now) {
            gone++;
            continue;
        }
        size_t len = (size_t)(rp - start);
        if (wp != start)
            memmove(wp, start, len);
        wp += len;
        kept++;
    }
    r->n = (uint16_t)kept;
    t->total -= gone;
    *freed = kept == 0;
    if (kept == 0) {
        struct lrec **pp = &t->b[r->hash & (t->nb - 1)];
        while (*pp != r)
            pp = &(*pp)->next;
        *pp = r->next;
        wheel_unlink(r);
        sipreg_free(r);
        t->naors--;
    }
    return gone;
}

void sipreg__loctab_expire(struct sipreg__loctab *t, int64_t now, size_t max_rows, size_t *purged)
{
    wheel_start(t, now);
    /* After a long pause (or a clock jump) every slot is due: start one turn back, which
     * still visits each slot once. */
    if (now > t->wtick && now - t->wtick > 2 * WHEEL_N)
        t->wtick = now - WHEEL_N;
    size_t budget = max_rows > (SIZE_MAX - 1024) / 8 ? SIZE_MAX : 1024 + 8 * max_rows;
    size_t got = 0;
    while (budget && t->wtick <= now && got < max_rows) {
        budget--;
        struct lrec *r = t->wheel[(uint64_t)t->wtick & WHEEL_MASK];
        if (!r) {
            t->wtick++;
            continue;
        }
        wheel_unlink(r);
        int64_t m = rec_min_exp(r);
        if (m > now) { /* filed early (beyond the wheel's reach): file it again */
            wheel_file(t, r, m);
            continue;
        }
        int freed;
        got += purge(t, r, now, max_rows - got, &freed);
        if (!freed)
            wheel_file(t, r, rec_min_exp(r));
    }
    *purged += got;
}

int sipreg__loctab_iterate(struct sipreg__loctab *t, int64_t now, sipreg_store_binding_fn fn,
                           void *ud)
{
    for (size_t i = 0; i < t->nb; i++) {
        for (struct lrec *r = t->b[i]; r; r = r->next) {
            const char *p = rec_bindings(r);
            for (unsigned j = 0; j < r->n; j++) {
                struct sipreg_binding b;
                unpack_binding(&p, &b);
                if (b.expires_at <= now)
                    continue;
                b.aor = (struct sipreg_str){r->data, r->aor_len};
                int rc = fn(&b, ud);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

size_t sipreg__loctab_bindings(const struct sipreg__loctab *t)
{
    return t->total;
}

size_t sipreg__loctab_aors(const struct sipreg__loctab *t)
{
    return t->naors;
}
