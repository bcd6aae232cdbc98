/* Location store front end: argument checks, arena rewinding, dispatch to a backend, and
 * apply as read, decide, compare-and-set. */
#include <string.h>

#include "store/store_int.h"

struct sipreg_store {
    const struct sipreg_store_ops *ops;
    void *self;
    size_t max_field;
    size_t per_aor; /* applied by sipreg_store_decide, for every backend */
    bool view;      /* another store's backend: closing leaves it open */
};

void sipreg__store_limits(const struct sipreg_store_cfg *cfg, struct sipreg__store_limits *l)
{
    static const struct sipreg_store_cfg zero;
    if (!cfg)
        cfg = &zero;
    l->per_aor =
        cfg->max_bindings_per_aor ? cfg->max_bindings_per_aor : SIPREG_STORE_DEFAULT_MAX_PER_AOR;
    l->total = cfg->max_bindings ? cfg->max_bindings : SIPREG_STORE_DEFAULT_MAX_BINDINGS;
    l->field = cfg->max_field_len ? cfg->max_field_len : SIPREG_STORE_DEFAULT_MAX_FIELD;
    l->busy_ms = cfg->busy_timeout_ms ? cfg->busy_timeout_ms : SIPREG_STORE_DEFAULT_BUSY_MS;
}

int sipreg__store_wrap(struct sipreg_store **out, const struct sipreg_store_ops *ops, void *self,
                       const struct sipreg__store_limits *l)
{
    struct sipreg_store *s = sipreg_calloc(1, sizeof *s);
    if (!s) {
        ops->close(self);
        return SIPREG_ENOMEM;
    }
    s->ops = ops;
    s->self = self;
    s->max_field = l->field;
    s->per_aor = l->per_aor;
    *out = s;
    return 0;
}

int sipreg_store_create_cfg(struct sipreg_store **out, const struct sipreg_store_ops *ops,
                            void *self, const struct sipreg_store_cfg *cfg)
{
    struct sipreg__store_limits l;
    if (!out || !ops || ops->version != SIPREG_STORE_OPS_VERSION || !ops->read || !ops->replace ||
        !ops->expire || !ops->iterate || !ops->commit || !ops->user_put || !ops->user_del ||
        !ops->user_get || !ops->user_iterate || !ops->meta_get || !ops->meta_put || !ops->close)
        return SIPREG_EINVAL;
    struct sipreg_store *s = sipreg_calloc(1, sizeof *s);
    if (!s)
        return SIPREG_ENOMEM;
    sipreg__store_limits(cfg, &l);
    s->ops = ops;
    s->self = self;
    s->max_field = l.field;
    s->per_aor = l.per_aor;
    *out = s;
    return 0;
}

int sipreg_store_create(struct sipreg_store **out, const struct sipreg_store_ops *ops, void *self)
{
    return sipreg_store_create_cfg(out, ops, self, NULL);
}

void sipreg__store_inherit_limits(struct sipreg_store *outer, const struct sipreg_store *inner)
{
    outer->max_field = inner->max_field;
    outer->per_aor = inner->per_aor;
}

int sipreg_store_open_memory(struct sipreg_store **out, const struct sipreg_store_cfg *cfg)
{
    struct sipreg__store_limits l;
    void *self;
    if (!out)
        return SIPREG_EINVAL;
    sipreg__store_limits(cfg, &l);
    int err = sipreg__mem_open(&self, &l, cfg);
    if (err)
        return err;
    return sipreg__store_wrap(out, &sipreg__mem_ops, self, &l);
}

int sipreg_store_open_sqlite(struct sipreg_store **out, const char *path,
                             const struct sipreg_store_cfg *cfg)
{
    struct sipreg__store_limits l;
    void *self;
    if (!out || !path)
        return SIPREG_EINVAL;
    sipreg__store_limits(cfg, &l);
    int err = sipreg__sqlite_open(&self, path, &l);
    if (err)
        return err;
    return sipreg__store_wrap(out, &sipreg__sqlite_ops, self, &l);
}

void sipreg_store_close(struct sipreg_store *s)
{
    if (!s)
        return;
    if (!s->view)
        s->ops->close(s->self);
    sipreg_free(s);
}

int sipreg_store_open_view(struct sipreg_store **out, struct sipreg_store *s)
{
    if (!out || !s)
        return SIPREG_EINVAL;
    struct sipreg_store *v = sipreg_malloc(sizeof *v);
    if (!v)
        return SIPREG_ENOMEM;
    *v = *s;
    v->view = true;
    *out = v;
    return 0;
}

/* ---- argument checks ---- */

/* 0 when s is present, non-empty and within the field limit. */
static int check_req(struct sipreg_str s, size_t max)
{
    if (!s.p || s.len == 0)
        return SIPREG_EINVAL;
    return s.len > max ? SIPREG_ELIMIT : 0;
}

static int check_opt(struct sipreg_str s, size_t max)
{
    return s.len > max ? SIPREG_ELIMIT : 0;
}

/* The fields of a binding to be stored (an UPSERT's, or one given to replace). */
static int check_stored(const struct sipreg_binding *b, size_t max)
{
    int err;
    if ((err = check_req(b->key, max)) || (err = check_req(b->contact, max)))
        return err;
    if (b->q < -1 || b->q > 1000 || b->reg_id < -1)
        return SIPREG_EINVAL;
    if ((err = check_opt(b->source, max)) || (err = check_opt(b->transport, max)) ||
        (err = check_opt(b->path, max)) || (err = check_opt(b->instance, max)) ||
        (err = check_opt(b->user_agent, max)))
        return err;
    return 0;
}

static int check_op(const struct sipreg_store_op *op, size_t max)
{
    const struct sipreg_binding *b = &op->b;
    int err;
    if (op->kind != SIPREG_STORE_UPSERT && op->kind != SIPREG_STORE_REMOVE &&
        op->kind != SIPREG_STORE_REMOVE_ALL)
        return SIPREG_EINVAL;
    if ((err = check_req(b->call_id, max)))
        return err;
    if (op->kind == SIPREG_STORE_REMOVE_ALL)
        return 0;
    if ((err = check_req(b->key, max)))
        return err;
    if (op->kind == SIPREG_STORE_REMOVE)
        return 0;
    return check_stored(b, max);
}

/* Present strings must have a pointer, even when empty; reject {NULL, n > 0}. */
static int slice_ok(struct sipreg_str s)
{
    return s.p || s.len == 0;
}

static int binding_slices_ok(const struct sipreg_binding *b)
{
    return slice_ok(b->aor) && slice_ok(b->key) && slice_ok(b->contact) && slice_ok(b->call_id) &&
           slice_ok(b->source) && slice_ok(b->transport) && slice_ok(b->path) &&
           slice_ok(b->instance) && slice_ok(b->user_agent);
}

int sipreg__store_check_change(const struct sipreg_store_change *c, size_t max)
{
    int err;
    if (!slice_ok(c->aor) || (c->nops && !c->ops))
        return SIPREG_EINVAL;
    if ((err = check_req(c->aor, max)))
        return err;
    for (size_t i = 0; i < c->nops; i++) {
        if (!binding_slices_ok(&c->ops[i].b))
            return SIPREG_EINVAL;
        if ((err = check_op(&c->ops[i], max)))
            return err;
    }
    return 0;
}

int sipreg__store_check_binding(const struct sipreg_binding *b, size_t max)
{
    int err;
    if (!binding_slices_ok(b))
        return SIPREG_EINVAL;
    if ((err = check_req(b->call_id, max)))
        return err;
    return check_stored(b, max);
}

static int hex_ok(struct sipreg_str s, size_t len)
{
    if (!s.p)
        return s.len == 0;
    if (s.len != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

/* ---- bindings: read, decide, compare-and-set ---- */

/* Room for an AOR as read and as decided, kept out of the caller's arena so that it holds only
 * the result: a stack buffer first, then heap blocks doubling in size while it is too small. */
#define SCRATCH_STACK 8192
#define SCRATCH_MAX   ((size_t)64 << 20)

struct scratch {
    struct sipreg_arena a;
    char *heap;
};

/* After SIPREG_ENOMEM from a read or decide into the scratch arena: a larger arena, or
 * SIPREG_ENOMEM when it cannot grow. (An ENOMEM of the backend's heap grows it too, to the cap
 * at worst: there is no telling the two apart.) */
static int scratch_grow(struct scratch *sc)
{
    if (sc->a.cap >= SCRATCH_MAX)
        return SIPREG_ENOMEM;
    size_t cap = sc->a.cap * 2;
    char *p = sipreg_malloc(cap);
    if (!p)
        return SIPREG_ENOMEM;
    sipreg_free(sc->heap);
    sc->heap = p;
    sipreg_arena_init(&sc->a, p, cap);
    return 0;
}

/* How often apply reads and decides again after a conflict before it gives up (SIPREG_EBUSY).
 * A conflict means another writer changed the AOR between the read and the replace; with the
 * locked wrapper or SQLite the second try already runs under the write lock and cannot
 * conflict, so a few tries are plenty. */
#define APPLY_TRIES 8

int sipreg__store_read_raw(struct sipreg_store *s, struct sipreg_str aor, struct sipreg_arena *a,
                           struct sipreg_binding_list *out, uint64_t *version)
{
    size_t mark = a->used;
    *version = 0;
    int err = s->ops->read(s->self, aor, a, out, version);
    if (err) {
        a->used = mark;
        *out = (struct sipreg_binding_list){NULL, 0};
        *version = 0;
    }
    return err;
}

int sipreg__store_replace_raw(struct sipreg_store *s, struct sipreg_str aor, uint64_t expect,
                              const struct sipreg_binding *v, size_t n, int64_t now,
                              uint64_t *new_version)
{
    return s->ops->replace(s->self, aor, expect, v, n, now, new_version);
}

/* Copies the bindings of l with expires_at > now (all when live_only is 0) into arena a. */
static int copy_list(const struct sipreg_binding_list *l, int64_t now, int live_only,
                     struct sipreg_arena *a, struct sipreg_binding_list *out)
{
    size_t n = 0, nchars = 0, k = 0;
    char *cur;
    for (size_t i = 0; i < l->n; i++) {
        if (!live_only || l->v[i].expires_at > now) {
            n++;
            nchars += sipreg__binding_strlen(&l->v[i]);
        }
    }
    int err = sipreg__list_alloc(a, n, nchars, out, &cur);
    if (err)
        return err;
    for (size_t i = 0; i < l->n; i++)
        if (!live_only || l->v[i].expires_at > now)
            sipreg__binding_copy(&out->v[k++], &l->v[i], &cur);
    return 0;
}

/* Reads aor into the scratch arena, growing it as needed. */
static int read_scratch(struct sipreg_store *s, struct sipreg_str aor, struct scratch *sc,
                        struct sipreg_binding_list *l, uint64_t *version)
{
    int err;
    do {
        sipreg_arena_reset(&sc->a);
        err = sipreg__store_read_raw(s, aor, &sc->a, l, version);
    } while (err == SIPREG_ENOMEM && scratch_grow(sc) == 0);
    return err;
}

int sipreg_store_read(struct sipreg_store *s, struct sipreg_str aor, int64_t now,
                      struct sipreg_arena *a, struct sipreg_binding_list *out, uint64_t *version)
{
    char stack[SCRATCH_STACK];
    struct scratch sc = {{stack, sizeof stack, 0}, NULL};
    struct sipreg_binding_list l;
    uint64_t ver;
    int err;
    if (version)
        *version = 0;
    if (!s || !a || !out || !slice_ok(aor))
        return SIPREG_EINVAL;
    *out = (struct sipreg_binding_list){NULL, 0};
    if ((err = check_req(aor, s->max_field)))
        return err;
    size_t mark = a->used;
    if (!(err = read_scratch(s, aor, &sc, &l, &ver)))
        err = copy_list(&l, now, 1, a, out);
    sipreg_free(sc.heap);
    if (err) {
        a->used = mark;
        *out = (struct sipreg_binding_list){NULL, 0};
    } else if (version) {
        *version = ver;
    }
    return err;
}

int sipreg_store_lookup(struct sipreg_store *s, struct sipreg_str aor, int64_t now,
                        struct sipreg_arena *a, struct sipreg_binding_list *out)
{
    return sipreg_store_read(s, aor, now, a, out, NULL);
}

int sipreg_store_replace(struct sipreg_store *s, struct sipreg_str aor, uint64_t version,
                         const struct sipreg_binding *v, size_t n, int64_t now,
                         uint64_t *new_version)
{
    uint64_t nv = 0;
    int err;
    if (new_version)
        *new_version = 0;
    if (!s || (n && !v) || !slice_ok(aor))
        return SIPREG_EINVAL;
    if ((err = check_req(aor, s->max_field)))
        return err;
    for (size_t i = 0; i < n; i++) {
        if ((err = sipreg__store_check_binding(&v[i], s->max_field)))
            return err;
        if (v[i].aor.p && !sipreg_str_eq(v[i].aor, aor))
            return SIPREG_EINVAL;
        /* one binding per key: a backend may key its rows by (aor, key) */
        for (size_t j = 0; j < i; j++)
            if (sipreg_str_eq(v[j].key, v[i].key))
                return SIPREG_EINVAL;
    }
    err = s->ops->replace(s->self, aor, version, v, n, now, &nv);
    if (!err && new_version)
        *new_version = nv;
    return err;
}

int sipreg_store_apply(struct sipreg_store *s, const struct sipreg_store_change *c, int64_t now,
                       struct sipreg_arena *a, struct sipreg_binding_list *out)
{
    char stack[SCRATCH_STACK];
    struct scratch sc = {{stack, sizeof stack, 0}, NULL};
    struct sipreg_binding_list cur, next;
    uint64_t ver;
    int err, tries = 0;
    if (!s || !c || (out && !a))
        return SIPREG_EINVAL;
    if ((err = sipreg__store_check_change(c, s->max_field)))
        return err;
    if (out)
        *out = (struct sipreg_binding_list){NULL, 0};
    size_t mark = a ? a->used : 0;
    for (;;) {
        err = read_scratch(s, c->aor, &sc, &cur, &ver);
        if (!err)
            err = sipreg_store_decide(&cur, c, now, s->per_aor, &sc.a, &next);
        if (err == SIPREG_ENOMEM && scratch_grow(&sc) == 0)
            continue;
        if (err)
            break;
        /* The result goes into the caller's arena before the write, so that once the write is
         * made nothing can fail any more. */
        if (out && (err = copy_list(&next, now, 0, a, out)))
            break;
        if (c->nops == 0)
            break; /* a listing: nothing to write */
        err = s->ops->replace(s->self, c->aor, ver, next.v, next.n, now, &ver);
        if (err != SIPREG_ECONFLICT)
            break;
        /* Another writer came between the read and the replace: decide again on its result. */
        if (out) {
            a->used = mark;
            *out = (struct sipreg_binding_list){NULL, 0};
        }
        if (++tries == APPLY_TRIES) {
            err = SIPREG_EBUSY;
            break;
        }
    }
    sipreg_free(sc.heap);
    if (err && out) {
        a->used = mark;
        *out = (struct sipreg_binding_list){NULL, 0};
    }
    return err;
}

int sipreg_store_commit(struct sipreg_store *s)
{
    if (!s)
        return SIPREG_EINVAL;
    return s->ops->commit(s->self);
}

int sipreg_store_expire(struct sipreg_store *s, int64_t now, size_t max_rows, size_t *purged)
{
    if (!s || !purged)
        return SIPREG_EINVAL;
    *purged = 0;
    if (max_rows == 0)
        return 0;
    return s->ops->expire(s->self, now, max_rows, purged);
}

int sipreg_store_iterate(struct sipreg_store *s, int64_t now, sipreg_store_binding_fn fn, void *ud)
{
    if (!s || !fn)
        return SIPREG_EINVAL;
    return s->ops->iterate(s->self, now, fn, ud);
}

static int check_user_key(const struct sipreg_store *s, struct sipreg_str username,
                          struct sipreg_str realm)
{
    int err;
    if (!slice_ok(username) || !slice_ok(realm))
        return SIPREG_EINVAL;
    if ((err = check_req(username, s->max_field)) || (err = check_req(realm, s->max_field)))
        return err;
    return 0;
}

int sipreg_store_user_put(struct sipreg_store *s, const struct sipreg_user *u)
{
    int err;
    if (!s || !u)
        return SIPREG_EINVAL;
    if ((err = check_user_key(s, u->username, u->realm)))
        return err;
    if (!hex_ok(u->ha1_md5, 32) || !hex_ok(u->ha1_sha256, 64) || !hex_ok(u->ha1_sha512_256, 64))
        return SIPREG_EINVAL;
    /* a present domain names one; "" would make every AOR's domain comparison meaningless */
    if (!slice_ok(u->domain) || (u->domain.p && u->domain.len == 0))
        return SIPREG_EINVAL;
    if ((err = check_opt(u->domain, s->max_field)))
        return err;
    return s->ops->user_put(s->self, u);
}

int sipreg_store_user_del(struct sipreg_store *s, struct sipreg_str username,
                          struct sipreg_str realm)
{
    int err;
    if (!s)
        return SIPREG_EINVAL;
    if ((err = check_user_key(s, username, realm)))
        return err;
    return s->ops->user_del(s->self, username, realm);
}

int sipreg_store_user_get(struct sipreg_store *s, struct sipreg_str username,
                          struct sipreg_str realm, struct sipreg_arena *a, struct sipreg_user *out)
{
    int err;
    if (!s || !a || !out)
        return SIPREG_EINVAL;
    memset(out, 0, sizeof *out);
    if ((err = check_user_key(s, username, realm)))
        return err;
    size_t mark = a->used;
    err = s->ops->user_get(s->self, username, realm, a, out);
    if (err) {
        a->used = mark;
        memset(out, 0, sizeof *out);
    }
    return err;
}

int sipreg_store_user_iterate(struct sipreg_store *s, sipreg_store_user_fn fn, void *ud)
{
    if (!s || !fn)
        return SIPREG_EINVAL;
    return s->ops->user_iterate(s->self, fn, ud);
}

static int check_meta_key(struct sipreg_str key)
{
    if (!key.p || key.len == 0)
        return SIPREG_EINVAL;
    return key.len > SIPREG_STORE_MAX_META_KEY ? SIPREG_ELIMIT : 0;
}

int sipreg_store_meta_get(struct sipreg_store *s, struct sipreg_str key, struct sipreg_arena *a,
                          struct sipreg_str *out)
{
    int err;
    if (!s || !a || !out)
        return SIPREG_EINVAL;
    *out = SIPREG_STR_NULL;
    if ((err = check_meta_key(key)))
        return err;
    size_t mark = a->used;
    err = s->ops->meta_get(s->self, key, a, out);
    if (err) {
        a->used = mark;
        *out = SIPREG_STR_NULL;
    }
    return err;
}

int sipreg_store_meta_put(struct sipreg_store *s, struct sipreg_str key, struct sipreg_str value)
{
    int err;
    if (!s || !slice_ok(value))
        return SIPREG_EINVAL;
    if ((err = check_meta_key(key)))
        return err;
    if (value.len > SIPREG_STORE_MAX_META)
        return SIPREG_ELIMIT;
    if (!value.p)
        value = (struct sipreg_str){"", 0};
    return s->ops->meta_put(s->self, key, value);
}

/* ---- copying into arenas and owned blocks ---- */

struct sipreg_str sipreg__str_copy(struct sipreg_str s, char **cur)
{
    if (!s.p)
        return SIPREG_STR_NULL;
    struct sipreg_str d = {*cur, s.len};
    if (s.len)
        memcpy(*cur, s.p, s.len);
    *cur += s.len;
    return d;
}

size_t sipreg__binding_strlen(const struct sipreg_binding *b)
{
    return b->aor.len + b->key.len + b->contact.len + b->call_id.len + b->source.len +
           b->transport.len + b->path.len + b->instance.len + b->user_agent.len;
}

void sipreg__binding_copy(struct sipreg_binding *dst, const struct sipreg_binding *src, char **cur)
{
    *dst = *src;
    dst->aor = sipreg__str_copy(src->aor, cur);
    dst->key = sipreg__str_copy(src->key, cur);
    dst->contact = sipreg__str_copy(src->contact, cur);
    dst->call_id = sipreg__str_copy(src->call_id, cur);
    dst->source = sipreg__str_copy(src->source, cur);
    dst->transport = sipreg__str_copy(src->transport, cur);
    dst->path = sipreg__str_copy(src->path, cur);
    dst->instance = sipreg__str_copy(src->instance, cur);
    dst->user_agent = sipreg__str_copy(src->user_agent, cur);
}

size_t sipreg__user_strlen(const struct sipreg_user *u)
{
    return u->username.len + u->realm.len + u->ha1_md5.len + u->ha1_sha256.len +
           u->ha1_sha512_256.len + u->domain.len;
}

void sipreg__user_copy(struct sipreg_user *dst, const struct sipreg_user *src, char **cur)
{
    *dst = *src;
    dst->username = sipreg__str_copy(src->username, cur);
    dst->realm = sipreg__str_copy(src->realm, cur);
    dst->ha1_md5 = sipreg__str_copy(src->ha1_md5, cur);
    dst->ha1_sha256 = sipreg__str_copy(src->ha1_sha256, cur);
    dst->ha1_sha512_256 = sipreg__str_copy(src->ha1_sha512_256, cur);
    dst->domain = sipreg__str_copy(src->domain, cur);
}

int sipreg__list_alloc(struct sipreg_arena *a, size_t n, size_t nchars,
                       struct sipreg_binding_list *out, char **chars)
{
    out->v = NULL;
    out->n = 0;
    if (n > SIZE_MAX / sizeof(struct sipreg_binding))
        return SIPREG_ENOMEM;
    if (n) {
        out->v = sipreg_arena_alloc(a, n * sizeof(struct sipreg_binding));
        if (!out->v)
            return SIPREG_ENOMEM;
    }
    /* Always a valid pointer, so that present-but-empty strings have p != NULL. */
    *chars = sipreg_arena_alloc(a, nchars);
    if (!*chars)
        return SIPREG_ENOMEM;
    out->n = n;
    return 0;
}
