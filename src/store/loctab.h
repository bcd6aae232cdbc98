/* The compact location table: every AOR's bindings in one packed allocation, found in O(1) by a
 * SipHash-keyed table and purged by a timer wheel. The memory backend's bindings live here. */
#ifndef SIPREG_STORE_LOCTAB_H
#define SIPREG_STORE_LOCTAB_H

#include "core/core_int.h"
#include "sipreg/store.h"

/* Strings of a binding are at most this long here (lengths are packed in 16 bits); the store
 * front end's max_field_len must not exceed it. */
#define SIPREG__LOCTAB_MAX_FIELD 65534u

struct sipreg__loctab;

/* A table holding at most max_total bindings (expired ones count until purged), hashed under
 * key. 0, SIPREG_ENOMEM. */
int sipreg__loctab_create(struct sipreg__loctab **out, size_t max_total, const uint8_t key[16]);
void sipreg__loctab_destroy(struct sipreg__loctab *t);

/* Every binding stored for aor, expired or not (until purged), in the stored order, copied into
 * a (each with b.aor set to the AOR), and the AOR's version: 0 when it holds none, else a value
 * that changes with every replace and is never given twice by one table. 0, SIPREG_ENOMEM
 * (a too small; a rewound). OUT: *out, *version. */
int sipreg__loctab_read(struct sipreg__loctab *t, struct sipreg_str aor, struct sipreg_arena *a,
                        struct sipreg_binding_list *out, uint64_t *version);

/* Replaces the AOR's whole list with v[0..n) (n == 0 removes the AOR) if its version is still
 * `expect`, else SIPREG_ECONFLICT with nothing changed. `now` (Unix seconds) only places the
 * AOR on the expiry wheel. SIPREG_ELIMIT when the table would grow past max_total, or a string
 * is longer than SIPREG__LOCTAB_MAX_FIELD; SIPREG_ENOMEM. OUT: *version (the new one, 0 when
 * the AOR was removed). */
int sipreg__loctab_replace(struct sipreg__loctab *t, struct sipreg_str aor, uint64_t expect,
                           const struct sipreg_binding *v, size_t n, int64_t now,
                           uint64_t *version);

/* Deletes at most max_rows bindings with expires_at <= now, visiting only AORs whose earliest
 * expiry has come (the wheel), with bounded work per call. Versions do not change: what is
 * purged was already invisible. OUT: *purged (incremented). */
void sipreg__loctab_expire(struct sipreg__loctab *t, int64_t now, size_t max_rows, size_t *purged);

/* Calls fn for every binding with expires_at > now; a non-zero return stops and is returned. */
int sipreg__loctab_iterate(struct sipreg__loctab *t, int64_t now, sipreg_store_binding_fn fn,
                           void *ud);

/* Bindings stored (expired ones included until purged), and AORs. */
size_t sipreg__loctab_bindings(const struct sipreg__loctab *t);
size_t sipreg__loctab_aors(const struct sipreg__loctab *t);

#endif
