/* A store of two parts: locations in one store, credentials and metadata in another. */
#include "store/store_int.h"

struct split {
    struct sipreg_store *loc, *cred;
};

static int sp_read(void *self, struct sipreg_str aor, struct sipreg_arena *a,
                   struct sipreg_binding_list *out, uint64_t *version)
{
    return sipreg__store_read_raw(((struct split *)self)->loc, aor, a, out, version);
}

static int sp_replace(void *self, struct sipreg_str aor, uint64_t expect,
                      const struct sipreg_binding *v, size_t n, int64_t now, uint64_t *new_version)
{
    return sipreg__store_replace_raw(((struct split *)self)->loc, aor, expect, v, n, now,
                                     new_version);
}

static int sp_expire(void *self, int64_t now, size_t max_rows, size_t *purged)
{
    return sipreg_store_expire(((struct split *)self)->loc, now, max_rows, purged);
}

static int sp_iterate(void *self, int64_t now, sipreg_store_binding_fn fn, void *ud)
{
    return sipreg_store_iterate(((struct split *)self)->loc, now, fn, ud);
}

static int sp_commit(void *self)
{
    struct split *s = self;
    /* both, even when the first fails: each rolls back its own batch on failure */
    int err = sipreg_store_commit(s->cred);
    int lerr = sipreg_store_commit(s->loc);
    return err ? err : lerr;
}

static int sp_user_put(void *self, const struct sipreg_user *u)
{
    return sipreg_store_user_put(((struct split *)self)->cred, u);
}

static int sp_user_del(void *self, struct sipreg_str username, struct sipreg_str realm)
{
    return sipreg_store_user_del(((struct split *)self)->cred, username, realm);
}

static int sp_user_get(void *self, struct sipreg_str username, struct sipreg_str realm,
                       struct sipreg_arena *a, struct sipreg_user *out)
{
    return sipreg_store_user_get(((struct split *)self)->cred, username, realm, a, out);
}

static int sp_user_iterate(void *self, sipreg_store_user_fn fn, void *ud)
{
    return sipreg_store_user_iterate(((struct split *)self)->cred, fn, ud);
}

static int sp_meta_get(void *self, struct sipreg_str key, struct sipreg_arena *a,
                       struct sipreg_str *out)
{
    return sipreg_store_meta_get(((struct split *)self)->cred, key, a, out);
}

static int sp_meta_put(void *self, struct sipreg_str key, struct sipreg_str value)
{
    return sipreg_store_meta_put(((struct split *)self)->cred, key, value);
}

static void sp_close(void *self)
{
    struct split *s = self;
    sipreg_store_close(s->loc);
    sipreg_store_close(s->cred);
    sipreg_free(s);
}

static const struct sipreg_store_ops split_ops = {
    SIPREG_STORE_OPS_VERSION,
    sp_read,
    sp_replace,
    sp_expire,
    sp_iterate,
    sp_commit,
    sp_user_put,
    sp_user_del,
    sp_user_get,
    sp_user_iterate,
    sp_meta_get,
    sp_meta_put,
    sp_close,
};

int sipreg_store_open_split(struct sipreg_store **out, struct sipreg_store *locations,
                            struct sipreg_store *credentials)
{
    if (!locations || !credentials) {
        sipreg_store_close(locations);
        sipreg_store_close(credentials);
        return SIPREG_EINVAL;
    }
    struct split *s = sipreg_calloc(1, sizeof *s);
    if (!s) {
        sipreg_store_close(locations);
        sipreg_store_close(credentials);
        return SIPREG_ENOMEM;
    }
    s->loc = locations;
    s->cred = credentials;
    int err = sipreg_store_create(out, &split_ops, s);
    if (err)
        sp_close(s);
    else
        sipreg__store_inherit_limits(*out, locations);
    return err;
}
