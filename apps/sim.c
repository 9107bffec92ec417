/* sim.c - `tapir sim`: two stacks joined by the simulated wire, on a fake clock.
 *
 *   A: 10.0.0.1  02:00:00:00:00:01   (wire end 0)
 *   B: 10.0.0.2  02:00:00:00:00:02   (wire end 1)
 *
 * Everything runs in this one process and needs no root: the wire (tap/wire.c) carries the
 * frames, and time only moves when wire_run() jumps to the next event. Impairments and
 * both stacks' random numbers come from --seed, so a run prints the same trace, byte for
 * byte, every time: a lesson can quote it, and a test can diff it.
 *
 * A scenario is one entry in the table at the bottom and one function that drives the two
 * stacks through the socket API (or stack_ping) and prints a summary.
 */
#include "apps.h"
#include "html.h"
#include "hub.h"
#include "../tap/wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_IP_A       0x0a000001u /* 10.0.0.1 */
#define SIM_IP_B       0x0a000002u /* 10.0.0.2 */
#define SIM_SEED       1u          /* the default --seed: lessons quote its output */
#define SIM_START_US   1000000u    /* the fake clock starts at 1 s, so nothing happens at 0 */
#define SECOND_US      1000000u
#define SIM_SETTLE_US  1000u /* after start-up, before the scenario: the wire is quiet */
#define DISCARD_PORT   9     /* RFC 863 */
#define PING_COUNT     3
#define PING_DATA_LEN  56     /* as ping(8): 64 bytes of ICMP, 84 of IP */
#define FRAG_DATA_LEN  3000   /* fragments: ping -s 3000, three fragments each way */
#define PING_ID        0x7461 /* "ta": any fixed identifier keeps the output the same */
#define PING_INTERVAL  SECOND_US
#define PING_LAST_WAIT (3 * SECOND_US) /* after the last request, as iputils: 1 s + 2 intervals */

/* What every scenario works with. */
struct sim {
    struct wire *wire;
    struct stack *a, *b;
    uint64_t now_us;       /* the fake clock */
    uint32_t seed;         /* --seed */
    unsigned loss;         /* --loss, percent */
    unsigned trace;        /* --trace, TRACE_* bits */
    bool absolute;         /* --trace-absolute: raw TCP sequence numbers */
    const char *pcap;      /* --pcap FILE: what A's interface sees */
    bool stats;            /* --stats: both stacks' counters at the end, on stderr */
    uint64_t drop;         /* --drop: loss drops A's data segments with these numbers (bit n-1) */
    bool no_sack, no_timestamps, no_tlp, no_rack; /* --no-sack ... --no-rack */
    FILE *out;             /* stdout: trace lines and the scenario's own lines */
    struct html_rec *html; /* --html FILE, or NULL */
    /* The wire's counters when the scenario's story ended (see story_over), if it did
     * before the scenario returned: what is torn down after that is not counted. */
    bool story_over;
    struct wire_stats wire_at_end;
};

struct scenario {
    const char *name;
    const char *what;            /* one line, for --list */
    int (*run)(struct sim *sim); /* exit status: 0 if it did what it set out to do */
    unsigned trace;              /* the layers traced unless --trace says otherwise */
};

static void print_ip(FILE *out, uint32_t ip)
{
    fprintf(out, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

/* ---- the two stacks and the wire ---- */

/* Side 0 is A, side 1 is B. Each side gets its own seed derived from --seed, so the two
 * stacks draw different IP ids, ports and ISNs, yet the same ones on every run. */
static void sim_config(const struct sim *sim, struct stack_config *cfg, int side)
{
    stack_config_init(cfg);
    snprintf(cfg->name, sizeof(cfg->name), "%s", side ? "B" : "A");
    cfg->ip = side ? SIM_IP_B : SIM_IP_A;
    cfg->mac[5] = side ? 2 : 1;
    cfg->seed = sim->seed * 2 + (uint32_t)side;
    cfg->trace_mask = sim->trace;
    cfg->trace_out = sim->out;
    cfg->trace_absolute = sim->absolute;
    cfg->tcp_msl_ms = 1000; /* TIME-WAIT of 2 s keeps the close lessons short */
    cfg->tcp_sack = !sim->no_sack;
    cfg->tcp_timestamps = !sim->no_timestamps;
    cfg->tcp_tlp = !sim->no_tlp;
    cfg->tcp_rack = !sim->no_rack;
}

/* Run both stacks for at most for_us of simulated time, or until done(ctx) (if given).
 * Returns whether done became true. */
static bool sim_run(struct sim *sim, uint64_t for_us, bool (*done)(void *), void *ctx)
{
    return wire_run(sim->wire, sim->a, sim->b, &sim->now_us, sim->now_us + for_us, done, ctx);
}

/* The wire lost, duplicated, reordered or corrupted a frame: a trace line of the stack
 * that sent it (ev->path is the receiving side). */
static void wire_event(void *ctx, const struct impair_event *ev)
{
    struct sim *sim = ctx;
    impair_trace(ev->path ? sim->a : sim->b, "out", ev);
}

static int sim_open(struct sim *sim)
{
    struct wire_impairments imp = {.loss_pct = sim->loss};
    struct stack_config cfg_a, cfg_b;
    sim_config(sim, &cfg_a, 0);
    sim_config(sim, &cfg_b, 1);
    sim->now_us = SIM_START_US;
    sim->wire = wire_create(sim->seed, &imp);
    if (!sim->wire)
        return -ENOMEM;
    sim->a = stack_create(&cfg_a, &wire_ops, wire_end(sim->wire, 0));
    sim->b = stack_create(&cfg_b, &wire_ops, wire_end(sim->wire, 1));
    if (!sim->a || !sim->b)
        return -ENOMEM;
    html_attach(sim->html, sim->a, 0, "A 10.0.0.1", true);
    html_attach(sim->html, sim->b, 1, "B 10.0.0.2", true);
    wire_set_observer(sim->wire, wire_event, sim);
    /* The capture is taken on A's interface, as tcpdump there would: a frame the wire
     * loses on its way from A is in it, one lost on its way to A is not. */
    if (sim->pcap) {
        int err = stack_set_pcap(sim->a, sim->pcap);
        if (err < 0)
            return err;
    }
    /* Both come up at the same instant and announce themselves with a gratuitous ARP
     * (RFC 5227 2.3). Let those land before the scenario starts, so that what it shows
     * is its own exchange and not a race with the announcements. */
    stack_start(sim->a, sim->now_us);
    stack_start(sim->b, sim->now_us);
    sim_run(sim, SIM_SETTLE_US, NULL, NULL);
    return 0;
}

static void sim_close(struct sim *sim)
{
    /* The story is over: what tearing down says (sockets still open are aborted) is not
     * part of it. */
    if (sim->a)
        stack_set_trace(sim->a, 0, NULL);
    if (sim->b)
        stack_set_trace(sim->b, 0, NULL);
    stack_destroy(sim->a);
    stack_destroy(sim->b);
    wire_destroy(sim->wire);
    sim->a = sim->b = NULL;
    sim->wire = NULL;
}

/* The story is told and the summary printed: from here on the scenario only tidies up
 * (closes what is still open), which the trace and the wire's counters leave out. */
static void story_over(struct sim *sim)
{
    sim->story_over = true;
    sim->wire_at_end = *wire_stats(sim->wire);
    html_stop(sim->html);
    stack_set_trace(sim->a, 0, NULL);
    stack_set_trace(sim->b, 0, NULL);
}

/* Microseconds since the stacks started, for the scenarios' own lines. */
static uint64_t sim_elapsed_us(const struct sim *sim)
{
    return sim->now_us - SIM_START_US;
}

/* ---- arp: A resolves B ---- */

struct arp_run {
    struct sim *sim;
    struct sock *tx, *rx;
    unsigned received; /* datagrams B's discard socket read */
};

static void discard_readable(struct sock *s, void *ctx)
{
    struct arp_run *r = ctx;
    uint8_t buf[512];
    /* bounded by the socket's queue: read everything that is there, keep nothing */
    while (sock_recvfrom(s, buf, sizeof(buf), NULL, NULL) >= 0)
        r->received++;
}

static bool a_resolved_b(void *ctx)
{
    struct arp_run *r = ctx;
    return stack_stats(r->sim->a)->arp.cache_updates > 0;
}

/* "1 request", "2 requests" */
static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

static int scenario_arp(struct sim *sim)
{
    static const struct sock_events discard_events = {.on_readable = discard_readable};
    static const char msg[] = "hello, B";
    struct arp_run r = {.sim = sim};
    r.rx = sock_open(sim->b, SOCK_TYPE_UDP);
    r.tx = sock_open(sim->a, SOCK_TYPE_UDP);
    if (!r.rx || !r.tx || sock_bind(r.rx, 0, DISCARD_PORT) < 0) {
        fprintf(stderr, "tapir: sim: cannot open the UDP sockets\n");
        return 1;
    }
    sock_on(r.rx, &discard_events, &r);

    /* The first datagram finds no MAC for 10.0.0.2: it waits while A asks (RFC 826), and
     * leaves as soon as the reply comes. */
    fprintf(sim->out, "# A sends a datagram to 10.0.0.2:%u; ARP must resolve B first\n",
            DISCARD_PORT);
    uint64_t sent_at_us = sim_elapsed_us(sim);
    sock_sendto(r.tx, msg, sizeof(msg) - 1, SIM_IP_B, DISCARD_PORT);
    bool resolved = sim_run(sim, 10 * SECOND_US, a_resolved_b, &r);
    uint64_t took_us = sim_elapsed_us(sim) - sent_at_us;
    sim_run(sim, 10000, NULL, NULL);

    /* The second one finds the address in A's cache: no ARP at all. */
    fprintf(sim->out, "# A sends a second datagram; the cache already knows B\n");
    sock_sendto(r.tx, msg, sizeof(msg) - 1, SIM_IP_B, DISCARD_PORT);
    sim_run(sim, 10000, NULL, NULL);

    sock_close(r.tx);
    sock_close(r.rx);

    const struct arp_stats *a = &stack_stats(sim->a)->arp, *b = &stack_stats(sim->b)->arp;
    fprintf(sim->out, "\n--- arp summary ---\n");
    if (resolved)
        fprintf(sim->out, "A resolved 10.0.0.2 in %" PRIu64 ".%03" PRIu64 " ms\n", took_us / 1000,
                took_us % 1000);
    else
        fprintf(sim->out, "A could not resolve 10.0.0.2\n");
    fprintf(sim->out,
            "A: %" PRIu64 " request%s sent, %" PRIu64 " repl%s received, %" PRIu64
            " announcement%s sent\n",
            a->requests_tx, plural(a->requests_tx), a->replies_rx, a->replies_rx == 1 ? "y" : "ies",
            a->gratuitous_tx, plural(a->gratuitous_tx));
    fprintf(sim->out,
            "B: %" PRIu64 " request%s received, %" PRIu64 " repl%s sent, %" PRIu64
            " announcement%s sent\n",
            b->requests_rx, plural(b->requests_rx), b->replies_tx, b->replies_tx == 1 ? "y" : "ies",
            b->gratuitous_tx, plural(b->gratuitous_tx));
    fprintf(sim->out, "B: %u of 2 datagrams arrived on port %u\n", r.received, DISCARD_PORT);
    return resolved ? 0 : 1;
}

/* ---- ping: A pings B, printed like ping(8) ---- */

struct ping_run {
    struct sim *sim;
    size_t data_len; /* echo data per request (ping -s) */
    unsigned count;  /* requests (ping -c) */
    struct timer send_timer;
    unsigned sent, received, errors, duplicates;
    bool replied[PING_COUNT + 1]; /* by sequence number: a second reply is a duplicate */
    uint64_t sent_at[PING_COUNT + 1];
    uint64_t rtt_min, rtt_max, rtt_sum;
    uint64_t last_sent_us;
};

static void ping_event(void *ctx, const struct ping_event *ev)
{
    struct ping_run *p = ctx;
    FILE *out = p->sim->out;
    if (ev->id != PING_ID || ev->seq == 0 || ev->seq > p->sent)
        return; /* not one of ours */
    if (ev->kind != PING_REPLY) {
        p->errors++;
        fprintf(out, "From ");
        print_ip(out, ev->from);
        fprintf(out, " icmp_seq=%u %s\n", ev->seq, ping_error_text(ev));
        return;
    }
    uint64_t rtt = stack_now_us(p->sim->a) - p->sent_at[ev->seq];
    bool dup = p->replied[ev->seq];
    if (dup) {
        p->duplicates++;
    } else {
        p->replied[ev->seq] = true;
        p->received++;
        p->rtt_sum += rtt;
        if (p->received == 1 || rtt < p->rtt_min)
            p->rtt_min = rtt;
        if (rtt > p->rtt_max)
            p->rtt_max = rtt;
    }
    fprintf(out, "%zu bytes from ", ev->len);
    print_ip(out, ev->from);
    fprintf(out, ": icmp_seq=%u ttl=%u time=%" PRIu64 ".%03" PRIu64 " ms%s\n", ev->seq, ev->ttl,
            rtt / 1000, rtt % 1000, dup ? " (DUP!)" : "");
}

static void ping_send(struct stack *stack, void *arg)
{
    struct ping_run *p = arg;
    uint8_t data[FRAG_DATA_LEN];
    for (size_t i = 0; i < p->data_len; i++)
        data[i] = (uint8_t)i;
    p->sent++;
    p->sent_at[p->sent] = p->last_sent_us = stack_now_us(stack);
    int err = stack_ping(stack, SIM_IP_B, PING_ID, (uint16_t)p->sent, data, p->data_len);
    if (err < 0)
        fprintf(p->sim->out, "ping: sendmsg: %s\n", strerror(-err));
    if (p->sent < p->count)
        timer_arm(stack, &p->send_timer, PING_INTERVAL);
}

static bool ping_all_answered(void *ctx)
{
    struct ping_run *p = ctx;
    return p->sent == p->count && p->received + p->errors >= p->count;
}

/* ping -c count -s data_len 10.0.0.2 */
static int ping_b(struct sim *sim, unsigned count, size_t data_len)
{
    struct ping_run p = {.sim = sim, .count = count, .data_len = data_len};
    FILE *out = sim->out;
    fprintf(out, "PING 10.0.0.2 (10.0.0.2) %zu(%zu) bytes of data.\n", data_len, data_len + 28);
    stack_on_ping(sim->a, ping_event, &p);
    timer_init(&p.send_timer, ping_send, &p);
    timer_arm(sim->a, &p.send_timer, 0);
    /* every request is out after (PING_COUNT - 1) intervals; then wait for the last reply */
    sim_run(sim, (count - 1) * PING_INTERVAL + PING_LAST_WAIT, ping_all_answered, &p);
    timer_cancel(sim->a, &p.send_timer);
    stack_on_ping(sim->a, NULL, NULL);

    uint64_t time_us = p.sent ? p.last_sent_us - p.sent_at[1] : 0;
    fprintf(out, "\n--- 10.0.0.2 ping statistics ---\n");
    fprintf(out, "%u packets transmitted, %u received, ", p.sent, p.received);
    if (p.duplicates)
        fprintf(out, "+%u duplicates, ", p.duplicates);
    if (p.errors)
        fprintf(out, "+%u errors, ", p.errors);
    fprintf(out, "%u%% packet loss, time %" PRIu64 "ms\n",
            p.sent ? 100 * (p.sent - p.received) / p.sent : 0, time_us / 1000);
    if (p.received) {
        uint64_t avg = (p.rtt_sum + p.received / 2) / p.received; /* rounded */
        fprintf(out,
                "rtt min/avg/max = %" PRIu64 ".%03" PRIu64 "/%" PRIu64 ".%03" PRIu64 "/%" PRIu64
                ".%03" PRIu64 " ms\n",
                p.rtt_min / 1000, p.rtt_min % 1000, avg / 1000, avg % 1000, p.rtt_max / 1000,
                p.rtt_max % 1000);
    }
    return p.received ? 0 : 1;
}

static int scenario_ping(struct sim *sim)
{
    return ping_b(sim, PING_COUNT, PING_DATA_LEN);
}

/* 3000 bytes of echo data do not fit a 1500-byte MTU: A's IP fragments the request, B's
 * reassembles it (RFC 791 3.2), and B's reply comes back in fragments too. */
static int scenario_fragments(struct sim *sim)
{
    return ping_b(sim, 1, FRAG_DATA_LEN);
}

/* ---- the TCP scenarios: an application on each side ----
 *
 * Each side is a small program written against stack/sock.h, as any application on tapir
 * would be: it reacts to the socket's events and says what it does in lines of its own,
 *
 *   [   0.001000] L7 app  A: connect() -> 10.0.0.2:9
 *
 * stamped with the stack's clock like the trace lines between them. These lines are the
 * story and are printed whatever --trace says; the trace shows what TCP did about it.
 */

#define SERVER_PORT    9                /* B's listener: the discard port (RFC 863); B only reads */
#define CLOSED_PORT    7                /* nothing listens there on B */
#define TRANSFER_LEN   20000            /* bytes A sends in transfer and loss */
#define LOSS_SEGMENT   3                /* loss: the wire drops A's third data segment */
#define MAX_DROP       64               /* --drop numbers A's data segments 1..64 */
#define APP_DELAY_US   100000           /* close: B's application takes 100 ms before it closes */
#define TCP_RUN_US     (60 * SECOND_US) /* the longest a step may take: --loss backs off */
#define TRACE_TCP_LINK (TRACE_TCP | TRACE_LINK) /* with what the wire did to frames */
#define TRACE_TCP_APP  (TRACE_TCP | TRACE_APP | TRACE_LINK)

/* One application: a listener or a connection on one of the stacks. */
struct app {
    struct sim *sim;
    const char *name; /* "A" or "B": shown in its lines */
    struct stack *stack;
    struct sock *listener;
    struct sock *conn;
    /* what it sends, then closes if asked */
    const uint8_t *tx;
    size_t tx_len, tx_off;
    bool close_when_sent;
    /* what it received */
    uint8_t *rx; /* the first rx_cap bytes are kept, to compare */
    size_t rx_cap, rx_len;
    bool close_on_eof; /* close() at once when the peer's FIN is read */
    struct timer close_timer;
    uint64_t close_delay_us; /* ... or this long after it */
    /* what happened */
    bool connected, eof, closed;
    int err;
};

static uint64_t app_time_us(const struct app *app)
{
    return stack_now_us(app->stack) - SIM_START_US;
}

/* One line of the application's, in the trace's format and on the trace's clock. */
static void say(const struct app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const struct app *app, const char *fmt, ...)
{
    FILE *out = app->sim->out;
    uint64_t t = app_time_us(app);
    fprintf(out, "[%4" PRIu64 ".%06" PRIu64 "] L7 app  %s: ", t / SECOND_US, t % SECOND_US,
            app->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

/* "-ECONNREFUSED": the name a C programmer tests for (strerror gives the words). */
static const char *errno_name(int err)
{
    switch (err < 0 ? -err : err) {
    case ECONNREFUSED:
        return "-ECONNREFUSED";
    case ECONNRESET:
        return "-ECONNRESET";
    case ETIMEDOUT:
        return "-ETIMEDOUT";
    case EHOSTUNREACH:
        return "-EHOSTUNREACH";
    default:
        return "error";
    }
}

static void app_close(struct app *app)
{
    if (!app->conn)
        return;
    say(app, "close()");
    sock_close(app->conn);
    app->conn = NULL;
    app->closed = true;
}

static void app_close_later(struct stack *stack, void *arg)
{
    (void)stack;
    app_close(arg);
}

static void app_init(struct app *app, struct sim *sim, int side)
{
    memset(app, 0, sizeof(*app));
    app->sim = sim;
    app->name = side ? "B" : "A";
    app->stack = side ? sim->b : sim->a;
    timer_init(&app->close_timer, app_close_later, app);
}

static void app_fini(struct app *app)
{
    timer_cancel(app->stack, &app->close_timer);
    if (app->conn)
        sock_close(app->conn);
    if (app->listener)
        sock_close(app->listener);
    app->conn = app->listener = NULL;
}

/* Queue as much of tx as the socket takes; close once all of it is queued, if asked. */
static void app_push(struct app *app)
{
    while (app->conn && app->tx_off < app->tx_len) {
        ssize_t n = sock_send(app->conn, app->tx + app->tx_off, app->tx_len - app->tx_off);
        if (n <= 0)
            break; /* -EAGAIN: on_writable says when there is room again */
        say(app, "send(%zu bytes) -> %zd queued", app->tx_len - app->tx_off, n);
        app->tx_off += (size_t)n;
    }
    if (app->conn && app->tx_off == app->tx_len && app->close_when_sent)
        app_close(app);
}

static void app_end_of_stream(struct app *app)
{
    if (app->eof)
        return;
    app->eof = true;
    say(app, "recv() -> 0: end of stream, the peer has closed its side");
    if (app->close_on_eof) {
        app_close(app);
    } else if (app->close_delay_us) {
        timer_arm(app->stack, &app->close_timer, app->close_delay_us);
    }
}

static void app_readable(struct sock *s, void *ctx)
{
    struct app *app = ctx;
    uint8_t buf[16384]; /* as a program would read: in large pieces */
    size_t got = 0;
    ssize_t n;
    while ((n = sock_recv(s, buf, sizeof(buf))) > 0) {
        size_t keep = app->rx_len < app->rx_cap ? app->rx_cap - app->rx_len : 0;
        if (keep > (size_t)n)
            keep = (size_t)n;
        if (keep)
            memcpy(app->rx + app->rx_len, buf, keep);
        app->rx_len += (size_t)n;
        got += (size_t)n;
    }
    if (got)
        say(app, "recv() -> %zu bytes (%zu so far)", got, app->rx_len);
    if (n == 0)
        app_end_of_stream(app);
}

static void app_connected(struct sock *s, void *ctx)
{
    struct app *app = ctx;
    uint32_t ip;
    uint16_t port;
    app->connected = true;
    sock_local(s, &ip, &port);
    say(app, "on_connect: connected, local port %u", port);
    app_push(app);
}

static void app_writable(struct sock *s, void *ctx)
{
    (void)s;
    app_push(ctx);
}

static void app_peer_closed(struct sock *s, void *ctx)
{
    app_readable(s, ctx); /* reads what is left, then the 0 of end of stream */
}

static void app_error(struct sock *s, int err, void *ctx)
{
    struct app *app = ctx;
    (void)s;
    app->err = err;
    say(app, "on_error: %s (%s)", errno_name(err), strerror(-err));
    app_close(app);
}

static const struct sock_events app_events = {
    .on_connect = app_connected,
    .on_readable = app_readable,
    .on_writable = app_writable,
    .on_closed = app_peer_closed,
    .on_error = app_error,
};

static void app_accept(struct sock *listener, void *ctx)
{
    struct app *app = ctx;
    struct sock *c;
    while (sock_accept(listener, &c) == 0) {
        if (app->conn) { /* one connection is all a scenario needs */
            sock_abort(c);
            continue;
        }
        uint32_t ip;
        uint16_t port;
        sock_peer(c, &ip, &port);
        app->conn = c;
        app->connected = true;
        sock_on(c, &app_events, app);
        say(app, "on_accept: accept() -> a connection from %u.%u.%u.%u:%u", ip >> 24,
            (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, port);
        app_push(app);
        app_readable(c, app); /* data may have come with the handshake */
    }
}

static const struct sock_events listener_events = {.on_accept = app_accept};

static int app_listen(struct app *app, uint16_t port)
{
    app->listener = sock_open(app->stack, SOCK_TYPE_TCP);
    if (!app->listener)
        return -ENOMEM;
    sock_on(app->listener, &listener_events, app);
    say(app, "listen() on port %u", port);
    int err = sock_bind(app->listener, 0, port);
    if (!err)
        err = sock_listen(app->listener, 4);
    if (err < 0)
        say(app, "listen() failed: %s", strerror(-err));
    return err;
}

static int app_connect(struct app *app, uint32_t ip, uint16_t port)
{
    app->conn = sock_open(app->stack, SOCK_TYPE_TCP);
    if (!app->conn)
        return -ENOMEM;
    sock_on(app->conn, &app_events, app);
    say(app, "connect() -> %u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
        port);
    int err = sock_connect(app->conn, ip, port);
    if (err < 0)
        say(app, "connect() failed: %s (%s)", errno_name(err), strerror(-err));
    return err;
}

/* ---- watching TCP on the wire (what tcpdump would show), for numbers the trace lacks ---- */

struct wire_tcp {
    uint8_t flags;
    uint32_t seq;
    size_t len; /* data bytes */
};

/* The TCP header of an Ethernet frame carrying IPv4/TCP; false for anything else. */
/* a after b, in sequence space (RFC 9293 3.4: it wraps) */
static bool seq_after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

static bool peek_tcp(const uint8_t *f, size_t n, struct wire_tcp *t)
{
    if (n < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 6)
        return false;
    size_t ihl = (size_t)(f[14] & 15) * 4;
    size_t ip_len = (size_t)f[16] << 8 | f[17];
    if (ihl < 20 || ip_len > n - 14 || ip_len < ihl + 20)
        return false;
    const uint8_t *h = f + 14 + ihl;
    size_t doff = (size_t)(h[12] >> 4) * 4;
    if (doff < 20 || ip_len < ihl + doff)
        return false;
    t->seq = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    t->flags = h[13];
    t->len = ip_len - ihl - doff;
    return true;
}

#define WIRE_SYN 0x02

/* What a TCP scenario learns by watching the wire: each side's ISN, and in `loss` which
 * segments to drop, whether they came again, and why. */
struct watch {
    struct sim *sim;
    bool have_isn[2];
    uint32_t isn[2];
    /* loss */
    uint64_t drop;          /* drop side A's data segments with these numbers (bit n-1) */
    unsigned data_segments; /* A's data segments seen, first copies only */
    uint32_t first_seq;     /* of A's first data segment (new data lies beyond the highest) */
    uint32_t high_seq;      /* end of A's highest data segment */
    unsigned dropped;
    uint32_t drop_seq[MAX_DROP];
    size_t drop_len[MAX_DROP];
    bool drop_resent[MAX_DROP];
    struct tcp_stats seen; /* A's counters at the last drop or resend: what changed since */
    const char *why;       /* the reason given for the last resend */
    unsigned resent;
    uint64_t first_drop_us, last_resend_us;
};
static void watch_say(struct watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void watch_say(struct watch *w, const char *fmt, ...)
{
    FILE *out = w->sim->out;
    uint64_t t = stack_now_us(w->sim->a) - SIM_START_US;
    fprintf(out, "[%4" PRIu64 ".%06" PRIu64 "] wire    ", t / SECOND_US, t % SECOND_US);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

/* Why A resends now: the counter that moved since the last drop or resend. */
static const char *resend_reason(struct watch *w)
{
    const struct tcp_stats *a = &stack_stats(w->sim->a)->tcp;
    if (a->timeouts > w->seen.timeouts)
        w->why = "retransmission timeout (RFC 6298 5)";
    else if (a->tlp_probes > w->seen.tlp_probes)
        w->why = "tail loss probe (RFC 8985 7)";
    else if (a->rack_lost_retransmits > w->seen.rack_lost_retransmits)
        w->why = "RACK: its retransmission was lost too (RFC 8985 6)";
    else if (a->rack_first > w->seen.rack_first)
        w->why = "RACK: sent before a segment that arrived (RFC 8985 6)";
    else if (a->sack_recoveries > w->seen.sack_recoveries)
        w->why = "SACK recovery: the scoreboard shows it lost (RFC 6675)";
    else if (a->fast_retransmits > w->seen.fast_retransmits)
        w->why = "fast retransmit, after 3 duplicate ACKs (RFC 5681 3.2)";
    else if (!w->why)
        w->why = "retransmission";
    w->seen = *a;
    return w->why;
}

static bool watch_frame(void *ctx, int side, const uint8_t *frame, size_t len)
{
    struct watch *w = ctx;
    struct wire_tcp t;
    if (!peek_tcp(frame, len, &t))
        return false;
    if ((t.flags & WIRE_SYN) && !w->have_isn[side]) {
        w->have_isn[side] = true;
        w->isn[side] = t.seq;
    }
    if (side != 0 || !w->drop || !t.len)
        return false;
    for (unsigned i = 0; i < w->dropped; i++)
        if (t.seq == w->drop_seq[i]) {
            /* the same bytes again: A noticed the loss */
            w->resent++;
            w->drop_resent[i] = true;
            w->last_resend_us = stack_now_us(w->sim->a);
            watch_say(w, "A sends seq=%" PRIu32 " (raw %" PRIu32 ") len=%zu again: %s",
                      t.seq - w->isn[0], t.seq, t.len, resend_reason(w));
            return false;
        }
    if (w->data_segments && !seq_after(t.seq, w->high_seq - 1)) {
        resend_reason(w); /* a retransmission of bytes that were not dropped */
        return false;
    }
    w->high_seq = t.seq + (uint32_t)t.len;
    unsigned nth = ++w->data_segments;
    if (nth > MAX_DROP || !(w->drop & (1ull << (nth - 1))))
        return false;
    if (!w->dropped)
        w->first_drop_us = stack_now_us(w->sim->a);
    w->drop_seq[w->dropped] = t.seq;
    w->drop_len[w->dropped] = t.len;
    w->dropped++;
    w->seen = stack_stats(w->sim->a)->tcp;
    w->why = NULL;
    watch_say(w, "drops A's data segment %u: seq=%" PRIu32 " (raw %" PRIu32 ") len=%zu", nth,
              t.seq - w->isn[0], t.seq, t.len);
    return true;
}

/* ---- a pair: B's listener, A's connection ---- */

struct pair {
    struct sim *sim;
    struct app a, b;
    struct watch watch;
};

static bool pair_connected(void *ctx)
{
    struct pair *p = ctx;
    return (p->a.connected && p->b.connected) || p->a.err;
}

static bool pair_both_closed(void *ctx)
{
    struct pair *p = ctx;
    return p->a.closed && p->b.closed;
}

/* B listens on SERVER_PORT and A connects; true once both have the connection. */
static bool pair_open(struct sim *sim, struct pair *p)
{
    memset(p, 0, sizeof(*p));
    p->sim = sim;
    app_init(&p->a, sim, 0);
    app_init(&p->b, sim, 1);
    p->watch.sim = sim;
    wire_set_filter(sim->wire, watch_frame, &p->watch);
    if (app_listen(&p->b, SERVER_PORT) < 0 || app_connect(&p->a, SIM_IP_B, SERVER_PORT) < 0)
        return false;
    return sim_run(sim, TCP_RUN_US, pair_connected, p) && !p->a.err;
}

/* The end of the scenario: close what is still open, quietly (the summary is printed). */
static void pair_close(struct pair *p)
{
    story_over(p->sim);
    app_fini(&p->a);
    app_fini(&p->b);
    wire_set_filter(p->sim->wire, NULL, NULL);
    free(p->a.rx);
    free(p->b.rx);
    p->a.rx = p->b.rx = NULL;
}

/* A short quiet time, so that one act of a scenario does not run into the next. */
static void sim_pause(struct sim *sim)
{
    sim_run(sim, 10000, NULL, NULL);
}

/* Long enough for TIME-WAIT (2*MSL) to run out, and then some. */
static uint64_t time_wait_us(const struct sim *sim)
{
    return 2ull * stack_config(sim->a)->tcp_msl_ms * 1000 + SECOND_US / 2;
}

static void print_tcp_counts(struct sim *sim)
{
    for (int side = 0; side < 2; side++) {
        const struct tcp_stats *t = &stack_stats(side ? sim->b : sim->a)->tcp;
        fprintf(sim->out,
                "%s: %" PRIu64 " segment%s sent, %" PRIu64 " received, %" PRIu64
                " retransmitted, %" PRIu64 " RST%s sent\n",
                side ? "B" : "A", t->tx_segments, plural(t->tx_segments), t->rx_segments,
                t->retransmits, t->tx_resets, plural(t->tx_resets));
    }
}

/* ---- handshake ---- */

static int scenario_handshake(struct sim *sim)
{
    struct pair p;
    FILE *out = sim->out;
    fprintf(out, "# B listens on port %u; A connects: SYN, SYN-ACK, ACK (RFC 9293 3.5)\n",
            SERVER_PORT);
    bool ok = pair_open(sim, &p);
    sim_pause(sim);

    fprintf(out, "\n--- handshake summary ---\n");
    fprintf(out, "A: %s\n", p.a.connected ? "connected (ESTABLISHED)" : "not connected");
    fprintf(out, "B: %s\n", p.b.connected ? "accepted (ESTABLISHED)" : "nothing accepted");
    if (p.watch.have_isn[0] && p.watch.have_isn[1])
        fprintf(out,
                "ISNs: A %" PRIu32 ", B %" PRIu32 "; each side's first data byte is ISN+1 "
                "(relative seq 1)\n",
                p.watch.isn[0], p.watch.isn[1]);
    print_tcp_counts(sim);
    pair_close(&p);
    return ok && p.b.connected ? 0 : 1;
}

/* ---- transfer and loss: A sends TRANSFER_LEN bytes, B checks them ---- */

static void fill_pattern(uint8_t *p, size_t n)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static bool transfer_done(void *ctx)
{
    struct pair *p = ctx;
    return (p->a.closed || p->a.err) && (p->b.closed || p->b.err);
}

/* Returns whether B got every byte, byte for byte. */
static bool run_transfer(struct sim *sim, struct pair *p, uint64_t drop)
{
    uint8_t data[TRANSFER_LEN];
    FILE *out = sim->out;
    fill_pattern(data, sizeof(data));
    if (!pair_open(sim, p))
        return false;
    p->watch.drop = drop;
    p->b.rx_cap = TRANSFER_LEN;
    p->b.rx = malloc(TRANSFER_LEN);
    if (!p->b.rx)
        return false;
    p->b.close_on_eof = true;
    sim_pause(sim);

    fprintf(out, "# A sends %u bytes, then closes; B reads to the end of stream, then closes\n",
            TRANSFER_LEN);
    p->a.tx = data;
    p->a.tx_len = sizeof(data);
    p->a.close_when_sent = true;
    app_push(&p->a);
    sim_run(sim, TCP_RUN_US, transfer_done, p);
    sim_run(sim, time_wait_us(sim), NULL, NULL); /* A's TIME-WAIT */
    p->a.tx = NULL;                              /* data goes out of scope */
    p->a.tx_len = p->a.tx_off = 0;
    return p->b.rx_len == TRANSFER_LEN && !memcmp(p->b.rx, data, TRANSFER_LEN) && p->b.eof;
}

static void print_received(struct sim *sim, const struct pair *p, bool exact)
{
    fprintf(sim->out, "B received %zu of %u bytes%s\n", p->b.rx_len, TRANSFER_LEN,
            exact ? ", byte-exact" : ": NOT what A sent");
}

static int scenario_transfer(struct sim *sim)
{
    struct pair p;
    bool exact = run_transfer(sim, &p, 0);
    fprintf(sim->out, "\n--- transfer summary ---\n");
    print_received(sim, &p, exact);
    print_tcp_counts(sim);
    pair_close(&p);
    return exact ? 0 : 1;
}

static int scenario_loss(struct sim *sim)
{
    struct pair p;
    FILE *out = sim->out;
    uint64_t drop = sim->drop ? sim->drop : 1ull << (LOSS_SEGMENT - 1);
    fprintf(out, "# the wire drops A's data segment%s number", drop & (drop - 1) ? "s" : "");
    for (unsigned i = 0; i < MAX_DROP; i++)
        if (drop & (1ull << i))
            fprintf(out, " %u", i + 1);
    fprintf(out, ", once; TCP must send %s again\n", drop & (drop - 1) ? "them" : "it");
    bool exact = run_transfer(sim, &p, drop);
    const struct tcp_stats *a = &stack_stats(sim->a)->tcp;
    const struct watch *w = &p.watch;
    fprintf(out, "\n--- loss summary ---\n");
    fprintf(out, "the wire dropped %u segment%s (relative seq", w->dropped, plural(w->dropped));
    for (unsigned i = 0; i < w->dropped; i++)
        fprintf(out, "%s %" PRIu32, i ? "," : "", w->drop_seq[i] - w->isn[0]);
    fprintf(out, "); A sent %s again %u time%s\n", w->dropped == 1 ? "it" : "them", w->resent,
            plural(w->resent));
    fprintf(out,
            "A: %" PRIu64 " fast retransmit%s (%" PRIu64 " with SACK), %" PRIu64
            " retransmission timeout%s, %" PRIu64 " tail loss probe%s\n",
            a->fast_retransmits, plural(a->fast_retransmits), a->sack_recoveries, a->timeouts,
            plural(a->timeouts), a->tlp_probes, plural(a->tlp_probes));
    bool all_resent = w->dropped > 0;
    for (unsigned i = 0; i < w->dropped; i++)
        all_resent = all_resent && w->drop_resent[i];
    if (all_resent) {
        uint64_t us = w->last_resend_us - w->first_drop_us;
        fprintf(out, "the last hole was resent %" PRIu64 ".%03" PRIu64 " ms after the first drop\n",
                us / 1000, us % 1000);
    }
    print_received(sim, &p, exact);
    print_tcp_counts(sim);
    pair_close(&p);
    return exact && all_resent ? 0 : 1;
}

/* ---- close and simultaneous-close ---- */

static int scenario_close(struct sim *sim)
{
    struct pair p;
    FILE *out = sim->out;
    bool ok = pair_open(sim, &p);
    sim_pause(sim);
    fprintf(out,
            "# A closes first (active close); B reads the end of stream and closes %u ms "
            "later\n",
            APP_DELAY_US / 1000);
    p.b.close_delay_us = APP_DELAY_US;
    app_close(&p.a);
    ok = ok && sim_run(sim, TCP_RUN_US, pair_both_closed, &p);
    sim_pause(sim); /* B's FIN and A's ACK of it */
    fprintf(out,
            "# A waits in TIME-WAIT for 2*MSL = %" PRIu32 " s (MSL is %" PRIu32
            " s here; Linux waits 60 s)\n",
            2 * stack_config(sim->a)->tcp_msl_ms / 1000, stack_config(sim->a)->tcp_msl_ms / 1000);
    sim_run(sim, time_wait_us(sim), NULL, NULL);

    fprintf(out, "\n--- close summary ---\n");
    fprintf(out, "A: closed first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSED\n");
    fprintf(out, "B: read the end of stream%s: CLOSE-WAIT, LAST-ACK, CLOSED\n",
            p.b.eof ? ", then closed" : " NOT");
    print_tcp_counts(sim);
    pair_close(&p);
    return ok && p.b.eof ? 0 : 1;
}

static int scenario_simultaneous_close(struct sim *sim)
{
    struct pair p;
    FILE *out = sim->out;
    bool ok = pair_open(sim, &p);
    sim_pause(sim);
    fprintf(out, "# A and B both close at the same instant: the two FINs cross on the wire\n");
    app_close(&p.a);
    app_close(&p.b);
    sim_run(sim, time_wait_us(sim) + SECOND_US, NULL, NULL);

    fprintf(out, "\n--- simultaneous-close summary ---\n");
    fprintf(out, "each side got the other's FIN before the ACK of its own: FIN-WAIT-1, "
                 "CLOSING, TIME-WAIT, CLOSED on both (RFC 9293 3.6, figure 13)\n");
    print_tcp_counts(sim);
    pair_close(&p);
    return ok ? 0 : 1;
}

/* ---- reset ---- */

static bool app_failed(void *ctx)
{
    return ((struct app *)ctx)->err != 0;
}

static int scenario_reset(struct sim *sim)
{
    FILE *out = sim->out;
    struct app refused;
    app_init(&refused, sim, 0);
    fprintf(out, "# 1. A connects to 10.0.0.2:%u, where nothing listens: B answers with RST\n",
            CLOSED_PORT);
    app_connect(&refused, SIM_IP_B, CLOSED_PORT);
    sim_run(sim, TCP_RUN_US, app_failed, &refused);
    app_fini(&refused);
    sim_pause(sim);

    fprintf(out, "# 2. A connects to B's port %u, then aborts: RST, and B's connection is dead\n",
            SERVER_PORT);
    struct pair p;
    bool ok = pair_open(sim, &p);
    sim_pause(sim);
    say(&p.a, "abort(): close at once with RST (SO_LINGER 0)");
    sock_abort(p.a.conn);
    p.a.conn = NULL;
    sim_run(sim, TCP_RUN_US, app_failed, &p.b);
    sim_pause(sim);

    fprintf(out, "\n--- reset summary ---\n");
    fprintf(out, "1. A's connect() to port %u: %s\n", CLOSED_PORT,
            refused.err ? errno_name(refused.err) : "no error");
    fprintf(out, "2. B's connection after A's abort(): %s\n",
            p.b.err ? errno_name(p.b.err)
                    : "no error: the RST was lost, and nobody retransmits a RST (B learns "
                      "when it next sends)");
    print_tcp_counts(sim);
    pair_close(&p);
    return ok && refused.err == -ECONNREFUSED && p.b.err == -ECONNRESET ? 0 : 1;
}

/* ---- hub: the hub on B, three clients on A ---- */

#define HUB_PORT    7000
#define HUB_CLIENTS 3

struct hub_client {
    struct sim *sim;
    const char *name;
    struct sock *sock;
    char line[1100];
    size_t line_len;
    unsigned lines; /* lines received */
    bool connected, eof;
    int err;
};

static void client_say(const struct hub_client *c, const char *arrow, const char *line, size_t len)
{
    FILE *out = c->sim->out;
    uint64_t t = stack_now_us(c->sim->a) - SIM_START_US;
    fprintf(out, "[%4" PRIu64 ".%06" PRIu64 "] L7 app  A: %-5s %s%s%.*s\n", t / SECOND_US,
            t % SECOND_US, c->name, arrow, len ? " " : "", (int)len, line);
}

static void client_readable(struct sock *s, void *ctx)
{
    struct hub_client *c = ctx;
    char buf[2048];
    ssize_t n;
    while ((n = sock_recv(s, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                client_say(c, "<-", c->line, c->line_len);
                c->lines++;
                c->line_len = 0;
            } else if (c->line_len < sizeof(c->line)) {
                c->line[c->line_len++] = buf[i];
            }
        }
    }
    if (n == 0 && !c->eof) {
        c->eof = true;
        client_say(c, "<-", "(end of stream)", 15);
        client_say(c, "close()", "", 0);
        sock_close(s);
        c->sock = NULL;
    }
}

static void client_connected(struct sock *s, void *ctx)
{
    (void)s;
    ((struct hub_client *)ctx)->connected = true;
}

static void client_error(struct sock *s, int err, void *ctx)
{
    (void)s;
    ((struct hub_client *)ctx)->err = err;
}

static const struct sock_events client_events = {
    .on_connect = client_connected,
    .on_readable = client_readable,
    .on_closed = client_readable,
    .on_error = client_error,
};

static bool client_ready(void *ctx)
{
    struct hub_client *c = ctx;
    return c->connected || c->err;
}

struct hub_wait {
    struct hub_client *clients;
    unsigned lines; /* all clients' lines together */
};

static bool hub_lines_reached(void *ctx)
{
    struct hub_wait *w = ctx;
    unsigned n = 0;
    for (int i = 0; i < HUB_CLIENTS; i++)
        n += w->clients[i].lines;
    return n >= w->lines;
}

static bool hub_all_ended(void *ctx)
{
    struct hub_client *c = ctx;
    for (int i = 0; i < HUB_CLIENTS; i++)
        if (!c[i].eof && !c[i].err)
            return false;
    return true;
}

/* One line of the conversation: who says what, and how many lines come back in all. */
struct hub_step {
    int client;
    const char *line;
    unsigned answers;
};

static const struct hub_step hub_script[] = {
    {0, "HELLO alice", 1},
    {1, "HELLO bob", 1},
    {2, "HELLO carol", 1},
    {0, "JOIN lobby", 1},
    {1, "JOIN lobby", 1},
    {2, "JOIN lobby", 1},
    {0, "EMIT lobby chat hello from alice", 3}, /* OK EMIT 1 to alice, EVENT to bob and carol */
    {1, "ACK 1", 1},
    {2, "ACK 1", 1},
    {0, "QUIT", 1},
    {1, "QUIT", 1},
    {2, "QUIT", 1},
};

static int scenario_hub(struct sim *sim)
{
    static const char *const names[HUB_CLIENTS] = {"alice", "bob", "carol"};
    FILE *out = sim->out;
    struct hub_client c[HUB_CLIENTS];
    int err = 0, rc = 0;
    struct hub_server *srv = hub_server_start(sim->b, HUB_PORT, NULL, &err);
    if (!srv) {
        fprintf(stderr, "tapir: sim: cannot start the hub: %s\n", strerror(-err));
        return 1;
    }
    fprintf(out, "# the hub listens on B, port %u; alice, bob and carol connect from A\n",
            HUB_PORT);
    memset(c, 0, sizeof(c));
    for (int i = 0; i < HUB_CLIENTS; i++) {
        c[i].sim = sim;
        c[i].name = names[i];
        c[i].sock = sock_open(sim->a, SOCK_TYPE_TCP);
        if (!c[i].sock) {
            rc = 1;
            break;
        }
        sock_on(c[i].sock, &client_events, &c[i]);
        client_say(&c[i], "connect() ->", "10.0.0.2:7000", 13);
        sock_connect(c[i].sock, SIM_IP_B, HUB_PORT);
        if (!sim_run(sim, TCP_RUN_US, client_ready, &c[i]) || c[i].err)
            rc = 1;
    }

    fprintf(out, "# the conversation (-> to the hub, <- from it)\n");
    struct hub_wait w = {.clients = c};
    for (size_t i = 0; i < sizeof(hub_script) / sizeof(hub_script[0]) && !rc; i++) {
        const struct hub_step *st = &hub_script[i];
        struct hub_client *who = &c[st->client];
        char line[128];
        int n = snprintf(line, sizeof(line), "%s\n", st->line);
        client_say(who, "->", st->line, strlen(st->line));
        if (sock_send(who->sock, line, (size_t)n) != n)
            rc = 1;
        w.lines += st->answers;
        if (!sim_run(sim, TCP_RUN_US, hub_lines_reached, &w)) {
            fprintf(out, "# no answer after %u s: giving up\n", TCP_RUN_US / SECOND_US);
            rc = 1;
        }
    }
    /* after QUIT the hub closes each connection; each client closes its side in turn */
    if (!sim_run(sim, TCP_RUN_US, hub_all_ended, c))
        rc = 1;
    sim_run(sim, time_wait_us(sim), NULL, NULL); /* the hub's TIME-WAITs */

    const struct hub_stats *hs = hub_stats(hub_server_core(srv));
    fprintf(out, "\n--- hub summary ---\n");
    fprintf(out,
            "hub: %" PRIu64 " connections, %" PRIu64 " event%s emitted, %" PRIu64
            " delivered, %" PRIu64 " ACKs, %" PRIu64 " errors\n",
            hs->conns_accepted, hs->events_in, plural(hs->events_in), hs->events_out, hs->acks,
            hs->errors);
    for (int i = 0; i < HUB_CLIENTS; i++)
        fprintf(out, "%s: %u line%s from the hub%s\n", c[i].name, c[i].lines, plural(c[i].lines),
                c[i].eof ? ", then the end of stream" : "");
    bool delivered = hs->events_in == 1 && hs->events_out == 2;
    story_over(sim);
    for (int i = 0; i < HUB_CLIENTS; i++)
        if (c[i].sock)
            sock_close(c[i].sock);
    hub_server_stop(srv);
    return rc || !delivered ? 1 : 0;
}

/* ---- the scenarios, and the command ---- */

/* One entry per scenario, in the order --list shows them. A new scenario is one function
 * taking the running pair (struct sim: A, B, the wire and the clock) and one line here. */
static const struct scenario scenarios[] = {
    {"arp", "A resolves B's Ethernet address with ARP (RFC 826), then uses its cache", scenario_arp,
     TRACE_ALL},
    {"ping", "A pings B 3 times (ICMP echo, RFC 792), then prints ping's summary", scenario_ping,
     TRACE_ALL},
    {"fragments", "A pings B once with 3000 bytes: IP fragments and reassembles both ways",
     scenario_fragments, TRACE_IP | TRACE_ICMP},
    {"handshake", "A connects to B's listener: SYN, SYN-ACK, ACK; both ESTABLISHED",
     scenario_handshake, TRACE_TCP_LINK},
    {"transfer", "A sends B 20000 bytes over TCP (data and ACKs), then both close",
     scenario_transfer, TRACE_TCP_LINK},
    {"loss", "the transfer with one data segment lost on the wire: TCP retransmits it",
     scenario_loss, TRACE_TCP_LINK},
    {"close", "A closes first: FIN-WAIT-1/2 and TIME-WAIT on A, CLOSE-WAIT and LAST-ACK on B",
     scenario_close, TRACE_TCP_LINK},
    {"simultaneous-close", "A and B close at the same instant: CLOSING on both sides",
     scenario_simultaneous_close, TRACE_TCP_LINK},
    {"reset", "RST: connect() to a closed port is refused; abort() resets the peer", scenario_reset,
     TRACE_TCP_LINK},
    {"hub", "the hub on B, three clients on A: HELLO, JOIN, EMIT, the EVENT delivered",
     scenario_hub, TRACE_TCP_APP},
};
#define N_SCENARIOS      (sizeof(scenarios) / sizeof(scenarios[0]))
#define DEFAULT_SCENARIO "ping"

static const struct scenario *find_scenario(const char *name)
{
    for (size_t i = 0; i < N_SCENARIOS; i++)
        if (!strcmp(scenarios[i].name, name))
            return &scenarios[i];
    return NULL;
}

static void list_scenarios(FILE *out)
{
    for (size_t i = 0; i < N_SCENARIOS; i++)
        fprintf(out, "%-18s %s%s\n", scenarios[i].name, scenarios[i].what,
                strcmp(scenarios[i].name, DEFAULT_SCENARIO) ? "" : " (default)");
}

static const char sim_usage[] =
    "usage: tapir sim [SCENARIO] [--seed N] [--loss PCT] [--drop N,...] [--trace LAYERS]\n"
    "                 [--trace-absolute] [--pcap FILE] [--stats] [--html FILE] [--no-sack]\n"
    "                 [--no-timestamps] [--no-tlp] [--no-rack]\n"
    "       tapir sim --list\n"
    "Two stacks, A (10.0.0.1) and B (10.0.0.2), over a simulated wire on a fake clock.\n"
    "The trace goes to stdout (arp, ping: all layers; the TCP scenarios: tcp and link;\n"
    "hub: tcp, link and app; --trace picks others); a seed gives the same output every run.\n"
    "TCP sequence numbers are relative to each side's ISN (--trace-absolute: raw).\n"
    "--pcap FILE captures what A's interface sees (open it in Wireshark); --stats prints\n"
    "both stacks' counters on stderr at the end; --html FILE draws the run in one page.\n"
    "--drop: the data segments of A that `loss` drops (default 3). --no-sack, --no-timestamps,\n"
    "--no-tlp, --no-rack: both stacks without that TCP option or mechanism, to compare.\n"
    "Default: scenario " DEFAULT_SCENARIO ", --seed 1, --loss 0.\n";

static int sim_fail(const char *what, const char *arg)
{
    fprintf(stderr, "tapir: sim: ");
    fprintf(stderr, what, arg);
    fprintf(stderr, " (tapir sim --help shows the usage)\n");
    return 2;
}

/* "--opt VALUE" or "--opt=VALUE": the value, "" if the value is missing, or NULL if this
 * argument is not opt. */
static const char *option_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n])
        return NULL; /* --seedling is not --seed */
    return *i + 1 < argc ? argv[++*i] : "";
}

static bool parse_unsigned(const char *s, unsigned long max, unsigned long *v)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *v = strtoul(s, &end, 10);
    return !*end && errno == 0 && *v <= max;
}

/* "3,5,7": A's data segments to drop in `loss`, as bits 2, 4 and 6. */
static bool parse_drop_list(const char *s, uint64_t *drop)
{
    char buf[256];
    unsigned long n;
    if (strlen(s) >= sizeof(buf) || !*s)
        return false;
    strcpy(buf, s);
    *drop = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (!parse_unsigned(tok, MAX_DROP, &n) || n == 0)
            return false;
        *drop |= 1ull << (n - 1);
    }
    return *drop != 0;
}

/* --stats: each stack's counters, then the wire's, as `tapir --stats` prints them. */
static void print_all_stats(const struct sim *sim)
{
    const struct wire_stats *w = wire_stats(sim->wire);
    fprintf(stderr, "==== A 10.0.0.1 ====\n");
    stack_print_stats(sim->a, stderr);
    fprintf(stderr, "==== B 10.0.0.2 ====\n");
    stack_print_stats(sim->b, stderr);
    fprintf(stderr, "==== the wire ====\n");
    fprintf(stderr, "Wire (L1, seed %" PRIu32 ", loss %u%%):\n", sim->seed, sim->loss);
    fprintf(stderr, "    %" PRIu64 " frames sent\n", w->sent);
    fprintf(stderr, "    %" PRIu64 " frames delivered\n", w->delivered);
    fprintf(stderr, "    %" PRIu64 " frames lost\n", w->lost);
    fprintf(stderr, "    %" PRIu64 " frames dropped on purpose by the scenario\n", w->filtered);
}

int sim_main(int argc, char **argv)
{
    struct sim sim = {.seed = SIM_SEED, .out = stdout};
    bool trace_given = false;
    const char *name = NULL, *html_path = NULL;
    const char *v;
    unsigned long n;

    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(sim_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--list")) {
            list_scenarios(stdout);
            return 0;
        } else if ((v = option_value(argc, argv, &i, "--seed"))) {
            if (!parse_unsigned(v, UINT32_MAX, &n))
                return sim_fail("bad --seed '%s' (want 0..4294967295)", v);
            sim.seed = (uint32_t)n;
        } else if ((v = option_value(argc, argv, &i, "--loss"))) {
            if (!parse_unsigned(v, 100, &n))
                return sim_fail("bad --loss '%s' (want a percentage, 0..100)", v);
            sim.loss = (unsigned)n;
        } else if ((v = option_value(argc, argv, &i, "--drop"))) {
            if (!parse_drop_list(v, &sim.drop))
                return sim_fail("bad --drop '%s' (want segment numbers 1..64, like 3,5,7)", v);
        } else if (!strcmp(argv[i], "--no-sack")) {
            sim.no_sack = true;
        } else if (!strcmp(argv[i], "--no-timestamps")) {
            sim.no_timestamps = true;
        } else if (!strcmp(argv[i], "--no-tlp")) {
            sim.no_tlp = true;
        } else if (!strcmp(argv[i], "--no-rack")) {
            sim.no_rack = true;
        } else if (!strcmp(argv[i], "--trace-absolute")) {
            sim.absolute = true;
        } else if (!strcmp(argv[i], "--stats")) {
            sim.stats = true;
        } else if ((v = option_value(argc, argv, &i, "--pcap"))) {
            if (!*v)
                return sim_fail("%s", "--pcap needs a FILE");
            sim.pcap = v;
        } else if ((v = option_value(argc, argv, &i, "--trace"))) {
            if (trace_parse_layers(v, &sim.trace) < 0)
                return sim_fail("bad --trace '%s' (layers: eth,arp,ip,icmp,udp,tcp,sock,app, "
                                "all or none)",
                                v);
            trace_given = true;
        } else if ((v = option_value(argc, argv, &i, "--html"))) {
            html_path = v;
        } else if (argv[i][0] == '-' || name) {
            return sim_fail("unexpected argument '%s'", argv[i]);
        } else {
            name = argv[i];
        }
    }

    const struct scenario *sc = find_scenario(name ? name : DEFAULT_SCENARIO);
    if (!sc) {
        fprintf(stderr, "tapir: sim: unknown scenario '%s' (scenarios:", name);
        for (size_t i = 0; i < N_SCENARIOS; i++)
            fprintf(stderr, " %s", scenarios[i].name);
        fprintf(stderr, ")\n");
        return 2;
    }
    if (!trace_given)
        sim.trace = sc->trace;
    int err = 0;
    if (html_path && !(sim.html = html_open(html_path, sc->name, &err))) {
        fprintf(stderr, "tapir: sim: cannot write '%s': %s\n", html_path, strerror(-err));
        return 1;
    }

    /* Trace lines and the scenario's lines share stdout: line-buffered, they keep their
     * order even when stdout is a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    fprintf(sim.out,
            "# tapir sim %s: seed %" PRIu32 ", loss %u%%%s%s%s%s; A 10.0.0.1 02:00:00:00:00:01, "
            "B 10.0.0.2 02:00:00:00:00:02\n",
            sc->name, sim.seed, sim.loss, sim.no_sack ? ", no SACK" : "",
            sim.no_timestamps ? ", no timestamps" : "", sim.no_tlp ? ", no TLP" : "",
            sim.no_rack ? ", no RACK" : "");
    err = sim_open(&sim);
    if (err < 0) {
        if (err == -ENOMEM)
            fprintf(stderr, "tapir: sim: out of memory\n");
        else
            fprintf(stderr, "tapir: sim: cannot write pcap '%s': %s\n", sim.pcap, strerror(-err));
        sim_close(&sim);
        html_close(sim.html);
        return 1;
    }
    int rc = sc->run(&sim);

    const struct wire_stats *w = sim.story_over ? &sim.wire_at_end : wire_stats(sim.wire);
    fprintf(sim.out, "wire: %" PRIu64 " frames sent, %" PRIu64 " delivered, %" PRIu64 " lost",
            w->sent, w->delivered, w->lost);
    if (w->filtered)
        fprintf(sim.out, ", %" PRIu64 " dropped on purpose", w->filtered);
    fputc('\n', sim.out);
    html_stop(sim.html);
    pcap_close(sim.a); /* the capture, like the trace, ends with the story */
    if (sim.stats)
        print_all_stats(&sim);
    sim_close(&sim);
    if ((err = html_close(sim.html)) < 0) {
        fprintf(stderr, "tapir: sim: cannot write '%s': %s\n", html_path, strerror(-err));
        rc = 1;
    }
    return rc;
}
