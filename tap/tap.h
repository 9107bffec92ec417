/* tap.h - the Linux TAP link driver. */
#ifndef TAPIR_TAP_H
#define TAPIR_TAP_H

#include "../stack/netif.h"

struct tap;

extern const struct netif_ops tap_ops;

/* Attach to TAP device `name`, creating it if it does not exist (needs CAP_NET_ADMIN).
 * Returns NULL and sets *err to -errno on failure. */
struct tap *tap_open(const char *name, int *err);
void tap_close(struct tap *tap);

#endif
