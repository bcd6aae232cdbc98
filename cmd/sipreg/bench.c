/* sipreg bench register: a REGISTER load generator running the whole digest challenge flow
 * (RFC 3261 §10.2, §22.4) with non-INVITE client retransmissions (§17.1.2: Timers E and F). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "common.h"
#include "sipreg/auth.h"
#include "sipreg/msg.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

#define T1_MS      500
#define T2_MS      4000
#define TIMER_F_MS (64 * T1_MS) /* 32 s: a transaction unanswered this long is a timeout */
#define BATCH      64           /* datagrams per recvmmsg/sendmmsg */
#define RX_SIZE    4096
#define REQ_SIZE   1200 /* one REGISTER with Authorization: about 650 bytes */
#define NQUEUE     4    /* retransmission queues: 500, 1000, 2000, 4000 ms */
#define USERS_MAX  10000000u
#define SLOTS_MAX  65536u /* outstanding registrations per thread, at most */
#define HIST_SUB   32     /* latency histogram: 32 buckets per power of two, ~3 % wide */
#define HIST_N     (2 * HIST_SUB + 31 * HIST_SUB)
#define STATUS_MIN 100
#define STATUS_N   600

struct cfg {
    struct sockaddr_storage target;
    socklen_t target_len;
    char target_s[SIPREG_NETADDR_STRLEN];
    uint64_t users, rate, duration, threads, concurrency, expires;
    const char *user_pat, *pass_pat, *realm, *domain;
    bool max, storm, unregister, json, concurrency_set;
    /* --source: thread t sends from sources[t % nsources] (port chosen by the system) */
    struct sockaddr_storage sources[64];
    unsigned nsources;
};

enum phase_kind { PHASE_RUN, PHASE_STORM, PHASE_UNREG };

/* What all threads of one phase share: the next registration to start (users are taken in
 * order, wrapping around), the stop flag, and the users registered so far. */
struct shared {
    const struct cfg *cfg;
    enum phase_kind kind;
    bool paced;                /* open loop at cfg->rate */
    uint64_t limit;            /* starts allowed in this phase (UINT64_MAX: until the end time) */
    int64_t t0, t_end;         /* ns; t_end: no start after it (INT64_MAX: none) */
    atomic_ullong next;        /* next sequence number */
    atomic_int stop_start;     /* SIGINT or duration: start nothing more */
    atomic_ullong *registered; /* bitmap over users: got a 200 with Expires > 0 */
};

struct counters {
    uint64_t started, ok, ok_in_window, failed, timeouts, retrans, sent, send_errors, skipped,
        stray, abandoned;
    uint64_t status[STATUS_N];
    uint64_t hist[HIST_N];
    uint64_t lat_max_us;
    int64_t last_ok_ns;
};

enum slot_state { SLOT_FREE = 0, SLOT_CHALLENGE, SLOT_AUTH };

struct slot {
    int32_t prev, next; /* retransmission queue links, or the free list */
    int8_t q;           /* queue index, -1 when in none */
    uint8_t state, nauth;
    uint32_t txn, cseq, user;
    uint32_t rto;
    int64_t first_ns; /* first REGISTER of the registration */
    int64_t txn_ms;   /* start of the current transaction (Timer F) */
    int64_t due_ms;   /* next retransmission */
    char call_id[40], tag[20];
    uint16_t len;
    char req[REQ_SIZE];
};

struct worker {
    pthread_t th;
    unsigned id;
    struct shared *sh;
    int fd;
    char local_ip[SIPREG_NETADDR_STRLEN];
    uint16_t local_port;
    struct slot *slots;
    uint32_t nslots, nfree;
    int32_t free_head;
    int32_t qhead[NQUEUE], qtail[NQUEUE];
    uint32_t txn_seq;
    uint64_t rng;
    uint64_t rate;      /* this thread's share of --rate */
    uint64_t due_count; /* starts due so far, paced mode */
    bool exhausted;     /* the phase has no more starts for us */
    struct counters c;
    /* outgoing batch: iovecs into slot buffers, flushed before any slot is reused */
    struct mmsghdr out[BATCH];
    struct iovec oiov[BATCH];
    unsigned nout;
    /* published for the progress line */
    atomic_ullong pub_ok, pub_fail, pub_out, pub_retrans;
    atomic_int done;
};

static atomic_int interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    atomic_fetch_add(&interrupted, 1);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t rnd(struct worker *w)
{
    /* xorshift64*: cnonces, tags and Call-IDs only need to be distinct, not secret */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 2685821657736338717ull;
}

/* ---- patterns: one %d (with optional 0 and width) or one %s, and %% ---- */

/* Checks that `pat` holds exactly one conversion `conv` ('d' or 's') and nothing else but %%. */
static int pattern_check(const char *pat, char conv)
{
    int n = 0;
    for (const char *p = pat; *p; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '%')
            continue;
        if (conv == 'd') {
            if (*p == '0')
                p++;
            int width = 0;
            while (*p >= '0' && *p <= '9' && width < 100)
                width = width * 10 + (*p++ - '0');
            if (width >= 100)
                return -1;
        }
        if (*p != conv)
            return -1;
        n++;
    }
    return n == 1 ? 0 : -1;
}

/* Expands a checked pattern with the number `num` or the string `s`. */
static size_t pattern_expand(char *out, size_t cap, const char *pat, uint64_t num, const char *s)
{
    struct sipreg_buf b;
    sipreg_buf_init(&b, out, cap - 1);
    for (const char *p = pat; *p; p++) {
        if (*p != '%') {
            sipreg_buf_addc(&b, *p);
            continue;
        }
        p++;
        if (*p == '%') {
            sipreg_buf_addc(&b, '%');
            continue;
        }
        if (*p == 's') {
            sipreg_buf_addz(&b, s);
            continue;
        }
        bool zero = *p == '0';
        if (zero)
            p++;
        int width = 0;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        char digits[24];
        int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)num);
        for (int i = nd; i < width; i++)
            sipreg_buf_addc(&b, zero ? '0' : ' ');
        sipreg_buf_add(&b, digits, (size_t)nd);
    }
    out[b.len] = 0;
    return b.len;
}

/* ---- latency histogram (log-linear, microseconds) ---- */

static unsigned hist_index(uint64_t us)
{
    if (us < 2 * HIST_SUB)
        return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us); /* >= 6 */
    unsigned shift = e - 5;
    unsigned idx = 2 * HIST_SUB + (e - 6) * HIST_SUB + (unsigned)((us >> shift) - HIST_SUB);
    return idx < HIST_N ? idx : HIST_N - 1;
}

/* The middle of bucket `idx`, in microseconds. */
static double hist_value(unsigned idx)
{
    if (idx < 2 * HIST_SUB)
        return idx;
    unsigned e = (idx - 2 * HIST_SUB) / HIST_SUB + 6;
    unsigned sub = (idx - 2 * HIST_SUB) % HIST_SUB + HIST_SUB;
    double width = (double)(1ull << (e - 5));
    return (double)sub * width + width / 2;
}

static double hist_pct(const struct counters *c, double pct)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < HIST_N; i++)
        total += c->hist[i];
    if (!total)
        return 0;
    uint64_t rank = (uint64_t)((double)total * pct / 100.0 + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t cum = 0;
    for (unsigned i = 0; i < HIST_N; i++) {
        cum += c->hist[i];
        if (cum >= rank) {
            double v = hist_value(i);
            return v > (double)c->lat_max_us ? (double)c->lat_max_us : v;
        }
    }
    return (double)c->lat_max_us;
}

/* ---- retransmission queues: FIFO per RTO value, so deadlines in one queue are ordered ---- */

static int queue_of(uint32_t rto)
{
    return rto <= 500 ? 0 : rto <= 1000 ? 1 : rto <= 2000 ? 2 : 3;
}

static void q_unlink(struct worker *w, int32_t i)
{
    struct slot *s = &w->slots[i];
    if (s->q < 0)
        return;
    if (s->prev >= 0)
        w->slots[s->prev].next = s->next;
    else
        w->qhead[s->q] = s->next;
    if (s->next >= 0)
        w->slots[s->next].prev = s->prev;
    else
        w->qtail[s->q] = s->prev;
    s->q = -1;
}

static void q_push(struct worker *w, int32_t i, int64_t now_ms)
{
    struct slot *s = &w->slots[i];
    int q = queue_of(s->rto);
    int64_t due = now_ms + s->rto, f = s->txn_ms + TIMER_F_MS;
    s->due_ms = due < f ? due : f;
    s->q = (int8_t)q;
    s->next = -1;
    s->prev = w->qtail[q];
    if (s->prev >= 0)
        w->slots[s->prev].next = i;
    else
        w->qhead[q] = i;
    w->qtail[q] = i;
}

/* ---- sending ---- */

static void flush(struct worker *w)
{
    unsigned off = 0;
    while (off < w->nout) {
        int n = sendmmsg(w->fd, w->out + off, w->nout - off, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* a full socket buffer or an ICMP error: the datagrams are lost and the
             * retransmission timers recover them */
            w->c.send_errors += w->nout - off;
            break;
        }
        off += (unsigned)n;
    }
    w->nout = 0;
}

static void queue_send(struct worker *w, struct slot *s)
{
    if (w->nout == BATCH)
        flush(w);
    w->oiov[w->nout] = (struct iovec){s->req, s->len};
    memset(&w->out[w->nout], 0, sizeof w->out[0]);
    w->out[w->nout].msg_hdr.msg_iov = &w->oiov[w->nout];
    w->out[w->nout].msg_hdr.msg_iovlen = 1;
    w->nout++;
    w->c.sent++;
}

/* Builds the slot's next request (a new transaction: new branch, CSeq + 1) with the
 * Authorization answering `ch` when given. 0, or a SIPREG_E code. */
static int build_request(struct worker *w, int32_t i, const struct sipreg_auth *ch, int64_t now_ms)
{
    const struct cfg *cfg = w->sh->cfg;
    struct slot *s = &w->slots[i];
    char user[128], pass[256];
    pattern_expand(user, sizeof user, cfg->user_pat, (uint64_t)s->user + 1, NULL);
    s->txn = ++w->txn_seq;
    s->cseq++;
    char ruri[300];
    int rl = snprintf(ruri, sizeof ruri, "sip:%s", cfg->domain);
    struct sipreg_buf b;
    sipreg_buf_init(&b, s->req, sizeof s->req);
    sipreg_msg_build_request(&b, SIPREG_STR_LIT("REGISTER"), (struct sipreg_str){ruri, (size_t)rl});
    /* the branch names the thread's slot and transaction: a response finds its registration
     * without a table look-up, and one to an older transaction of the slot is recognised */
    sipreg_buf_printf(&b, "Via: SIP/2.0/UDP %s:%u;rport;branch=z9hG4bK.%x.%x.%x\r\n", w->local_ip,
                      (unsigned)w->local_port, w->id, (unsigned)i, s->txn);
    sipreg_buf_addz(&b, "Max-Forwards: 70\r\n");
    sipreg_buf_printf(&b, "From: <sip:%s@%s>;tag=%s\r\n", user, cfg->domain, s->tag);
    sipreg_buf_printf(&b, "To: <sip:%s@%s>\r\n", user, cfg->domain);
    sipreg_buf_printf(&b, "Call-ID: %s\r\n", s->call_id);
    sipreg_buf_printf(&b, "CSeq: %u REGISTER\r\n", s->cseq);
    sipreg_buf_printf(&b, "Contact: <sip:%s@%s:%u>\r\n", user, w->local_ip,
                      (unsigned)w->local_port);
    sipreg_buf_printf(&b, "Expires: %llu\r\n",
                      (unsigned long long)(w->sh->kind == PHASE_UNREG ? 0 : cfg->expires));
    sipreg_buf_addz(&b, "User-Agent: sipreg-bench\r\n");
    int err = 0;
    if (ch) {
        pattern_expand(pass, sizeof pass, cfg->pass_pat, 0, user);
        char cnonce[17];
        snprintf(cnonce, sizeof cnonce, "%016llx", (unsigned long long)rnd(w));
        struct sipreg_auth_client_cred cr = {
            .username = sipreg_str_z(user),
            .password = sipreg_str_z(pass),
            .method = SIPREG_STR_LIT("REGISTER"),
            .uri = (struct sipreg_str){ruri, (size_t)rl},
            .cnonce = (struct sipreg_str){cnonce, 16},
            .nc = 1,
        };
        sipreg_buf_addz(&b, "Authorization: ");
        err = sipreg_auth_credentials_build(&b, ch, &cr);
        sipreg_buf_addz(&b, "\r\n");
    }
    if (!err)
        err = sipreg_msg_build_end(&b, NULL, 0);
    if (err)
        return err;
    s->len = (uint16_t)b.len;
    s->rto = T1_MS;
    s->txn_ms = now_ms;
    q_unlink(w, i);
    q_push(w, i, now_ms);
    queue_send(w, s);
    return 0;
}

static void slot_free(struct worker *w, int32_t i)
{
    struct slot *s = &w->slots[i];
    q_unlink(w, i);
    s->state = SLOT_FREE;
    s->next = w->free_head;
    w->free_head = i;
    w->nfree++;
}

static void fail(struct worker *w, int32_t i, int status)
{
    w->c.failed++;
    if (status >= STATUS_MIN && status < STATUS_MIN + STATUS_N)
        w->c.status[status - STATUS_MIN]++;
    slot_free(w, i);
}

/* Starts one registration; false when the phase has none left. */
static bool start_one(struct worker *w, int64_t now_ns)
{
    struct shared *sh = w->sh;
    uint64_t seq, user;
    for (;;) {
        seq = atomic_fetch_add_explicit(&sh->next, 1, memory_order_relaxed);
        if (seq >= sh->limit) {
            w->exhausted = true;
            return false;
        }
        user = seq % sh->cfg->users;
        if (sh->kind != PHASE_UNREG)
            break;
        if (atomic_load_explicit(&sh->registered[user / 64], memory_order_relaxed) &
            (1ull << (user % 64)))
            break;
    }
    int32_t i = w->free_head;
    struct slot *s = &w->slots[i];
    w->free_head = s->next;
    w->nfree--;
    s->state = SLOT_CHALLENGE;
    s->nauth = 0;
    s->q = -1;
    s->cseq = 0;
    s->user = (uint32_t)user;
    s->first_ns = now_ns;
    snprintf(s->call_id, sizeof s->call_id, "%016llx.%x@bench", (unsigned long long)rnd(w), w->id);
    snprintf(s->tag, sizeof s->tag, "%012llx", (unsigned long long)(rnd(w) >> 16));
    w->c.started++;
    if (build_request(w, i, NULL, now_ns / 1000000) != 0)
        fail(w, i, 0);
    return true;
}

/* ---- receiving ---- */

static bool hex_field(const char **p, const char *end, uint32_t *out)
{
    uint64_t v = 0;
    const char *q = *p;
    while (q < end && q - *p < 8) {
        char c = *q;
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            break;
        v = v * 16 + d;
        q++;
    }
    if (q == *p)
        return false;
    *out = (uint32_t)v;
    *p = q;
    return true;
}

/* The slot a response's top Via branch names, or -1. */
static int32_t match(struct worker *w, struct sipreg_msg *m)
{
    const struct sipreg_via *v;
    if (sipreg_msg_via(m, &v, NULL) != 0 || !v->branch.p)
        return -1;
    static const char pre[] = "z9hG4bK.";
    const char *p = v->branch.p, *end = p + v->branch.len;
    uint32_t th, slot, txn;
    if (v->branch.len < sizeof pre - 1 || memcmp(p, pre, sizeof pre - 1) != 0)
        return -1;
    p += sizeof pre - 1;
    if (!hex_field(&p, end, &th) || p == end || *p++ != '.' || !hex_field(&p, end, &slot) ||
        p == end || *p++ != '.' || !hex_field(&p, end, &txn) || p != end)
        return -1;
    if (th != w->id || slot >= w->nslots)
        return -1;
    struct slot *s = &w->slots[slot];
    if (s->state == SLOT_FREE || s->txn != txn || m->cseq.num != s->cseq)
        return -1;
    return (int32_t)slot;
}

static void challenged(struct worker *w, int32_t i, struct sipreg_msg *m, int64_t now_ms)
{
    struct slot *s = &w->slots[i];
    struct sipreg_auth ch[8];
    size_t n = 0, idx;
    for (const struct sipreg_hdr *h = sipreg_msg_hdr_find(m, SIPREG_HDR_WWW_AUTHENTICATE);
         h && n < 8; h = sipreg_msg_hdr_next(m, h))
        if (sipreg_auth_parse(&ch[n], h->value, NULL, m->arena, NULL) == 0)
            n++;
    struct sipreg_auth_client_policy pol = {.realm = sipreg_str_z(w->sh->cfg->realm)};
    if (sipreg_auth_challenge_choose(ch, n, &pol, &idx, NULL) != 0) {
        fail(w, i, m->status);
        return;
    }
    /* credentials refused although fresh: wrong password; a stale nonce is answered again,
     * twice at most */
    if (s->nauth && (!ch[idx].stale_true || s->nauth >= 3)) {
        fail(w, i, m->status);
        return;
    }
    s->nauth++;
    s->state = SLOT_AUTH;
    if (build_request(w, i, &ch[idx], now_ms) != 0)
        fail(w, i, 0);
}

static void receive_one(struct worker *w, const char *buf, size_t len, int64_t now_ns)
{
    char mem[8192];
    struct sipreg_arena a;
    struct sipreg_msg m;
    sipreg_arena_init(&a, mem, sizeof mem);
    if (sipreg_msg_parse(&m, buf, len, SIPREG_MSG_DATAGRAM, NULL, &a, NULL) != 0 || m.is_request) {
        w->c.stray++;
        return;
    }
    int32_t i = match(w, &m);
    if (i < 0) {
        w->c.stray++; /* a retransmitted response of a finished transaction, or garbage */
        return;
    }
    if (m.status < 200)
        return;
    struct slot *s = &w->slots[i];
    if (m.status == 401) {
        challenged(w, i, &m, now_ns / 1000000);
        return;
    }
    if (m.status >= 300) {
        fail(w, i, m.status);
        return;
    }
    if (s->state != SLOT_AUTH) {
        fail(w, i, m.status); /* 2xx without authentication: not what we measure */
        return;
    }
    uint64_t us = (uint64_t)(now_ns - s->first_ns) / 1000;
    w->c.ok++;
    if (now_ns <= w->sh->t_end)
        w->c.ok_in_window++;
    w->c.hist[hist_index(us)]++;
    if (us > w->c.lat_max_us)
        w->c.lat_max_us = us;
    w->c.last_ok_ns = now_ns;
    if (w->sh->kind != PHASE_UNREG && w->sh->registered)
        atomic_fetch_or_explicit(&w->sh->registered[s->user / 64], 1ull << (s->user % 64),
                                 memory_order_relaxed);
    slot_free(w, i);
}

static void receive_all(struct worker *w, char (*rx)[RX_SIZE], struct mmsghdr *mm,
                        struct iovec *iov)
{
    for (int rounds = 0; rounds < 16; rounds++) {
        for (unsigned k = 0; k < BATCH; k++) {
            iov[k] = (struct iovec){rx[k], RX_SIZE};
            memset(&mm[k], 0, sizeof mm[k]);
            mm[k].msg_hdr.msg_iov = &iov[k];
            mm[k].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(w->fd, mm, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        int64_t now = mono_ns();
        for (int k = 0; k < n; k++)
            receive_one(w, rx[k], mm[k].msg_len, now);
        if (n < BATCH)
            return;
    }
}

static void fire_timers(struct worker *w, int64_t now_ms)
{
    for (int q = 0; q < NQUEUE; q++) {
        while (w->qhead[q] >= 0 && w->slots[w->qhead[q]].due_ms <= now_ms) {
            int32_t i = w->qhead[q];
            struct slot *s = &w->slots[i];
            q_unlink(w, i);
            if (now_ms - s->txn_ms >= TIMER_F_MS) {
                w->c.timeouts++;
                slot_free(w, i);
                continue;
            }
            s->rto = s->rto * 2 < T2_MS ? s->rto * 2 : T2_MS;
            q_push(w, i, now_ms);
            queue_send(w, s);
            w->c.retrans++;
        }
    }
}

static int64_t next_timer_ms(const struct worker *w)
{
    int64_t t = INT64_MAX;
    for (int q = 0; q < NQUEUE; q++)
        if (w->qhead[q] >= 0 && w->slots[w->qhead[q]].due_ms < t)
            t = w->slots[w->qhead[q]].due_ms;
    return t;
}

static void publish(struct worker *w)
{
    atomic_store_explicit(&w->pub_ok, w->c.ok, memory_order_relaxed);
    atomic_store_explicit(&w->pub_fail, w->c.failed + w->c.timeouts, memory_order_relaxed);
    atomic_store_explicit(&w->pub_out, w->nslots - w->nfree, memory_order_relaxed);
    atomic_store_explicit(&w->pub_retrans, w->c.retrans, memory_order_relaxed);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    static __thread char rx[BATCH][RX_SIZE];
    struct mmsghdr mm[BATCH];
    struct iovec iov[BATCH];
    for (;;) {
        receive_all(w, rx, mm, iov);
        int64_t now = mono_ns();
        fire_timers(w, now / 1000000);
        if (atomic_load_explicit(&interrupted, memory_order_relaxed) > 1)
            break; /* second SIGINT: abandon what is outstanding */
        bool may_start =
            !w->exhausted && !atomic_load_explicit(&sh->stop_start, memory_order_relaxed);
        int64_t next_start = INT64_MAX;
        if (may_start && sh->paced) {
            /* open loop: starts are due at a fixed rate whatever the answers; one due while
             * every slot is busy is not started (counted), never made up for later. Those due
             * before the end are started even when this thread wakes up after it. */
            int64_t upto = now < sh->t_end ? now : sh->t_end - 1;
            uint64_t due = (uint64_t)((double)(upto - sh->t0) * (double)w->rate / 1e9) + 1;
            if (now >= sh->t_end && w->due_count >= due)
                w->exhausted = true;
            while (w->due_count < due && !w->exhausted) {
                w->due_count++;
                if (!w->nfree)
                    w->c.skipped++;
                else
                    start_one(w, now);
            }
            next_start = sh->t0 + (int64_t)((double)w->due_count * 1e9 / (double)w->rate);
        } else if (may_start && now >= sh->t_end) {
            w->exhausted = true;
        } else if (may_start) {
            for (unsigned k = 0; k < BATCH && w->nfree && !w->exhausted; k++)
                start_one(w, now);
            if (w->nfree && !w->exhausted)
                next_start = now;
        }
        flush(w);
        publish(w);
        bool starting = may_start && !w->exhausted;
        if (!starting && w->nfree == w->nslots)
            break;
        int64_t wake = next_timer_ms(w);
        wake = wake == INT64_MAX ? INT64_MAX : wake * 1000000;
        if (next_start < wake)
            wake = next_start;
        if (starting && sh->t_end < wake)
            wake = sh->t_end;
        if (now + 100000000 < wake)
            wake = now + 100000000; /* look at the stop flags 10 times a second */
        int64_t wait = wake - mono_ns();
        if (wait < 0)
            wait = 0;
        struct timespec ts = {(time_t)(wait / 1000000000), (long)(wait % 1000000000)};
        struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
        ppoll(&pfd, 1, &ts, NULL);
    }
    w->c.abandoned = w->nslots - w->nfree;
    publish(w);
    atomic_store(&w->done, 1);
    return NULL;
}

/* ---- setup and reporting ---- */

/* A thread's socket: connected to the target, kept for every phase, so that the unregister
 * phase names the very contacts the run registered. */
struct sock {
    int fd;
    char ip[SIPREG_NETADDR_STRLEN];
    uint16_t port;
};

static int sock_open(struct sock *k, const struct cfg *cfg, unsigned t)
{
    k->fd = socket(cfg->target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (k->fd < 0) {
        fprintf(stderr, "sipreg bench: socket: %s\n", strerror(errno));
        return -1;
    }
    if (cfg->nsources) {
        const struct sockaddr_storage *src = &cfg->sources[t % cfg->nsources];
        socklen_t sl =
            src->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        if (bind(k->fd, (const struct sockaddr *)src, sl) != 0) {
            fprintf(stderr, "sipreg bench: --source: cannot bind: %s\n", strerror(errno));
            return -1;
        }
    }
    int sz = 8 << 20;
    setsockopt(k->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    setsockopt(k->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    struct sockaddr_storage local;
    socklen_t ll = sizeof local;
    if (connect(k->fd, (const struct sockaddr *)&cfg->target, cfg->target_len) != 0 ||
        getsockname(k->fd, (struct sockaddr *)&local, &ll) != 0) {
        fprintf(stderr, "sipreg bench: %s: %s\n", cfg->target_s, strerror(errno));
        return -1;
    }
    if (local.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&local;
        inet_ntop(AF_INET, &a->sin_addr, k->ip, sizeof k->ip);
        k->port = ntohs(a->sin_port);
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&local;
        k->ip[0] = '[';
        inet_ntop(AF_INET6, &a->sin6_addr, k->ip + 1, sizeof k->ip - 2);
        strcat(k->ip, "]");
        k->port = ntohs(a->sin6_port);
    }
    return 0;
}

static int worker_init(struct worker *w, struct shared *sh, unsigned id, uint32_t nslots,
                       const struct sock *k)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    w->sh = sh;
    w->fd = k->fd;
    memcpy(w->local_ip, k->ip, sizeof w->local_ip);
    w->local_port = k->port;
    w->slots = calloc(nslots, sizeof *w->slots);
    if (!w->slots) {
        fprintf(stderr, "sipreg bench: out of memory for %u slots\n", nslots);
        return -1;
    }
    w->nslots = w->nfree = nslots;
    for (uint32_t i = 0; i < nslots; i++) {
        w->slots[i].next = i + 1 < nslots ? (int32_t)(i + 1) : -1;
        w->slots[i].q = -1;
    }
    w->free_head = 0;
    for (int q = 0; q < NQUEUE; q++)
        w->qhead[q] = w->qtail[q] = -1;
    w->rng = (uint64_t)mono_ns() ^ ((uint64_t)(id + 1) * 0x9e3779b97f4a7c15ull) ^
             ((uint64_t)getpid() << 32);
    if (!w->rng)
        w->rng = 1;
    /* a late answer from an earlier phase on the same socket must not match a slot */
    w->txn_seq = (uint32_t)rnd(w);
    return 0;
}

static void merge(struct counters *t, const struct counters *c)
{
    t->started += c->started;
    t->ok += c->ok;
    t->ok_in_window += c->ok_in_window;
    t->failed += c->failed;
    t->timeouts += c->timeouts;
    t->retrans += c->retrans;
    t->sent += c->sent;
    t->send_errors += c->send_errors;
    t->skipped += c->skipped;
    t->stray += c->stray;
    t->abandoned += c->abandoned;
    for (unsigned i = 0; i < STATUS_N; i++)
        t->status[i] += c->status[i];
    for (unsigned i = 0; i < HIST_N; i++)
        t->hist[i] += c->hist[i];
    if (c->lat_max_us > t->lat_max_us)
        t->lat_max_us = c->lat_max_us;
    if (c->last_ok_ns > t->last_ok_ns)
        t->last_ok_ns = c->last_ok_ns;
}

struct result {
    struct counters c;
    double elapsed_s; /* start to last answer */
    double window_s;  /* start to the end of starting */
};

static const char *phase_name(enum phase_kind k)
{
    return k == PHASE_RUN ? "register" : k == PHASE_STORM ? "storm" : "unregister";
}

/* Runs one phase on every thread; prints a progress line each second on stderr. */
static int run_phase(const struct cfg *cfg, enum phase_kind kind, atomic_ullong *registered,
                     const struct sock *socks, struct result *res)
{
    struct shared sh = {.cfg = cfg, .kind = kind, .registered = registered};
    uint32_t nslots;
    unsigned nth = (unsigned)cfg->threads;
    if (kind == PHASE_STORM) {
        sh.limit = cfg->users;
        uint64_t per = (cfg->users + nth - 1) / nth;
        nslots = (uint32_t)(per < SLOTS_MAX ? per : SLOTS_MAX);
    } else {
        sh.paced = !cfg->max && !cfg->storm;
        sh.limit = kind == PHASE_UNREG ? cfg->users : UINT64_MAX;
        uint64_t c = cfg->concurrency;
        if (!cfg->concurrency_set && sh.paced) {
            /* open loop: room for 2 s of starts per thread, so that only a stalled target
             * fills the window */
            c = 2 * cfg->rate / nth;
            c = c < 256 ? 256 : c;
        }
        nslots = (uint32_t)(c < SLOTS_MAX ? c : SLOTS_MAX);
    }
    struct worker *ws = calloc(nth, sizeof *ws);
    if (!ws)
        return -1;
    int err = 0;
    unsigned made = 0;
    for (; made < nth; made++)
        if ((err = worker_init(&ws[made], &sh, made, nslots, &socks[made])) != 0)
            break;
    sh.t0 = mono_ns();
    sh.t_end = kind == PHASE_RUN ? sh.t0 + (int64_t)cfg->duration * 1000000000 : INT64_MAX;
    if (kind != PHASE_RUN && cfg->duration)
        sh.t_end = sh.t0 + (int64_t)cfg->duration * 1000000000;
    unsigned started = 0;
    for (unsigned t = 0; !err && t < nth; t++) {
        ws[t].rate = cfg->rate / nth + (t < cfg->rate % nth ? 1 : 0);
        if (sh.paced && !ws[t].rate)
            ws[t].exhausted = true;
        if (pthread_create(&ws[t].th, NULL, worker_main, &ws[t]) != 0) {
            fprintf(stderr, "sipreg bench: cannot start thread %u\n", t);
            atomic_store(&sh.stop_start, 1);
            err = -1;
            break;
        }
        started++;
    }
    uint64_t last_ok = 0;
    int64_t last = sh.t0, end_start = 0;
    for (unsigned tick = 1; started;) {
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
        int64_t now = mono_ns();
        if (atomic_load(&interrupted) && !atomic_load(&sh.stop_start))
            atomic_store(&sh.stop_start, 1);
        if (!end_start && now >= sh.t_end)
            end_start = sh.t_end;
        unsigned ndone = 0;
        for (unsigned t = 0; t < started; t++)
            ndone += (unsigned)atomic_load(&ws[t].done);
        if (ndone == started)
            break;
        if (now - sh.t0 < (int64_t)tick * 1000000000)
            continue;
        tick++;
        uint64_t ok = 0, fl = 0, out = 0, rt = 0;
        for (unsigned t = 0; t < started; t++) {
            ok += atomic_load_explicit(&ws[t].pub_ok, memory_order_relaxed);
            fl += atomic_load_explicit(&ws[t].pub_fail, memory_order_relaxed);
            out += atomic_load_explicit(&ws[t].pub_out, memory_order_relaxed);
            rt += atomic_load_explicit(&ws[t].pub_retrans, memory_order_relaxed);
        }
        fprintf(stderr,
                "sipreg bench: %s %3llds rate %.0f/s ok %llu failed %llu outstanding %llu "
                "retrans %llu\n",
                phase_name(kind), (long long)((now - sh.t0) / 1000000000),
                (double)(ok - last_ok) * 1e9 / (double)(now - last), (unsigned long long)ok,
                (unsigned long long)fl, (unsigned long long)out, (unsigned long long)rt);
        last_ok = ok;
        last = now;
    }
    memset(res, 0, sizeof *res);
    for (unsigned t = 0; t < started; t++) {
        pthread_join(ws[t].th, NULL);
        merge(&res->c, &ws[t].c);
    }
    int64_t now = mono_ns();
    res->elapsed_s = (double)(now - sh.t0) / 1e9;
    if (kind == PHASE_RUN) {
        int64_t e = end_start ? end_start : now < sh.t_end ? now : sh.t_end;
        res->window_s = (double)(e - sh.t0) / 1e9;
    } else {
        res->window_s = res->elapsed_s;
    }
    if (res->c.last_ok_ns)
        res->c.last_ok_ns -= sh.t0; /* from now on: ns since the phase began */
    for (unsigned t = 0; t < made; t++)
        free(ws[t].slots);
    free(ws);
    return err;
}

static void print_text(const char *title, const struct result *r, bool is_run)
{
    const struct counters *c = &r->c;
    printf("%s: %llu started, %llu ok, %llu failed, %llu timeouts", title,
           (unsigned long long)c->started, (unsigned long long)c->ok, (unsigned long long)c->failed,
           (unsigned long long)c->timeouts);
    if (c->skipped)
        printf(", %llu not started (window full)", (unsigned long long)c->skipped);
    if (c->abandoned)
        printf(", %llu abandoned (interrupted)", (unsigned long long)c->abandoned);
    printf("\n");
    if (is_run)
        printf("  achieved rate: %.1f/s (%llu ok within %.2f s)\n",
               r->window_s > 0 ? (double)c->ok_in_window / r->window_s : 0.0,
               (unsigned long long)c->ok_in_window, r->window_s);
    printf("  requests: %llu sent, %llu retransmissions", (unsigned long long)c->sent,
           (unsigned long long)c->retrans);
    if (c->send_errors)
        printf(", %llu send errors", (unsigned long long)c->send_errors);
    if (c->stray)
        printf(", %llu stray responses", (unsigned long long)c->stray);
    printf("\n");
    if (c->failed) {
        printf("  failures by status:");
        for (unsigned i = 0; i < STATUS_N; i++)
            if (c->status[i])
                printf(" %u=%llu", i + STATUS_MIN, (unsigned long long)c->status[i]);
        uint64_t other = c->failed;
        for (unsigned i = 0; i < STATUS_N; i++)
            other -= c->status[i];
        if (other)
            printf(" internal=%llu", (unsigned long long)other);
        printf("\n");
    }
    if (c->ok)
        printf("  latency, first REGISTER to 200 OK (ms): p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f "
               "max %.3f\n",
               hist_pct(c, 50) / 1000, hist_pct(c, 90) / 1000, hist_pct(c, 99) / 1000,
               hist_pct(c, 99.9) / 1000, (double)c->lat_max_us / 1000);
}

static void print_json_phase(const char *name, const struct result *r, bool is_run)
{
    const struct counters *c = &r->c;
    printf("\"%s\":{\"started\":%llu,\"ok\":%llu,\"failed\":%llu,\"timeouts\":%llu,"
           "\"not_started\":%llu,\"requests_sent\":%llu,\"retransmissions\":%llu,"
           "\"send_errors\":%llu,\"stray_responses\":%llu,\"abandoned\":%llu,\"elapsed_s\":%.3f",
           name, (unsigned long long)c->started, (unsigned long long)c->ok,
           (unsigned long long)c->failed, (unsigned long long)c->timeouts,
           (unsigned long long)c->skipped, (unsigned long long)c->sent,
           (unsigned long long)c->retrans, (unsigned long long)c->send_errors,
           (unsigned long long)c->stray, (unsigned long long)c->abandoned, r->elapsed_s);
    if (is_run)
        printf(",\"window_s\":%.3f,\"ok_in_window\":%llu,\"achieved_rate\":%.1f", r->window_s,
               (unsigned long long)c->ok_in_window,
               r->window_s > 0 ? (double)c->ok_in_window / r->window_s : 0.0);
    printf(",\"failures\":{");
    const char *sep = "";
    for (unsigned i = 0; i < STATUS_N; i++)
        if (c->status[i]) {
            printf("%s\"%u\":%llu", sep, i + STATUS_MIN, (unsigned long long)c->status[i]);
            sep = ",";
        }
    printf("},\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p99.9\":%.3f,"
           "\"max\":%.3f}",
           hist_pct(c, 50) / 1000, hist_pct(c, 90) / 1000, hist_pct(c, 99) / 1000,
           hist_pct(c, 99.9) / 1000, (double)c->lat_max_us / 1000);
    printf("}");
}

static void usage(FILE *f)
{
    fprintf(
        f, "usage: sipreg bench register --target IP:PORT --users N\n"
           "                             (--rate R --duration S | --max --duration S | --storm)\n"
           "                             [--threads T] [--concurrency C] [--unregister]\n"
           "                             [--user-pattern PAT] [--password-pattern PAT]\n"
           "                             [--realm REALM] [--domain DOMAIN] [--expires S] [--json]\n"
           "                             [--source IP]...\n"
           "Registers users 1..N in order, wrapping around, each registration with a new Call-ID\n"
           "and the whole challenge flow (REGISTER, 401, REGISTER with MD5/SHA-256 digest\n"
           "credentials, 200), over UDP. --rate R: open loop, R registrations started per second\n"
           "whatever the answers (at most C outstanding per thread: default 2 s of the rate, at\n"
           "least 256; one due when none is free is counted as not started). --max: closed loop,\n"
           "C outstanding per thread (default 100). --storm: every user at once (at most 65536\n"
           "outstanding per thread), reporting when the last one was registered; --duration then\n"
           "bounds the starts. --unregister: after the run, each user registered in it is\n"
           "unregistered (Expires: 0, same challenge flow) and reported apart.\n"
           "Unanswered requests are retransmitted from 500 ms, doubling up to 4 s; a transaction\n"
           "unanswered for 32 s counts as a timeout. Defaults: --user-pattern 'user%%05d' (of\n"
           "1..N), --password-pattern 'pass-%%s' (of the username), --realm and --domain\n"
           "bench.local, --expires 3600, --threads 1. A progress line goes to stderr each\n"
           "second; the summary to stdout (--json: one JSON object). --source IP (repeatable):\n"
           "thread t sends from the t-th address, round robin (a registrar that steers each\n"
           "source address to one worker needs several to use several workers).\n"
           "Exit codes: 0 every registration succeeded, 1 some failed or timed out, 2 usage.\n");
}

static int bad_value(const char *flag, const char *why, const char *v)
{
    fprintf(stderr, "sipreg bench: %s: %s, not '%s'\n", flag, why, v);
    return EXIT_USAGE;
}

/* One --source address (no port). */
static int parse_source(struct cfg *cfg, const char *flag, const char *val)
{
    if (cfg->nsources == sizeof cfg->sources / sizeof cfg->sources[0]) {
        fprintf(stderr, "sipreg bench: %s: at most 64 addresses\n", flag);
        return EXIT_USAGE;
    }
    struct sockaddr_storage *ss = &cfg->sources[cfg->nsources];
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, val, &a4->sin_addr) == 1)
        a4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, val, &a6->sin6_addr) == 1)
        a6->sin6_family = AF_INET6;
    else
        return bad_value(flag, "expects an IP address", val);
    cfg->nsources++;
    return 0;
}

static int num(const char *flag, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    if (sipreg_str_to_u64(sipreg_str_z(v), max, out) != 0 || *out < min) {
        char why[96];
        snprintf(why, sizeof why, "expects a whole number from %llu to %llu",
                 (unsigned long long)min, (unsigned long long)max);
        return bad_value(flag, why, v);
    }
    return 0;
}

static int parse_target(struct cfg *cfg, const char *v)
{
    struct sipreg_netaddr na;
    if (sipreg_netaddr_parse(&na, v, 0) != 0 || na.transport != SIPREG_TRANSPORT_UDP || !na.port)
        return bad_value("--target", "expects IPv4:PORT or [IPv6]:PORT", v);
    memset(&cfg->target, 0, sizeof cfg->target);
    if (na.family == 4) {
        struct sockaddr_in *a = (struct sockaddr_in *)&cfg->target;
        a->sin_family = AF_INET;
        a->sin_port = htons(na.port);
        memcpy(&a->sin_addr, na.ip, 4);
        cfg->target_len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&cfg->target;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(na.port);
        memcpy(&a->sin6_addr, na.ip, 16);
        cfg->target_len = sizeof *a;
    }
    snprintf(cfg->target_s, sizeof cfg->target_s, "%s", v);
    return 0;
}

static bool token_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s == '"' || *s == '\\' || *s == '<' || *s == '>' || *s == '@' ||
            (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

enum {
    OPT_TARGET = 256,
    OPT_USERS,
    OPT_USER_PAT,
    OPT_PASS_PAT,
    OPT_REALM,
    OPT_DOMAIN,
    OPT_RATE,
    OPT_MAX,
    OPT_DURATION,
    OPT_THREADS,
    OPT_CONC,
    OPT_UNREG,
    OPT_STORM,
    OPT_JSON,
    OPT_EXPIRES,
    OPT_SOURCE,
};

static int parse_args(struct cfg *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"target", required_argument, NULL, OPT_TARGET},
        {"users", required_argument, NULL, OPT_USERS},
        {"user-pattern", required_argument, NULL, OPT_USER_PAT},
        {"password-pattern", required_argument, NULL, OPT_PASS_PAT},
        {"realm", required_argument, NULL, OPT_REALM},
        {"domain", required_argument, NULL, OPT_DOMAIN},
        {"rate", required_argument, NULL, OPT_RATE},
        {"max", no_argument, NULL, OPT_MAX},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"concurrency", required_argument, NULL, OPT_CONC},
        {"unregister", no_argument, NULL, OPT_UNREG},
        {"storm", no_argument, NULL, OPT_STORM},
        {"json", no_argument, NULL, OPT_JSON},
        {"expires", required_argument, NULL, OPT_EXPIRES},
        {"source", required_argument, NULL, OPT_SOURCE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool have_target = false, have_users = false, have_rate = false, have_dur = false;
    int o, r = 0, pos = 0;
    const char *val, *flag;
    while (!r && (o = cmd_getopt("bench", argc, argv, opts, &pos, &val, &flag)) != -1) {
        switch (o) {
        case 'h': usage(stdout); return -1;
        case OPT_TARGET: r = parse_target(cfg, val), have_target = true; break;
        case OPT_USERS: r = num(flag, val, 1, USERS_MAX, &cfg->users), have_users = true; break;
        case OPT_USER_PAT:
            cfg->user_pat = val;
            if (pattern_check(val, 'd') != 0 || !token_ok(val))
                r = bad_value(flag, "expects one %d (e.g. user%05d) and no spaces or quotes", val);
            break;
        case OPT_PASS_PAT:
            cfg->pass_pat = val;
            if (pattern_check(val, 's') != 0)
                r = bad_value(flag, "expects one %s (the username), e.g. pass-%s", val);
            break;
        case OPT_REALM:
            cfg->realm = val;
            if (!token_ok(val))
                r = bad_value(flag, "expects a realm without spaces or quotes", val);
            break;
        case OPT_DOMAIN:
            cfg->domain = val;
            if (!token_ok(val) || strlen(val) > 253)
                r = bad_value(flag, "expects a host name", val);
            break;
        case OPT_RATE: r = num(flag, val, 1, 10000000, &cfg->rate), have_rate = true; break;
        case OPT_MAX: cfg->max = true; break;
        case OPT_DURATION: r = num(flag, val, 1, 86400, &cfg->duration), have_dur = true; break;
        case OPT_THREADS: r = num(flag, val, 1, 64, &cfg->threads); break;
        case OPT_CONC:
            r = num(flag, val, 1, SLOTS_MAX, &cfg->concurrency);
            cfg->concurrency_set = true;
            break;
        case OPT_UNREG: cfg->unregister = true; break;
        case OPT_STORM: cfg->storm = true; break;
        case OPT_JSON: cfg->json = true; break;
        case OPT_EXPIRES: r = num(flag, val, 1, 4294967295u, &cfg->expires); break;
        case OPT_SOURCE: r = parse_source(cfg, flag, val); break;
        case 1: fprintf(stderr, "sipreg bench: unexpected argument '%s'\n", val); return EXIT_USAGE;
        default: return EXIT_USAGE; /* cmd_getopt said why */
        }
    }
    if (r)
        return r;
    const char *missing = !have_target ? "--target" : !have_users ? "--users" : NULL;
    if (missing) {
        fprintf(stderr, "sipreg bench: %s: required\n", missing);
        return EXIT_USAGE;
    }
    for (unsigned i = 0; i < cfg->nsources; i++)
        if (cfg->sources[i].ss_family != cfg->target.ss_family) {
            fprintf(stderr, "sipreg bench: --source: not of the target's address family\n");
            return EXIT_USAGE;
        }
    if (cfg->storm) {
        if (have_rate || cfg->max) {
            fprintf(stderr, "sipreg bench: --storm: registers every user at once; it takes "
                            "neither --rate nor --max\n");
            return EXIT_USAGE;
        }
        return 0;
    }
    if (have_rate == cfg->max) {
        fprintf(stderr, have_rate ? "sipreg bench: --rate: not with --max (choose one)\n"
                                  : "sipreg bench: --rate: required (or --max, or --storm)\n");
        return EXIT_USAGE;
    }
    if (!have_dur) {
        fprintf(stderr, "sipreg bench: --duration: required with %s\n",
                cfg->max ? "--max" : "--rate");
        return EXIT_USAGE;
    }
    if (have_rate && cfg->rate < cfg->threads) {
        fprintf(stderr, "sipreg bench: --rate: %llu is below --threads %llu\n",
                (unsigned long long)cfg->rate, (unsigned long long)cfg->threads);
        return EXIT_USAGE;
    }
    return 0;
}

static int bench_register(int argc, char **argv)
{
    struct cfg cfg = {
        .user_pat = "user%05d",
        .pass_pat = "pass-%s",
        .realm = "bench.local",
        .domain = "bench.local",
        .threads = 1,
        .concurrency = 100,
        .expires = 3600,
    };
    int r = parse_args(&cfg, argc, argv);
    if (r)
        return r < 0 ? EXIT_OK : r;
    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    size_t words = (size_t)(cfg.users + 63) / 64;
    atomic_ullong *registered = calloc(words, sizeof *registered);
    if (!registered) {
        fprintf(stderr, "sipreg bench: out of memory\n");
        return EXIT_FAILED;
    }
    struct sock socks[64];
    unsigned nsock = 0;
    int err = 0;
    for (; !err && nsock < cfg.threads; nsock++)
        err = sock_open(&socks[nsock], &cfg, nsock);
    struct result run, unreg;
    memset(&run, 0, sizeof run);
    memset(&unreg, 0, sizeof unreg);
    enum phase_kind kind = cfg.storm ? PHASE_STORM : PHASE_RUN;
    if (!err)
        err = run_phase(&cfg, kind, registered, socks, &run);
    if (!err && cfg.unregister && !atomic_load(&interrupted))
        err = run_phase(&cfg, PHASE_UNREG, registered, socks, &unreg);
    for (unsigned t = 0; t < nsock; t++)
        if (socks[t].fd >= 0)
            close(socks[t].fd);
    free(registered);
    if (err)
        return EXIT_FAILED;

    double storm_ms = (double)run.c.last_ok_ns / 1e6;
    bool all_ok = run.c.ok == run.c.started && !run.c.skipped && run.c.ok > 0;
    if (cfg.storm)
        all_ok = all_ok && run.c.ok == cfg.users;
    if (cfg.unregister)
        all_ok = all_ok && unreg.c.ok == unreg.c.started;
    if (cfg.json) {
        printf("{\"target\":\"%s\",\"users\":%llu,\"mode\":\"%s\",\"rate\":%llu,"
               "\"duration_s\":%llu,\"threads\":%llu,\"concurrency\":%llu,",
               cfg.target_s, (unsigned long long)cfg.users,
               cfg.storm ? "storm"
               : cfg.max ? "max"
                         : "rate",
               (unsigned long long)(cfg.max || cfg.storm ? 0 : cfg.rate),
               (unsigned long long)cfg.duration, (unsigned long long)cfg.threads,
               (unsigned long long)cfg.concurrency);
        print_json_phase(cfg.storm ? "storm" : "register", &run, !cfg.storm);
        if (cfg.storm)
            printf(",\"all_registered\":%s,\"all_registered_ms\":%.3f",
                   run.c.ok == cfg.users ? "true" : "false", storm_ms);
        if (cfg.unregister) {
            printf(",");
            print_json_phase("unregister", &unreg, false);
        }
        printf(",\"interrupted\":%s}\n", atomic_load(&interrupted) ? "true" : "false");
    } else {
        printf("sipreg bench register: target %s, %llu users, ", cfg.target_s,
               (unsigned long long)cfg.users);
        if (cfg.storm)
            printf("storm");
        else if (cfg.max)
            printf("closed loop (%llu outstanding per thread), %llu s",
                   (unsigned long long)cfg.concurrency, (unsigned long long)cfg.duration);
        else
            printf("%llu/s, %llu s", (unsigned long long)cfg.rate,
                   (unsigned long long)cfg.duration);
        printf(", %llu thread%s\n", (unsigned long long)cfg.threads, cfg.threads > 1 ? "s" : "");
        print_text(cfg.storm ? "storm" : "registrations", &run, !cfg.storm);
        if (cfg.storm) {
            if (run.c.ok == cfg.users)
                printf("  all %llu users registered after %.1f ms, with %llu retransmissions\n",
                       (unsigned long long)cfg.users, storm_ms, (unsigned long long)run.c.retrans);
            else
                printf("  not all registered: %llu of %llu (the last after %.1f ms), %llu "
                       "retransmissions\n",
                       (unsigned long long)run.c.ok, (unsigned long long)cfg.users, storm_ms,
                       (unsigned long long)run.c.retrans);
        }
        if (cfg.unregister)
            print_text("unregistrations", &unreg, false);
        if (atomic_load(&interrupted))
            printf("  interrupted\n");
    }
    return all_ok ? EXIT_OK : EXIT_FAILED;
}

int cmd_bench(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "register"))
        return bench_register(argc - 1, argv + 1);
    fprintf(stderr, "sipreg bench: unknown benchmark '%s' (there is: register)\n", argv[1]);
    return EXIT_USAGE;
}
