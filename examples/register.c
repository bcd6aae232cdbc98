/* Register an account and keep it registered until Ctrl-C: the flow of LumiSoft's SIP_Stack,
 * CreateRegistration, StateChanged and BeginRegister(autoRefresh), in C. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <sipreg/client.h>

static volatile int stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void on_state(const struct sipreg_reg_event *ev, void *ud) /* StateChanged */
{
    (void)ud;
    printf("%s %d %.*s expires=%u\n", sipreg_reg_state_name(ev->state), ev->status,
           (int)ev->reason.len, ev->reason.p, (unsigned)ev->expires);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s REGISTRAR-URI AOR  (password in $SIP_PASSWORD)\n", argv[0]);
        return 2;
    }
    struct sipreg_client_io_cfg cfg = {.client = {.on_event = on_state}, .local = "0.0.0.0:0"};
    struct sipreg_client_io *io; /* the stack, bound to UDP on any address */
    if (sipreg_client_io_create(&io, &cfg) != 0)
        return 1;
    struct sipreg_reg_cfg rc = {.registrar = argv[1],
                                .aor = argv[2],
                                .expires = 300,
                                .password = getenv("SIP_PASSWORD")}; /* contact: automatic */
    struct sipreg_reg *reg;
    if (sipreg_client_io_reg_add(io, &rc, &reg) != 0) {
        sipreg_client_io_destroy(io);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    sipreg_reg_begin(reg);               /* BeginRegister(autoRefresh: true) */
    sipreg_client_io_run(io, &stop);     /* until Ctrl-C */
    sipreg_client_io_shutdown(io, 5000); /* unregister, waiting at most 5 s */
    sipreg_client_io_destroy(io);
    return 0;
}
