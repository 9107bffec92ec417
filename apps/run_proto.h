/* run_proto.h - what the preload shim (apps/shim.c) and `tapir run` (apps/run.c) say to
 * each other over the control socket. docs/chapters/09-run.md draws the picture.
 *
 * Each process of the program has one control connection (AF_UNIX, SOCK_SEQPACKET) to
 * tapir: one struct run_msg per request, one back per reply, never waiting inside tapir.
 * The bytes of a connection do not pass here: every tapir socket is one end of a UNIX
 * socketpair held by the program (its fd), the other end held by tapir (SOCK_STREAM for
 * TCP, SOCK_SEQPACKET for UDP, struct run_dgram below). A new
 * socket's tapir end travels with RUN_SOCKET, an accepted one's program end with the
 * reply to RUN_ACCEPT (SCM_RIGHTS).
 */
#ifndef TAPIR_RUN_PROTO_H
#define TAPIR_RUN_PROTO_H

#include <stdint.h>

/* The environment variable naming tapir's control socket (an abstract UNIX address). */
#define RUN_ENV_SOCKET "TAPIR_RUN_SOCKET"

enum run_op {
    RUN_SOCKET = 1, /* arg: bytes of the connect plug (below), val: SOCK_DGRAM for UDP; reply id */
    RUN_BIND,       /* ip, port */
    RUN_LISTEN,     /* arg: backlog */
    RUN_CONNECT,    /* ip, port; reply -EINPROGRESS when the handshake has started */
    RUN_ACCEPT,     /* reply id, peer ip/port and the program's end; or -EAGAIN */
    RUN_STATUS,     /* arg 1: take the pending error (SO_ERROR); reply ret -err, val flags */
    RUN_NAME,       /* arg 0: local address, 1: peer address */
    RUN_SETOPT,     /* arg: enum run_opt, val */
    RUN_GETOPT,     /* arg: enum run_opt; reply val */
    RUN_SHUTDOWN,   /* arg: SHUT_RD/WR/RDWR; checks the socket is connected */
};

enum run_opt {
    RUN_OPT_NODELAY,
    RUN_OPT_SNDBUF,
    RUN_OPT_RCVBUF,
    RUN_OPT_REUSEADDR,
    RUN_OPT_REUSEPORT,
    RUN_OPT_LINGER, /* val: seconds, -1 for off */
};

/* RUN_STATUS flags */
#define RUN_ST_CONNECTED  1
#define RUN_ST_LISTENING  2
#define RUN_ST_CONNECTING 4

struct run_msg {
    int32_t op;    /* enum run_op */
    uint32_t id;   /* which socket (tapir's name for it) */
    int32_t fd;    /* the program's fd number, for the trace */
    int32_t arg;   /* per op */
    int32_t val;   /* option value, status flags */
    int32_t ret;   /* reply: >= 0, or -errno as Linux would set it */
    uint32_t ip;   /* host order */
    uint16_t port; /* host order */
    uint16_t pad;
};

/* A UDP socket's socketpair is SOCK_SEQPACKET, so datagram boundaries are kept: each
 * message is this header and then the datagram's bytes. Program -> tapir: the destination
 * (0.0.0.0:0 for the connected peer). tapir -> program: the source; or, with err set and
 * no bytes, "an ICMP error came for this connected socket" (the shim then asks RUN_STATUS). */
struct run_dgram {
    uint32_t ip;   /* host order */
    uint16_t port; /* host order */
    uint16_t err;  /* errno, or 0 */
};

/* A new socket is not writable until its connection is up, as with the kernel: the shim
 * fills the socketpair's send buffer with this many bytes ("the plug") before handing it
 * over, and tapir reads them away once the handshake is done, so poll() reports POLLOUT
 * at that moment. */

#endif
