/* A registrar in a few lines: the library's server driver over an in-memory store.
 *
 *     cc -o serve serve.c $(pkg-config --cflags --libs sipreg)
 *     ./serve 127.0.0.1:5060 example.com 2        (address, domain, workers; ^C stops)
 *
 * No authentication (every REGISTER is accepted): a lab registrar. A real one gives the
 * registrar a store with users (sipreg_store_open_sqlite) and a secret, as `sipreg serve` does. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <sipreg/sipreg.h>

static struct sipreg_server *srv;

static void on_signal(int sig)
{
    (void)sig;
    sipreg_server_stop(srv); /* async-signal-safe */
}

static void on_event(const struct sipreg_registrar_event *ev, void *ud)
{
    (void)ud;
    if (ev->kind == SIPREG_REG_EV_REGISTERED) /* may run on several workers at once */
        printf("registered %.*s -> %.*s (%lld s)\n", (int)ev->aor.len, ev->aor.p,
               (int)ev->contact.len, ev->contact.p, (long long)ev->expires);
}

static void on_log(int level, const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "%s: %s\n", level == SIPREG_SERVER_LOG_ERROR ? "error" : "note", msg);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ADDR:PORT DOMAIN [WORKERS]\n", argv[0]);
        return 2;
    }
    struct sipreg_netaddr listen;
    if (sipreg_netaddr_parse(&listen, argv[1], 5060) != 0) {
        fprintf(stderr, "%s: not an address\n", argv[1]);
        return 2;
    }
    unsigned workers = argc > 3 ? (unsigned)atoi(argv[3]) : 1;
    struct sipreg_store *store;
    if (sipreg_store_open_memory(&store, NULL) != 0)
        return 1;
    /* several workers write one store: it must be made thread-safe */
    if (workers > 1 && sipreg_store_open_locked(&store, store) != 0)
        return 1;
    const char *domains[] = {argv[2]};
    struct sipreg_server_cfg cfg = {
        .registrar = {.domains = domains,
                      .ndomains = 1,
                      .store = store,
                      .no_auth = true,
                      .on_event = on_event},
        .listen = &listen,
        .nlisten = 1,
        .workers = workers,
        .on_log = on_log,
    };
    int err = sipreg_server_create(&srv, &cfg); /* a busy port is reported here, by on_log */
    if (err) {
        sipreg_store_close(store);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    err = sipreg_server_run(srv); /* until a signal stops it */
    struct sipreg_server_stats st;
    sipreg_server_stats(srv, -1, &st);
    printf("%llu datagrams in, %llu out\n", (unsigned long long)st.rx, (unsigned long long)st.tx);
    sipreg_server_destroy(srv);
    sipreg_store_close(store);
    return err ? 1 : 0;
}
