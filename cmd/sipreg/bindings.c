/* `sipreg bindings [AOR]`: the current contents of the location service (RFC 3261 §10.3). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "common.h"

#define ARENA_MIN (1u << 20)
#define ARENA_MAX (1u << 28)

static const char usage_text[] =
    "usage: sipreg bindings [AOR] [--json] [--db PATH]\n"
    "  Lists the unexpired bindings of every AOR, or of AOR (user@host, with or without sip:).\n"
    "  Columns: AOR, contact, seconds left, q, source, user agent, instance. Control characters\n"
    "  in values are shown as \\xNN; --json prints every field as a JSON array instead.\n"
    "  --db PATH defaults to $SIPREG_DB, else sipreg.db.\n";

/* A binding copied out of the store: its slices point into the same allocation. */
struct row {
    struct sipreg_binding b;
    size_t seq; /* order of arrival, to keep the store's order within an AOR */
};

struct rows {
    struct row **v;
    size_t n, cap;
};

static struct sipreg_str copy_str(struct sipreg_str s, char **cur)
{
    if (!s.p)
        return s;
    struct sipreg_str d = {*cur, s.len};
    memcpy(*cur, s.p, s.len);
    *cur += s.len;
    return d;
}

static int collect(const struct sipreg_binding *b, void *ud)
{
    struct rows *rs = ud;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        struct row **v = realloc(rs->v, cap * sizeof *v);
        if (!v)
            return SIPREG_ENOMEM;
        rs->v = v;
        rs->cap = cap;
    }
    const struct sipreg_str *f[] = {&b->aor,     &b->key,      &b->contact,
                                    &b->call_id, &b->source,   &b->transport,
                                    &b->path,    &b->instance, &b->user_agent};
    size_t len = sizeof(struct row);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        len += f[i]->len;
    struct row *r = malloc(len);
    if (!r)
        return SIPREG_ENOMEM;
    char *cur = (char *)(r + 1);
    r->b = *b;
    r->b.aor = copy_str(b->aor, &cur);
    r->b.key = copy_str(b->key, &cur);
    r->b.contact = copy_str(b->contact, &cur);
    r->b.call_id = copy_str(b->call_id, &cur);
    r->b.source = copy_str(b->source, &cur);
    r->b.transport = copy_str(b->transport, &cur);
    r->b.path = copy_str(b->path, &cur);
    r->b.instance = copy_str(b->instance, &cur);
    r->b.user_agent = copy_str(b->user_agent, &cur);
    r->seq = rs->n;
    rs->v[rs->n++] = r;
    return 0;
}

static int str_cmp(struct sipreg_str a, struct sipreg_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* By AOR; within an AOR, in the store's order (first registration). */
static int row_cmp(const void *x, const void *y)
{
    const struct row *a = *(struct row *const *)x, *b = *(struct row *const *)y;
    int c = str_cmp(a->b.aor, b->b.aor);
    if (c)
        return c;
    if (a->b.registered_at != b->b.registered_at)
        return a->b.registered_at < b->b.registered_at ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* The registrar's AOR key for a user argument: "sip:" user "@" host, the host lower-cased and
 * without port or parameters ("Alice@Example.COM:5060" -> "sip:Alice@example.com"). A sips:
 * URI maps to the same key, as the registrar keys both schemes alike. 0, or -1 with *why. */
static int aor_key(const char *in, char *out, size_t cap, const char **why)
{
    const char *s = in;
    if (strncasecmp(s, "sips:", 5) == 0)
        s += 5;
    else if (strncasecmp(s, "sip:", 4) == 0)
        s += 4;
    const char *at = strrchr(s, '@');
    if (!at || at == s) {
        *why = "expected user@host";
        return -1;
    }
    const char *h = at + 1, *e;
    if (*h == '[') {
        e = strchr(h, ']');
        if (!e) {
            *why = "unclosed '[' in the host";
            return -1;
        }
        e++;
    } else {
        e = h + strcspn(h, ":;?>");
    }
    if (e == h) {
        *why = "empty host";
        return -1;
    }
    size_t ulen = (size_t)(at - s), hlen = (size_t)(e - h);
    if (4 + ulen + 1 + hlen + 1 > cap) {
        *why = "too long";
        return -1;
    }
    memcpy(out, "sip:", 4);
    memcpy(out + 4, s, ulen);
    out[4 + ulen] = '@';
    for (size_t i = 0; i < hlen; i++) {
        char c = h[i];
        out[5 + ulen + i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    out[5 + ulen + hlen] = '\0';
    return 0;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp, min;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0)
        len = 2, cp = p[0] & 0x1fu, min = 0x80;
    else if ((p[0] & 0xf0) == 0xe0)
        len = 3, cp = p[0] & 0x0fu, min = 0x800;
    else if ((p[0] & 0xf8) == 0xf0)
        len = 4, cp = p[0] & 0x07u, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* ---- text output ---- */

enum { C_AOR, C_CONTACT, C_EXPIRES, C_Q, C_SOURCE, C_UA, C_INSTANCE, NCOLS };
static const char *const col_names[NCOLS] = {"AOR",    "CONTACT",    "EXPIRES", "Q",
                                             "SOURCE", "USER-AGENT", "INSTANCE"};

/* A value as printed: "-" when absent or empty; control characters (C0, DEL, C1: a user agent
 * string must not drive the terminal), bytes that are not UTF-8 and backslashes escaped. *width
 * gets its width in characters. */
static char *shown(struct sipreg_str s, size_t *width)
{
    if (!s.p || s.len == 0)
        s = sipreg_str_z("-");
    char *out = malloc(s.len * 4 + 1), *w = out;
    const unsigned char *p = (const unsigned char *)s.p, *end = p + s.len;
    if (!out)
        return NULL;
    *width = 0;
    while (p < end) {
        size_t n = utf8_len(p, (size_t)(end - p));
        bool c1 = n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
        if (*p == '\\') {
            w += sprintf(w, "\\\\");
            *width += 2;
            p++;
        } else if (n == 0 || *p < 0x20 || *p == 0x7f || c1) {
            for (size_t i = 0; i < (n ? n : 1); i++, *width += 4)
                w += sprintf(w, "\\x%02x", *p++);
        } else {
            memcpy(w, p, n);
            w += n;
            p += n;
            *width += 1;
        }
    }
    *w = '\0';
    return out;
}

static char *shown_z(const char *z, size_t *width)
{
    return shown(sipreg_str_z(z), width);
}

static void format_q(char *buf, size_t cap, int q)
{
    if (q < 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%d.%03d", q / 1000, q % 1000);
}

static int print_text(struct rows *rs, int64_t now)
{
    size_t w[NCOLS], cw[NCOLS];
    char **cells = calloc(rs->n * NCOLS + 1, sizeof *cells);
    size_t *widths = calloc(rs->n * NCOLS + 1, sizeof *widths);
    int rc = 1;
    if (!cells || !widths)
        goto oom;
    for (int c = 0; c < NCOLS; c++)
        w[c] = strlen(col_names[c]);
    for (size_t i = 0; i < rs->n; i++) {
        const struct sipreg_binding *b = &rs->v[i]->b;
        char **cell = &cells[i * NCOLS], num[32];
        int64_t left = b->expires_at - now;
        cell[C_AOR] = shown(b->aor, &cw[C_AOR]);
        cell[C_CONTACT] = shown(b->contact, &cw[C_CONTACT]);
        snprintf(num, sizeof num, "%lld", (long long)(left > 0 ? left : 0));
        cell[C_EXPIRES] = shown_z(num, &cw[C_EXPIRES]);
        format_q(num, sizeof num, b->q);
        cell[C_Q] = shown_z(num, &cw[C_Q]);
        cell[C_SOURCE] = shown(b->source, &cw[C_SOURCE]);
        cell[C_UA] = shown(b->user_agent, &cw[C_UA]);
        cell[C_INSTANCE] = shown(b->instance, &cw[C_INSTANCE]);
        for (int c = 0; c < NCOLS; c++) {
            if (!cell[c])
                goto oom;
            widths[i * NCOLS + (size_t)c] = cw[c];
            if (cw[c] > w[c])
                w[c] = cw[c];
        }
    }
    for (size_t i = 0; i <= rs->n; i++) {
        for (int c = 0; c < NCOLS; c++) {
            const char *v = i == 0 ? col_names[c] : cells[(i - 1) * NCOLS + (size_t)c];
            size_t vw = i == 0 ? strlen(v) : widths[(i - 1) * NCOLS + (size_t)c];
            if (c == NCOLS - 1)
                printf("%s\n", v);
            else
                printf("%s%*s", v, (int)(w[c] - vw + 2), "");
        }
    }
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "sipreg bindings: out of memory\n");
out:
    if (cells)
        for (size_t i = 0; i < rs->n * NCOLS; i++)
            free(cells[i]);
    free(cells);
    free(widths);
    return rc;
}

/* ---- JSON output ---- */

/* A JSON string, or null when absent. Bytes that are not UTF-8 become U+FFFD. */
static void json_str(const char *name, struct sipreg_str s, bool last)
{
    printf("\"%s\": ", name);
    if (!s.p) {
        printf("null%s", last ? "" : ", ");
        return;
    }
    putchar('"');
    const unsigned char *p = (const unsigned char *)s.p, *end = p + s.len;
    while (p < end) {
        size_t n = utf8_len(p, (size_t)(end - p));
        if (n == 0) {
            fputs("\\ufffd", stdout);
            p++;
        } else if (*p == '"' || *p == '\\') {
            printf("\\%c", *p++);
        } else if (*p < 0x20 || *p == 0x7f) {
            printf("\\u%04x", *p++);
        } else {
            fwrite(p, 1, n, stdout);
            p += n;
        }
    }
    printf("\"%s", last ? "" : ", ");
}

static void print_json(struct rows *rs, int64_t now)
{
    printf("[");
    for (size_t i = 0; i < rs->n; i++) {
        const struct sipreg_binding *b = &rs->v[i]->b;
        int64_t left = b->expires_at - now;
        char q[32];
        printf("%s\n  {", i ? "," : "");
        json_str("aor", b->aor, false);
        json_str("contact", b->contact, false);
        printf("\"expires_in\": %lld, \"expires_at\": %lld, ", (long long)(left > 0 ? left : 0),
               (long long)b->expires_at);
        format_q(q, sizeof q, b->q);
        printf("\"q\": %s, ", b->q < 0 ? "null" : q);
        json_str("source", b->source, false);
        json_str("transport", b->transport, false);
        json_str("user_agent", b->user_agent, false);
        json_str("instance", b->instance, false);
        if (b->reg_id < 0)
            printf("\"reg_id\": null, ");
        else
            printf("\"reg_id\": %ld, ", (long)b->reg_id);
        json_str("path", b->path, false);
        json_str("call_id", b->call_id, false);
        printf("\"cseq\": %lu, \"registered_at\": %lld, \"updated_at\": %lld}",
               (unsigned long)b->cseq, (long long)b->registered_at, (long long)b->updated_at);
    }
    printf("%s]\n", rs->n ? "\n" : "");
}

/* ---- the command ---- */

static int lookup_one(struct sipreg_store *s, const char *key, int64_t now, struct rows *rs)
{
    for (size_t cap = ARENA_MIN;; cap *= 2) {
        void *mem = malloc(cap);
        if (!mem)
            return SIPREG_ENOMEM;
        struct sipreg_arena a;
        struct sipreg_binding_list l;
        sipreg_arena_init(&a, mem, cap);
        int err = sipreg_store_lookup(s, sipreg_str_z(key), now, &a, &l);
        /* ENOMEM from the lookup means the arena was too small for this AOR: retry larger */
        if (err == SIPREG_ENOMEM && cap < ARENA_MAX) {
            free(mem);
            continue;
        }
        for (size_t i = 0; err == 0 && i < l.n; i++)
            err = collect(&l.v[i], rs);
        free(mem);
        return err;
    }
}

int cmd_bindings(int argc, char **argv)
{
    const char *db = NULL, *aor = NULL, *why;
    bool json = false;
    char key[1024];
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int pos = 0, o;
    const char *v, *flag;
    while ((o = cmd_getopt("bindings", argc, argv, opts, &pos, &v, &flag)) != -1) {
        switch (o) {
        case 1:
            if (aor) {
                fprintf(stderr, "sipreg bindings: unexpected argument '%s'\n%s", v, usage_text);
                return 2;
            }
            aor = v;
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'j': json = true; break;
        case 'd':
            if (!*v) {
                fprintf(stderr, "sipreg bindings: --db needs a value\n");
                return 2;
            }
            db = v;
            break;
        default: fputs(usage_text, stderr); return 2;
        }
    }
    if (aor && aor_key(aor, key, sizeof key, &why) != 0) {
        fprintf(stderr, "sipreg bindings: bad AOR '%s': %s\n", aor, why);
        return 2;
    }
    if (!db)
        db = cmd_default_db();

    struct sipreg_store *s;
    struct rows rs = {0};
    int64_t now = cmd_wall_ms() / 1000;
    int rc = 1, err;
    if (cmd_open_store(&s, db, false) != 0)
        return 1;
    cmd_check_db_mode(db);
    if (aor)
        err = lookup_one(s, key, now, &rs);
    else
        err = sipreg_store_iterate(s, now, collect, &rs);
    sipreg_store_close(s);
    if (err) {
        fprintf(stderr, "sipreg bindings: cannot read %s: %s\n", db, sipreg_strerror(err));
        goto out;
    }
    if (!aor && rs.n)
        qsort(rs.v, rs.n, sizeof *rs.v, row_cmp);
    if (json) {
        print_json(&rs, now);
        rc = 0;
    } else {
        rc = print_text(&rs, now);
    }
    if (fflush(stdout) != 0)
        rc = 1;
out:
    for (size_t i = 0; i < rs.n; i++)
        free(rs.v[i]);
    free(rs.v);
    return rc;
}
