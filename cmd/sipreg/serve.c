/* `sipreg serve`: the registrar on UDP through the library's server driver, SQLite by default. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "common.h"
#include "sipreg/registrar.h"
#include "sipreg/server.h"

#define MAX_LISTEN  SIPREG_SERVER_LISTEN_MAX
#define MAX_DOMAINS 32
#define MAX_WORKERS SIPREG_SERVER_WORKERS_MAX
#define MAX_TRUSTED 64

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct opts {
    struct sipreg_netaddr listen[MAX_LISTEN];
    size_t nlisten;
    char *domains[MAX_DOMAINS];
    size_t ndomains;
    char *realm;
    char *db;
    bool memory;          /* --store memory: everything in memory (no users: tests, labs) */
    bool location_memory; /* --location memory: bindings in memory, users in the database */
    unsigned workers;
    enum log_level log_level;
    struct sipreg_registrar_cfg reg; /* the registrar's numeric policy */
    enum sipreg_auth_alg algs[4];
    size_t nalgs;
    struct sipreg_cidr trusted[MAX_TRUSTED];
    size_t ntrusted;
    /* per-domain settings, from [domain NAME] sections of the config file */
    struct domopt {
        char *name;
        char *realm;
        enum sipreg_auth_alg algs[4];
        size_t nalgs;
        char where[1100]; /* the section's FILE:LINE, for errors found later */
    } dom[MAX_DOMAINS];
    size_t ndom;
    struct domopt *section; /* the [domain] section being read, or NULL */
};

static enum log_level log_level = LOG_INFO;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void logf_(enum log_level lv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(enum log_level lv, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (lv > log_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[lv]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_mu);
    fprintf(stderr, "%s\n", line);
    pthread_mutex_unlock(&log_mu);
}

/* ---- options: config file, then flags ---- */

static int set_listen(struct opts *o, const char *v, const char *where)
{
    if (o->nlisten == MAX_LISTEN) {
        fprintf(stderr, "sipreg: %s: at most %d listen addresses\n", where, MAX_LISTEN);
        return 1;
    }
    struct sipreg_netaddr *a = &o->listen[o->nlisten];
    if (sipreg_netaddr_parse(a, v, 5060) != 0) {
        fprintf(stderr,
                "sipreg: %s: '%s' is not an address: use [udp:]IPv4:PORT or [udp:][IPv6]:PORT\n",
                where, v);
        return 1;
    }
    if (a->transport != SIPREG_TRANSPORT_UDP) {
        fprintf(stderr, "sipreg: %s: '%s': only UDP listening is available in this version\n",
                where, v);
        return 1;
    }
    o->nlisten++;
    return 0;
}

static int set_domain(struct opts *o, const char *v, const char *where)
{
    if (o->ndomains == MAX_DOMAINS) {
        fprintf(stderr, "sipreg: %s: at most %d domains\n", where, MAX_DOMAINS);
        return 1;
    }
    if (!*v || strpbrk(v, " \t\"<>@;:")) {
        fprintf(stderr, "sipreg: %s: '%s' is not a domain name\n", where, v);
        return 1;
    }
    o->domains[o->ndomains++] = strdup(v);
    return 0;
}

static int set_algs(enum sipreg_auth_alg algs[4], size_t *nalgs, const char *v, const char *where)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", v);
    *nalgs = 0;
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        enum sipreg_auth_alg alg;
        if (sipreg_auth_alg_parse(sipreg_str_z(t), &alg) != 0 || *nalgs == 4 ||
            sipreg_auth_alg_base(alg) != alg) {
            fprintf(stderr, "sipreg: %s: '%s' is not an algorithm: use MD5, SHA-256, SHA-512-256\n",
                    where, t);
            return 1;
        }
        algs[(*nalgs)++] = alg;
    }
    if (!*nalgs) {
        fprintf(stderr, "sipreg: %s: no algorithm given\n", where);
        return 1;
    }
    return 0;
}

static int set_trusted(struct opts *o, const char *v, const char *where)
{
    if (o->ntrusted == MAX_TRUSTED) {
        fprintf(stderr, "sipreg: %s: at most %d trusted sources\n", where, MAX_TRUSTED);
        return 1;
    }
    if (sipreg_cidr_parse(&o->trusted[o->ntrusted], v) != 0) {
        fprintf(stderr,
                "sipreg: %s: '%s' is not an address prefix: use e.g. 192.0.2.0/24, 2001:db8::/48 "
                "or one address (host bits must be zero)\n",
                where, v);
        return 1;
    }
    o->ntrusted++;
    return 0;
}

/* A setting inside a [domain NAME] section: only what may differ per domain. */
static int apply_domain_setting(struct domopt *d, const char *key, const char *v, const char *where)
{
    if (!strcmp(key, "realm")) {
        if (!*v || strpbrk(v, "\"\\")) {
            fprintf(stderr, "sipreg: %s: realm '%s' is empty or holds '\"' or '\\'\n", where, v);
            return 1;
        }
        free(d->realm);
        d->realm = strdup(v);
        return 0;
    }
    if (!strcmp(key, "algorithms"))
        return set_algs(d->algs, &d->nalgs, v, where);
    fprintf(stderr, "sipreg: %s: '%s' cannot be set per domain (only realm and algorithms)\n",
            where, key);
    return 1;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "on"))
        *out = true;
    else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
             !strcasecmp(v, "off"))
        *out = false;
    else
        return 1;
    return 0;
}

/* One setting, from the config file (`where` = "FILE:LINE") or a flag (`where` = "--flag"). */
static int apply_setting(struct opts *o, const char *key, const char *v, const char *where)
{
    uint64_t n;
    bool b;
    char label[1300];
    /* a flag names itself; a file line also names the setting */
    snprintf(label, sizeof label, where[0] == '-' ? "%s" : "%s: %s", where, key);
#define UINT(k, min, max, field, scale)             \
    if (!strcmp(key, k)) {                          \
        if (cmd_parse_uint(label, v, min, max, &n)) \
            return 1;                               \
        o->field = n * (scale);                     \
        return 0;                                   \
    }
    if (!strcmp(key, "listen"))
        return set_listen(o, v, where);
    if (!strcmp(key, "domain"))
        return set_domain(o, v, where);
    if (!strcmp(key, "realm")) {
        free(o->realm);
        o->realm = strdup(v);
        return 0;
    }
    if (!strcmp(key, "db")) {
        free(o->db);
        o->db = strdup(v);
        return 0;
    }
    if (!strcmp(key, "store")) {
        if (strcmp(v, "memory") && strcmp(v, "sqlite")) {
            fprintf(stderr, "sipreg: %s: store is 'sqlite' or 'memory', not '%s'\n", where, v);
            return 1;
        }
        o->memory = !strcmp(v, "memory");
        return 0;
    }
    if (!strcmp(key, "location")) {
        if (strcmp(v, "memory") && strcmp(v, "sqlite")) {
            fprintf(stderr, "sipreg: %s: location is 'sqlite' or 'memory', not '%s'\n", where, v);
            return 1;
        }
        o->location_memory = !strcmp(v, "memory");
        return 0;
    }
    UINT("workers", 1, MAX_WORKERS, workers, 1)
    if (!strcmp(key, "log-level")) {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(v, names[i])) {
                o->log_level = (enum log_level)i;
                return 0;
            }
        fprintf(stderr, "sipreg: %s: log level is error, warn, info or debug, not '%s'\n", where,
                v);
        return 1;
    }
    UINT("min-expires", 1, 86400, reg.min_expires, 1)
    UINT("max-expires", 1, 604800, reg.max_expires, 1)
    UINT("default-expires", 1, 604800, reg.default_expires, 1)
    UINT("nonce-lifetime", 10, 86400, reg.nonce_lifetime, 1000)
    UINT("fail-limit-source", 1, 1000000, reg.fail_limit_source, 1)
    UINT("fail-limit-user", 1, 1000000, reg.fail_limit_user, 1)
    UINT("fail-window", 1, 86400, reg.fail_window, 1000)
    UINT("fail-cooldown", 1, 86400, reg.fail_cooldown, 1000)
    UINT("reply-burst", 1, 1000000, reg.reply_burst, 1)
    if (!strcmp(key, "reply-rate")) {
        if (cmd_parse_uint(label, v, 0, 1000000, &n))
            return 1;
        o->reg.reply_rate = (uint32_t)n;
        o->reg.reply_unlimited = n == 0;
        return 0;
    }
    if (!strcmp(key, "fail-action")) {
        if (strcmp(v, "reject") && strcmp(v, "drop")) {
            fprintf(stderr, "sipreg: %s: fail-action is 'reject' (403) or 'drop', not '%s'\n",
                    where, v);
            return 1;
        }
        o->reg.fail_silent = !strcmp(v, "drop");
        return 0;
    }
    if (!strcmp(key, "unknown-domain")) {
        if (strcmp(v, "404") && strcmp(v, "403")) {
            fprintf(stderr, "sipreg: %s: unknown-domain is 404 or 403, not '%s'\n", where, v);
            return 1;
        }
        o->reg.unknown_domain_status = atoi(v);
        return 0;
    }
    if (!strcmp(key, "algorithms"))
        return set_algs(o->algs, &o->nalgs, v, where);
    if (!strcmp(key, "trusted-source"))
        return set_trusted(o, v, where);
    if (!strcmp(key, "allow-third-party") || !strcmp(key, "no-auth")) {
        if (parse_bool(v, &b)) {
            fprintf(stderr, "sipreg: %s: '%s' expects yes or no, not '%s'\n", where, key, v);
            return 1;
        }
        if (!strcmp(key, "no-auth"))
            o->reg.no_auth = b;
        else
            o->reg.allow_third_party = b;
        return 0;
    }
#undef UINT
    fprintf(stderr, "sipreg: %s: unknown setting '%s'\n", where, key);
    return 1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = 0;
    return s;
}

/* INI: `key = value` lines, `#` or `;` comments. `[domain NAME]` starts the settings of one
 * domain (realm, algorithms); any other `[section]` header returns to the general settings
 * (their names are unique across sections). */
static int load_config(struct opts *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "sipreg: cannot read config file %s: %s\n", path, strerror(errno));
        return 1;
    }
    char line[1024], where[1100];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            fprintf(stderr, "sipreg: %s: line too long\n", where);
            rc = 1;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            size_t n = strlen(s);
            if (s[n - 1] != ']') {
                fprintf(stderr, "sipreg: %s: unterminated section header\n", where);
                rc = 1;
                continue;
            }
            s[n - 1] = 0;
            char *name = trim(s + 1);
            o->section = NULL;
            if (!strncmp(name, "domain", 6) && (name[6] == ' ' || name[6] == '\t' || !name[6])) {
                name = trim(name + 6);
                if (!*name || strpbrk(name, " \t\"<>@;:")) {
                    fprintf(stderr, "sipreg: %s: '[domain NAME]' needs a domain name\n", where);
                    rc = 1;
                    continue;
                }
                for (size_t k = 0; k < o->ndom && !o->section; k++)
                    if (!strcasecmp(o->dom[k].name, name))
                        o->section = &o->dom[k];
                if (!o->section) {
                    if (o->ndom == MAX_DOMAINS) {
                        fprintf(stderr, "sipreg: %s: at most %d domain sections\n", where,
                                MAX_DOMAINS);
                        rc = 1;
                        continue;
                    }
                    o->section = &o->dom[o->ndom++];
                    o->section->name = strdup(name);
                    snprintf(o->section->where, sizeof o->section->where, "%s", where);
                }
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "sipreg: %s: expected 'key = value'\n", where);
            rc = 1;
            break;
        }
        *eq = 0;
        rc = o->section ? apply_domain_setting(o->section, trim(s), trim(eq + 1), where)
                        : apply_setting(o, trim(s), trim(eq + 1), where);
    }
    fclose(f);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sipreg serve [--config FILE] [--listen [udp:]ADDR:PORT]... [--domain NAME]...\n"
            "                    [--realm REALM] [--db PATH] [--store memory | --location memory]\n"
            "                    [--workers N]\n"
            "                    [--log-level error|warn|info|debug] [--algorithms LIST]\n"
            "                    [--min-expires S] [--max-expires S] [--default-expires S]\n"
            "                    [--unknown-domain 404|403] [--allow-third-party]\n"
            "                    [--fail-limit-source N] [--fail-limit-user N] [--fail-window S]\n"
            "                    [--fail-cooldown S] [--fail-action reject|drop]\n"
            "                    [--nonce-lifetime S] [--reply-rate N] [--reply-burst N]\n"
            "                    [--trusted-source CIDR]... [--no-auth]\n"
            "Flags override the config file. Defaults: --listen 127.0.0.1:5060, --db %s,\n"
            "--workers 1, --algorithms MD5 (what every deployed phone answers; SHA-256 is\n"
            "yours to add, globally or per domain in the config file), each domain its own\n"
            "realm.\n",
            cmd_default_db());
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
    o->workers = 1;
    o->log_level = LOG_INFO;
    /* every setting of the config file is a flag of the same name */
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'v'},
        {"listen", required_argument, NULL, 'v'},
        {"domain", required_argument, NULL, 'v'},
        {"realm", required_argument, NULL, 'v'},
        {"db", required_argument, NULL, 'v'},
        {"store", required_argument, NULL, 'v'},
        {"location", required_argument, NULL, 'v'},
        {"workers", required_argument, NULL, 'v'},
        {"log-level", required_argument, NULL, 'v'},
        {"min-expires", required_argument, NULL, 'v'},
        {"max-expires", required_argument, NULL, 'v'},
        {"default-expires", required_argument, NULL, 'v'},
        {"nonce-lifetime", required_argument, NULL, 'v'},
        {"fail-limit-source", required_argument, NULL, 'v'},
        {"fail-limit-user", required_argument, NULL, 'v'},
        {"fail-window", required_argument, NULL, 'v'},
        {"fail-cooldown", required_argument, NULL, 'v'},
        {"fail-action", required_argument, NULL, 'v'},
        {"reply-rate", required_argument, NULL, 'v'},
        {"reply-burst", required_argument, NULL, 'v'},
        {"unknown-domain", required_argument, NULL, 'v'},
        {"algorithms", required_argument, NULL, 'v'},
        {"trusted-source", required_argument, NULL, 'v'},
        {"allow-third-party", no_argument, NULL, 'b'},
        {"no-auth", no_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int pos = 0, f;
    const char *v, *flag;
    /* the config file first, wherever --config stands, so that flags override it */
    while ((f = cmd_getopt("serve", argc, argv, opts, &pos, &v, &flag)) != -1) {
        if (f == '?')
            return 2;
        if (f == 'h') {
            usage(stdout);
            return -1;
        }
        if (f == 1) {
            fprintf(stderr, "sipreg: unexpected argument '%s'\n", v);
            return 2;
        }
        if (!strcmp(flag, "--config") && load_config(o, v))
            return 2;
    }
    /* repeatable settings given as flags replace the file's */
    bool listen_flag = false, domain_flag = false, trusted_flag = false;
    pos = 0;
    while ((f = cmd_getopt("serve", argc, argv, opts, &pos, &v, &flag)) != -1) {
        const char *key = flag + 2;
        if (!strcmp(key, "config"))
            continue;
        if (!strcmp(key, "listen") && !listen_flag) {
            listen_flag = true;
            o->nlisten = 0;
        }
        if (!strcmp(key, "trusted-source") && !trusted_flag) {
            trusted_flag = true;
            o->ntrusted = 0;
        }
        if (!strcmp(key, "domain") && !domain_flag) {
            domain_flag = true;
            for (size_t k = 0; k < o->ndomains; k++)
                free(o->domains[k]);
            o->ndomains = 0;
        }
        if (apply_setting(o, key, f == 'b' ? "yes" : v, flag))
            return 2;
    }
    if (!o->nlisten)
        sipreg_netaddr_parse(&o->listen[o->nlisten++], "127.0.0.1:5060", 5060);
    if (!o->ndomains) {
        fprintf(stderr, "sipreg: no domain to serve: give --domain NAME (or domain = in the "
                        "config file)\n");
        return 2;
    }
    for (size_t k = 0; k < o->ndom; k++) {
        size_t i = 0;
        while (i < o->ndomains && strcasecmp(o->domains[i], o->dom[k].name))
            i++;
        if (i == o->ndomains) {
            fprintf(stderr, "sipreg: %s: [domain %s] is not a domain served (add --domain %s)\n",
                    o->dom[k].where, o->dom[k].name, o->dom[k].name);
            return 2;
        }
    }
    if (!o->db)
        o->db = strdup(cmd_default_db());
    return 0;
}

static void opts_free(struct opts *o)
{
    for (size_t i = 0; i < o->ndomains; i++)
        free(o->domains[i]);
    o->ndomains = 0;
    for (size_t k = 0; k < o->ndom; k++) {
        free(o->dom[k].name);
        free(o->dom[k].realm);
    }
    o->ndom = 0;
    free(o->realm);
    free(o->db);
    o->realm = o->db = NULL;
}

/* ---- the server ---- */

/* A peer-supplied field for a log line: printable ASCII as is, anything else as \xHH (a folded
 * username must not forge log lines), cut at 200 bytes. */
static const char *esc(struct sipreg_str s, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (!s.p)
        return "-";
    for (size_t i = 0; i < s.len && i < 200 && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = 0;
    return out;
}

static void on_event(const struct sipreg_registrar_event *ev, void *ud)
{
    (void)ud;
    static const char *const kinds[] = {
        [SIPREG_REG_EV_REGISTERED] = "registered",
        [SIPREG_REG_EV_UNREGISTERED] = "unregistered",
        [SIPREG_REG_EV_QUERY] = "query",
        [SIPREG_REG_EV_CHALLENGED] = "challenged",
        [SIPREG_REG_EV_AUTH_FAILED] = "auth-failed",
        [SIPREG_REG_EV_BLOCKED] = "blocked",
        [SIPREG_REG_EV_REJECTED] = "rejected",
        [SIPREG_REG_EV_MALFORMED] = "malformed",
        [SIPREG_REG_EV_THROTTLED] = "throttled",
    };
    /* the level comes from the registrar's outcome table */
    int level = sipreg_registrar_outcome_level(ev->outcome);
    enum log_level lv = level <= 0   ? LOG_ERROR
                        : level == 1 ? LOG_WARN
                        : level == 2 ? LOG_INFO
                                     : LOG_DEBUG;
    if (lv > log_level)
        return;
    const char *what = (unsigned)ev->kind < sizeof kinds / sizeof kinds[0] && kinds[ev->kind]
                           ? kinds[ev->kind]
                           : "?";
    char src[SIPREG_NETADDR_STRLEN] = "-";
    if (ev->src)
        sipreg_netaddr_format(ev->src, src, sizeof src);
    char aor[1024], contact[1024], user[1024];
    esc(ev->aor, aor, sizeof aor);
    esc(ev->contact, contact, sizeof contact);
    esc(ev->user, user, sizeof user);
    if (ev->kind == SIPREG_REG_EV_REGISTERED)
        logf_(lv, "%s aor=%s contact=%s expires=%lld user=%s src=%s", what, ev->aor.p ? aor : "-",
              ev->contact.p ? contact : "-", (long long)ev->expires, ev->user.p ? user : "-", src);
    else
        logf_(lv, "%s status=%d reason=\"%s\" outcome=%s aor=%s contact=%s user=%s src=%s", what,
              ev->status, ev->reason ? ev->reason : "", sipreg_registrar_outcome_name(ev->outcome),
              ev->aor.p ? aor : "-", ev->contact.p ? contact : "-", ev->user.p ? user : "-", src);
}

/* Driver messages: before the workers start they are errors of the command (a busy port),
 * printed as such; afterwards, log lines. */
static bool running;

static void on_log(int level, const char *msg, void *ud)
{
    (void)ud;
    if (!running && level == SIPREG_SERVER_LOG_ERROR) {
        fprintf(stderr, "sipreg: %s\n", msg);
        return;
    }
    logf_(level <= 0   ? LOG_ERROR
          : level == 1 ? LOG_WARN
          : level == 2 ? LOG_INFO
                       : LOG_DEBUG,
          "%s", msg);
}

/* What a worker reads through: its own SQLite connection, beside a view of the memory location
 * store when bindings are kept in memory. */
struct reader_ctx {
    const char *db;
    struct sipreg_store *loc; /* NULL: bindings in the database too */
};

static int open_reader(void *ud, unsigned worker, struct sipreg_store **out)
{
    const struct reader_ctx *c = ud;
    struct sipreg_store *cred = NULL, *view = NULL;
    (void)worker;
    int err = sipreg_store_open_sqlite(&cred, c->db, NULL);
    if (err || !c->loc) {
        *out = cred;
        return err;
    }
    if ((err = sipreg_store_open_view(&view, c->loc)) != 0) {
        sipreg_store_close(cred);
        return err;
    }
    return sipreg_store_open_split(out, view, cred); /* owns both, even when it fails */
}

/* The server secret for nonces, kept in the store so a restart keeps nonces valid. */
static int load_secret(struct sipreg_store *s, struct sipreg_auth_secret *secret)
{
    char mem[256];
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    struct sipreg_str v;
    int err = sipreg_store_meta_get(s, SIPREG_STR_LIT("auth.secret"), &a, &v);
    if (err == 0 && v.len == SIPREG_AUTH_SECRET_LEN)
        return sipreg_auth_secret_init(secret, v.p, v.len);
    if (err != 0 && err != SIPREG_ENOENT)
        return err;
    err = sipreg_auth_secret_init_random(secret);
    if (!err)
        err = sipreg_store_meta_put(
            s, SIPREG_STR_LIT("auth.secret"),
            (struct sipreg_str){(const char *)secret->key, SIPREG_AUTH_SECRET_LEN});
    if (!err)
        err = sipreg_store_commit(s);
    return err;
}

int cmd_serve(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_opts(&o, argc, argv);
    if (rc) {
        if (rc < 0)
            rc = 0; /* --help */
        else if (rc == 2)
            fprintf(stderr, "sipreg serve --help for the options\n");
        opts_free(&o);
        return rc;
    }
    log_level = o.log_level;
    signal(SIGPIPE, SIG_IGN);
    /* Keep freed heap memory instead of handing it back at once: with the writer thread and the
     * workers busy on several CPUs, every trim of a thread's heap (madvise) and every munmap of
     * a large block interrupts all of them to flush their TLBs, and SQLite's savepoints free
     * 100 KB at the top of the writer's heap on every change. Measured: 6x the CPU per
     * registration without this. */
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
    (void)mallopt(M_MMAP_THRESHOLD, 16 << 20);

    struct sipreg_store *store = NULL, *loc = NULL;
    if (cmd_open_store(&store, o.db, o.memory)) {
        opts_free(&o);
        return 1;
    }
    if (o.location_memory && !o.memory) {
        /* bindings in memory, users (and the secret) still read from the database */
        int e = sipreg_store_open_memory(&loc, NULL);
        if (!e)
            e = sipreg_store_open_split(&store, loc, store);
        else
            sipreg_store_close(store);
        if (e) {
            fprintf(stderr, "sipreg: cannot open the memory location store: %s\n",
                    sipreg_strerror(e));
            opts_free(&o);
            return 1;
        }
    }
    if (!o.memory)
        (void)cmd_check_db_mode(o.db); /* it holds every HA1: say so when others can read it */
    struct sipreg_auth_secret secret;
    int err = load_secret(store, &secret);
    if (err) {
        fprintf(stderr, "sipreg: cannot load or create the server secret: %s\n",
                sipreg_strerror(err));
        sipreg_store_close(store);
        opts_free(&o);
        return 1;
    }

    /* block the stop signals in every thread; the main thread waits for them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct sipreg_server_cfg scfg = {
        .listen = o.listen,
        .nlisten = o.nlisten,
        .workers = o.workers,
        .on_log = on_log,
    };
    /* the writer thread writes `store`; each worker reads through a connection of its own (and
     * a view of the shared memory location store, which it also writes); a memory store serves
     * them all itself */
    struct reader_ctx rctx = {o.db, loc};
    if (!o.memory) {
        scfg.open_reader = open_reader;
        scfg.reader_ud = &rctx;
    }
    /* bindings in memory commit for free: each worker writes its own, no hand-over */
    scfg.no_writer = o.memory || o.location_memory;
    struct sipreg_registrar_cfg *cfg = &scfg.registrar;
    *cfg = o.reg;
    cfg->domains = (const char *const *)o.domains;
    cfg->ndomains = o.ndomains;
    cfg->realm = o.realm;
    cfg->store = store;
    cfg->secret = &secret;
    cfg->server = "sipreg/" SIPREG_VERSION;
    cfg->on_event = on_event;
    cfg->algs = o.nalgs ? o.algs : NULL;
    cfg->nalgs = o.nalgs;
    cfg->trusted = o.trusted;
    cfg->ntrusted = o.ntrusted;
    struct sipreg_registrar_domain dpol[MAX_DOMAINS];
    for (size_t k = 0; k < o.ndom; k++)
        dpol[k] = (struct sipreg_registrar_domain){o.dom[k].name, o.dom[k].realm, o.dom[k].algs,
                                                   o.dom[k].nalgs};
    cfg->domain_policy = dpol;
    cfg->ndomain_policy = o.ndom;
    /* the sockets first, so that a busy port is reported before anything runs */
    struct sipreg_server *srv = NULL;
    rc = 1;
    if (sipreg_server_create(&srv, &scfg) != 0)
        goto out;
    {
        char addrs[MAX_LISTEN * SIPREG_NETADDR_STRLEN] = "", a[SIPREG_NETADDR_STRLEN];
        for (size_t i = 0; i < o.nlisten; i++) {
            struct sipreg_netaddr l;
            sipreg_server_local(srv, i, &l);
            sipreg_netaddr_format(&l, a, sizeof a);
            strcat(addrs, i ? " " : "");
            strcat(addrs, a);
        }
        /* each domain with its realm and algorithms, as the registrar resolves them */
        char doms[4096] = "";
        for (size_t i = 0; i < o.ndomains; i++) {
            const struct domopt *d = NULL;
            for (size_t k = 0; k < o.ndom; k++)
                if (!strcasecmp(o.dom[k].name, o.domains[i]))
                    d = &o.dom[k];
            const char *realm = d && d->realm ? d->realm : o.realm ? o.realm : o.domains[i];
            const enum sipreg_auth_alg *al = d && d->nalgs ? d->algs : o.algs;
            size_t nal = d && d->nalgs ? d->nalgs : o.nalgs;
            char algs[64] = "";
            for (size_t k = 0; k < nal; k++) {
                strncat(algs, k ? "," : "", sizeof algs - strlen(algs) - 1);
                strncat(algs, sipreg_auth_alg_name(al[k]), sizeof algs - strlen(algs) - 1);
            }
            size_t n = strlen(doms);
            snprintf(doms + n, sizeof doms - n, "%s%s (realm %s, auth %s)", i ? ", " : "",
                     o.domains[i], realm,
                     o.reg.no_auth ? "off"
                     : nal         ? algs
                                   : "MD5");
        }
        logf_(LOG_INFO, "sipreg %s serving on %s, domains %s, store %s%s, %u worker%s%s",
              SIPREG_VERSION, addrs, doms, o.memory ? "memory" : o.db,
              o.location_memory && !o.memory ? " (bindings in memory)" : "", o.workers,
              o.workers > 1 ? "s" : "", o.ntrusted ? ", trusted sources set" : "");
    }
    running = true;
    if (sipreg_server_start(srv) != 0)
        goto out;
    int sig = 0;
    sigwait(&set, &sig);
    logf_(LOG_INFO, "%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    sipreg_server_stop(srv);
    sipreg_server_join(srv);
    struct sipreg_server_stats st;
    sipreg_server_stats(srv, -1, &st);
    logf_(LOG_INFO, "stopped: %llu datagrams in, %llu out", (unsigned long long)st.rx,
          (unsigned long long)st.tx);
    for (unsigned k = 0; o.workers > 1 && k < o.workers; k++) {
        /* how the sources were spread over the workers */
        sipreg_server_stats(srv, (int)k, &st);
        logf_(LOG_INFO, "worker %u: %llu datagrams in, %llu out, %llu dropped", k,
              (unsigned long long)st.rx, (unsigned long long)st.tx, (unsigned long long)st.dropped);
    }
    rc = 0;
out:
    sipreg_server_destroy(srv);
    sipreg_store_close(store);
    sipreg_auth_secret_fini(&secret);
    opts_free(&o);
    return rc;
}
