/* stack.c - struct stack: creating it, the layers' start-up order, and the event loop.
 *
 * stack_step() is the heart of the loop and the only way time moves: it reads the frames
 * the driver has (a bounded number per call, so timers are never starved), delivers
 * datagrams we sent to ourselves, then fires due timers. stack_run() wraps it in poll()
 * with the real clock; tests call stack_step() with a fake clock instead.
 */
#include "stack.h"
#include "arp.h"
#include "eth.h"
#include "icmp.h"
#include "ip.h"
#include "pkb.h"
#include "rand.h"
#include "sock.h"
#include "stack_impl.h"
#include "tcp.h"
#include "udp.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRAMES_PER_STEP 256

void stack_config_init(struct stack_config *c)
{
    memset(c, 0, sizeof(*c));
    const uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02}; /* locally administered */
    memcpy(c->mac, mac, 6);
    c->ip = 0x0a000002; /* 10.0.0.2 */
    c->prefix_len = 24;
    c->mtu = 1500;
    c->ttl = 64;
    c->seed = 1;
    c->arp_cache_size = 64;
    c->arp_queue_len = 101; /* as Linux (unres_qlen) */
    c->arp_max_requests = 3;
    c->arp_retry_ms = 1000;
    c->arp_timeout_ms = 60000;
    c->reasm_max_datagrams = 16;
    c->reasm_max_bytes = 512 * 1024;
    c->reasm_timeout_ms = 30000;
    c->udp_rcvq_len = 64;
    c->tcp_msl_ms = 30000;
    c->tcp_sndbuf = 256 * 1024;
    c->tcp_rcvbuf = 256 * 1024;
    c->tcp_max_retries = 8;
    c->tcp_retries1 = 3;    /* RFC 9293 SHLD-10, RFC 1122 4.2.3.5: at least 3 */
    c->tcp_syn_retries = 7; /* 1+2+4+8+16+32+60+60 s = 183 s: MUST-23 asks >= 3 min */
    c->tcp_ooo_max = 64;
    c->max_sockets = 1024;
    c->tso = true;
    c->tcp_sack = true;
    c->tcp_timestamps = true;
    c->tcp_tlp = true;
    c->tcp_rack = true;
}

uint32_t stack_random(struct stack *stack)
{
    return xorshift64s(&stack->rng);
}

void stack_register_ethertype(struct stack *stack, uint16_t ethertype, eth_handler_fn input)
{
    if (stack->n_ethertypes < STACK_MAX_ETHERTYPES) {
        stack->ethertypes[stack->n_ethertypes].ethertype = ethertype;
        stack->ethertypes[stack->n_ethertypes].input = input;
        stack->n_ethertypes++;
    }
}

void stack_register_ip_protocol(struct stack *stack, uint8_t proto, ip_input_fn input,
                                ip_error_fn error)
{
    stack->ip_protocols[proto].input = input;
    stack->ip_protocols[proto].error = error;
}

struct stack *stack_create(const struct stack_config *cfg, const struct netif_ops *ops,
                           void *driver)
{
    struct stack *stack = calloc(1, sizeof(*stack));
    if (!stack)
        return NULL;
    stack->cfg = *cfg;
    memcpy(stack->name, cfg->name, sizeof(stack->name));
    stack->name[sizeof(stack->name) - 1] = 0;
    stack->netmask = cfg->prefix_len ? ~0u << (32 - cfg->prefix_len) : 0;
    stack->link = ops;
    stack->link_driver = driver;
    stack->trace_mask = cfg->trace_mask;
    stack->trace_out = cfg->trace_out;
    stack->rng = ((uint64_t)cfg->seed << 32 | 0x9e3779b9u) ^ 0x5deece66dull;
    stack->rx_frame = malloc(STACK_FRAME_MAX);
    /* The layers, bottom up. Each registers itself with the layer below it. */
    if (!stack->rx_frame || arp_init(stack) < 0 || ip_init(stack) < 0 || icmp_init(stack) < 0 ||
        udp_init(stack) < 0 || tcp_init(stack) < 0 || sock_init(stack) < 0) {
        stack_destroy(stack);
        return NULL;
    }
    return stack;
}

void stack_destroy(struct stack *stack)
{
    if (!stack)
        return;
    /* Top down: sockets release their TCBs and UDP endpoints before those layers go. */
    sock_fini(stack);
    tcp_fini(stack);
    udp_fini(stack);
    ip_fini(stack);
    arp_fini(stack);
    pkb_queue_clear(&stack->loopback);
    pcap_close(stack);
    free(stack->rx_frame);
    free(stack);
}

void stack_start(struct stack *stack, uint64_t now_us)
{
    stack->now_us = now_us;
    stack->start_us = now_us;
    stack->started = true;
    arp_announce(stack);
}

static void receive_frames(struct stack *stack)
{
    for (int i = 0; i < FRAMES_PER_STEP; i++) {
        ssize_t n =
            stack->link->recv(stack->link_driver, stack->rx_frame, STACK_FRAME_MAX, stack->now_us);
        if (n <= 0)
            break;
        struct pkb *pkb = pkb_from_bytes(stack->rx_frame, (size_t)n);
        if (!pkb)
            break;
        eth_input(stack, pkb);
    }
}

static void deliver_loopback(struct stack *stack)
{
    /* Only what was queued before this step, so a ping to ourselves cannot spin. */
    size_t n = stack->loopback.count;
    while (n-- > 0) {
        struct pkb *pkb = pkb_queue_pop(&stack->loopback);
        memset(&pkb->meta, 0, sizeof(pkb->meta));
        pkb->meta.looped = true;
        ip_input(stack, pkb);
    }
}

void stack_step(struct stack *stack, uint64_t now_us)
{
    if (!stack->started)
        stack_start(stack, now_us);
    if (now_us > stack->now_us)
        stack->now_us = now_us;
    tcp_burst_begin(stack);
    receive_frames(stack);
    deliver_loopback(stack);
    tcp_burst_end(stack);
    timers_run(stack);
}

uint64_t stack_next_timeout_us(const struct stack *stack)
{
    if (stack->loopback.count)
        return 0;
    uint64_t delay = timers_next_delay(stack);
    if (stack->link->next_due) {
        uint64_t due = stack->link->next_due(stack->link_driver);
        uint64_t link = due == UINT64_MAX     ? UINT64_MAX
                        : due > stack->now_us ? due - stack->now_us
                                              : 0;
        if (link < delay)
            delay = link;
    }
    return delay;
}

static uint64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t stack_real_clock_us(struct stack *stack)
{
    uint64_t now = clock_us(CLOCK_MONOTONIC);
    stack->wall_offset_us = clock_us(CLOCK_REALTIME) - now;
    return now;
}

int stack_run(struct stack *stack, volatile sig_atomic_t *stop)
{
    uint64_t now = stack_real_clock_us(stack);
    if (!stack->started)
        stack_start(stack, now);
    while (!*stop) {
        struct pollfd fds[1 + STACK_MAX_WATCHED_FDS];
        unsigned n = 0;
        int link_fd = stack->link->fd(stack->link_driver);
        if (link_fd >= 0)
            fds[n++] = (struct pollfd){.fd = link_fd, .events = POLLIN};
        unsigned first_watched = n;
        for (unsigned i = 0; i < stack->n_watched; i++)
            fds[n++] = (struct pollfd){.fd = stack->watched[i].fd, .events = POLLIN};

        uint64_t wait_us = stack_next_timeout_us(stack);
        int timeout_ms = wait_us == UINT64_MAX ? 1000 : (int)((wait_us + 999) / 1000);
        if (timeout_ms > 1000)
            timeout_ms = 1000; /* wake up now and then to notice *stop */
        int r = poll(fds, n, timeout_ms);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (link_fd >= 0 && (fds[0].revents & (POLLERR | POLLNVAL)))
            return -EIO;
        stack_step(stack, clock_us(CLOCK_MONOTONIC));
        /* watched fds last: a callback may unwatch (and shift) entries */
        for (unsigned i = first_watched; r > 0 && i < n; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            for (unsigned j = 0; j < stack->n_watched; j++)
                if (stack->watched[j].fd == fds[i].fd) {
                    stack->watched[j].fn(stack, fds[i].fd, stack->watched[j].ctx);
                    break;
                }
        }
    }
    return 0;
}

int stack_watch_fd(struct stack *stack, int fd, void (*fn)(struct stack *, int, void *), void *ctx)
{
    if (stack->n_watched >= STACK_MAX_WATCHED_FDS)
        return -ENOSPC;
    stack->watched[stack->n_watched].fd = fd;
    stack->watched[stack->n_watched].fn = fn;
    stack->watched[stack->n_watched].ctx = ctx;
    stack->n_watched++;
    return 0;
}

void stack_unwatch_fd(struct stack *stack, int fd)
{
    for (unsigned i = 0; i < stack->n_watched; i++)
        if (stack->watched[i].fd == fd) {
            stack->watched[i] = stack->watched[--stack->n_watched];
            return;
        }
}

uint64_t stack_now_us(const struct stack *stack)
{
    return stack->now_us;
}

size_t stack_packets_waiting(const struct stack *stack)
{
    return arp_waiting(stack);
}

const struct stack_config *stack_config(const struct stack *stack)
{
    return &stack->cfg;
}

const struct stack_stats *stack_stats(const struct stack *stack)
{
    return &stack->stats;
}

void stack_print_stats(const struct stack *stack, FILE *out)
{
    stack_stats_print(&stack->stats, out, 0);
}

void stack_set_trace(struct stack *stack, unsigned mask, FILE *out)
{
    stack->trace_mask = mask;
    stack->trace_out = out;
}

int stack_set_pcap(struct stack *stack, const char *path)
{
    pcap_close(stack);
    return pcap_open(stack, path);
}

int stack_config_add_gateway(struct stack_config *cfg, uint32_t gateway)
{
    if (gateway == 0)
        return -EINVAL;
    for (unsigned i = 0; i < STACK_MAX_GATEWAYS; i++) {
        if (cfg->gateways[i] == 0) {
            cfg->gateways[i] = gateway; /* after the ones given before: less preferred */
            return 0;
        }
    }
    return -ENOSPC;
}

int parse_ipv4(const char *s, uint32_t *ip)
{
    unsigned a, b, c, d;
    char extra;
    if (sscanf(s, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &extra) != 4)
        return -1;
    if (a > 255 || b > 255 || c > 255 || d > 255)
        return -1;
    *ip = a << 24 | b << 16 | c << 8 | d;
    return 0;
}

int parse_ipv4_prefix(const char *s, uint32_t *ip, uint8_t *prefix, uint8_t dflt_prefix)
{
    char buf[32];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (parse_ipv4(buf, ip) < 0)
        return -1;
    if (!slash) {
        *prefix = dflt_prefix;
        return 0;
    }
    char *end;
    long p = strtol(slash + 1, &end, 10);
    if (end == slash + 1 || *end || p < 0 || p > 32)
        return -1;
    *prefix = (uint8_t)p;
    return 0;
}

int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char extra;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) !=
        6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return 0;
}
