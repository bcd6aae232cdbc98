/* Internals shared by the transaction sources and their tests. */
#ifndef SIPREG_TXN_INT_H
#define SIPREG_TXN_INT_H

#include "core/core_int.h"
#include "sipreg/txn.h"

/* SipHash-2-4 (Aumasson & Bernstein) of data under a 16-byte key. */

/* Checks a timer value from a cfg: 0 takes `def`; negative or above SIPREG_TXN_TIMER_MAX is
 * SIPREG_EINVAL. */
int sipreg__txn_timer(sipreg_time v, sipreg_time def, sipreg_time *out);

#endif
