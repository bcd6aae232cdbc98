/* The sipreg program's subcommands. */
#ifndef SIPREG_CMD_H
#define SIPREG_CMD_H

int cmd_parse(int argc, char **argv);

#endif
