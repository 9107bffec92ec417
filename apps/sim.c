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
#include "../tap/wire.h"

#include <errno.h>
#include <inttypes.h>
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
#define PING_ID        0x7461 /* "ta": any fixed identifier keeps the output the same */
#define PING_INTERVAL  SECOND_US
#define PING_LAST_WAIT (3 * SECOND_US) /* after the last request, as iputils: 1 s + 2 intervals */

/* What every scenario works with. */
struct sim {
    struct wire *wire;
    struct stack *a, *b;
    uint64_t now_us; /* the fake clock */
    uint32_t seed;   /* --seed */
    unsigned loss;   /* --loss, percent */
    unsigned trace;  /* --trace, TRACE_* bits */
    FILE *out;       /* stdout: trace lines and the scenario's own lines */
};

struct scenario {
    const char *name;
    const char *what;            /* one line, for --list */
    int (*run)(struct sim *sim); /* exit status: 0 if it did what it set out to do */
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
    cfg->tcp_msl_ms = 1000; /* TIME-WAIT of 2 s keeps the close lessons short */
}

/* Run both stacks for at most for_us of simulated time, or until done(ctx) (if given).
 * Returns whether done became true. */
static bool sim_run(struct sim *sim, uint64_t for_us, bool (*done)(void *), void *ctx)
{
    return wire_run(sim->wire, sim->a, sim->b, &sim->now_us, sim->now_us + for_us, done, ctx);
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
    stack_destroy(sim->a);
    stack_destroy(sim->b);
    wire_destroy(sim->wire);
    sim->a = sim->b = NULL;
    sim->wire = NULL;
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
        fprintf(out, " icmp_seq=%u %s\n", ev->seq,
                ev->kind == PING_UNREACHABLE ? "Destination Unreachable" : "Time to live exceeded");
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
    uint8_t data[PING_DATA_LEN];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)i;
    p->sent++;
    p->sent_at[p->sent] = p->last_sent_us = stack_now_us(stack);
    int err = stack_ping(stack, SIM_IP_B, PING_ID, (uint16_t)p->sent, data, sizeof(data));
    if (err < 0)
        fprintf(p->sim->out, "ping: sendmsg: %s\n", strerror(-err));
    if (p->sent < PING_COUNT)
        timer_arm(stack, &p->send_timer, PING_INTERVAL);
}

static bool ping_all_answered(void *ctx)
{
    struct ping_run *p = ctx;
    return p->sent == PING_COUNT && p->received + p->errors >= PING_COUNT;
}

static int scenario_ping(struct sim *sim)
{
    struct ping_run p = {.sim = sim};
    FILE *out = sim->out;
    fprintf(out, "PING 10.0.0.2 (10.0.0.2) %u(%u) bytes of data.\n", PING_DATA_LEN,
            PING_DATA_LEN + 28);
    stack_on_ping(sim->a, ping_event, &p);
    timer_init(&p.send_timer, ping_send, &p);
    timer_arm(sim->a, &p.send_timer, 0);
    /* every request is out after (PING_COUNT - 1) intervals; then wait for the last reply */
    sim_run(sim, (PING_COUNT - 1) * PING_INTERVAL + PING_LAST_WAIT, ping_all_answered, &p);
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

/* ---- the scenarios, and the command ---- */

/* One entry per scenario, in the order --list shows them. A new scenario is one function
 * taking the running pair (struct sim: A, B, the wire and the clock) and one line here. */
static const struct scenario scenarios[] = {
    {"arp", "A resolves B's Ethernet address with ARP (RFC 826), then uses its cache",
     scenario_arp},
    {"ping", "A pings B 3 times (ICMP echo, RFC 792), then prints ping's summary", scenario_ping},
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
    "usage: tapir sim [SCENARIO] [--seed N] [--loss PCT] [--trace LAYERS]\n"
    "       tapir sim --list\n"
    "Two stacks, A (10.0.0.1) and B (10.0.0.2), over a simulated wire on a fake clock.\n"
    "The trace (all layers unless --trace) goes to stdout; a seed gives the same output\n"
    "every run. Default: scenario " DEFAULT_SCENARIO ", --seed 1, --loss 0.\n";

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

int sim_main(int argc, char **argv)
{
    struct sim sim = {.seed = SIM_SEED, .trace = TRACE_ALL, .out = stdout};
    const char *name = NULL;
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
        } else if ((v = option_value(argc, argv, &i, "--trace"))) {
            if (trace_parse_layers(v, &sim.trace) < 0)
                return sim_fail("bad --trace '%s' (layers: eth,arp,ip,icmp,udp,tcp,sock,app, "
                                "all or none)",
                                v);
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

    /* Trace lines and the scenario's lines share stdout: line-buffered, they keep their
     * order even when stdout is a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    fprintf(sim.out,
            "# tapir sim %s: seed %" PRIu32 ", loss %u%%; A 10.0.0.1 02:00:00:00:00:01, "
            "B 10.0.0.2 02:00:00:00:00:02\n",
            sc->name, sim.seed, sim.loss);
    if (sim_open(&sim) < 0) {
        fprintf(stderr, "tapir: sim: out of memory\n");
        sim_close(&sim);
        return 1;
    }
    int rc = sc->run(&sim);

    const struct wire_stats *w = wire_stats(sim.wire);
    fprintf(sim.out, "wire: %" PRIu64 " frames sent, %" PRIu64 " delivered, %" PRIu64 " lost\n",
            w->sent, w->delivered, w->lost);
    sim_close(&sim);
    return rc;
}
