/* Per-source token buckets in a bounded table: the registrar's cap on unauthenticated replies. */
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "registrar_int.h"

#define PROBE 8

struct bucket {
    uint64_t h;            /* 0: free */
    uint32_t milli_tokens; /* tokens * 1000, for sub-token refill precision */
    sipreg_time last;
};

struct sipreg__buckets {
    pthread_mutex_t mu; /* workers may share one */
    struct bucket *v;
    size_t mask;
    uint32_t rate, burst;
    uint8_t key[16];
};

int sipreg__buckets_create(struct sipreg__buckets **out, size_t capacity, uint32_t rate,
                           uint32_t burst)
{
    size_t n = 16;
    while (n < capacity && n < ((size_t)1 << 24))
        n <<= 1;
    if (!rate || burst < 1)
        return SIPREG_EINVAL;
    struct sipreg__buckets *b = sipreg_calloc(1, sizeof *b);
    if (!b)
        return SIPREG_ENOMEM;
    b->v = sipreg_calloc(n, sizeof *b->v);
    if (!b->v) {
        sipreg_free(b);
        return SIPREG_ENOMEM;
    }
    if (RAND_bytes(b->key, sizeof b->key) != 1) {
        sipreg_free(b->v);
        sipreg_free(b);
        return SIPREG_ECRYPTO;
    }
    pthread_mutex_init(&b->mu, NULL);
    b->mask = n - 1;
    b->rate = rate;
    b->burst = burst > 4000000 ? 4000000 : burst;
    *out = b;
    return 0;
}

void sipreg__buckets_destroy(struct sipreg__buckets *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    sipreg_free(b->v);
    sipreg_free(b);
}

static void refill(const struct sipreg__buckets *b, struct bucket *e, sipreg_time now)
{
    if (now <= e->last)
        return;
    uint64_t add = (uint64_t)(now - e->last) * b->rate; /* ms * tokens/s = milli-tokens */
    uint64_t full = (uint64_t)b->burst * 1000;
    uint64_t t = e->milli_tokens + (add > full ? full : add);
    e->milli_tokens = (uint32_t)(t > full ? full : t);
    e->last = now;
}

static int take(struct sipreg__buckets *b, const void *key, size_t len, sipreg_time now)
{
    uint64_t h = sipreg__siphash24(b->key, key, len);
    h = h ? h : 1;
    struct bucket *e = NULL, *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct bucket *c = &b->v[(h + i) & b->mask];
        if (c->h == h) {
            e = c;
            break;
        }
        /* a free slot, else the least recently used one */
        if (c->h == 0) {
            if (!victim || victim->h != 0)
                victim = c;
        } else if (!victim || (victim->h != 0 && c->last < victim->last)) {
            victim = c;
        }
    }
    if (!e) {
        /* a new source starts with a full bucket; evicting another source's entry only gives
         * that source a full bucket back, so eviction never makes the cap stricter */
        e = victim;
        *e = (struct bucket){h, (uint32_t)b->burst * 1000, now};
    }
    refill(b, e, now);
    if (e->milli_tokens < 1000)
        return 0;
    e->milli_tokens -= 1000;
    return 1;
}

static int peek(struct sipreg__buckets *b, const void *key, size_t len, sipreg_time now)
{
    uint64_t h = sipreg__siphash24(b->key, key, len);
    h = h ? h : 1;
    for (size_t i = 0; i < PROBE; i++) {
        struct bucket *c = &b->v[(h + i) & b->mask];
        if (c->h == h) {
            refill(b, c, now);
            return c->milli_tokens >= 1000;
        }
    }
    return 1;
}

int sipreg__buckets_take(struct sipreg__buckets *b, const void *key, size_t len, sipreg_time now)
{
    pthread_mutex_lock(&b->mu);
    int ok = take(b, key, len, now);
    pthread_mutex_unlock(&b->mu);
    return ok;
}

int sipreg__buckets_peek(struct sipreg__buckets *b, const void *key, size_t len, sipreg_time now)
{
    pthread_mutex_lock(&b->mu);
    int ok = peek(b, key, len, now);
    pthread_mutex_unlock(&b->mu);
    return ok;
}
