/* Registrar internals: the failed-authentication limiter. */
#ifndef SIPREG_REGISTRAR_INT_H
#define SIPREG_REGISTRAR_INT_H

#include "core/core_int.h"

/* Counts failures per key (a source, a user, or a user at a source) in a fixed-size table, so
 * that memory stays bounded whatever the number of attackers. Below `limit` failures within
 * `window` ms nothing happens; from the limit on, each failure puts the key in a slowdown that
 * grows with the count (1 s, 2 s, 4 s ... up to `cooldown` ms) during which the caller refuses
 * to verify it, and the count is forgiven only after a whole cooldown without failure past the
 * last slowdown. A success can be remembered too (`good_ttl` ms), so that a user's own device
 * is told apart from the sources guessing at it. When the table is full an idle entry, else the
 * one touched longest ago in the probed neighbourhood is evicted (sparing remembered
 * successes): an attacker spraying keys only evicts entries, and an evicted key starts again
 * from zero. Thread-safe: workers may share one. */
struct sipreg__limiter;

int sipreg__limiter_create(struct sipreg__limiter **out, size_t capacity, uint32_t limit,
                           sipreg_time window, sipreg_time cooldown, sipreg_time good_ttl);
void sipreg__limiter_destroy(struct sipreg__limiter *l);
/* 1 when the key is in a slowdown at `now`. */
int sipreg__limiter_blocked(struct sipreg__limiter *l, const void *key, size_t len,
                            sipreg_time now);
/* Failures counted for the key and not yet forgiven. */
uint32_t sipreg__limiter_failures(struct sipreg__limiter *l, const void *key, size_t len,
                                  sipreg_time now);
/* Records a failure; returns 1 when this failure reached the limit. */
int sipreg__limiter_fail(struct sipreg__limiter *l, const void *key, size_t len, sipreg_time now);
/* Records a success. */
void sipreg__limiter_ok(struct sipreg__limiter *l, const void *key, size_t len, sipreg_time now);
/* 1 when a success was recorded within good_ttl and no failure since. */
int sipreg__limiter_known_good(struct sipreg__limiter *l, const void *key, size_t len,
                               sipreg_time now);

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

/* ---- the server driver's side of the registrar (src/net) ----
 * A registrar parks each change set it decides (see handle_register) and answers it once the
 * change is durable. Without a driver, sipreg_registrar_flush() applies and commits them. A
 * driver with a store writer takes them instead, submits them, and gives each back. */
struct sipreg_registrar;
struct sipreg__wjob;
/* From now on a driver's writer applies the change sets and purges: the registrar only reads
 * its store (take_jobs does this too, but a driver says so before the first change comes). */
void sipreg__registrar_use_writer(struct sipreg_registrar *r);
/* Every parked change set not yet taken, oldest first, linked by `next`, for the driver's
 * writer. From the first call on, the registrar writes nothing to its store (its timers no
 * longer purge it either: the writer's owner does) and flush leaves taken jobs alone. */
struct sipreg__wjob *sipreg__registrar_take_jobs(struct sipreg_registrar *r);
/* Answers a taken job back from the writer (queues its reply) and frees it. */
void sipreg__registrar_complete(struct sipreg_registrar *r, struct sipreg__wjob *j,
                                sipreg_time now);
/* Change sets parked and not yet answered. */
size_t sipreg__registrar_pending(const struct sipreg_registrar *r);

#endif
