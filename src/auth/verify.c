/* Server side of digest authentication: challenges and credential checks, RFC 7616 §3.3-3.5. */
#include <string.h>

#include <openssl/crypto.h>

#include "auth/auth_int.h"

#define DEFAULT_LIFETIME 300000
#define DEFAULT_SKEW     2000

/* MD5 alone by default, as deployed phones expect (many break on any other challenge). */
static const enum sipreg_auth_alg default_algs[] = {SIPREG_AUTH_MD5};

static const char *const reason_text[] = {
#define XX(name, text) text,
    SIPREG_AUTH_REASON_MAP(XX)
#undef XX
};

const char *sipreg_auth_reason_text(enum sipreg_auth_reason r)
{
    return (unsigned)r < SIPREG_AUTH_REASON__COUNT ? reason_text[r] : "unknown reason";
}

static void cfg_algs(const struct sipreg_auth_server_cfg *cfg, const enum sipreg_auth_alg **algs,
                     size_t *n)
{
    if (cfg->algs) {
        *algs = cfg->algs;
        *n = cfg->nalgs;
    } else {
        *algs = default_algs;
        *n = sizeof default_algs / sizeof default_algs[0];
    }
}

/* The realm goes between quotes unescaped, and must match what clients echo byte for byte. */
static int cfg_check(const struct sipreg_auth_server_cfg *cfg)
{
    const enum sipreg_auth_alg *algs;
    size_t n;
    if (!cfg || !cfg->secret || !cfg->realm.p || cfg->nonce_lifetime < 0 || cfg->nonce_skew < 0)
        return SIPREG_EINVAL;
    for (size_t i = 0; i < cfg->realm.len; i++) {
        unsigned char c = (unsigned char)cfg->realm.p[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            return SIPREG_EINVAL;
    }
    cfg_algs(cfg, &algs, &n);
    if (n == 0)
        return SIPREG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned)algs[i] >= SIPREG_AUTH_ALG__COUNT)
            return SIPREG_EINVAL;
    return 0;
}

int sipreg_auth_challenge_build(struct sipreg_buf *b, const struct sipreg_auth_server_cfg *cfg,
                                struct sipreg_str bind, sipreg_time now, bool stale)
{
    const enum sipreg_auth_alg *algs;
    size_t n;
    char nonce[SIPREG_AUTH_NONCE_LEN + 1];
    int err = cfg_check(cfg);
    if (err)
        return err;
    struct sipreg_auth_nonce_scope scope = {bind, cfg->epoch};
    if ((err = sipreg_auth_nonce_build(cfg->secret, cfg->realm, &scope, now, nonce)) != 0)
        return err;
    cfg_algs(cfg, &algs, &n);
    for (size_t i = 0; i < n; i++) {
        sipreg_buf_addz(b, cfg->proxy ? "Proxy-Authenticate: Digest realm=\""
                                      : "WWW-Authenticate: Digest realm=\"");
        sipreg_buf_adds(b, cfg->realm);
        sipreg_buf_addz(b, "\", nonce=\"");
        sipreg_buf_addz(b, nonce);
        sipreg_buf_addz(b, "\", opaque=\"");
        sipreg_buf_addz(b, cfg->secret->opaque);
        sipreg_buf_addz(b, "\", algorithm=");
        sipreg_buf_addz(b, sipreg_auth_alg_name(algs[i]));
        sipreg_buf_addz(b, cfg->offer_auth_int ? ", qop=\"auth,auth-int\"" : ", qop=\"auth\"");
        if (stale)
            sipreg_buf_addz(b, ", stale=true");
        sipreg_buf_addz(b, "\r\n");
    }
    return sipreg_buf_status(b);
}

/* nc is exactly 8 hex digits (RFC 7616 §3.4: nc-value = 8LHEX); uppercase is tolerated. */
static int parse_nc(struct sipreg_str s, uint32_t *out)
{
    uint32_t v = 0;
    if (!s.p || s.len != 8)
        return SIPREG_EPARSE;
    for (size_t i = 0; i < 8; i++) {
        unsigned char c = (unsigned char)s.p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (unsigned)(c | 0x20) - 'a' + 10;
        else
            return SIPREG_EPARSE;
        v = v << 4 | d;
    }
    *out = v;
    return v ? 0 : SIPREG_EPARSE;
}

static int fail(enum sipreg_auth_reason *why, enum sipreg_auth_reason r, int err)
{
    if (why)
        *why = r;
    return err;
}

int sipreg_auth_verify_nonce(const struct sipreg_auth_server_cfg *cfg,
                             const struct sipreg_auth *cred, const struct sipreg_auth_request *req,
                             sipreg_time now, struct sipreg_auth_tracker *t,
                             struct sipreg_auth_nonce_info *info, enum sipreg_auth_reason *why)
{
    if (why)
        *why = SIPREG_AUTH_REASON_OK;
    if (cfg_check(cfg) != 0 || !cred || !req || !t || !info)
        return SIPREG_EINVAL;
    if (!sipreg_str_caseeqz(cred->scheme, "Digest"))
        return fail(why, SIPREG_AUTH_REASON_SCHEME, SIPREG_ENONCE);

    /* A request whose nonce was not issued to its source proves nothing about who sent it (the
     * source address may be forged), so it gets a fresh challenge and counts as nothing.
     * Neither does a stale one, and it is refused before its response is computed: answering
     * stale=true only to right responses would let a used nonce test passwords. */
    struct sipreg_auth_nonce_scope scope = {req->bind, cfg->epoch};
    sipreg_time lifetime = cfg->nonce_lifetime ? cfg->nonce_lifetime : DEFAULT_LIFETIME;
    sipreg_time skew = cfg->nonce_skew ? cfg->nonce_skew : DEFAULT_SKEW;
    int err = sipreg_auth_nonce_verify(cfg->secret, cfg->realm, &scope, cred->nonce, now, lifetime,
                                       skew, info);
    if (err == SIPREG_EAUTH)
        return fail(why, SIPREG_AUTH_REASON_NONCE, SIPREG_ENONCE);
    if (err == SIPREG_ESTALE)
        return fail(why,
                    info->epoch != cfg->epoch ? SIPREG_AUTH_REASON_NONCE_EPOCH
                                              : SIPREG_AUTH_REASON_NONCE_STALE,
                    SIPREG_ESTALE);
    if (err)
        return err;
    if (sipreg_auth_tracker_usable(t, info) != 0)
        return fail(why, SIPREG_AUTH_REASON_REPLAY, SIPREG_ESTALE);
    return 0;
}

int sipreg_auth_verify(const struct sipreg_auth_server_cfg *cfg, const struct sipreg_auth *cred,
                       const struct sipreg_auth_request *req, struct sipreg_str ha1,
                       sipreg_time now, struct sipreg_auth_tracker *t, enum sipreg_auth_reason *why)
{
    struct sipreg_auth_nonce_info info;
    int err = sipreg_auth_verify_nonce(cfg, cred, req, now, t, &info, why);
    return err ? err : sipreg_auth_verify_response(cfg, cred, req, ha1, &info, t, why);
}

int sipreg_auth_verify_response(const struct sipreg_auth_server_cfg *cfg,
                                const struct sipreg_auth *cred,
                                const struct sipreg_auth_request *req, struct sipreg_str ha1,
                                const struct sipreg_auth_nonce_info *info,
                                struct sipreg_auth_tracker *t, enum sipreg_auth_reason *why)
{
    const enum sipreg_auth_alg *algs;
    size_t nalgs;
    enum sipreg_auth_alg alg;
    enum sipreg_auth_qop qop;
    uint32_t nc = 1;
    char expect[SIPREG_AUTH_HEX_MAX], given[SIPREG_AUTH_HEX_MAX];
    int err;

    if (why)
        *why = SIPREG_AUTH_REASON_OK;
    if (cfg_check(cfg) != 0 || !cred || !req || !t || !info)
        return SIPREG_EINVAL;
    cfg_algs(cfg, &algs, &nalgs);

    /* From here the nonce is genuine, fresh and was sent to this source: a wrong answer is a
     * failure of that source, and uses the nonce up (one nonce, one wrong guess). */
    enum sipreg_auth_reason bad = SIPREG_AUTH_REASON_OK;
    if (sipreg_auth_alg_parse(cred->algorithm, &alg) != 0) {
        bad = SIPREG_AUTH_REASON_ALGORITHM;
        goto wrong;
    }
    size_t i = 0;
    while (i < nalgs && algs[i] != alg)
        i++;
    if (i == nalgs) {
        bad = SIPREG_AUTH_REASON_ALGORITHM;
        goto wrong;
    }
    size_t hexlen = sipreg_auth_alg_hexlen(alg);
    if (!ha1.p || ha1.len != hexlen)
        return SIPREG_EINVAL;
    if (!cred->username.p || cred->username.len == 0)
        bad = SIPREG_AUTH_REASON_USERNAME;
    else if (!cred->realm.p || !sipreg_str_eq(cred->realm, cfg->realm))
        bad = SIPREG_AUTH_REASON_REALM;
    else if (!cred->uri.p || !req->ruri.p || !sipreg_str_eq(cred->uri, req->ruri))
        bad = SIPREG_AUTH_REASON_URI;
    else if (!cred->opaque.p || !sipreg_str_eq(cred->opaque, sipreg_str_z(cfg->secret->opaque)))
        bad = SIPREG_AUTH_REASON_OPAQUE;
    if (bad)
        goto wrong;
    if (!cred->qop.p) {
        /* RFC 2069: no cnonce either, and -sess needs one. */
        if (!cfg->allow_rfc2069 || alg != sipreg_auth_alg_base(alg)) {
            bad = SIPREG_AUTH_REASON_QOP;
            goto wrong;
        }
        qop = SIPREG_AUTH_QOP_NONE;
    } else if (sipreg_str_caseeqz(cred->qop, "auth")) {
        qop = SIPREG_AUTH_QOP_AUTH;
    } else if (sipreg_str_caseeqz(cred->qop, "auth-int")) {
        qop = SIPREG_AUTH_QOP_AUTH_INT;
    } else {
        bad = SIPREG_AUTH_REASON_QOP;
        goto wrong;
    }
    if (qop != SIPREG_AUTH_QOP_NONE) {
        if (!cred->cnonce.p || cred->cnonce.len == 0) {
            bad = SIPREG_AUTH_REASON_CNONCE;
            goto wrong;
        }
        if (parse_nc(cred->nc, &nc) != 0) {
            bad = SIPREG_AUTH_REASON_NC;
            goto wrong;
        }
    }
    if (!cred->response.p || cred->response.len != hexlen) {
        bad = SIPREG_AUTH_REASON_RESPONSE_FORMAT;
        goto wrong;
    }
    for (i = 0; i < hexlen; i++) {
        char c = cred->response.p[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c | 0x20);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            bad = SIPREG_AUTH_REASON_RESPONSE_FORMAT;
            goto wrong;
        }
        given[i] = c;
    }

    /* The work is the same whatever the secret facts (user known, password right) are. */
    struct sipreg_auth_calc calc = {
        .alg = alg,
        .qop = qop,
        .ha1 = ha1,
        .nonce = cred->nonce,
        .cnonce = cred->cnonce,
        .nc = cred->nc,
        .method = req->method,
        .uri = cred->uri,
        .body = req->body,
    };
    if ((err = sipreg_auth_response(&calc, expect)) != 0)
        return err;
    if (CRYPTO_memcmp(expect, given, hexlen) != 0) {
        bad = SIPREG_AUTH_REASON_RESPONSE;
        goto wrong;
    }
    /* Only a verified request may advance the nonce's count; without a qop there is no nc and
     * the nonce counts as used once. */
    if (sipreg_auth_tracker_check(t, info, nc) != 0)
        return fail(why, SIPREG_AUTH_REASON_REPLAY, SIPREG_ESTALE);
    return 0;
wrong:
    sipreg_auth_tracker_burn(t, info);
    return fail(why, bad, SIPREG_EAUTH);
}
