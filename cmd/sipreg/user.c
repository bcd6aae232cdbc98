/* `sipreg user add|del|list|import|enable|disable`: credentials as HA1s only (RFC 7616 §3.4.2). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cmd.h"
#include "common.h"
#include "sipreg/auth.h"

/* Limits on what we accept; the store's own field limit is far above these. */
#define MAX_NAME     256
#define MAX_PASSWORD 1024
#define MAX_ERRORS   10 /* import: malformed lines reported before giving up the listing */

#define STR(s) (int)(s).len, (s).p ? (s).p : ""

/* ---- options ---- */

enum {
    F_DB = 1,
    F_DOMAIN = 2,
    F_REALM = 4,
    F_PWSTDIN = 8,
    F_DISABLED = 16,
};

struct opts {
    const char *db;
    const char *domain;
    const char *realm;
    bool password_stdin;
    bool disabled;
    const char *pos[2];
    int npos;
};

struct subcmd {
    const char *name;
    int (*run)(const char *name, struct opts *o);
    unsigned flags;
    int minpos, maxpos;
    const char *posname; /* of the first positional argument, for "missing NAME" */
    const char *usage;
};

/* 0 when parsed, 2 after a usage error (message printed), -1 when --help was asked for. */
static int parse_opts(const char *cmd, const struct subcmd *sc, int argc, char **argv,
                      struct opts *o)
{
    /* each flag's F_ bit, shifted clear of cmd_getopt's own values (1 is a positional word) */
    static const struct option opts[] = {
        {"db", required_argument, NULL, F_DB << 8},
        {"domain", required_argument, NULL, F_DOMAIN << 8},
        {"realm", required_argument, NULL, F_REALM << 8},
        {"password-stdin", no_argument, NULL, F_PWSTDIN << 8},
        {"disabled", no_argument, NULL, F_DISABLED << 8},
        {"store", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    int pos = 0, f;
    const char *v, *flag;
    while ((f = cmd_getopt(cmd, argc, argv, opts, &pos, &v, &flag)) != -1) {
        if (f == 'h')
            return -1;
        if (f == '?') {
            fputs(sc->usage, stderr);
            return 2;
        }
        if (f == 'S') {
            fprintf(stderr,
                    "sipreg %s: --store is not an option here: credentials live in the SQLite "
                    "database given by --db\n",
                    cmd);
            return 2;
        }
        if (f == 1) {
            if (o->npos == sc->maxpos) {
                fprintf(stderr, "sipreg %s: unexpected argument '%s'\n%s", cmd, v, sc->usage);
                return 2;
            }
            o->pos[o->npos++] = v;
            continue;
        }
        f >>= 8;
        if (!(sc->flags & (unsigned)f)) {
            fprintf(stderr, "sipreg %s: unknown flag '%s'\n%s", cmd, flag, sc->usage);
            return 2;
        }
        if (v && !*v) {
            fprintf(stderr, "sipreg %s: %s must not be empty\n", cmd, flag);
            return 2;
        }
        switch (f) {
        case F_DB: o->db = v; break;
        case F_DOMAIN: o->domain = v; break;
        case F_REALM: o->realm = v; break;
        case F_PWSTDIN: o->password_stdin = true; break;
        case F_DISABLED: o->disabled = true; break;
        }
    }
    if (o->npos < sc->minpos) {
        fprintf(stderr, "sipreg %s: missing %s\n%s", cmd, sc->posname, sc->usage);
        return 2;
    }
    if (!o->db)
        o->db = cmd_default_db();
    return 0;
}

/* ---- names ---- */

/* Why a username cannot be used, or NULL. Spaces, quotes and backslashes are refused because
 * they would need escaping in an Authorization header, and the listing is space-separated. */
static const char *bad_username(struct sipreg_str s)
{
    if (s.len == 0)
        return "empty";
    if (s.len > MAX_NAME)
        return "longer than 256 bytes";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 || c == 0x7f)
            return "contains a control character";
        if (c == ' ')
            return "contains a space";
        if (c == '"' || c == '\\')
            return "contains a quote or a backslash";
    }
    return NULL;
}

/* Why a realm cannot be used, or NULL: the registrar refuses the same characters (it sends the
 * realm as a quoted string). */
static const char *bad_realm(struct sipreg_str s)
{
    if (s.len == 0)
        return "empty";
    if (s.len > MAX_NAME)
        return "longer than 256 bytes";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 || c == 0x7f)
            return "contains a control character";
        if (c == '"' || c == '\\')
            return "contains a quote or a backslash";
    }
    return NULL;
}

#define MAX_DOMAIN 255 /* RFC 1035 §2.3.4 */

/* Why a domain cannot be used, or NULL: it is the host part of the user's AORs (RFC 3261 §25.1),
 * a host name or an IP address, "[...]" for IPv6. */
static const char *bad_domain(struct sipreg_str s)
{
    if (s.len == 0)
        return "empty";
    if (s.len > MAX_DOMAIN)
        return "longer than 255 bytes";
    if (s.p[0] == '[') {
        if (s.len < 4 || s.p[s.len - 1] != ']')
            return "an IPv6 reference is written [address]";
        for (size_t i = 1; i + 1 < s.len; i++) {
            char c = s.p[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.'))
                return "not an IPv6 address between the brackets";
        }
        return NULL;
    }
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '.'))
            return "not a host name (letters, digits, '-' and '.'; [IPv6] for an address)";
    }
    return NULL;
}

/* Lower-cases a domain in place: host names compare case-insensitively (RFC 3261 §19.1.4), so
 * the stored form is the canonical one. */
static void domain_lower(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 'A' && p[i] <= 'Z')
            p[i] = (char)(p[i] - 'A' + 'a');
}

/* The domain given by --domain, checked and lower-cased into buf; absent without the flag. 0, or
 * 2 (message printed). */
static int flag_domain(const char *cmd, const struct opts *o, char buf[MAX_DOMAIN + 1],
                       struct sipreg_str *out)
{
    const char *why;
    *out = SIPREG_STR_NULL;
    if (!o->domain)
        return 0;
    if ((why = bad_domain(sipreg_str_z(o->domain)))) {
        fprintf(stderr, "sipreg %s: bad --domain '%s': %s\n", cmd, o->domain, why);
        return 2;
    }
    size_t n = strlen(o->domain);
    memcpy(buf, o->domain, n + 1);
    domain_lower(buf, n);
    *out = (struct sipreg_str){buf, n};
    return 0;
}

/* The realm given by flags: --realm, else --domain (the realm `sipreg serve` uses by default). */
static const char *flag_realm(const struct opts *o)
{
    return o->realm ? o->realm : o->domain;
}

/* Checks NAME and the realm flags of add/del/enable/disable; 0 or 2 (message printed). */
static int name_and_realm(const char *cmd, const struct opts *o, struct sipreg_str *user,
                          struct sipreg_str *realm)
{
    const char *why;
    *user = sipreg_str_z(o->pos[0]);
    if ((why = bad_username(*user))) {
        fprintf(stderr, "sipreg %s: bad NAME '%s': %s\n", cmd, o->pos[0], why);
        return 2;
    }
    if (!flag_realm(o)) {
        fprintf(stderr, "sipreg %s: missing --realm or --domain (the realm of the user)\n", cmd);
        return 2;
    }
    *realm = sipreg_str_z(flag_realm(o));
    if ((why = bad_realm(*realm))) {
        fprintf(stderr, "sipreg %s: bad %s '%s': %s\n", cmd, o->realm ? "--realm" : "--domain",
                flag_realm(o), why);
        return 2;
    }
    return 0;
}

/* ---- HA1s ---- */

struct ha1s {
    char md5[SIPREG_AUTH_HEX_MAX];
    char sha256[SIPREG_AUTH_HEX_MAX];
    char sha512_256[SIPREG_AUTH_HEX_MAX];
};

/* The three HA1s of a password (the store never sees the password itself). */
static int ha1s_compute(struct ha1s *h, struct sipreg_str user, struct sipreg_str realm,
                        struct sipreg_str password)
{
    int err = sipreg_auth_ha1(SIPREG_AUTH_MD5, user, realm, password, h->md5);
    if (!err)
        err = sipreg_auth_ha1(SIPREG_AUTH_SHA256, user, realm, password, h->sha256);
    if (!err)
        err = sipreg_auth_ha1(SIPREG_AUTH_SHA512_256, user, realm, password, h->sha512_256);
    return err;
}

static void ha1s_set(struct sipreg_user *u, const struct ha1s *h)
{
    u->ha1_md5 = sipreg_str_z(h->md5);
    u->ha1_sha256 = sipreg_str_z(h->sha256);
    u->ha1_sha512_256 = sipreg_str_z(h->sha512_256);
}

/* ---- passwords ---- */

/* Reads one line into buf (without its "\n" or "\r\n", NUL-terminated). 0, or 1 with *why set:
 * nothing before end of file, a NUL byte, longer than MAX_PASSWORD. The rest of a long line is
 * consumed. */
static int read_line(FILE *f, char buf[MAX_PASSWORD + 2], size_t *len, const char **why)
{
    size_t n = 0;
    int c;
    bool any = false, nul = false, longer = false;
    while ((c = getc(f)) != EOF) {
        any = true;
        if (c == '\n')
            break;
        if (c == '\0')
            nul = true;
        if (n < MAX_PASSWORD + 1)
            buf[n++] = (char)c;
        else
            longer = true;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *len = n;
    if (!any)
        *why = "no password: end of input";
    else if (nul)
        *why = "the password contains a NUL byte";
    else if (longer || n > MAX_PASSWORD)
        *why = "the password is longer than 1024 bytes";
    else if (n == 0)
        *why = "empty password refused";
    else
        return 0;
    return 1;
}

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void restore_tty(void)
{
    if (tty_changed) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
        tty_changed = 0;
    }
}

/* Puts echo back before dying of a signal taken at the prompt. */
static void on_signal(int sig)
{
    restore_tty();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Prompts on the terminal with echo off; the typed newline is still echoed (ECHONL). */
static int prompt(const char *text, char buf[MAX_PASSWORD + 2], size_t *len, const char **why)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGTSTP};
    struct sigaction sa, old[sizeof sigs / sizeof sigs[0]];
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &saved_tty) != 0) {
        *why = strerror(errno);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, &old[i]);
    t = saved_tty;
    t.c_lflag &= ~(tcflag_t)ECHO;
    t.c_lflag |= ECHONL;
    fputs(text, stderr);
    fflush(stderr);
    /* TCSANOW, not TCSAFLUSH: a password typed ahead of the prompt is kept, not thrown away. */
    tty_changed = 1;
    int rc = tcsetattr(STDIN_FILENO, TCSANOW, &t);
    if (rc != 0) {
        tty_changed = 0;
        *why = strerror(errno);
    } else {
        rc = read_line(stdin, buf, len, why);
    }
    restore_tty();
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &old[i], NULL);
    return rc;
}

/* Gets the password of `user add`: from stdin, or typed twice at a terminal. 0, or 1/2 (message
 * printed). */
static int get_password(const char *cmd, const struct opts *o, char buf[MAX_PASSWORD + 2],
                        size_t *len)
{
    const char *why = NULL;
    if (o->password_stdin) {
        if (read_line(stdin, buf, len, &why) == 0)
            return 0;
        fprintf(stderr, "sipreg %s: --password-stdin: %s\n", cmd, why);
        return 1;
    }
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr,
                "sipreg %s: stdin is not a terminal: use --password-stdin to read the password "
                "from it\n",
                cmd);
        return 2;
    }
    char again[MAX_PASSWORD + 2];
    size_t n2;
    int rc = 1;
    if (prompt("Password: ", buf, len, &why) != 0 || prompt("Retype password: ", again, &n2, &why))
        fprintf(stderr, "sipreg %s: %s\n", cmd, why);
    else if (n2 != *len || memcmp(buf, again, n2) != 0)
        fprintf(stderr, "sipreg %s: the passwords do not match\n", cmd);
    else
        rc = 0;
    OPENSSL_cleanse(again, sizeof again);
    return rc;
}

/* ---- commands ---- */

/* Opens the database and warns when its files are open to group or others. 0, or 1 (message
 * printed). */
static int open_db(struct sipreg_store **s, const char *db)
{
    if (cmd_open_store(s, db, false) != 0)
        return 1;
    cmd_check_db_mode(db);
    return 0;
}

/* Commits and closes; 0, or 1 (message printed, nothing written). */
static int commit_close(const char *cmd, struct sipreg_store *s, const char *db)
{
    int err = sipreg_store_commit(s);
    sipreg_store_close(s);
    if (err) {
        fprintf(stderr, "sipreg %s: cannot commit to %s: %s\n", cmd, db, sipreg_strerror(err));
        return 1;
    }
    return 0;
}

static int run_add(const char *cmd, struct opts *o)
{
    struct sipreg_str user, realm, domain;
    char pw[MAX_PASSWORD + 2], dbuf[MAX_DOMAIN + 1];
    size_t pwlen = 0;
    struct ha1s h;
    struct sipreg_store *s = NULL;
    static char mem[65536];
    struct sipreg_arena a;
    struct sipreg_user old = {0}, u;
    bool existed = false;
    int rc, err;

    if ((rc = name_and_realm(cmd, o, &user, &realm)) || (rc = flag_domain(cmd, o, dbuf, &domain)))
        return rc;
    if ((rc = get_password(cmd, o, pw, &pwlen)))
        goto out;
    rc = 1;
    if ((err = ha1s_compute(&h, user, realm, (struct sipreg_str){pw, pwlen}))) {
        fprintf(stderr, "sipreg %s: cannot compute the HA1: %s\n", cmd, sipreg_strerror(err));
        goto out;
    }
    if (open_db(&s, o->db) != 0)
        goto out;
    sipreg_arena_init(&a, mem, sizeof mem);
    err = sipreg_store_user_get(s, user, realm, &a, &old);
    if (err && err != SIPREG_ENOENT) {
        fprintf(stderr, "sipreg %s: cannot read %s: %s\n", cmd, o->db, sipreg_strerror(err));
        goto out;
    }
    existed = err == 0;
    memset(&u, 0, sizeof u);
    u.username = user;
    u.realm = realm;
    ha1s_set(&u, &h);
    u.enabled = !o->disabled;
    u.created_at = existed ? old.created_at : cmd_wall_ms() / 1000;
    /* without --domain, a user already there keeps the domain it had */
    u.domain = domain.p || !existed ? domain : old.domain;
    if ((err = sipreg_store_user_put(s, &u))) {
        fprintf(stderr, "sipreg %s: cannot store the user: %s\n", cmd, sipreg_strerror(err));
        goto out;
    }
    rc = commit_close(cmd, s, o->db);
    s = NULL;
    if (rc == 0)
        printf("%s user %.*s in realm %.*s%s\n", existed ? "updated" : "added", STR(user),
               STR(realm), o->disabled ? " (disabled)" : "");
out:
    sipreg_store_close(s);
    OPENSSL_cleanse(pw, sizeof pw);
    OPENSSL_cleanse(&h, sizeof h);
    OPENSSL_cleanse(mem, sizeof mem); /* the old HA1s */
    return rc;
}

static int run_del(const char *cmd, struct opts *o)
{
    struct sipreg_str user, realm;
    struct sipreg_store *s;
    int rc, err;
    if ((rc = name_and_realm(cmd, o, &user, &realm)))
        return rc;
    if (open_db(&s, o->db) != 0)
        return 1;
    if ((err = sipreg_store_user_del(s, user, realm))) {
        if (err == SIPREG_ENOENT)
            fprintf(stderr, "sipreg %s: no such user '%.*s' in realm '%.*s'\n", cmd, STR(user),
                    STR(realm));
        else
            fprintf(stderr, "sipreg %s: cannot delete: %s\n", cmd, sipreg_strerror(err));
        sipreg_store_close(s);
        return 1;
    }
    if ((rc = commit_close(cmd, s, o->db)) == 0)
        printf("deleted user %.*s in realm %.*s\n", STR(user), STR(realm));
    return rc;
}

/* enable / disable: rewrites the record with the flag changed. */
static int set_enabled(const char *cmd, struct opts *o, bool on)
{
    struct sipreg_str user, realm;
    struct sipreg_store *s;
    static char mem[65536];
    struct sipreg_arena a;
    struct sipreg_user u;
    int rc, err;
    if ((rc = name_and_realm(cmd, o, &user, &realm)))
        return rc;
    if (open_db(&s, o->db) != 0)
        return 1;
    sipreg_arena_init(&a, mem, sizeof mem);
    if ((err = sipreg_store_user_get(s, user, realm, &a, &u)) == 0) {
        u.enabled = on;
        err = sipreg_store_user_put(s, &u);
    }
    OPENSSL_cleanse(mem, sizeof mem);
    if (err) {
        if (err == SIPREG_ENOENT)
            fprintf(stderr, "sipreg %s: no such user '%.*s' in realm '%.*s'\n", cmd, STR(user),
                    STR(realm));
        else
            fprintf(stderr, "sipreg %s: %s\n", cmd, sipreg_strerror(err));
        sipreg_store_close(s);
        return 1;
    }
    if ((rc = commit_close(cmd, s, o->db)) == 0)
        printf("%s user %.*s in realm %.*s\n", on ? "enabled" : "disabled", STR(user), STR(realm));
    return rc;
}

static int run_enable(const char *cmd, struct opts *o)
{
    return set_enabled(cmd, o, true);
}

static int run_disable(const char *cmd, struct opts *o)
{
    return set_enabled(cmd, o, false);
}

/* ---- list ---- */

struct entry {
    char *username; /* NUL-terminated; realm and domain follow it in the same allocation */
    char *realm;
    char *domain; /* "" when the user has none */
    bool md5, sha256, sha512_256, enabled;
};

struct entries {
    struct entry *v;
    size_t n, cap;
    const char *only_realm;
    const char *only_domain; /* the user's domain, or else its realm's, case-insensitively */
};

static int collect_user(const struct sipreg_user *u, void *ud)
{
    struct entries *es = ud;
    if (es->only_realm && !sipreg_str_eq(u->realm, sipreg_str_z(es->only_realm)))
        return 0;
    if (es->only_domain && !sipreg_str_caseeqz(u->domain.p ? u->domain : u->realm, es->only_domain))
        return 0;
    if (es->n == es->cap) {
        size_t cap = es->cap ? es->cap * 2 : 64;
        struct entry *v = realloc(es->v, cap * sizeof *v);
        if (!v)
            return SIPREG_ENOMEM;
        es->v = v;
        es->cap = cap;
    }
    char *p = malloc(u->username.len + u->realm.len + u->domain.len + 3);
    if (!p)
        return SIPREG_ENOMEM;
    struct entry *e = &es->v[es->n++];
    e->username = p;
    memcpy(p, u->username.p, u->username.len);
    p[u->username.len] = '\0';
    e->realm = p + u->username.len + 1;
    memcpy(e->realm, u->realm.p, u->realm.len);
    e->realm[u->realm.len] = '\0';
    e->domain = e->realm + u->realm.len + 1;
    if (u->domain.len)
        memcpy(e->domain, u->domain.p, u->domain.len);
    e->domain[u->domain.len] = '\0';
    e->md5 = u->ha1_md5.p != NULL;
    e->sha256 = u->ha1_sha256.p != NULL;
    e->sha512_256 = u->ha1_sha512_256.p != NULL;
    e->enabled = u->enabled;
    return 0;
}

static int entry_cmp(const void *x, const void *y)
{
    const struct entry *a = x, *b = y;
    int c = strcmp(a->realm, b->realm);
    return c ? c : strcmp(a->username, b->username);
}

static int run_list(const char *cmd, struct opts *o)
{
    struct entries es = {.only_realm = o->realm, .only_domain = o->domain};
    struct sipreg_store *s;
    int err, rc = 1;
    if (open_db(&s, o->db) != 0)
        return 1;
    err = sipreg_store_user_iterate(s, collect_user, &es);
    sipreg_store_close(s);
    if (err) {
        fprintf(stderr, "sipreg %s: cannot read %s: %s\n", cmd, o->db, sipreg_strerror(err));
        goto out;
    }
    if (es.n)
        qsort(es.v, es.n, sizeof *es.v, entry_cmp);
    for (size_t i = 0; i < es.n; i++) {
        const struct entry *e = &es.v[i];
        char algs[32] = "";
        if (e->md5)
            strcat(algs, ",md5");
        if (e->sha256)
            strcat(algs, ",sha-256");
        if (e->sha512_256)
            strcat(algs, ",sha-512-256");
        printf("%s %s %s %s %s\n", e->username, e->realm, algs[0] ? algs + 1 : "-",
               e->enabled ? "enabled" : "disabled", e->domain[0] ? e->domain : "-");
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    for (size_t i = 0; i < es.n; i++)
        free(es.v[i].username);
    free(es.v);
    return rc;
}

/* ---- import ---- */

/* One user of an import file. Slices point into the file's buffer. */
struct rec {
    struct sipreg_str user, realm;
    struct sipreg_str domain; /* absent: the flag's, else none */
    struct sipreg_str secret; /* the password, or the MD5 HA1 of an htdigest line */
    bool htdigest;
    size_t line;
};

struct import {
    const char *cmd, *file;
    char *buf;
    size_t len;
    struct rec *v;
    size_t n, cap;
    size_t errors;
};

static void bad_line(struct import *im, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad_line(struct import *im, size_t line, const char *fmt, ...)
{
    if (++im->errors <= MAX_ERRORS) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s:%zu: ", im->file, line);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }
}

/* s for an error message: control bytes as \xNN, cut after 64 bytes. */
static const char *esc(struct sipreg_str s, char buf[300])
{
    size_t n = 0;
    for (size_t i = 0; i < s.len && i < 64; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 || c == 0x7f)
            n += (size_t)snprintf(buf + n, 5, "\\x%02x", c);
        else
            buf[n++] = (char)c;
    }
    if (s.len > 64)
        n += (size_t)snprintf(buf + n, 4, "...");
    buf[n] = '\0';
    return buf;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Splits a CSV line (RFC 4180 quoting: "a ""b""", no line breaks inside quotes) into at most max
 * fields, in place: quoted fields are unquoted over themselves. Blanks around fields are
 * dropped. The field count, or -1 with *why set. */
static int csv_split(char *p, char *end, struct sipreg_str *f, int max, const char **why)
{
    int n = 0;
    for (;;) {
        while (p < end && is_blank(*p))
            p++;
        if (n == max) {
            *why = "too many fields (expected user,password[,realm[,domain]])";
            return -1;
        }
        if (p < end && *p == '"') {
            char *w = p, *r = p + 1;
            for (;;) {
                if (r == end) {
                    *why = "unterminated quoted field";
                    return -1;
                }
                if (*r == '"') {
                    if (r + 1 < end && r[1] == '"') {
                        *w++ = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                *w++ = *r++;
            }
            f[n++] = (struct sipreg_str){p, (size_t)(w - p)};
            while (r < end && is_blank(*r))
                r++;
            if (r < end && *r != ',') {
                *why = "text after a closing quote";
                return -1;
            }
            p = r;
        } else {
            char *q = p;
            while (q < end && *q != ',')
                q++;
            char *e = q;
            while (e > p && is_blank(e[-1]))
                e--;
            f[n++] = (struct sipreg_str){p, (size_t)(e - p)};
            p = q;
        }
        if (p == end)
            return n;
        p++; /* the comma */
    }
}

/* Parses one non-blank, non-comment line [p, end) into r; 0, or -1 with *why set. The format is
 * told by what ends the username: ',' CSV (as is a leading '"'), ':' htdigest, a blank
 * "user password". */
static int parse_line(char *p, char *end, struct rec *r, const char **why)
{
    char *q = p;
    memset(r, 0, sizeof *r);
    while (q < end && *q != ',' && *q != ':' && !is_blank(*q))
        q++;
    if (*p == '"' || (q < end && *q == ',')) {
        struct sipreg_str f[4];
        int n = csv_split(p, end, f, 4, why);
        if (n < 0)
            return -1;
        if (n < 2) {
            *why = "expected user,password[,realm[,domain]]";
            return -1;
        }
        r->user = f[0];
        r->secret = f[1];
        if (n >= 3 && f[2].len)
            r->realm = f[2];
        if (n == 4 && f[3].len)
            r->domain = f[3];
        return 0;
    }
    if (q < end && *q == ':') {
        while (end > q && is_blank(end[-1]))
            end--;
        char *c2 = end;
        while (c2 > q && c2[-1] != ':')
            c2--;
        if (c2 - 1 == q) {
            *why = "expected user:realm:ha1 (htdigest)";
            return -1;
        }
        r->htdigest = true;
        r->user = (struct sipreg_str){p, (size_t)(q - p)};
        r->realm = (struct sipreg_str){q + 1, (size_t)(c2 - 1 - (q + 1))};
        r->secret = (struct sipreg_str){c2, (size_t)(end - c2)};
        if (r->realm.len == 0) {
            *why = "empty realm";
            return -1;
        }
        if (r->secret.len != 32) {
            *why = "the HA1 is not 32 hex digits (htdigest files hold MD5 HA1s)";
            return -1;
        }
        for (size_t i = 0; i < 32; i++) {
            if (!is_hex(c2[i])) {
                *why = "the HA1 is not 32 hex digits (htdigest files hold MD5 HA1s)";
                return -1;
            }
            if (c2[i] >= 'A' && c2[i] <= 'F')
                c2[i] = (char)(c2[i] - 'A' + 'a');
        }
        return 0;
    }
    if (q == end) {
        *why = "expected 'user password', 'user,password[,realm[,domain]]' or 'user:realm:ha1'";
        return -1;
    }
    r->user = (struct sipreg_str){p, (size_t)(q - p)};
    while (q < end && is_blank(*q))
        q++;
    char *pw = q;
    while (q < end && !is_blank(*q))
        q++;
    r->secret = (struct sipreg_str){pw, (size_t)(q - pw)};
    while (q < end && is_blank(*q))
        q++;
    if (r->secret.len == 0 || q != end) {
        *why = "expected 'user password' (for a password with blanks use CSV: "
               "user,\"pass word\")";
        return -1;
    }
    return 0;
}

/* Reads the whole file ("-": stdin). 0, or 1 (message printed). */
static int read_file(struct import *im)
{
    bool is_stdin = strcmp(im->file, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(im->file, "rb");
    if (!f) {
        fprintf(stderr, "sipreg %s: cannot open %s: %s\n", im->cmd, im->file, strerror(errno));
        return 1;
    }
    size_t cap = 0;
    int rc = 0;
    for (;;) {
        if (im->len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = malloc(ncap);
            if (!nb) {
                fprintf(stderr, "sipreg %s: %s: out of memory\n", im->cmd, im->file);
                rc = 1;
                break;
            }
            /* grown by hand so that no stale copy of the passwords is left in freed memory */
            if (im->buf) {
                memcpy(nb, im->buf, im->len);
                OPENSSL_cleanse(im->buf, cap);
                free(im->buf);
            }
            im->buf = nb;
            cap = ncap;
        }
        size_t got = fread(im->buf + im->len, 1, cap - im->len, f);
        im->len += got;
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "sipreg %s: cannot read %s: %s\n", im->cmd, im->file,
                        strerror(errno));
                rc = 1;
            }
            break;
        }
    }
    if (!is_stdin)
        fclose(f);
    return rc;
}

static int rec_cmp(const void *x, const void *y)
{
    const struct rec *a = x, *b = y;
    size_t n = a->realm.len < b->realm.len ? a->realm.len : b->realm.len;
    int c = memcmp(a->realm.p, b->realm.p, n);
    if (c || a->realm.len != b->realm.len)
        return c ? c : (a->realm.len < b->realm.len ? -1 : 1);
    n = a->user.len < b->user.len ? a->user.len : b->user.len;
    c = memcmp(a->user.p, b->user.p, n);
    if (c || a->user.len != b->user.len)
        return c ? c : (a->user.len < b->user.len ? -1 : 1);
    return a->line < b->line ? -1 : a->line > b->line;
}

/* Parses and checks every line; records go to im->v, each with its domain (the line's, else
 * default_domain, which may be absent). 0, or 1 (messages printed). */
static int import_parse(struct import *im, const char *default_realm,
                        struct sipreg_str default_domain)
{
    char *p = im->buf, *end = im->buf + im->len;
    if (im->len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3; /* a UTF-8 byte order mark, as spreadsheets write in front of CSV */
    for (size_t line = 1; p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end, *next = nl ? nl + 1 : end;
        if (le > p && le[-1] == '\r')
            le--;
        char *s = p;
        p = next;
        while (s < le && is_blank(*s))
            s++;
        if (s == le || *s == '#')
            continue;
        if (memchr(s, '\0', (size_t)(le - s))) {
            bad_line(im, line, "NUL byte");
            continue;
        }
        struct rec r;
        const char *why;
        if (parse_line(s, le, &r, &why) != 0) {
            bad_line(im, line, "%s", why);
            continue;
        }
        r.line = line;
        if (!r.realm.p && default_realm)
            r.realm = sipreg_str_z(default_realm);
        char eb[300];
        if ((why = bad_username(r.user))) {
            bad_line(im, line, "bad user name '%s': %s", esc(r.user, eb), why);
            continue;
        }
        if (!r.realm.p) {
            bad_line(im, line, "no realm for '%.*s': give --realm or --domain", STR(r.user));
            continue;
        }
        if ((why = bad_realm(r.realm))) {
            bad_line(im, line, "bad realm '%s': %s", esc(r.realm, eb), why);
            continue;
        }
        if (!r.domain.p) {
            r.domain = default_domain;
        } else if ((why = bad_domain(r.domain))) {
            bad_line(im, line, "bad domain '%s': %s", esc(r.domain, eb), why);
            continue;
        } else {
            domain_lower((char *)r.domain.p, r.domain.len); /* a field of im->buf, ours */
        }
        if (r.secret.len == 0) {
            bad_line(im, line, "empty password refused");
            continue;
        }
        if (r.secret.len > MAX_PASSWORD) {
            bad_line(im, line, "the password is longer than 1024 bytes");
            continue;
        }
        if (im->n == im->cap) {
            size_t cap = im->cap ? im->cap * 2 : 1024;
            struct rec *v = realloc(im->v, cap * sizeof *v);
            if (!v) {
                fprintf(stderr, "sipreg %s: out of memory\n", im->cmd);
                return 1;
            }
            im->v = v;
            im->cap = cap;
        }
        im->v[im->n++] = r;
    }
    /* Sorting finds duplicates, and writing in key order keeps the B-tree inserts local. */
    if (im->n)
        qsort(im->v, im->n, sizeof *im->v, rec_cmp);
    for (size_t i = 1; i < im->n; i++) {
        const struct rec *a = &im->v[i - 1], *b = &im->v[i];
        if (sipreg_str_eq(a->realm, b->realm) && sipreg_str_eq(a->user, b->user))
            bad_line(im, b->line, "user '%.*s' in realm '%.*s' is also on line %zu", STR(b->user),
                     STR(b->realm), a->line);
    }
    if (im->errors > MAX_ERRORS)
        fprintf(stderr, "%s: %zu more errors\n", im->file, im->errors - MAX_ERRORS);
    if (im->errors) {
        fprintf(stderr, "sipreg %s: %s: %zu bad line%s, nothing imported\n", im->cmd, im->file,
                im->errors, im->errors == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

/* Writes every record in one batch and commits once: all or nothing. */
static int import_write(struct import *im, const char *db, size_t *added)
{
    struct sipreg_store *s;
    static char mem[65536];
    struct sipreg_arena a;
    struct ha1s h;
    int err = 0;
    int64_t now = cmd_wall_ms() / 1000;
    if (open_db(&s, db) != 0)
        return 1;
    *added = 0;
    for (size_t i = 0; i < im->n; i++) {
        const struct rec *r = &im->v[i];
        struct sipreg_user u = {
            .username = r->user, .realm = r->realm, .domain = r->domain, .enabled = true};
        if (r->htdigest) {
            u.ha1_md5 = r->secret;
        } else {
            if ((err = ha1s_compute(&h, r->user, r->realm, r->secret)))
                break;
            ha1s_set(&u, &h);
        }
        /* A user already there keeps its creation time and its enabled flag. */
        struct sipreg_user old = {0};
        sipreg_arena_init(&a, mem, sizeof mem);
        err = sipreg_store_user_get(s, r->user, r->realm, &a, &old);
        if (err == 0) {
            u.created_at = old.created_at;
            u.enabled = old.enabled;
            if (!u.domain.p)
                u.domain = old.domain;
        } else if (err == SIPREG_ENOENT) {
            u.created_at = now;
            ++*added;
        } else {
            break;
        }
        if ((err = sipreg_store_user_put(s, &u)))
            break;
    }
    OPENSSL_cleanse(&h, sizeof h);
    OPENSSL_cleanse(mem, sizeof mem);
    if (err) {
        fprintf(stderr, "sipreg %s: cannot store the users in %s: %s; nothing imported\n", im->cmd,
                db, sipreg_strerror(err));
        sipreg_store_close(s); /* rolls the open batch back */
        return 1;
    }
    return commit_close(im->cmd, s, db);
}

static int run_import(const char *cmd, struct opts *o)
{
    struct import im = {.cmd = cmd, .file = o->pos[0]};
    const char *why, *realm = flag_realm(o);
    char dbuf[MAX_DOMAIN + 1];
    struct sipreg_str domain;
    size_t added = 0;
    int rc = 1;
    if (realm && (why = bad_realm(sipreg_str_z(realm)))) {
        fprintf(stderr, "sipreg %s: bad %s '%s': %s\n", cmd, o->realm ? "--realm" : "--domain",
                realm, why);
        return 2;
    }
    if ((rc = flag_domain(cmd, o, dbuf, &domain)))
        return rc;
    rc = 1;
    if (read_file(&im) == 0 && import_parse(&im, realm, domain) == 0 &&
        import_write(&im, o->db, &added) == 0) {
        printf("imported %zu users (%zu new, %zu updated)\n", im.n, added, im.n - added);
        rc = 0;
    }
    if (im.buf)
        OPENSSL_cleanse(im.buf, im.len);
    free(im.buf);
    free(im.v);
    return rc;
}

/* ---- dispatch ---- */

static const struct subcmd subcmds[] = {
    {"add", run_add, F_DB | F_DOMAIN | F_REALM | F_PWSTDIN | F_DISABLED, 1, 1, "NAME",
     "usage: sipreg user add NAME (--domain D [--realm R] | --realm R) [--password-stdin]\n"
     "                       [--disabled] [--db PATH]\n"
     "  Adds the user, or replaces its password (and enabled flag) if it exists. The password\n"
     "  is read as one line from stdin with --password-stdin, else typed twice at the terminal.\n"
     "  Only H(NAME:REALM:password) is stored, for MD5, SHA-256 and SHA-512-256.\n"
     "  --domain D: the user belongs to domain D and may register only AORs in it; the realm\n"
     "  defaults to D. Without --domain the user belongs to the domain its realm names (an\n"
     "  existing user keeps the domain it had).\n"},
    {"del", run_del, F_DB | F_DOMAIN | F_REALM, 1, 1, "NAME",
     "usage: sipreg user del NAME (--realm R | --domain D) [--db PATH]\n"},
    {"enable", run_enable, F_DB | F_DOMAIN | F_REALM, 1, 1, "NAME",
     "usage: sipreg user enable NAME (--realm R | --domain D) [--db PATH]\n"},
    {"disable", run_disable, F_DB | F_DOMAIN | F_REALM, 1, 1, "NAME",
     "usage: sipreg user disable NAME (--realm R | --domain D) [--db PATH]\n"
     "  A disabled user keeps its credentials but cannot register.\n"},
    {"list", run_list, F_DB | F_DOMAIN | F_REALM, 0, 0, NULL,
     "usage: sipreg user list [--realm R] [--domain D] [--db PATH]\n"
     "  One line per user, by realm then name: NAME REALM ALGORITHMS enabled|disabled DOMAIN\n"
     "  (DOMAIN - : none stored, the user belongs to its realm's domain). --realm shows one\n"
     "  realm, --domain the users belonging to one domain.\n"},
    {"import", run_import, F_DB | F_DOMAIN | F_REALM, 1, 1, "FILE",
     "usage: sipreg user import FILE [--domain D] [--realm R] [--db PATH]\n"
     "  FILE (- for stdin) holds one user a line, in any of these forms:\n"
     "    user password                    (blank-separated)\n"
     "    user,password[,realm[,domain]]   (CSV; quote a field with \"...\")\n"
     "    user:realm:md5-ha1               (Apache htdigest: MD5 only, its own realm)\n"
     "  Blank lines and lines starting with # are skipped. Lines without a realm take the\n"
     "  --realm / --domain one. Every user gets domain D (a CSV line's fourth field wins).\n"
     "  Any bad line stops the import before anything is written.\n"},
};

#define NSUBCMDS (sizeof subcmds / sizeof subcmds[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: sipreg user <add|del|enable|disable|list|import> ...\n"
               "  --db PATH defaults to $SIPREG_DB, else sipreg.db; the realm defaults to the\n"
               "  domain, as in `sipreg serve`. `sipreg user COMMAND --help` for details.\n");
}

int cmd_user(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NSUBCMDS; i++) {
        const struct subcmd *sc = &subcmds[i];
        if (strcmp(argv[1], sc->name) != 0)
            continue;
        char cmd[32];
        snprintf(cmd, sizeof cmd, "user %s", sc->name);
        struct opts o;
        int rc = parse_opts(cmd, sc, argc - 1, argv + 1, &o);
        if (rc < 0) {
            fputs(sc->usage, stdout);
            return 0;
        }
        if (rc)
            return rc;
        return sc->run(cmd, &o);
    }
    fprintf(stderr, "sipreg user: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
