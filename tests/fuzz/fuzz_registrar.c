/* libFuzzer target: the whole registrar (RFC 3261 §10.3) on arbitrary datagrams: parse, server
 * transaction, digest authentication, store changes and replies, with a memory store. The
 * first byte picks the source address, so the brute-force limiter and transactions see several
 * peers; time advances with every input so that timers and nonce expiry run too. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sipreg/registrar.h"

static struct sipreg_store *store;
static struct sipreg_registrar *reg;
static struct sipreg_auth_secret secret;
static sipreg_time now = 1000;
static int64_t wall = 1764000000000LL;

static void setup(void)
{
    static const char *const domains[] = {"example.com", "127.0.0.1"};
    static const uint8_t key[SIPREG_AUTH_SECRET_LEN] = {1, 2, 3};
    struct sipreg_netaddr local;
    if (sipreg_store_open_memory(&store, NULL) != 0 ||
        sipreg_auth_secret_init(&secret, key, sizeof key) != 0)
        abort();
    char ha1[SIPREG_AUTH_HEX_MAX], ha2[SIPREG_AUTH_HEX_MAX];
    sipreg_auth_ha1(SIPREG_AUTH_MD5, SIPREG_STR_LIT("alice"), SIPREG_STR_LIT("example.com"),
                    SIPREG_STR_LIT("secret"), ha1);
    sipreg_auth_ha1(SIPREG_AUTH_SHA256, SIPREG_STR_LIT("alice"), SIPREG_STR_LIT("example.com"),
                    SIPREG_STR_LIT("secret"), ha2);
    struct sipreg_user u = {SIPREG_STR_LIT("alice"),
                            SIPREG_STR_LIT("example.com"),
                            sipreg_str_z(ha1),
                            sipreg_str_z(ha2),
                            SIPREG_STR_NULL,
                            true,
                            0,
                            SIPREG_STR_NULL};
    if (sipreg_store_user_put(store, &u) != 0 || sipreg_store_commit(store) != 0)
        abort();
    sipreg_netaddr_parse(&local, "127.0.0.1:5060", 5060);
    struct sipreg_registrar_cfg cfg = {
        .domains = domains,
        .ndomains = 2,
        .local = &local,
        .nlocal = 1,
        .store = store,
        .secret = &secret,
        .fail_limit_source = 5,
        .fail_limit_user = 5,
        .txn_capacity = 64, /* small, so that the table fills and evicts */
    };
    if (sipreg_registrar_create(&reg, &cfg) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!reg)
        setup();
    struct sipreg_netaddr src;
    char a[32];
    unsigned pick = size ? data[0] : 0;
    snprintf(a, sizeof a, "%s192.0.2.%u:%u", (pick & 0x80) ? "tcp:" : "", pick & 7,
             5060 + (pick >> 3 & 3));
    sipreg_netaddr_parse(&src, a, 5060);
    struct sipreg_netaddr local;
    sipreg_netaddr_parse(&local, "127.0.0.1:5060", 5060);
    const char *msg = size ? (const char *)data + 1 : (const char *)data;
    size_t len = size ? size - 1 : 0;
    int err = sipreg_registrar_receive(reg, msg, len, &src, &local, now, wall);
    FUZZ_CHECK(err == 0);
    FUZZ_CHECK(sipreg_registrar_flush(reg, now) == 0);
    /* was the request itself well-formed? a 400 to a malformed request echoes its headers */
    struct sipreg_msg req;
    char rmem[16384];
    struct sipreg_arena ra;
    sipreg_arena_init(&ra, rmem, sizeof rmem);
    int req_ok = sipreg_msg_parse(&req, msg, len,
                                  src.transport == SIPREG_TRANSPORT_UDP ? SIPREG_MSG_DATAGRAM
                                                                        : SIPREG_MSG_STREAM,
                                  NULL, &ra, NULL) == 0;
    static char out[65536];
    size_t n;
    struct sipreg_netaddr to;
    while (sipreg_registrar_pull(reg, out, sizeof out, &n, &to, NULL) == 0) {
        FUZZ_CHECK(n > 12 && memcmp(out, "SIP/2.0 ", 8) == 0 && out[8] >= '2' && out[8] <= '5');
        if (!req_ok)
            continue;
        /* a reply to a well-formed request is a well-formed response */
        struct sipreg_msg m;
        char mem[16384];
        struct sipreg_arena ar;
        sipreg_arena_init(&ar, mem, sizeof mem);
        FUZZ_CHECK(sipreg_msg_parse(&m, out, n, SIPREG_MSG_DATAGRAM, NULL, &ar, NULL) == 0);
        FUZZ_CHECK(!m.is_request && m.status >= 200);
    }
    now += 700;
    wall += 700;
    FUZZ_CHECK(sipreg_registrar_timeout(reg, now, wall) == 0);
    return 0;
}
