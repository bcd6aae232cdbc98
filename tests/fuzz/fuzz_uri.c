/* libFuzzer target: sipreg_uri_parse on the whole input (RFC 3261 §19.1, RFC 3966). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char mem[16384];
    struct sipreg_str s = {(const char *)data, size};
    for (int small = 0; small < 2; small++) {
        struct sipreg_msg_limits lim = fuzz_limits(size, small);
        struct sipreg_arena a;
        sipreg_arena_init(&a, mem, small ? 32 + size % 512 : sizeof mem);
        struct sipreg_uri u;
        struct sipreg_perr why;
        int err = sipreg_uri_parse(&u, s, &lim, &a, &why);
        if (err != 0) {
            fuzz_perr_ok(err, &why, size);
            continue;
        }
        FUZZ_CHECK(size <= fuzz_max(lim.max_uri, 2048));
        fuzz_uri_in(&u, data, size, fuzz_max(lim.max_params, 32));
        FUZZ_CHECK(u.scheme_s.p != NULL);
        if (u.scheme == SIPREG_URI_SIP || u.scheme == SIPREG_URI_SIPS)
            FUZZ_CHECK(u.host.p != NULL && u.host.len > 0);
        if (u.scheme == SIPREG_URI_OTHER)
            FUZZ_CHECK(u.opaque.p != NULL);
    }
    return 0;
}
