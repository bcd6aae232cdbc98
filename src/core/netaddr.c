/* Transport addresses as plain data: formatting, parsing and comparison, no socket headers. */
#include <stdio.h>
#include <string.h>

#include "sipreg/core.h"

static const char *const transport_names[] = {"udp", "tcp", "tls"};

size_t sipreg_netaddr_ip(const struct sipreg_netaddr *a, char *out, size_t cap)
{
    int n;
    if (a->family == 4) {
        n = snprintf(out, cap, "%u.%u.%u.%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3]);
    } else {
        /* RFC 5952: lower case, longest run of zero groups (length >= 2) as "::" */
        unsigned g[8];
        for (int i = 0; i < 8; i++)
            g[i] = (unsigned)a->ip[2 * i] << 8 | a->ip[2 * i + 1];
        int best = -1, best_len = 0;
        for (int i = 0; i < 8;) {
            int j = i;
            while (j < 8 && g[j] == 0)
                j++;
            if (j - i > best_len && j - i >= 2) {
                best = i;
                best_len = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        char tmp[48];
        size_t k = 0;
        for (int i = 0; i < 8; i++) {
            if (i == best) {
                k += (size_t)snprintf(tmp + k, sizeof tmp - k, "::");
                i += best_len - 1;
                continue;
            }
            if (k && tmp[k - 1] != ':')
                tmp[k++] = ':';
            k += (size_t)snprintf(tmp + k, sizeof tmp - k, "%x", g[i]);
        }
        tmp[k] = 0;
        n = snprintf(out, cap, "%s", tmp);
    }
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : (cap ? cap - 1 : 0);
}

size_t sipreg_netaddr_format(const struct sipreg_netaddr *a, char *out, size_t cap)
{
    char ip[48];
    sipreg_netaddr_ip(a, ip, sizeof ip);
    const char *t = a->transport < 3 ? transport_names[a->transport] : "udp";
    int n = a->family == 6 ? snprintf(out, cap, "%s:[%s]:%u", t, ip, a->port)
                           : snprintf(out, cap, "%s:%s:%u", t, ip, a->port);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : (cap ? cap - 1 : 0);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int parse_v4(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(s[i++] - '0');
            digits++;
        }
        if (!digits || v > 255 || (digits > 1 && s[i - digits] == '0'))
            return -1;
        out[part] = (uint8_t)v;
        if (part < 3) {
            if (i >= n || s[i] != '.')
                return -1;
            i++;
        }
    }
    return i == n ? 0 : -1;
}

static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
    unsigned g[8] = {0};
    int ng = 0, gap = -1;
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    }
    while (i < n) {
        if (ng == 8)
            return -1;
        /* an embedded IPv4 address in the last 32 bits */
        const char *dot = memchr(s + i, '.', n - i);
        if (dot && !memchr(s + i, ':', (size_t)(dot - (s + i)))) {
            uint8_t v4[4];
            if (ng > 6 || parse_v4(s + i, n - i, v4) != 0)
                return -1;
            g[ng++] = (unsigned)v4[0] << 8 | v4[1];
            g[ng++] = (unsigned)v4[2] << 8 | v4[3];
            i = n;
            break;
        }
        unsigned v = 0;
        int d = 0;
        while (i < n && d < 4 && hexval(s[i]) >= 0) {
            v = v << 4 | (unsigned)hexval(s[i++]);
            d++;
        }
        if (!d)
            return -1;
        g[ng++] = v;
        if (i == n)
            break;
        if (s[i] != ':')
            return -1;
        i++;
        if (i < n && s[i] == ':') {
            if (gap >= 0)
                return -1;
            gap = ng;
            i++;
        } else if (i == n) {
            return -1;
        }
    }
    if (gap < 0 && ng != 8)
        return -1;
    if (gap >= 0 && ng > 7)
        return -1;
    unsigned full[8] = {0};
    if (gap < 0) {
        memcpy(full, g, sizeof full);
    } else {
        for (int k = 0; k < gap; k++)
            full[k] = g[k];
        int tail = ng - gap;
        for (int k = 0; k < tail; k++)
            full[8 - tail + k] = g[gap + k];
    }
    for (int k = 0; k < 8; k++) {
        out[2 * k] = (uint8_t)(full[k] >> 8);
        out[2 * k + 1] = (uint8_t)full[k];
    }
    return 0;
}

int sipreg_netaddr_parse(struct sipreg_netaddr *a, const char *s, uint16_t default_port)
{
    memset(a, 0, sizeof *a);
    a->transport = SIPREG_TRANSPORT_UDP;
    for (int t = 0; t < 3; t++) {
        size_t tl = strlen(transport_names[t]);
        if (strncmp(s, transport_names[t], tl) == 0 && s[tl] == ':') {
            a->transport = (uint8_t)t;
            s += tl + 1;
            break;
        }
    }
    const char *host = s, *host_end, *port = NULL;
    if (*s == '[') {
        host = s + 1;
        host_end = strchr(host, ']');
        if (!host_end)
            return SIPREG_EINVAL;
        if (host_end[1] == ':')
            port = host_end + 2;
        else if (host_end[1])
            return SIPREG_EINVAL;
        a->family = 6;
    } else {
        host_end = strchr(s, ':');
        if (host_end && strchr(host_end + 1, ':')) {
            /* bare IPv6 without brackets and without port */
            host_end = s + strlen(s);
            a->family = 6;
        } else {
            if (host_end)
                port = host_end + 1;
            else
                host_end = s + strlen(s);
            a->family = 4;
        }
    }
    size_t hl = (size_t)(host_end - host);
    if (a->family == 4 ? parse_v4(host, hl, a->ip) : parse_v6(host, hl, a->ip))
        return SIPREG_EINVAL;
    a->port = default_port;
    if (port) {
        unsigned v = 0;
        if (!*port)
            return SIPREG_EINVAL;
        for (; *port; port++) {
            if (*port < '0' || *port > '9' || (v = v * 10 + (unsigned)(*port - '0')) > 65535)
                return SIPREG_EINVAL;
        }
        a->port = (uint16_t)v;
    }
    return 0;
}

int sipreg_netaddr_eq(const struct sipreg_netaddr *a, const struct sipreg_netaddr *b)
{
    return a->transport == b->transport && a->family == b->family && a->port == b->port &&
           memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

int sipreg_cidr_parse(struct sipreg_cidr *c, const char *s)
{
    memset(c, 0, sizeof *c);
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (parse_v4(s, n, c->ip) == 0)
        c->family = 4;
    else if (parse_v6(s, n, c->ip) == 0)
        c->family = 6;
    else
        return SIPREG_EINVAL;
    unsigned max = c->family == 4 ? 32 : 128, bits = max;
    if (slash) {
        const char *p = slash + 1;
        if (!*p || strlen(p) > 3)
            return SIPREG_EINVAL;
        bits = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return SIPREG_EINVAL;
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (bits > max)
            return SIPREG_EINVAL;
    }
    c->bits = (uint8_t)bits;
    for (unsigned i = bits; i < max; i++)
        if (c->ip[i / 8] & (0x80 >> (i % 8)))
            return SIPREG_EINVAL;
    return 0;
}

int sipreg_cidr_match(const struct sipreg_cidr *c, const struct sipreg_netaddr *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *ip = a->ip;
    int family = a->family;
    if (family == 6 && c->family == 4 && memcmp(a->ip, mapped, 12) == 0) {
        ip = a->ip + 12;
        family = 4;
    }
    if (family != c->family)
        return 0;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(ip, c->ip, full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff00 >> rest);
        if ((ip[full] & mask) != c->ip[full])
            return 0;
    }
    return 1;
}
