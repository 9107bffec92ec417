/* ping.c - `tapir ping`: ICMP echo requests from the stack, printed like iputils ping.
 *
 *   PING 10.0.0.1 56(84) bytes of data.
 *   64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=0.071 ms
 */
#include "apps.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ping {
    struct stack *stack;
    uint32_t dst;
    uint16_t id;
    unsigned count, interval_ms, sent, received, errors;
    size_t payload_len;
    uint64_t *sent_at; /* per sequence number, for the round-trip time */
    uint64_t rtt_min, rtt_max, rtt_sum;
    uint64_t first_sent_us;
    struct timer send_timer;
    struct timer finish_timer;
    volatile sig_atomic_t *stop;
    bool finished;
};

static void print_addr(uint32_t ip)
{
    printf("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static void stop_when_all_answered(struct ping *p);

const char *ping_error_text(const struct ping_event *ev)
{
    if (ev->kind != PING_UNREACHABLE)
        return "Time to live exceeded";
    switch (ev->code) {
    case 0:
        return "Destination Net Unreachable";
    case 3:
        return "Destination Port Unreachable";
    default:
        return "Destination Host Unreachable";
    }
}

static void on_ping(void *ctx, const struct ping_event *ev)
{
    struct ping *p = ctx;
    if (ev->id != p->id || ev->seq == 0 || ev->seq > p->sent)
        return;
    if (ev->kind != PING_REPLY) {
        p->errors++;
        printf("From ");
        print_addr(ev->from);
        printf(" icmp_seq=%u %s\n", ev->seq, ping_error_text(ev));
        fflush(stdout);
        stop_when_all_answered(p);
        return;
    }
    uint64_t rtt = stack_now_us(p->stack) - p->sent_at[ev->seq];
    p->received++;
    p->rtt_sum += rtt;
    if (p->received == 1 || rtt < p->rtt_min)
        p->rtt_min = rtt;
    if (rtt > p->rtt_max)
        p->rtt_max = rtt;
    printf("%zu bytes from ", ev->len);
    print_addr(ev->from);
    printf(": icmp_seq=%u ttl=%u time=%.3f ms\n", ev->seq, ev->ttl, rtt / 1000.0);
    fflush(stdout);
    stop_when_all_answered(p);
}

/* Every request of a counted run has its answer (a reply or an error): done. */
static void stop_when_all_answered(struct ping *p)
{
    if (p->count && p->received + p->errors >= p->count && p->sent >= p->count)
        *p->stop = 1;
}

static void finish(struct stack *stack, void *arg)
{
    struct ping *p = arg;
    (void)stack;
    *p->stop = 1;
}

static void send_one(struct stack *stack, void *arg)
{
    struct ping *p = arg;
    uint8_t data[65507];
    size_t n = p->payload_len < sizeof(data) ? p->payload_len : sizeof(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)i;
    p->sent++;
    p->sent_at[p->sent] = stack_now_us(stack);
    if (p->sent == 1)
        p->first_sent_us = stack_now_us(stack);
    int err = stack_ping(stack, p->dst, p->id, (uint16_t)p->sent, data, n);
    if (err < 0)
        fprintf(stderr, "ping: sendmsg: %s\n", strerror(-err));
    if (!p->count || p->sent < p->count)
        timer_arm(stack, &p->send_timer, (uint64_t)p->interval_ms * 1000);
    else /* wait for the last reply: 2 intervals, and long enough for ARP to give up on a
          * silent host (3 requests 1 s apart), so its "Destination Host Unreachable" shows */
        timer_arm(stack, &p->finish_timer, 4000000 + 2000ull * p->interval_ms);
}

int ping_run(struct stack *stack, uint32_t dst, unsigned count, unsigned interval_ms,
             size_t payload_len, volatile sig_atomic_t *stop)
{
    struct ping p = {
        .stack = stack,
        .dst = dst,
        .id = (uint16_t)getpid(),
        .count = count,
        .interval_ms = interval_ms,
        .payload_len = payload_len,
        .stop = stop,
    };
    unsigned slots = count ? count + 1 : 65536;
    p.sent_at = calloc(slots, sizeof(*p.sent_at));
    if (!p.sent_at)
        return 2;
    if (!count)
        p.count = 0;
    printf("PING ");
    print_addr(dst);
    printf(" (");
    print_addr(dst);
    printf(") %zu(%zu) bytes of data.\n", payload_len, payload_len + 28);
    fflush(stdout);

    stack_on_ping(stack, on_ping, &p);
    timer_init(&p.send_timer, send_one, &p);
    timer_init(&p.finish_timer, finish, &p);
    timer_arm(stack, &p.send_timer, 0);
    stack_run(stack, stop);
    timer_cancel(stack, &p.send_timer);
    timer_cancel(stack, &p.finish_timer);
    stack_on_ping(stack, NULL, NULL);

    unsigned loss = p.sent ? (unsigned)(100 * (p.sent - p.received) / p.sent) : 0;
    printf("\n--- ");
    print_addr(dst);
    printf(" ping statistics ---\n");
    printf("%u packets transmitted, %u received, ", p.sent, p.received);
    if (p.errors)
        printf("+%u errors, ", p.errors);
    printf("%u%% packet loss, time %" PRIu64 "ms\n", loss,
           p.sent ? (stack_now_us(stack) - p.first_sent_us) / 1000 : 0);
    if (p.received)
        printf("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", p.rtt_min / 1000.0,
               p.rtt_sum / 1000.0 / p.received, p.rtt_max / 1000.0);
    fflush(stdout);
    free(p.sent_at);
    return p.received ? 0 : 1;
}
