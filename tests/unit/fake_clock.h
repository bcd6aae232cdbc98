/* A fake monotonic clock for time-driven unit tests: time only moves when the test says so. */
#ifndef SIPREG_FAKE_CLOCK_H
#define SIPREG_FAKE_CLOCK_H

#include "sipreg/core.h"

struct fake_clock {
    sipreg_time now;
};

static inline sipreg_time fake_clock_advance(struct fake_clock *c, sipreg_time ms)
{
    c->now += ms;
    return c->now;
}

#endif
