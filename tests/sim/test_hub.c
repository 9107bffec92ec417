/* test_hub.c - the hub over real TCP: the hub on stack B, its clients TCP sockets on
 * stack A, the simulated wire between them, a fake clock. Rooms, errors, durability and
 * a subscriber that stops reading. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../apps/hub.h"
#include "../../stack/sock.h"
#include "simnet.h"

#define HUB_PORT 7000
#define SEC      1000000ull

/* A client on A: collects what the hub says, line by line. */
struct client {
    struct sock *sock;
    bool connected, closed, failed, stalled;
    char *in; /* every byte received (bounded by in_cap) */
    size_t in_len, in_cap;
    char *out; /* bytes not yet taken by sock_send */
    size_t out_off, out_len;
    /* streaming check of EVENT lines: count and seq going up by one */
    char line[2048];
    size_t line_len;
    unsigned events, replies;
    uint64_t last_seq;
    bool seq_gap;
};

static struct simnet net;
static struct hub_server *srv;

static void client_flush(struct client *c)
{
    while (c->out_len) {
        ssize_t n = sock_send(c->sock, c->out + c->out_off, c->out_len);
        if (n <= 0)
            return;
        c->out_off += (size_t)n;
        c->out_len -= (size_t)n;
    }
    c->out_off = 0;
}

static void client_line(struct client *c, const char *line, size_t len)
{
    if (len > 6 && !memcmp(line, "EVENT ", 6)) {
        uint64_t seq = strtoull(line + 6, NULL, 10);
        if (c->events && seq != c->last_seq + 1)
            c->seq_gap = true;
        c->last_seq = seq;
        c->events++;
    } else {
        c->replies++;
    }
}

static void on_readable(struct sock *s, void *ctx)
{
    struct client *c = ctx;
    if (c->stalled)
        return; /* never reads: TCP's window closes, the hub must cope */
    char buf[4096];
    ssize_t n;
    while ((n = sock_recv(s, buf, sizeof(buf))) > 0) {
        if (c->in && c->in_len + (size_t)n < c->in_cap) {
            memcpy(c->in + c->in_len, buf, (size_t)n);
            c->in_len += (size_t)n;
            c->in[c->in_len] = '\0';
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                client_line(c, c->line, c->line_len);
                c->line_len = 0;
            } else if (c->line_len < sizeof(c->line)) {
                c->line[c->line_len++] = buf[i];
            }
        }
    }
    if (n == 0)
        c->closed = true;
}

static void on_connect(struct sock *s, void *ctx)
{
    struct client *c = ctx;
    (void)s;
    c->connected = true;
    client_flush(c);
}

static void on_writable(struct sock *s, void *ctx)
{
    (void)s;
    client_flush(ctx);
}

static void on_closed(struct sock *s, void *ctx)
{
    on_readable(s, ctx);
    ((struct client *)ctx)->closed = true;
}

static void on_error(struct sock *s, int err, void *ctx)
{
    (void)s, (void)err;
    ((struct client *)ctx)->failed = true;
}

static const struct sock_events client_events = {
    .on_connect = on_connect,
    .on_readable = on_readable,
    .on_writable = on_writable,
    .on_closed = on_closed,
    .on_error = on_error,
};

static bool client_connected(void *ctx)
{
    struct client *c = ctx;
    return c->connected || c->failed;
}

/* Connect a client to the hub (rcvbuf 0: the stack's default). */
static void client_open(struct client *c, size_t in_cap, int rcvbuf)
{
    memset(c, 0, sizeof(*c));
    c->in_cap = in_cap;
    if (in_cap) {
        c->in = malloc(in_cap + 1);
        c->in[0] = '\0';
    }
    c->sock = sock_open(net.a, SOCK_TYPE_TCP);
    ck_assert_ptr_nonnull(c->sock);
    sock_on(c->sock, &client_events, c);
    if (rcvbuf)
        ck_assert_int_eq(sock_setopt(c->sock, SOCK_OPT_RCVBUF, rcvbuf), 0);
    ck_assert_int_eq(sock_connect(c->sock, SIM_IP_B, HUB_PORT), 0);
}

static void client_close(struct client *c)
{
    if (c->sock)
        sock_close(c->sock);
    c->sock = NULL;
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
}

static void client_send(struct client *c, const char *s)
{
    size_t n = strlen(s);
    char *o = realloc(c->out, c->out_off + c->out_len + n);
    ck_assert_ptr_nonnull(o);
    c->out = o;
    memcpy(c->out + c->out_off + c->out_len, s, n);
    c->out_len += n;
    if (c->connected)
        client_flush(c);
}

struct wait_lines {
    struct client *c;
    unsigned n;
};

static bool has_lines(void *ctx)
{
    struct wait_lines *w = ctx;
    return w->c->events + w->c->replies >= w->n;
}

/* Run until c has received n lines in all; fails the test after 5 simulated seconds. */
static void wait_lines(struct client *c, unsigned n)
{
    struct wait_lines w = {c, n};
    ck_assert_msg(simnet_run(&net, 5 * SEC, has_lines, &w), "waited for %u lines, got %u", n,
                  c->events + c->replies);
}

/* Open, connect and wait. */
static void client_up(struct client *c, size_t in_cap)
{
    client_open(c, in_cap, 0);
    ck_assert(simnet_run(&net, 5 * SEC, client_connected, c));
    ck_assert(c->connected);
}

/* Send one command and wait for its one-line answer; returns it (without "\n"). */
static const char *ask(struct client *c, const char *cmd)
{
    static char answer[256];
    size_t start = c->in_len;
    unsigned before = c->events + c->replies;
    client_send(c, cmd);
    wait_lines(c, before + 1);
    size_t len = strcspn(c->in + start, "\n");
    ck_assert_uint_lt(len, sizeof(answer));
    memcpy(answer, c->in + start, len);
    answer[len] = '\0';
    return answer;
}

static void start_hub(const struct hub_config *cfg)
{
    ck_assert(simnet_init(&net, 7, NULL, 0));
    int err = 0;
    srv = hub_server_start(net.b, HUB_PORT, cfg, &err);
    ck_assert_msg(srv != NULL, "hub_server_start: %d", err);
}

static void stop_hub(void)
{
    hub_server_stop(srv);
    srv = NULL;
    simnet_fini(&net);
}

static struct hub *core(void)
{
    return hub_server_core(srv);
}

START_TEST(room_broadcast)
{
    start_hub(NULL);
    struct client c[4];
    for (int i = 0; i < 4; i++)
        client_up(&c[i], 1 << 16);
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(ask(&c[i], "JOIN lobby\n"), "OK JOIN lobby");
    ck_assert_str_eq(ask(&c[3], "JOIN other\n"), "OK JOIN other");
    for (int i = 0; i < 5; i++) {
        char line[64], want[64];
        snprintf(line, sizeof(line), "EMIT lobby chat message %d\n", i);
        snprintf(want, sizeof(want), "OK EMIT %d", i + 1);
        ck_assert_str_eq(ask(&c[0], line), want);
    }
    wait_lines(&c[1], 1 + 5);
    wait_lines(&c[2], 1 + 5);
    simnet_run(&net, SEC / 10, NULL, NULL); /* time for anything extra to arrive */
    const char *want = "OK JOIN lobby\n"
                       "EVENT 1 lobby chat anon-1 message 0\n"
                       "EVENT 2 lobby chat anon-1 message 1\n"
                       "EVENT 3 lobby chat anon-1 message 2\n"
                       "EVENT 4 lobby chat anon-1 message 3\n"
                       "EVENT 5 lobby chat anon-1 message 4\n";
    ck_assert_str_eq(c[1].in, want); /* exactly the other two, in order, seq by one */
    ck_assert_str_eq(c[2].in, want);
    ck_assert_uint_eq(c[0].events, 0);            /* not back to the sender */
    ck_assert_str_eq(c[3].in, "OK JOIN other\n"); /* other rooms see nothing */
    ck_assert_uint_eq(hub_stats(core())->events_out, 10);
    for (int i = 0; i < 4; i++)
        client_close(&c[i]);
    stop_hub();
}
END_TEST

START_TEST(errors_keep_the_connection)
{
    start_hub(NULL);
    struct client a, b;
    client_up(&a, 1 << 16);
    client_up(&b, 1 << 16);
    ck_assert_str_eq(ask(&b, "JOIN r\n"), "OK JOIN r");
    ck_assert(!strncmp(ask(&a, "EMIT r ev not-joined\n"), "ERR 403 ", 8));
    ck_assert_str_eq(ask(&a, "JOIN r\r\n"), "OK JOIN r");
    ck_assert(!strncmp(ask(&a, "EMIT r connect x\n"), "ERR 422 ", 8));
    ck_assert(!strncmp(ask(&a, "EMIT r newListener x\n"), "ERR 422 ", 8));
    ck_assert(!strncmp(ask(&a, "BOGUS\n"), "ERR 400 ", 8));
    ck_assert(!strncmp(ask(&a, "JOIN no/slashes\n"), "ERR 400 ", 8));
    ck_assert(!strncmp(ask(&a, "ACK 1\n"), "ERR 403 ", 8));
    /* 64 KiB without a newline: one ERR 413, and the line after it works */
    char *big = malloc(65536 + 2);
    memset(big, 'x', 65536);
    big[65536] = '\n';
    big[65537] = '\0';
    ck_assert(!strncmp(ask(&a, big), "ERR 413 ", 8));
    free(big);
    ck_assert_str_eq(ask(&a, "EMIT r ev a\x01\x1b[1mb\tc\n"), "OK EMIT 1");
    wait_lines(&b, 2);
    ck_assert_str_eq(b.in, "OK JOIN r\nEVENT 1 r ev anon-1 a[1mb\tc\n"); /* scrubbed */
    ck_assert_uint_eq(hub_stats(core())->errors, 7);
    ck_assert_str_eq(ask(&a, "QUIT\n"), "OK BYE");
    struct hub *h = core();
    for (int i = 0; i < 50 && hub_stats(h)->clients != 1; i++)
        simnet_run(&net, SEC / 10, NULL, NULL);
    ck_assert_uint_eq(hub_stats(h)->clients, 1); /* the hub closed it after OK BYE */
    ck_assert(a.closed);
    client_close(&a);
    client_close(&b);
    stop_hub();
}
END_TEST

static void wait_clients(unsigned n)
{
    for (int i = 0; i < 100 && hub_stats(core())->clients != n; i++)
        simnet_run(&net, SEC / 20, NULL, NULL);
    ck_assert_uint_eq(hub_stats(core())->clients, n);
}

/* Check that c->in, after its first line, holds EVENTs first..last of room "news". */
static void assert_events(const struct client *c, const char *first_line, int first, int last)
{
    size_t n = strlen(first_line);
    ck_assert_msg(!strncmp(c->in, first_line, n), "got: %.60s", c->in);
    const char *p = c->in + n;
    char want[80];
    for (int i = first; i <= last; i++) {
        snprintf(want, sizeof(want), "EVENT %d news tick anon-1 %d\n", i, i);
        ck_assert_msg(!strncmp(p, want, strlen(want)), "want %s got %.40s", want, p);
        p += strlen(want);
    }
    ck_assert_str_eq(p, "");
}

START_TEST(durable_replay)
{
    struct hub_config cfg;
    hub_config_init(&cfg);
    cfg.queue_len = 25;
    start_hub(&cfg);
    struct client pub, d;
    client_up(&pub, 1 << 16);
    ck_assert_str_eq(ask(&pub, "JOIN news\n"), "OK JOIN news");
    client_up(&d, 1 << 16);
    ck_assert_str_eq(ask(&d, "HELLO dur\n"), "OK HELLO dur 0");
    ck_assert_str_eq(ask(&d, "JOIN news\n"), "OK JOIN news");
    client_close(&d);
    wait_clients(1);

    char line[64];
    for (int i = 1; i <= 20; i++) {
        snprintf(line, sizeof(line), "EMIT news tick %d\n", i);
        client_send(&pub, line);
    }
    wait_lines(&pub, 1 + 20);
    ck_assert_int_eq(hub_queued(core(), "dur"), 20);

    /* back: OK HELLO first, then all 20 in order */
    client_up(&d, 1 << 16);
    client_send(&d, "HELLO dur\n");
    wait_lines(&d, 21);
    simnet_run(&net, SEC / 10, NULL, NULL);
    assert_events(&d, "OK HELLO dur 20\n", 1, 20);
    d.in_len = 0;
    d.in[0] = '\0';
    ck_assert_str_eq(ask(&d, "ACK 12\n"), "OK ACK 12");
    client_close(&d);
    wait_clients(1);

    /* again: only the unacknowledged 13..20 */
    client_up(&d, 1 << 16);
    client_send(&d, "HELLO dur\n");
    wait_lines(&d, 9);
    simnet_run(&net, SEC / 10, NULL, NULL);
    assert_events(&d, "OK HELLO dur 8\n", 13, 20);
    client_close(&d);
    wait_clients(1);

    /* 30 more while away: the queue holds 25, the oldest 13 of 38 are dropped and counted */
    for (int i = 21; i <= 50; i++) {
        snprintf(line, sizeof(line), "EMIT news tick %d\n", i);
        client_send(&pub, line);
    }
    wait_lines(&pub, 1 + 50);
    ck_assert_int_eq(hub_queued(core(), "dur"), 25);
    ck_assert_uint_eq(hub_stats(core())->queue_drops, 13);
    client_up(&d, 1 << 16);
    client_send(&d, "HELLO dur\n");
    wait_lines(&d, 26);
    simnet_run(&net, SEC / 10, NULL, NULL);
    assert_events(&d, "OK HELLO dur 25\n", 26, 50);
    client_close(&d);
    client_close(&pub);
    stop_hub();
}
END_TEST

#define NSUBS   200
#define NEVENTS 1000

struct all_done {
    struct client *subs;
    struct client *pub;
};

/* subs[0] and subs[1] are the stalled ones; everybody else must get every event. */
static bool others_have_all(void *ctx)
{
    struct all_done *w = ctx;
    if (w->pub->replies < NEVENTS)
        return false;
    for (int i = 2; i < NSUBS; i++)
        if (w->subs[i].events < NEVENTS)
            return false;
    return true;
}

static bool has_all_events(void *ctx)
{
    return ((struct client *)ctx)->events >= NEVENTS;
}

/* 200 subscribers, two of which never read: subs[0] anonymous (the publisher waits for
 * it, until it is cut off as stalled), subs[1] durable (its events wait in its queue).
 * The other 198 are durable, so every event must reach each of them, in order, however
 * fast the publisher goes; the stalled two hold them up for one stall time at most. */
START_TEST(stalled_subscriber)
{
    struct hub_config cfg;
    hub_config_init(&cfg);
    cfg.out_bytes = 8192;
    cfg.sndbuf = 16384; /* small, so the stalled ones fill up after ~190 events */
    start_hub(&cfg);
    static struct client subs[NSUBS];
    struct client pub;
    char line[200];
    for (int i = 0; i < NSUBS; i++) {
        client_open(&subs[i], 0, i < 2 ? 2048 : 0); /* a small window for the stalled */
        subs[i].stalled = i < 2;
        snprintf(line, sizeof(line), "HELLO sub%d\nJOIN big\n", i);
        client_send(&subs[i], i == 0 ? "JOIN big\n" : line);
    }
    client_open(&pub, 0, 0);
    client_send(&pub, "JOIN big\n");
    for (int i = 0; i < NSUBS; i++)
        ck_assert(simnet_run(&net, 5 * SEC, client_connected, &subs[i]));
    wait_lines(&pub, 1);
    for (int i = 2; i < NSUBS; i++)
        wait_lines(&subs[i], 2);
    simnet_run(&net, SEC / 10, NULL, NULL); /* the stalled ones' commands arrive too */
    ck_assert_uint_eq(hub_stats(core())->clients, NSUBS + 1);
    ck_assert_int_eq(hub_queued(core(), "sub1"), 0);
    pub.replies = 0;

    for (int i = 0; i < NEVENTS; i++) {
        snprintf(line, sizeof(line),
                 "EMIT big data %04d "
                 "................................................................"
                 "................................\n",
                 i);
        client_send(&pub, line);
    }
    uint64_t t0 = net.now_us;
    struct all_done w = {subs, &pub};
    ck_assert_msg(simnet_run(&net, 60 * SEC, others_have_all, &w), "pub %u replies, sub2 %u",
                  pub.replies, subs[2].events);
    uint64_t took = net.now_us - t0;
    for (int i = 2; i < NSUBS; i++) {
        ck_assert_uint_eq(subs[i].events, NEVENTS);
        ck_assert(!subs[i].seq_gap);
        ck_assert_uint_eq(subs[i].last_seq, NEVENTS);
    }
    const struct hub_stats *st = hub_stats(core());
    ck_assert_uint_eq(st->events_in, NEVENTS);
    /* the anonymous stalled one held the publisher back (flow control) until it had read
     * nothing for stall_ms, then it was cut off with a reason: no event lost silently */
    ck_assert_uint_ge(st->emitters_paused, 1);
    ck_assert_uint_eq(st->slow_disconnects, 1);
    ck_assert_uint_eq(st->slow_drops, 0);
    /* the durable stalled one lost nothing and held nobody: all 1000 wait for its ACK */
    ck_assert_uint_eq(st->queue_drops, 0);
    ck_assert_int_eq(hub_queued(core(), "sub1"), NEVENTS);
    ck_assert(!subs[1].failed && !subs[1].closed);
    ck_assert_uint_eq(st->clients, NSUBS); /* subs[0] is gone */
    /* ~130 KB to each of 198 clients over a 100 us wire, plus the one stall */
    ck_assert_msg(took < (uint64_t)cfg.stall_ms * 1000 + 2 * SEC, "took %llu us",
                  (unsigned long long)took);

    /* subs[1] starts reading: it gets all 1000, in order, after its two replies */
    subs[1].stalled = false;
    on_readable(subs[1].sock, &subs[1]);
    ck_assert(simnet_run(&net, 30 * SEC, has_all_events, &subs[1]));
    ck_assert(!subs[1].seq_gap);
    ck_assert_uint_eq(subs[1].last_seq, NEVENTS);
    ck_assert_uint_eq(subs[1].replies, 2);

    for (int i = 0; i < NSUBS; i++)
        client_close(&subs[i]);
    client_close(&pub);
    stop_hub();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hub");
    TCase *tc = tcase_create("hub");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, room_broadcast);
    tcase_add_test(tc, errors_keep_the_connection);
    tcase_add_test(tc, durable_replay);
    tcase_add_test(tc, stalled_subscriber);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
