/* The store writer (see writer.h). */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"
#include "store/writer.h"

#define DEFAULT_BATCH  256
#define DEFAULT_QUEUED 65536
#define SCRATCH        (1u << 20) /* one AOR's list at most: 32 bindings of 8 KB fields each */

struct inbox {
    pthread_mutex_t mu;
    struct sipreg__wjob *head, *tail;
    int efd;
};

struct sipreg__writer {
    struct sipreg_store *store;
    size_t max_batch, max_queued;
    int64_t purge_every_ms, next_purge;
    size_t purge_rows;
    pthread_t thread;
    pthread_mutex_t mu; /* guards the queue, stop and stats */
    pthread_cond_t cv;
    struct sipreg__wjob *head, *tail;
    size_t queued;
    int stop;
    struct sipreg__writer_stats stats;
    char *scratch;
    unsigned ninbox;
    struct inbox in[];
};

/* ---- jobs ---- */

int sipreg__wjob_new(struct sipreg__wjob **out, const struct sipreg_store_change *c, int64_t now,
                     void *ud)
{
    size_t nchars = c->aor.len;
    if (c->nops > (SIZE_MAX / 2) / sizeof(struct sipreg_store_op))
        return SIPREG_ENOMEM;
    for (size_t i = 0; i < c->nops; i++)
        nchars += sipreg__binding_strlen(&c->ops[i].b);
    size_t size = sizeof(struct sipreg__wjob) + c->nops * sizeof(struct sipreg_store_op);
    if (nchars > SIZE_MAX - size)
        return SIPREG_ENOMEM;
    struct sipreg__wjob *j = sipreg_malloc(size + nchars);
    if (!j)
        return SIPREG_ENOMEM;
    memset(j, 0, sizeof *j);
    struct sipreg_store_op *v = (struct sipreg_store_op *)(void *)(j + 1); /* after the job */
    char *cur = (char *)j + size;
    j->change.aor = sipreg__str_copy(c->aor, &cur);
    for (size_t i = 0; i < c->nops; i++) {
        v[i].kind = c->ops[i].kind;
        sipreg__binding_copy(&v[i].b, &c->ops[i].b, &cur);
    }
    j->change.ops = v;
    j->change.nops = c->nops;
    j->now = now;
    j->ud = ud;
    *out = j;
    return 0;
}

void sipreg__wjob_free(struct sipreg__wjob *j)
{
    if (!j)
        return;
    sipreg_free(j->list.v);
    sipreg_free(j);
}

/* Gives j its own copy of list (the writer's scratch is reused). */
static int keep_list(struct sipreg__wjob *j, const struct sipreg_binding_list *list)
{
    j->list.v = NULL;
    j->list.n = 0;
    if (!list->n)
        return 0;
    size_t nchars = 0;
    for (size_t i = 0; i < list->n; i++)
        nchars += sipreg__binding_strlen(&list->v[i]);
    struct sipreg_binding *v = sipreg_malloc(list->n * sizeof *v + nchars);
    if (!v)
        return SIPREG_ENOMEM;
    char *cur = (char *)(v + list->n);
    for (size_t i = 0; i < list->n; i++)
        sipreg__binding_copy(&v[i], &list->v[i], &cur);
    j->list.v = v;
    j->list.n = list->n;
    return 0;
}

/* ---- the thread ---- */

static void post(struct sipreg__writer *w, struct sipreg__wjob *batch)
{
    uint64_t touched[4] = {0}; /* inboxes to wake, as a bit set (at most 256 of them) */
    for (struct sipreg__wjob *j = batch, *next; j; j = next) {
        next = j->next;
        j->next = NULL;
        unsigned k = j->inbox; /* j is the worker's once linked in: read nothing after */
        struct inbox *in = &w->in[k];
        pthread_mutex_lock(&in->mu);
        if (in->tail)
            in->tail->next = j;
        else
            in->head = j;
        in->tail = j;
        pthread_mutex_unlock(&in->mu);
        touched[(k >> 6) & 3] |= (uint64_t)1 << (k & 63);
    }
    for (unsigned i = 0; i < w->ninbox; i++) {
        if (!(touched[(i >> 6) & 3] & (uint64_t)1 << (i & 63)))
            continue;
        uint64_t one = 1;
        /* EAGAIN only when the counter is about to overflow: the inbox is readable anyway */
        ssize_t n = write(w->in[i].efd, &one, sizeof one);
        (void)n;
    }
}

int sipreg__wjob_apply(struct sipreg__wjob *j, struct sipreg_store *s, struct sipreg_arena *scratch)
{
    size_t mark = sipreg_arena_mark(scratch);
    struct sipreg_binding_list list;
    j->err = sipreg_store_apply(s, &j->change, j->now, scratch, &list);
    if (!j->err)
        j->err = keep_list(j, &list);
    sipreg_arena_rewind(scratch, mark);
    return j->err;
}

void sipreg__wjob_fail(struct sipreg__wjob *j, int err)
{
    j->err = err;
    sipreg_free(j->list.v);
    j->list.v = NULL;
    j->list.n = 0;
}

static void run_batch(struct sipreg__writer *w, struct sipreg__wjob *batch)
{
    struct sipreg_arena a;
    sipreg_arena_init(&a, w->scratch, SCRATCH);
    for (struct sipreg__wjob *j = batch; j; j = j->next)
        (void)sipreg__wjob_apply(j, w->store, &a);
    int err = sipreg_store_commit(w->store);
    size_t n = 0;
    for (struct sipreg__wjob *j = batch; j; j = j->next) {
        n++;
        if (err && !j->err) /* rolled back with the whole batch */
            sipreg__wjob_fail(j, err);
    }
    pthread_mutex_lock(&w->mu);
    w->stats.jobs += n;
    w->stats.commits++;
    w->stats.failed_commits += err != 0;
    pthread_mutex_unlock(&w->mu);
}

static int64_t clock_ms(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deletes expired bindings (bounded work) and commits; the caller holds no lock. */
static void purge(struct sipreg__writer *w)
{
    size_t purged = 0;
    int err =
        sipreg_store_expire(w->store, clock_ms(CLOCK_REALTIME) / 1000, w->purge_rows, &purged);
    int cerr = sipreg_store_commit(w->store);
    pthread_mutex_lock(&w->mu);
    w->stats.purged += err || cerr ? 0 : purged;
    w->stats.purges++;
    pthread_mutex_unlock(&w->mu);
}

static void *writer_main(void *arg)
{
    struct sipreg__writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stop) {
            if (!w->purge_every_ms) {
                pthread_cond_wait(&w->cv, &w->mu);
                continue;
            }
            int64_t now = clock_ms(CLOCK_MONOTONIC);
            if (now >= w->next_purge) {
                w->next_purge = now + w->purge_every_ms;
                pthread_mutex_unlock(&w->mu);
                purge(w);
                pthread_mutex_lock(&w->mu);
                continue;
            }
            struct timespec until = {(time_t)(w->next_purge / 1000),
                                     (long)(w->next_purge % 1000) * 1000000};
            pthread_cond_timedwait(&w->cv, &w->mu, &until);
        }
        if (!w->head)
            break; /* stopping, and everything submitted is done */
        /* the whole queue up to max_batch: what arrived during the last commit's fsync is the
         * next group, so the batch grows with the load and no delay is added at low load */
        struct sipreg__wjob *batch = w->head, *last = w->head;
        size_t k = 1;
        while (k < w->max_batch && last->next) {
            last = last->next;
            k++;
        }
        w->head = last->next;
        if (!w->head)
            w->tail = NULL;
        last->next = NULL;
        w->queued -= k;
        pthread_mutex_unlock(&w->mu);
        run_batch(w, batch);
        post(w, batch);
        /* under a steady load the queue is never empty: purge between batches too */
        if (w->purge_every_ms && clock_ms(CLOCK_MONOTONIC) >= w->next_purge) {
            w->next_purge = clock_ms(CLOCK_MONOTONIC) + w->purge_every_ms;
            purge(w);
        }
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- life cycle ---- */

int sipreg__writer_create(struct sipreg__writer **out, const struct sipreg__writer_cfg *cfg)
{
    if (!out || !cfg || !cfg->store || cfg->ninbox == 0 || cfg->ninbox > 256)
        return SIPREG_EINVAL;
    struct sipreg__writer *w = sipreg_calloc(1, sizeof *w + cfg->ninbox * sizeof(struct inbox));
    if (!w)
        return SIPREG_ENOMEM;
    w->store = cfg->store;
    w->max_batch = cfg->max_batch ? cfg->max_batch : DEFAULT_BATCH;
    w->max_queued = cfg->max_queued ? cfg->max_queued : DEFAULT_QUEUED;
    w->purge_every_ms = cfg->purge_every_ms;
    w->purge_rows = cfg->purge_rows ? cfg->purge_rows : 256;
    w->next_purge = clock_ms(CLOCK_MONOTONIC) + w->purge_every_ms;
    w->ninbox = cfg->ninbox;
    unsigned inited = 0;
    for (unsigned i = 0; i < w->ninbox; i++)
        w->in[i].efd = -1;
    int err = SIPREG_ENOMEM;
    w->scratch = sipreg_malloc(SCRATCH);
    if (!w->scratch)
        goto fail;
    err = SIPREG_EIO;
    for (; inited < w->ninbox; inited++) {
        w->in[inited].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->in[inited].efd < 0 || pthread_mutex_init(&w->in[inited].mu, NULL) != 0)
            goto fail_in;
    }
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        goto fail_in;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        goto fail_mu;
    /* timed waits (the purge) on the monotonic clock: a wall clock step must not stall them */
    int cerr = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (!cerr)
        cerr = pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (cerr)
        goto fail_mu;
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0)
        goto fail_cv;
    *out = w;
    return 0;

fail_cv:
    pthread_cond_destroy(&w->cv);
fail_mu:
    pthread_mutex_destroy(&w->mu);
fail_in:
    for (unsigned i = 0; i < w->ninbox; i++) {
        if (w->in[i].efd >= 0)
            close(w->in[i].efd);
        if (i < inited)
            pthread_mutex_destroy(&w->in[i].mu);
    }
fail:
    sipreg_free(w->scratch);
    sipreg_free(w);
    return err;
}

void sipreg__writer_destroy(struct sipreg__writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    for (unsigned i = 0; i < w->ninbox; i++) {
        for (struct sipreg__wjob *j = w->in[i].head, *next; j; j = next) {
            next = j->next;
            sipreg__wjob_free(j);
        }
        close(w->in[i].efd);
        pthread_mutex_destroy(&w->in[i].mu);
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    sipreg_free(w->scratch);
    sipreg_free(w);
}

int sipreg__writer_submit(struct sipreg__writer *w, unsigned inbox, struct sipreg__wjob *j)
{
    if (inbox >= w->ninbox)
        return SIPREG_EINVAL;
    j->inbox = inbox;
    j->next = NULL;
    j->err = 0;
    pthread_mutex_lock(&w->mu);
    if (w->stop || w->queued >= w->max_queued) {
        pthread_mutex_unlock(&w->mu);
        return SIPREG_EBUSY;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int sipreg__writer_inbox_fd(const struct sipreg__writer *w, unsigned inbox)
{
    return inbox < w->ninbox ? w->in[inbox].efd : -1;
}

struct sipreg__wjob *sipreg__writer_take(struct sipreg__writer *w, unsigned inbox)
{
    if (inbox >= w->ninbox)
        return NULL;
    struct inbox *in = &w->in[inbox];
    uint64_t v;
    while (read(in->efd, &v, sizeof v) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&in->mu);
    struct sipreg__wjob *j = in->head;
    in->head = in->tail = NULL;
    pthread_mutex_unlock(&in->mu);
    return j;
}

void sipreg__writer_stats(struct sipreg__writer *w, struct sipreg__writer_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    out->queued = w->queued;
    pthread_mutex_unlock(&w->mu);
}
