/* Unit tests: a registrar whose change sets go to a store writer thread (the server driver's
 * arrangement): it reads its own SQLite connection, the writer writes through another. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "registrar/registrar_int.h"
#include "sipreg/registrar.h"
#include "store/store_fixture.h"
#include "store/writer.h"
#include "test.h"

#define WALL0 1764000000000LL

struct wfx {
    struct tmpdb db;
    struct sipreg_store *reader, *wstore;
    struct sipreg__writer *w;
    struct sipreg_registrar *r;
    struct sipreg_netaddr src, local;
    int registered, refused;
    char reply[8192];
    size_t len;
};

static void on_event(const struct sipreg_registrar_event *ev, void *ud)
{
    struct wfx *f = ud;
    if (ev->outcome == SIPREG_REG_OUT_REGISTERED)
        f->registered++;
    if (ev->outcome == SIPREG_REG_OUT_OUT_OF_ORDER)
        f->refused++;
}

static int wfx_open(struct wfx *f)
{
    memset(f, 0, sizeof *f);
    if (tmpdb_make(&f->db))
        return -1;
    int err = sipreg_store_open_sqlite(&f->wstore, f->db.path, NULL);
    if (!err)
        err = sipreg_store_open_sqlite(&f->reader, f->db.path, NULL);
    struct sipreg__writer_cfg wc = {.store = f->wstore, .ninbox = 1};
    if (!err)
        err = sipreg__writer_create(&f->w, &wc);
    sipreg_netaddr_parse(&f->src, "192.0.2.4:5062", 5060);
    sipreg_netaddr_parse(&f->local, "127.0.0.1:5060", 5060);
    static const char *const domains[] = {"example.com"};
    struct sipreg_registrar_cfg cfg = {.domains = domains,
                                       .ndomains = 1,
                                       .local = &f->local,
                                       .nlocal = 1,
                                       .store = f->reader,
                                       .no_auth = true,
                                       .reply_unlimited = true,
                                       .on_event = on_event,
                                       .ud = f};
    if (!err)
        err = sipreg_registrar_create(&f->r, &cfg);
    return err;
}

static void wfx_close(struct wfx *f)
{
    sipreg_registrar_destroy(f->r);
    sipreg__writer_destroy(f->w);
    sipreg_store_close(f->reader);
    sipreg_store_close(f->wstore);
    tmpdb_remove(&f->db);
}

static int send_register(struct wfx *f, int branch, int cseq, const char *contact)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg,
                     "REGISTER sip:example.com SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bK-w%d;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:alice@example.com>;tag=f1\r\n"
                     "To: <sip:alice@example.com>\r\n"
                     "Call-ID: cid-writer\r\n"
                     "CSeq: %d REGISTER\r\n"
                     "%s%s%s"
                     "Content-Length: 0\r\n\r\n",
                     branch, cseq, contact ? "Contact: <" : "", contact ? contact : "",
                     contact ? ">;expires=600\r\n" : "");
    return sipreg_registrar_receive(f->r, msg, (size_t)n, &f->src, &f->local, 1000, WALL0);
}

/* The next reply, or SIPREG_ENOENT. */
static int pull(struct wfx *f)
{
    struct sipreg_netaddr to, local;
    int err = sipreg_registrar_pull(f->r, f->reply, sizeof f->reply - 1, &f->len, &to, &local);
    f->reply[err ? 0 : f->len] = 0;
    return err;
}

/* Hands the parked change sets to the writer and answers them when they come back. */
static int round_trip(struct wfx *f)
{
    int n = 0;
    for (struct sipreg__wjob *j = sipreg__registrar_take_jobs(f->r), *next; j; j = next) {
        next = j->next;
        if (sipreg__writer_submit(f->w, 0, j) != 0)
            return -1;
        n++;
    }
    while (n > 0) {
        struct pollfd p = {sipreg__writer_inbox_fd(f->w, 0), POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0)
            return -1;
        for (struct sipreg__wjob *j = sipreg__writer_take(f->w, 0), *next; j; j = next, n--) {
            next = j->next;
            sipreg__registrar_complete(f->r, j, 1000);
        }
    }
    return 0;
}

static int body_async(struct wfx *f)
{
    ASSERT_EQ(send_register(f, 1, 1, "sip:alice@192.0.2.4:5062"), 0);
    /* parked: nothing to send until the change is durable ... */
    ASSERT_EQ(pull(f), SIPREG_ENOENT);
    ASSERT_EQ(sipreg__registrar_pending(f->r), 1);
    /* ... and other answers do not wait behind it */
    const char opt[] = "OPTIONS sip:example.com SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bK-o1\r\n"
                       "From: <sip:alice@example.com>;tag=f2\r\nTo: <sip:example.com>\r\n"
                       "Call-ID: opt\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    ASSERT_EQ(sipreg_registrar_receive(f->r, opt, sizeof opt - 1, &f->src, &f->local, 1000, WALL0),
              0);
    ASSERT_EQ(pull(f), 0);
    ASSERT(strstr(f->reply, "CSeq: 1 OPTIONS"));
    /* a retransmission meanwhile is absorbed */
    ASSERT_EQ(send_register(f, 1, 1, "sip:alice@192.0.2.4:5062"), 0);
    ASSERT_EQ(pull(f), SIPREG_ENOENT);
    ASSERT_EQ(f->registered, 0);
    /* flush leaves a taken job alone; the writer's result is the answer */
    struct sipreg__wjob *j = sipreg__registrar_take_jobs(f->r);
    int flushed = sipreg_registrar_flush(f->r, 1000), pulled = pull(f);
    /* the writer owns them from here, whatever the asserts say */
    int submitted = j ? 0 : -1, taken = 0;
    for (struct sipreg__wjob *x = j, *next; x; x = next, taken++) {
        next = x->next;
        submitted |= sipreg__writer_submit(f->w, 0, x);
    }
    ASSERT_EQ(taken, 1);
    ASSERT_EQ(flushed, 0);
    ASSERT_EQ(pulled, SIPREG_ENOENT);
    ASSERT_EQ(submitted, 0);
    struct pollfd p = {sipreg__writer_inbox_fd(f->w, 0), POLLIN, 0};
    struct sipreg__wjob *back = NULL;
    for (int i = 0; i < 100 && !back; i++)
        back = poll(&p, 1, 10000) > 0 ? sipreg__writer_take(f->w, 0) : NULL;
    int back_err = back ? back->err : -1, same = back == j;
    if (back)
        sipreg__registrar_complete(f->r, back, 1000);
    ASSERT(same);
    ASSERT_EQ(back_err, 0);
    ASSERT_EQ(pull(f), 0);
    ASSERT(strncmp(f->reply, "SIP/2.0 200 OK\r\n", 16) == 0);
    ASSERT(strstr(f->reply, "Contact: <sip:alice@192.0.2.4:5062>;expires=600\r\n"));
    ASSERT(strstr(f->reply, "To: <sip:alice@example.com>;tag="));
    ASSERT_EQ(f->registered, 1);
    ASSERT_EQ(sipreg__registrar_pending(f->r), 0);
    /* a retransmission now gets the cached 200 */
    ASSERT_EQ(send_register(f, 1, 1, "sip:alice@192.0.2.4:5062"), 0);
    ASSERT_EQ(pull(f), 0);
    ASSERT(strstr(f->reply, "expires=600"));
    /* the registrar's own connection reads what the writer committed */
    ASSERT_EQ(send_register(f, 2, 2, NULL), 0);
    ASSERT_EQ(pull(f), 0);
    ASSERT(strstr(f->reply, "Contact: <sip:alice@192.0.2.4:5062>;expires=600\r\n"));
    /* the same Call-ID with a CSeq not higher: refused when the writer applies it */
    ASSERT_EQ(send_register(f, 3, 1, "sip:alice@192.0.2.4:5062"), 0);
    ASSERT_EQ(round_trip(f), 0);
    ASSERT_EQ(pull(f), 0);
    ASSERT(strncmp(f->reply, "SIP/2.0 500 Out of Order Request\r\n", 34) == 0);
    ASSERT(strstr(f->reply, "Retry-After: 1\r\n"));
    ASSERT(strstr(f->reply, "CSeq: 1 REGISTER\r\n"));
    ASSERT_EQ(f->refused, 1);
    /* and a higher one goes through */
    ASSERT_EQ(send_register(f, 4, 3, "sip:alice@192.0.2.4:5062"), 0);
    ASSERT_EQ(round_trip(f), 0);
    ASSERT_EQ(pull(f), 0);
    ASSERT(strncmp(f->reply, "SIP/2.0 200 OK\r\n", 16) == 0);
    ASSERT_EQ(f->registered, 2);
    /* with a writer the registrar has no purge timer: only transactions wake it up */
    ASSERT_EQ(sipreg_registrar_timeout(f->r, 100000, WALL0 + 99000), 0);
    sipreg_time next = sipreg_registrar_next_timeout(f->r);
    ASSERT(next < 0 || next > 100000);
    /* a change still parked when the registrar goes is freed with it */
    ASSERT_EQ(send_register(f, 5, 4, "sip:alice@192.0.2.4:5062"), 0);
    ASSERT_EQ(sipreg__registrar_pending(f->r), 1);
    return 0;
}

TEST(registrar_writer_async)
{
    struct wfx f;
    int rc = wfx_open(&f) ? 1 : body_async(&f);
    wfx_close(&f);
    return rc;
}
