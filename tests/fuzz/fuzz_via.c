/* libFuzzer target: sipreg_via_parse (RFC 3261 §20.42, RFC 3581) on the whole input as a Via
 * header value. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char mem[16384];
    struct sipreg_str s = {(const char *)data, size};
    for (int small = 0; small < 2; small++) {
        struct sipreg_msg_limits lim = fuzz_limits(size, small);
        struct sipreg_arena a;
        sipreg_arena_init(&a, mem, small ? 32 + size % 512 : sizeof mem);
        struct sipreg_via *v = NULL;
        struct sipreg_perr why;
        int err = sipreg_via_parse(&v, s, &lim, &a, &why);
        if (err != 0) {
            fuzz_perr_ok(err, &why, size);
            continue;
        }
        size_t n = 0;
        FUZZ_CHECK(v != NULL);
        for (; v; v = v->next) {
            n++;
            fuzz_in(v->raw, data, size);
            fuzz_in(v->proto_name, data, size);
            fuzz_in(v->proto_version, data, size);
            fuzz_in(v->transport, data, size);
            fuzz_in(v->host, data, size);
            fuzz_in(v->branch, data, size);
            fuzz_in(v->received, data, size);
            fuzz_in(v->maddr, data, size);
            FUZZ_CHECK(v->host.p != NULL && v->host.len > 0);
            FUZZ_CHECK(v->transport.p != NULL && v->transport.len > 0);
            FUZZ_CHECK(v->rport >= -1 && v->rport <= 65535);
            FUZZ_CHECK(v->ttl >= -1 && v->ttl <= 255);
            fuzz_params_in(&v->params, data, size, fuzz_max(lim.max_params, 32));
        }
        FUZZ_CHECK(n <= fuzz_max(lim.max_list, 32));
    }
    return 0;
}
