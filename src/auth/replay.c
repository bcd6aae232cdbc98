/* Bounded nc replay tracker for digest nonces (RFC 7616 §3.3 nonce-count, §5.5 replay). */
#include <pthread.h>
#include <string.h>

#include <openssl/rand.h>

#include "auth/auth_int.h"

struct entry {
    uint8_t tag[16];
    sipreg_time issued;
    uint32_t nc;
};

struct sipreg_auth_tracker {
    pthread_mutex_t mu;
    size_t cap, n;
    struct entry *e; /* cap entries, the first n in use */
    uint32_t *heap;  /* entry numbers, a min-heap on issue time: the eviction order */
    uint32_t *index; /* open addressing with linear probing: entry number + 1, 0 = empty */
    size_t mask;
    bool has_wm;
    sipreg_time wm; /* newest issue time ever evicted */
    uint32_t epoch; /* carried by the nonces this tracker counts (see sipreg_auth_nonce_scope) */
};

/* Tags are HMAC outputs the server chose: uniformly spread and not attacker-controlled, so their
 * first bytes make a hash that no input can flood. */
static size_t tag_hash(const uint8_t tag[16])
{
    uint64_t h;
    memcpy(&h, tag, sizeof h);
    return (size_t)h;
}

int sipreg_auth_tracker_create(struct sipreg_auth_tracker **out, size_t capacity)
{
    *out = NULL;
    if (capacity < 1 || capacity > ((size_t)1 << 26))
        return SIPREG_EINVAL;
    size_t slots = 2;
    while (slots < 2 * capacity)
        slots <<= 1;
    struct sipreg_auth_tracker *t = sipreg_calloc(1, sizeof *t);
    if (!t)
        return SIPREG_ENOMEM;
    t->cap = capacity;
    t->mask = slots - 1;
    t->e = sipreg_calloc(capacity, sizeof *t->e);
    t->heap = sipreg_calloc(capacity, sizeof *t->heap);
    t->index = sipreg_calloc(slots, sizeof *t->index);
    /* a fresh epoch per tracker, never 0 (the epoch of unscoped nonces) */
    bool rand_ok = RAND_bytes((unsigned char *)&t->epoch, sizeof t->epoch) == 1;
    t->epoch |= !t->epoch;
    if (!t->e || !t->heap || !t->index || !rand_ok || pthread_mutex_init(&t->mu, NULL) != 0) {
        sipreg_free(t->e);
        sipreg_free(t->heap);
        sipreg_free(t->index);
        sipreg_free(t);
        return SIPREG_ENOMEM;
    }
    *out = t;
    return 0;
}

void sipreg_auth_tracker_destroy(struct sipreg_auth_tracker *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    sipreg_free(t->e);
    sipreg_free(t->heap);
    sipreg_free(t->index);
    sipreg_free(t);
}

size_t sipreg_auth_tracker_count(struct sipreg_auth_tracker *t)
{
    pthread_mutex_lock(&t->mu);
    size_t n = t->n;
    pthread_mutex_unlock(&t->mu);
    return n;
}

/* Slot of the index holding `tag`, or of the empty slot where it would go. */
static size_t index_slot(const struct sipreg_auth_tracker *t, const uint8_t tag[16])
{
    size_t i = tag_hash(tag) & t->mask;
    while (t->index[i] && memcmp(t->e[t->index[i] - 1].tag, tag, 16) != 0)
        i = (i + 1) & t->mask;
    return i;
}

/* Empties slot i and shifts later members of its probe run back (no tombstones). */
static void index_remove(struct sipreg_auth_tracker *t, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & t->mask;
        if (!t->index[j])
            break;
        size_t home = tag_hash(t->e[t->index[j] - 1].tag) & t->mask;
        /* The member at j may move to i only if its home is not cyclically in (i, j]. */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->index[i] = t->index[j];
        i = j;
    }
    t->index[i] = 0;
}

static bool older(const struct sipreg_auth_tracker *t, uint32_t a, uint32_t b)
{
    return t->e[a].issued < t->e[b].issued;
}

static void heap_push(struct sipreg_auth_tracker *t, size_t pos, uint32_t v)
{
    t->heap[pos] = v;
    while (pos > 0) {
        size_t up = (pos - 1) / 2;
        if (!older(t, t->heap[pos], t->heap[up]))
            break;
        uint32_t tmp = t->heap[up];
        t->heap[up] = t->heap[pos];
        t->heap[pos] = tmp;
        pos = up;
    }
}

/* Replaces the root (the oldest entry) with entry v and restores the heap order. */
static void heap_replace_root(struct sipreg_auth_tracker *t, uint32_t v)
{
    size_t pos = 0, n = t->n;
    t->heap[0] = v;
    for (;;) {
        size_t l = 2 * pos + 1, r = l + 1, m = pos;
        if (l < n && older(t, t->heap[l], t->heap[m]))
            m = l;
        if (r < n && older(t, t->heap[r], t->heap[m]))
            m = r;
        if (m == pos)
            break;
        uint32_t tmp = t->heap[m];
        t->heap[m] = t->heap[pos];
        t->heap[pos] = tmp;
        pos = m;
    }
}

/* The entry of the nonce `info`, inserted with nc 0 when absent (evicting the oldest when full);
 * NULL when it is not held and may have been evicted, or would be evicted at once. */
static struct entry *get_locked(struct sipreg_auth_tracker *t,
                                const struct sipreg_auth_nonce_info *info)
{
    size_t slot = index_slot(t, info->tag);
    if (t->index[slot])
        return &t->e[t->index[slot] - 1];
    /* Not held: it may be new, or it may have been evicted; the watermark tells them apart. */
    if (t->has_wm && info->issued <= t->wm)
        return NULL;
    uint32_t v;
    if (t->n < t->cap) {
        v = (uint32_t)t->n;
        t->e[v] = (struct entry){.issued = info->issued};
        memcpy(t->e[v].tag, info->tag, 16);
        heap_push(t, t->n, v);
        t->n++;
    } else {
        v = t->heap[0];
        struct entry *old = &t->e[v];
        /* Older than everything held: it would be the one evicted right away. */
        if (info->issued < old->issued)
            return NULL;
        index_remove(t, index_slot(t, old->tag));
        if (!t->has_wm || old->issued > t->wm)
            t->wm = old->issued;
        t->has_wm = true;
        *old = (struct entry){.issued = info->issued};
        memcpy(old->tag, info->tag, 16);
        heap_replace_root(t, v);
        slot = index_slot(t, info->tag); /* the removal may have shifted the probe run */
    }
    t->index[slot] = v + 1;
    return &t->e[v];
}

int sipreg_auth_tracker_check(struct sipreg_auth_tracker *t,
                              const struct sipreg_auth_nonce_info *info, uint32_t nc)
{
    if (nc == 0 || nc == UINT32_MAX)
        return SIPREG_ESTALE;
    pthread_mutex_lock(&t->mu);
    struct entry *e = get_locked(t, info);
    int err = !e || nc <= e->nc ? SIPREG_ESTALE : 0;
    if (!err)
        e->nc = nc;
    pthread_mutex_unlock(&t->mu);
    return err;
}

int sipreg_auth_tracker_usable(struct sipreg_auth_tracker *t,
                               const struct sipreg_auth_nonce_info *info)
{
    pthread_mutex_lock(&t->mu);
    size_t slot = index_slot(t, info->tag);
    bool held = t->index[slot] != 0;
    int err = held ? (t->e[t->index[slot] - 1].nc == UINT32_MAX ? SIPREG_ESTALE : 0)
                   : (t->has_wm && info->issued <= t->wm ? SIPREG_ESTALE : 0);
    pthread_mutex_unlock(&t->mu);
    return err;
}

void sipreg_auth_tracker_burn(struct sipreg_auth_tracker *t,
                              const struct sipreg_auth_nonce_info *info)
{
    pthread_mutex_lock(&t->mu);
    struct entry *e = get_locked(t, info);
    if (e)
        e->nc = UINT32_MAX; /* above any nc: every later use is refused */
    pthread_mutex_unlock(&t->mu);
}

uint32_t sipreg_auth_tracker_epoch(const struct sipreg_auth_tracker *t)
{
    return t->epoch; /* set once at creation: no lock needed */
}

bool sipreg__auth_tracker_find(struct sipreg_auth_tracker *t, const uint8_t tag[16], uint32_t *nc)
{
    pthread_mutex_lock(&t->mu);
    size_t slot = index_slot(t, tag);
    bool found = t->index[slot] != 0;
    if (found)
        *nc = t->e[t->index[slot] - 1].nc;
    pthread_mutex_unlock(&t->mu);
    return found;
}
