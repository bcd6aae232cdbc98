/* Library-internal helpers of the core, shared by every area. */
#ifndef SIPREG_CORE_INT_H
#define SIPREG_CORE_INT_H

#include "sipreg/core.h"

/* SipHash-2-4 of `len` bytes under a 16-byte key. */
uint64_t sipreg__siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
