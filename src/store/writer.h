/* The store writer: one thread applies the change sets of every worker to one store and commits
 * them in groups, so that workers never hold the store (nor wait for its fsync) and one fsync
 * makes a whole batch durable. Workers submit jobs and take them back, completed, from their own
 * inbox, whose eventfd they poll beside their sockets. */
#ifndef SIPREG_STORE_WRITER_H
#define SIPREG_STORE_WRITER_H

#include "core/core_int.h"
#include "sipreg/store.h"

/* One change set on its way to the store and back. */
struct sipreg__wjob {
    struct sipreg__wjob *next;
    struct sipreg_store_change change; /* a copy: the job owns its ops and strings */
    int64_t now;                       /* Unix seconds the change was decided at */
    void *ud;                          /* the submitter's */
    unsigned inbox;                    /* where it comes back */
    /* Results, once taken back: 0 when the change is durable, with the AOR's bindings after
     * it in `list` (owned by the job); else the apply's error (SIPREG_EORDER, SIPREG_ELIMIT ...:
     * nothing changed) or the commit's (SIPREG_ESTORE, SIPREG_EBUSY: the batch was rolled
     * back), or SIPREG_ENOMEM (the writer could not keep the list: the change may be
     * durable, so answer an error the client will retry). */
    int err;
    struct sipreg_binding_list list;
};

/* A job for change c, decided at `now`, deep-copied (the caller's buffers may be reused at
 * once). 0, SIPREG_ENOMEM. OUT: *out. */
int sipreg__wjob_new(struct sipreg__wjob **out, const struct sipreg_store_change *c, int64_t now,
                     void *ud);
/* Frees a job (NULL is fine). */
void sipreg__wjob_free(struct sipreg__wjob *j);
/* Applies j to s (joining its open batch; the caller commits), setting j->err and j->list;
 * scratch is rewound afterwards. Returns j->err. For a caller that writes synchronously. */
int sipreg__wjob_apply(struct sipreg__wjob *j, struct sipreg_store *s,
                       struct sipreg_arena *scratch);
/* Marks j failed with err (its batch's commit failed, say), dropping its list. */
void sipreg__wjob_fail(struct sipreg__wjob *j, int err);

struct sipreg__writer_cfg {
    struct sipreg_store *store; /* used by the writer thread alone from create to destroy */
    unsigned ninbox;            /* one per worker: at least 1 */
    size_t max_batch;           /* 256: change sets per commit */
    size_t max_queued;          /* 65536: submit refuses more (SIPREG_EBUSY) */
    int64_t purge_every_ms;     /* 0: never; else expired bindings are deleted (and committed)
                                 * this often, between batches or when idle */
    size_t purge_rows;          /* 256: bindings per purge */
};

struct sipreg__writer;

/* Starts the writer thread. 0, SIPREG_EINVAL, SIPREG_ENOMEM, SIPREG_EIO (no thread or
 * eventfd). OUT: *out. */
int sipreg__writer_create(struct sipreg__writer **out, const struct sipreg__writer_cfg *cfg);
/* Stops the thread after it has applied and committed every job already submitted; jobs not
 * yet taken back are freed. */
void sipreg__writer_destroy(struct sipreg__writer *w);

/* Queues j (taking ownership) to come back to inbox `inbox` (j->inbox is set). Thread-safe.
 * 0, or SIPREG_EBUSY when max_queued jobs wait or the writer is stopping: j stays the
 * caller's. */
int sipreg__writer_submit(struct sipreg__writer *w, unsigned inbox, struct sipreg__wjob *j);
/* The inbox's eventfd: readable when completed jobs wait there. */
int sipreg__writer_inbox_fd(const struct sipreg__writer *w, unsigned inbox);
/* Every completed job waiting in the inbox, oldest first, linked by `next` (NULL: none);
 * resets the eventfd. Each job is then the caller's to free. A wake-up of the eventfd may find
 * none: jobs are linked in before the eventfd is written, so an earlier take can get them. */
struct sipreg__wjob *sipreg__writer_take(struct sipreg__writer *w, unsigned inbox);

/* Counters, for tests and metrics. */
struct sipreg__writer_stats {
    uint64_t jobs, commits, failed_commits; /* done */
    uint64_t purges, purged;                /* expiry runs, bindings they deleted */
    size_t queued;                          /* waiting for the writer thread */
};
void sipreg__writer_stats(struct sipreg__writer *w, struct sipreg__writer_stats *out);

#endif
