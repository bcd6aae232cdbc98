/* Parser throughput on the peers' contract (../shared/bench/parse): nine fields, FNV-1a checksum.
 */
/*
 * Usage: parse_bench [-n ROUNDS] [-v] FILE.sip...
 *
 * Each round parses every file in turn with sipreg_msg_parse (datagram mode, default limits, an
 * arena over a stack buffer reset per message) and extracts the nine fields the peers' benchmark
 * extracts: top Via branch, Call-ID, CSeq number (decimal) and method, From tag, To URI user and
 * host, first Contact's URI host and its `expires` parameter as written. A missing field counts
 * as the empty string. The fields of the first timed round are folded into a 64-bit FNV-1a
 * checksum, which must equal the peers' for the same files. Timing, warm-up and the output line
 * follow peer_parse_bench.c exactly, so the lines of both programs align. -v prints the fields of
 * each message first (to diagnose a checksum mismatch).
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sipreg/msg.h"

#define MAX_FILE    (1 << 16)
#define ARENA_BYTES 16384

struct corpus {
    char **data;
    size_t *len;
    int n;
};

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ 0xff; /* field separator */
}

/* A missing (absent) slice has p == NULL and len 0: it folds as the empty string. */
static uint64_t fnv_str(uint64_t h, struct sipreg_str s)
{
    return fnv(h, s.p ? s.p : "", s.p ? s.len : 0);
}

/* Same formatting as the peers' fnvu(), so that the harness costs the same for everyone. */
static uint64_t fnv_u(uint64_t h, unsigned long v)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%lu", v);
    return fnv(h, b, (size_t)n);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The nine fields, in checksum order. */
struct fields {
    struct sipreg_str branch, call_id;
    uint32_t cseq_num;
    struct sipreg_str cseq_method, from_tag, to_user, to_host, contact_host, contact_expires;
};

/* Parses one message and extracts the nine fields. 0, or a negative SIPREG_E* code when the
 * message or one of the structured values it needs is rejected. */
static int extract(const char *buf, size_t len, struct sipreg_arena *a, struct fields *f)
{
    struct sipreg_msg m;
    struct sipreg_perr why;
    const struct sipreg_via *via;
    const struct sipreg_addr *from, *to;
    struct sipreg_contact *ct;
    int err;

    sipreg_arena_reset(a);
    if ((err = sipreg_msg_parse(&m, buf, len, SIPREG_MSG_DATAGRAM, NULL, a, &why)) != 0)
        return err;
    if ((err = sipreg_msg_via(&m, &via, &why)) != 0 ||
        (err = sipreg_msg_from(&m, &from, &why)) != 0 ||
        (err = sipreg_msg_to(&m, &to, &why)) != 0 ||
        (err = sipreg_msg_contacts(&m, &ct, &why)) != 0)
        return err;
    *f = (struct fields){0};
    if (via)
        f->branch = via->branch;
    f->call_id = m.call_id;
    f->cseq_num = m.cseq.num;
    f->cseq_method = m.cseq.method;
    if (from)
        f->from_tag = from->tag;
    if (to) {
        f->to_user = to->uri.user;
        f->to_host = to->uri.host;
    }
    if (ct && !ct->star) {
        f->contact_host = ct->addr.uri.host;
        /* The raw value as written, not ct->expires: the peers fold the string. */
        const struct sipreg_param *ex = sipreg_params_find(&ct->addr.params, "expires");
        if (ex)
            f->contact_expires = ex->value;
    }
    return 0;
}

static int one(const char *buf, size_t len, struct sipreg_arena *a, uint64_t *h)
{
    struct fields f;
    if (extract(buf, len, a, &f) != 0)
        return -1;
    *h = fnv_str(*h, f.branch);
    *h = fnv_str(*h, f.call_id);
    *h = fnv_u(*h, f.cseq_num);
    *h = fnv_str(*h, f.cseq_method);
    *h = fnv_str(*h, f.from_tag);
    *h = fnv_str(*h, f.to_user);
    *h = fnv_str(*h, f.to_host);
    *h = fnv_str(*h, f.contact_host);
    *h = fnv_str(*h, f.contact_expires);
    return 0;
}

static void show(const char *label, struct sipreg_str s)
{
    printf("  %-16s %s\"%.*s\"\n", label, s.p ? "" : "(absent) ", (int)s.len, s.p ? s.p : "");
}

static void dump(const struct corpus *c, const char **names, struct sipreg_arena *a)
{
    for (int i = 0; i < c->n; i++) {
        struct fields f;
        int err = extract(c->data[i], c->len[i], a, &f);
        if (err) {
            printf("%s: %s\n", names[i], sipreg_errname(err));
            continue;
        }
        printf("%s:\n", names[i]);
        show("via.branch", f.branch);
        show("call-id", f.call_id);
        printf("  %-16s %lu\n", "cseq.num", (unsigned long)f.cseq_num);
        show("cseq.method", f.cseq_method);
        show("from.tag", f.from_tag);
        show("to.user", f.to_user);
        show("to.host", f.to_host);
        show("contact.host", f.contact_host);
        show("contact.expires", f.contact_expires);
    }
}

static void run(const char *name, const struct corpus *c, long rounds, struct sipreg_arena *a)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    long ok = 0, bad = 0;
    /* warm-up round, not counted */
    for (int i = 0; i < c->n; i++) {
        uint64_t t = 0;
        one(c->data[i], c->len[i], a, &t);
    }
    double t0 = now_s();
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < c->n; i++) {
            uint64_t hh = r == 0 ? h : 0;
            if (one(c->data[i], c->len[i], a, &hh) == 0) {
                ok++;
                if (r == 0)
                    h = hh;
            } else {
                bad++;
            }
        }
    double dt = now_s() - t0;
    printf("%-8s %10.0f msgs/s  %8.1f ns/msg  checksum %016llx  failed %ld\n", name,
           (double)ok / dt, dt * 1e9 / (double)(ok ? ok : 1), (unsigned long long)h, bad);
}

int main(int argc, char **argv)
{
    long rounds = 20000;
    int verbose = 0, a = 1;
    for (;;) {
        if (a + 1 < argc && strcmp(argv[a], "-n") == 0) {
            rounds = atol(argv[a + 1]);
            a += 2;
        } else if (a < argc && strcmp(argv[a], "-v") == 0) {
            verbose = 1;
            a++;
        } else {
            break;
        }
    }
    if (a >= argc || rounds < 1) {
        fprintf(stderr, "usage: %s [-n ROUNDS] [-v] FILE.sip...\n", argv[0]);
        return 2;
    }
    struct corpus c = {calloc((size_t)argc, sizeof(char *)), calloc((size_t)argc, sizeof(size_t)),
                       0};
    const char **names = calloc((size_t)argc, sizeof(char *));
    if (!c.data || !c.len || !names) {
        perror("calloc");
        return 2;
    }
    for (; a < argc; a++) {
        FILE *fp = fopen(argv[a], "rb");
        if (!fp) {
            perror(argv[a]);
            return 2;
        }
        char *d = malloc(MAX_FILE);
        if (!d) {
            perror("malloc");
            return 2;
        }
        size_t n = fread(d, 1, MAX_FILE - 1, fp);
        fclose(fp);
        d[n] = 0; /* as the peers' harness does; not counted in len */
        names[c.n] = argv[a];
        c.data[c.n] = d;
        c.len[c.n++] = n;
    }

    alignas(max_align_t) char mem[ARENA_BYTES];
    struct sipreg_arena arena;
    sipreg_arena_init(&arena, mem, sizeof mem);

    if (verbose)
        dump(&c, names, &arena);
    printf("corpus: %d messages, %ld rounds\n", c.n, rounds);
    run("sipreg", &c, rounds, &arena);

    for (int i = 0; i < c.n; i++)
        free(c.data[i]);
    free(c.data);
    free(c.len);
    free(names);
    return 0;
}
