/* Internals shared by the store front end (store.c) and its backends (mem.c, sqlite.c). */
#ifndef SIPREG_STORE_INT_H
#define SIPREG_STORE_INT_H

#include "core/core_int.h"
#include "sipreg/store.h"

/* A cfg with its defaults filled in. */
struct sipreg__store_limits {
    size_t per_aor;
    size_t total;
    size_t field;
    int busy_ms; /* < 0: never wait */
};
void sipreg__store_limits(const struct sipreg_store_cfg *cfg, struct sipreg__store_limits *l);

/* Wraps self in a store with the given limits; on failure calls ops->close(self). */
int sipreg__store_wrap(struct sipreg_store **out, const struct sipreg_store_ops *ops, void *self,
                       const struct sipreg__store_limits *l);

/* Backend calls for stores wrapping another (locked, split): no argument checks, no expiry
 * filtering; read rewinds a on failure. */
int sipreg__store_read_raw(struct sipreg_store *s, struct sipreg_str aor, struct sipreg_arena *a,
                           struct sipreg_binding_list *out, uint64_t *version);
int sipreg__store_replace_raw(struct sipreg_store *s, struct sipreg_str aor, uint64_t expect,
                              const struct sipreg_binding *v, size_t n, int64_t now,
                              uint64_t *new_version);
/* Gives a wrapper's store the limits of the store it wraps, which sipreg_store_apply must use. */
void sipreg__store_inherit_limits(struct sipreg_store *outer, const struct sipreg_store *inner);

/* Structural checks of a change (sipreg_store_decide's SIPREG_EINVAL cases) and of field lengths
 * against max (SIPREG_ELIMIT). */
int sipreg__store_check_change(const struct sipreg_store_change *c, size_t max);
/* The same for one binding to be stored as it is (sipreg_store_replace). */
int sipreg__store_check_binding(const struct sipreg_binding *b, size_t max);

/* 1 when op takes its binding away: REMOVE, or an UPSERT that is already expired. */
static inline int sipreg__op_removes(const struct sipreg_store_op *op, int64_t now)
{
    return op->kind == SIPREG_STORE_REMOVE ||
           (op->kind == SIPREG_STORE_UPSERT && op->b.expires_at <= now);
}

/* Bytes the strings of b occupy (the copy's string block). */
size_t sipreg__binding_strlen(const struct sipreg_binding *b);
/* Copies b into dst, its strings to *cur (advanced). Absent strings stay absent. */
void sipreg__binding_copy(struct sipreg_binding *dst, const struct sipreg_binding *src, char **cur);
size_t sipreg__user_strlen(const struct sipreg_user *u);
void sipreg__user_copy(struct sipreg_user *dst, const struct sipreg_user *src, char **cur);
/* Copies a slice to *cur; an absent slice stays absent. */
struct sipreg_str sipreg__str_copy(struct sipreg_str s, char **cur);

/* Allocates from a the array for n bindings and a block of nchars bytes: ENOMEM if it does not
 * fit. OUT: out->v (n set), *chars. */
int sipreg__list_alloc(struct sipreg_arena *a, size_t n, size_t nchars,
                       struct sipreg_binding_list *out, char **chars);

/* SipHash-2-4 of data under a 16-byte key (Aumasson & Bernstein). */

/* Backends. */
extern const struct sipreg_store_ops sipreg__mem_ops;
int sipreg__mem_open(void **self, const struct sipreg__store_limits *l,
                     const struct sipreg_store_cfg *cfg);
extern const struct sipreg_store_ops sipreg__sqlite_ops;
int sipreg__sqlite_open(void **self, const char *path, const struct sipreg__store_limits *l);

#endif
