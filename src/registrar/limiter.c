/* Bounded failure counters with cool-down, for brute-force protection of digest authentication. */
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "registrar_int.h"

#define PROBE 8

struct entry {
    uint64_t h; /* 0: free */
    uint32_t count;
    sipreg_time window_start;
    sipreg_time blocked_until;
    sipreg_time touched;
};

struct sipreg__limiter {
    pthread_mutex_t mu; /* workers may share one */
    struct entry *v;
    size_t mask;
    uint32_t limit;
    sipreg_time window, cooldown;
    uint8_t key[16];
};

int sipreg__limiter_create(struct sipreg__limiter **out, size_t capacity, uint32_t limit,
                           sipreg_time window, sipreg_time cooldown)
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

/* An entry whose window and block have both passed holds nothing worth keeping. */
static int idle(const struct sipreg__limiter *l, const struct entry *e, sipreg_time now)
{
    return e->blocked_until <= now && now - e->window_start >= l->window;
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
    uint32_t n = !e || idle(l, e, now) ? 0 : e->count;
    pthread_mutex_unlock(&l->mu);
    return n;
}

int sipreg__limiter_fail(struct sipreg__limiter *l, const void *key, size_t len, sipreg_time now)
{
    uint64_t h = hash_of(l, key, len);
    int ret = 0;
    pthread_mutex_lock(&l->mu);
    struct entry *e = find(l, h);
    if (!e) {
        /* a free or idle slot, else the least recently touched one in the probe window */
        struct entry *victim = NULL;
        for (size_t i = 0; i < PROBE; i++) {
            struct entry *c = &l->v[(h + i) & l->mask];
            if (c->h == 0 || idle(l, c, now)) {
                victim = c;
                break;
            }
            if (!victim || c->touched < victim->touched)
                victim = c;
        }
        e = victim;
        *e = (struct entry){.h = h, .window_start = now};
    }
    if (now - e->window_start >= l->window) {
        e->window_start = now;
        e->count = 0;
    }
    e->touched = now;
    if (e->count < UINT32_MAX)
        e->count++;
    if (e->count >= l->limit && e->blocked_until <= now) {
        e->blocked_until = now + l->cooldown;
        ret = 1;
    }
    pthread_mutex_unlock(&l->mu);
    return ret;
}
