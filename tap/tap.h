/* tap.h - the Linux TAP link driver. */
#ifndef TAPIR_TAP_H
#define TAPIR_TAP_H

#include <stdbool.h>

#include "../stack/netif.h"

struct tap;

/* Attach to TAP device `name`, creating it if it does not exist (needs CAP_NET_ADMIN).
 * Returns NULL and sets *err to -errno on failure. */
struct tap *tap_open(const char *name, int *err);
/* The same, choosing whether to use the offloads (TSO both ways, checksum offload). */
struct tap *tap_open_with(const char *name, bool offload, int *err);
void tap_close(struct tap *tap);
/* The driver operations for this device (with TSO when the kernel offers it). */
const struct netif_ops *tap_netif_ops(const struct tap *tap);

#endif
