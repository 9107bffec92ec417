/* sock.h - the socket API: what applications use to talk over UDP and TCP.
 *
 * BSD-like names, but non-blocking and event-driven in the EventEmitter style: a call
 * never waits; when something happens the stack calls the application back.
 *
 *   event         callback       typically followed by
 *   "connection"  on_accept      sock_accept() until -EAGAIN
 *   "connect"     on_connect     sock_send()
 *   "data"        on_readable    sock_recv() / sock_recvfrom() until -EAGAIN
 *   "drain"       on_writable    sock_send() again after it returned -EAGAIN or a short count
 *   "end"         on_closed      the peer sent FIN: sock_recv() returns 0; sock_close()
 *   "error"       on_error       TCP: the connection is dead (-ECONNRESET, -ETIMEDOUT,
 *                                -ECONNREFUSED, -EHOSTUNREACH); sock_close().
 *                                UDP: an ICMP error about a datagram this socket sent
 *                                (-ECONNREFUSED, ...); not fatal, the socket still works
 *
 * Every call returns 0 or a count on success and a negative errno on failure. Addresses
 * and ports are in host byte order. A callback may call any sock_* function, including
 * sock_close() on its own socket.
 */
#ifndef TAPIR_SOCK_H
#define TAPIR_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stack;
struct sock;

enum sock_type {
    SOCK_TYPE_TCP = 1, /* a byte stream (RFC 9293) */
    SOCK_TYPE_UDP = 2, /* datagrams (RFC 768) */
};

struct sock_events {
    void (*on_accept)(struct sock *listener, void *ctx);
    void (*on_connect)(struct sock *sock, void *ctx);
    void (*on_readable)(struct sock *sock, void *ctx);
    void (*on_writable)(struct sock *sock, void *ctx);
    void (*on_closed)(struct sock *sock, void *ctx);
    void (*on_error)(struct sock *sock, int err, void *ctx);
    void (*on_urgent)(struct sock *sock, void *ctx); /* TCP: sock_recv_oob() has a byte */
};

enum sock_option {
    SOCK_OPT_NODELAY,    /* TCP: 1 turns Nagle's algorithm off */
    SOCK_OPT_SNDBUF,     /* TCP: send buffer bytes */
    SOCK_OPT_RCVBUF,     /* TCP: receive buffer bytes; UDP: datagrams queued */
    SOCK_OPT_KEEPALIVE,  /* TCP: 1 sends keep-alive probes when idle (off by default) */
    SOCK_OPT_KEEPIDLE,   /* TCP: seconds of silence before the first probe (7200) */
    SOCK_OPT_KEEPINTVL,  /* TCP: seconds between probes (75) */
    SOCK_OPT_KEEPCNT,    /* TCP: unanswered probes before the peer is dead (9) */
    SOCK_OPT_TTL,        /* TCP: IP time to live of our segments (0: the stack's 64) */
    SOCK_OPT_TOS,        /* TCP: IP TOS byte (DSCP << 2 | ECN) of our segments */
    SOCK_OPT_MAXRETRIES, /* TCP: R2, retransmissions before -ETIMEDOUT (0: the stack's) */
    SOCK_OPT_RETRIES1,   /* TCP: R1, retransmissions before the soft error -ETIMEDOUT and
                            negative advice to IP (0: the stack's 3) */
};

enum sock_shutdown_how { SOCK_SHUT_RD = 0, SOCK_SHUT_WR = 1, SOCK_SHUT_RDWR = 2 };

/* A new socket, or NULL (out of memory, or the stack's socket limit). */
struct sock *sock_open(struct stack *stack, enum sock_type type);
/* Set the callbacks (any may be NULL) and the ctx handed to them. */
void sock_on(struct sock *sock, const struct sock_events *events, void *ctx);

/* ip 0 means any of ours; port 0 picks an ephemeral port. -EADDRINUSE if taken. */
int sock_bind(struct sock *sock, uint32_t ip, uint16_t port);
/* TCP: accept connections, at most `backlog` waiting to be accepted. */
int sock_listen(struct sock *sock, int backlog);
/* TCP: take a waiting connection; 0 and *out set, or -EAGAIN when none waits. */
int sock_accept(struct sock *listener, struct sock **out);
/* TCP: start the handshake (on_connect when done). UDP: set the default peer. */
int sock_connect(struct sock *sock, uint32_t ip, uint16_t port);

/* TCP: queue bytes (returns how many fit, -EAGAIN if none). UDP: one datagram to the
 * connected peer. */
ssize_t sock_send(struct sock *sock, const void *buf, size_t len);
/* TCP: bytes received so far (0 at end of stream, -EAGAIN if none yet). UDP: one datagram. */
ssize_t sock_recv(struct sock *sock, void *buf, size_t len);
/* TCP urgent data, as send/recv with MSG_OOB (SO_OOBINLINE off): sock_send_oob queues
 * bytes whose last one is urgent; the peer's urgent byte leaves the stream, on_urgent
 * says it came, sock_recv_oob takes it (1, or -EINVAL if none waits); sock_recv stops at
 * the mark, and sock_atmark is 1 when the next byte read is the one after it. */
ssize_t sock_send_oob(struct sock *sock, const void *buf, size_t len);
ssize_t sock_recv_oob(struct sock *sock, uint8_t *byte);
int sock_atmark(const struct sock *sock);
/* UDP: one datagram to ip:port. */
ssize_t sock_sendto(struct sock *sock, const void *buf, size_t len, uint32_t ip, uint16_t port);
/* UDP: one datagram and who sent it (truncated to len, as recvfrom(2) does). */
ssize_t sock_recvfrom(struct sock *sock, void *buf, size_t len, uint32_t *ip, uint16_t *port);

/* TCP: SOCK_SHUT_WR sends FIN once the queued data is out (half-close). */
int sock_shutdown(struct sock *sock, enum sock_shutdown_how how);
/* Release the socket. TCP finishes the connection gracefully in the background. */
int sock_close(struct sock *sock);
/* TCP: close with RST at once (SO_LINGER 0). */
void sock_abort(struct sock *sock);

int sock_setopt(struct sock *sock, enum sock_option opt, int value);
int sock_local(const struct sock *sock, uint32_t *ip, uint16_t *port);
int sock_peer(const struct sock *sock, uint32_t *ip, uint16_t *port);
/* TCP: bytes that sock_send() would accept now. */
size_t sock_send_space(const struct sock *sock);
/* TCP: bytes sent but not yet acknowledged plus bytes not yet sent. */
size_t sock_send_pending(const struct sock *sock);
enum sock_type sock_type(const struct sock *sock);
/* TCP: the last delivery problem the connection lived through: an ICMP error
 * (-EHOSTUNREACH, ...), or -ETIMEDOUT once its retransmissions reached R1; 0 if none.
 * Such "soft" errors do not end a connection; on_error reports them only if it dies. */
int sock_soft_error(const struct sock *sock);
struct stack *sock_stack(const struct sock *sock);

/* Stack-internal. */
int sock_init(struct stack *stack);
void sock_fini(struct stack *stack);

#endif
