/* Bounded failure counters with a growing slowdown, for brute-force protection of digest auth. */
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "registrar_int.h"

#define PROBE 8
#define STEP  1000 /* ms: the first slowdown; each later failure doubles it up to the cooldown */

struct entry {
    uint64_t h; /* 0: free */
    uint32_t count;
    sipreg_time window_start;
    sipreg_time blocked_until; /* no verification before this (0: none) */
    sipreg_time last_fail;
    sipreg_time last_ok; /* 0: never */
    sipreg_time touched;
};

struct sipreg__limiter {
    pthread_mutex_t mu; /* workers may share one */
    struct entry *v;
    size_t mask;
    uint32_t limit;
    sipreg_time window, cooldown, good_ttl;
    uint8_t key[16];
};

int sipreg__limiter_create(struct sipreg__limiter **out, size_t capacity, uint32_t limit,
                           sipreg_time window, sipreg_time cooldown, sipreg_time good_ttl)
{
    size_t n = 16;
    while (n < capacity && n < ((size_t)1 << 24))
        n <<= 1;
    struct sipreg__limiter *l = sipreg_calloc(1, sizeof *l);
    if (!l)
        return SIPREG_ENOMEM;
    l->v = sipreg_calloc(n, sizeof *l->v);
    if (!l->v) {
        sipreg_free(l);
        return SIPREG_ENOMEM;
    }
    if (RAND_bytes(l->key, sizeof l->key) != 1) {
        sipreg_free(l->v);
        sipreg_free(l);
        return SIPREG_ECRYPTO;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->mask = n - 1;
    l->limit = limit ? limit : 1;
    l->window = window;
    l->cooldown = cooldown;
    l->good_ttl = good_ttl;
    *out = l;
    return 0;
}

void sipreg__limiter_destroy(struct sipreg__limiter *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    sipreg_free(l->v);
    sipreg_free(l);
}

static uint64_t hash_of(const struct sipreg__limiter *l, const void *key, size_t len)
{
    uint64_t h = sipreg__siphash24(l->key, key, len);
    return h ? h : 1;
}

static struct entry *find(struct sipreg__limiter *l, uint64_t h)
{
    for (size_t i = 0; i < PROBE; i++) {
        struct entry *e = &l->v[(h + i) & l->mask];
        if (e->h == h)
            return e;
    }
    return NULL;
}

/* Whether the failures counted are forgiven: below the limit, once the window has passed; in a
 * slowdown, only after a whole cooldown without failure past its end, so that waiting out one
 * window does not buy a guesser a fresh allowance. */
static int forgiven(const struct sipreg__limiter *l, const struct entry *e, sipreg_time now)
{
    if (e->count < l->limit)
        return now - e->window_start >= l->window;
    return now - e->blocked_until >= l->cooldown;
}

static int good(const struct sipreg__limiter *l, const struct entry *e, sipreg_time now)
{
    return e->last_ok && e->last_ok > e->last_fail && now - e->last_ok < l->good_ttl;
}

/* An entry that holds nothing worth keeping. */
static int idle(const struct sipreg__limiter *l, const struct entry *e, sipreg_time now)
{
    return (!e->count || forgiven(l, e, now)) && !good(l, e, now);
}

/* The key's entry, made when absent: a free or idle slot of the probe window, else the least
 * recently touched one, sparing entries that remember a success. An attacker spraying keys only
 * evicts entries, and an evicted key starts from zero again, so a count never grows falsely. */
static struct entry *get(struct sipreg__limiter *l, uint64_t h, sipreg_time now)
{
    struct entry *e = find(l, h);
    if (e)
        return e;
    struct entry *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct entry *c = &l->v[(h + i) & l->mask];
        if (c->h == 0 || idle(l, c, now)) {
            victim = c;
            break;
        }
        if (!victim || good(l, victim, now) > good(l, c, now) ||
            (good(l, victim, now) == good(l, c, now) && c->touched < victim->touched))
            victim = c;
    }
    *victim = (struct entry){.h = h, .window_start = now};
    return victim;
}

int sipreg__limiter_blocked(struct sipreg__limiter *l, const void *key, size_t len, sipreg_time now)
{
    uint64_t h = hash_of(l, key, len);
    pthread_mutex_lock(&l->mu);
    struct entry *e = find(l, h);
    int blocked = e && e->blocked_until > now;
    pthread_mutex_unlock(&l->mu);
    return blocked;
}

uint32_t sipreg__limiter_failures(struct sipreg__limiter *l, const void *key, size_t len,
                                  sipreg_time now)
{
    uint64_t h = hash_of(l, key, len);
    pthread_mutex_lock(&l->mu);
    struct entry *e = find(l, h);
    uint32_t n = !e || forgiven(l, e, now) ? 0 : e->count;
    pthread_mutex_unlock(&l->mu);
    return n;
}

int sipreg__limiter_fail(struct sipreg__limiter *l, const void *key, size_t len, sipreg_time now)
{
    uint64_t h = hash_of(l, key, len);
    int ret = 0;
    pthread_mutex_lock(&l->mu);
    struct entry *e = get(l, h, now);
    if (e->count && forgiven(l, e, now)) {
        e->count = 0;
        e->blocked_until = 0;
    }
    if (!e->count)
        e->window_start = now;
    e->touched = e->last_fail = now;
    if (e->count < UINT32_MAX)
        e->count++;
    if (e->count >= l->limit) {
        uint32_t over = e->count - l->limit;
        sipreg_time delay = over >= 30 ? l->cooldown : (sipreg_time)STEP << over;
        if (delay > l->cooldown)
            delay = l->cooldown;
        e->blocked_until = now + delay;
        ret = e->count == l->limit;
    }
    pthread_mutex_unlock(&l->mu);
    return ret;
}

void sipreg__limiter_ok(struct sipreg__limiter *l, const void *key, size_t len, sipreg_time now)
{
    uint64_t h = hash_of(l, key, len);
    pthread_mutex_lock(&l->mu);
    struct entry *e = get(l, h, now);
    e->touched = e->last_ok = now;
    pthread_mutex_unlock(&l->mu);
}

int sipreg__limiter_known_good(struct sipreg__limiter *l, const void *key, size_t len,
                               sipreg_time now)
{
    uint64_t h = hash_of(l, key, len);
    pthread_mutex_lock(&l->mu);
    struct entry *e = find(l, h);
    int ok = e && good(l, e, now);
    pthread_mutex_unlock(&l->mu);
    return ok;
}
