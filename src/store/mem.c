/* In-memory location store: SipHash-keyed AOR table, each AOR one block replaced whole by a
 * compare-and-set on its version. */
#include <openssl/rand.h>
#include <string.h>

#include "store/store_int.h"

/* ---- a chained hash table of intrusive nodes; insertion never fails ---- */

struct hnode {
    struct hnode *next;
    uint64_t h;
};

struct htab {
    struct hnode **b;
    size_t nb; /* a power of two */
    size_t n;
};

#define HT_INITIAL 16

static int ht_init(struct htab *t)
{
    t->b = sipreg_calloc(HT_INITIAL, sizeof *t->b);
    t->nb = HT_INITIAL;
    t->n = 0;
    return t->b ? 0 : SIPREG_ENOMEM;
}

static struct hnode *ht_first(const struct htab *t, uint64_t h)
{
    return t->b[h & (t->nb - 1)];
}

/* Doubles the bucket array at load factor 1. If that allocation fails the table keeps working
 * with longer chains, so that inserting, which follows a change's commit point, cannot fail. */
static void ht_insert(struct htab *t, struct hnode *node)
{
    struct hnode **slot = &t->b[node->h & (t->nb - 1)];
    node->next = *slot;
    *slot = node;
    t->n++;
    if (t->n <= t->nb || t->nb > SIZE_MAX / 2 / sizeof *t->b)
        return;
    size_t nb = t->nb * 2;
    struct hnode **b = sipreg_calloc(nb, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < t->nb; i++) {
        struct hnode *x = t->b[i], *next;
        for (; x; x = next) {
            next = x->next;
            x->next = b[x->h & (nb - 1)];
            b[x->h & (nb - 1)] = x;
        }
    }
    sipreg_free(t->b);
    t->b = b;
    t->nb = nb;
}

/* Puts node, of the same hash, in old's place: no growth, so it cannot fail. */
static void ht_swap(struct htab *t, struct hnode *old, struct hnode *node)
{
    struct hnode **pp = &t->b[old->h & (t->nb - 1)];
    while (*pp != old)
        pp = &(*pp)->next;
    node->next = old->next;
    *pp = node;
}

static void ht_unlink(struct htab *t, struct hnode *node)
{
    struct hnode **pp = &t->b[node->h & (t->nb - 1)];
    while (*pp != node)
        pp = &(*pp)->next;
    *pp = node->next;
    t->n--;
}

/* ---- the store ---- */

/* An AOR: its bindings and all their strings in one allocation. A change never edits it: it
 * builds the next block and swaps it in, so a failure leaves the old one untouched. */
struct maor {
    struct hnode node; /* first: a node pointer is the entry pointer */
    uint64_t version;
    struct sipreg_str aor;     /* in the string block; every binding's aor points here */
    size_t n;                  /* bindings held, expired or not, in the order last stored */
    struct sipreg_binding v[]; /* followed by the strings of aor and of v */
};

struct muser {
    struct hnode node;
    struct sipreg_user u;
    char data[];
};

struct mmeta {
    struct hnode node;
    struct sipreg_str k, v;
    char data[];
};

struct mem {
    struct sipreg__store_limits l;
    uint8_t key[16];
    struct htab aors, users, meta;
    size_t total;          /* bindings held, expired or not */
    size_t cursor;         /* next bucket expire() looks at */
    uint64_t last_version; /* versions are never handed out twice: see replace */
};

static uint64_t hash(const struct mem *m, struct sipreg_str s)
{
    return sipreg__siphash24(m->key, s.p, s.len);
}

static uint64_t user_hash(const struct mem *m, struct sipreg_str username, struct sipreg_str realm)
{
    uint64_t r = hash(m, realm);
    return hash(m, username) ^ ((r << 1) | (r >> 63));
}

static struct maor *find_aor(const struct mem *m, uint64_t h, struct sipreg_str aor)
{
    for (struct hnode *x = ht_first(&m->aors, h); x; x = x->next) {
        struct maor *e = (struct maor *)x;
        if (x->h == h && sipreg_str_eq(e->aor, aor))
            return e;
    }
    return NULL;
}

static struct muser *find_user(const struct mem *m, uint64_t h, struct sipreg_str username,
                               struct sipreg_str realm)
{
    for (struct hnode *x = ht_first(&m->users, h); x; x = x->next) {
        struct muser *u = (struct muser *)x;
        if (x->h == h && sipreg_str_eq(u->u.username, username) && sipreg_str_eq(u->u.realm, realm))
            return u;
    }
    return NULL;
}

static struct mmeta *find_meta(const struct mem *m, uint64_t h, struct sipreg_str k)
{
    for (struct hnode *x = ht_first(&m->meta, h); x; x = x->next) {
        struct mmeta *e = (struct mmeta *)x;
        if (x->h == h && sipreg_str_eq(e->k, k))
            return e;
    }
    return NULL;
}

static void mem_close(void *self)
{
    struct mem *m = self;
    struct htab *tabs[] = {&m->aors, &m->users, &m->meta};
    for (size_t t = 0; t < 3; t++) {
        if (!tabs[t]->b)
            continue;
        for (size_t i = 0; i < tabs[t]->nb; i++) {
            struct hnode *x = tabs[t]->b[i], *next;
            for (; x; x = next) {
                next = x->next;
                sipreg_free(x);
            }
        }
        sipreg_free(tabs[t]->b);
    }
    sipreg_free(m);
}

int sipreg__mem_open(void **self, const struct sipreg__store_limits *l,
                     const struct sipreg_store_cfg *cfg)
{
    struct mem *m = sipreg_calloc(1, sizeof *m);
    if (!m)
        return SIPREG_ENOMEM;
    m->l = *l;
    if (cfg)
        memcpy(m->key, cfg->hash_key, sizeof m->key);
    /* A key an attacker knows (all zero, the default) lets chosen AORs or user names fill one
     * bucket: flooding. Zero means "not given", as elsewhere in the cfg, so draw one. */
    static const uint8_t zero[sizeof m->key];
    if (memcmp(m->key, zero, sizeof zero) == 0 && RAND_bytes(m->key, sizeof m->key) != 1) {
        mem_close(m);
        return SIPREG_ECRYPTO;
    }
    if (ht_init(&m->aors) || ht_init(&m->users) || ht_init(&m->meta)) {
        mem_close(m);
        return SIPREG_ENOMEM;
    }
    *self = m;
    return 0;
}

static int mem_read(void *self, struct sipreg_str aor, struct sipreg_arena *a,
                    struct sipreg_binding_list *out, uint64_t *version)
{
    struct mem *m = self;
    struct maor *e = find_aor(m, hash(m, aor), aor);
    size_t n = e ? e->n : 0, nchars = 0;
    char *cur;
    for (size_t i = 0; i < n; i++)
        nchars += sipreg__binding_strlen(&e->v[i]);
    int err = sipreg__list_alloc(a, n, nchars, out, &cur);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++)
        sipreg__binding_copy(&out->v[i], &e->v[i], &cur);
    *version = e ? e->version : 0;
    return 0;
}

static int mem_replace(void *self, struct sipreg_str aor, uint64_t expect,
                       const struct sipreg_binding *v, size_t n, int64_t now, uint64_t *new_version)
{
    struct mem *m = self;
    uint64_t h = hash(m, aor);
    struct maor *e = find_aor(m, h, aor), *ne;
    size_t nold = e ? e->n : 0, nchars = aor.len, i;
    (void)now;
    if ((e ? e->version : 0) != expect)
        return SIPREG_ECONFLICT;
    /* Like the per-AOR limit, the total one bites only on growth. Expired bindings not purged
     * yet still hold their room. */
    if (n > nold && m->total - nold + n > m->l.total)
        return SIPREG_ELIMIT;
    if (n == 0) {
        if (e) {
            ht_unlink(&m->aors, &e->node);
            sipreg_free(e);
            m->total -= nold;
        }
        *new_version = 0;
        return 0;
    }
    if (n > (SIZE_MAX - sizeof *ne - nchars) / sizeof ne->v[0])
        return SIPREG_ENOMEM;
    size_t size = sizeof *ne + n * sizeof ne->v[0] + nchars;
    for (i = 0; i < n; i++) {
        size_t len = sipreg__binding_strlen(&v[i]) - v[i].aor.len;
        if (len > SIZE_MAX - size)
            return SIPREG_ENOMEM;
        size += len;
    }
    if (!(ne = sipreg_malloc(size)))
        return SIPREG_ENOMEM;
    char *cur = (char *)&ne->v[n];
    ne->aor = sipreg__str_copy(aor, &cur);
    for (i = 0; i < n; i++) {
        struct sipreg_binding t = v[i];
        t.aor = SIPREG_STR_NULL; /* one copy of the AOR for all */
        sipreg__binding_copy(&ne->v[i], &t, &cur);
        ne->v[i].aor = ne->aor;
    }
    ne->n = n;
    ne->node.h = h;
    /* A store-wide counter rather than one per AOR: an AOR deleted and created again never
     * gets a version it had before, so a reader holding an old one cannot match (ABA). */
    ne->version = ++m->last_version;
    if (e) {
        ht_swap(&m->aors, &e->node, &ne->node);
        sipreg_free(e);
    } else {
        ht_insert(&m->aors, &ne->node);
    }
    m->total = m->total - nold + n;
    *new_version = ne->version;
    return 0;
}

/* Drops at most max expired bindings of e; returns how many. Their strings stay in the block
 * until the AOR is next replaced. */
static size_t purge_aor(struct mem *m, struct maor *e, int64_t now, size_t max)
{
    size_t k = 0, gone = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (gone < max && e->v[i].expires_at <= now)
            gone++;
        else
            e->v[k++] = e->v[i];
    }
    e->n = k;
    m->total -= gone;
    return gone;
}

static int mem_expire(void *self, int64_t now, size_t max_rows, size_t *purged)
{
    struct mem *m = self;
    /* Bounded work: a slice of the buckets per call, resuming where the last call stopped. */
    size_t budget = max_rows > (SIZE_MAX - 1024) / 8 ? SIZE_MAX : 1024 + 8 * max_rows;
    if (budget > m->aors.nb)
        budget = m->aors.nb;
    for (size_t scanned = 0; scanned < budget && *purged < max_rows; scanned++) {
        size_t i = m->cursor & (m->aors.nb - 1);
        struct hnode *x = m->aors.b[i], *next;
        for (; x && *purged < max_rows; x = next) {
            struct maor *e = (struct maor *)x;
            next = x->next;
            *purged += purge_aor(m, e, now, max_rows - *purged);
            if (e->n == 0) {
                ht_unlink(&m->aors, x);
                sipreg_free(e);
            }
        }
        if (x) /* stopped inside this bucket: start here next time */
            break;
        m->cursor = i + 1;
    }
    return 0;
}

static int mem_iterate(void *self, int64_t now, sipreg_store_binding_fn fn, void *ud)
{
    struct mem *m = self;
    for (size_t i = 0; i < m->aors.nb; i++) {
        for (struct hnode *x = m->aors.b[i]; x; x = x->next) {
            struct maor *e = (struct maor *)x;
            for (size_t j = 0; j < e->n; j++) {
                if (e->v[j].expires_at <= now)
                    continue;
                int rc = fn(&e->v[j], ud);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

static int mem_commit(void *self)
{
    (void)self;
    return 0;
}

static int mem_user_put(void *self, const struct sipreg_user *u)
{
    struct mem *m = self;
    uint64_t h = user_hash(m, u->username, u->realm);
    struct muser *old = find_user(m, h, u->username, u->realm);
    struct muser *nu = sipreg_malloc(sizeof *nu + sipreg__user_strlen(u));
    if (!nu)
        return SIPREG_ENOMEM;
    char *cur = nu->data;
    sipreg__user_copy(&nu->u, u, &cur);
    nu->node.h = h;
    if (old) {
        ht_unlink(&m->users, &old->node);
        sipreg_free(old);
    }
    ht_insert(&m->users, &nu->node);
    return 0;
}

static int mem_user_del(void *self, struct sipreg_str username, struct sipreg_str realm)
{
    struct mem *m = self;
    struct muser *u = find_user(m, user_hash(m, username, realm), username, realm);
    if (!u)
        return SIPREG_ENOENT;
    ht_unlink(&m->users, &u->node);
    sipreg_free(u);
    return 0;
}

static int mem_user_get(void *self, struct sipreg_str username, struct sipreg_str realm,
                        struct sipreg_arena *a, struct sipreg_user *out)
{
    struct mem *m = self;
    struct muser *u = find_user(m, user_hash(m, username, realm), username, realm);
    if (!u)
        return SIPREG_ENOENT;
    char *cur = sipreg_arena_alloc(a, sipreg__user_strlen(&u->u));
    if (!cur)
        return SIPREG_ENOMEM;
    sipreg__user_copy(out, &u->u, &cur);
    return 0;
}

static int mem_user_iterate(void *self, sipreg_store_user_fn fn, void *ud)
{
    struct mem *m = self;
    for (size_t i = 0; i < m->users.nb; i++) {
        for (struct hnode *x = m->users.b[i]; x; x = x->next) {
            int rc = fn(&((struct muser *)x)->u, ud);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int mem_meta_get(void *self, struct sipreg_str key, struct sipreg_arena *a,
                        struct sipreg_str *out)
{
    struct mem *m = self;
    struct mmeta *e = find_meta(m, hash(m, key), key);
    if (!e)
        return SIPREG_ENOENT;
    char *cur = sipreg_arena_alloc(a, e->v.len);
    if (!cur)
        return SIPREG_ENOMEM;
    *out = sipreg__str_copy(e->v, &cur);
    return 0;
}

static int mem_meta_put(void *self, struct sipreg_str key, struct sipreg_str value)
{
    struct mem *m = self;
    uint64_t h = hash(m, key);
    struct mmeta *old = find_meta(m, h, key);
    struct mmeta *e = sipreg_malloc(sizeof *e + key.len + value.len);
    if (!e)
        return SIPREG_ENOMEM;
    char *cur = e->data;
    e->k = sipreg__str_copy(key, &cur);
    e->v = sipreg__str_copy(value, &cur);
    e->node.h = h;
    if (old) {
        ht_unlink(&m->meta, &old->node);
        sipreg_free(old);
    }
    ht_insert(&m->meta, &e->node);
    return 0;
}

const struct sipreg_store_ops sipreg__mem_ops = {
    .version = SIPREG_STORE_OPS_VERSION,
    .read = mem_read,
    .replace = mem_replace,
    .expire = mem_expire,
    .iterate = mem_iterate,
    .commit = mem_commit,
    .user_put = mem_user_put,
    .user_del = mem_user_del,
    .user_get = mem_user_get,
    .user_iterate = mem_user_iterate,
    .meta_get = mem_meta_get,
    .meta_put = mem_meta_put,
    .close = mem_close,
};
