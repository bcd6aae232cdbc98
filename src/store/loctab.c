/* The compact location table (see loctab.h).
 *
 * One allocation per AOR: a 40-byte header, the AOR, then its bindings packed back to back (see
 * "packing" below: a registrar's binding takes about 100 bytes beside its Contact URI and
 * Call-ID). Replacing
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
    int64_t base;  /* the first second seen: expiries are packed relative to it */
    int wstarted;
    struct lrec *wheel[WHEEL_N];
};

/* ---- packing ----
 *
 * A binding: a flags byte, a second one when its optional strings are not in the registrar's
 * usual shape, the expiry (8 bytes), then varints: expiry - updated_at, updated_at -
 * registered_at (or both times whole, when they do not fit), CSeq, q and reg-id (zigzag); then
 * the strings, each a varint of its length + 1 (0: absent) and its bytes, except that the key is
 * usually the Contact URI itself (stored once) and the source a packed address. */

enum {
    K_STORED = 0, /* bits 0-1: the key */
    K_CONTACT = 1,
    K_SLICE = 2,           /* a slice of the contact: varint offset, varint length */
    F_WIDE_TIMES = 1 << 2, /* registered_at and updated_at as whole 64-bit values */
    F_SRC_ADDR = 1 << 3,   /* the source as transport, family, port and address bytes */
    T_SHIFT = 4,           /* bits 4-6: the transport's code */
    T_STORED = 0,
    T_ABSENT = 7,
    F_EXTRA = 1 << 7, /* a second byte follows: how path, instance and user agent are stored */
    O_ABSENT = 0,     /* per optional string, two bits of that byte */
    O_EMPTY = 1,
    O_STORED = 2,
};
/* Without the second byte: an empty path, no instance, a stored user agent. */
#define EXTRA_USUAL (O_EMPTY | O_ABSENT << 2 | O_STORED << 4)

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

static unsigned opt_form(struct sipreg_str s)
{
    return !s.p ? O_ABSENT : s.len ? O_STORED : O_EMPTY;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(char **p, uint64_t v)
{
    while (v >= 0x80) {
        *(*p)++ = (char)(v | 0x80);
        v >>= 7;
    }
    *(*p)++ = (char)v;
}

static uint64_t get_varint(const char **p)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        unsigned char c = (unsigned char)*(*p)++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void put64(char **p, int64_t v)
{
    memcpy(*p, &v, 8);
    *p += 8;
}

static int64_t get64(const char **p)
{
    int64_t v;
    memcpy(&v, *p, 8);
    *p += 8;
    return v;
}

static size_t str_len(struct sipreg_str s)
{
    return s.p ? varint_len(s.len + 1) + s.len : 1;
}

static void put_str(char **p, struct sipreg_str s)
{
    put_varint(p, s.p ? s.len + 1 : 0);
    if (s.p && s.len) {
        memcpy(*p, s.p, s.len);
        *p += s.len;
    }
}

static struct sipreg_str get_str(const char **p)
{
    uint64_t len = get_varint(p);
    if (len == 0)
        return SIPREG_STR_NULL;
    struct sipreg_str s = {*p, (size_t)len - 1};
    *p += len - 1;
    return s;
}

/* t - base, wrapping: any expiry round-trips, a near one packs into two or three bytes. */
static int64_t rel(int64_t t, int64_t base)
{
    return (int64_t)((uint64_t)t - (uint64_t)base);
}

/* How b will be packed (base set by the caller). */
struct plan {
    unsigned flags, extra;
    size_t key_off;
    int64_t base;         /* the table's time origin: expiries are stored from it */
    int64_t d_upd, d_reg; /* expires_at - updated_at, updated_at - registered_at */
    struct sipreg_netaddr src;
};

static int fits(int64_t a, int64_t b, int64_t *d)
{
    return !__builtin_sub_overflow(a, b, d) && *d >= 0;
}

/* The source as an address when formatting that address gives back the same text. */
static int pack_source(struct sipreg_str s, struct sipreg_netaddr *a)
{
    char z[SIPREG_NETADDR_STRLEN], again[SIPREG_NETADDR_STRLEN];
    if (!s.p || s.len == 0 || s.len >= sizeof z || memchr(s.p, 0, s.len))
        return 0;
    memcpy(z, s.p, s.len);
    z[s.len] = 0;
    if (sipreg_netaddr_parse(a, z, 0) != 0 || (a->family != 4 && a->family != 6))
        return 0;
    size_t n = sipreg_netaddr_format(a, again, sizeof again);
    return n == s.len && memcmp(again, z, n) == 0;
}

/* The packed size of b, or 0 when a string is too long to pack. */
static size_t plan_binding(const struct sipreg_binding *b, struct plan *pl)
{
    const struct sipreg_str strs[] = {b->key,  b->contact,  b->call_id,    b->source,
                                      b->path, b->instance, b->user_agent, b->transport};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i].p && strs[i].len > SIPREG__LOCTAB_MAX_FIELD)
            return 0;
    unsigned tc = transport_code(b->transport);
    pl->flags = tc << T_SHIFT;
    pl->extra = opt_form(b->path) | opt_form(b->instance) << 2 | opt_form(b->user_agent) << 4;
    size_t sz = 1 + varint_len(zigzag(rel(b->expires_at, pl->base))); /* flags, expiry */
    if (pl->extra != EXTRA_USUAL) {
        pl->flags |= F_EXTRA;
        sz++;
    }
    if (fits(b->expires_at, b->updated_at, &pl->d_upd) &&
        fits(b->updated_at, b->registered_at, &pl->d_reg)) {
        sz += varint_len((uint64_t)pl->d_upd) + varint_len((uint64_t)pl->d_reg);
    } else {
        pl->flags |= F_WIDE_TIMES;
        sz += 16;
    }
    sz += varint_len(b->cseq) + varint_len(zigzag(b->q)) + varint_len(zigzag(b->reg_id));
    pl->key_off = 0;
    if (b->key.p && b->contact.p && sipreg_str_eq(b->key, b->contact)) {
        pl->flags |= K_CONTACT;
    } else if (b->key.p && b->key.len && b->contact.p && b->contact.len > b->key.len) {
        const char *k = memmem(b->contact.p, b->contact.len, b->key.p, b->key.len);
        if (k) {
            pl->flags |= K_SLICE;
            pl->key_off = (size_t)(k - b->contact.p);
        }
    }
    switch (pl->flags & 3) {
    case K_STORED: sz += str_len(b->key); break;
    case K_SLICE: sz += varint_len(pl->key_off) + varint_len(b->key.len); break;
    default: break;
    }
    sz += str_len(b->contact) + str_len(b->call_id);
    if (pack_source(b->source, &pl->src)) {
        pl->flags |= F_SRC_ADDR;
        sz += 4 + (pl->src.family == 4 ? 4 : 16);
    } else {
        sz += str_len(b->source);
    }
    if (tc == T_STORED)
        sz += str_len(b->transport);
    if ((pl->extra & 3) == O_STORED)
        sz += str_len(b->path);
    if (((pl->extra >> 2) & 3) == O_STORED)
        sz += str_len(b->instance);
    if (((pl->extra >> 4) & 3) == O_STORED)
        sz += str_len(b->user_agent);
    return sz;
}

static void pack_binding(char **p, const struct sipreg_binding *b, const struct plan *pl)
{
    *(*p)++ = (char)pl->flags;
    if (pl->flags & F_EXTRA)
        *(*p)++ = (char)pl->extra;
    put_varint(p, zigzag(rel(b->expires_at, pl->base)));
    if (pl->flags & F_WIDE_TIMES) {
        put64(p, b->registered_at);
        put64(p, b->updated_at);
    } else {
        put_varint(p, (uint64_t)pl->d_upd);
        put_varint(p, (uint64_t)pl->d_reg);
    }
    put_varint(p, b->cseq);
    put_varint(p, zigzag(b->q));
    put_varint(p, zigzag(b->reg_id));
    if ((pl->flags & 3) == K_STORED)
        put_str(p, b->key);
    else if ((pl->flags & 3) == K_SLICE) {
        put_varint(p, pl->key_off);
        put_varint(p, b->key.len);
    }
    put_str(p, b->contact);
    put_str(p, b->call_id);
    if (pl->flags & F_SRC_ADDR) {
        *(*p)++ = (char)pl->src.transport;
        *(*p)++ = (char)pl->src.family;
        memcpy(*p, &pl->src.port, 2);
        *p += 2;
        size_t al = pl->src.family == 4 ? 4 : 16;
        memcpy(*p, pl->src.ip, al);
        *p += al;
    } else {
        put_str(p, b->source);
    }
    if (((pl->flags >> T_SHIFT) & 7) == T_STORED)
        put_str(p, b->transport);
    if ((pl->extra & 3) == O_STORED)
        put_str(p, b->path);
    if (((pl->extra >> 2) & 3) == O_STORED)
        put_str(p, b->instance);
    if (((pl->extra >> 4) & 3) == O_STORED)
        put_str(p, b->user_agent);
}

static struct sipreg_str get_opt(const char **p, unsigned form)
{
    return form == O_STORED  ? get_str(p)
           : form == O_EMPTY ? (struct sipreg_str){"", 0}
                             : SIPREG_STR_NULL;
}

/* Decodes the binding at *p and advances *p past it. Slices point into the record, except a
 * packed source: it is formatted into src (when src is NULL, b->source is left absent). */
static void unpack_binding(const char **p, int64_t base, struct sipreg_binding *b,
                           char src[SIPREG_NETADDR_STRLEN])
{
    unsigned flags = (unsigned char)*(*p)++;
    unsigned extra = flags & F_EXTRA ? (unsigned char)*(*p)++ : EXTRA_USUAL;
    memset(b, 0, sizeof *b);
    b->expires_at = (int64_t)((uint64_t)base + (uint64_t)unzigzag(get_varint(p)));
    if (flags & F_WIDE_TIMES) {
        b->registered_at = get64(p);
        b->updated_at = get64(p);
    } else {
        b->updated_at = b->expires_at - (int64_t)get_varint(p);
        b->registered_at = b->updated_at - (int64_t)get_varint(p);
    }
    b->cseq = (uint32_t)get_varint(p);
    b->q = (int)unzigzag(get_varint(p));
    b->reg_id = (int32_t)unzigzag(get_varint(p));
    size_t key_off = 0, key_len = 0;
    if ((flags & 3) == K_STORED)
        b->key = get_str(p);
    else if ((flags & 3) == K_SLICE) {
        key_off = (size_t)get_varint(p);
        key_len = (size_t)get_varint(p);
    }
    b->contact = get_str(p);
    if ((flags & 3) == K_CONTACT)
        b->key = b->contact;
    else if ((flags & 3) == K_SLICE)
        b->key = (struct sipreg_str){b->contact.p + key_off, key_len};
    b->call_id = get_str(p);
    if (flags & F_SRC_ADDR) {
        struct sipreg_netaddr a;
        memset(&a, 0, sizeof a);
        a.transport = (uint8_t) * (*p)++;
        a.family = (uint8_t) * (*p)++;
        memcpy(&a.port, *p, 2);
        *p += 2;
        size_t al = a.family == 4 ? 4 : 16;
        memcpy(a.ip, *p, al);
        *p += al;
        if (src)
            b->source =
                (struct sipreg_str){src, sipreg_netaddr_format(&a, src, SIPREG_NETADDR_STRLEN)};
    } else {
        b->source = get_str(p);
    }
    unsigned tc = (flags >> T_SHIFT) & 7;
    if (tc == T_STORED)
        b->transport = get_str(p);
    else if (tc != T_ABSENT)
        b->transport = sipreg_str_z(transport_names[tc]);
    b->path = get_opt(p, extra & 3);
    b->instance = get_opt(p, (extra >> 2) & 3);
    b->user_agent = get_opt(p, (extra >> 4) & 3);
}

static const char *rec_bindings(const struct lrec *r)
{
    return r->data + r->aor_len;
}

static int64_t rec_min_exp(const struct sipreg__loctab *t, const struct lrec *r)
{
    const char *p = rec_bindings(r);
    int64_t m = INT64_MAX;
    struct sipreg_binding b;
    for (unsigned i = 0; i < r->n; i++) {
        unpack_binding(&p, t->base, &b, NULL);
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
        t->base = now;
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
        unpack_binding(&p, t->base, &b, NULL);
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
        char *src = NULL;
        if ((unsigned char)*q & F_SRC_ADDR &&
            !(src = sipreg__arena_alloc(a, SIPREG_NETADDR_STRLEN))) {
            sipreg_arena_rewind(a, mark);
            return SIPREG_ENOMEM;
        }
        unpack_binding(&q, t->base, &v[i], src);
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
        struct plan pl = {.base = t->base};
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
        struct plan pl = {.base = t->base};
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
        unpack_binding(&rp, t->base, &b, NULL);
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
        int64_t m = rec_min_exp(t, r);
        if (m > now) { /* filed early (beyond the wheel's reach): file it again */
            wheel_file(t, r, m);
            continue;
        }
        int freed;
        got += purge(t, r, now, max_rows - got, &freed);
        if (!freed)
            wheel_file(t, r, rec_min_exp(t, r));
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
                char src[SIPREG_NETADDR_STRLEN];
                unpack_binding(&p, t->base, &b, src);
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
