/* Client side of digest authentication: choosing a challenge, building credentials, RFC 7616
 * §3.4 (RFC 8760 algorithm preference, RFC 3261 §22.4). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "auth/auth_int.h"

#define QOP_AUTH     1
#define QOP_AUTH_INT 2

static bool is_lws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The qop values of a challenge's comma-separated list, as QOP_* bits. */
static unsigned qop_offered(struct sipreg_str s)
{
    unsigned bits = 0;
    const char *p = s.p, *end = s.p + s.len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *tend = comma ? comma : end;
        while (p < tend && is_lws(*p))
            p++;
        const char *q = tend;
        while (q > p && is_lws(q[-1]))
            q--;
        struct sipreg_str tok = {p, (size_t)(q - p)};
        if (sipreg_str_caseeqz(tok, "auth"))
            bits |= QOP_AUTH;
        else if (sipreg_str_caseeqz(tok, "auth-int"))
            bits |= QOP_AUTH_INT;
        p = comma ? comma + 1 : end;
    }
    return bits;
}

/* Whether we can answer `ch`, and how. */
static bool usable(const struct sipreg_auth *ch, enum sipreg_auth_alg *alg,
                   enum sipreg_auth_qop *qop)
{
    if (!sipreg_str_caseeqz(ch->scheme, "Digest") || !ch->realm.p || !ch->nonce.p)
        return false;
    if (sipreg_auth_alg_parse(ch->algorithm, alg) != 0)
        return false;
    if (ch->qop.p) {
        unsigned bits = qop_offered(ch->qop);
        if (bits & QOP_AUTH)
            *qop = SIPREG_AUTH_QOP_AUTH;
        else if (bits & QOP_AUTH_INT)
            *qop = SIPREG_AUTH_QOP_AUTH_INT;
        else
            return false;
    } else {
        *qop = SIPREG_AUTH_QOP_NONE;
        if (sipreg_auth_alg_base(*alg) != *alg)
            return false;
    }
    return true;
}

const char *sipreg_auth_refusal_text(enum sipreg_auth_refusal r)
{
    static const char *const text[] = {
#define XX(name, t) t,
        SIPREG_AUTH_REFUSAL_MAP(XX)
#undef XX
    };
    return (unsigned)r < SIPREG_AUTH_REFUSAL__COUNT ? text[r] : "";
}

/* 1 when the quoted-string contents `q` (escapes not yet removed) equal `plain` exactly. */
static bool unq_eq(struct sipreg_str q, struct sipreg_str plain)
{
    const char *p = q.p, *end = q.p + q.len;
    size_t i = 0;
    for (; p < end; p++, i++) {
        if (*p == '\\' && p + 1 < end)
            p++;
        if (i == plain.len || *p != plain.p[i])
            return false;
    }
    return i == plain.len;
}

/* What the policy says of a usable challenge: OK or the first rule it breaks. */
static enum sipreg_auth_refusal policy_check(const struct sipreg_auth_client_policy *pol,
                                             const struct sipreg_auth *ch, enum sipreg_auth_alg alg,
                                             enum sipreg_auth_qop qop)
{
    if (!pol)
        return SIPREG_AUTH_REFUSAL_OK;
    if (pol->realm.p && !unq_eq(ch->realm, pol->realm))
        return SIPREG_AUTH_REFUSAL_REALM;
    /* an unknown min_alg refuses everything rather than nothing */
    int min = (unsigned)pol->min_alg < SIPREG_AUTH_ALG__COUNT
                  ? sipreg_auth_alg_strength(pol->min_alg)
                  : 4;
    if (sipreg_auth_alg_strength(alg) < min)
        return SIPREG_AUTH_REFUSAL_ALGORITHM;
    if (qop == SIPREG_AUTH_QOP_NONE && (pol->require_qop || min > 1))
        return SIPREG_AUTH_REFUSAL_QOP;
    return SIPREG_AUTH_REFUSAL_OK;
}

int sipreg_auth_challenge_choose(const struct sipreg_auth *ch, size_t n,
                                 const struct sipreg_auth_client_policy *pol, size_t *idx,
                                 enum sipreg_auth_refusal *why)
{
    int best = 0;
    enum sipreg_auth_refusal refused = SIPREG_AUTH_REFUSAL_UNUSABLE;
    for (size_t i = 0; i < n; i++) {
        enum sipreg_auth_alg alg;
        enum sipreg_auth_qop qop;
        if (!usable(&ch[i], &alg, &qop))
            continue;
        enum sipreg_auth_refusal r = policy_check(pol, &ch[i], alg, qop);
        if (r != SIPREG_AUTH_REFUSAL_OK) {
            if (refused == SIPREG_AUTH_REFUSAL_UNUSABLE)
                refused = r;
            continue;
        }
        if (sipreg_auth_alg_strength(alg) > best) {
            best = sipreg_auth_alg_strength(alg);
            *idx = i;
        }
    }
    if (why)
        *why = best ? SIPREG_AUTH_REFUSAL_OK : refused;
    return best ? 0 : SIPREG_ENOENT;
}

/* Values we write between quotes ourselves: no quote, backslash or control character, so they
 * need no escaping and hash the same on both sides. */
static bool plain_quotable(struct sipreg_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static void add_quoted_escaped(struct sipreg_buf *b, struct sipreg_str s)
{
    sipreg_buf_addc(b, '"');
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '"' || s.p[i] == '\\')
            sipreg_buf_addc(b, '\\');
        sipreg_buf_addc(b, s.p[i]);
    }
    sipreg_buf_addc(b, '"');
}

int sipreg_auth_credentials_build(struct sipreg_buf *b, const struct sipreg_auth *ch,
                                  const struct sipreg_auth_client_cred *c)
{
    enum sipreg_auth_alg alg;
    enum sipreg_auth_qop qop;
    char ha1[SIPREG_AUTH_HEX_MAX], resp[SIPREG_AUTH_HEX_MAX], cnonce_buf[33], nc_buf[9];
    struct sipreg_str cnonce = c->cnonce, ha1_s;
    int err;

    if (!usable(ch, &alg, &qop) || c->nc == 0 || !c->username.p || !c->method.p || !c->uri.p)
        return SIPREG_EINVAL;
    /* A username with a control character could split the header; quotes are escaped. */
    for (size_t i = 0; i < c->username.len; i++)
        if ((unsigned char)c->username.p[i] < 0x20 || c->username.p[i] == 0x7f)
            return SIPREG_EINVAL;
    if (!plain_quotable(c->uri) || (cnonce.p && (!cnonce.len || !plain_quotable(cnonce))))
        return SIPREG_EINVAL;
    size_t hexlen = sipreg_auth_alg_hexlen(alg);

    if (c->password.p) {
        /* The realm is hashed as the server meant it: without the quoted-pair escapes. */
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        struct sipreg__hash h;
        sipreg__hash_begin(&h, ctx, alg);
        sipreg__hash_add(&h, c->username.p, c->username.len);
        sipreg__hash_add(&h, ":", 1);
        sipreg__hash_add_unq(&h, ch->realm);
        sipreg__hash_add(&h, ":", 1);
        sipreg__hash_add(&h, c->password.p, c->password.len);
        err = sipreg__hash_end_hex(&h, ha1);
        EVP_MD_CTX_free(ctx);
        if (err)
            return err;
        ha1_s = (struct sipreg_str){ha1, hexlen};
    } else if (c->ha1.p) {
        if ((unsigned)c->ha1_alg >= SIPREG_AUTH_ALG__COUNT ||
            sipreg_auth_alg_base(c->ha1_alg) != sipreg_auth_alg_base(alg) || c->ha1.len != hexlen)
            return SIPREG_EINVAL;
        ha1_s = c->ha1;
    } else {
        return SIPREG_EINVAL;
    }

    if (qop != SIPREG_AUTH_QOP_NONE && !cnonce.p) {
        uint8_t rnd[16];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
            return SIPREG_ECRYPTO;
        sipreg__hex(cnonce_buf, rnd, sizeof rnd);
        cnonce = (struct sipreg_str){cnonce_buf, 32};
    }
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++)
        nc_buf[i] = digits[(c->nc >> (28 - 4 * i)) & 15];
    nc_buf[8] = '\0';

    struct sipreg_auth_calc calc = {
        .alg = alg,
        .qop = qop,
        .ha1 = ha1_s,
        .nonce = ch->nonce,
        .cnonce = cnonce,
        .nc = {nc_buf, 8},
        .method = c->method,
        .uri = c->uri,
        .body = c->body,
    };
    err = sipreg_auth_response(&calc, resp);
    OPENSSL_cleanse(ha1, sizeof ha1);
    if (err)
        return err;

    sipreg_buf_addz(b, "Digest username=");
    add_quoted_escaped(b, c->username);
    sipreg_buf_addz(b, ", realm=\"");
    sipreg_buf_adds(b, ch->realm);
    sipreg_buf_addz(b, "\", nonce=\"");
    sipreg_buf_adds(b, ch->nonce);
    sipreg_buf_addz(b, "\", uri=\"");
    sipreg_buf_adds(b, c->uri);
    sipreg_buf_addz(b, "\", response=\"");
    sipreg_buf_addz(b, resp);
    sipreg_buf_addz(b, "\", algorithm=");
    sipreg_buf_addz(b, sipreg_auth_alg_name(alg));
    if (qop != SIPREG_AUTH_QOP_NONE) {
        sipreg_buf_addz(b, ", cnonce=\"");
        sipreg_buf_adds(b, cnonce);
        sipreg_buf_addz(b, qop == SIPREG_AUTH_QOP_AUTH ? "\", qop=auth, nc="
                                                       : "\", qop=auth-int, nc=");
        sipreg_buf_add(b, nc_buf, 8);
    }
    if (ch->opaque.p) {
        sipreg_buf_addz(b, ", opaque=\"");
        sipreg_buf_adds(b, ch->opaque);
        sipreg_buf_addc(b, '"');
    }
    return sipreg_buf_status(b);
}
