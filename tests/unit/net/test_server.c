/* Unit tests: the server driver over real loopback sockets (register, stop from another thread,
 * a busy port, steering by source address over several workers). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sipreg/server.h"
#include "test.h"

struct sfx {
    struct sipreg_store *store;
    struct sipreg_auth_secret secret;
    struct sipreg_server *srv;
    struct sipreg_netaddr listen, bound;
    pthread_t runner;
    bool running;
    char last_log[512];
    int logs;
};

static void on_log(int level, const char *msg, void *ud)
{
    struct sfx *f = ud;
    (void)level;
    snprintf(f->last_log, sizeof f->last_log, "%s", msg);
    f->logs++;
}

/* A server on 127.0.0.1 (`port` 0: any) over a memory store for example.com. */
static int sfx_create(struct sfx *f, unsigned workers, uint16_t port, bool no_auth,
                      bool no_steering)
{
    /* the memory store may be read by the workers while the writer thread writes it */
    int err = sipreg_store_open_memory(&f->store, NULL);
    if (err)
        return err;
    if ((err = sipreg_auth_secret_init_random(&f->secret)) != 0)
        return err;
    sipreg_netaddr_parse(&f->listen, "127.0.0.1:0", 0);
    f->listen.port = port;
    static const char *const domains[] = {"example.com"};
    struct sipreg_server_cfg cfg = {
        .registrar = {.domains = domains,
                      .ndomains = 1,
                      .store = f->store,
                      .secret = &f->secret,
                      .no_auth = no_auth,
                      .reply_unlimited = true},
        .listen = &f->listen,
        .nlisten = 1,
        .workers = workers,
        .no_steering = no_steering,
        .on_log = on_log,
        .log_ud = f,
    };
    err = sipreg_server_create(&f->srv, &cfg);
    if (!err)
        err = sipreg_server_local(f->srv, 0, &f->bound);
    return err;
}

static void *run_main(void *p)
{
    sipreg_server_run(p);
    return NULL;
}

static int sfx_start(struct sfx *f)
{
    if (pthread_create(&f->runner, NULL, run_main, f->srv) != 0)
        return SIPREG_EIO;
    f->running = true;
    return 0;
}

static void sfx_destroy(struct sfx *f)
{
    if (f->running) {
        sipreg_server_stop(f->srv); /* from this thread; the server runs in f->runner */
        pthread_join(f->runner, NULL);
    }
    sipreg_server_destroy(f->srv);
    sipreg_store_close(f->store);
    sipreg_auth_secret_fini(&f->secret);
}

/* A UDP socket bound to 127.0.0.`host`:any, with a receive timeout. */
static int client_socket(int host, struct sockaddr_in *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(0x7f000000u | (unsigned)host)};
    socklen_t sl = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &sl) != 0) {
        close(fd);
        return -1;
    }
    if (bound)
        *bound = a;
    return fd;
}

/* Sends a REGISTER for sip:`user`@example.com from `fd` and waits (2 s at most) for the answer;
 * returns its status code, or -1. */
static int register_once(int fd, const struct sipreg_netaddr *srv, const char *user)
{
    struct sockaddr_in me;
    socklen_t sl = sizeof me;
    getsockname(fd, (struct sockaddr *)&me, &sl);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &me.sin_addr, ip, sizeof ip);
    unsigned port = ntohs(me.sin_port);
    char msg[1024];
    int n = snprintf(msg, sizeof msg,
                     "REGISTER sip:example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-%s-%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:%s@example.com>;tag=f%u\r\n"
                     "To: <sip:%s@example.com>\r\n"
                     "Call-ID: cid-%s-%u@%s\r\n"
                     "CSeq: 1 REGISTER\r\n"
                     "Contact: <sip:%s@%s:%u>\r\n"
                     "Expires: 600\r\n"
                     "Content-Length: 0\r\n\r\n",
                     ip, port, user, port, user, port, user, user, port, ip, user, ip, port);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(srv->port)};
    memcpy(&to.sin_addr, srv->ip, 4);
    if (sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&to, sizeof to) != n)
        return -1;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 2000) != 1)
        return -1;
    char buf[4096];
    ssize_t got = recv(fd, buf, sizeof buf - 1, 0);
    if (got < 12 || memcmp(buf, "SIP/2.0 ", 8) != 0)
        return -1;
    buf[got] = 0;
    return atoi(buf + 8);
}

/* Waits until the server's counters show `rx` datagrams in (they are published after each
 * batch, a moment after its replies left). */
static int wait_rx(struct sfx *f, uint64_t rx, struct sipreg_server_stats *st)
{
    for (int i = 0; i < 400; i++) {
        sipreg_server_stats(f->srv, -1, st);
        if (st->rx >= rx && st->tx >= rx)
            return 0;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    return SIPREG_ETIMEDOUT;
}

TEST(server_create_destroy)
{
    /* no threads: also runs under injected allocation failures, through every cleanup path */
    struct sfx f = {0};
    int err = sfx_create(&f, 2, 0, false, false);
    if (err) {
        sfx_destroy(&f);
        ASSERT(test_oom_active);
        return 0;
    }
    ASSERT_EQ(sipreg_server_workers(f.srv), 2);
    ASSERT_EQ(f.bound.family, 4);
    ASSERT(f.bound.port != 0);
    struct sipreg_netaddr a;
    ASSERT_EQ(sipreg_server_local(f.srv, 1, &a), SIPREG_ENOENT);
    struct sipreg_server_stats st;
    ASSERT_EQ(sipreg_server_stats(f.srv, 2, &st), SIPREG_ENOENT);
    ASSERT_EQ(sipreg_server_stats(f.srv, 1, &st), 0);
    ASSERT_EQ(st.rx, 0);
    /* stopped before it started: run returns at once (once it has its store writer, which an
     * injected allocation failure may refuse) */
    sipreg_server_stop(f.srv);
    int run = sipreg_server_run(f.srv);
    sfx_destroy(&f);
    ASSERT(run == 0 || (test_oom_active && run == SIPREG_ENOMEM));
    return 0;
}

TEST(server_register_and_stop_from_another_thread)
{
    if (test_oom_active)
        return 0; /* threads and injected OOM do not mix; server_create_destroy covers it */
    struct sfx f = {0};
    ASSERT_EQ(sfx_create(&f, 1, 0, true, false), 0);
    ASSERT_EQ(sfx_start(&f), 0);
    int fd = client_socket(1, NULL);
    ASSERT(fd >= 0);
    int status = register_once(fd, &f.bound, "alice");
    close(fd);
    struct sipreg_server_stats st;
    int werr = wait_rx(&f, 1, &st);
    sfx_destroy(&f); /* stops it from this thread while another runs it */
    ASSERT_EQ(status, 200);
    ASSERT_EQ(werr, 0);
    ASSERT_EQ(st.rx, 1);
    ASSERT_EQ(st.tx, 1);
    ASSERT_EQ(st.dropped, 0);
    return 0;
}

TEST(server_challenges_without_credentials)
{
    if (test_oom_active)
        return 0;
    struct sfx f = {0};
    ASSERT_EQ(sfx_create(&f, 2, 0, false, false), 0);
    ASSERT_EQ(sfx_start(&f), 0);
    int fd = client_socket(1, NULL);
    ASSERT(fd >= 0);
    int status = register_once(fd, &f.bound, "alice");
    close(fd);
    sfx_destroy(&f);
    ASSERT_EQ(status, 401);
    return 0;
}

TEST(server_busy_port_names_the_address)
{
    if (test_oom_active)
        return 0;
    struct sfx a = {0}, b = {0};
    ASSERT_EQ(sfx_create(&a, 1, 0, true, false), 0);
    int err = sfx_create(&b, 1, a.bound.port, true, false);
    char want[64];
    snprintf(want, sizeof want, "cannot listen on udp:127.0.0.1:%u: ", (unsigned)a.bound.port);
    sfx_destroy(&b);
    sfx_destroy(&a);
    ASSERT_EQ(err, SIPREG_EIO);
    ASSERT(b.srv == NULL);
    ASSERT_EQ(b.logs, 1);
    ASSERT(strncmp(b.last_log, want, strlen(want)) == 0);
    return 0;
}

#define SOURCES 16
#define PORTS   16

/* Registers from PORTS ports of each of SOURCES loopback addresses, one address at a time, and
 * counts how many workers each address reached (worker counters before and after). */
static int spread_by_source(struct sfx *f, unsigned workers, int reached[SOURCES],
                            int *workers_used)
{
    uint64_t seen[SIPREG_SERVER_WORKERS_MAX] = {0};
    uint64_t total = 0;
    bool used[SIPREG_SERVER_WORKERS_MAX] = {0};
    for (int s = 0; s < SOURCES; s++) {
        for (int p = 0; p < PORTS; p++) {
            int fd = client_socket(10 + s, NULL);
            if (fd < 0)
                return SIPREG_EIO;
            char user[32];
            snprintf(user, sizeof user, "u%d-%d", s, p);
            int status = register_once(fd, &f->bound, user);
            close(fd);
            if (status != 200)
                return SIPREG_EIO;
        }
        total += PORTS;
        struct sipreg_server_stats st;
        if (wait_rx(f, total, &st) != 0)
            return SIPREG_ETIMEDOUT;
        reached[s] = 0;
        for (unsigned k = 0; k < workers; k++) {
            sipreg_server_stats(f->srv, (int)k, &st);
            if (st.rx != seen[k]) {
                reached[s]++;
                used[k] = true;
            }
            seen[k] = st.rx;
        }
    }
    *workers_used = 0;
    for (unsigned k = 0; k < workers; k++)
        *workers_used += used[k];
    return 0;
}

TEST(server_steers_each_source_to_one_worker)
{
    if (test_oom_active)
        return 0;
    struct sfx f = {0};
    ASSERT_EQ(sfx_create(&f, 4, 0, true, false), 0);
    if (!sipreg_server_steering(f.srv)) {
        fprintf(stderr, "server_steers_each_source_to_one_worker: no reuseport BPF here (%s)\n",
                f.last_log);
        sfx_destroy(&f);
        return 0;
    }
    ASSERT_EQ(sfx_start(&f), 0);
    int reached[SOURCES], used = 0;
    int err = spread_by_source(&f, 4, reached, &used);
    sfx_destroy(&f);
    ASSERT_EQ(err, 0);
    /* every address, whatever its ports, reached exactly one worker... */
    for (int s = 0; s < SOURCES; s++)
        ASSERT_EQ(reached[s], 1);
    /* ...and the addresses are spread over the workers (all on one: 4^-15) */
    ASSERT(used > 1);
    return 0;
}

TEST(server_without_steering_spreads_one_source)
{
    if (test_oom_active)
        return 0;
    /* the control: the kernel's hash of address and port spreads one address's ports */
    struct sfx f = {0};
    ASSERT_EQ(sfx_create(&f, 4, 0, true, true), 0);
    ASSERT_EQ(sipreg_server_steering(f.srv), 0);
    ASSERT_EQ(sfx_start(&f), 0);
    int reached[SOURCES], used = 0;
    int err = spread_by_source(&f, 4, reached, &used);
    sfx_destroy(&f);
    ASSERT_EQ(err, 0);
    int spread = 0;
    for (int s = 0; s < SOURCES; s++)
        spread += reached[s] > 1;
    ASSERT(spread > 0);
    return 0;
}

/* Sends a REGISTER over IPv6 from a new socket on ::1 to `srv`; the answer's status, or -1. The
 * reply must come from the address the request was sent to. */
static int register_v6(const struct sipreg_netaddr *srv)
{
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in6 me = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t sl = sizeof me;
    if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0 ||
        getsockname(fd, (struct sockaddr *)&me, &sl) != 0) {
        close(fd);
        return -1;
    }
    unsigned port = ntohs(me.sin6_port);
    char msg[1024];
    int n = snprintf(msg, sizeof msg,
                     "REGISTER sip:example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP [::1]:%u;branch=z9hG4bK-v6-%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:six@example.com>;tag=f%u\r\n"
                     "To: <sip:six@example.com>\r\n"
                     "Call-ID: cid-v6-%u\r\n"
                     "CSeq: 1 REGISTER\r\n"
                     "Contact: <sip:six@[::1]:%u>\r\n"
                     "Content-Length: 0\r\n\r\n",
                     port, port, port, port, port);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(srv->port)};
    memcpy(&to.sin6_addr, srv->ip, 16);
    int status = -1;
    struct pollfd p = {fd, POLLIN, 0};
    char buf[4096];
    struct sockaddr_in6 from;
    socklen_t fl = sizeof from;
    ssize_t got;
    if (sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&to, sizeof to) == n &&
        poll(&p, 1, 2000) == 1 &&
        (got = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl)) >= 12 &&
        from.sin6_port == to.sin6_port && memcmp(&from.sin6_addr, &to.sin6_addr, 16) == 0) {
        buf[got] = 0;
        status = atoi(buf + 8);
    }
    close(fd);
    return status;
}

TEST(server_ipv4_and_ipv6_steered_and_answered_from_their_socket)
{
    if (test_oom_active)
        return 0;
    struct sipreg_store *store = NULL;
    ASSERT_EQ(sipreg_store_open_memory(&store, NULL), 0);
    ASSERT_EQ(sipreg_store_open_locked(&store, store), 0);
    struct sipreg_netaddr listen[2];
    sipreg_netaddr_parse(&listen[0], "127.0.0.1:0", 0);
    sipreg_netaddr_parse(&listen[1], "[::1]:0", 0);
    static const char *const domains[] = {"example.com"};
    struct sfx f = {0};
    struct sipreg_server_cfg cfg = {
        .registrar = {.domains = domains, .ndomains = 1, .store = store, .no_auth = true},
        .listen = listen,
        .nlisten = 2,
        .workers = 2,
        .on_log = on_log,
        .log_ud = &f,
    };
    int err = sipreg_server_create(&f.srv, &cfg);
    if (err == SIPREG_EIO) { /* no IPv6 loopback here */
        fprintf(stderr, "server_ipv4_and_ipv6...: skipped (%s)\n", f.last_log);
        sipreg_store_close(store);
        return 0;
    }
    ASSERT_EQ(err, 0);
    /* the IPv6 program (the /64 in two words) is accepted as well as the IPv4 one */
    int steering = sipreg_server_steering(f.srv);
    struct sipreg_netaddr v4, v6;
    sipreg_server_local(f.srv, 0, &v4);
    sipreg_server_local(f.srv, 1, &v6);
    int s4 = -1, s6 = -1;
    if (sfx_start(&f) == 0) {
        int fd = client_socket(1, NULL);
        s4 = fd >= 0 ? register_once(fd, &v4, "four") : -1;
        if (fd >= 0)
            close(fd);
        s6 = register_v6(&v6);
    }
    f.store = store;
    sfx_destroy(&f);
    if (!steering) /* as in server_steers_each_source_to_one_worker */
        fprintf(stderr, "server_ipv4_and_ipv6...: no reuseport BPF here (%s)\n", f.last_log);
    ASSERT_EQ(s4, 200);
    ASSERT_EQ(s6, 200);
    return 0;
}

static int64_t cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* An idle server sleeps: its workers and its writer wait for something to do (a timer that is
 * always due would spin them). */
TEST(server_idle_sleeps)
{
    if (test_oom_active)
        return 0;
    struct sfx f = {0};
    ASSERT_EQ(sfx_create(&f, 2, 0, true, false), 0);
    ASSERT_EQ(sfx_start(&f), 0);
    int fd = client_socket(1, NULL);
    int status = fd >= 0 ? register_once(fd, &f.bound, "alice") : -1;
    if (fd >= 0)
        close(fd);
    int64_t c0 = cpu_ms();
    nanosleep(&(struct timespec){0, 500000000}, NULL);
    int64_t used = cpu_ms() - c0;
    sfx_destroy(&f);
    ASSERT_EQ(status, 200);
    if (used > 250) /* a spinning thread takes all of the 500 ms */
        TEST_FAIL_("%lld ms of CPU in 500 ms idle", (long long)used);
    return 0;
}
