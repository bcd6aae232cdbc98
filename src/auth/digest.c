/* Digest algorithms and request-digest computation, RFC 7616 §3.4.1 (RFC 2617 §3.2.2, 2069). */
#include <pthread.h>
#include <string.h>

#include "auth/auth_int.h"

static const struct {
    const char *name;
    size_t hexlen;
} algs[SIPREG_AUTH_ALG__COUNT] = {
    [SIPREG_AUTH_MD5] = {"MD5", 32},
    [SIPREG_AUTH_MD5_SESS] = {"MD5-sess", 32},
    [SIPREG_AUTH_SHA256] = {"SHA-256", 64},
    [SIPREG_AUTH_SHA256_SESS] = {"SHA-256-sess", 64},
    [SIPREG_AUTH_SHA512_256] = {"SHA-512-256", 64},
    [SIPREG_AUTH_SHA512_256_SESS] = {"SHA-512-256-sess", 64},
};

static int alg_ok(enum sipreg_auth_alg alg)
{
    return (unsigned)alg < SIPREG_AUTH_ALG__COUNT;
}

int sipreg_auth_alg_parse(struct sipreg_str token, enum sipreg_auth_alg *out)
{
    if (!token.p) {
        *out = SIPREG_AUTH_MD5;
        return 0;
    }
    for (int i = 0; i < SIPREG_AUTH_ALG__COUNT; i++) {
        if (sipreg_str_caseeqz(token, algs[i].name)) {
            *out = (enum sipreg_auth_alg)i;
            return 0;
        }
    }
    return SIPREG_EINVAL;
}

const char *sipreg_auth_alg_name(enum sipreg_auth_alg alg)
{
    return alg_ok(alg) ? algs[alg].name : "";
}

size_t sipreg_auth_alg_hexlen(enum sipreg_auth_alg alg)
{
    return alg_ok(alg) ? algs[alg].hexlen : 0;
}

enum sipreg_auth_alg sipreg_auth_alg_base(enum sipreg_auth_alg alg)
{
    switch (alg) {
    case SIPREG_AUTH_MD5_SESS: return SIPREG_AUTH_MD5;
    case SIPREG_AUTH_SHA256_SESS: return SIPREG_AUTH_SHA256;
    case SIPREG_AUTH_SHA512_256_SESS: return SIPREG_AUTH_SHA512_256;
    default: return alg;
    }
}

int sipreg_auth_alg_strength(enum sipreg_auth_alg alg)
{
    switch (sipreg_auth_alg_base(alg)) {
    case SIPREG_AUTH_SHA512_256: return 3;
    case SIPREG_AUTH_SHA256: return 2;
    default: return 1;
    }
}

/* Explicit fetches are cached: the implicit fetch behind EVP_md5() and friends costs a lookup
 * under a lock on every EVP_DigestInit_ex. */
static EVP_MD *md_cache[3];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
    md_cache[0] = EVP_MD_fetch(NULL, "MD5", NULL);
    md_cache[1] = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_cache[2] = EVP_MD_fetch(NULL, "SHA512-256", NULL);
}

const EVP_MD *sipreg__auth_md(enum sipreg_auth_alg alg)
{
    if (!alg_ok(alg) || pthread_once(&md_once, md_fetch) != 0)
        return NULL;
    switch (sipreg_auth_alg_base(alg)) {
    case SIPREG_AUTH_MD5: return md_cache[0];
    case SIPREG_AUTH_SHA256: return md_cache[1];
    default: return md_cache[2];
    }
}

void sipreg__hash_begin(struct sipreg__hash *h, EVP_MD_CTX *ctx, enum sipreg_auth_alg alg)
{
    const EVP_MD *md = sipreg__auth_md(alg);
    h->ctx = ctx;
    h->err = (ctx && md && EVP_DigestInit_ex(ctx, md, NULL) == 1) ? 0 : SIPREG_ECRYPTO;
}

void sipreg__hash_add(struct sipreg__hash *h, const void *p, size_t n)
{
    if (!h->err && n && EVP_DigestUpdate(h->ctx, p, n) != 1)
        h->err = SIPREG_ECRYPTO;
}

void sipreg__hash_add_unq(struct sipreg__hash *h, struct sipreg_str s)
{
    const char *p = s.p, *end = s.p + s.len, *run = p;
    while (p < end) {
        if (*p == '\\' && p + 1 < end) {
            sipreg__hash_add(h, run, (size_t)(p - run));
            run = p + 1; /* the escaped character starts the next run */
            p += 2;
        } else {
            p++;
        }
    }
    sipreg__hash_add(h, run, (size_t)(end - run));
}

void sipreg__hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int sipreg__hash_end_hex(struct sipreg__hash *h, char out[SIPREG_AUTH_HEX_MAX])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (!h->err && (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n > 32))
        h->err = SIPREG_ECRYPTO;
    if (h->err) {
        out[0] = '\0';
        return h->err;
    }
    sipreg__hex(out, md, n);
    return 0;
}

int sipreg_auth_ha1(enum sipreg_auth_alg alg, struct sipreg_str username, struct sipreg_str realm,
                    struct sipreg_str password, char out[SIPREG_AUTH_HEX_MAX])
{
    out[0] = '\0';
    if (!alg_ok(alg))
        return SIPREG_EINVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    struct sipreg__hash h;
    sipreg__hash_begin(&h, ctx, alg);
    sipreg__hash_add(&h, username.p, username.len);
    sipreg__hash_add(&h, ":", 1);
    sipreg__hash_add(&h, realm.p, realm.len);
    sipreg__hash_add(&h, ":", 1);
    sipreg__hash_add(&h, password.p, password.len);
    int err = sipreg__hash_end_hex(&h, out);
    EVP_MD_CTX_free(ctx);
    return err;
}

static int is_sess(enum sipreg_auth_alg alg)
{
    return sipreg_auth_alg_base(alg) != alg;
}

int sipreg_auth_response(const struct sipreg_auth_calc *c, char out[SIPREG_AUTH_HEX_MAX])
{
    static const char *const qop_names[] = {"", "auth", "auth-int"};
    char ha1[SIPREG_AUTH_HEX_MAX], ha2[SIPREG_AUTH_HEX_MAX], hbody[SIPREG_AUTH_HEX_MAX];
    out[0] = '\0';
    if (!alg_ok(c->alg) || c->ha1.len != algs[c->alg].hexlen || !c->ha1.p ||
        (unsigned)c->qop > SIPREG_AUTH_QOP_AUTH_INT)
        return SIPREG_EINVAL;
    if (c->qop == SIPREG_AUTH_QOP_NONE ? is_sess(c->alg)
                                       : (!c->cnonce.len || !c->nc.len || !c->cnonce.p || !c->nc.p))
        return SIPREG_EINVAL;
    /* Stores may hold uppercase hex; the digest is defined over the lowercase form. */
    for (size_t i = 0; i < c->ha1.len; i++) {
        char ch = c->ha1.p[i];
        ha1[i] = (ch >= 'A' && ch <= 'F') ? (char)(ch | 0x20) : ch;
    }
    ha1[c->ha1.len] = '\0';

    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    struct sipreg__hash h;
    int err = 0;
    if (is_sess(c->alg)) {
        sipreg__hash_begin(&h, ctx, c->alg);
        sipreg__hash_add(&h, ha1, c->ha1.len);
        sipreg__hash_add(&h, ":", 1);
        sipreg__hash_add_unq(&h, c->nonce);
        sipreg__hash_add(&h, ":", 1);
        sipreg__hash_add_unq(&h, c->cnonce);
        if ((err = sipreg__hash_end_hex(&h, ha1)) != 0)
            goto out;
    }
    if (c->qop == SIPREG_AUTH_QOP_AUTH_INT) {
        sipreg__hash_begin(&h, ctx, c->alg);
        sipreg__hash_add(&h, c->body.p, c->body.len);
        if ((err = sipreg__hash_end_hex(&h, hbody)) != 0)
            goto out;
    }
    sipreg__hash_begin(&h, ctx, c->alg);
    sipreg__hash_add(&h, c->method.p, c->method.len);
    sipreg__hash_add(&h, ":", 1);
    sipreg__hash_add_unq(&h, c->uri);
    if (c->qop == SIPREG_AUTH_QOP_AUTH_INT) {
        sipreg__hash_add(&h, ":", 1);
        sipreg__hash_add(&h, hbody, c->ha1.len);
    }
    if ((err = sipreg__hash_end_hex(&h, ha2)) != 0)
        goto out;

    sipreg__hash_begin(&h, ctx, c->alg);
    sipreg__hash_add(&h, ha1, c->ha1.len);
    sipreg__hash_add(&h, ":", 1);
    sipreg__hash_add_unq(&h, c->nonce);
    sipreg__hash_add(&h, ":", 1);
    if (c->qop != SIPREG_AUTH_QOP_NONE) {
        sipreg__hash_add(&h, c->nc.p, c->nc.len);
        sipreg__hash_add(&h, ":", 1);
        sipreg__hash_add_unq(&h, c->cnonce);
        sipreg__hash_add(&h, ":", 1);
        sipreg__hash_add(&h, qop_names[c->qop], strlen(qop_names[c->qop]));
        sipreg__hash_add(&h, ":", 1);
    }
    sipreg__hash_add(&h, ha2, c->ha1.len);
    err = sipreg__hash_end_hex(&h, out);
out:
    EVP_MD_CTX_free(ctx);
    return err;
}
