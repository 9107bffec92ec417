/* main.c - the `tapir` command: parse options, attach to the TAP device, run a command.
 *
 *   tapir [OPTIONS] [serve]             run the stack and its services
 *   tapir [OPTIONS] ping HOST [-c N]    ICMP echo from the stack
 *   tapir [OPTIONS] nc [-u] HOST PORT   client: stdin -> connection -> stdout
 *   tapir [OPTIONS] nc [-u] -l PORT     server for one connection / peer
 *   tapir sim [SCENARIO]                two stacks over the simulated wire, no root needed
 *   tapir [OPTIONS] run PROGRAM ARGS... PROGRAM's TCP sockets on tapir (apps/run.c)
 */
#include "apps.h"
#include "html.h"
#include "../tap/impair.h"
#include "../tap/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static int signal_pipe[2] = {-1, -1};

static const char usage[] =
    "usage: tapir [OPTIONS] [serve]\n"
    "       tapir [OPTIONS] ping HOST [-c N] [-i SECONDS] [-s SIZE]\n"
    "       tapir [OPTIONS] nc [-u] [-s ADDR] [-K SECONDS] [-U TEXT] HOST PORT\n"
    "       tapir [OPTIONS] nc [-u] -l PORT\n"
    "       tapir [OPTIONS] run PROGRAM [ARGS...]\n"
    "       tapir sim [SCENARIO] [--seed N] [--loss PCT] [--drop N,...] [--trace LAYERS]\n"
    "                 [--pcap FILE] [--stats] [--html FILE] [--no-sack] [--no-timestamps]\n"
    "                 [--no-tlp] [--no-rack] | --list\n"
    "options: --tap NAME (tap0)  --ip ADDR/PREFIX (10.0.0.2/24)  --gw ADDR (again: a\n"
    "         backup default gateway, up to 4; the next takes over when one dies)\n"
    "         --mac MAC (02:00:00:00:00:02)  --trace LAYERS "
    "(link,eth,arp,ip,icmp,udp,tcp,sock,app|all)\n"
    "         --pcap FILE  --stats  --echo PORT (7)  --discard PORT (9)  --hub PORT (7000)\n"
    "         --html FILE (at exit, pictures of the run in one HTML page)\n"
    "         --offload on|off (on: TCP segmentation and checksum offload on the TAP device)\n"
    "         --no-sack  --no-timestamps  --no-tlp  --no-rack (TCP loss recovery without them)\n"
    "         --max-sockets N  sockets open at once (1024); memory follows use\n"
    "         --impair SPEC  a bad link, seeded: SPEC is a comma list of loss=P%,\n"
    "                dup=P%, reorder=P%, corrupt=P%, delay=Nms, seed=N; in: or out: before\n"
    "                a key limits it to frames to tapir or from tapir (offloads go off;\n"
    "                --trace link shows each fault, --stats counts them)\n"
    "         --trace-absolute  TCP trace lines show raw sequence numbers (default: relative\n"
    "                to each side's ISN, as tshark shows them)\n"
    "         (a service port of 0 turns that service off)\n";

static void fail_usage(const char *fmt, const char *arg)
{
    /* one line, as DESIGN.md promises: what was wrong, and where to look */
    fprintf(stderr, "tapir: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see tapir --help)\n");
    exit(2);
}

struct options {
    const char *tap;
    const char *pcap;
    const char *html; /* --html FILE: pictures of the run, written at exit */
    struct html_rec *html_rec;
    bool stats;
    bool offload; /* TSO and checksum offload on the TAP device */
    bool impair;  /* --impair: the link loses, delays, ... (tap/impair.c) */
    struct impair_config impair_cfg;
    struct impair_link *link;
    long echo_port, discard_port, hub_port;
    struct stack_config cfg;
};

static long parse_port(const char *s, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v > 65535)
        fail_usage(what, s);
    return v;
}

static void on_signal(int sig)
{
    if (sig == SIGUSR1) {
        int saved = errno;
        if (write(signal_pipe[1], "u", 1) < 0) {
            /* nothing useful to do in a signal handler */
        }
        errno = saved;
        return;
    }
    stop = 1;
}

static void on_signal_pipe(struct stack *stack, int fd, void *ctx)
{
    struct options *o = ctx;
    char buf[16];
    if (read(fd, buf, sizeof(buf)) > 0) {
        stack_print_stats(stack, stderr);
        if (o->link)
            impair_link_print_stats(o->link, stderr);
    }
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (pipe(signal_pipe) == 0) {
        fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK);
        fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    }
}

/* --gw ADDR, up to STACK_MAX_GATEWAYS times: default gateways in order of preference
 * (RFC 1122 3.3.1.2: several; the next takes over when one dies). */
static void add_gateway(struct stack_config *cfg, const char *arg)
{
    uint32_t gw;
    if (parse_ipv4(arg, &gw) < 0 || gw == 0)
        fail_usage("bad --gw '%s' (want an IPv4 address)", arg);
    if (stack_config_add_gateway(cfg, gw) < 0)
        fail_usage("too many --gw (at most 4): '%s'", arg);
}

/* The global options: getopt_long parses them, hoist_global_options finds them. */
static const struct option longopts[] = {
    {"tap", required_argument, 0, 't'},
    {"ip", required_argument, 0, 'a'},
    {"gw", required_argument, 0, 'g'},
    {"mac", required_argument, 0, 'm'},
    {"trace", required_argument, 0, 'T'},
    {"pcap", required_argument, 0, 'p'},
    {"html", required_argument, 0, 'W'}, /* pictures of the run (apps/html.c) */
    {"stats", no_argument, 0, 'S'},
    {"echo", required_argument, 0, 'e'},
    {"discard", required_argument, 0, 'd'},
    {"hub", required_argument, 0, 'H'},
    {"offload", required_argument, 0, 'o'},
    {"impair", required_argument, 0, 'I'},
    {"trace-absolute", no_argument, 0, 'A'},
    {"no-sack", no_argument, 0, 'K'},
    {"no-timestamps", no_argument, 0, 'M'},
    {"no-tlp", no_argument, 0, 'L'},
    {"no-rack", no_argument, 0, 'R'},
    {"max-sockets", required_argument, 0, 'X'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* Parse the options before the command; returns the index of the command word. */
static int parse_options(int argc, char **argv, struct options *o)
{
    int c;
    opterr = 0; /* we say it ourselves, in one line */
    /* "+": stop at the first non-option, the command; its own options follow it */
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            o->tap = optarg;
            break;
        case 'a':
            if (parse_ipv4_prefix(optarg, &o->cfg.ip, &o->cfg.prefix_len, 24) < 0)
                fail_usage("bad --ip '%s' (want ADDR/PREFIX, e.g. 10.0.0.2/24)", optarg);
            break;
        case 'g':
            add_gateway(&o->cfg, optarg);
            break;
        case 'm':
            if (parse_mac(optarg, o->cfg.mac) < 0 || (o->cfg.mac[0] & 1))
                fail_usage("bad --mac '%s' (want a unicast MAC like 02:00:00:00:00:02)", optarg);
            break;
        case 'T':
            if (trace_parse_layers(optarg, &o->cfg.trace_mask) < 0)
                fail_usage("bad --trace '%s' (layers: eth,arp,ip,icmp,udp,tcp,sock,app or all)",
                           optarg);
            break;
        case 'p':
            o->pcap = optarg;
            break;
        case 'W':
            o->html = optarg;
            break;
        case 'o':
            if (strcmp(optarg, "on") && strcmp(optarg, "off"))
                fail_usage("bad --offload '%s' (on or off)", optarg);
            o->offload = !strcmp(optarg, "on");
            break;
        case 'S':
            o->stats = true;
            break;
        case 'I': {
            char why[160];
            if (impair_parse(optarg, &o->impair_cfg, why, sizeof(why)) < 0) {
                fprintf(stderr, "tapir: bad --impair '%s': %s (see tapir --help)\n", optarg, why);
                exit(2);
            }
            o->impair = true;
            break;
        }
        case 'A':
            o->cfg.trace_absolute = true;
            break;
        case 'K':
            o->cfg.tcp_sack = false;
            break;
        case 'M':
            o->cfg.tcp_timestamps = false;
            break;
        case 'L':
            o->cfg.tcp_tlp = false;
            break;
        case 'R':
            o->cfg.tcp_rack = false;
            break;
        case 'X': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 1000000)
                fail_usage("bad --max-sockets '%s' (1..1000000)", optarg);
            o->cfg.max_sockets = (unsigned)v;
            break;
        }
        case 'e':
            o->echo_port = parse_port(optarg, "bad --echo port '%s'");
            break;
        case 'd':
            o->discard_port = parse_port(optarg, "bad --discard port '%s'");
            break;
        case 'H':
            o->hub_port = parse_port(optarg, "bad --hub port '%s'");
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        case ':':
            fail_usage("option '%s' needs a value", argv[optind - 1]);
            break;
        default:
            fail_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    return optind;
}

static struct stack *open_stack(struct options *o, struct tap **tap_out)
{
    int err = 0;
    /* the impairment works on single frames, as a cable carries them: no offloads */
    struct tap *tap = tap_open_with(o->tap, o->offload && !o->impair, &err);
    if (!tap) {
        fprintf(stderr, "tapir: cannot attach to TAP device '%s': %s\n", o->tap, strerror(-err));
        if (err == -EPERM || err == -EACCES)
            fprintf(stderr, "tapir: run as root, inside the lab: sudo tap/lab exec tapir-lab "
                            "build/tapir ...\n");
        exit(1);
    }
    /* Real runs are not reproducible on purpose: ports, IP ids and above all TCP's
     * initial sequence numbers (RFC 6528) must not be guessable. */
    if (getrandom(&o->cfg.seed, sizeof(o->cfg.seed), 0) != sizeof(o->cfg.seed) ||
        getrandom(o->cfg.isn_secret, sizeof(o->cfg.isn_secret), 0) !=
            (ssize_t)sizeof(o->cfg.isn_secret)) {
        fprintf(stderr, "tapir: getrandom failed: %s\n", strerror(errno));
        exit(1);
    }
    const struct netif_ops *ops = tap_netif_ops(tap);
    void *driver = tap;
    if (o->impair) {
        o->link = impair_link_create(&o->impair_cfg, ops, tap);
        ops = &impair_link_ops;
        driver = o->link;
    }
    struct stack *stack = o->impair && !o->link ? NULL : stack_create(&o->cfg, ops, driver);
    if (!stack) {
        fprintf(stderr, "tapir: out of memory\n");
        exit(1);
    }
    if (o->pcap && (err = stack_set_pcap(stack, o->pcap)) < 0) {
        fprintf(stderr, "tapir: cannot write pcap '%s': %s\n", o->pcap, strerror(-err));
        exit(1);
    }
    if (o->html && !(o->html_rec = html_open(o->html, "tapir", &err))) {
        fprintf(stderr, "tapir: cannot write '%s': %s\n", o->html, strerror(-err));
        exit(1);
    }
    html_attach(o->html_rec, stack, 1, "tapir", false);
    /* The clock starts now, before any command arms a timer (a SYN's retransmission, an
     * ARP retry): armed against time 0 they would fire at once. This also announces us
     * with a gratuitous ARP. */
    stack_start(stack, stack_real_clock_us(stack));
    install_signals();
    if (signal_pipe[0] >= 0)
        stack_watch_fd(stack, signal_pipe[0], on_signal_pipe, o);
    if (o->link) {
        char spec[320];
        impair_link_trace_to(o->link, stack);
        impair_describe(&o->impair_cfg, spec, sizeof(spec));
        fprintf(stderr, "tapir: impaired link: %s\n", spec);
    }
    *tap_out = tap;
    return stack;
}

static void close_stack(struct options *o, struct stack *stack, struct tap *tap)
{
    if (o->stats) {
        stack_print_stats(stack, stderr);
        if (o->link)
            impair_link_print_stats(o->link, stderr);
    }
    stack_destroy(stack);
    impair_link_destroy(o->link);
    o->link = NULL;
    tap_close(tap);
    int err = html_close(o->html_rec);
    if (err < 0)
        fprintf(stderr, "tapir: cannot write '%s': %s\n", o->html, strerror(-err));
}

/* Start the services `serve` runs; a port of 0 leaves one off. */
static bool start_services(struct options *o, struct stack *stack, struct service **echo,
                           struct service **discard, struct hub_server **hub)
{
    int err = 0;
    if (o->echo_port && !(*echo = echo_start(stack, (uint16_t)o->echo_port, &err))) {
        fprintf(stderr, "tapir: cannot start echo on port %ld: %s\n", o->echo_port, strerror(-err));
        return false;
    }
    if (o->discard_port && !(*discard = discard_start(stack, (uint16_t)o->discard_port, &err))) {
        fprintf(stderr, "tapir: cannot start discard on port %ld: %s\n", o->discard_port,
                strerror(-err));
        return false;
    }
    if (o->hub_port && !(*hub = hub_start(stack, (uint16_t)o->hub_port, &err))) {
        fprintf(stderr, "tapir: cannot start the hub on port %ld: %s\n", o->hub_port,
                strerror(-err));
        return false;
    }
    return true;
}

static int cmd_serve(struct options *o, int argc, char **argv)
{
    if (argc > 0)
        fail_usage("serve takes no arguments (got '%s')", argv[0]);
    struct tap *tap;
    struct stack *stack = open_stack(o, &tap);
    struct service *echo = NULL, *discard = NULL;
    struct hub_server *hub = NULL;
    if (!start_services(o, stack, &echo, &discard, &hub)) {
        service_stop(echo);
        service_stop(discard);
        close_stack(o, stack, tap);
        return 1;
    }
    char ip[16], mac[18];
    snprintf(ip, sizeof(ip), "%u.%u.%u.%u", o->cfg.ip >> 24, (o->cfg.ip >> 16) & 255,
             (o->cfg.ip >> 8) & 255, o->cfg.ip & 255);
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", o->cfg.mac[0], o->cfg.mac[1],
             o->cfg.mac[2], o->cfg.mac[3], o->cfg.mac[4], o->cfg.mac[5]);
    printf("tapir: up tap=%s ip=%s/%u mac=%s\n", o->tap, ip, o->cfg.prefix_len, mac);
    fflush(stdout);
    int err = stack_run(stack, &stop);
    if (err < 0)
        fprintf(stderr, "tapir: link failed: %s\n", strerror(-err));
    if (o->stats) {
        service_print_stats(echo, stderr);
        hub_print_stats(hub, stderr);
    }
    hub_stop(hub);
    service_stop(echo);
    service_stop(discard);
    close_stack(o, stack, tap);
    return err < 0 ? 1 : 0;
}

static int cmd_ping(struct options *o, int argc, char **argv)
{
    unsigned count = 0, interval_ms = 1000;
    long size = 56;
    const char *host = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v <= 0 || v > 65535)
                fail_usage("bad ping count '%s'", argv[i]);
            count = (unsigned)v;
        } else if (!strcmp(argv[i], "-i") && i + 1 < argc) {
            char *end;
            double v = strtod(argv[++i], &end);
            if (*end || v < 0.001 || v > 3600)
                fail_usage("bad ping interval '%s'", argv[i]);
            interval_ms = (unsigned)(v * 1000);
        } else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
            char *end;
            size = strtol(argv[++i], &end, 10);
            if (*end || size < 0 || size > 65507)
                fail_usage("bad ping size '%s' (0..65507)", argv[i]);
        } else if (argv[i][0] == '-' || host) {
            fail_usage("unexpected ping argument '%s'", argv[i]);
        } else {
            host = argv[i];
        }
    }
    uint32_t dst;
    if (!host)
        fail_usage("%s", "ping needs a HOST");
    if (parse_ipv4(host, &dst) < 0)
        fail_usage("bad HOST '%s' (want an IPv4 address)", host);
    struct tap *tap;
    struct stack *stack = open_stack(o, &tap);
    int rc = ping_run(stack, dst, count, interval_ms, (size_t)size, &stop);
    close_stack(o, stack, tap);
    return rc;
}

static int cmd_nc(struct options *o, int argc, char **argv)
{
    struct nc_options nco = {0};
    const char *args[2];
    int nargs = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-u"))
            nco.udp = true;
        else if (!strcmp(argv[i], "-l"))
            nco.listen = true;
        else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
            if (parse_ipv4(argv[++i], &nco.source) < 0)
                fail_usage("bad -s ADDR '%s' (want an IPv4 address)", argv[i]);
        } else if (!strcmp(argv[i], "-U") && i + 1 < argc) {
            nco.urgent = argv[++i];
        } else if (!strcmp(argv[i], "-K") && i + 1 < argc) {
            char *end;
            long s = strtol(argv[++i], &end, 10);
            if (*end || s < 1 || s > 86400)
                fail_usage("bad -K SECONDS '%s' (1..86400)", argv[i]);
            nco.keepalive_s = (unsigned)s;
        } else if (argv[i][0] == '-' || nargs == 2)
            fail_usage("unexpected nc argument '%s'", argv[i]);
        else
            args[nargs++] = argv[i];
    }
    if (nco.listen) {
        if (nargs != 1)
            fail_usage("%s", "nc -l needs exactly one PORT");
        nco.port = (uint16_t)parse_port(args[0], "bad PORT '%s'");
    } else {
        if (nargs != 2)
            fail_usage("%s", "nc needs HOST and PORT");
        if (parse_ipv4(args[0], &nco.host) < 0)
            fail_usage("bad HOST '%s' (want an IPv4 address)", args[0]);
        nco.port = (uint16_t)parse_port(args[1], "bad PORT '%s'");
    }
    if (nco.port == 0)
        fail_usage("%s", "PORT must be 1..65535");
    struct tap *tap;
    struct stack *stack = open_stack(o, &tap);
    int rc = nc_run(stack, &nco, &stop);
    close_stack(o, stack, tap);
    return rc;
}

static int cmd_run(struct options *o, int argc, char **argv)
{
    char shim[4096];
    if (argc < 1)
        fail_usage("%s", "run needs a PROGRAM");
    if (run_find_shim(shim, sizeof(shim)) < 0) {
        fprintf(stderr, "tapir: run: no libtapir-shim.so beside tapir (run make, or set "
                        "TAPIR_SHIM)\n");
        return 1;
    }
    struct tap *tap;
    struct stack *stack = open_stack(o, &tap);
    int rc = run_program(stack, tap_netif_ops(tap)->fd(tap), shim, argv, &stop);
    close_stack(o, stack, tap);
    return rc;
}

/* Global options may also stand after the command (`tapir serve --stats`): move each
 * known --option, with its value, in front of the command word before parsing. `sim` has
 * options of its own and `run`'s belong to the program: both are left alone. */
/* The global option `arg` ("--name" or "--name=value") names, or NULL. */
static const struct option *global_option(const char *arg)
{
    if (strncmp(arg, "--", 2) != 0)
        return NULL;
    size_t len = strcspn(arg + 2, "=");
    for (const struct option *o = longopts; o->name; o++)
        if (strlen(o->name) == len && !strncmp(arg + 2, o->name, len))
            return o;
    return NULL;
}

/* Does the option in `arg` take its value from the next word? */
static bool value_follows(const struct option *o, const char *arg)
{
    return o && o->has_arg == required_argument && !strchr(arg, '=');
}

static void hoist_global_options(int argc, char **argv)
{
    int cmd = 1;
    while (cmd < argc && argv[cmd][0] == '-') /* skip the options already in front */
        cmd += value_follows(global_option(argv[cmd]), argv[cmd]) ? 2 : 1;
    if (cmd >= argc || !strcmp(argv[cmd], "sim") || !strcmp(argv[cmd], "run"))
        return;
    char **moved = calloc((size_t)argc, sizeof(char *)),
         **rest = calloc((size_t)argc, sizeof(char *));
    int n_moved = 0, n_rest = 0;
    for (int i = cmd; i < argc; i++) {
        const struct option *o = global_option(argv[i]);
        if (!o) {
            rest[n_rest++] = argv[i];
            continue;
        }
        moved[n_moved++] = argv[i];
        if (value_follows(o, argv[i]) && i + 1 < argc)
            moved[n_moved++] = argv[++i];
    }
    memcpy(argv + cmd, moved, (size_t)n_moved * sizeof(char *));
    memcpy(argv + cmd + n_moved, rest, (size_t)n_rest * sizeof(char *));
    free(moved);
    free(rest);
}

int main(int argc, char **argv)
{
    hoist_global_options(argc, argv);
    struct options o = {
        .tap = "tap0", .offload = true, .echo_port = 7, .discard_port = 9, .hub_port = 7000};
    stack_config_init(&o.cfg);
    int cmd = parse_options(argc, argv, &o);
    const char *name = cmd < argc ? argv[cmd] : "serve";
    int rest = cmd < argc ? cmd + 1 : cmd;
    setvbuf(stderr, NULL, _IOLBF, 0);

    if (!strcmp(name, "serve"))
        return cmd_serve(&o, argc - rest, argv + rest);
    if (!strcmp(name, "ping"))
        return cmd_ping(&o, argc - rest, argv + rest);
    if (!strcmp(name, "nc"))
        return cmd_nc(&o, argc - rest, argv + rest);
    if (!strcmp(name, "run"))
        return cmd_run(&o, argc - rest, argv + rest);
    if (!strcmp(name, "sim"))
        return sim_main(argc - rest, argv + rest);
    fail_usage("unknown command '%s' (serve, ping, nc, run, sim)", name);
    return 2;
}
