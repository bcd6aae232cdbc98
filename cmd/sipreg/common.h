/* Helpers shared by the sipreg subcommands: store opening, option values, messages. */
#ifndef SIPREG_CMD_COMMON_H
#define SIPREG_CMD_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "sipreg/sipreg.h"
#include "sipreg/store.h"

/* The database path used when --db is not given: $SIPREG_DB, else "sipreg.db" in the current
 * directory. `serve`, `user` and `bindings` all default to the same file. */
const char *cmd_default_db(void);

/* Opens the store: SQLite at `db` (its directory is created when missing), or memory. Prints a
 * clear error naming the path and returns non-zero on failure. */
int cmd_open_store(struct sipreg_store **out, const char *db, bool memory);

/* Warns on stderr about each of `db`, `db`-wal and `db`-shm that exists with permission bits for
 * group or others: they hold password hashes (HA1s), which answer digest challenges as well as
 * the passwords would. Names each file and the chmod that fixes it. Returns how many files it
 * warned about. Call it after opening the SQLite store (the store creates new files 0600, and
 * SQLite gives -wal and -shm the database file's mode). */
int cmd_check_db_mode(const char *db);

/* Parses a whole decimal number in [min, max] for option `flag`; prints an error naming the flag
 * and returns non-zero when it is not one. */
int cmd_parse_uint(const char *flag, const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* The command-line parser of every subcommand: getopt_long with long options only, so that
 * "--flag value" and "--flag=value" work alike everywhere. Returns the next option's `val`, 1
 * for a positional word (in order, also after "--"), 'h' for -h, -1 at the end, or '?' after a
 * usage error it has printed
 * ("sipreg CMD: --flag needs a value", "... unknown flag '--x'", "... --flag takes no value").
 * OUT: *val (the option's value or the positional word; NULL for a flag without value) and
 * *flag ("--name", for messages). Start each command line with *pos = 0. */
struct option;
int cmd_getopt(const char *cmd, int argc, char **argv, const struct option *opts, int *pos,
               const char **val, const char **flag);

/* Wall-clock time in ms and monotonic time in ms. */
int64_t cmd_wall_ms(void);
int64_t cmd_mono_ms(void);

#endif
