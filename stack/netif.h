/* netif.h - the link driver interface: how the stack reaches a wire.
 *
 * A driver moves whole Ethernet frames. tap/tap.c talks to a Linux TAP device;
 * tap/wire.c joins two stacks inside one process. The stack never knows which it has.
 */
#ifndef TAPIR_NETIF_H
#define TAPIR_NETIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct netif_ops {
    const char *kind; /* "tap", "wire": shown in traces */
    /* Send one frame. Returns 0, or a negative errno (the frame is lost either way). */
    int (*send)(void *driver, const uint8_t *frame, size_t len, uint64_t now_us);
    /* Receive one frame into buf. Returns its length, 0 when none is waiting, or -errno. */
    ssize_t (*recv)(void *driver, uint8_t *buf, size_t cap, uint64_t now_us);
    /* A file descriptor that poll() reports readable when a frame waits, or -1. */
    int (*fd)(void *driver);
    /* Optional (NULL: not offered). Send one IPv4/TCP frame whose TCP payload is larger
     * than one segment; the link cuts it into segments of `mss` bytes ("TCP segmentation
     * offload", as a network card does). Returns 0 or a negative errno. */
    /* Frames larger than the MTU may arrive: the link hands up TCP segments it joined
     * (receive offload, as GRO does), up to 64 KiB. */
    bool rx_large;
    int (*send_tso)(void *driver, const uint8_t *frame, size_t len, uint16_t mss, uint64_t now_us);
    /* Optional (NULL: never). A driver that holds frames back (tap/impair.c delays them)
     * says when it next needs a recv call, absolute on the stack's clock, or UINT64_MAX;
     * the event loop wakes up for it as for a timer. */
    uint64_t (*next_due)(void *driver);
};

#endif
