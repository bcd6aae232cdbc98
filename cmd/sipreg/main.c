/* sipreg: one program, one subcommand per task. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct subcommand subcommands[] = {
    {"serve", cmd_serve, "run the registrar"},
    {"user", cmd_user, "manage credentials: add, del, list, import"},
    {"bindings", cmd_bindings, "list current bindings"},
    {"register", cmd_register, "register an account and keep it registered"},
    {"bench", cmd_bench, "load generators: bench register (the challenge flow, many users)"},
    {"parse", cmd_parse, "parse SIP messages from files and print their fields"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: sipreg <command> [options]\n       sipreg --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("sipreg %s\n", SIPREG_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sipreg: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
