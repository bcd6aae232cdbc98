/* Registration rules of RFC 3261 §10.3 steps 6-7, written once for every backend. */
#include <string.h>

#include "store/store_int.h"

static size_t find_key(const struct sipreg_binding *v, size_t n, struct sipreg_str key)
{
    size_t i = 0;
    while (i < n && !sipreg_str_eq(v[i].key, key))
        i++;
    return i;
}

int sipreg_store_decide(const struct sipreg_binding_list *cur, const struct sipreg_store_change *c,
                        int64_t now, size_t max_per_aor, struct sipreg_arena *a,
                        struct sipreg_binding_list *out)
{
    static const struct sipreg_binding_list none;
    size_t nup = 0, live = 0, nv = 0, i, j;
    int err;
    if (!out)
        return SIPREG_EINVAL;
    *out = none;
    if (!c || !a || (cur && cur->n && !cur->v))
        return SIPREG_EINVAL;
    if (!cur)
        cur = &none;
    /* field lengths are the store's limit, not a rule: only the structure is checked here */
    if ((err = sipreg__store_check_change(c, SIZE_MAX)))
        return err;
    if (max_per_aor == 0)
        max_per_aor = SIPREG_STORE_DEFAULT_MAX_PER_AOR;

    /* Steps 6 and 7, against the AOR as it is: an op meeting a current binding with its own
     * Call-ID must carry a higher CSeq, or the whole request fails. Expired bindings are
     * absent: a UA may start again with a low CSeq once its binding is gone. */
    for (i = 0; i < c->nops; i++) {
        const struct sipreg_store_op *op = &c->ops[i];
        if (op->kind == SIPREG_STORE_UPSERT)
            nup++;
        for (j = 0; j < cur->n; j++) {
            const struct sipreg_binding *b = &cur->v[j];
            if (b->expires_at <= now)
                continue;
            if (op->kind != SIPREG_STORE_REMOVE_ALL && !sipreg_str_eq(b->key, op->b.key))
                continue;
            if (sipreg_str_eq(b->call_id, op->b.call_id) && op->b.cseq <= b->cseq)
                return SIPREG_EORDER;
        }
    }
    for (j = 0; j < cur->n; j++)
        live += cur->v[j].expires_at > now;

    /* The next list: the unexpired bindings in their order, then the ops applied in order. */
    size_t cap = live + nup, mark = a->used;
    struct sipreg_binding *v = NULL;
    if (cap > SIZE_MAX / sizeof *v)
        return SIPREG_ENOMEM;
    if (cap && !(v = sipreg_arena_alloc(a, cap * sizeof *v)))
        return SIPREG_ENOMEM;
    for (j = 0; j < cur->n; j++)
        if (cur->v[j].expires_at > now)
            v[nv++] = cur->v[j];
    for (i = 0; i < c->nops; i++) {
        const struct sipreg_store_op *op = &c->ops[i];
        if (op->kind == SIPREG_STORE_REMOVE_ALL) {
            nv = 0;
            continue;
        }
        j = find_key(v, nv, op->b.key);
        if (sipreg__op_removes(op, now)) {
            if (j < nv) {
                memmove(&v[j], &v[j + 1], (nv - j - 1) * sizeof *v);
                nv--;
            }
            continue;
        }
        struct sipreg_binding b = op->b;
        b.aor = c->aor;
        b.updated_at = now;
        if (j < nv) {
            /* a refresh keeps the binding's place and the time it was first registered */
            b.registered_at = v[j].registered_at;
            v[j] = b;
        } else {
            b.registered_at = now;
            v[nv++] = b;
        }
    }
    /* The limit bites only on growth, so that an AOR above a lowered limit can still refresh
     * or shrink. */
    if (nv > live && nv > max_per_aor) {
        a->used = mark;
        return SIPREG_ELIMIT;
    }
    if (nv == 0)
        a->used = mark;
    out->v = nv ? v : NULL;
    out->n = nv;
    return 0;
}
