/* libFuzzer target: sipreg_auth_parse (Digest challenges and credentials, RFC 7616 §3.3-3.4,
 * RFC 8760, RFC 3261 §25.1) on the whole input as a header value. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char mem[16384];
    struct sipreg_str s = {(const char *)data, size};
    for (int small = 0; small < 2; small++) {
        struct sipreg_msg_limits lim = fuzz_limits(size, small);
        struct sipreg_arena a;
        sipreg_arena_init(&a, mem, small ? 32 + size % 512 : sizeof mem);
        struct sipreg_auth au;
        struct sipreg_perr why;
        int err = sipreg_auth_parse(&au, s, &lim, &a, &why);
        if (err != 0) {
            fuzz_perr_ok(err, &why, size);
            continue;
        }
        FUZZ_CHECK(au.scheme.p != NULL && au.scheme.len > 0);
        const struct sipreg_str *fields[] = {
            &au.scheme,    &au.realm,    &au.domain,  &au.nonce,    &au.opaque,   &au.stale,
            &au.algorithm, &au.qop,      &au.charset, &au.userhash, &au.username, &au.username_star,
            &au.uri,       &au.response, &au.cnonce,  &au.nc,
        };
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            fuzz_in(*fields[i], data, size);
        fuzz_params_in(&au.params, data, size, fuzz_max(lim.max_params, 32));
        if (au.stale_true)
            FUZZ_CHECK(au.stale.p && sipreg_str_caseeqz(au.stale, "true"));
        if (!au.nc.p)
            FUZZ_CHECK(au.nc_val == 0);
    }
    return 0;
}
