/* Tests for src/msg/names.c: the hash slots that fast_line() in parse.c confirms names with. */
#include <string.h>

#include "msg/msg_int.h"
#include "msg_test.h"

/* The slot fast_line() computes for a name of n bytes (1 to 15). */
static unsigned slot_of(const char *name, size_t n)
{
    uint32_t w = 0;
    for (size_t k = 0; k < n && k < 4; k++)
        w |= (uint32_t)((unsigned char)name[k] | 0x20) << (8 * k);
    return hdr_hash(w, n);
}

/* The slot holds `id` alone, with the name's lower case and a colon as its vector. */
static int owns_slot(const char *name, size_t n, enum sipreg_hdr_id id)
{
    unsigned h = slot_of(name, n);
    if (sipreg__hdr_hash[h] != id)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (sipreg__hdr_vec[h][k] != sipreg__lower[(unsigned char)name[k]])
            return 0;
    return sipreg__hdr_vec[h][n] == ':';
}

/* A shared slot is correct but slow (every line with such a name takes the exact lookup): a new
 * header name that collides with another must make this fail, so that the hash is changed. */
TEST(msg_hdr_hash_every_name_owns_its_slot)
{
    int names = 0, compact = 0;
    for (int id = SIPREG_HDR_OTHER + 1; id < SIPREG_HDR__COUNT; id++) {
        const char *name = sipreg_hdr_name((enum sipreg_hdr_id)id);
        ASSERT(name != NULL);
        size_t n = strlen(name);
        if (n > 15)
            continue;
        if (!owns_slot(name, n, (enum sipreg_hdr_id)id))
            TEST_FAIL_("%s does not own its hash slot %u", name, slot_of(name, n));
        names++;
    }
    for (char c = 'a'; c <= 'z'; c++) {
        enum sipreg_hdr_id id = sipreg_hdr_id((struct sipreg_str){&c, 1});
        if (id == SIPREG_HDR_OTHER)
            continue;
        if (!owns_slot(&c, 1, id))
            TEST_FAIL_("compact form %c does not own its hash slot %u", c, slot_of(&c, 1));
        compact++;
    }
    ASSERT(names >= 30);
    ASSERT(compact >= 15);
    return 0;
}

/* The shared-slot branch (names that collide take hdr_lookup) gives the same index: forced here
 * by marking the slots of Via, CSeq and the compact f shared, as add_slot() would. */
TEST(msg_hdr_hash_shared_slot_takes_exact_lookup)
{
    static const char *const names[] = {"Via", "CSeq", "f"};
    unsigned slots[3];
    unsigned char ids[3], vecs[3][16];
    for (int i = 0; i < 3; i++) {
        slots[i] = slot_of(names[i], strlen(names[i]));
        ids[i] = sipreg__hdr_hash[slots[i]];
        memcpy(vecs[i], sipreg__hdr_vec[slots[i]], 16);
        sipreg__hdr_hash[slots[i]] = HDR_HASH_SHARED;
        memset(sipreg__hdr_vec[slots[i]], 0, 16);
    }
    static const char msg[] = "OPTIONS sip:b@example.com SIP/2.0\r\n"
                              "via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                              "f: <sip:a@example.com>;tag=1\r\n"
                              "To: <sip:b@example.com>\r\n"
                              "Call-ID: c1\r\n"
                              "CSEQ: 7 OPTIONS\r\n"
                              "Vib: not via\r\n"
                              "Content-Length: 0\r\n\r\n";
    struct sipreg_msg m;
    struct sipreg_arena a;
    struct sipreg_perr why;
    char mem[2048];
    int err = parse_z(&m, msg, &a, mem, sizeof mem, &why);
    for (int i = 0; i < 3; i++) {
        sipreg__hdr_hash[slots[i]] = ids[i];
        memcpy(sipreg__hdr_vec[slots[i]], vecs[i], 16);
    }
    ASSERT_EQ(err, 0);
    ASSERT_EQ(m.nhdr, 7);
    ASSERT_EQ(m.hdr[0].id, SIPREG_HDR_VIA);
    ASSERT_EQ(m.hdr[1].id, SIPREG_HDR_FROM);
    ASSERT_EQ(m.hdr[4].id, SIPREG_HDR_CSEQ);
    ASSERT_EQ(m.hdr[5].id, SIPREG_HDR_OTHER);
    ASSERT_STR(m.hdr[5].value, "not via");
    ASSERT_EQ(m.cseq.num, 7);
    ASSERT_EQ(m.cseq.method_id, SIPREG_METHOD_OPTIONS);
    return 0;
}
