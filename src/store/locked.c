/* A thread-safe store over any backend: a writer holds it from its first write to its commit. */
#include <pthread.h>

#include "store/store_int.h"

struct locked {
    struct sipreg_store *inner;
    pthread_mutex_t mu;
};

/* The store this thread holds for its batch (from its first write to its commit), if any. Only
 * the holding thread reads or writes it, so no other synchronisation is needed. */
static _Thread_local struct locked *holding;

/* Locks for one call, unless this thread already holds the store for its batch. Returns 1 when
 * the caller must unlock after the call. */
static int enter(struct locked *l)
{
    if (holding == l)
        return 0;
    pthread_mutex_lock(&l->mu);
    return 1;
}

static void leave(struct locked *l, int locked)
{
    if (locked)
        pthread_mutex_unlock(&l->mu);
}

/* After a write: keep the store until this thread commits. */
static void hold(struct locked *l, int locked)
{
    if (locked)
        holding = l;
}

static int lk_read(void *self, struct sipreg_str aor, struct sipreg_arena *a,
                   struct sipreg_binding_list *out, uint64_t *version)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg__store_read_raw(l->inner, aor, a, out, version);
    leave(l, k);
    return err;
}

static int lk_replace(void *self, struct sipreg_str aor, uint64_t expect,
                      const struct sipreg_binding *v, size_t n, int64_t now, uint64_t *new_version)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg__store_replace_raw(l->inner, aor, expect, v, n, now, new_version);
    /* held even after a conflict: apply's next read and replace then run without a gap */
    hold(l, k);
    return err;
}

static int lk_expire(void *self, int64_t now, size_t max_rows, size_t *purged)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg_store_expire(l->inner, now, max_rows, purged);
    hold(l, k);
    return err;
}

static int lk_iterate(void *self, int64_t now, sipreg_store_binding_fn fn, void *ud)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg_store_iterate(l->inner, now, fn, ud);
    leave(l, k);
    return err;
}

static int lk_commit(void *self)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg_store_commit(l->inner);
    if (!k) {
        /* this thread held the store for its batch: the batch is over */
        holding = NULL;
        pthread_mutex_unlock(&l->mu);
    } else {
        leave(l, k);
    }
    return err;
}

static int lk_user_put(void *self, const struct sipreg_user *u)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg_store_user_put(l->inner, u);
    hold(l, k);
    return err;
}

static int lk_user_del(void *self, struct sipreg_str username, struct sipreg_str realm)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg_store_user_del(l->inner, username, realm);
    hold(l, k);
    return err;
}

static int lk_user_get(void *self, struct sipreg_str username, struct sipreg_str realm,
                       struct sipreg_arena *a, struct sipreg_user *out)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg_store_user_get(l->inner, username, realm, a, out);
    leave(l, k);
    return err;
}

static int lk_user_iterate(void *self, sipreg_store_user_fn fn, void *ud)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg_store_user_iterate(l->inner, fn, ud);
    leave(l, k);
    return err;
}

static int lk_meta_get(void *self, struct sipreg_str key, struct sipreg_arena *a,
                       struct sipreg_str *out)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg_store_meta_get(l->inner, key, a, out);
    leave(l, k);
    return err;
}

static int lk_meta_put(void *self, struct sipreg_str key, struct sipreg_str value)
{
    struct locked *l = self;
    int k = enter(l);
    int err = sipreg_store_meta_put(l->inner, key, value);
    hold(l, k);
    return err;
}

static void lk_close(void *self)
{
    struct locked *l = self;
    sipreg_store_close(l->inner);
    pthread_mutex_destroy(&l->mu);
    sipreg_free(l);
}

static const struct sipreg_store_ops locked_ops = {
    SIPREG_STORE_OPS_VERSION,
    lk_read,
    lk_replace,
    lk_expire,
    lk_iterate,
    lk_commit,
    lk_user_put,
    lk_user_del,
    lk_user_get,
    lk_user_iterate,
    lk_meta_get,
    lk_meta_put,
    lk_close,
};

int sipreg_store_open_locked(struct sipreg_store **out, struct sipreg_store *inner)
{
    struct locked *l = sipreg_calloc(1, sizeof *l);
    if (!l) {
        sipreg_store_close(inner);
        return SIPREG_ENOMEM;
    }
    l->inner = inner;
    pthread_mutex_init(&l->mu, NULL);
    int err = sipreg_store_create(out, &locked_ops, l);
    if (err)
        lk_close(l);
    else
        sipreg__store_inherit_limits(*out, inner);
    return err;
}
