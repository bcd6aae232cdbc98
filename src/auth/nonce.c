/* Server secret and stateless HMAC nonces (RFC 7616 §3.3 and §5.4 nonce advice), dummy HA1s. */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/auth_int.h"

static EVP_MAC *hmac_cache;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
    hmac_cache = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

int sipreg__hmac_sha256(const uint8_t key[32], const struct sipreg__bytes *parts, size_t nparts,
                        uint8_t out[32])
{
    if (pthread_once(&hmac_once, hmac_fetch) != 0 || !hmac_cache)
        return SIPREG_ECRYPTO;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    int err = SIPREG_ECRYPTO;
    size_t n = 0;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_cache);
    if (!ctx || EVP_MAC_init(ctx, key, 32, params) != 1)
        goto out;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].n && EVP_MAC_update(ctx, parts[i].p, parts[i].n) != 1)
            goto out;
    if (EVP_MAC_final(ctx, out, &n, 32) != 1 || n != 32)
        goto out;
    err = 0;
out:
    EVP_MAC_CTX_free(ctx);
    return err;
}

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void sipreg__b64url_encode(char *out, const uint8_t *p, size_t n)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            *out++ = b64url_alphabet[(acc >> bits) & 63];
        }
    }
    if (bits)
        *out++ = b64url_alphabet[(acc << (6 - bits)) & 63];
    *out = '\0';
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int sipreg__b64url_decode(uint8_t *out, size_t n, struct sipreg_str s)
{
    if (!s.p || s.len != (n * 8 + 5) / 6)
        return SIPREG_EPARSE;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < s.len; i++) {
        int v = b64url_value((unsigned char)s.p[i]);
        if (v < 0)
            return SIPREG_EPARSE;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero, or two spellings would decode to the same nonce. */
    if (acc & ((1u << bits) - 1))
        return SIPREG_EPARSE;
    return 0;
}

static int derive(const uint8_t key[32], const char *label, uint8_t out[32])
{
    struct sipreg__bytes part = {label, strlen(label)};
    return sipreg__hmac_sha256(key, &part, 1, out);
}

int sipreg_auth_secret_init(struct sipreg_auth_secret *s, const void *key, size_t len)
{
    uint8_t op[32];
    memset(s, 0, sizeof *s);
    if (!key || len != SIPREG_AUTH_SECRET_LEN)
        return SIPREG_EINVAL;
    memcpy(s->key, key, len);
    /* One key per purpose, so no output of one use can stand in for another. */
    int err = derive(s->key, "sipreg nonce v1", s->k_nonce);
    if (!err)
        err = derive(s->key, "sipreg dummy-ha1 v1", s->k_dummy);
    if (!err)
        err = derive(s->key, "sipreg opaque v1", op);
    if (err) {
        sipreg_auth_secret_fini(s);
        return err;
    }
    sipreg__b64url_encode(s->opaque, op, 16);
    return 0;
}

int sipreg_auth_secret_init_random(struct sipreg_auth_secret *s)
{
    uint8_t key[SIPREG_AUTH_SECRET_LEN];
    if (RAND_bytes(key, sizeof key) != 1) {
        memset(s, 0, sizeof *s);
        return SIPREG_ECRYPTO;
    }
    int err = sipreg_auth_secret_init(s, key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
    return err;
}

void sipreg_auth_secret_fini(struct sipreg_auth_secret *s)
{
    OPENSSL_cleanse(s, sizeof *s);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* The nonce layout: issue time (8), epoch (4), random (8), then the first 16 bytes of the MAC. */
#define HEAD_LEN 20
#define RAW_LEN  (HEAD_LEN + 16)

/* MAC over the head, the realm and the binding, each length-prefixed so that no two (realm,
 * binding) pairs share an input. */
static int nonce_mac(const struct sipreg_auth_secret *s, const uint8_t head[HEAD_LEN],
                     struct sipreg_str realm, const struct sipreg_auth_nonce_scope *scope,
                     uint8_t mac[32])
{
    struct sipreg_str bind = scope ? scope->bind : SIPREG_STR_NULL;
    uint8_t lens[16];
    put_be64(lens, (uint64_t)realm.len);
    put_be64(lens + 8, (uint64_t)bind.len);
    struct sipreg__bytes parts[] = {
        {head, HEAD_LEN}, {lens, sizeof lens}, {realm.p, realm.len}, {bind.p, bind.len}};
    return sipreg__hmac_sha256(s->k_nonce, parts, 4, mac);
}

int sipreg_auth_nonce_build(const struct sipreg_auth_secret *s, struct sipreg_str realm,
                            const struct sipreg_auth_nonce_scope *scope, sipreg_time now,
                            char out[SIPREG_AUTH_NONCE_LEN + 1])
{
    uint8_t raw[RAW_LEN], mac[32];
    out[0] = '\0';
    put_be64(raw, (uint64_t)now);
    put_be32(raw + 8, scope ? scope->epoch : 0);
    if (RAND_bytes(raw + 12, 8) != 1)
        return SIPREG_ECRYPTO;
    int err = nonce_mac(s, raw, realm, scope, mac);
    if (err)
        return err;
    memcpy(raw + HEAD_LEN, mac, 16);
    sipreg__b64url_encode(out, raw, sizeof raw);
    return 0;
}

int sipreg_auth_nonce_verify(const struct sipreg_auth_secret *s, struct sipreg_str realm,
                             const struct sipreg_auth_nonce_scope *scope, struct sipreg_str nonce,
                             sipreg_time now, sipreg_time lifetime, sipreg_time skew,
                             struct sipreg_auth_nonce_info *info)
{
    uint8_t raw[RAW_LEN], mac[32];
    if (sipreg__b64url_decode(raw, sizeof raw, nonce) != 0)
        return SIPREG_EAUTH;
    int err = nonce_mac(s, raw, realm, scope, mac);
    if (err)
        return err;
    if (CRYPTO_memcmp(mac, raw + HEAD_LEN, 16) != 0)
        return SIPREG_EAUTH;
    sipreg_time issued = (sipreg_time)get_be64(raw);
    uint32_t epoch =
        (uint32_t)raw[8] << 24 | (uint32_t)raw[9] << 16 | (uint32_t)raw[10] << 8 | raw[11];
    if (info) {
        info->issued = issued;
        info->epoch = epoch;
        memcpy(info->tag, raw + HEAD_LEN, 16);
    }
    /* Another epoch: issued before a restart, or by a node whose replay tracker is not ours, so
     * that nothing here knows which of its counts were used. */
    if (epoch != (scope ? scope->epoch : 0))
        return SIPREG_ESTALE;
    /* Differences in uint64_t: exact for any pair of int64_t values, never overflowing. */
    if (issued > now)
        return (uint64_t)issued - (uint64_t)now > (uint64_t)(skew < 0 ? 0 : skew) ? SIPREG_ESTALE
                                                                                  : 0;
    return (uint64_t)now - (uint64_t)issued > (uint64_t)(lifetime < 0 ? 0 : lifetime)
               ? SIPREG_ESTALE
               : 0;
}

size_t sipreg_auth_bind_addr(const struct sipreg_netaddr *a, uint8_t out[SIPREG_AUTH_BIND_MAX])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    /* an IPv4-mapped IPv6 address is its IPv4 address: one host, one key */
    if (a->family == 4 || (a->family == 6 && memcmp(a->ip, mapped, 12) == 0)) {
        out[0] = 4;
        memcpy(out + 1, a->family == 4 ? a->ip : a->ip + 12, 4);
        return 5;
    }
    /* IPv6: the /64, which one subscriber line or host usually holds whole */
    out[0] = 6;
    memcpy(out + 1, a->ip, 8);
    return 9;
}

int sipreg_auth_dummy_ha1(const struct sipreg_auth_secret *s, enum sipreg_auth_alg alg,
                          struct sipreg_str username, struct sipreg_str realm,
                          char out[SIPREG_AUTH_HEX_MAX])
{
    uint8_t mac[32], head[9];
    size_t hexlen = sipreg_auth_alg_hexlen(alg);
    out[0] = '\0';
    if (!hexlen)
        return SIPREG_EINVAL;
    /* Length-prefixed so that no two (username, realm) pairs share an input. */
    enum sipreg_auth_alg base = sipreg_auth_alg_base(alg);
    head[0] = (uint8_t)base;
    put_be64(head + 1, (uint64_t)username.len);
    struct sipreg__bytes parts[] = {
        {head, sizeof head}, {username.p, username.len}, {realm.p, realm.len}};
    int err = sipreg__hmac_sha256(s->k_dummy, parts, 3, mac);
    if (err)
        return err;
    sipreg__hex(out, mac, hexlen / 2);
    return 0;
}
