/* The sipreg program's subcommands. Each takes argv with argv[0] = its own name. */
#ifndef SIPREG_CMD_H
#define SIPREG_CMD_H

int cmd_parse(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_bindings(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
