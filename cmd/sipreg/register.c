/* sipreg register: register an account with a registrar and keep it registered (RFC 3261 §10.2),
 * printing one line per state change. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "common.h"
#include "sipreg/client.h"

/* Exit codes (documented in the usage and in docs/sipreg-register.md). */
enum {
    EXIT_OK = 0,
    EXIT_OTHER = 1,   /* rejected (4xx-6xx other than auth), network or internal error */
    EXIT_USAGE = 2,   /* bad flags */
    EXIT_AUTH = 3,    /* authentication failed (wrong password, 403, no usable challenge) */
    EXIT_TIMEOUT = 4, /* no response from the registrar */
};

static volatile int stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sipreg register AOR --registrar URI [--user NAME]\n"
            "                       [--password-stdin | --password-file FILE] [--realm REALM]\n"
            "                       [--min-algorithm MD5|SHA-256|SHA-512-256] [--require-qop]\n"
            "                       [--expires S] [--contact auto|URI] [--transport udp|tcp]\n"
            "                       [--local ADDR:PORT] [--once] [--keepalive S]\n"
            "                       [--keepalive-kind crlf|options] [--nat none|rewrite]\n"
            "                       [--user-agent TEXT] [--t1 MS] [--retry-min S] [--retry-max S]\n"
            "                       [--auth-retry S] [--shutdown-wait S]\n"
            "Registers AOR (sip:user@domain) at the registrar and keeps it registered until\n"
            "SIGINT or SIGTERM, then unregisters. With --once: register, unregister, exit.\n"
            "Prints one line per state change: time, state, status, reason, granted expiry.\n"
            "Challenges answered: --realm: only that realm (exact, case-sensitive); default any.\n"
            "--min-algorithm: none weaker (default MD5: any); above MD5 it implies --require-qop.\n"
            "--require-qop: none without qop (RFC 2069). When none is left, no credentials are\n"
            "sent and the registration fails as an authentication failure (exit 3 with --once).\n"
            "Requests reaching the client (OPTIONS probes) are answered only from the registrar's\n"
            "current address and transport, at most %d per second; others are dropped.\n"
            "Exit codes: 0 ok, 1 rejected or other error, 2 usage, 3 authentication failed,\n"
            "4 no response from the registrar.\n",
            SIPREG_CLIENT_ANSWER_RATE);
}

struct run {
    struct sipreg_client_io *io;
    bool once;
    bool registered;   /* was registered at least once */
    int error;         /* the first error of --once */
    int64_t mono_base; /* to turn monotonic times into seconds from now */
    const struct sipreg_reg_cfg *rc;
};

/* When the last Error is a challenge refused by our own policy, says which flag refused it. */
static void explain_refusal(const struct sipreg_reg_event *ev, const struct sipreg_reg_cfg *rc)
{
    enum sipreg_auth_refusal r = SIPREG_AUTH_REFUSAL_REALM;
    for (; r < SIPREG_AUTH_REFUSAL__COUNT; r++)
        if (sipreg_str_eq(ev->reason, sipreg_str_z(sipreg_auth_refusal_text(r))))
            break;
    switch (r) {
    case SIPREG_AUTH_REFUSAL_REALM:
        fprintf(stderr,
                "sipreg register: challenge refused: its realm is not \"%s\" (--realm); no "
                "credentials were sent\n",
                rc->realm);
        break;
    case SIPREG_AUTH_REFUSAL_ALGORITHM:
        fprintf(stderr,
                "sipreg register: challenge refused: its algorithm is weaker than %s "
                "(--min-algorithm); no credentials were sent\n",
                sipreg_auth_alg_name(rc->min_alg));
        break;
    case SIPREG_AUTH_REFUSAL_QOP:
        fprintf(stderr, "sipreg register: challenge refused: it has no qop (RFC 2069; "
                        "--require-qop, or --min-algorithm above MD5); no credentials were sent\n");
        break;
    default: break;
    }
}

static void print_time(void)
{
    int64_t ms = cmd_wall_ms();
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    printf("%s.%03dZ", buf, (int)(ms % 1000));
}

static void on_event(const struct sipreg_reg_event *ev, void *ud)
{
    struct run *run = ud;
    print_time();
    printf(" %s", sipreg_reg_state_name(ev->state));
    /* the status of Registering/Unregistering would be the previous outcome's: left out */
    bool outcome = ev->state == SIPREG_REG_REGISTERED || ev->state == SIPREG_REG_ERROR ||
                   ev->state == SIPREG_REG_UNREGISTERED;
    if (outcome && ev->status)
        printf(" %d", ev->status);
    if (outcome && ev->reason.len)
        printf(" \"%.*s\"", (int)ev->reason.len, ev->reason.p);
    if (ev->state == SIPREG_REG_REGISTERED)
        printf(" expires=%u", (unsigned)ev->expires);
    if (ev->next >= 0) {
        int64_t in = ev->next - cmd_mono_ms();
        printf(" %s=%.1fs", ev->state == SIPREG_REG_ERROR ? "retry-in" : "refresh-in",
               (double)(in > 0 ? in : 0) / 1000.0);
    }
    if (ev->state == SIPREG_REG_REGISTERED && ev->contact.len)
        printf(" contact=<%.*s>", (int)ev->contact.len, ev->contact.p);
    if (ev->public_addr && ev->state == SIPREG_REG_REGISTERED) {
        char a[SIPREG_NETADDR_STRLEN];
        sipreg_netaddr_format(ev->public_addr, a, sizeof a);
        printf(" public=%s", a);
    }
    if (ev->error)
        printf(" (%s)", sipreg_strerror(ev->error));
    printf("\n");
    fflush(stdout);
    if (ev->state == SIPREG_REG_ERROR && ev->error == SIPREG_EAUTH)
        explain_refusal(ev, run->rc);
    if (ev->state == SIPREG_REG_REGISTERED)
        run->registered = true;
    if (!run->once)
        return;
    if (ev->state == SIPREG_REG_REGISTERED) {
        sipreg_reg_end(ev->reg);
    } else if (ev->state == SIPREG_REG_ERROR) {
        run->error = ev->error ? ev->error : SIPREG_EINVAL;
        sipreg_client_io_break(run->io);
    } else if (ev->state == SIPREG_REG_UNREGISTERED && ev->old_state != SIPREG_REG_UNREGISTERED) {
        sipreg_client_io_break(run->io);
    }
}

/* Reads the first line of f into buf (without the line end). */
static int read_line(FILE *f, char *buf, size_t cap, const char *what)
{
    if (!fgets(buf, (int)cap, f)) {
        fprintf(stderr, "sipreg register: %s: no password could be read\n", what);
        return 1;
    }
    size_t n = strcspn(buf, "\r\n");
    if (buf[n] == 0 && n == cap - 1) {
        fprintf(stderr, "sipreg register: %s: the password is too long\n", what);
        return 1;
    }
    buf[n] = 0;
    if (!n) {
        fprintf(stderr, "sipreg register: %s: the password is empty\n", what);
        return 1;
    }
    return 0;
}

static int parse_secs(const char *flag, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    return cmd_parse_uint(flag, v, min, max, out) ? 1 : 0;
}

int cmd_register(int argc, char **argv)
{
    struct sipreg_reg_cfg rc = {0};
    struct sipreg_client_io_cfg ic = {0};
    const char *password_file = NULL, *contact = NULL;
    bool password_stdin = false, once = false;
    uint64_t v, shutdown_wait = 5;
    char password[512] = "";
    static const struct option opts[] = {
        {"registrar", required_argument, NULL, 'v'},
        {"user", required_argument, NULL, 'v'},
        {"password-file", required_argument, NULL, 'v'},
        {"realm", required_argument, NULL, 'v'},
        {"min-algorithm", required_argument, NULL, 'v'},
        {"expires", required_argument, NULL, 'v'},
        {"contact", required_argument, NULL, 'v'},
        {"transport", required_argument, NULL, 'v'},
        {"local", required_argument, NULL, 'v'},
        {"keepalive", required_argument, NULL, 'v'},
        {"keepalive-kind", required_argument, NULL, 'v'},
        {"nat", required_argument, NULL, 'v'},
        {"user-agent", required_argument, NULL, 'v'},
        {"t1", required_argument, NULL, 'v'},
        {"retry-min", required_argument, NULL, 'v'},
        {"retry-max", required_argument, NULL, 'v'},
        {"auth-retry", required_argument, NULL, 'v'},
        {"shutdown-wait", required_argument, NULL, 'v'},
        {"once", no_argument, NULL, 'o'},
        {"password-stdin", no_argument, NULL, 's'},
        {"require-qop", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int pos = 0, o;
    const char *val, *a;
    while ((o = cmd_getopt("register", argc, argv, opts, &pos, &val, &a)) != -1) {
        switch (o) {
        case 'h': usage(stdout); return EXIT_OK;
        case 'o': once = true; continue;
        case 's': password_stdin = true; continue;
        case 'q': rc.require_qop = true; continue;
        case 1:
            if (rc.aor) {
                fprintf(stderr, "sipreg register: unexpected argument '%s'\n", val);
                return EXIT_USAGE;
            }
            rc.aor = val;
            continue;
        case 'v': break;
        default: usage(stderr); return EXIT_USAGE;
        }
        int bad = 0;
        if (!strcmp(a, "--registrar")) {
            rc.registrar = val;
        } else if (!strcmp(a, "--user")) {
            rc.user = val;
        } else if (!strcmp(a, "--password-file")) {
            password_file = val;
        } else if (!strcmp(a, "--realm")) {
            rc.realm = val;
        } else if (!strcmp(a, "--min-algorithm")) {
            enum sipreg_auth_alg alg;
            if (sipreg_auth_alg_parse(sipreg_str_z(val), &alg) != 0 ||
                sipreg_auth_alg_base(alg) != alg) {
                fprintf(stderr,
                        "sipreg register: --min-algorithm expects MD5, SHA-256 or SHA-512-256, "
                        "not '%s'\n",
                        val);
                bad = 1;
            }
            rc.min_alg = bad ? SIPREG_AUTH_MD5 : alg;
        } else if (!strcmp(a, "--expires")) {
            bad = parse_secs(a, val, 1, 4294967295u, &v);
            rc.expires = (uint32_t)v;
        } else if (!strcmp(a, "--contact")) {
            contact = val;
        } else if (!strcmp(a, "--transport")) {
            if (!strcmp(val, "udp"))
                rc.transport = SIPREG_TRANSPORT_UDP;
            else if (!strcmp(val, "tcp"))
                rc.transport = SIPREG_TRANSPORT_TCP;
            else {
                fprintf(stderr, "sipreg register: --transport expects udp or tcp, not '%s'\n", val);
                bad = 1;
            }
        } else if (!strcmp(a, "--local")) {
            ic.local = val;
        } else if (!strcmp(a, "--keepalive")) {
            bad = parse_secs(a, val, 0, 86400, &v);
            rc.keepalive = (uint32_t)v;
        } else if (!strcmp(a, "--keepalive-kind")) {
            if (!strcmp(val, "crlf"))
                rc.keepalive_kind = SIPREG_KEEPALIVE_CRLF;
            else if (!strcmp(val, "options"))
                rc.keepalive_kind = SIPREG_KEEPALIVE_OPTIONS;
            else {
                fprintf(stderr,
                        "sipreg register: --keepalive-kind expects crlf or options, not '%s'\n",
                        val);
                bad = 1;
            }
        } else if (!strcmp(a, "--nat")) {
            if (!strcmp(val, "none"))
                rc.nat = SIPREG_NAT_NONE;
            else if (!strcmp(val, "rewrite"))
                rc.nat = SIPREG_NAT_REWRITE;
            else {
                fprintf(stderr, "sipreg register: --nat expects none or rewrite, not '%s'\n", val);
                bad = 1;
            }
        } else if (!strcmp(a, "--user-agent")) {
            ic.client.user_agent = val;
        } else if (!strcmp(a, "--t1")) {
            bad = parse_secs(a, val, 10, 60000, &v);
            ic.client.t1 = (sipreg_time)v;
            if (!bad && ic.client.t1 > SIPREG_TXN_T2)
                ic.client.t2 = ic.client.t1;
        } else if (!strcmp(a, "--retry-min")) {
            bad = parse_secs(a, val, 1, 86400, &v);
            ic.client.retry_min = (sipreg_time)v * 1000;
        } else if (!strcmp(a, "--retry-max")) {
            bad = parse_secs(a, val, 1, 86400, &v);
            ic.client.retry_max = (sipreg_time)v * 1000;
        } else if (!strcmp(a, "--auth-retry")) {
            bad = parse_secs(a, val, 1, 86400, &v);
            ic.client.auth_retry = (sipreg_time)v * 1000;
        } else if (!strcmp(a, "--shutdown-wait")) {
            bad = parse_secs(a, val, 0, 3600, &shutdown_wait);
        }
        if (bad)
            return EXIT_USAGE;
    }
    if (!rc.aor) {
        fprintf(stderr, "sipreg register: the AOR (sip:user@domain) is missing\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!rc.registrar) {
        fprintf(stderr, "sipreg register: --registrar URI is missing\n");
        return EXIT_USAGE;
    }
    if (password_stdin && password_file) {
        fprintf(stderr, "sipreg register: give --password-stdin or --password-file, not both\n");
        return EXIT_USAGE;
    }
    if (password_stdin && read_line(stdin, password, sizeof password, "--password-stdin"))
        return EXIT_USAGE;
    if (password_file) {
        FILE *f = fopen(password_file, "r");
        if (!f) {
            fprintf(stderr, "sipreg register: --password-file %s: %s\n", password_file,
                    strerror(errno));
            return EXIT_USAGE;
        }
        int bad = read_line(f, password, sizeof password, "--password-file");
        fclose(f);
        if (bad)
            return EXIT_USAGE;
    }
    if (password[0])
        rc.password = password;
    if (contact && strcmp(contact, "auto") != 0)
        rc.contact = contact;
    rc.no_refresh = once;

    struct run run = {.once = once, .rc = &rc};
    ic.client.on_event = on_event;
    ic.client.ud = &run;
    struct sipreg_client_io *io;
    int err = sipreg_client_io_create(&io, &ic);
    if (err) {
        fprintf(stderr, "sipreg register: %s\n",
                err == SIPREG_EINVAL ? "bad --local (ADDR:PORT), --t1 or retry value"
                                     : sipreg_strerror(err));
        explicit_bzero(password, sizeof password);
        return err == SIPREG_EINVAL ? EXIT_USAGE : EXIT_OTHER;
    }
    run.io = io;
    struct sipreg_reg *reg;
    err = sipreg_client_io_reg_add(io, &rc, &reg);
    explicit_bzero(password, sizeof password); /* the library keeps its own copy */
    if (err) {
        const char *why = err == SIPREG_EINVAL   ? "bad AOR, --registrar, --contact, --user or "
                                                   "--realm"
                          : err == SIPREG_ENOENT ? "the registrar's host does not resolve (to "
                                                   "an address family --local allows)"
                                                 : sipreg_strerror(err);
        fprintf(stderr, "sipreg register: %s\n", why);
        sipreg_client_io_destroy(io);
        return err == SIPREG_EINVAL ? EXIT_USAGE : EXIT_OTHER;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    sipreg_reg_begin(reg);
    err = sipreg_client_io_run(io, &stop);
    int rc_exit = EXIT_OK;
    if (err) {
        fprintf(stderr, "sipreg register: %s\n", sipreg_strerror(err));
        rc_exit = EXIT_OTHER;
    }
    if (once && !stop) {
        if (!run.registered)
            rc_exit = run.error == SIPREG_EAUTH       ? EXIT_AUTH
                      : run.error == SIPREG_ETIMEDOUT ? EXIT_TIMEOUT
                                                      : EXIT_OTHER;
    } else if (once && !run.registered) {
        rc_exit = EXIT_OTHER; /* interrupted before it registered */
    }
    /* SIGINT/SIGTERM, or --once done: unregister whatever is still bound, for a bounded time */
    if (sipreg_client_io_shutdown(io, (int)shutdown_wait * 1000) != 0)
        fprintf(stderr, "sipreg register: the registrar did not confirm the unregistration "
                        "in time\n");
    sipreg_client_io_destroy(io);
    return rc_exit;
}
