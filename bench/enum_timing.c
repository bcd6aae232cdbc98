/* Does the registrar's answer time tell an unknown user from a known one with a wrong password?
 * Feeds the same authenticated REGISTER shape for both, interleaved, to an in-process registrar
 * over a SQLite store of 10,000 users, and prints the median and quartiles of each in ns and
 * the difference of the medians. The answers are also compared byte for byte in length.
 * Usage: enum_timing [-n ROUNDS] [DB-PATH] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sipreg/sipreg.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long rounds = 20000;
    int a = 1;
    if (a + 1 < argc && !strcmp(argv[a], "-n")) {
        rounds = atol(argv[a + 1]);
        a += 2;
    }
    char path[256];
    snprintf(path, sizeof path, "%s", a < argc ? argv[a] : "/tmp/sipreg-enum-timing.db");
    unlink(path);
    struct sipreg_store *st;
    if (sipreg_store_open_sqlite(&st, path, NULL) != 0) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    for (int i = 1; i <= 10000; i++) {
        char name[32], pass[48], md5[SIPREG_AUTH_HEX_MAX], sha[SIPREG_AUTH_HEX_MAX];
        snprintf(name, sizeof name, "user%05d", i);
        snprintf(pass, sizeof pass, "pass-%s", name);
        sipreg_auth_ha1(SIPREG_AUTH_MD5, sipreg_str_z(name), SIPREG_STR_LIT("example.com"),
                        sipreg_str_z(pass), md5);
        sipreg_auth_ha1(SIPREG_AUTH_SHA256, sipreg_str_z(name), SIPREG_STR_LIT("example.com"),
                        sipreg_str_z(pass), sha);
        struct sipreg_user u = {sipreg_str_z(name),
                                SIPREG_STR_LIT("example.com"),
                                sipreg_str_z(md5),
                                sipreg_str_z(sha),
                                SIPREG_STR_NULL,
                                true,
                                0,
                                SIPREG_STR_NULL};
        sipreg_store_user_put(st, &u);
    }
    sipreg_store_commit(st);
    struct sipreg_auth_secret secret;
    sipreg_auth_secret_init_random(&secret);
    static const char *const domains[] = {"example.com"};
    struct sipreg_registrar_cfg cfg = {.domains = domains,
                                       .ndomains = 1,
                                       .store = st,
                                       .secret = &secret,
                                       .fail_limit_source = 1000000000,
                                       .fail_limit_user = 1000000000};
    struct sipreg_registrar *r;
    if (sipreg_registrar_create(&r, &cfg) != 0)
        return 1;
    double *t[2] = {malloc(sizeof(double) * (size_t)rounds),
                    malloc(sizeof(double) * (size_t)rounds)};
    size_t len[2] = {0, 0};
    struct sipreg_netaddr src;
    sipreg_netaddr_parse(&src, "192.0.2.9:5060", 5060);
    int64_t wall = 1764000000000LL;
    char nonce[SIPREG_AUTH_NONCE_LEN + 1];
    char msg[2048], out[8192];
    for (long i = 0; i < rounds; i++) {
        for (int kind = 0; kind < 2; kind++) {
            /* kind 0: a known user (user00042..) with a wrong password; kind 1: unknown users of
             * the same length (usex00042..) */
            char name[32];
            snprintf(name, sizeof name, kind ? "usex%05ld" : "user%05ld", 1 + i % 10000);
            sipreg_auth_nonce_build(&secret, SIPREG_STR_LIT("example.com"), NULL, wall, nonce);
            int n = snprintf(msg, sizeof msg,
                             "REGISTER sip:example.com SIP/2.0\r\n"
                             "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK%d%08ld;rport\r\n"
                             "From: <sip:%s@example.com>;tag=1\r\nTo: <sip:%s@example.com>\r\n"
                             "Call-ID: c%d%08ld\r\nCSeq: 2 REGISTER\r\n"
                             "Contact: <sip:%s@192.0.2.9>\r\n"
                             "Authorization: Digest username=\"%s\", realm=\"example.com\", "
                             "nonce=\"%s\", uri=\"sip:example.com\", "
                             "response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5, "
                             "cnonce=\"abcdef\", qop=auth, nc=00000001, opaque=\"%s\"\r\n"
                             "Content-Length: 0\r\n\r\n",
                             kind, i, name, name, kind, i, name, name, nonce, secret.opaque);
            double t0 = now_ns();
            sipreg_registrar_receive(r, msg, (size_t)n, &src, NULL, 1000 + i, wall);
            sipreg_registrar_flush(r, 1000 + i);
            double t1 = now_ns();
            size_t got;
            struct sipreg_netaddr to;
            while (sipreg_registrar_pull(r, out, sizeof out, &got, &to, NULL) == 0) {
                if (strncmp(out, "SIP/2.0 401 ", 12) != 0) {
                    fprintf(stderr, "unexpected answer: %.40s\n", out);
                    return 1;
                }
                if (len[kind] && len[kind] != got) {
                    fprintf(stderr, "answer length varies: %zu vs %zu\n", len[kind], got);
                    return 1;
                }
                len[kind] = got;
            }
            t[kind][i] = t1 - t0;
        }
        wall += 1;
    }
    const char *names[2] = {"known user, wrong password", "unknown user"};
    double med[2];
    for (int k = 0; k < 2; k++) {
        qsort(t[k], (size_t)rounds, sizeof(double), cmp);
        med[k] = t[k][rounds / 2];
        printf("%-28s median %8.0f ns  p25 %8.0f  p75 %8.0f  answer %zu bytes\n", names[k], med[k],
               t[k][rounds / 4], t[k][rounds * 3 / 4], len[k]);
    }
    printf("difference of medians: %.0f ns (%.1f%%)\n", med[1] - med[0],
           100.0 * (med[1] - med[0]) / med[0]);
    sipreg_registrar_destroy(r);
    sipreg_store_close(st);
    unlink(path);
    free(t[0]);
    free(t[1]);
    return 0;
}
