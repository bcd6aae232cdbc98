/* Helpers shared by the sipreg subcommands. */
#include <errno.h>
#include <getopt.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common.h"

const char *cmd_default_db(void)
{
    const char *e = getenv("SIPREG_DB");
    return e && *e ? e : "sipreg.db";
}

static int make_parent_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

int cmd_open_store(struct sipreg_store **out, const char *db, bool memory)
{
    struct sipreg_store_cfg cfg = {0};
    if (RAND_bytes(cfg.hash_key, sizeof cfg.hash_key) != 1) {
        fprintf(stderr, "sipreg: no randomness for the store's hash key\n");
        return 1;
    }
    int err;
    if (memory) {
        err = sipreg_store_open_memory(out, &cfg);
    } else {
        if (make_parent_dirs(db) != 0) {
            fprintf(stderr, "sipreg: cannot create the directory of %s: %s\n", db, strerror(errno));
            return 1;
        }
        err = sipreg_store_open_sqlite(out, db, &cfg);
    }
    if (err) {
        fprintf(stderr, "sipreg: cannot open the store %s: %s\n", memory ? "(memory)" : db,
                err == SIPREG_ESTORE ? "not a sipreg database, or a newer or damaged one"
                                     : sipreg_strerror(err));
        return 1;
    }
    return 0;
}

int cmd_check_db_mode(const char *db)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    char path[4096];
    struct stat st;
    int n = 0;
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        int len = snprintf(path, sizeof path, "%s%s", db, suffix[i]);
        if (len < 0 || (size_t)len >= sizeof path || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
            !(st.st_mode & (S_IRWXG | S_IRWXO)))
            continue;
        const char *how = st.st_mode & (S_IRGRP | S_IROTH)   ? "readable"
                          : st.st_mode & (S_IWGRP | S_IWOTH) ? "writable"
                                                             : "accessible";
        fprintf(stderr,
                "sipreg: warning: %s is %s by group/others (mode %04o); it holds password "
                "hashes: chmod 600 %s\n",
                path, how, (unsigned)(st.st_mode & 07777), path);
        n++;
    }
    return n;
}

int cmd_parse_uint(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (!s || sipreg_str_to_u64(sipreg_str_z(s), max, &v) != 0 || v < min) {
        fprintf(stderr, "sipreg: %s expects a whole number from %llu to %llu, not '%s'\n", flag,
                (unsigned long long)min, (unsigned long long)max, s ? s : "");
        return 1;
    }
    *out = v;
    return 0;
}

int64_t cmd_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cmd_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cmd_getopt(const char *cmd, int argc, char **argv, const struct option *opts, int *pos,
               const char **val, const char **flag)
{
    static char name[80];
    if (*pos == 0) {
        optind = 0; /* a full re-initialisation of getopt's state (GNU) */
        opterr = 0;
        *pos = 1;
    }
    int li = -1;
    /* '-': positional words come back in order as 1; ':': a missing value is told apart; -h is
     * the one short option (help) */
    int o = getopt_long(argc, argv, "-:h", opts, &li);
    if (o == -1 && optind < argc) {
        /* the words after "--" are positional too */
        *val = argv[optind++];
        *flag = "";
        return 1;
    }
    *val = optarg;
    if (li >= 0) {
        snprintf(name, sizeof name, "--%s", opts[li].name);
    } else if (o == '?' || o == ':') {
        /* getopt_long leaves the word it stopped at before optind */
        const char *a = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        snprintf(name, sizeof name, "%.*s", (int)strcspn(a, "="), a);
    } else {
        name[0] = 0;
    }
    *flag = name;
    if (o == ':') {
        fprintf(stderr, "sipreg %s: %s needs a value\n", cmd, name);
        return '?';
    }
    if (o == '?') {
        const char *a = optind > 0 && optind <= argc ? argv[optind - 1] : "";
        if (optopt && strchr(a, '='))
            fprintf(stderr, "sipreg %s: %s takes no value\n", cmd, name);
        else
            fprintf(stderr, "sipreg %s: unknown flag '%s'\n", cmd, name);
        return '?';
    }
    return o;
}
