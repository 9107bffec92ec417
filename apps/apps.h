/* apps.h - the applications that run on tapir's sockets (layer 7). They see only
 * stack/stack.h and stack/sock.h, as any program written against tapir would. */
#ifndef TAPIR_APPS_H
#define TAPIR_APPS_H

#include <signal.h>
#include <stdint.h>

#include "../stack/sock.h"
#include "../stack/stack.h"

/* ping.c: ICMP echo to dst, `count` times (0: until *stop), one per interval_ms.
 * Prints lines like the system ping. Returns 0 if any reply came, 1 otherwise. */
int ping_run(struct stack *stack, uint32_t dst, unsigned count, unsigned interval_ms,
             size_t payload_len, volatile sig_atomic_t *stop);

#endif
