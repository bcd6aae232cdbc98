/* `sipreg parse FILE...`: parse SIP messages and print their main fields (a diagnostic tool). */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "sipreg/sipreg.h"

#define STR(s) (int)(s).len, (s).p ? (s).p : ""

static int parse_file(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct sipreg_msg m;
    struct sipreg_perr why;
    static char mem[16384];
    struct sipreg_arena a;
    sipreg_arena_init(&a, mem, sizeof mem);
    if (sipreg_msg_parse(&m, buf, n, SIPREG_MSG_DATAGRAM, NULL, &a, &why) != 0) {
        printf("%s: rejected: %d %s (byte %zu)\n", path, sipreg_perr_status(why.code),
               sipreg_perr_reason(why.code), why.offset);
        return 1;
    }
    if (m.is_request)
        printf("%s: request %.*s %.*s\n", path, STR(m.method_s), STR(m.ruri));
    else
        printf("%s: response %d %.*s\n", path, m.status, STR(m.reason));
    printf("  headers: %zu, body: %zu bytes\n", m.nhdr, m.body.len);
    printf("  Call-ID: %.*s\n  CSeq: %u %.*s\n", STR(m.call_id), m.cseq.num, STR(m.cseq.method));
    const struct sipreg_via *v;
    if (sipreg_msg_via(&m, &v, &why) == 0)
        printf("  top Via: %.*s/%.*s %.*s port %u branch %.*s%s\n", STR(v->proto_version),
               STR(v->transport), STR(v->host), v->port, STR(v->branch),
               v->rport >= 0 ? " rport" : "");
    else
        printf("  Via: malformed: %s\n", sipreg_perr_reason(why.code));
    const struct sipreg_addr *ad;
    if (sipreg_msg_from(&m, &ad, &why) == 0)
        printf("  From: %.*s tag %.*s\n", STR(ad->uri.raw), STR(ad->tag));
    if (sipreg_msg_to(&m, &ad, &why) == 0)
        printf("  To: %.*s (user %.*s, host %.*s)\n", STR(ad->uri.raw), STR(ad->uri.user),
               STR(ad->uri.host));
    struct sipreg_contact *c;
    if (sipreg_msg_contacts(&m, &c, &why) == 0) {
        for (; c; c = c->next) {
            if (c->star)
                printf("  Contact: *\n");
            else
                printf("  Contact: %.*s expires %lld q %d\n", STR(c->addr.uri.raw),
                       (long long)c->expires, c->q);
        }
    } else {
        printf("  Contact: malformed: %s\n", sipreg_perr_reason(why.code));
    }
    return 0;
}

int cmd_parse(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sipreg parse FILE...\n");
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= parse_file(argv[i]);
    return rc;
}
