/* Store test fixture: temporary database files and running one test body on a backend. */
#ifndef SIPREG_STORE_FIXTURE_H
#define SIPREG_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sipreg/store.h"
#include "test.h"

struct tmpdb {
    char path[512];
};

/* Creates an empty file with a unique name in $TMPDIR (or /tmp). 0 or -1. */
static inline int tmpdb_make(struct tmpdb *t)
{
    const char *dir = getenv("TMPDIR");
    snprintf(t->path, sizeof t->path, "%s/sipreg-store-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(t->path);
    if (fd < 0) {
        perror("mkstemp");
        return -1;
    }
    close(fd);
    return 0;
}

/* Removes the file and SQLite's companions. */
static inline void tmpdb_remove(const struct tmpdb *t)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char p[600];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(p, sizeof p, "%s%s", t->path, suffix[i]);
        unlink(p);
    }
}

typedef int (*store_body_fn)(struct sipreg_store *s);

/* Opens a memory (sqlite == 0) or SQLite store on a fresh file, runs body, closes and removes
 * everything whatever the outcome, so a failing body (OOM sweep) leaks nothing. */
static inline int with_store(int sqlite, const struct sipreg_store_cfg *cfg, store_body_fn body)
{
    struct tmpdb t;
    struct sipreg_store *s = NULL;
    int rc;
    if (sqlite) {
        if (tmpdb_make(&t))
            return 1;
        rc = sipreg_store_open_sqlite(&s, t.path, cfg);
    } else {
        rc = sipreg_store_open_memory(&s, cfg);
    }
    if (rc) {
        if (!test_oom_active)
            fprintf(stderr, "open: %s\n", sipreg_errname(rc));
        rc = 1;
    } else {
        rc = body(s);
        sipreg_store_close(s);
    }
    if (sqlite)
        tmpdb_remove(&t);
    return rc;
}

#endif
