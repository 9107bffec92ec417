/* trace.h - one line per event on stderr, labelled with its OSI layer, and a pcap writer.
 *
 *   [   0.004512] L4 tcp  rx 10.0.0.1:40112 > 10.0.0.2:7 SYN seq=0 ... | LISTEN -> SYN-RECEIVED
 *
 * The time is seconds since the stack started, on the stack's own clock. Tracing is
 * chosen per layer (`--trace ip,tcp`); a disabled layer costs one test of a bit mask.
 * docs/tracing.md is the reader's key: rx/tx, TCP's relative sequence numbers, and what
 * `len=` counts on each layer's lines (the unit at L1-L3, the data at L4).
 */
#ifndef TAPIR_TRACE_H
#define TAPIR_TRACE_H

#include <stddef.h>
#include <stdint.h>

struct stack;

enum trace_layer {
    TRACE_ETH = 1 << 0,
    TRACE_ARP = 1 << 1,
    TRACE_IP = 1 << 2,
    TRACE_ICMP = 1 << 3,
    TRACE_UDP = 1 << 4,
    TRACE_TCP = 1 << 5,
    TRACE_SOCK = 1 << 6,
    TRACE_APP = 1 << 7,
    TRACE_LINK = 1 << 8, /* L1: what an impaired link (tap/impair.c) did to a frame */
    TRACE_ALL = (1 << 9) - 1,
};

/* Parse "eth,arp,ip" or "all" (or "none") into a mask; returns -1 on an unknown name. */
int trace_parse_layers(const char *list, unsigned *mask);

/* Print one trace line when `layer` is enabled. Arguments are not evaluated otherwise. */
#define trace(stack, layer, ...)                                                                   \
    do {                                                                                           \
        if (stack_trace_enabled((stack), (layer)))                                                 \
            trace_emit((stack), (layer), __VA_ARGS__);                                             \
    } while (0)

int stack_trace_enabled(const struct stack *stack, unsigned layer);
void trace_emit(struct stack *stack, unsigned layer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* pcap (libpcap file format, LINKTYPE_ETHERNET): every frame in and out when --pcap is on. */
int pcap_open(struct stack *stack, const char *path);
void pcap_write(struct stack *stack, const uint8_t *frame, size_t len);
void pcap_close(struct stack *stack);

#endif
