/* libFuzzer target: sipreg_contact_parse (RFC 3261 §20.10, §10.3; RFC 5626 params) on the whole
 * input as a Contact header value. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char mem[16384];
    struct sipreg_str s = {(const char *)data, size};
    for (int small = 0; small < 2; small++) {
        struct sipreg_msg_limits lim = fuzz_limits(size, small);
        struct sipreg_arena a;
        sipreg_arena_init(&a, mem, small ? 32 + size % 512 : sizeof mem);
        struct sipreg_contact *ct = NULL;
        struct sipreg_perr why;
        int err = sipreg_contact_parse(&ct, s, &lim, &a, &why);
        if (err != 0) {
            fuzz_perr_ok(err, &why, size);
            continue;
        }
        size_t n = 0;
        for (; ct; ct = ct->next) {
            n++;
            FUZZ_CHECK(ct->q >= -1 && ct->q <= 1000);
            FUZZ_CHECK(ct->expires >= -1 && ct->expires <= 4294967295LL);
            FUZZ_CHECK(ct->reg_id >= -1);
            fuzz_in(ct->instance, data, size);
            /* `*` mixed with other values is accepted here; the registrar rejects it (RFC 3261
             * §10.3 step 6), as it must across several Contact fields anyway */
            if (!ct->star)
                fuzz_addr_in(&ct->addr, data, size, fuzz_max(lim.max_params, 32));
        }
        FUZZ_CHECK(n <= fuzz_max(lim.max_list, 32));
    }
    return 0;
}
