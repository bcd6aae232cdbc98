/* Error codes: names and texts from the one SIPREG_ERRNO_MAP list. */
#include "sipreg/core.h"

const char *sipreg_strerror(int err)
{
    switch (err) {
    case 0: return "success";
#define XX(name, val, text) \
    case (val): return text;
        SIPREG_ERRNO_MAP(XX)
#undef XX
    default: return "unknown error";
    }
}

const char *sipreg_errname(int err)
{
    switch (err) {
    case 0: return "SIPREG_OK";
#define XX(name, val, text) \
    case (val): return "SIPREG_" #name;
        SIPREG_ERRNO_MAP(XX)
#undef XX
    default: return "SIPREG_UNKNOWN";
    }
}
