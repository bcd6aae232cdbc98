/* Registrar internals: the failed-authentication limiter. */
#ifndef SIPREG_REGISTRAR_INT_H
#define SIPREG_REGISTRAR_INT_H

#include "core/core_int.h"

/* Counts failures per key (a source address or a username) in a fixed-size table, so that
 * memory stays bounded whatever the number of attackers. A key with `limit` failures within
 * `window` ms is blocked for `cooldown` ms. When the table is full the entry touched longest ago
 * in the probed neighbourhood is evicted: an attacker spraying keys can only evict entries, and
 * each evicted key starts again from zero, so the limit still holds per `window`. */
struct sipreg__limiter;

int sipreg__limiter_create(struct sipreg__limiter **out, size_t capacity, uint32_t limit,
                           sipreg_time window, sipreg_time cooldown);
void sipreg__limiter_destroy(struct sipreg__limiter *l);
/* 1 when the key is blocked at `now`. */
int sipreg__limiter_blocked(struct sipreg__limiter *l, const void *key, size_t len,
                            sipreg_time now);
/* Failures counted for the key in the current window (0 when unknown or the window passed). */
uint32_t sipreg__limiter_failures(struct sipreg__limiter *l, const void *key, size_t len,
                                  sipreg_time now);
/* Records a failure; returns 1 when this failure made the key blocked. */
int sipreg__limiter_fail(struct sipreg__limiter *l, const void *key, size_t len, sipreg_time now);

/* A token bucket per key (a source address) in a fixed-size table: `rate` tokens per second up to
 * `burst`. Caps what the registrar sends to sources that have not authenticated, so that it
 * cannot be used to amplify spoofed traffic. A table entry is reused when its bucket is full
 * (idle) or, failing that, the least recently used one in the probe window is. */
struct sipreg__buckets;

int sipreg__buckets_create(struct sipreg__buckets **out, size_t capacity, uint32_t rate,
                           uint32_t burst);
void sipreg__buckets_destroy(struct sipreg__buckets *b);
/* Takes one token for the key; 1 when there was one, 0 when the key is over its rate. */
int sipreg__buckets_take(struct sipreg__buckets *b, const void *key, size_t len, sipreg_time now);
/* 1 when the key has a token (or is unknown), without taking it. */
int sipreg__buckets_peek(struct sipreg__buckets *b, const void *key, size_t len, sipreg_time now);

#endif
