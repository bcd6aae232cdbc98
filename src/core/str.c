/* String slice helpers: comparisons and bounded integer parsing. */
#include <string.h>

#include "core/core_int.h"

struct sipreg_str sipreg_str_z(const char *z)
{
    return (struct sipreg_str){z, z ? strlen(z) : 0};
}

int sipreg_str_eq(struct sipreg_str a, struct sipreg_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

int sipreg_str_caseeq(struct sipreg_str a, struct sipreg_str b)
{
    if (a.len != b.len)
        return 0;
    for (size_t i = 0; i < a.len; i++)
        if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
            return 0;
    return 1;
}

int sipreg_str_caseeqz(struct sipreg_str a, const char *z)
{
    return sipreg_str_caseeq(a, sipreg_str_z(z));
}

int sipreg_str_to_u64(struct sipreg_str s, uint64_t max, uint64_t *out)
{
    return sipreg__dec_u64(s, max, out);
}
