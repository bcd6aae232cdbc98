/* Unit tests: SipHash-2-4 against the reference vectors of the paper. */
#include "core/core_int.h"
#include "test.h"

TEST(core_siphash_vectors)
{
    /* The reference vectors of the SipHash paper (key 00..0f, message 00..len-1). */
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    ASSERT(sipreg__siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ull);
    ASSERT(sipreg__siphash24(key, msg, 1) == 0x74f839c593dc67fdull);
    ASSERT(sipreg__siphash24(key, msg, 8) == 0x93f5f5799a932462ull);
    ASSERT(sipreg__siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
    ASSERT(sipreg__siphash24(key, msg, 63) == 0x958a324ceb064572ull);
    return 0;
}
