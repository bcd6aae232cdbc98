/* Shared helpers of the libFuzzer targets: the entry point's prototype and invariant checks. */
#ifndef SIPREG_FUZZ_H
#define SIPREG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sipreg/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the library's contract does not hold: report where, then crash so that the
 * fuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* A non-empty slice must lie inside the input (slices are never copies). */
static inline void fuzz_in(struct sipreg_str s, const void *base, size_t size)
{
    if (s.p && s.len) {
        const char *b = base;
        FUZZ_CHECK(s.p >= b && s.len <= size && s.p - b <= (ptrdiff_t)(size - s.len));
    }
}

static inline void fuzz_params_in(const struct sipreg_params *ps, const void *base, size_t size,
                                  size_t max)
{
    FUZZ_CHECK(ps->n <= max);
    FUZZ_CHECK(ps->n == 0 || ps->v != NULL);
    for (size_t i = 0; i < ps->n; i++) {
        FUZZ_CHECK(ps->v[i].name.p != NULL);
        fuzz_in(ps->v[i].name, base, size);
        fuzz_in(ps->v[i].value, base, size);
    }
}

static inline void fuzz_uri_in(const struct sipreg_uri *u, const void *base, size_t size,
                               size_t max_params)
{
    fuzz_in(u->raw, base, size);
    fuzz_in(u->scheme_s, base, size);
    fuzz_in(u->user, base, size);
    fuzz_in(u->password, base, size);
    fuzz_in(u->host, base, size);
    fuzz_in(u->opaque, base, size);
    fuzz_params_in(&u->params, base, size, max_params);
    fuzz_params_in(&u->headers, base, size, max_params);
    FUZZ_CHECK(u->scheme >= SIPREG_URI_OTHER && u->scheme <= SIPREG_URI_TEL);
}

static inline void fuzz_addr_in(const struct sipreg_addr *ad, const void *base, size_t size,
                                size_t max_params)
{
    fuzz_in(ad->display, base, size);
    fuzz_in(ad->raw, base, size);
    fuzz_in(ad->tag, base, size);
    fuzz_uri_in(&ad->uri, base, size, max_params);
    fuzz_params_in(&ad->params, base, size, max_params);
}

/* A rejection carries a real code that maps to an error status and a phrase. */
static inline void fuzz_perr_ok(int err, const struct sipreg_perr *why, size_t size)
{
    FUZZ_CHECK(err == SIPREG_EPARSE || err == SIPREG_ENOMEM || err == SIPREG_EAGAIN);
    if (err == SIPREG_EPARSE) {
        FUZZ_CHECK(why->code > SIPREG_PERR_NONE && why->code < SIPREG_PERR__COUNT);
        FUZZ_CHECK(why->offset <= size);
        int st = sipreg_perr_status(why->code);
        FUZZ_CHECK(st >= 400 && st <= 599);
        FUZZ_CHECK(sipreg_perr_reason(why->code) != NULL);
    }
}

/* The limits the header targets run under: the defaults (all zero), or small ones that the
 * input's length selects, so the limit paths are reached too. */
static inline struct sipreg_msg_limits fuzz_limits(size_t size, int small)
{
    struct sipreg_msg_limits lim = {0};
    if (small) {
        lim.max_params = 1 + size % 4;
        lim.max_list = 1 + size % 3;
        lim.max_uri = 16 + size % 64;
        lim.max_line = 64 + size % 256;
    }
    return lim;
}

static inline size_t fuzz_max(size_t v, size_t dflt)
{
    return v ? v : dflt;
}

#endif
