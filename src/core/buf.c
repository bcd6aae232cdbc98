/* Bounded output buffer: appends never overrun, overflow is sticky and reported once. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sipreg/core.h"

void sipreg_buf_init(struct sipreg_buf *b, char *mem, size_t cap)
{
    b->p = mem;
    b->cap = mem ? cap : 0;
    b->len = 0;
    b->overflow = false;
}

void sipreg_buf_add(struct sipreg_buf *b, const void *p, size_t n)
{
    if (b->overflow)
        return;
    if (n > b->cap - b->len) {
        b->overflow = true;
        return;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

void sipreg_buf_addc(struct sipreg_buf *b, char c)
{
    sipreg_buf_add(b, &c, 1);
}

void sipreg_buf_adds(struct sipreg_buf *b, struct sipreg_str s)
{
    sipreg_buf_add(b, s.p, s.len);
}

void sipreg_buf_addz(struct sipreg_buf *b, const char *z)
{
    sipreg_buf_add(b, z, strlen(z));
}

void sipreg_buf_addu(struct sipreg_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sipreg_buf_add(b, tmp + i, sizeof tmp - i);
}

void sipreg_buf_addi(struct sipreg_buf *b, int64_t v)
{
    if (v < 0) {
        sipreg_buf_addc(b, '-');
        sipreg_buf_addu(b, (uint64_t)0 - (uint64_t)v);
    } else {
        sipreg_buf_addu(b, (uint64_t)v);
    }
}

void sipreg_buf_printf(struct sipreg_buf *b, const char *fmt, ...)
{
    if (b->overflow)
        return;
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        b->overflow = true;
        return;
    }
    b->len += (size_t)n;
}

int sipreg_buf_status(const struct sipreg_buf *b)
{
    return b->overflow ? SIPREG_ENOSPC : 0;
}
