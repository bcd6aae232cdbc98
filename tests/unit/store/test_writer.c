/* Unit tests: the store writer thread (group commit of several workers' change sets). */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "sipreg/store.h"
#include "store/store_fixture.h"
#include "store/writer.h"
#include "test.h"

static struct sipreg_store_op up_op(const char *key, uint32_t cseq, int64_t exp)
{
    struct sipreg_store_op op;
    memset(&op, 0, sizeof op);
    op.kind = SIPREG_STORE_UPSERT;
    op.b.key = sipreg_str_z(key);
    op.b.contact = sipreg_str_z(key);
    op.b.expires_at = exp;
    op.b.q = -1;
    op.b.call_id = sipreg_str_z("cid");
    op.b.cseq = cseq;
    op.b.source = sipreg_str_z("udp:192.0.2.1:5060");
    op.b.transport = sipreg_str_z("udp");
    op.b.reg_id = -1;
    return op;
}

static int submit(struct sipreg__writer *w, unsigned inbox, const char *aor, const char *key,
                  uint32_t cseq, void *ud)
{
    struct sipreg_store_op op = up_op(key, cseq, 100000);
    struct sipreg_store_change c = {sipreg_str_z(aor), &op, 1};
    struct sipreg__wjob *j;
    int err = sipreg__wjob_new(&j, &c, 1000, ud);
    if (err)
        return err;
    err = sipreg__writer_submit(w, inbox, j);
    if (err)
        sipreg__wjob_free(j);
    return err;
}

/* Waits (up to 10 s) for completed jobs in the inbox; returns them. A wake-up may find nothing:
 * jobs posted before their eventfd write can be taken by an earlier take. */
static struct sipreg__wjob *wait_take(struct sipreg__writer *w, unsigned inbox)
{
    for (int i = 0; i < 100000; i++) {
        struct pollfd p = {sipreg__writer_inbox_fd(w, inbox), POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0)
            return NULL;
        struct sipreg__wjob *j = sipreg__writer_take(w, inbox);
        if (j)
            return j;
    }
    return NULL;
}

struct producer {
    struct sipreg__writer *w;
    unsigned inbox;
    int n, ok, bad;
};

/* Submits n changes (two keys per AOR, CSeq rising) and takes every result back itself, as a
 * worker does between its receives. */
static void *produce(void *arg)
{
    struct producer *p = arg;
    int pending = 0;
    for (int i = 0; i < p->n; i++) {
        char aor[32], key[32];
        snprintf(aor, sizeof aor, "sip:p%u-%d@h", p->inbox, i % 50);
        snprintf(key, sizeof key, "sip:c%d@h", (i / 50) % 2);
        if (submit(p->w, p->inbox, aor, key, (uint32_t)i + 1, (void *)(intptr_t)(i % 50)) != 0) {
            p->bad++;
            continue;
        }
        pending++;
        struct sipreg__wjob *j = sipreg__writer_take(p->w, p->inbox);
        for (struct sipreg__wjob *next; j; j = next, pending--) {
            next = j->next;
            if (j->err == 0 && j->list.n >= 1 && j->list.n <= 2)
                p->ok++;
            else
                p->bad++;
            sipreg__wjob_free(j);
        }
    }
    while (pending > 0) {
        struct sipreg__wjob *j = wait_take(p->w, p->inbox);
        if (!j)
            break;
        for (struct sipreg__wjob *next; j; j = next, pending--) {
            next = j->next;
            if (j->err == 0)
                p->ok++;
            else
                p->bad++;
            sipreg__wjob_free(j);
        }
    }
    return NULL;
}

static int count_fn(const struct sipreg_binding *b, void *ud)
{
    (void)b;
    ++*(int *)ud;
    return 0;
}

static int body_writer_workers(struct sipreg_store *s)
{
    struct sipreg__writer *w;
    struct sipreg__writer_cfg cfg = {.store = s, .ninbox = 3, .max_batch = 64};
    int err = sipreg__writer_create(&w, &cfg);
    if (err)
        return 1;
    struct producer p[3];
    pthread_t th[3];
    int started = 0;
    for (unsigned i = 0; i < 3; i++) {
        /* under the OOM sweep (one rerun per allocation) a short run is enough */
        p[i] = (struct producer){w, i, test_oom_active ? 10 : 400, 0, 0};
        if (pthread_create(&th[i], NULL, produce, &p[i]) != 0)
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    struct sipreg__writer_stats st;
    sipreg__writer_stats(w, &st);
    sipreg__writer_destroy(w);
    if (test_oom_active)
        return 1;
    ASSERT_EQ(started, 3);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(p[i].ok, 400);
        ASSERT_EQ(p[i].bad, 0);
    }
    ASSERT_EQ(st.jobs, 1200);
    ASSERT(st.commits >= 1 && st.commits <= 1200);
    ASSERT_EQ(st.failed_commits, 0);
    /* 3 producers x 50 AORs x 2 keys, durable in the store */
    int n = 0;
    ASSERT_EQ(sipreg_store_iterate(s, 1000, count_fn, &n), 0);
    ASSERT_EQ(n, 300);
    return 0;
}

TEST(store_writer_workers_memory)
{
    return with_store(0, NULL, body_writer_workers);
}

TEST(store_writer_workers_sqlite)
{
    return with_store(1, NULL, body_writer_workers);
}

/* Results come back in order, each with its own outcome: a refused change set (same Call-ID,
 * same CSeq) fails alone, the rest of its batch is committed. */
static int body_writer_outcomes(struct sipreg_store *s)
{
    struct sipreg__writer *w;
    struct sipreg__writer_cfg cfg = {.store = s, .ninbox = 1};
    if (sipreg__writer_create(&w, &cfg))
        return 1;
    int err = submit(w, 0, "sip:a@h", "sip:c1@h", 5, (void *)1);
    if (!err)
        err = submit(w, 0, "sip:a@h", "sip:c1@h", 5, (void *)2); /* not higher: refused */
    if (!err)
        err = submit(w, 0, "sip:a@h", "sip:c2@h", 6, (void *)3);
    int seen = 0, results[3] = {1, 1, 1};
    size_t n3 = 0;
    while (!err && seen < 3) {
        struct sipreg__wjob *j = wait_take(w, 0);
        if (!j)
            break;
        for (struct sipreg__wjob *next; j; j = next) {
            next = j->next;
            if ((intptr_t)j->ud == seen + 1)
                results[seen] = j->err;
            if (j->ud == (void *)3)
                n3 = j->list.n;
            seen++;
            sipreg__wjob_free(j);
        }
    }
    sipreg__writer_destroy(w);
    if (test_oom_active)
        return 1;
    ASSERT_EQ(err, 0);
    ASSERT_EQ(seen, 3);
    ASSERT_EQ(results[0], 0);
    ASSERT_EQ(results[1], SIPREG_EORDER);
    ASSERT_EQ(results[2], 0);
    ASSERT_EQ(n3, 2);
    return 0;
}

TEST(store_writer_outcomes)
{
    return with_store(0, NULL, body_writer_outcomes) || with_store(1, NULL, body_writer_outcomes);
}

/* Destroying the writer applies and commits what was submitted; a full queue refuses more. */
TEST(store_writer_drain_and_bound)
{
    struct tmpdb t;
    if (tmpdb_make(&t))
        return 1;
    struct sipreg_store_cfg scfg = {.busy_timeout_ms = 5000};
    struct sipreg_store *s = NULL, *other = NULL;
    struct sipreg__writer *w = NULL;
    int rc = 1, busy = 0, first = -1;
    if (sipreg_store_open_sqlite(&s, t.path, &scfg) ||
        sipreg_store_open_sqlite(&other, t.path, &scfg))
        goto out;
    /* another connection holds the write lock: the writer's first apply waits for it */
    struct sipreg_store_op op = up_op("sip:x@h", 1, 100000);
    struct sipreg_store_change c = {sipreg_str_z("sip:other@h"), &op, 1};
    if (sipreg_store_apply(other, &c, 1000, NULL, NULL))
        goto out;
    struct sipreg__writer_cfg cfg = {.store = s, .ninbox = 1, .max_queued = 2};
    if (sipreg__writer_create(&w, &cfg))
        goto out;
    if (submit(w, 0, "sip:q0@h", "sip:c@h", 1, NULL))
        goto out;
    struct sipreg__writer_stats st;
    for (int i = 0; i < 1000; i++) { /* until the writer has taken it (and blocks on the lock) */
        sipreg__writer_stats(w, &st);
        if (st.queued == 0)
            break;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    first = submit(w, 0, "sip:q1@h", "sip:c@h", 1, NULL) ||
            submit(w, 0, "sip:q2@h", "sip:c@h", 1, NULL);
    busy = submit(w, 0, "sip:q3@h", "sip:c@h", 1, NULL);
    if (sipreg_store_commit(other)) /* the writer goes on */
        goto out;
    sipreg__writer_destroy(w); /* drains: q0..q2 are applied and committed */
    w = NULL;
    int n = 0;
    rc = sipreg_store_iterate(s, 1000, count_fn, &n) != 0 || n != 4;
out:
    sipreg__writer_destroy(w);
    sipreg_store_close(other);
    sipreg_store_close(s);
    tmpdb_remove(&t);
    if (test_oom_active)
        return 1;
    ASSERT_EQ(first, 0);
    ASSERT_EQ(busy, SIPREG_EBUSY);
    ASSERT_EQ(rc, 0);
    return 0;
}

/* The memory store is read by workers while the writer thread writes it. */
struct reader {
    struct sipreg_store *s;
    volatile int *stop;
    long reads, bad;
};

static void *read_loop(void *arg)
{
    struct reader *rd = arg;
    static _Thread_local char mem[1 << 14];
    while (!__atomic_load_n(rd->stop, __ATOMIC_RELAXED)) {
        for (int i = 0; i < 50; i++) {
            char aor[32];
            snprintf(aor, sizeof aor, "sip:p0-%d@h", i);
            struct sipreg_arena a;
            sipreg_arena_init(&a, mem, sizeof mem);
            struct sipreg_binding_list l;
            uint64_t v;
            if (sipreg_store_read(rd->s, sipreg_str_z(aor), 1000, &a, &l, &v) != 0 || l.n > 2 ||
                (l.n > 0) != (v != 0))
                rd->bad++;
            rd->reads++;
        }
    }
    return NULL;
}

TEST(store_mem_readers_beside_writer)
{
    if (test_oom_active)
        return 1; /* threads racing injected failures prove nothing here */
    struct sipreg_store *s;
    if (sipreg_store_open_memory(&s, NULL))
        return 1;
    struct sipreg__writer *w;
    struct sipreg__writer_cfg cfg = {.store = s, .ninbox = 1};
    if (sipreg__writer_create(&w, &cfg)) {
        sipreg_store_close(s);
        return 1;
    }
    volatile int stop = 0;
    struct reader rd[2] = {{s, &stop, 0, 0}, {s, &stop, 0, 0}};
    pthread_t th[2];
    int started = 0;
    for (; started < 2; started++)
        if (pthread_create(&th[started], NULL, read_loop, &rd[started]) != 0)
            break;
    struct producer p = {w, 0, 400, 0, 0};
    produce(&p);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    sipreg__writer_destroy(w);
    sipreg_store_close(s);
    ASSERT_EQ(started, 2);
    ASSERT_EQ(p.ok, 400);
    ASSERT(rd[0].reads > 0 && rd[1].reads > 0);
    ASSERT_EQ(rd[0].bad + rd[1].bad, 0);
    return 0;
}

/* The writer purges expired bindings on its own, idle or not. */
TEST(store_writer_purges)
{
    if (test_oom_active)
        return 1;
    struct sipreg_store *s;
    if (sipreg_store_open_memory(&s, NULL))
        return 1;
    struct sipreg__writer *w;
    struct sipreg__writer_cfg cfg = {.store = s, .ninbox = 1, .purge_every_ms = 20};
    if (sipreg__writer_create(&w, &cfg)) {
        sipreg_store_close(s);
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = ts.tv_sec;
    struct sipreg_store_op op = up_op("sip:c@h", 1, now + 1);
    struct sipreg_store_change c = {sipreg_str_z("sip:gone@h"), &op, 1};
    struct sipreg__wjob *j = NULL;
    int err = sipreg__wjob_new(&j, &c, now, NULL);
    if (!err && (err = sipreg__writer_submit(w, 0, j)) != 0)
        sipreg__wjob_free(j);
    struct sipreg__wjob *back = err ? NULL : wait_take(w, 0);
    int back_err = back ? back->err : -1;
    sipreg__wjob_free(back);
    struct sipreg__writer_stats st = {0};
    for (int i = 0; i < 400 && !err; i++) { /* up to 4 s: the binding lives 1 to 2 s */
        sipreg__writer_stats(w, &st);
        if (st.purged)
            break;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    sipreg__writer_destroy(w);
    sipreg_store_close(s);
    ASSERT_EQ(err, 0);
    ASSERT_EQ(back_err, 0);
    ASSERT_EQ(st.purged, 1);
    ASSERT(st.purges > 1);
    return 0;
}
