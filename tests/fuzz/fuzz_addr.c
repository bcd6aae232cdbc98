/* libFuzzer target: sipreg_addr_parse (name-addr / addr-spec with params, RFC 3261 §20.10, §25.1)
 * on the whole input as a header value. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char mem[16384];
    struct sipreg_str s = {(const char *)data, size};
    for (int small = 0; small < 2; small++) {
        struct sipreg_msg_limits lim = fuzz_limits(size, small);
        struct sipreg_arena a;
        sipreg_arena_init(&a, mem, small ? 32 + size % 512 : sizeof mem);
        struct sipreg_addr ad;
        struct sipreg_perr why;
        int err = sipreg_addr_parse(&ad, s, &lim, &a, &why);
        if (err != 0) {
            fuzz_perr_ok(err, &why, size);
            continue;
        }
        fuzz_addr_in(&ad, data, size, fuzz_max(lim.max_params, 32));
        if (ad.tag.p) {
            const struct sipreg_param *t = sipreg_params_find(&ad.params, "tag");
            FUZZ_CHECK(t != NULL);
        }
    }
    return 0;
}
